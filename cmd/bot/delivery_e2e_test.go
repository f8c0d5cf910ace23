package main

// Fault tests for the delivery guarantees: whatever fails between EnCo and
// Slack, each result reaches its thread exactly once. Each test runs the real
// Main (one or several replicas sharing a fake Slack, the EnCo sandbox and
// Redis) and asserts the exact set of thread replies.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/enco/sandbox"
	"github.com/switchboard-bot/switchboard/internal/redistest"
	"github.com/switchboard-bot/switchboard/internal/slacktest"
	"github.com/switchboard-bot/switchboard/notify"
	"github.com/switchboard-bot/switchboard/render"
)

// Delivery settings of the replicas in these tests: a quick pace (production
// posts about once a second per channel) and a short take-over time, so that
// a dead replica's entries move on within the test's patience.
const (
	testPace     = 100 * time.Millisecond
	testMinIdle  = 1500 * time.Millisecond
	testGrace    = 300 * time.Millisecond
	testBlock    = 100 * time.Millisecond
	fakeSlackGap = 30 * time.Millisecond // the fake's own pace check: far under testPace, so that a call late by up to 70 ms passes, yet a replica that does not pace (calls a few ms apart) is caught
)

// cluster is any number of bot replicas sharing one fake Slack, one EnCo
// sandbox and one set of Redis keys, the way replicas behind one callback
// URL share production. Its harness carries the shared fakes and the helpers
// (command, click, waitFor); the logs of every replica go to harness.logs,
// each line prefixed with the replica's name.
type cluster struct {
	*harness
}

// replica is one running Main of a cluster.
type replica struct {
	t    *testing.T
	name string
	cfg  Config
	main *Main
	stop func(t *testing.T)
}

func newCluster(t *testing.T, opts ...harnessOption) *cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	_, prefix := redistest.New(t)
	h := newFakes(t, ctx, prefix)
	h.cfg.SlackPostInterval = testPace
	withPolicy(testPolicy)(h)
	for _, o := range opts {
		o(h)
	}
	return &cluster{harness: h}
}

// start opens and runs a replica on its own HTTP port, waits until its
// socket is connected and it has pointed EnCo's M2M callbacks at itself.
func (c *cluster) start(name string) *replica {
	t := c.t
	t.Helper()
	cfg := c.cfg
	ln := listenLoopback(t)
	cfg.HTTPAddr = ln.Addr().String()
	if cfg.PublicURL == "" { // else a proxy in front of the replica
		cfg.PublicURL = "http://" + cfg.HTTPAddr
	}
	r := &replica{t: t, name: name, cfg: cfg}
	r.main = &Main{Config: cfg, Listener: ln, LogOutput: prefixWriter{name + ": ", c.logs}, KeyPrefix: c.prefix, Commands: c.adjustCommands}
	if err := r.main.Open(c.ctx); err != nil {
		r.main.Close()
		t.Fatalf("replica %s: Open: %v", name, err)
	}
	d := r.main.deliverer
	d.MinIdle, d.ShutdownGrace, d.Block = testMinIdle, testGrace, testBlock
	for _, f := range c.beforeRun {
		f(r.main)
	}

	connected := c.slack.Connections()
	r.stop = runMain(c.ctx, r.main)
	t.Cleanup(r.kill)
	if err := c.slack.WaitFor(c.ctx, func() bool { return c.slack.Connections() > connected }); err != nil {
		t.Fatalf("replica %s did not connect to Slack: %v\nlogs:\n%s", name, err, c.logs)
	}
	c.waitFor("replica "+name+" to configure the M2M callback URL", func() bool {
		for _, req := range c.enco.Requests() {
			if req.Path == "/m2m/1.0.0/configure/callback" && bytes.Contains(req.Body, []byte(cfg.PublicURL)) {
				return true
			}
		}
		return false
	})
	return r
}

// kill stops the replica the way SIGTERM does and releases it; entries it
// was delivering are left to the others.
func (r *replica) kill() { r.stop(r.t) }

// queueDepth is the number of Slack messages waiting in Redis.
func (r *replica) queueDepth() int64 {
	n, err := r.main.Store.QueueDepth(context.Background())
	if err != nil {
		return -1
	}
	return n
}

