package state

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// claimWithin polls ClaimSending for owner until it hands out a job or the
// deadline passes.
func claimWithin(t *testing.T, s *Store, owner string, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		id, err := s.ClaimSending(context.Background(), owner, time.Minute)
		if err != nil {
			t.Fatalf("ClaimSending: %v", err)
		}
		if id != "" {
			return id
		}
		time.Sleep(2 * time.Millisecond) // polling a lease the Redis clock ends
	}
	return ""
}

var sendingScenarios = []scenario{
	{"a job's batches go in order, once, and its tracking numbers are found", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		if err := s.CreateSending(ctx, "op1", 2, "a", time.Minute, time.Hour); err != nil {
			t.Fatal(err)
		}
		if id, err := s.ClaimSending(ctx, "b", time.Minute); err != nil || id != "" {
			t.Fatalf("another owner claimed a held job: %q, %v", id, err)
		}
		for want := range 2 {
			step, b, err := s.NextBatch(ctx, "op1", "a", time.Minute)
			if err != nil || step != StepSend || b != want {
				t.Fatalf("NextBatch: got %v %d %v, want send %d", step, b, err, want)
			}
			if sw, _ := s.SendingOf(ctx, "op1", ""); sw.AllSent {
				t.Fatalf("all sent before batch %d was", want)
			}
			ok, err := s.BatchSent(ctx, "op1", "a", b, "tn-"+string(rune('0'+b)), time.Minute)
			if err != nil || !ok {
				t.Fatalf("BatchSent: %v %v", ok, err)
			}
		}
		step, _, err := s.NextBatch(ctx, "op1", "a", time.Minute)
		if err != nil || step != StepDone {
			t.Fatalf("NextBatch after the last: got %v, %v; want done", step, err)
		}
		sw, err := s.SendingOf(ctx, "op1", "tn-1")
		if err != nil || !sw.Known || sw.Batch != 1 || !sw.AllSent {
			t.Errorf("SendingOf(tn-1) = %+v, %v; want batch 1, known, all sent", sw, err)
		}
		if sw, _ := s.SendingOf(ctx, "op1", "tn-x"); sw.Known {
			t.Errorf("an unknown tracking number is known: %+v", sw)
		}
		if n, _ := rdb.ZCard(ctx, prefix+"{send}:jobs").Result(); n != 0 {
			t.Errorf("jobs left in the index: %d, want 0", n)
		}
	}},
	{"a batch in flight with a holder that died is in doubt, never sent again", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		if err := s.CreateSending(ctx, "op2", 3, "a", time.Millisecond, time.Hour); err != nil {
			t.Fatal(err)
		}
		if step, b, err := s.NextBatch(ctx, "op2", "a", time.Millisecond); err != nil || step != StepSend || b != 0 {
			t.Fatalf("NextBatch: %v %d %v", step, b, err)
		}
		// a dies during the request: its lease runs out, b takes the job.
		if id := claimWithin(t, s, "b", 5*time.Second); id != "op2" {
			t.Fatalf("ClaimSending: got %q, want op2", id)
		}
		if ok, err := s.BatchSent(ctx, "op2", "a", 0, "late", time.Minute); err != nil || ok {
			t.Fatalf("the former holder's BatchSent: got %v, %v; want refused", ok, err)
		}
		step, b, err := s.NextBatch(ctx, "op2", "b", time.Minute)
		if err != nil || step != StepDoubt || b != 0 {
			t.Fatalf("NextBatch of the new holder: got %v %d %v, want doubt 0", step, b, err)
		}
		step, b, err = s.NextBatch(ctx, "op2", "b", time.Minute)
		if err != nil || step != StepSend || b != 1 {
			t.Fatalf("NextBatch after the doubt: got %v %d %v, want send 1", step, b, err)
		}
		if step, _, _ := s.NextBatch(ctx, "op2", "a", time.Minute); step != StepLost {
			t.Errorf("the former holder's NextBatch: got %v, want lost", step)
		}
		if sw, _ := s.SendingOf(ctx, "op2", "late"); sw.Known {
			t.Errorf("the former holder's tracking number was stored: %+v", sw)
		}
	}},
}
