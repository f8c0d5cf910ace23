package state

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
)

func enqueueN(t *testing.T, s *Store, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		id, err := s.Enqueue(context.Background(), switchboard.Outgoing{Kind: "post", Channel: "C1", Text: fmt.Sprint(i)})
		if err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
		ids[i] = id
	}
	return ids
}

func depth(t *testing.T, s *Store) int64 {
	t.Helper()
	n, err := s.QueueDepth(context.Background())
	if err != nil {
		t.Fatalf("QueueDepth: %v", err)
	}
	return n
}

var outgoingScenarios = []scenario{
	{"blocking claim ends with its context", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		if err := s.EnsureGroup(context.Background()); err != nil {
			t.Fatal(err)
		}
		// A reader waiting a minute for new entries must give up as soon as
		// its context ends: this is what lets a replica shut down promptly.
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		done := make(chan error, 1)
		go func() {
			got, err := s.Claim(ctx, "w1", 1, time.Minute, 0)
			if len(got) != 0 {
				err = fmt.Errorf("got %d messages from an empty queue", len(got))
			}
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil && ctx.Err() == nil {
				t.Errorf("Claim: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Claim still waiting 20 s after its context ended (block was 1 min)")
		}
	}},
	{"blocking claim returns an entry enqueued while it waits", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		if err := s.EnsureGroup(ctx); err != nil {
			t.Fatal(err)
		}
		type result struct {
			msgs []switchboard.Outgoing
			err  error
		}
		done := make(chan result, 1)
		go func() {
			got, err := s.Claim(ctx, "w1", 1, 10*time.Second, 0)
			done <- result{got, err}
		}()
		enqueueN(t, s, 1)
		for {
			r := <-done
			if r.err != nil {
				t.Fatalf("Claim: %v", r.err)
			}
			if len(r.msgs) == 1 {
				return
			}
			// The entry came after this read ended (the embedded server's
			// reads are short): read again, without waiting.
			got, err := s.Claim(ctx, "w1", 1, 0, 0)
			done <- result{got, err}
		}
	}},
	{"outgoing round trip", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		if err := s.EnsureGroup(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.EnsureGroup(ctx); err != nil {
			t.Errorf("second EnsureGroup: got %v, want nil", err)
		}
		tests := []switchboard.Outgoing{
			{Kind: "post", Channel: "C1", ThreadTS: "1.2", Text: "done", Blocks: json.RawMessage(`[{"type":"section"}]`), OperationID: "op1", DedupeKey: "op1:result:1"},
			{Kind: "update", Channel: "C1", TS: "1.2", Text: "2/3 done"},
			{Kind: "ephemeral", Channel: "C1", User: "U1", Text: "only you"},
			{Kind: "response", ResponseURL: "https://hooks.example/r/1", Text: "ok"},
		}
		for _, m := range tests {
			id, err := s.Enqueue(ctx, m)
			if err != nil {
				t.Fatalf("Enqueue(%s): %v", m.Kind, err)
			}
			got, err := s.Claim(ctx, "w1", 1, 0, 0)
			if err != nil || len(got) != 1 {
				t.Fatalf("Claim after %s: got %d messages, err %v; want 1, nil", m.Kind, len(got), err)
			}
			m.ID, m.Attempts = id, 1
			if !reflect.DeepEqual(got[0], m) {
				t.Errorf("Claim: got %+v, want %+v", got[0], m)
			}
			if err := s.Ack(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Enqueue(ctx, switchboard.Outgoing{Channel: "C1", Text: "x"}); err == nil {
			t.Error("Enqueue without a kind: got nil error, want one")
		}
	}},
	{"outgoing claim creates a missing group", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		ids := enqueueN(t, s, 2) // enqueued before any group exists
		got, err := s.Claim(ctx, "w1", 10, 0, time.Minute)
		if err != nil {
			t.Fatalf("Claim without a group: %v", err)
		}
		if len(got) != 2 || got[0].ID != ids[0] || got[1].ID != ids[1] {
			t.Errorf("Claim: got %+v, want the two messages enqueued before the group existed", got)
		}
	}},
	{"outgoing depth counts pending and unread, ack removes", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		if err := s.EnsureGroup(ctx); err != nil {
			t.Fatal(err)
		}
		if got := depth(t, s); got != 0 {
			t.Errorf("empty queue depth: got %d, want 0", got)
		}
		enqueueN(t, s, 3)
		claimed, err := s.Claim(ctx, "w1", 2, 0, 0)
		if err != nil || len(claimed) != 2 {
			t.Fatalf("Claim: got %d, err %v; want 2, nil", len(claimed), err)
		}
		if got := depth(t, s); got != 3 {
			t.Errorf("depth with 2 pending and 1 unread: got %d, want 3", got)
		}
		if err := s.Ack(ctx, claimed[0].ID, claimed[1].ID); err != nil {
			t.Fatal(err)
		}
		if got := depth(t, s); got != 1 {
			t.Errorf("depth after acking 2: got %d, want 1", got)
		}
		pending, err := rdb.XPending(ctx, prefix+"outbox", outboxGroup).Result()
		if err != nil {
			t.Fatal(err)
		}
		if pending.Count != 0 {
			t.Errorf("pending after ack: got %d, want 0", pending.Count)
		}
		if err := s.Ack(ctx); err != nil {
			t.Errorf("Ack of nothing: got %v, want nil", err)
		}
	}},
	{"outgoing two consumers never get the same message", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		if err := s.EnsureGroup(ctx); err != nil {
			t.Fatal(err)
		}
		const total = 200
		enqueueN(t, s, total)
		var mu sync.Mutex
		seen := map[string]string{}
		var wg sync.WaitGroup
		for _, consumer := range []string{"w1", "w2"} {
			wg.Go(func() {
				for {
					got, err := s.Claim(ctx, consumer, 7, 0, time.Minute)
					if err != nil {
						t.Errorf("Claim(%s): %v", consumer, err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, m := range got {
						if other, dup := seen[m.ID]; dup {
							t.Errorf("message %s: delivered to %s and %s, want one consumer", m.ID, other, consumer)
						}
						seen[m.ID] = consumer
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != total {
			t.Errorf("messages delivered: got %d, want %d", len(seen), total)
		}
	}},
	{"outgoing unacked message reclaimed after min idle", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		const minIdle = 100 * time.Millisecond
		if err := s.EnsureGroup(ctx); err != nil {
			t.Fatal(err)
		}
		ids := enqueueN(t, s, 1)
		// Taken before the claim: the server's delivery time, which idleness
		// counts from, lies between this and the claim's return.
		claimedAt := time.Now()
		first, err := s.Claim(ctx, "dead", 1, 0, minIdle)
		if err != nil || len(first) != 1 {
			t.Fatalf("first Claim: got %d, err %v; want 1, nil", len(first), err)
		}
		// The dead consumer never acknowledges.
		var got []switchboard.Outgoing
		eventually(t, 5*time.Second, "message reclaimed by w2", func() bool {
			got, err = s.Claim(ctx, "w2", 1, 0, minIdle)
			if err != nil {
				t.Fatal(err)
			}
			return len(got) > 0
		})
		if elapsed := time.Since(claimedAt); elapsed < minIdle-10*time.Millisecond {
			t.Errorf("reclaimed after %v, want no sooner than minIdle %v", elapsed, minIdle)
		}
		if got[0].ID != ids[0] || got[0].Attempts != 2 || got[0].Text != "0" {
			t.Errorf("reclaimed: got id %s attempts %d text %q, want %s, 2, %q", got[0].ID, got[0].Attempts, got[0].Text, ids[0], "0")
		}
		if err := s.Ack(ctx, got[0].ID); err != nil {
			t.Fatal(err)
		}
		if d := depth(t, s); d != 0 {
			t.Errorf("depth after ack: got %d, want 0", d)
		}
		pending, err := rdb.XPending(ctx, prefix+"outbox", outboxGroup).Result()
		if err != nil {
			t.Fatal(err)
		}
		if pending.Count != 0 {
			t.Errorf("pending after ack: got %d, want 0 (nothing left to reclaim)", pending.Count)
		}
	}},
	{"outgoing claim blocks until a message arrives", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		if err := s.EnsureGroup(ctx); err != nil {
			t.Fatal(err)
		}
		type claimed struct {
			msgs []switchboard.Outgoing
			err  error
		}
		done := make(chan claimed, 1)
		go func() {
			msgs, err := s.Claim(ctx, "w1", 1, 10*time.Second, time.Minute)
			done <- claimed{msgs, err}
		}()
		ids := enqueueN(t, s, 1)
		select {
		case c := <-done:
			if c.err != nil || len(c.msgs) != 1 || c.msgs[0].ID != ids[0] {
				t.Errorf("blocking Claim: got %+v, %v; want message %s", c.msgs, c.err, ids[0])
			}
		case <-time.After(5 * time.Second):
			t.Fatal("blocking Claim did not return within 5s of the enqueue")
		}
		start := time.Now()
		empty, err := s.Claim(ctx, "w1", 1, 50*time.Millisecond, time.Minute)
		if err != nil || len(empty) != 0 {
			t.Errorf("Claim on an empty queue: got %d messages, err %v; want none, nil", len(empty), err)
		}
		if waited := time.Since(start); waited < 40*time.Millisecond {
			t.Errorf("Claim with block 50ms on an empty queue returned after %v, want it to wait", waited)
		}
	}},
}