// prefixWriter names the replica on each log line.
type prefixWriter struct {
	prefix string
	w      io.Writer
}

func (p prefixWriter) Write(b []byte) (int, error) {
	if _, err := p.w.Write(append([]byte(p.prefix), b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Demo SIM card i of the sandbox (see enco/sandbox): its MSISDN and ICCID.
func demoMSISDN(i int) string { return fmt.Sprintf("32471%06d", i) }

func demoICCID(i int) string {
	if i <= 6 {
		return fmt.Sprintf("893201%013d", i)
	}
	return fmt.Sprintf("8932010%013d", i)
}

// simCommand is a /sim command on demo cards.
func simCommand(action string, cards ...int) string {
	ids := make([]string, len(cards))
	for i, c := range cards {
		ids[i] = demoMSISDN(c)
	}
	return "/sim " + action + " " + strings.Join(ids, ", ")
}

var (
	// A one-card result reads "+32 471 … (ICCID …) — activation done".
	resultReply  = regexp.MustCompile(`ICCID (\d+)\)? — \w+ (done|failed)`)
	summaryReply = regexp.MustCompile(`Finished: .* — (.*?)\.? ?(\(see the replies above\)\.)?$`)
)

// replyKey reduces a thread reply to what it says: "<ICCID> done",
// "<ICCID> failed" or "summary: <counts>"; anything else stays whole.
func replyKey(text string) string {
	if m := resultReply.FindStringSubmatch(text); m != nil {
		return m[1] + " " + m[2]
	}
	if m := summaryReply.FindStringSubmatch(text); m != nil {
		return "summary: " + strings.TrimSuffix(m[1], ".")
	}
	return text
}

// wantResults builds the expected reply keys: done cards, failed cards, summary.
func wantResults(done, failed []int, summary string) []string {
	var want []string
	for _, i := range done {
		want = append(want, demoICCID(i)+" done")
	}
	for _, i := range failed {
		want = append(want, demoICCID(i)+" failed")
	}
	if summary == "" { // one target: no summary
		return want
	}
	return append(want, "summary: "+summary)
}

// threadKeys returns the reply keys of a thread, sorted.
func (h *harness) threadKeys(channel, ts string) []string {
	var keys []string
	for _, m := range h.slack.Thread(channel, ts) {
		keys = append(keys, replyKey(m.Text))
	}
	slices.Sort(keys)
	return keys
}

// wantThread waits until every queued message has been delivered and the
// thread holds as many replies as want, then checks that they are exactly
// want: nothing lost, nothing twice.
func (h *harness) wantThread(r *replica, channel, ts string, want []string) {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("%d replies in the thread", len(want)), func() bool {
		return len(h.slack.Thread(channel, ts)) >= len(want)
	})
	h.waitFor("an empty delivery queue", func() bool { return r.queueDepth() == 0 })
	want = slices.Clone(want)
	slices.Sort(want)
	if got := h.threadKeys(channel, ts); !slices.Equal(got, want) {
		h.t.Errorf("thread replies:\n got %q\nwant %q", got, want)
	}
}

// confirmed runs a change command and clicks its confirm button, and returns
// the parent message the bot posts for it.
func (h *harness) confirmed(user, channel, text string) slacktest.Message {
	h.t.Helper()
	before := len(h.parents(channel))
	_, reply := h.command(user, channel, text)
	h.click(user, channel, "confirm", reply.button(h.t, "confirm"))
	h.waitFor("the parent message of "+text, func() bool { return len(h.parents(channel)) > before })
	return h.parents(channel)[before]
}

// droppedCallbacks waits until the sandbox has held back n callbacks (see
// SetDropCallbacks) and returns them.
func (h *harness) droppedCallbacks(n int) []sandbox.Callback {
	h.t.Helper()
	var dropped []sandbox.Callback
	h.waitFor(fmt.Sprintf("%d callbacks held back", n), func() bool {
		dropped = dropped[:0]
		for _, cb := range h.enco.Callbacks() {
			if cb.Dropped {
				dropped = append(dropped, cb)
			}
		}
		return len(dropped) >= n
	})
	// Sent now, a callback could beat the bot storing its tracking number
	// or session id, and be parked (202) rather than recorded.
	for _, cb := range dropped {
		if cb.Kind != "fmu" {
			h.tracked("the tracking number or session id stored", callbackToken(cb))
		}
	}
	return dropped
}

// trackingNumber is the tracking number an M2M callback names.
// resend posts callbacks the sandbox held back to a replica, as EnCo would
// when it delivers them late or retries, and returns the status of each.
func resend(t *testing.T, baseURL string, cbs []sandbox.Callback) []int {
	t.Helper()
	statuses := make([]int, len(cbs))
	for i, cb := range cbs {
		u, err := url.Parse(cb.URL)
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest(http.MethodPost, baseURL+u.Path, bytes.NewReader(cb.Body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = cb.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("resend callback: %v", err)
		}
		resp.Body.Close()
		statuses[i] = resp.StatusCode
	}
	return statuses
}

func allStatus(statuses []int, want int) bool {
	for _, s := range statuses {
		if s != want {
			return false
		}
	}
	return len(statuses) > 0
}

// channelCalls returns the chat.postMessage and chat.update calls in channel.
func (h *harness) channelCalls(channel string) []slacktest.Call {
	var out []slacktest.Call
	for _, c := range h.slack.Calls("") {
		if (c.Method == "chat.postMessage" || c.Method == "chat.update") && c.Form.Get("channel") == channel {
			out = append(out, c)
		}
	}
	return out
}

// rateLimited returns, for each 429 answer to a chat.postMessage or
// chat.update in the channels, how long after the channel's previous call it
// came.
func (h *harness) rateLimited(channels ...string) []time.Duration {
	var out []time.Duration
	for _, ch := range channels {
		calls := h.channelCalls(ch)
		for i, c := range calls {
			if c.Status == http.StatusTooManyRequests && i > 0 {
				out = append(out, c.At.Sub(calls[i-1].At))
			}
		}
	}
	return out
}

func TestDeliverySlackFailingThenRecovering(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	r := c.start("a")
	c.slack.PacePerChannel(fakeSlackGap)
	c.enco.SetDropCallbacks(true)
	parent := c.confirmed(opsUser, opsChan, simCommand("deactivate", 1, 2, 5, 3))
	dropped := c.droppedCallbacks(4)

	// Slack answers 429 with Retry-After, then 5xx, then recovers.
	const retryAfter = time.Second
	c.slack.RateLimit("chat.postMessage", 2, retryAfter)
	c.slack.FailNext("chat.postMessage", 2, "http500")
	c.slack.RateLimit("chat.update", 1, retryAfter)
	c.slack.FailNext("chat.update", 1, "internal_error")
	if got := resend(t, r.cfg.PublicURL, dropped); !allStatus(got, http.StatusOK) {
		t.Fatalf("callback statuses %v, want 200 each: results are stored before Slack is tried", got)
	}

	c.wantThread(r, opsChan, parent.TS, wantResults([]int{1, 2, 5}, []int{3}, "3 succeeded, 1 failed"))
	// The parent's update has its own forced 429 and error to get past,
	// and may still be on its way when the thread is complete.
	c.waitFor("the parent to show the final counts", func() bool {
		p, _ := c.slack.Message(opsChan, parent.TS)
		return strings.Contains(p.Text, "3 succeeded, 1 failed")
	})
	// Only the forced answers were 429s: the bot kept Slack's pace itself.
	if got := c.rateLimited(opsChan); len(got) != 3 {
		t.Errorf("429 answers: got %d (%v after the previous call), want the 3 forced ones (none for going faster than the channel's pace)", len(got), got)
	}
	// After each 429, nothing was sent to the channel before Retry-After passed.
	calls := c.channelCalls(opsChan)
	for i, call := range calls[:len(calls)-1] {
		if call.Status != http.StatusTooManyRequests {
			continue
		}
		if gap := calls[i+1].At.Sub(call.At); gap < retryAfter-50*time.Millisecond {
			t.Errorf("%s came %v after a 429 with Retry-After %v", calls[i+1].Method, gap, retryAfter)
		}
	}
}

func TestDeliveryReplicaKilledMidDelivery(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	a := c.start("a")
	c.enco.SetDropCallbacks(true)
	parent := c.confirmed(opsUser, opsChan, simCommand("deactivate", 1, 2, 5))
	dropped := c.droppedCallbacks(3)

	// Slack hangs on the first reply replica a sends; a dies while waiting.
	c.slack.Hold("chat.postMessage", 1)
	if got := resend(t, a.cfg.PublicURL, dropped); !allStatus(got, http.StatusOK) {
		t.Fatalf("callback statuses %v, want 200 each", got)
	}
	c.waitFor("replica a's reply to hang", func() bool { return c.slack.Holding() == 1 })
	b := c.start("b")
	a.kill()

	c.wantThread(b, opsChan, parent.TS, wantResults([]int{1, 2, 5}, nil, "all 3 succeeded"))
	var abandoned int
	for _, call := range c.slack.Calls("chat.postMessage") {
		if call.Status == 0 {
			abandoned++
		}
	}
	if abandoned != 1 {
		t.Errorf("abandoned chat.postMessage calls: got %d, want 1 (replica a's, never posted)", abandoned)
	}
}

// sprayer is a round-robin reverse proxy in front of several replicas: one
// callback URL for EnCo, each callback going to the next replica.
type sprayer struct {
	mu      sync.Mutex
	targets []*url.URL
	next    int
	hits    map[string]int // callbacks per replica
	srv     *httptest.Server
}

func newSprayer(t *testing.T, replicas ...*replica) *sprayer {
	t.Helper()
	s := &sprayer{hits: map[string]int{}}
	names := map[string]string{}
	for _, r := range replicas {
		u, err := url.Parse(r.cfg.PublicURL)
		if err != nil {
			t.Fatal(err)
		}
		s.targets = append(s.targets, u)
		names[u.Host] = r.name
	}
	s.srv = httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		s.mu.Lock()
		u := s.targets[s.next%len(s.targets)]
		s.next++
		s.hits[names[u.Host]]++
		s.mu.Unlock()
		pr.SetURL(u)
	}})
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sprayer) hitsOf(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[name]
}

