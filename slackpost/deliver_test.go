package slackpost

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/internal/redistest"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/state"
)

// slackCall is one call the fake Slack answered.
type slackCall struct {
	method  string // "post" or "update"
	channel string
	ts      string // the message an update replaced
	msg     render.Message
	at      time.Time
}

// fakeSlack records the posts and updates it accepts. answer, when set, is
// asked first: a non-nil error is returned to the caller and the call is not
// accepted.
type fakeSlack struct {
	answer func(ctx context.Context, c slackCall) error

	mu       sync.Mutex
	accepted []slackCall
	attempts int
}

func (f *fakeSlack) do(ctx context.Context, c slackCall) error {
	c.at = time.Now()
	f.mu.Lock()
	f.attempts++
	f.mu.Unlock()
	if f.answer != nil {
		if err := f.answer(ctx, c); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accepted = append(f.accepted, c)
	return nil
}

func (f *fakeSlack) PostMessage(ctx context.Context, channel string, m render.Message) (string, error) {
	return "1.1", f.do(ctx, slackCall{method: "post", channel: channel, msg: m})
}

func (f *fakeSlack) UpdateMessage(ctx context.Context, channel, ts string, m render.Message) error {
	return f.do(ctx, slackCall{method: "update", channel: channel, ts: ts, msg: m})
}

func (f *fakeSlack) PostEphemeral(context.Context, string, string, render.Message) error {
	return errors.New("not used by the deliverer")
}

func (f *fakeSlack) Respond(context.Context, string, render.Message, bool) error {
	return errors.New("not used by the deliverer")
}

func (f *fakeSlack) UploadFile(context.Context, string, string, string, string, []byte) error {
	return errors.New("not used by the deliverer")
}

// calls returns the accepted calls of method ("" for all).
func (f *fakeSlack) calls(method string) []slackCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []slackCall
	for _, c := range f.accepted {
		if method == "" || c.method == method {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeSlack) attempted() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts
}

func texts(cs []slackCall) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.msg.Text
	}
	return out
}

func newStore(t *testing.T) *state.Store {
	t.Helper()
	rdb, prefix := redistest.New(t)
	return state.New(rdb, prefix)
}

