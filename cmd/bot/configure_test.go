package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/switchboard-bot/switchboard/enco"
)

// A shutdown that cuts the callback set-up short is not an error to page
// anyone about, nor a reason to retry.
func TestConfigureCallbacksStopsQuietlyWhenShuttingDown(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	// The bot starts shutting down while EnCo is answering, and the answer
	// is a failure.
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		cancel()
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	var logs bytes.Buffer
	m := &Main{
		Config: Config{PublicURL: "https://bot.example", CallbackSecret: "s3cret"},
		Enco:   &enco.Client{BaseURL: srv.URL, HTTPClient: srv.Client(), APIKey: "key"},
		Log:    slog.New(slog.NewJSONHandler(&logs, nil)),
	}
	m.configureCallbacks(ctx)
	if got := calls.Load(); got != 1 {
		t.Errorf("EnCo was asked %d times, want once: a shutdown is no reason to retry", got)
	}
	// Quiet is the behaviour here: what the log says, and at which level.
	if got := logs.String(); strings.Contains(got, `"level":"ERROR"`) || !strings.Contains(got, "shutting down") {
		t.Errorf("logs = %s, want no error and a line saying it stopped for the shutdown", got)
	}
}