func TestDeliveryThreeReplicasSharingRedis(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	replicas := []*replica{c.start("a"), c.start("b"), c.start("c")}
	spray := newSprayer(t, replicas...)
	ec := &enco.Client{BaseURL: c.enco.URL, HTTPClient: enco.NewHTTPClient(enco.StaticTokenSource(c.enco.PermanentToken), c.enco.HTTPClient().Transport), APIKey: c.enco.APIKey}
	err := ec.ConfigureM2MCallback(c.ctx, spray.srv.URL+notify.PathM2M,
		map[string]string{"Authorization": "Bearer " + c.cfg.CallbackSecret})
	if err != nil {
		t.Fatal(err)
	}
	c.slack.PacePerChannel(fakeSlackGap)

	// Two operations in two channels; commands, clicks and callbacks are
	// spread over the replicas.
	p1 := c.confirmed(opsUser, opsChan, simCommand("deactivate", 1, 2, 5, 3))
	p2 := c.confirmed(opsUser2, otherChan, simCommand("activate", 4, 7, 11, 9))

	c.wantThread(replicas[0], opsChan, p1.TS, wantResults([]int{1, 2, 5}, []int{3}, "3 succeeded, 1 failed"))
	c.wantThread(replicas[0], otherChan, p2.TS, wantResults([]int{4, 7, 11}, []int{9}, "3 succeeded, 1 failed"))
	for _, r := range replicas {
		if got := spray.hitsOf(r.name); got < 2 {
			t.Errorf("replica %s received %d callbacks, want at least 2 of the 8", r.name, got)
		}
	}
	if got := c.rateLimited(opsChan, otherChan); len(got) != 0 {
		t.Errorf("429 answers: got %d, %v after the previous call; want none: the replicas share each channel's pace", len(got), got)
	}
	for _, cb := range c.enco.Callbacks() {
		if !cb.Delivered() {
			t.Errorf("callback answered %d (%s), want 2xx", cb.StatusCode, cb.Err)
		}
	}
}