// run starts d until the test ends (or stop is called) and waits for it.
func run(t *testing.T, d *Deliverer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Run(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return within 10 s of its context ending")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func newDeliverer(s *state.Store, sl Slack, consumer string) *Deliverer {
	return &Deliverer{Store: s, Slack: sl, Consumer: consumer, Block: 50 * time.Millisecond, MinIdle: 30 * time.Second}
}

// waitUntil polls cond until it holds, failing the test after 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

func enqueue(t *testing.T, s *state.Store, msgs ...switchboard.Outgoing) []string {
	t.Helper()
	var ids []string
	for _, m := range msgs {
		id, err := s.Enqueue(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func queueDepth(t *testing.T, s *state.Store) int64 {
	t.Helper()
	n, err := s.QueueDepth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func posts(channel string, n int) []switchboard.Outgoing {
	out := make([]switchboard.Outgoing, n)
	for i := range out {
		out[i] = switchboard.Outgoing{Kind: render.KindPost, Channel: channel, ThreadTS: "1.0", Text: fmt.Sprintf("%s #%d", channel, i)}
	}
	return out
}

// wantGaps checks that consecutive calls are at least min apart.
// slotLog is the store, noting the slots it grants each channel. A slot
// comes at the store's time of the call plus the wait it returns; by the
// local clock that is between the call's start and its return, plus the wait.
type slotLog struct {
	*state.Store
	mu    sync.Mutex
	slots map[string][]slotTime
}

type slotTime struct{ earliest, latest time.Time }

func newSlotLog(s *state.Store) *slotLog { return &slotLog{Store: s, slots: map[string][]slotTime{}} }

func (l *slotLog) NextSlot(ctx context.Context, channel string, interval time.Duration) (time.Duration, error) {
	before := time.Now()
	w, err := l.Store.NextSlot(ctx, channel, interval)
	if err == nil {
		l.mu.Lock()
		l.slots[channel] = append(l.slots[channel], slotTime{before.Add(w), time.Now().Add(w)})
		l.mu.Unlock()
	}
	return w, err
}

// wantPaced checks that the Slack calls cs to a channel kept its pace: the
// slots the store granted the channel are at least interval apart, and no
// call came before its slot, that is, the k-th call came no sooner than the
// k-th slot. Both checks allow for the time a call takes on a busy machine
// by using the slots' brackets, so they fail only when the pace is
// certainly broken, never because a call came late.
func wantPaced(t *testing.T, what string, cs []slackCall, log *slotLog, channel string, interval time.Duration) {
	t.Helper()
	const slack = 3 * time.Millisecond // Redis keeps time in whole milliseconds
	log.mu.Lock()
	slots := slices.Clone(log.slots[channel])
	log.mu.Unlock()
	slices.SortFunc(slots, func(a, b slotTime) int { return a.earliest.Compare(b.earliest) })
	for i := 1; i < len(slots); i++ {
		if most := slots[i].latest.Sub(slots[i-1].earliest); most < interval-slack {
			t.Errorf("%s: slots %d and %d at most %v apart, want at least %v", what, i-1, i, most, interval)
		}
	}
	slices.SortFunc(cs, func(a, b slackCall) int { return a.at.Compare(b.at) })
	if len(cs) > len(slots) {
		t.Errorf("%s: %d calls with %d slots, want a slot for each call", what, len(cs), len(slots))
		return
	}
	for k, c := range cs {
		if early := slots[k].earliest.Sub(c.at); early > slack {
			t.Errorf("%s: call %d came %v before the slot it needed", what, k, early)
		}
	}
}

func TestDelivererPacesEachChannelAcrossReplicas(t *testing.T) {
	s := newStore(t)
	sl := &fakeSlack{}
	const interval = 80 * time.Millisecond
	log := newSlotLog(s)
	for _, consumer := range []string{"replica-a", "replica-b"} {
		d := newDeliverer(s, sl, consumer)
		d.Store = log
		d.PaceInterval = interval
		d.Batch = 2 // so that both replicas get entries
		run(t, d)
	}
	enqueue(t, s, append(posts("C1", 6), posts("C2", 6)...)...)
	waitUntil(t, "12 posts", func() bool { return len(sl.calls("post")) == 12 })

	// Both replicas posted into both channels; each channel kept the pace.
	for _, ch := range []string{"C1", "C2"} {
		var inChannel []slackCall
		for _, c := range sl.calls("post") {
			if c.channel == ch {
				inChannel = append(inChannel, c)
			}
		}
		if len(inChannel) != 6 {
			t.Errorf("%s: got %d posts, want 6", ch, len(inChannel))
		}
		wantPaced(t, ch, inChannel, log, ch, interval)
	}
	got := texts(sl.calls("post"))
	slices.Sort(got)
	if want := 12; len(slices.Compact(got)) != want {
		t.Errorf("got posts %q, want 12 different ones", got)
	}
	waitUntil(t, "an empty queue", func() bool { return queueDepth(t, s) == 0 })
}

func TestDelivererChannelWaitingForItsSlotHoldsBackNoOther(t *testing.T) {
	s := newStore(t)
	sl := &fakeSlack{}
	d := newDeliverer(s, sl, "a")
	d.PaceInterval = 2 * time.Second
	run(t, d)
	enqueue(t, s, posts("C1", 3)...)
	waitUntil(t, "the first post in C1", func() bool { return len(sl.calls("post")) == 1 })

	// C1's next two posts wait for their slots, 2 s and 4 s from now; a
	// message for C2 goes out meanwhile.
	enqueue(t, s, switchboard.Outgoing{Kind: render.KindPost, Channel: "C2", ThreadTS: "1.0", Text: "C2 #0"})
	waitUntil(t, "all four posts", func() bool { return len(sl.calls("post")) == 4 })
	want := []string{"C1 #0", "C2 #0", "C1 #1", "C1 #2"}
	if got := texts(sl.calls("post")); !slices.Equal(got, want) {
		t.Errorf("posts in the order Slack accepted them: got %q, want %q", got, want)
	}
}

func TestDelivererPostsOnceWhenItsWaitingEntriesAreClaimedAgain(t *testing.T) {
	s := newStore(t)
	sl := &fakeSlack{}
	d := newDeliverer(s, sl, "a")
	// Entries wait in their lane longer than MinIdle, so each claim hands the
	// waiting ones back to this same replica.
	d.MinIdle = 100 * time.Millisecond
	d.PaceInterval = 250 * time.Millisecond
	run(t, d)
	enqueue(t, s, posts("C1", 6)...)
	waitUntil(t, "an empty queue", func() bool { return queueDepth(t, s) == 0 })
	var want []string
	for _, m := range posts("C1", 6) {
		want = append(want, m.Text)
	}
	if got := texts(sl.calls("post")); !slices.Equal(got, want) {
		t.Errorf("posts: got %q, want each once, in order: %q", got, want)
	}
}

func TestDelivererRetriesUntilSlackRecovers(t *testing.T) {
	tests := []struct {
		name    string
		answers []error // answers before Slack accepts
		want    int     // posts accepted
	}{
		{"rate limited twice", []error{&slack.RateLimitedError{RetryAfter: 300 * time.Millisecond}, &slack.RateLimitedError{RetryAfter: 300 * time.Millisecond}}, 1},
		{"server errors", []error{slack.StatusCodeError{Code: http.StatusInternalServerError, Status: "500"}, slack.StatusCodeError{Code: http.StatusBadGateway, Status: "502"}, slack.SlackErrorResponse{Err: "internal_error"}}, 1},
		{"refused for good", []error{slack.SlackErrorResponse{Err: "channel_not_found"}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			var n atomic.Int32
			sl := &fakeSlack{answer: func(_ context.Context, _ slackCall) error {
				if i := int(n.Add(1)) - 1; i < len(tt.answers) {
					return tt.answers[i]
				}
				return nil
			}}
			start := time.Now()
			run(t, newDeliverer(s, sl, "a"))
			enqueue(t, s, posts("C1", 1)...)
			waitUntil(t, "an empty queue", func() bool { return queueDepth(t, s) == 0 })
			if got := len(sl.calls("post")); got != tt.want {
				t.Errorf("accepted posts: got %d, want %d", got, tt.want)
			}
			if got, want := sl.attempted(), len(tt.answers)+tt.want; got != want {
				t.Errorf("Slack calls: got %d, want %d", got, want)
			}
			if tt.name == "rate limited twice" {
				if elapsed := time.Since(start); elapsed < 600*time.Millisecond {
					t.Errorf("posted after %v, want after two Retry-After waits of 300ms", elapsed)
				}
			}
		})
	}
}

func TestDelivererSharesRetryAfterWithOtherReplicas(t *testing.T) {
	s := newStore(t)
	var limited atomic.Bool
	sl := &fakeSlack{answer: func(_ context.Context, c slackCall) error {
		if c.channel == "C1" && limited.CompareAndSwap(false, true) {
			return &slack.RateLimitedError{RetryAfter: time.Second}
		}
		return nil
	}}
	a := newDeliverer(s, sl, "a")
	a.PaceInterval = 10 * time.Millisecond
	run(t, a)
	enqueue(t, s, posts("C1", 1)...)
	waitUntil(t, "the 429", func() bool { return limited.Load() })
	limitedAt := time.Now()

	// Another replica posting in the same channel waits for the Retry-After too.
	b := newDeliverer(s, sl, "b")
	b.PaceInterval = 10 * time.Millisecond
	enqueue(t, s, switchboard.Outgoing{Kind: render.KindPost, Channel: "C1", Text: "from b"})
	run(t, b)
	waitUntil(t, "both posts", func() bool { return len(sl.calls("post")) == 2 })
	for _, c := range sl.calls("post") {
		if wait := c.at.Sub(limitedAt); wait < 900*time.Millisecond {
			t.Errorf("post %q came %v after the 429, want after its 1 s Retry-After", c.msg.Text, wait)
		}
	}
}

func TestDelivererLeavesEntriesReclaimedByAnotherReplica(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	enqueue(t, s, posts("C1", 1)...)
	if err := s.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.Claim(ctx, "a", 1, 0, 0)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim by a: got %v, %v", claimed, err)
	}
	// a stalls (waiting for Slack's pace, say); b takes the entry over.
	waitUntil(t, "b to reclaim the idle entry", func() bool {
		got, err := s.Claim(ctx, "b", 1, 0, 20*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		return len(got) == 1
	})

	sl := &fakeSlack{}
	a := newDeliverer(s, sl, "a")
	a.handle(ctx, claimed[0])
	if got := sl.attempted(); got != 0 {
		t.Errorf("a made %d Slack calls for an entry b holds, want 0", got)
	}
	if got := queueDepth(t, s); got != 1 {
		t.Errorf("queue depth: got %d, want 1 (b still has to deliver it)", got)
	}

	b := newDeliverer(s, sl, "b")
	b.MinIdle = 20 * time.Millisecond
	run(t, b)
	waitUntil(t, "b's post", func() bool { return queueDepth(t, s) == 0 })
	if got := texts(sl.calls("post")); len(got) != 1 {
		t.Errorf("got posts %q, want exactly one", got)
	}
}

// bulkOperation stores a running operation with n targets.
func bulkOperation(t *testing.T, s *state.Store, n int) switchboard.Operation {
	t.Helper()
	ctx := context.Background()
	id, err := state.NewID()
	if err != nil {
		t.Fatal(err)
	}
	op := switchboard.Operation{ID: id, Kind: "sim.deactivate", UserID: "U1", ChannelID: "C1", ThreadTS: "100.1", Expected: n,
		Status: switchboard.StatusRunning, Params: switchboard.Params{Title: fmt.Sprintf("Deactivate %d SIM cards", n)}}
	for i := range n {
		op.Targets = append(op.Targets, switchboard.Number(fmt.Sprintf("3247100%04d", i)))
	}
	if err := s.CreateOperation(ctx, op, time.Hour); err != nil {
		t.Fatal(err)
	}
	return op
}

// record stores result i of op the way the callback receiver does, queueing
// its posts; the store marks op done with its last result.
func record(t *testing.T, s *state.Store, op switchboard.Operation, i int, ok bool) {
	t.Helper()
	r := switchboard.Result{Target: op.Targets[i].String(), OK: ok, Detail: fmt.Sprintf("%s ok=%t", op.Targets[i], ok)}
	if _, err := s.RecordResult(context.Background(), op.ID, r, render.ResultPosts(op, r, render.PostRules{})); err != nil {
		t.Fatal(err)
	}
}

func TestDelivererBulkOperationCoalescesProgress(t *testing.T) {
	const n = 1000
	tests := []struct {
		name       string
		queueFirst bool // all results are queued before the deliverer starts
		maxUpdates int
	}{
		{"backlog", true, 2},
		{"burst while delivering", false, n / 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			sl := &fakeSlack{}
			op := bulkOperation(t, s, n)
			fail := func(i int) bool { return i%100 == 7 } // 10 failures
			d := newDeliverer(s, sl, "a")
			d.PaceInterval = 50 * time.Millisecond
			if !tt.queueFirst {
				run(t, d)
			}
			for i := range n {
				record(t, s, op, i, !fail(i))
			}
			if tt.queueFirst {
				run(t, d)
			}
			waitUntil(t, "the summary", func() bool {
				ps := sl.calls("post")
				return len(ps) > 0 && strings.Contains(ps[len(ps)-1].msg.Text, "Finished")
			})
			waitUntil(t, "an empty queue", func() bool { return queueDepth(t, s) == 0 })

			var want []string
			for i := range n {
				if fail(i) {
					want = append(want, fmt.Sprintf("%s ok=false", op.Targets[i]))
				}
			}
			want = append(want, ":warning: Finished: Deactivate 1000 SIM cards — 990 succeeded, 10 failed (see the replies above).")
			if got := texts(sl.calls("post")); !slices.Equal(got, want) {
				t.Errorf("thread replies:\n got %q\nwant %q", got, want)
			}
			updates := sl.calls("update")
			t.Logf("%d results: %d chat.update calls, %d thread replies", n, len(updates), len(sl.calls("post")))
			if len(updates) == 0 || len(updates) > tt.maxUpdates {
				t.Errorf("chat.update calls for %d results: got %d, want 1 to %d", n, len(updates), tt.maxUpdates)
			}
			if last := updates[len(updates)-1].msg.Text; !strings.Contains(last, "990 succeeded, 10 failed") {
				t.Errorf("last parent render %q, want the final counts", last)
			}
		})
	}
}

func TestDelivererNeverSendsAnOlderParent(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	sl := &fakeSlack{}
	op := bulkOperation(t, s, 3)
	record(t, s, op, 0, true)
	// Another replica already sent the parent with two results.
	if ok, err := s.ClaimRender(ctx, op.ID, renderVersion(op, switchboard.Progress{Done: 2}), time.Minute); err != nil || !ok {
		t.Fatalf("ClaimRender: %v, %v", ok, err)
	}
	d := newDeliverer(s, sl, "a")
	run(t, d)
	waitUntil(t, "an empty queue", func() bool { return queueDepth(t, s) == 0 })
	if got := sl.calls("update"); len(got) != 0 {
		t.Errorf("got updates %q with one result after a render of two; want none", texts(got))
	}
}

func TestDelivererRetriesAFailedParentUpdate(t *testing.T) {
	s := newStore(t)
	var failed atomic.Bool
	sl := &fakeSlack{answer: func(_ context.Context, c slackCall) error {
		if c.method == "update" && failed.CompareAndSwap(false, true) {
			return slack.StatusCodeError{Code: http.StatusServiceUnavailable, Status: "503"}
		}
		return nil
	}}
	op := bulkOperation(t, s, 1)
	run(t, newDeliverer(s, sl, "a"))
	record(t, s, op, 0, true)
	waitUntil(t, "an empty queue", func() bool { return queueDepth(t, s) == 0 })
	updates := sl.calls("update")
	if len(updates) != 1 || !strings.Contains(updates[0].msg.Text, "all 1 done") {
		t.Errorf("got updates %q, want one showing 'all 1 done' after the failed attempt", texts(updates))
	}
}

func TestDelivererShutdownGrace(t *testing.T) {
	tests := []struct {
		name      string
		slackTook time.Duration
		wantAcked bool
	}{
		{"a call that ends within the grace is acknowledged", 100 * time.Millisecond, true},
		{"a call that outlasts the grace is left for another replica", 5 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			started := make(chan struct{}, 1)
			sl := &fakeSlack{answer: func(ctx context.Context, _ slackCall) error {
				started <- struct{}{}
				select {
				case <-time.After(tt.slackTook):
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}}
			d := newDeliverer(s, sl, "a")
			d.ShutdownGrace = 500 * time.Millisecond
			stop := run(t, d)
			enqueue(t, s, posts("C1", 1)...)
			<-started
			stop()
			if got := queueDepth(t, s) == 0; got != tt.wantAcked {
				t.Errorf("acknowledged: got %v, want %v (posts accepted: %d)", got, tt.wantAcked, len(sl.calls("post")))
			}
		})
	}
}

func TestDelivererAcknowledgesOnceRedisIsBack(t *testing.T) {
	srv := redistest.StartServer(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	s := state.New(rdb, "ack:")
	ctx := context.Background()

	release := make(chan struct{})
	sl := &fakeSlack{answer: func(context.Context, slackCall) error { <-release; return nil }}
	run(t, newDeliverer(s, sl, "a"))
	enqueue(t, s, posts("C1", 1)...)
	waitUntil(t, "the Slack call", func() bool { return sl.attempted() == 1 })

	// Redis goes away (keeping its data, as a server with persistence
	// would) while Slack accepts the post.
	_ = rdb.ShutdownSave(ctx).Err() // the connection closes: no answer
	srv.Stop()
	close(release)
	waitUntil(t, "the accepted post", func() bool { return len(sl.calls("post")) == 1 })
	srv.Start()

	waitUntil(t, "the acknowledgement", func() bool {
		n, err := s.QueueDepth(ctx)
		return err == nil && n == 0
	})
	if got := sl.attempted(); got != 1 {
		t.Errorf("Slack calls: got %d, want 1 (the post is not sent again)", got)
	}
}

// TestDelivererParentNeverRunsAheadOfItsThread records both results of a
// two-card change before the deliverer starts, so that the one waiting
// progress entry sits between the two replies: the parent must not say
// "all 2 done" before the second reply is posted.
func TestDelivererParentNeverRunsAheadOfItsThread(t *testing.T) {
	s := newStore(t)
	sl := &fakeSlack{}
	op := bulkOperation(t, s, 2)
	record(t, s, op, 0, true)
	record(t, s, op, 1, true)
	run(t, newDeliverer(s, sl, "a"))
	waitUntil(t, "an empty queue", func() bool { return queueDepth(t, s) == 0 })

	sl.mu.Lock()
	calls := slices.Clone(sl.accepted)
	sl.mu.Unlock()
	replies := 0
	var seq []string
	for _, c := range calls {
		seq = append(seq, c.method+": "+c.msg.Text)
		switch {
		case c.method == "post" && strings.Contains(c.msg.Text, "ok=true"):
			replies++
		case c.method == "update" && strings.Contains(c.msg.Text, "all 2 done") && replies < 2:
			t.Errorf("the parent said all 2 done when %d of 2 replies were posted", replies)
		}
	}
	if replies != 2 || !strings.Contains(strings.Join(seq, "\n"), "all 2 done") {
		t.Errorf("want both replies and a parent saying all 2 done; calls made:\n%s", strings.Join(seq, "\n"))
	}
}
