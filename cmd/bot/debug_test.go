package main

import (
	"net/http"
	"strings"
	"testing"
)

func TestProfilerServesOnlyOnDebugAddr(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(h *harness) { h.cfg.DebugAddr = "127.0.0.1:0" })
	if h.main.debug == nil {
		t.Fatal("DEBUG_ADDR is set but no profiler listens")
	}
	get := func(url string) int {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get("http://" + h.main.debug.addr() + "/debug/pprof/cmdline"); got != http.StatusOK {
		t.Errorf("profiler on DEBUG_ADDR answered %d, want 200", got)
	}
	// The server EnCo reaches never exposes it.
	if got := get(h.cfg.PublicURL + "/debug/pprof/cmdline"); got == http.StatusOK {
		t.Errorf("the callback server answered 200 for the profiler, want it not served there")
	}

	// Off by default, and a taken address stops start-up naming the variable.
	h2 := newFakes(t, h.ctx, h.prefix)
	h2.cfg.HTTPAddr = "127.0.0.1:0"
	h2.cfg.PublicURL = "http://127.0.0.1:1"
	h2.cfg.DebugAddr = h.main.debug.addr()
	m := &Main{Config: h2.cfg, LogOutput: h2.logs, KeyPrefix: h2.prefix}
	err := m.Open(h.ctx)
	m.Close()
	if err == nil || !strings.HasPrefix(err.Error(), "DEBUG_ADDR:") {
		t.Errorf("Open with DEBUG_ADDR taken: got %v, want an error naming DEBUG_ADDR", err)
	}
}

// addr is the address the side server listens on.
func (d *sideServer) addr() string { return d.ln.Addr().String() }
