package state

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/internal/redistest"
)

// The expiry scenarios run like the others (see TestStore), on the shared
// test Redis and on the embedded server.

func TestExpiry(t *testing.T) {
	for _, sc := range expiryScenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			rdb, prefix := redistest.New(t)
			sc.run(t, New(rdb, prefix), rdb, prefix)
		})
	}
}

func TestExpiryOnEmbeddedServer(t *testing.T) {
	mr := miniredis.NewMiniRedis()
	mr.ClockTTL(true)
	if err := mr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mr.Close)
	for _, sc := range expiryScenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
			t.Cleanup(func() { _ = rdb.Close() })
			prefix := "embedded:" + t.Name() + ":"
			sc.run(t, New(rdb, prefix), rdb, prefix)
		})
	}
}

// runningOp stores a running operation expecting the given targets.
func runningOp(t *testing.T, s *Store, ttl time.Duration, numbers ...string) switchboard.Operation {
	t.Helper()
	targets := make([]switchboard.Target, len(numbers))
	for i, n := range numbers {
		targets[i] = switchboard.Number(n)
	}
	op := switchboard.Operation{ID: mustNewID(t), Kind: "fmu.read", ChannelID: "C1", ThreadTS: "1.000001", Targets: targets, Expected: len(targets), Status: switchboard.StatusRunning}
	if err := s.CreateOperation(context.Background(), op, ttl); err != nil {
		t.Fatal(err)
	}
	return op
}

