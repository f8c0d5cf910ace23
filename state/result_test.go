package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
)

// createWithExpected stores a fresh operation expecting n results.
func createWithExpected(t *testing.T, s *Store, n int, ttl time.Duration) string {
	t.Helper()
	op := sampleOperation(mustNewID(t))
	op.Expected = n
	op.Status = switchboard.StatusRunning
	if err := s.CreateOperation(context.Background(), op, ttl); err != nil {
		t.Fatal(err)
	}
	return op.ID
}

var resultScenarios = []scenario{
	{"an operation stored before its counters held expected and status still completes", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		// Today's format: the operation's JSON alone, its counters hash
		// empty until a result arrives, as the store wrote it before.
		op := sampleOperation(mustNewID(t))
		op.Expected, op.Status = 2, switchboard.StatusRunning
		raw, err := json.Marshal(op)
		if err != nil {
			t.Fatal(err)
		}
		if err := rdb.Set(ctx, prefix+"op:{"+op.ID+"}", raw, time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		if err := rdb.ZAdd(ctx, prefix+"expiries", redis.Z{Score: float64(time.Now().Add(time.Minute).UnixMilli()), Member: op.ID}).Err(); err != nil {
			t.Fatal(err)
		}
		first, err := s.RecordResult(ctx, op.ID, switchboard.Result{Target: "32470000001", OK: true}, switchboard.Effects{})
		if err != nil {
			t.Fatalf("first result: %v", err)
		}
		if want := (switchboard.Progress{Done: 1, Expected: 2, First: true}); first != want {
			t.Errorf("first result: got %+v, want %+v", first, want)
		}
		if got := rdb.HMGet(ctx, prefix+"prog:{"+op.ID+"}", "expected", "status").Val(); got[0] != "2" || got[1] != switchboard.StatusRunning {
			t.Errorf("counters hash expected, status = %v, want [2 running] copied from the operation", got)
		}
		wantTTL(t, rdb, prefix+"prog:{"+op.ID+"}", time.Minute)
		last, err := s.RecordResult(ctx, op.ID, switchboard.Result{Target: "32470000002", OK: false}, switchboard.Effects{})
		if err != nil {
			t.Fatalf("last result: %v", err)
		}
		if !last.Complete() || last.Failed != 1 {
			t.Errorf("last result: got %+v, want the operation complete with 1 failed", last)
		}
		got, ok, err := s.Operation(ctx, op.ID)
		if err != nil || !ok {
			t.Fatalf("Operation: %v, %v", ok, err)
		}
		if got.Status != switchboard.StatusDone {
			t.Errorf("status = %q, want done", got.Status)
		}
		var stored switchboard.Operation
		if err := json.Unmarshal([]byte(rdb.Get(ctx, prefix+"op:{"+op.ID+"}").Val()), &stored); err != nil || stored.Status != switchboard.StatusDone {
			t.Errorf("stored JSON status = %q (%v), want done for replicas that read it there", stored.Status, err)
		}
		if n := rdb.ZScore(ctx, prefix+"expiries", op.ID).Err(); !errors.Is(n, redis.Nil) {
			t.Errorf("still in the expiry index (%v), want removed on completion", n)
		}
	}},
	{"a new operation's counters hold its expected count and status from its creation", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		id := createWithExpected(t, s, 3, time.Minute)
		if got := rdb.HMGet(ctx, prefix+"prog:{"+id+"}", "expected", "status").Val(); got[0] != "3" || got[1] != switchboard.StatusRunning {
			t.Errorf("counters hash expected, status = %v, want [3 running]", got)
		}
		wantTTL(t, rdb, prefix+"prog:{"+id+"}", time.Minute)
		if _, err := s.UpdateOperation(ctx, id, func(o *switchboard.Operation) error { o.Status = switchboard.StatusFailed; return nil }); err != nil {
			t.Fatal(err)
		}
		if got := rdb.HGet(ctx, prefix+"prog:{"+id+"}", "status").Val(); got != switchboard.StatusFailed {
			t.Errorf("counters hash status = %q after the update, want failed", got)
		}
	}},
	{"a completed operation reads done and an update does not reopen it", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		id := createWithExpected(t, s, 1, time.Minute)
		if _, err := s.RecordResult(ctx, id, switchboard.Result{Target: "32470000001", OK: true}, switchboard.Effects{}); err != nil {
			t.Fatal(err)
		}
		var seen string
		op, err := s.UpdateOperation(ctx, id, func(o *switchboard.Operation) error { seen = o.Status; o.ThreadTS = "1.2"; return nil })
		if err != nil {
			t.Fatal(err)
		}
		if seen != switchboard.StatusDone || op.Status != switchboard.StatusDone {
			t.Errorf("update saw %q and left %q, want done both", seen, op.Status)
		}
		if got, _, _ := s.Operation(ctx, id); got.Status != switchboard.StatusDone || got.ThreadTS != "1.2" {
			t.Errorf("Operation = status %q, thread %q; want done, 1.2", got.Status, got.ThreadTS)
		}
	}},
	{"result recording counts and completes", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		id := createWithExpected(t, s, 3, time.Minute)
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		steps := []struct {
			r    switchboard.Result
			want switchboard.Progress
		}{
			{switchboard.Result{Target: "32470000001", OK: true, At: t0}, switchboard.Progress{Done: 1, Failed: 0, Expected: 3, First: true}},
			{switchboard.Result{Target: "32470000002", OK: false, Detail: "unknown SIM", At: t0.Add(time.Second)}, switchboard.Progress{Done: 1, Failed: 1, Expected: 3, First: true}},
			{switchboard.Result{Target: "32470000001", OK: false, Detail: "duplicate", At: t0.Add(2 * time.Second)}, switchboard.Progress{Done: 1, Failed: 1, Expected: 3, First: false}},
			{switchboard.Result{Target: "32470000003", OK: true, At: t0.Add(3 * time.Second)}, switchboard.Progress{Done: 2, Failed: 1, Expected: 3, First: true}},
		}
		for i, st := range steps {
			got, err := s.RecordResult(ctx, id, st.r, switchboard.Effects{})
			if err != nil {
				t.Fatalf("step %d: RecordResult: %v", i, err)
			}
			if got != st.want {
				t.Errorf("step %d (%s): got %+v, want %+v", i, st.r.Target, got, st.want)
			}
			if wantComplete := i == len(steps)-1; got.Complete() != wantComplete {
				t.Errorf("step %d: Complete() got %v, want %v", i, got.Complete(), wantComplete)
			}
		}
		results, err := s.Results(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want := []switchboard.Result{steps[0].r, steps[1].r, steps[3].r} // the duplicate changed nothing
		if len(results) != len(want) {
			t.Fatalf("Results: got %d, want %d", len(results), len(want))
		}
		for i := range want {
			g, w := results[i], want[i]
			if g.Target != w.Target || g.OK != w.OK || g.Detail != w.Detail || !g.At.Equal(w.At) {
				t.Errorf("Results[%d]: got %+v, want %+v", i, g, w)
			}
		}
		wantTTL(t, rdb, prefix+"res:{"+id+"}", time.Minute)
		wantTTL(t, rdb, prefix+"prog:{"+id+"}", time.Minute)
	}},
	{"the last result marks the operation done in the same step", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		id := createWithExpected(t, s, 2, time.Minute)
		for i, target := range []string{"msisdn:32470000001", "msisdn:32470000002"} {
			if _, err := s.RecordResult(ctx, id, switchboard.Result{Target: target, OK: true}, switchboard.Effects{}); err != nil {
				t.Fatalf("result %d: %v", i, err)
			}
			op, _, err := s.Operation(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			want := switchboard.StatusRunning
			if i == 1 {
				want = switchboard.StatusDone
			}
			if op.Status != want {
				t.Errorf("after result %d: status %q, want %q", i+1, op.Status, want)
			}
			if len(op.Targets) != 2 || op.Params.Title != "Deactivate 2 SIM cards (lost)" {
				t.Errorf("after result %d: the operation lost fields: %+v", i+1, op)
			}
		}
		wantTTL(t, rdb, prefix+"op:{"+id+"}", time.Minute)
	}},
	{"a complete operation refuses new targets and writes nothing", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		id := createWithExpected(t, s, 1, time.Minute)
		each := switchboard.Effects{Each: []switchboard.Outgoing{{Kind: "post", Channel: "C1", Text: "reply"}}, Audit: &switchboard.AuditEntry{UserID: "U1", Decision: "callback result"}}
		if _, err := s.RecordResult(ctx, id, switchboard.Result{Target: "iccid:1", OK: true}, each); err != nil {
			t.Fatal(err)
		}
		outbox, audit := streamLen(t, rdb, s.outboxKey()), streamLen(t, rdb, s.auditKey())
		for _, target := range []string{"iccid:2", "iccid:3"} {
			p, err := s.RecordResult(ctx, id, switchboard.Result{Target: target, OK: false}, each)
			wantErrIs(t, "extra device "+target, err, switchboard.ErrAllAnswered)
			if p.Finished() != 1 {
				t.Errorf("extra device %s: progress %+v, want 1 finished", target, p)
			}
		}
		// A duplicate of an answered target is still a duplicate, not an error.
		if p, err := s.RecordResult(ctx, id, switchboard.Result{Target: "iccid:1", OK: true}, each); err != nil || p.First {
			t.Errorf("duplicate after completion: got %+v, %v; want First=false, nil", p, err)
		}
		results, err := s.Results(ctx, id)
		if err != nil || len(results) != 1 {
			t.Errorf("results: got %d (%v), want 1", len(results), err)
		}
		if got := streamLen(t, rdb, s.outboxKey()); got != outbox {
			t.Errorf("outbox: got %d messages, want %d (nothing queued for extras)", got, outbox)
		}
		if got := streamLen(t, rdb, s.auditKey()); got != audit {
			t.Errorf("audit: got %d entries, want %d (nothing audited for extras)", got, audit)
		}
	}},
	{"a finished operation takes no results", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		each := switchboard.Effects{Each: []switchboard.Outgoing{{Kind: "post", Text: "x"}}}
		for _, status := range []string{switchboard.StatusFailed, switchboard.StatusExpired, switchboard.StatusCancelled, switchboard.StatusPending} {
			for _, afterFirst := range []bool{false, true} {
				// The status changes before any result, or after one (when
				// the counters hash already holds a copy of it).
				id := createWithExpected(t, s, 3, time.Minute)
				want := 0
				if afterFirst {
					if _, err := s.RecordResult(ctx, id, switchboard.Result{Target: "iccid:0", OK: true}, each); err != nil {
						t.Fatal(err)
					}
					want = 1
				}
				if _, err := s.UpdateOperation(ctx, id, func(o *switchboard.Operation) error { o.Status = status; return nil }); err != nil {
					t.Fatal(err)
				}
				outbox := streamLen(t, rdb, s.outboxKey())
				_, err := s.RecordResult(ctx, id, switchboard.Result{Target: "iccid:1", OK: true}, each)
				wantErrIs(t, fmt.Sprintf("result for a %s operation (after a first: %v)", status, afterFirst), err, switchboard.ErrClosed)
				if n, err := rdb.HLen(ctx, prefix+"res:{"+id+"}").Result(); err != nil || int(n) != want {
					t.Errorf("%s operation: %d results (%v), want %d", status, n, err, want)
				}
				if got := streamLen(t, rdb, s.outboxKey()); got != outbox {
					t.Errorf("%s operation: %d messages queued, want none", status, got-outbox)
				}
				if ttl := rdb.PTTL(ctx, prefix+"prog:{"+id+"}").Val(); ttl <= 0 {
					t.Errorf("%s operation: counters hash TTL %v, want the operation's", status, ttl)
				}
			}
		}
	}},
	{"an expired operation takes no more results", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		id := createWithExpected(t, s, 3, time.Minute)
		if _, err := s.RecordResult(ctx, id, switchboard.Result{Target: "iccid:0", OK: true}, switchboard.Effects{}); err != nil {
			t.Fatal(err)
		}
		if _, expired, err := s.ExpireOperation(ctx, id, func(switchboard.Operation, []switchboard.Result) []switchboard.Outgoing {
			return []switchboard.Outgoing{}
		}); err != nil || !expired {
			t.Fatalf("ExpireOperation: expired %v, %v", expired, err)
		}
		_, err := s.RecordResult(ctx, id, switchboard.Result{Target: "iccid:1", OK: true}, switchboard.Effects{})
		wantErrIs(t, "result after expiry", err, switchboard.ErrClosed)
	}},
	{"result for an unknown operation is refused", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		_, err := s.RecordResult(ctx, "nope", switchboard.Result{Target: "x", OK: true}, switchboard.Effects{})
		wantErrIs(t, "RecordResult", err, switchboard.ErrNotFound)
		n, err := rdb.Exists(ctx, prefix+"res:{nope}", prefix+"prog:{nope}").Result()
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("keys written for an unknown operation: got %d, want 0", n)
		}
	}},
	{"concurrent results are counted exactly", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		const targets, copies = 100, 3 // every callback delivered three times
		id := createWithExpected(t, s, targets, time.Minute)
		var firsts, completes atomic.Int64
		var wg sync.WaitGroup
		for c := range copies {
			for i := range targets {
				wg.Go(func() {
					// Copies disagree on OK; whichever arrives first decides.
					r := switchboard.Result{Target: fmt.Sprint(i), OK: (i+c)%2 == 0}
					p, err := s.RecordResult(ctx, id, r, switchboard.Effects{})
					if err != nil {
						t.Errorf("RecordResult: %v", err)
						return
					}
					if p.First {
						firsts.Add(1)
						if p.Complete() {
							completes.Add(1)
						}
					}
				})
			}
		}
		wg.Wait()
		if got := firsts.Load(); got != targets {
			t.Errorf("calls with First=true: got %d, want %d", got, targets)
		}
		if got := completes.Load(); got != 1 {
			t.Errorf("first-time calls that saw completion: got %d, want exactly 1", got)
		}
		results, err := s.Results(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		failed := 0
		for _, r := range results {
			if !r.OK {
				failed++
			}
		}
		p, err := s.RecordResult(ctx, id, switchboard.Result{Target: "0", OK: true}, switchboard.Effects{}) // a late duplicate reads the counters
		if err != nil {
			t.Fatal(err)
		}
		want := switchboard.Progress{Done: targets - failed, Failed: failed, Expected: targets, First: false}
		if len(results) != targets || p != want {
			t.Errorf("after concurrent recording: got %d results and %+v, want %d and %+v", len(results), p, targets, want)
		}
	}},
	{"a new result queues its messages in the same step, a duplicate none", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		id := createWithExpected(t, s, 2, time.Minute)
		reply := switchboard.Outgoing{Kind: "post", Channel: "C1", ThreadTS: "1.1", Text: "done", OperationID: id}
		progress := switchboard.Outgoing{Kind: "progress", Channel: "C1", TS: "1.1", OperationID: id}
		summary := switchboard.Outgoing{Kind: "summary", Channel: "C1", ThreadTS: "1.1", OperationID: id}
		posts := switchboard.Effects{Each: []switchboard.Outgoing{reply}, Progress: &progress, Last: []switchboard.Outgoing{summary}}
		for i := range 3 { // the same result three times: one set of messages
			p, err := s.RecordResult(ctx, id, switchboard.Result{Target: "a", OK: true}, posts)
			if err != nil {
				t.Fatal(err)
			}
			if p.First != (i == 0) {
				t.Fatalf("attempt %d: First = %v", i, p.First)
			}
		}
		got, err := s.Claim(ctx, "w1", 10, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("queued %d messages, want 2", len(got))
		}
		if got[0].Kind != "post" || got[0].Text != "done" || got[0].ThreadTS != "1.1" || got[0].OperationID != id {
			t.Errorf("first message = %+v, want the reply", got[0])
		}
		if got[1].Kind != "progress" || got[1].TS != "1.1" {
			t.Errorf("second message = %+v, want the progress update", got[1])
		}
		if _, err := s.RecordResult(ctx, id, switchboard.Result{Target: "b", OK: true}, switchboard.Effects{Each: []switchboard.Outgoing{{}}}); err == nil {
			t.Errorf("a message without a kind was accepted")
		}
		if n, _ := s.QueueDepth(ctx); n != 2 {
			t.Errorf("queue depth after a refused call = %d, want 2", n)
		}
		// The last expected result queues the closing messages too.
		if _, err := s.RecordResult(ctx, id, switchboard.Result{Target: "b", OK: false}, posts); err != nil {
			t.Fatal(err)
		}
		got, err = s.Claim(ctx, "w1", 10, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		// The first result's progress message still waits (nobody took the
		// counters), so the last result queues no other.
		if len(got) != 2 || got[0].Kind != "post" || got[1].Kind != "summary" {
			t.Fatalf("messages after the last result = %+v, want the reply and the summary", got)
		}
	}},
	{"a new result appends its audit entry in the same step, within retention", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		s.SetAuditRetention(3, 0)
		id := createWithExpected(t, s, 5, time.Minute)
		for i := range 5 {
			for range 2 { // each result twice: one audit line
				target := fmt.Sprint(i)
				fx := switchboard.Effects{Audit: &switchboard.AuditEntry{UserID: "U1", Decision: "callback result", OperationID: id, Detail: target}}
				if _, err := s.RecordResult(ctx, id, switchboard.Result{Target: target, OK: true}, fx); err != nil {
					t.Fatal(err)
				}
			}
		}
		got, err := s.RecentAudit(ctx, 10, nil)
		if err != nil {
			t.Fatal(err)
		}
		var details []string
		for _, e := range got {
			if e.OperationID != id || e.UserID != "U1" || e.Decision != "callback result" || e.At.IsZero() {
				t.Errorf("audit entry %+v, want the one recorded", e)
			}
			details = append(details, e.Detail)
		}
		if want := []string{"4", "3", "2"}; fmt.Sprint(details) != fmt.Sprint(want) {
			t.Errorf("audit trail, newest first: got %q, want %q (the newest 3, no duplicates)", details, want)
		}
		if _, err := s.RecordResult(ctx, "gone", switchboard.Result{Target: "x", OK: true}, switchboard.Effects{Audit: &switchboard.AuditEntry{Detail: "x"}}); !errors.Is(err, switchboard.ErrNotFound) {
			t.Fatalf("RecordResult for a missing operation: got %v, want switchboard.ErrNotFound", err)
		}
		if got, err := s.RecentAudit(ctx, 10, nil); err != nil || len(got) != 3 || got[0].Detail != "4" {
			t.Errorf("after a result for a missing operation the audit holds %+v (%v), want it unchanged", got, err)
		}
	}},
	{"one progress message waits per operation until the deliverer takes the counters", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		id := createWithExpected(t, s, 10, time.Minute)
		fx := switchboard.Effects{Progress: &switchboard.Outgoing{Kind: "progress", Channel: "C1", TS: "1.1", OperationID: id}}
		record := func(target string, ok bool) {
			t.Helper()
			if _, err := s.RecordResult(ctx, id, switchboard.Result{Target: target, OK: ok}, fx); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 5 {
			record(fmt.Sprint(i), i != 2)
		}
		if n, _ := s.QueueDepth(ctx); n != 1 {
			t.Fatalf("five results queued %d progress messages, want 1", n)
		}
		p, err := s.TakeProgress(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if want := (switchboard.Progress{Done: 4, Failed: 1}); p != want {
			t.Errorf("TakeProgress: got %+v, want %+v", p, want)
		}
		record("1", true) // a duplicate queues nothing
		if n, _ := s.QueueDepth(ctx); n != 1 {
			t.Errorf("a duplicate after TakeProgress left %d messages, want 1", n)
		}
		record("5", true) // the next result after it queues a new one
		record("6", true)
		if n, _ := s.QueueDepth(ctx); n != 2 {
			t.Errorf("new results after TakeProgress left %d messages, want 2", n)
		}
	}},
}

func TestProgressComplete(t *testing.T) {
	tests := []struct {
		name string
		p    switchboard.Progress
		want bool
	}{
		{"nothing yet", switchboard.Progress{Expected: 2}, false},
		{"one of two", switchboard.Progress{Done: 1, Expected: 2}, false},
		{"successes and failures add up", switchboard.Progress{Done: 1, Failed: 1, Expected: 2}, true},
		{"all failed", switchboard.Progress{Failed: 2, Expected: 2}, true},
		{"nothing expected", switchboard.Progress{Done: 3}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Complete(); got != tt.want {
				t.Errorf("%+v.Complete(): got %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func streamLen(t *testing.T, rdb *redis.Client, key string) int64 {
	t.Helper()
	n, err := rdb.XLen(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}
