package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/enco/sandbox"
	"github.com/switchboard-bot/switchboard/internal/redistest"
)

// callbackGate stands between the EnCo sandbox and the bot: it holds each
// callback until the test lets it through, then forwards it and records the
// bot's answer.
type callbackGate struct {
	srv     *httptest.Server
	target  *url.URL
	permits chan struct{}
	open    chan struct{}

	mu      sync.Mutex
	answers []gateAnswer
	changed chan struct{}
}

// gateAnswer is the bot's answer to one delivery attempt of a callback.
type gateAnswer struct {
	body   string
	status int
}

func newCallbackGate(t *testing.T) *callbackGate {
	g := &callbackGate{permits: make(chan struct{}, 100), open: make(chan struct{}), changed: make(chan struct{})}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(g.target) },
		ModifyResponse: func(resp *http.Response) error {
			g.record(resp.Request.Header.Get("X-Gate-Body"), resp.StatusCode)
			return nil
		},
	}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-g.permits:
		case <-g.open:
		case <-r.Context().Done():
			return
		}
		// Name the callback on the forwarded request, to record its answer under it.
		body, err := readAll(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Header.Set("X-Gate-Body", body)
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		g.openAll()
		g.srv.Close()
	})
	return g
}

// readAll reads a request's body and puts it back for the proxy.
func readAll(r *http.Request) (string, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return "", err
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return string(b), nil
}

func (g *callbackGate) allow(n int) {
	for range n {
		g.permits <- struct{}{}
	}
}

// openAll lets every callback through from now on.
func (g *callbackGate) openAll() {
	select {
	case <-g.open:
	default:
		close(g.open)
	}
}

func (g *callbackGate) record(body string, status int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.answers = append(g.answers, gateAnswer{body, status})
	close(g.changed)
	g.changed = make(chan struct{})
}

func (g *callbackGate) seen() []gateAnswer {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]gateAnswer(nil), g.answers...)
}

// TestSentinelFailoverMidOperation runs the bot on a Sentinel-managed
// primary (REDIS_URL in go-redis's failover form), kills the primary while
// an operation is half answered and a Slack post is under way, and checks
// that nothing is lost or posted twice: the callbacks that hit the gap are
// refused with 503 and accepted on the sandbox's retry, the queued replies
// are delivered once the replica is promoted, and the bot takes new
// commands without a restart.
func TestSentinelFailoverMidOperation(t *testing.T) {
	t.Parallel()
	group := redistest.StartSentinelGroup(t)
	c := newCluster(t)
	// EnCo retries a callback answered 5xx; give it the patience to outlast a failover.
	c.enco = sandbox.New(t, sandbox.WithCallbackRetries(10, 100*time.Millisecond))
	c.cfg.EncoBaseURL = c.enco.URL
	c.cfg.RedisURL = group.URL()
	gate := newCallbackGate(t)
	c.cfg.PublicURL = gate.srv.URL
	r := c.start("a")
	gate.target, _ = url.Parse("http://" + r.cfg.HTTPAddr)
	if !strings.Contains(c.logs.String(), "Sentinel-managed primary") {
		t.Fatalf("the bot did not read REDIS_URL as a Sentinel URL; logs:\n%s", c.logs)
	}

	// Five SIM cards; EnCo answers two before the primary dies, and the
	// reply to the first of them hangs in Slack meanwhile.
	cards := []int{1, 2, 5, 8, 10}
	parent := c.confirmed(opsUser, opsChan, simCommand("deactivate", cards...))
	c.slack.Hold("chat.postMessage", 1)
	gate.allow(2)
	c.waitFor("two callbacks answered", func() bool { return len(gate.seen()) == 2 })
	if a := gate.seen(); !accepted(a[0].status) || !accepted(a[1].status) {
		t.Fatalf("callbacks before the failover answered %d and %d, want 2xx", a[0].status, a[1].status)
	}
	c.waitFor("a reply to hang in Slack", func() bool { return c.slack.Holding() == 1 })
	// One request per card: every card's has gone before the primary dies.
	c.waitFor("every card's request sent", func() bool { return len(c.encoCalls("/m2m/1.0.0/requests/deactivation")) == len(cards) })

	// The primary dies, and for a while the sentinel has no replica it can
	// promote (a failover that takes longer than a callback's patience).
	group.KillPrimary()
	group.PauseReplica()
	killed := len(gate.seen())
	gate.openAll()
	c.slack.Release()
	c.waitFor("a callback answered during the gap", func() bool { return len(gate.seen()) > killed })
	group.ResumeReplica()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := group.WaitPromoted(ctx); err != nil {
		t.Fatalf("%v\nlogs:\n%s", err, c.logs)
	}
	c.wantThread(r, opsChan, parent.TS, wantResults(cards, nil, "all 5 succeeded"))

	after := gate.seen()[killed:]
	if len(after) == 0 || after[0].status != http.StatusServiceUnavailable {
		t.Errorf("first callback answer after the primary died: %v, want 503 (so that EnCo retries)", after)
	}
	for _, a := range after {
		if !accepted(a.status) && a.status != http.StatusServiceUnavailable {
			t.Errorf("callback answered %d during the failover, want 503 or 2xx", a.status)
		}
	}
	cbs := c.enco.Callbacks()
	if len(cbs) != len(cards) {
		t.Errorf("callbacks finished: got %d, want %d", len(cbs), len(cards))
	}
	for _, cb := range cbs {
		if !cb.Delivered() {
			t.Errorf("callback %s: last answer %d (%s) after %d attempts, want 2xx", cb.Body, cb.StatusCode, cb.Err, cb.Attempts)
		}
	}

	// The bot keeps working on the promoted replica, without a restart.
	next := c.confirmed(opsUser, opsChan, simCommand("activate", 4))
	c.wantThread(r, opsChan, next.TS, wantResults([]int{4}, nil, ""))
	if code, _ := get(t, "http://"+r.cfg.HTTPAddr+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz after the failover = %d, want 200", code)
	}
}

// accepted: 200 for a recorded result, 202 for one parked until its
// tracking number is known (the sandbox may call back before it answers).
func accepted(status int) bool { return status == http.StatusOK || status == http.StatusAccepted }
