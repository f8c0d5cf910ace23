package notify

import (
	"sync"
	"time"

	"github.com/switchboard-bot/switchboard"
)

const (
	opCacheTTL = time.Minute
	opCacheMax = 10000
)

type cachedOp struct {
	op    switchboard.Operation
	until time.Time
}

// opCache remembers, per callback token, the operation it belongs to once the
// operation's tracking number is known: from then on every field a callback
// needs is fixed, so any replica may keep a copy for a while.
type opCache struct {
	mu sync.Mutex
	m  map[string]cachedOp
}

func (c *opCache) get(token string, now time.Time) (switchboard.Operation, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[token]
	if !ok || now.After(e.until) {
		return switchboard.Operation{}, false
	}
	return e.op, true
}

func (c *opCache) put(token string, op switchboard.Operation, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= opCacheMax {
		c.m = make(map[string]cachedOp)
	}
	c.m[token] = cachedOp{op: op, until: now.Add(opCacheTTL)}
}
