package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/state"
)

// unreachableFMU stands in front of the EnCo sandbox: FMU requests have
// their connection dropped without an answer (their URLs are remembered),
// everything else goes through.
type unreachableFMU struct {
	*httptest.Server
	mu   sync.Mutex
	urls []string
}

func newUnreachableFMU(t *testing.T, sandboxURL string) *unreachableFMU {
	target, err := url.Parse(sandboxURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	u := &unreachableFMU{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/fmu/") {
			proxy.ServeHTTP(w, r)
			return
		}
		u.mu.Lock()
		u.urls = append(u.urls, r.URL.String())
		u.mu.Unlock()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *unreachableFMU) requested() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.urls...)
}

// When EnCo cannot be reached for a multi-number /fmu, neither the log nor
// the thread shows the callback URL (it holds the operation's token), and
// that token records nothing afterwards: the operation failed.
func TestFailedFMURequestShowsNoTokenAndTakesNoResults(t *testing.T) {
	var down *unreachableFMU
	h := newHarness(t, withPolicy(telephonyPolicy), func(h *harness) {
		down = newUnreachableFMU(t, h.enco.URL)
		h.cfg.EncoTokenURL = h.enco.URL + "/token"
		h.cfg.EncoBaseURL = down.URL
	})
	_, reply := h.command(telFleet, telChan, "/fmu status 0470 00 00 02 0470 00 00 03")
	if !strings.Contains(reply.Text, "Asking EnCo for 2 FMU profiles") {
		t.Fatalf("ack = %q, want the asynchronous read started", reply.Text)
	}
	h.waitFor("the failure in the thread", func() bool {
		for _, m := range h.slack.Messages(telChan) {
			if strings.Contains(m.Text, "EnCo could not be reached") {
				return true
			}
		}
		return false
	})

	var callbackURL string
	for _, raw := range down.requested() {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if cb := u.Query().Get("callback_url"); cb != "" {
			callbackURL = cb
		}
	}
	if callbackURL == "" {
		t.Fatalf("no FMU request with a callback_url reached EnCo: %q", down.requested())
	}
	token := callbackURL[strings.LastIndex(callbackURL, "/")+1:]
	if len(token) < 16 {
		t.Fatalf("callback URL %q ends with no token", callbackURL)
	}
	if strings.Contains(h.logs.String(), token) {
		t.Errorf("the log holds the callback token:\n%s", h.logs)
	}
	for _, m := range h.slack.Messages(telChan) {
		if strings.Contains(m.Text, token) || strings.Contains(string(m.Blocks), token) {
			t.Errorf("Slack message %q holds the callback token", m.Text)
		}
	}
	if !strings.Contains(h.logs.String(), "127.0.0.1") {
		t.Errorf("the log does not name the host EnCo was tried at:\n%s", h.logs)
	}

	// The token still names the operation, which failed: it takes nothing.
	status := telPost(t, callbackURL, []byte(`[{"msisdn":"32470000002","status":"PRIVATE","isError":false}]`))
	if status != http.StatusGone {
		t.Errorf("callback on the failed operation: got %d, want 410", status)
	}
	ops, err := h.main.Store.RecentAudit(context.Background(), 50, func(e switchboard.AuditEntry) bool { return e.Decision == "callback result" })
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 0 {
		t.Errorf("audited callback results: %+v, want none", ops)
	}
}

// Refused commands are audited, each with at most MaxAuditField bytes of
// its text, and one person's refusals past the per-minute allowance are
// answered without an audit entry each.
func TestRefusedCommandsAreCappedAndRateLimited(t *testing.T) {
	h := newHarness(t, withPolicy(testPolicy+"limits:\n  changes_per_minute: 3\n"))
	long := "/sim status 0471000001" + strings.Repeat(" ", 3000) + "0471000002"
	for i := range 3 {
		if _, reply := h.command(guestUser, opsChan, long); !strings.Contains(reply.Text, "sim.read") {
			t.Fatalf("refusal %d = %q, want a denial naming sim.read", i+1, reply.Text)
		}
	}
	for i := range 5 {
		if _, reply := h.command(guestUser, opsChan, long); !strings.Contains(reply.Text, "refused in the last minute") {
			t.Errorf("refusal %d past the allowance = %q, want the rate-limit answer", i+4, reply.Text)
		}
	}
	entries, err := h.main.Store.RecentAudit(context.Background(), 100, func(e switchboard.AuditEntry) bool { return e.UserID == guestUser })
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Errorf("audit entries of the refused user: got %d, want 3", len(entries))
	}
	for _, e := range entries {
		if len(e.Command) > state.MaxAuditField {
			t.Errorf("audited command text of %d bytes, want at most %d", len(e.Command), state.MaxAuditField)
		}
	}
	// Another person is not affected.
	if _, reply := h.command(opsUser, opsChan, "/sim audit"); strings.Contains(reply.Text, "refused in the last minute") {
		t.Errorf("another user's command = %q, want it answered normally", reply.Text)
	}
}

// A multi-number /fmu status makes an operation and API calls: it counts
// against the per-person allowance of reads, one per number (max_targets 5
// and changes_per_minute 1 give 10 reads a minute).
func TestMultiNumberFMUStatusIsRateLimited(t *testing.T) {
	h := newHarness(t, withPolicy(telephonyPolicy+"limits:\n  changes_per_minute: 1\n  max_targets: 5\n"))
	five := "/fmu status 0470 00 00 02 0470 00 00 03 0470 00 00 04 0470 00 00 05 0470 00 00 06"
	for i := range 2 {
		if _, reply := h.command(telFleet, telChan, five); !strings.Contains(reply.Text, "Asking EnCo") {
			t.Fatalf("read %d = %q, want it started", i+1, reply.Text)
		}
	}
	_, reply := h.command(telFleet, telChan, five)
	if !strings.Contains(reply.Text, "past the 10 reads a minute the policy allows you") {
		t.Errorf("third multi-number read = %q, want the rate-limit answer", reply.Text)
	}
	h.waitFor("two FMU requests", func() bool { return len(h.encoCalls("/fmu/1.0.0/status")) >= 2 })
	if got := len(h.encoCalls("/fmu/1.0.0/status")); got != 2 {
		t.Errorf("FMU requests = %d, want 2", got)
	}
}