func TestDeliveryCallbacksBeforeResponses(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	r := c.start("a")
	c.enco.SetCallbackBeforeResponse(true)
	parent := c.confirmed(opsUser, opsChan, simCommand("deactivate", 1, 2, 6))

	c.wantThread(r, opsChan, parent.TS, wantResults([]int{1, 2}, []int{6}, "2 succeeded, 1 failed"))
	cbs := c.enco.Callbacks()
	if len(cbs) != 3 {
		t.Fatalf("callbacks sent: got %d, want 3", len(cbs))
	}
	for _, cb := range cbs {
		if cb.StatusCode != http.StatusAccepted {
			t.Errorf("callback before its response answered %d, want 202 (kept until the tracking number is known)", cb.StatusCode)
		}
	}
}

func TestDeliveryEverythingTwice(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	r := c.start("a")
	c.enco.SetDuplicateCallbacks(true)

	// Slack delivers the command twice: the copy gets the same answer, the
	// same button, and changes nothing.
	cmdAck, reply := c.command(opsUser, opsChan, simCommand("deactivate", 1, 2))
	// (Slack waits a few seconds for an ack before it repeats an envelope;
	// the bot keeps its answer right after acking.)
	c.waitFor("the answer to be kept", func() bool {
		_, ok, err := r.main.Store.SavedAck(c.ctx, cmdAck.EnvelopeID)
		return err == nil && ok
	})
	again, err := c.slack.Redeliver(c.ctx, cmdAck.EnvelopeID)
	if err != nil {
		t.Fatal(err)
	}
	var replyAgain ackReply
	if err := json.Unmarshal(again.Payload, &replyAgain); err != nil {
		t.Fatalf("redelivered command's ack %s: %v", again.Payload, err)
	}
	id := reply.button(t, "confirm")
	if replyAgain.Text != reply.Text || replyAgain.button(t, "confirm") != id {
		t.Errorf("redelivered command answered %q, want the first answer %q with the same button", replyAgain.Text, reply.Text)
	}
	// A double click, and Slack delivering the first click twice.
	click := c.click(opsUser, opsChan, "confirm", id)
	if _, err := c.slack.Redeliver(c.ctx, click.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	c.click(opsUser, opsChan, "confirm", id)
	c.waitFor("the parent message", func() bool { return len(c.parents(opsChan)) == 1 })
	parent := c.parents(opsChan)[0]

	c.wantThread(r, opsChan, parent.TS, wantResults([]int{1, 2}, nil, "all 2 succeeded"))
	if got := len(c.encoCalls("/m2m/1.0.0/requests/deactivation")); got != 2 {
		t.Errorf("deactivation requests: got %d, want 2 (one per card)", got)
	}
	if got := len(c.parents(opsChan)); got != 1 {
		t.Errorf("parent messages: got %d, want 1", got)
	}
	cbs := c.enco.Callbacks()
	if len(cbs) != 4 {
		t.Errorf("callbacks sent: got %d, want 4 (every result twice)", len(cbs))
	}
	for _, cb := range cbs {
		if !cb.Delivered() {
			t.Errorf("callback answered %d, want 2xx (a duplicate is accepted and ignored)", cb.StatusCode)
		}
	}
}

// shutdownSaving stops a private Redis the way a server with persistence
// stops: it writes its data to disk first, and loads it when it starts again.
func shutdownSaving(t *testing.T, srv *redistest.Server) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	_ = rdb.ShutdownSave(context.Background()).Err() // the server closes the connection instead of answering
	srv.Stop()
}

