package state

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
)

// threadEffects are the messages a result of op queues in op's thread: the
// reply, the parent's progress, and a copy in a notification channel (which
// is a post of op, but in no thread).
func threadEffects(opID string, n int) switchboard.Effects {
	return switchboard.Effects{
		Each: []switchboard.Outgoing{
			{Kind: "post", Channel: "C1", ThreadTS: "1.1", Text: fmt.Sprint("reply ", n), OperationID: opID},
			{Kind: "post", Channel: "CNOTIFY", Text: fmt.Sprint("copy ", n), OperationID: opID},
		},
		Progress: &switchboard.Outgoing{Kind: "progress", Channel: "C1", TS: "1.1", OperationID: opID},
	}
}

// queuedOf returns the ids of the queued messages of kind, oldest first.
func queuedOf(t *testing.T, rdb *redis.Client, prefix, kind string) []string {
	t.Helper()
	msgs, err := rdb.XRange(context.Background(), prefix+"outbox", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range msgs {
		if m.Values["kind"] == kind {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

var renderScenarios = []scenario{
	{"a thread post queued after a progress entry is found in one read", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		id := createWithExpected(t, s, 5, time.Minute)
		other := createWithExpected(t, s, 5, time.Minute)
		after := func(entry string) bool {
			t.Helper()
			got, err := s.ThreadPostQueuedAfter(ctx, entry, id)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if after("0-1") {
			t.Errorf("an operation without results: got a thread post queued, want none")
		}
		if _, err := s.RecordResult(ctx, id, switchboard.Result{Target: "a", OK: true}, threadEffects(id, 0)); err != nil {
			t.Fatal(err)
		}
		progress := queuedOf(t, rdb, prefix, "progress")
		if len(progress) != 1 {
			t.Fatalf("progress entries queued: got %d, want 1", len(progress))
		}
		p := progress[0]
		if after(p) {
			t.Errorf("the reply queued before the progress entry counted as after it")
		}
		// Posts that are not in the operation's thread do not count: another
		// operation's reply, and this operation's copy in a channel.
		if _, err := s.RecordResult(ctx, other, switchboard.Result{Target: "a", OK: true}, threadEffects(other, 0)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RecordResult(ctx, id, switchboard.Result{Target: "b", OK: true}, switchboard.Effects{Each: threadEffects(id, 1).Each[1:]}); err != nil {
			t.Fatal(err)
		}
		if after(p) {
			t.Errorf("posts outside the operation's thread counted as its thread posts")
		}
		if _, err := s.RecordResult(ctx, id, switchboard.Result{Target: "c", OK: false}, threadEffects(id, 2)); err != nil {
			t.Fatal(err)
		}
		if !after(p) {
			t.Errorf("a reply queued after the progress entry was not found")
		}
		if _, err := s.ThreadPostQueuedAfter(ctx, "not an id", id); err == nil {
			t.Errorf("a malformed entry id was accepted")
		}
	}},
	{"the thread post that says an operation expired counts too", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		op := runningOp(t, s, time.Minute, "1", "2")
		if _, err := s.RecordResult(ctx, op.ID, switchboard.Result{Target: "1", OK: true}, threadEffects(op.ID, 0)); err != nil {
			t.Fatal(err)
		}
		p := queuedOf(t, rdb, prefix, "progress")[0]
		_, expired, err := s.ExpireOperation(ctx, op.ID, func(op switchboard.Operation, _ []switchboard.Result) []switchboard.Outgoing {
			return []switchboard.Outgoing{
				{Kind: "post", Channel: op.ChannelID, ThreadTS: op.ThreadTS, Text: "expired", OperationID: op.ID},
				{Kind: "progress", Channel: op.ChannelID, TS: op.ThreadTS, OperationID: op.ID},
			}
		})
		if err != nil || !expired {
			t.Fatalf("ExpireOperation: %v, %v", expired, err)
		}
		if got, err := s.ThreadPostQueuedAfter(ctx, p, op.ID); err != nil || !got {
			t.Errorf("after expiry: got %v, %v, want the expiry's post found after the waiting progress entry", got, err)
		}
		last := queuedOf(t, rdb, prefix, "progress")[1]
		if got, err := s.ThreadPostQueuedAfter(ctx, last, op.ID); err != nil || got {
			t.Errorf("after the expiry's own progress entry: got %v, %v, want nothing behind it", got, err)
		}
		if n, _ := s.QueueDepth(ctx); n != 5 {
			t.Errorf("queue depth %d, want 5 (reply, copy, progress, expiry post, its progress)", n)
		}
	}},
	{"a progress entry queued anew carries the queued mark", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		id := createWithExpected(t, s, 10, time.Minute)
		record := func(target string) {
			t.Helper()
			if _, err := s.RecordResult(ctx, id, switchboard.Result{Target: target, OK: true}, threadEffects(id, 0)); err != nil {
				t.Fatal(err)
			}
		}
		requeue := func() bool {
			t.Helper()
			ok, err := s.RequeueProgress(ctx, switchboard.Outgoing{Kind: "progress", Channel: "C1", TS: "1.1", OperationID: id})
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		record("a") // queues the first progress entry
		if _, err := s.TakeProgress(ctx, id); err != nil {
			t.Fatal(err)
		}
		if !requeue() {
			t.Fatalf("RequeueProgress after TakeProgress queued nothing")
		}
		if got := len(queuedOf(t, rdb, prefix, "progress")); got != 2 {
			t.Fatalf("progress entries: got %d, want 2 (the first and the one queued anew)", got)
		}
		record("b") // the entry queued anew waits: no other
		if got := len(queuedOf(t, rdb, prefix, "progress")); got != 2 {
			t.Errorf("a result while the entry queued anew waits: got %d progress entries, want 2", got)
		}
		// A result recorded between taking the counters and queueing anew
		// queued its own entry; that one renders for both.
		if _, err := s.TakeProgress(ctx, id); err != nil {
			t.Fatal(err)
		}
		record("c")
		if requeue() {
			t.Errorf("RequeueProgress queued an entry while another waited")
		}
		if got := len(queuedOf(t, rdb, prefix, "progress")); got != 3 {
			t.Errorf("progress entries: got %d, want 3", got)
		}
		// Once that one is taken, the next result queues a new one again.
		if _, err := s.TakeProgress(ctx, id); err != nil {
			t.Fatal(err)
		}
		record("d")
		if got := len(queuedOf(t, rdb, prefix, "progress")); got != 4 {
			t.Errorf("a result after TakeProgress: got %d progress entries, want 4", got)
		}
		// An operation whose counters are gone gets no entry.
		gone := mustNewID(t)
		if ok, err := s.RequeueProgress(ctx, switchboard.Outgoing{Kind: "progress", Channel: "C1", OperationID: gone}); err != nil || ok {
			t.Errorf("RequeueProgress of a missing operation: got %v, %v, want false, nil", ok, err)
		}
		if n, _ := rdb.Exists(ctx, s.progKey(gone)).Result(); n != 0 {
			t.Errorf("RequeueProgress created the counters of a missing operation")
		}
	}},
}

func TestQueuedBefore(t *testing.T) {
	tests := []struct {
		name    string
		a, b    string
		want    bool
		wantErr bool
	}{
		{"earlier millisecond", "1700000000000-5", "1700000000001-0", true, false},
		{"same millisecond, lower sequence", "1700000000000-2", "1700000000000-10", true, false},
		{"same id", "1700000000000-2", "1700000000000-2", false, false},
		{"later", "1700000000001-0", "1700000000000-9", false, false},
		{"more digits is later", "999-0", "1000-0", true, false},
		{"no sequence", "1700000000000", "1700000000000-1", false, true},
		{"not a number", "x-1", "1-1", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := QueuedBefore(tt.a, tt.b)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("QueuedBefore(%q, %q): got %v, %v; want %v, error %v", tt.a, tt.b, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
