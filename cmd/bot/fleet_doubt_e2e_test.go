package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/internal/redistest"
)

// severable is a TCP proxy to Redis for one replica. sever ends every
// connection and refuses new ones: from then on the replica can write
// nothing to the shared state, as if its process had been killed.
type severable struct {
	ln    net.Listener
	to    string
	mu    sync.Mutex
	conns []net.Conn
	cut   bool
}

func newSeverable(t *testing.T, to string) *severable {
	t.Helper()
	p := &severable{ln: listenLoopback(t), to: to}
	go p.serve()
	t.Cleanup(p.sever)
	return p
}

func (p *severable) url() string { return "redis://" + p.ln.Addr().String() + "/0" }

func (p *severable) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.to)
		if err != nil {
			_ = in.Close()
			continue
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			_ = in.Close()
			_ = out.Close()
			return
		}
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(out, in); _ = out.Close() }()
		go func() { _, _ = io.Copy(in, out); _ = in.Close() }()
	}
}

func (p *severable) sever() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return
	}
	p.cut = true
	_ = p.ln.Close()
	for _, c := range p.conns {
		_ = c.Close()
	}
}

// encoGate passes one replica's EnCo calls to the sandbox. When its n-th
// M2M change request has been carried out by EnCo, it calls during
// before the answer goes back to the replica.
func encoGate(t *testing.T, sandboxURL string, n int, during func()) string {
	t.Helper()
	target, err := url.Parse(sandboxURL)
	if err != nil {
		t.Fatal(err)
	}
	var seen atomic.Int64
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		ModifyResponse: func(r *http.Response) error {
			if strings.HasPrefix(r.Request.URL.Path, "/m2m/1.0.0/requests/") && seen.Add(1) == int64(n) {
				during()
			}
			return nil
		},
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestFleetReplicaKilledDuringARequestLeavesItInDoubt: a change of thirty
// numbers goes as three requests of ten. The replica sending it dies
// while its second request is under way: EnCo carried it out, but the
// replica never stored the answer. The other replica takes the change
// over, does not send that request again (it cannot know whether EnCo got
// it), fails its ten cards as in doubt with the command that checks
// them, and sends the third. Every card went to EnCo exactly once.
func TestFleetReplicaKilledDuringARequestLeavesItInDoubt(t *testing.T) {
	t.Parallel()
	c := newCluster(t, withPolicy(fleetPolicy), withMain(func(m *Main) {
		m.sender.Lease, m.sender.Poll = time.Second, 50*time.Millisecond
	}))
	front := newFrontProxy(t)
	c.cfg.PublicURL = front.srv.URL
	c.cfg.EncoM2MBatch = 10
	cards := addFleet(c.enco, 30)

	// Each replica reaches Redis and EnCo through a gate of its own; the
	// replica that sends the change dies during its second request, and
	// EnCo's callbacks go to the other from then on.
	replicas := map[string]*replica{}
	var died atomic.Value
	base := c.cfg
	for _, name := range []string{"a", "b"} {
		redisLink := newSeverable(t, redistest.Addr(t))
		other := map[string]string{"a": "b", "b": "a"}[name]
		c.cfg.RedisURL = redisLink.url()
		c.cfg.EncoBaseURL = encoGate(t, c.enco.URL, 2, func() {
			if died.CompareAndSwap(nil, name) {
				redisLink.sever()
				front.to(replicas[other])
			}
		})
		replicas[name] = c.start(name)
	}
	c.cfg = base
	front.to(replicas["a"])

	modal := c.openBulkForm("/sim deactivate")
	ack, err := c.slack.ViewSubmission(c.ctx, opsUser, modal.ID, bulkValues("deactivate", nil, strings.Join(cards, "\n")))
	if err != nil || submitAnswer(t, ack).ResponseAction != slack.RAUpdate {
		t.Fatalf("preview: %s, %v", ack.Payload, err)
	}
	if _, err := c.slack.ViewSubmission(c.ctx, opsUser, modal.ID, nil); err != nil {
		t.Fatal(err)
	}
	c.waitFor("the parent message", func() bool { return len(c.parents(opsChan)) == 1 })
	parent := c.parents(opsChan)[0]
	var summary string
	c.waitFor("the summary", func() bool {
		for _, m := range c.slack.Thread(opsChan, parent.TS) {
			if strings.Contains(m.Text, "Finished") {
				summary = m.Text
			}
		}
		return summary != ""
	})
	dead, _ := died.Load().(string)
	if dead == "" {
		t.Fatal("no replica sent a second request")
	}

	counts, requests := c.sentDevices("deactivation")
	if requests != 3 || len(counts) != 30 {
		t.Errorf("requests = %d naming %d cards, want 3 naming 30", requests, len(counts))
	}
	for _, card := range cards {
		if counts[card] != 1 {
			t.Errorf("card %s sent %d times, want once", card, counts[card])
		}
	}
	if !strings.Contains(summary, "20 succeeded, 10 failed") {
		t.Errorf("summary = %q, want 20 succeeded, 10 failed", summary)
	}
	var doubts []string
	for _, m := range c.slack.Thread(opsChan, parent.TS) {
		if strings.Contains(m.Text, "in doubt") {
			doubts = append(doubts, m.Text)
		}
	}
	if len(doubts) != 10 {
		t.Errorf("replies naming a card in doubt = %d, want the second request's 10", len(doubts))
	}
	for _, d := range doubts {
		if !strings.Contains(d, "`/sim status ") || strings.Contains(d, "deactivation not sent") {
			t.Errorf("reply %q: want the card in doubt with the command that checks it, and no claim it was not sent", d)
		}
	}
	rows := c.reportRows(opsChan, parent.TS)
	failed := 0
	for _, row := range rows {
		if row[2] != "failed" {
			continue
		}
		failed++
		if row[1] != "msisdn" || !slices.Contains(cards[10:20], row[0]) || !strings.Contains(row[3], "/sim status") {
			t.Errorf("failed row %v, want a number of the second request, with the command that checks it", row)
		}
	}
	if failed != 10 {
		t.Errorf("report: %d failed rows, want 10", failed)
	}
	inDoubt, err := c.store.RecentAudit(c.ctx, 1000, func(e switchboard.AuditEntry) bool { return e.Decision == "request in doubt" })
	if err != nil || len(inDoubt) != 1 {
		t.Errorf("audit entries of a request in doubt: %d (%v), want 1", len(inDoubt), err)
	}
	taken := false
	for _, line := range strings.Split(c.logs.String(), "\n") {
		other := map[string]string{"a": "b", "b": "a"}[dead]
		if strings.HasPrefix(line, other+": ") && strings.Contains(line, "carrying on a change another replica left") {
			taken = true
		}
	}
	if !taken {
		t.Errorf("the replica alive did not take the change over; logs:\n%s", c.logs)
	}
}