func TestDeliveryRedisStoppedAndRestarted(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	c := newCluster(t)
	c.useRedis("redis://" + srv.Addr() + "/0")
	r := c.start("a")

	// One operation waits for its callbacks, another for its confirmation.
	c.enco.SetDropCallbacks(true)
	p1 := c.confirmed(opsUser, opsChan, simCommand("deactivate", 1, 2))
	dropped := c.droppedCallbacks(2)
	_, reply := c.command(opsUser2, opsChan, simCommand("activate", 4))
	pending := reply.button(t, "confirm")
	requests := c.m2mRequests()

	// While Redis is down: no command is carried out, callbacks are refused
	// with 503 so that EnCo retries them.
	shutdownSaving(t, srv)
	if code, _ := get(t, r.cfg.PublicURL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz while Redis is down = %d, want 503", code)
	}
	_, down := c.command(opsUser, opsChan, simCommand("deactivate", 5))
	if !strings.Contains(down.Text, "try again") {
		t.Errorf("command answer while Redis is down %q, want a clear 'try again'", down.Text)
	}
	c.click(opsUser2, opsChan, "confirm", pending)
	c.waitFor("the click's 'try again'", func() bool { return c.sawEphemeral(opsChan, opsUser2, "try again") })
	if got := resend(t, r.cfg.PublicURL, dropped); !allStatus(got, http.StatusServiceUnavailable) {
		t.Errorf("callback statuses while Redis is down %v, want 503 each", got)
	}
	if got := c.m2mRequests(); got != requests {
		t.Errorf("M2M calls while Redis was down: got %d, want none", got-requests)
	}

	// Redis comes back with its data; the bot reconnects by itself.
	srv.Start()
	c.waitFor("the bot to reach Redis again", func() bool {
		code, _ := get(t, r.cfg.PublicURL+"/readyz")
		return code == http.StatusOK
	})
	if got := resend(t, r.cfg.PublicURL, dropped); !allStatus(got, http.StatusOK) {
		t.Fatalf("callback statuses after the restart %v, want 200 each", got)
	}
	c.wantThread(r, opsChan, p1.TS, wantResults([]int{1, 2}, nil, "all 2 succeeded"))

	// The confirmation saved before the outage still works, once.
	c.enco.SetDropCallbacks(false)
	before := len(c.parents(opsChan))
	c.click(opsUser2, opsChan, "confirm", pending)
	c.waitFor("the second operation's parent", func() bool { return len(c.parents(opsChan)) > before })
	c.wantThread(r, opsChan, c.parents(opsChan)[before].TS, wantResults([]int{4}, nil, ""))
}

