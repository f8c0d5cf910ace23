//go:build unix

package notify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/internal/redistest"
	"github.com/switchboard-bot/switchboard/state"
)

// BenchmarkReceiveM2M is one M2M callback through the receiver's handler, a
// new card's result each time, against real Redis: authentication, decoding,
// recording with its posts and audit line, and the JSON log line. The
// network between EnCo and the bot is left out (see bench/ for that), so a
// profile of it shows the receiver's own work.
func BenchmarkReceiveM2M(b *testing.B) {
	rdb, prefix := redistest.New(b)
	store := state.New(rdb, prefix)
	store.SetAuditRetention(100000, 90*24*time.Hour) // the bot's defaults
	id, err := state.NewID()
	if err != nil {
		b.Fatal(err)
	}
	const token, tracking, secret = "bench-token", "717ccaa0-0000-4000-8000-000000000001", "bench-secret"
	targets := make([]switchboard.Target, 1000)
	for i := range targets {
		targets[i] = switchboard.Number(fmt.Sprintf("324710%05d", i))
	}
	op := switchboard.Operation{
		ID: id, Kind: "sim.deactivate", UserID: "U1", ChannelID: "C1", ThreadTS: "1700000000.000100",
		Expected: 1 << 30, Targets: targets, Status: switchboard.StatusRunning,
		Params: switchboard.Params{Tracking: tracking, Action: "deactivation", Title: "deactivate 1000 cards"},
	}
	mux := benchReceiver(b, store, op, token, secret)

	var next atomic.Int64
	// Callbacks arrive over many connections at once: enough callers for
	// the recordings to share pipelines, as they do in the running bot.
	b.SetParallelism(16)
	b.ReportAllocs()
	before := processCPU(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := fmt.Appendf(nil, `{"trackingNumber":%q,"device":{"identifier":"8932%015d","identifierType":"ICCID"},"resultStatus":"Success","messages":[]}`,
				tracking, next.Add(1))
			req := httptest.NewRequest(http.MethodPost, PathM2M, bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+secret)
			req.Header.Set("X-Callback-Token", token)
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Errorf("callback answered %d: %s", w.Code, w.Body)
				return
			}
		}
	})
	// Wall time per callback depends on how Redis, on the same cores, keeps
	// up; the process's own CPU per callback is the receiver's cost.
	b.ReportMetric(float64(processCPU(b)-before)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchReceiver stores op, binds token to it, and returns the routes of a
// receiver that expects secret, logging nowhere.
func benchReceiver(b *testing.B, store *state.Store, op switchboard.Operation, token, secret string) *http.ServeMux {
	b.Helper()
	ctx := context.Background()
	if err := store.CreateOperation(ctx, op, time.Hour); err != nil {
		b.Fatal(err)
	}
	if err := store.BindToken(ctx, token, op.ID, time.Hour); err != nil {
		b.Fatal(err)
	}
	rc := &Receiver{Store: store, Secret: secret, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	mux := http.NewServeMux()
	rc.Routes(mux)
	return mux
}