var expiryScenarios = []scenario{
	{"schedule keeps the keys past the deadline", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		op := runningOp(t, s, time.Minute, "1", "2")
		if _, err := s.RecordResult(ctx, op.ID, switchboard.Result{Target: "1", OK: true}, switchboard.Effects{}); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(time.Hour)
		if err := s.ScheduleExpiry(ctx, op.ID, at, 30*time.Minute); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{s.opKey(op.ID), s.resKey(op.ID), s.progKey(op.ID)} {
			ttl, err := rdb.PTTL(ctx, key).Result()
			if err != nil {
				t.Fatal(err)
			}
			if ttl < 89*time.Minute || ttl > 90*time.Minute {
				t.Errorf("PTTL %s: got %v, want about 90m (deadline in 1h, kept 30m more)", key, ttl)
			}
		}
		if err := s.ScheduleExpiry(ctx, "no-such-op", at, time.Minute); !errors.Is(err, switchboard.ErrNotFound) {
			t.Errorf("schedule of a missing operation: got %v, want switchboard.ErrNotFound", err)
		}
	}},
	{"claim hands out due operations once per lease", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		now := time.Now()
		due1 := runningOp(t, s, time.Hour, "1")
		due2 := runningOp(t, s, time.Hour, "1")
		later := runningOp(t, s, time.Hour, "1")
		for _, e := range []struct {
			id string
			at time.Time
		}{{due1.ID, now.Add(-time.Minute)}, {due2.ID, now.Add(-time.Second)}, {later.ID, now.Add(10 * time.Minute)}} {
			if err := s.ScheduleExpiry(ctx, e.id, e.at, time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.ClaimExpiries(ctx, now, 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{due1.ID, due2.ID}; !slices.Equal(got, want) {
			t.Errorf("first claim: got %v, want %v (the due ones, earliest first)", got, want)
		}
		if got, _ := s.ClaimExpiries(ctx, now, 10, time.Minute); len(got) != 0 {
			t.Errorf("second claim within the lease: got %v, want none", got)
		}
		got, _ = s.ClaimExpiries(ctx, now.Add(2*time.Minute), 1, time.Minute)
		if len(got) != 1 || (got[0] != due1.ID && got[0] != due2.ID) {
			t.Errorf("claim after the lease, n=1: got %v, want one of %s, %s", got, due1.ID, due2.ID)
		}
	}},
	{"expire queues the posts once and drops the index entry", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		op := runningOp(t, s, time.Hour, "1", "2", "3")
		if _, err := s.RecordResult(ctx, op.ID, switchboard.Result{Target: "2", OK: true}, switchboard.Effects{}); err != nil {
			t.Fatal(err)
		}
		if err := s.ScheduleExpiry(ctx, op.ID, time.Now().Add(-time.Second), time.Hour); err != nil {
			t.Fatal(err)
		}
		var seen []string
		build := func(o switchboard.Operation, results []switchboard.Result) []switchboard.Outgoing {
			seen = nil
			for _, r := range results {
				seen = append(seen, r.Target)
			}
			return []switchboard.Outgoing{{Kind: "post", Channel: o.ChannelID, ThreadTS: o.ThreadTS, Text: "no answer", OperationID: o.ID}}
		}
		got, expired, err := s.ExpireOperation(ctx, op.ID, build)
		if err != nil || !expired {
			t.Fatalf("ExpireOperation: got expired=%v, err=%v; want true, nil", expired, err)
		}
		if got.Status != switchboard.StatusExpired || !slices.Equal(seen, []string{"2"}) {
			t.Errorf("got status %q and results %v, want %q and [2]", got.Status, seen, switchboard.StatusExpired)
		}
		stored, _, _ := s.Operation(ctx, op.ID)
		if stored.Status != switchboard.StatusExpired {
			t.Errorf("stored status: got %q, want %q", stored.Status, switchboard.StatusExpired)
		}
		if n, _ := s.QueueDepth(ctx); n != 1 {
			t.Errorf("queued messages: got %d, want 1", n)
		}
		if n, _ := rdb.ZCard(ctx, prefix+"expiries").Result(); n != 0 {
			t.Errorf("index entries: got %d, want 0", n)
		}
		if _, expired, err := s.ExpireOperation(ctx, op.ID, build); err != nil || expired {
			t.Errorf("second ExpireOperation: got expired=%v, err=%v; want false, nil", expired, err)
		}
		if n, _ := s.QueueDepth(ctx); n != 1 {
			t.Errorf("queued messages after a second expiry: got %d, want still 1", n)
		}
	}},
	{"expire takes a pending operation, and leaves one build declines", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		op := switchboard.Operation{ID: mustNewID(t), Kind: "sim.deactivate", ChannelID: "D1", Targets: []switchboard.Target{switchboard.Number("1")}, Expected: 1, Status: switchboard.StatusPending}
		if err := s.CreateOperation(ctx, op, time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := s.ScheduleExpiry(ctx, op.ID, time.Now(), time.Hour); err != nil {
			t.Fatal(err)
		}
		decline := func(switchboard.Operation, []switchboard.Result) []switchboard.Outgoing { return nil }
		if _, expired, err := s.ExpireOperation(ctx, op.ID, decline); err != nil || expired {
			t.Fatalf("ExpireOperation declined by build: got expired=%v, err=%v; want false, nil", expired, err)
		}
		if stored, _, _ := s.Operation(ctx, op.ID); stored.Status != switchboard.StatusPending {
			t.Errorf("status after a declined expiry: got %q, want %q", stored.Status, switchboard.StatusPending)
		}
		if n, _ := rdb.ZCard(ctx, prefix+"expiries").Result(); n != 1 {
			t.Errorf("index entries after a declined expiry: got %d, want 1 (still scheduled)", n)
		}
		var status string
		build := func(o switchboard.Operation, _ []switchboard.Result) []switchboard.Outgoing {
			status = o.Status
			return []switchboard.Outgoing{{Kind: "post", Text: "not confirmed in time"}}
		}
		got, expired, err := s.ExpireOperation(ctx, op.ID, build)
		if err != nil || !expired || got.Status != switchboard.StatusExpired {
			t.Fatalf("ExpireOperation: got status %q, expired=%v, err=%v; want %q, true, nil", got.Status, expired, err, switchboard.StatusExpired)
		}
		if status != switchboard.StatusPending {
			t.Errorf("build saw status %q, want %q (the status before expiry)", status, switchboard.StatusPending)
		}
		if n, _ := s.QueueDepth(ctx); n != 1 {
			t.Errorf("queued messages: got %d, want 1", n)
		}
	}},
	{"expire leaves finished and missing operations alone", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		op := runningOp(t, s, time.Hour, "1")
		if err := s.ScheduleExpiry(ctx, op.ID, time.Now(), time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateOperation(ctx, op.ID, func(o *switchboard.Operation) error { o.Status = switchboard.StatusDone; return nil }); err != nil {
			t.Fatal(err)
		}
		build := func(switchboard.Operation, []switchboard.Result) []switchboard.Outgoing {
			return []switchboard.Outgoing{{Kind: "post", Text: "must not be queued"}}
		}
		for _, id := range []string{op.ID, "no-such-op"} {
			if _, expired, err := s.ExpireOperation(ctx, id, build); err != nil || expired {
				t.Errorf("ExpireOperation(%s): got expired=%v, err=%v; want false, nil", id, expired, err)
			}
		}
		if n, _ := s.QueueDepth(ctx); n != 0 {
			t.Errorf("queued messages: got %d, want 0", n)
		}
		if n, _ := rdb.ZCard(ctx, prefix+"expiries").Result(); n != 0 {
			t.Errorf("index entries: got %d, want 0 (a done operation is dropped from the index)", n)
		}
		if stored, _, _ := s.Operation(ctx, op.ID); stored.Status != switchboard.StatusDone {
			t.Errorf("status: got %q, want it left %q", stored.Status, switchboard.StatusDone)
		}
	}},
}

