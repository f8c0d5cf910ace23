package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/internal/redistest"
)

// TestSlackUnreachableAtStartIsLoggedPerAttempt starts the bot against a
// Slack that refuses every call: each failed connection attempt logs one
// line with its reason and the pause before the next, and the pauses grow.
func TestSlackUnreachableAtStartIsLoggedPerAttempt(t *testing.T) {
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	t.Cleanup(refusing.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	_, prefix := redistest.New(t)
	h := newFakes(t, ctx, prefix)
	h.cfg.SlackAPIURL = refusing.URL + "/"
	h.listen()
	m := &Main{Config: h.cfg, Listener: h.listener, LogOutput: h.logs, KeyPrefix: prefix}
	if err := m.Open(ctx); err != nil {
		m.Close()
		t.Fatal(err)
	}
	stop := runMain(ctx, m)
	defer stop(t)

	type attempt struct {
		Msg     string `json:"msg"`
		Attempt int    `json:"attempt"`
		Err     string `json:"err"`
		RetryIn string `json:"retry_in"`
	}
	var got []attempt
	eventually(t, ctx, "three logged connection failures", func() bool {
		got = got[:0]
		for _, l := range strings.Split(h.logs.String(), "\n") {
			var a attempt
			if json.Unmarshal([]byte(l), &a) == nil && a.Msg == "cannot connect to Slack; retrying" {
				got = append(got, a)
			}
		}
		return len(got) >= 3
	}, func() string { return "log:\n" + h.logs.String() })
	var last time.Duration
	for i, a := range got[:3] {
		if a.Attempt != i+1 {
			t.Errorf("line %d: attempt %d, want %d", i, a.Attempt, i+1)
		}
		if !strings.Contains(a.Err, "503") {
			t.Errorf("line %d: err %q does not give the reason (HTTP 503)", i, a.Err)
		}
		d, err := time.ParseDuration(a.RetryIn)
		if err != nil {
			t.Fatalf("line %d: retry_in %q: %v", i, a.RetryIn, err)
		}
		if d < last {
			t.Errorf("line %d: retry_in %s after %s: the pause does not grow", i, d, last)
		}
		last = d
	}
	for _, secret := range []string{h.cfg.SlackAppToken, h.cfg.SlackBotToken} {
		if strings.Contains(h.logs.String(), secret) {
			t.Errorf("the log holds a Slack token")
		}
	}
}
