package state

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// scriptBatcher runs one script for many concurrent callers with few round
// trips: a caller that finds no batch in flight (fewer than maxFlushers)
// sends every call waiting at that moment, its own included, as one
// pipeline; the others wait for it. An idle store thus sends each call at once, alone,
// and a busy one (callbacks arriving from many connections together) sends
// them in batches, saving a network write and read per call on both sides.
// It starts no goroutine: the callers take turns.
type scriptBatcher struct {
	rdb    redis.UniversalClient
	script *redis.Script
	// maxFlushers is how many pipelines may be in flight together. One
	// measured best (the Ingest benchmark): Redis runs scripts one at a
	// time anyway, and a second pipeline mostly splits the batches.
	maxFlushers int
	// maxBatch bounds one pipeline.
	maxBatch int
	// timeout bounds one pipeline; it does not depend on any one caller's
	// context, since it carries the others' calls too.
	timeout time.Duration

	mu       sync.Mutex
	cond     sync.Cond
	pending  []*scriptCall
	flushers int
}

// scriptCall is one caller's run of the script and, once done, its answer.
type scriptCall struct {
	keys  []string
	args  []any
	taken bool // in a batch on its way
	done  bool
	val   any
	err   error
}

func newScriptBatcher(rdb redis.UniversalClient, script *redis.Script) *scriptBatcher {
	b := &scriptBatcher{rdb: rdb, script: script, maxFlushers: 1, maxBatch: 64, timeout: 10 * time.Second}
	b.cond.L = &b.mu
	return b
}

// run runs the script with keys and args, batched with whatever other calls
// are waiting, and returns its answer as Script.Run would.
func (b *scriptBatcher) run(ctx context.Context, keys []string, args ...any) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := &scriptCall{keys: keys, args: args}
	// A caller whose context ends while its call still waits gives up; one
	// whose call is on its way waits for the answer (at most timeout).
	stop := context.AfterFunc(ctx, func() {
		b.mu.Lock()
		b.cond.Broadcast()
		b.mu.Unlock()
	})
	defer stop()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending = append(b.pending, c)
	for !c.done {
		if err := ctx.Err(); err != nil && !c.taken {
			b.pending = slices.DeleteFunc(b.pending, func(p *scriptCall) bool { return p == c })
			return nil, err
		}
		if b.flushers >= b.maxFlushers || len(b.pending) == 0 {
			b.cond.Wait()
			continue
		}
		n := min(len(b.pending), b.maxBatch)
		batch := b.pending[:n:n]
		b.pending = b.pending[n:]
		for _, taken := range batch {
			taken.taken = true
		}
		b.flushers++
		b.mu.Unlock()
		b.flush(ctx, batch)
		b.mu.Lock()
		b.flushers--
		for _, done := range batch {
			done.done = true
		}
		b.cond.Broadcast()
	}
	return c.val, c.err
}

// flush sends a batch as one pipeline of EVALSHA. Calls that find the
// script missing (Redis restarted, or it was never loaded) are run again
// with Script.Run, which loads it.
func (b *scriptBatcher) flush(ctx context.Context, batch []*scriptCall) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.timeout)
	defer cancel()
	if len(batch) == 1 {
		c := batch[0]
		c.val, c.err = b.script.Run(ctx, b.rdb, c.keys, c.args...).Result()
		return
	}
	cmds := make([]*redis.Cmd, len(batch))
	_, _ = b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range batch {
			cmds[i] = b.script.EvalSha(ctx, p, c.keys, c.args...)
		}
		return nil
	})
	for i, c := range batch {
		c.val, c.err = cmds[i].Result()
		if c.err != nil && strings.HasPrefix(c.err.Error(), "NOSCRIPT") {
			c.val, c.err = b.script.Run(ctx, b.rdb, c.keys, c.args...).Result()
		}
	}
}