func TestPendingOperationsLeaveWhenComplete(t *testing.T) {
	rdb, prefix := redistest.New(t)
	s := New(rdb, prefix)
	{
		ctx := context.Background()
		id := createWithExpected(t, s, 2, time.Minute)
		if err := s.ScheduleExpiry(ctx, id, time.Now().Add(time.Minute), time.Minute); err != nil {
			t.Fatal(err)
		}
		want := func(n int64) {
			t.Helper()
			if got, err := s.PendingOperations(ctx); err != nil || got != n {
				t.Fatalf("PendingOperations = %d, %v, want %d", got, err, n)
			}
		}
		want(1)
		if _, err := s.RecordResult(ctx, id, switchboard.Result{Target: "a", OK: true}, switchboard.Effects{}); err != nil {
			t.Fatal(err)
		}
		want(1)
		if _, err := s.RecordResult(ctx, id, switchboard.Result{Target: "b", OK: false}, switchboard.Effects{}); err != nil {
			t.Fatal(err)
		}
		want(0)
	}
}

// TestUpdateOperationNeverShortensTheKeysLife: moving an operation's
// deadline earlier than its key's expiry (which ScheduleExpiry set past the
// deadline, so that the sweeper finds it) must not cut the key short.
func TestUpdateOperationNeverShortensTheKeysLife(t *testing.T) {
	rdb, prefix := redistest.New(t)
	s := New(rdb, prefix)
	ctx := context.Background()
	op := switchboard.Operation{ID: "op1", Kind: "sim.deactivate", Status: switchboard.StatusPending, ExpiresAt: time.Now().Add(5 * time.Minute)}
	if err := s.CreateOperation(ctx, op, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateOperation(ctx, "op1", func(o *switchboard.Operation) error {
		o.Status, o.ExpiresAt = switchboard.StatusRunning, time.Now().Add(time.Minute)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.PTTL(ctx, prefix+"op:{op1}").Val(); ttl < time.Hour {
		t.Errorf("operation key's TTL after an earlier deadline = %v, want the 2 h it had", ttl)
	}
	// A later deadline still lengthens it.
	if _, err := s.UpdateOperation(ctx, "op1", func(o *switchboard.Operation) error {
		o.ExpiresAt = time.Now().Add(3 * time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.PTTL(ctx, prefix+"op:{op1}").Val(); ttl < 2*time.Hour+30*time.Minute {
		t.Errorf("operation key's TTL after a later deadline = %v, want about 3 h", ttl)
	}
}
