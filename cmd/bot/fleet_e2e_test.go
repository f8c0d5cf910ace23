package main

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/enco/encotest"
)

// fleetCard is card i of the cards a fleet test adds to the sandbox.
func fleetCard(i int) (msisdn, iccid string) {
	return fmt.Sprintf("32471%06d", 500000+i), fmt.Sprintf("893201099%011d", i)
}

// addFleet adds n active cards to the sandbox and returns their MSISDNs.
func addFleet(sb *encotest.Sandbox, n int) []string {
	out := make([]string, n)
	for i := range n {
		msisdn, iccid := fleetCard(i)
		sb.AddSIM(encotest.SIM{MSISDN: msisdn, ICCID: iccid, IMSI: fmt.Sprintf("2060199%08d", i), State: encotest.StateActive})
		out[i] = msisdn
	}
	return out
}

// sentDevices counts how often each device went to EnCo in requests whose
// path ends with action.
func (h *harness) sentDevices(action string) (map[string]int, int) {
	h.t.Helper()
	counts := map[string]int{}
	reqs := h.encoCalls("/m2m/1.0.0/requests/" + action)
	for _, r := range reqs {
		var devices []struct{ Identifier string }
		if err := json.Unmarshal(r.Body, &devices); err != nil {
			h.t.Fatalf("request body %s: %v", r.Body, err)
		}
		for _, d := range devices {
			counts[d.Identifier]++
		}
	}
	return counts, len(reqs)
}

// frontProxy stands for the load balancer in front of the replicas: EnCo
// calls one public URL, and the proxy passes the call to a live replica.
type frontProxy struct {
	srv    *httptest.Server
	target atomic.Pointer[url.URL]
}

func newFrontProxy(t *testing.T) *frontProxy {
	p := &frontProxy{}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(p.target.Load()) }}
	p.srv = httptest.NewServer(rp)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *frontProxy) to(r *replica) { p.target.Store(&url.URL{Scheme: "http", Host: r.cfg.HTTPAddr}) }

// TestFleetReplicaKilledBetweenTwoRequestsSendsEachCardOnce: a change of
// twelve cards goes as four requests of three; the replica sending it is
// stopped after its second request, and the other replica carries on from
// the first request not yet sent. Every card goes to EnCo exactly once, and
// every result comes into the one operation.
func TestFleetReplicaKilledBetweenTwoRequestsSendsEachCardOnce(t *testing.T) {
	t.Parallel()
	c := newCluster(t, withPolicy(testPolicy+"limits:\n  max_targets: 20\n"), withMain(func(m *Main) {
		m.sender.Lease, m.sender.Poll = time.Second, 50*time.Millisecond
	}))
	front := newFrontProxy(t)
	c.cfg.PublicURL = front.srv.URL
	c.cfg.EncoM2MBatch, c.cfg.EncoM2MRate, c.cfg.BulkThreshold = 3, 2, 4
	cards := addFleet(c.enco, 12)
	replicas := map[string]*replica{"a": c.start("a"), "b": c.start("b")}
	front.to(replicas["a"])

	parent := c.confirmed(opsUser, opsChan, "/sim deactivate "+strings.Join(cards, " "))
	c.waitFor("two requests sent", func() bool {
		_, n := c.sentDevices("deactivation")
		return n >= 2
	})
	// The replica sending is the one that logged the requests.
	var sender, other string
	for _, line := range strings.Split(c.logs.String(), "\n") {
		if strings.Contains(line, "m2m request accepted") {
			sender, _, _ = strings.Cut(line, ": ")
			break
		}
	}
	other = map[string]string{"a": "b", "b": "a"}[sender]
	if other == "" {
		t.Fatalf("no replica logged a request; logs:\n%s", c.logs)
	}
	front.to(replicas[other])
	replicas[sender].kill()

	c.waitFor("the summary", func() bool {
		for _, m := range c.slack.Thread(opsChan, parent.TS) {
			if strings.Contains(m.Text, "Finished") {
				return true
			}
		}
		return false
	})
	counts, requests := c.sentDevices("deactivation")
	if requests != 4 {
		t.Errorf("requests: got %d, want 4 of 3 cards", requests)
	}
	for _, card := range cards {
		if counts[card] != 1 {
			t.Errorf("card %s sent %d times, want once", card, counts[card])
		}
	}
	if len(counts) != len(cards) {
		t.Errorf("cards sent: got %d distinct, want %d", len(counts), len(cards))
	}
	thread := c.slack.Thread(opsChan, parent.TS)
	if last := thread[len(thread)-1].Text; !strings.Contains(last, "all 12 succeeded") {
		t.Errorf("summary = %q, want all 12 succeeded", last)
	}
	carried := false
	for _, line := range strings.Split(c.logs.String(), "\n") {
		if strings.HasPrefix(line, other+": ") && strings.Contains(line, "m2m request accepted") {
			carried = true
		}
	}
	if !carried {
		t.Errorf("replica %s sent no request after %s stopped; logs:\n%s", other, sender, c.logs)
	}
}
