package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealthEndpoints(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if code, body := get(t, h.cfg.PublicURL+"/healthz"); code != http.StatusOK || !strings.Contains(body, "ok") {
		t.Errorf("/healthz = %d %q, want 200 ok", code, body)
	}
	if code, body := get(t, h.cfg.PublicURL+"/readyz"); code != http.StatusOK || !strings.Contains(body, "ready") {
		t.Errorf("/readyz = %d %q, want 200 ready", code, body)
	}
}

func TestShutdownFinishesWorkInFlight(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.enco.SetResponseDelay(time.Second)
	_, reply := h.command(opsUser, opsChan, "/sim deactivate 0471000001")
	h.click(opsUser, opsChan, "confirm", reply.button(t, "confirm"))
	h.waitFor("the request to reach EnCo", func() bool { return len(h.encoCalls("/m2m/1.0.0/requests/deactivation")) == 1 })

	h.shutdown() // like SIGTERM: the run context ends while EnCo is still answering
	// The sandbox made the callbacks when it accepted the request; the bot
	// must have stored their tracking number before it stopped.
	// The sandbox sends them on its own time, after its answer.
	var tracking, token string
	h.waitFor("the sandbox's M2M callback", func() bool {
		for _, c := range h.enco.Callbacks() {
			var body struct{ TrackingNumber string }
			if c.Kind == "m2m" && json.Unmarshal(c.Body, &body) == nil {
				tracking, token = body.TrackingNumber, callbackToken(c)
			}
		}
		return tracking != ""
	})
	op, ok := h.operationOfToken(token)
	sending, err := h.store.SendingOf(h.ctx, op.ID, tracking)
	if tracking == "" || !ok || err != nil || !sending.Known {
		t.Errorf("after shutdown, the operation's tracking number %q is stored: %t (operation found %t, err %v): want the request in flight finished and recorded", tracking, sending.Known, ok, err)
	}
	if got := h.slack.Connections(); got != 0 {
		t.Errorf("socket connections after shutdown = %d, want 0", got)
	}
	if _, err := http.Get(h.cfg.PublicURL + "/healthz"); err == nil {
		t.Errorf("HTTP server still answers after shutdown")
	}
}