func TestDeliveryRedisRestartedEmpty(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	c := newCluster(t)
	c.useRedis("redis://" + srv.Addr() + "/0")
	r := c.start("a")
	c.enco.SetDropCallbacks(true)
	p1 := c.confirmed(opsUser, opsChan, simCommand("deactivate", 1))
	dropped := c.droppedCallbacks(1)

	srv.Stop() // no persistence: everything in Redis is lost
	srv.Start()
	c.waitFor("the bot to reach Redis again", func() bool {
		code, _ := get(t, r.cfg.PublicURL+"/readyz")
		return code == http.StatusOK
	})
	// Not guaranteed: the operation in flight is forgotten, and its callback
	// is refused rather than posted somewhere wrong.
	if got := resend(t, r.cfg.PublicURL, dropped); !allStatus(got, http.StatusForbidden) {
		t.Errorf("callback of a forgotten operation: statuses %v, want 403", got)
	}
	if got := c.slack.Thread(opsChan, p1.TS); len(got) != 0 {
		t.Errorf("thread of the forgotten operation = %q, want nothing", texts(got))
	}
	// Guaranteed: the bot recovers by itself and new work flows.
	c.enco.SetDropCallbacks(false)
	p2 := c.confirmed(opsUser, opsChan, simCommand("deactivate", 2))
	c.wantThread(r, opsChan, p2.TS, wantResults([]int{2}, nil, ""))
}

func TestDeliveryAfterRestart(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	a := c.start("a")
	c.enco.SetDropCallbacks(true)
	parent := c.confirmed(opsUser, opsChan, simCommand("deactivate", 1, 2, 3))
	dropped := c.droppedCallbacks(3)

	// The bot stops between the request and its callbacks; a new one starts
	// (another process: nothing is kept in memory) and receives them.
	a.kill()
	b := c.start("b")
	if got := resend(t, b.cfg.PublicURL, dropped); !allStatus(got, http.StatusOK) {
		t.Fatalf("callback statuses %v, want 200 each", got)
	}
	c.wantThread(b, opsChan, parent.TS, wantResults([]int{1, 2}, []int{3}, "2 succeeded, 1 failed"))
	if p, _ := c.slack.Message(opsChan, parent.TS); !strings.Contains(p.Text, "2 succeeded, 1 failed") {
		t.Errorf("parent = %q, want the final counts", p.Text)
	}
}

