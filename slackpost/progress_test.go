package slackpost

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/state"
)

// progressLog is the store, noting each progress entry the deliverer claims.
type progressLog struct {
	*state.Store
	mu  sync.Mutex
	ids map[string]bool
}

func (l *progressLog) Claim(ctx context.Context, consumer string, n int, block, minIdle time.Duration) ([]switchboard.Outgoing, error) {
	msgs, err := l.Store.Claim(ctx, consumer, n, block, minIdle)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range msgs {
		if m.Kind == render.KindProgress {
			l.ids[m.ID] = true
		}
	}
	return msgs, err
}

func (l *progressLog) claimed() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ids)
}

// wantParentBehindThread checks that no parent render said "all n done"
// before the n replies were posted, and that one did in the end. It returns
// the parent renders.
func wantParentBehindThread(t *testing.T, sl *fakeSlack, n int) []string {
	t.Helper()
	sl.mu.Lock()
	calls := slices.Clone(sl.accepted)
	sl.mu.Unlock()
	all := fmt.Sprintf("all %d done", n)
	replies, finished := 0, false
	var seq, updates []string
	for _, c := range calls {
		seq = append(seq, c.method+": "+c.msg.Text)
		switch {
		case c.method == "post" && strings.Contains(c.msg.Text, "ok=true"):
			replies++
		case c.method == "update":
			updates = append(updates, c.msg.Text)
			if strings.Contains(c.msg.Text, all) {
				finished = true
				if replies < n {
					t.Errorf("the parent said %s when %d of %d replies were posted", all, replies, n)
				}
			}
		}
	}
	if replies != n || !finished {
		t.Errorf("want %d replies and a parent saying %s; calls made:\n%s", n, all, strings.Join(seq, "\n"))
	}
	return updates
}

// TestDelivererRequeuedProgressKeepsTheMark: a progress entry that goes
// behind a reply is queued anew with the mark that stops results from
// queueing another, so a result recorded while it waits adds no progress
// entry (before, it added one, and each was rendered or checked again).
func TestDelivererRequeuedProgressKeepsTheMark(t *testing.T) {
	s := newStore(t)
	op := bulkOperation(t, s, 3)
	record(t, s, op, 0, true)
	record(t, s, op, 1, true) // queue: reply 0, progress, reply 1
	recorded := make(chan error, 1)
	sl := &fakeSlack{answer: func(ctx context.Context, c slackCall) error {
		// The third result arrives while the second reply is being posted:
		// the progress entry has been queued anew behind that reply by then.
		if c.method == "post" && strings.HasPrefix(c.msg.Text, op.Targets[1].String()) {
			r := switchboard.Result{Target: op.Targets[2].String(), OK: true, Detail: fmt.Sprintf("%s ok=true", op.Targets[2])}
			_, err := s.RecordResult(ctx, op.ID, r, render.ResultPosts(op, r, render.PostRules{}))
			select {
			case recorded <- err:
			default:
			}
		}
		return nil
	}}
	log := &progressLog{Store: s, ids: map[string]bool{}}
	d := newDeliverer(s, sl, "a")
	d.Store = log
	run(t, d)
	waitUntil(t, "the summary", func() bool {
		ps := sl.calls("post")
		return len(ps) > 0 && strings.Contains(ps[len(ps)-1].msg.Text, "Finished")
	})
	waitUntil(t, "an empty queue", func() bool { return queueDepth(t, s) == 0 })
	if err := <-recorded; err != nil {
		t.Fatalf("recording the third result: %v", err)
	}

	updates := wantParentBehindThread(t, sl, 3)
	if len(updates) != 1 {
		t.Errorf("parent updates: got %q, want one", updates)
	}
	// The first entry, queued anew behind the second reply, and again
	// behind the third: three. Without the mark the third result queues
	// one more.
	if got := log.claimed(); got != 3 {
		t.Errorf("progress entries delivered: got %d, want 3", got)
	}
}

// TestDelivererMergedProgressKeepsTheFirstPlace: two progress entries of
// one operation wait in a lane with a reply between them (one reclaimed,
// say, or queued with an expiry). The merged entry keeps the first one's
// place and id, so the reply between them is still found behind it and the
// parent waits for it.
func TestDelivererMergedProgressKeepsTheFirstPlace(t *testing.T) {
	s := newStore(t)
	sl := &fakeSlack{}
	op := bulkOperation(t, s, 2)
	record(t, s, op, 0, true)
	record(t, s, op, 1, true)
	enqueue(t, s, switchboard.Outgoing{Kind: render.KindProgress, Channel: op.ChannelID, TS: op.ThreadTS, OperationID: op.ID})
	// queue: reply 0, progress, reply 1, progress; one claim takes them all
	run(t, newDeliverer(s, sl, "a"))
	waitUntil(t, "an empty queue", func() bool { return queueDepth(t, s) == 0 })
	if updates := wantParentBehindThread(t, sl, 2); len(updates) != 1 {
		t.Errorf("parent updates: got %q, want one", updates)
	}
}
