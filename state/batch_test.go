package state

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/internal/redistest"
)

// gate is a go-redis hook that counts the round trips that run scripts and
// holds the first one until opened, so that a test can line calls up
// behind it.
type gate struct {
	open      chan struct{}
	first     atomic.Bool
	trips     atomic.Int32 // single script commands and pipelines of them sent
	pipelined atomic.Int32 // script commands sent in pipelines
	// beforePipeline, when set, runs before each pipeline of scripts is sent.
	beforePipeline func()
}

func isScript(cmd redis.Cmder) bool { return cmd.Name() == "evalsha" || cmd.Name() == "eval" }

func newGate() *gate { return &gate{open: make(chan struct{})} }

func (g *gate) hold() {
	if g.first.CompareAndSwap(false, true) {
		<-g.open
	}
}

func (g *gate) DialHook(next redis.DialHook) redis.DialHook { return next }

func (g *gate) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if isScript(cmd) {
			g.trips.Add(1)
			g.hold()
		}
		return next(ctx, cmd)
	}
}

func (g *gate) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		scripts := 0
		for _, c := range cmds {
			if isScript(c) {
				scripts++
			}
		}
		if scripts > 0 {
			g.trips.Add(1)
			g.pipelined.Add(int32(scripts))
			g.hold()
			if g.beforePipeline != nil {
				g.beforePipeline()
			}
		}
		return next(ctx, cmds)
	}
}

// gatedStore is a Store whose client goes through g, with an operation
// expecting n results.
func gatedStore(t *testing.T, g *gate, n int) (*Store, string) {
	t.Helper()
	rdb, prefix := redistest.New(t)
	// Load the script and create the operation before the gate counts.
	s := New(rdb, prefix)
	id := createWithExpected(t, s, n, time.Minute)
	if err := recordScript.Load(context.Background(), rdb).Err(); err != nil {
		t.Fatal(err)
	}
	rdb.AddHook(g)
	return s, id
}

// waitFor polls until cond holds, for at most 10 s; then it fails the test
// with what it saw, as state says.
func waitFor(t *testing.T, cond func() bool, state func() string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(state())
		}
		time.Sleep(time.Millisecond)
	}
}

// waitHeld waits until the gate holds a script call on its way to Redis.
func (g *gate) waitHeld(t *testing.T) {
	t.Helper()
	waitFor(t, g.first.Load, func() string { return "no script call reached Redis" })
}

// waitPending waits until n calls wait behind the one in flight.
func waitPending(t *testing.T, s *Store, n int) {
	t.Helper()
	pending := func() int {
		s.record.mu.Lock()
		defer s.record.mu.Unlock()
		return len(s.record.pending)
	}
	waitFor(t, func() bool { return pending() == n }, func() string { return fmt.Sprintf("%d calls wait, want %d", pending(), n) })
}

// lineUp runs record(0) until the gate holds it on its way to Redis, then
// record(1) to record(n-1), and returns once they all wait behind it. wait
// returns when every call has returned.
func lineUp(t *testing.T, s *Store, g *gate, n int, record func(i int)) (wait func()) {
	t.Helper()
	var wg sync.WaitGroup
	wg.Go(func() { record(0) })
	g.waitHeld(t)
	for i := 1; i < n; i++ {
		wg.Go(func() { record(i) })
	}
	waitPending(t, s, n-1)
	return wg.Wait
}

func TestRecordResultBatchesConcurrentCallsIntoFewRoundTrips(t *testing.T) {
	const n = 200
	g := newGate()
	s, id := gatedStore(t, g, n)
	ctx := context.Background()
	errs := make(chan error, n)
	// The first call is held on its way to Redis; the others line up.
	wait := lineUp(t, s, g, n, func(i int) {
		p, err := s.RecordResult(ctx, id, switchboard.Result{Target: fmt.Sprint(i), OK: i%4 != 0}, switchboard.Effects{})
		if err == nil && (!p.First || p.Expected != n) {
			err = fmt.Errorf("target %d: got %+v, want a first result of %d expected", i, p, n)
		}
		errs <- err
	})
	close(g.open)
	wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// One trip for the first call, then batches of at most 64.
	if got, want := g.trips.Load(), int32(1+(n-1+63)/64); got != want {
		t.Errorf("round trips for %d calls: got %d, want %d", n, got, want)
	}
	if got := g.pipelined.Load(); got != n-1 {
		t.Errorf("calls sent in pipelines: got %d, want %d", got, n-1)
	}
	p, err := s.ResultCounts(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if want := (switchboard.Progress{Done: n - n/4, Failed: n / 4}); p != want {
		t.Errorf("counts after the batches: got %+v, want %+v", p, want)
	}
}

func TestRecordResultCallGivesUpWhileWaiting(t *testing.T) {
	g := newGate()
	s, id := gatedStore(t, g, 3)
	ctx := context.Background()
	first := make(chan error, 1)
	go func() {
		_, err := s.RecordResult(ctx, id, switchboard.Result{Target: "a", OK: true}, switchboard.Effects{})
		first <- err
	}()
	g.waitHeld(t)
	// A call waiting behind it whose context ends returns at once, unsent.
	cctx, cancel := context.WithCancel(ctx)
	gaveUp := make(chan error, 1)
	go func() {
		_, err := s.RecordResult(cctx, id, switchboard.Result{Target: "b", OK: true}, switchboard.Effects{})
		gaveUp <- err
	}()
	waitPending(t, s, 1)
	cancel()
	select {
	case err := <-gaveUp:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled waiting call: got %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled waiting call did not return while the call ahead was held")
	}
	close(g.open)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	results, err := s.Results(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0].Target != "a" {
		t.Errorf("results: got %+v, want only a's (b gave up before it was sent)", results)
	}
}

func TestRecordResultBatchReloadsAMissingScript(t *testing.T) {
	const n = 20
	g := newGate()
	s, id := gatedStore(t, g, n)
	ctx := context.Background()
	errs := make(chan error, n)
	wait := lineUp(t, s, g, n, func(i int) {
		_, err := s.RecordResult(ctx, id, switchboard.Result{Target: fmt.Sprint(i), OK: true}, switchboard.Effects{})
		errs <- err
	})
	// Redis forgets its scripts (a restart) right before the batch goes.
	plain, _ := redistest.New(t)
	var once sync.Once
	g.beforePipeline = func() {
		once.Do(func() {
			if err := plain.ScriptFlush(ctx).Err(); err != nil {
				t.Errorf("flush scripts: %v", err)
			}
		})
	}
	close(g.open)
	wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a batched call after the scripts were flushed: %v", err)
		}
	}
	if p, err := s.ResultCounts(ctx, id); err != nil || p.Done != n {
		t.Errorf("counts: got %+v, %v; want %d done", p, err, n)
	}
}