func TestDeliverySocketReconnects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cause func(s *slacktest.Server)
	}{
		{"Slack asks the bot to reconnect", func(s *slacktest.Server) { s.Disconnect("refresh_requested") }},
		{"the network drops the socket", func(s *slacktest.Server) { s.DropConnections() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.waitFor("/healthz to report the socket up", func() bool {
				code, _ := get(t, h.cfg.PublicURL+"/healthz")
				return code == http.StatusOK
			})
			// Slack refuses the next connection for a second, so the bot
			// stays without a socket for a while.
			h.slack.RateLimit("apps.connections.open", 1, time.Second)
			tt.cause(h.slack)
			h.waitFor("/healthz to report the socket down", func() bool {
				code, _ := get(t, h.cfg.PublicURL+"/healthz")
				return code == http.StatusServiceUnavailable
			})
			if err := h.slack.WaitConnected(h.ctx, 1); err != nil {
				t.Fatalf("bot did not reconnect: %v", err)
			}
			h.waitFor("/healthz to report the socket up again", func() bool {
				code, _ := get(t, h.cfg.PublicURL+"/healthz")
				return code == http.StatusOK
			})
			ack, reply := h.command(opsUser, opsChan, "/sim status 0471000001")
			if !strings.Contains(reply.Text, "Looking up") {
				t.Fatalf("command after reconnecting answered %q", reply.Text)
			}
			h.waitFor("the status answer", func() bool { return len(h.slack.ResponseURLPosts(ack.EnvelopeID)) > 0 })
		})
	}
}

// bulkPolicy lets one command name more SIM cards than the default limit.
const bulkPolicy = testPolicy + `limits:
  max_targets: 200
`

func TestDeliveryBulkOperation(t *testing.T) {
	t.Parallel()
	c := newCluster(t, withPolicy(bulkPolicy))
	r := c.start("a")
	// 120 cards, well over the bulk threshold: 3 of them cannot be
	// deactivated.
	const n = 120
	var ids []string
	var failed []string
	for i := range n {
		msisdn, iccid := fmt.Sprintf("32472%06d", i), fmt.Sprintf("8932020000%09d", i)
		state := sandbox.StateActive
		if i%40 == 39 {
			state = sandbox.StateReady
			failed = append(failed, iccid+" failed")
		}
		c.enco.AddSIM(sandbox.SIM{MSISDN: msisdn, ICCID: iccid, IMSI: fmt.Sprintf("20601200%07d", i), State: state})
		ids = append(ids, msisdn)
	}
	parent := c.confirmed(opsUser, opsChan, "/sim deactivate "+strings.Join(ids, ", "))

	// One live parent; replies only for the failures, and the summary,
	// which says once why the results name ICCIDs, not the numbers given.
	c.wantThread(r, opsChan, parent.TS, append(failed, "summary: 117 succeeded, 3 failed (see the replies above). "+strings.TrimSuffix(render.UnnamedNumbers(switchboard.Operation{Targets: []switchboard.Target{switchboard.Number(ids[0])}, Params: switchboard.Params{Batch: 500}}), ".")))
	p, _ := c.slack.Message(opsChan, parent.TS)
	t.Logf("%d results: parent updated %d times", n, p.Updated)
	if !strings.Contains(p.Text, "117 succeeded, 3 failed") {
		t.Errorf("parent = %q, want the final counts", p.Text)
	}
	if p.Updated == 0 || p.Updated > n/10 {
		t.Errorf("parent updates for %d results: got %d, want between 1 and %d", n, p.Updated, n/10)
	}
	if got := len(c.parents(opsChan)); got != 1 {
		t.Errorf("top-level messages: got %d, want 1", got)
	}
}
