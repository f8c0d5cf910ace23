//go:build unix

package notify

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/internal/redistest"
	"github.com/switchboard-bot/switchboard/state"
)

// BenchmarkReceiveRefused is the receiver's work for callbacks that change
// nothing, on a one-card operation whose card has answered: the card's
// result again (a duplicate, 200) and a result for a card the operation
// never named (409). A flood of either should cost little more than the one
// Redis round trip that tells them apart.
func BenchmarkReceiveRefused(b *testing.B) {
	for _, tc := range []struct {
		name   string
		status int
		device func(i int64) string
	}{
		{"duplicate", http.StatusOK, func(int64) string { return "893200000000000000001" }},
		{"new-device", http.StatusConflict, func(i int64) string { return fmt.Sprintf("8999%015d", i) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			rdb, prefix := redistest.New(b)
			store := state.New(rdb, prefix)
			store.SetAuditRetention(100000, 90*24*time.Hour)
			id, err := state.NewID()
			if err != nil {
				b.Fatal(err)
			}
			const token, tracking, secret = "bench-token", "717ccaa0-0000-4000-8000-000000000002", "bench-secret"
			op := switchboard.Operation{
				ID: id, Kind: "sim.deactivate", UserID: "U1", ChannelID: "C1", ThreadTS: "1700000000.000100",
				Expected: 1, Targets: []switchboard.Target{switchboard.Number("32471000001")}, Status: switchboard.StatusRunning,
				Params: switchboard.Params{Tracking: tracking, Action: "deactivation", Title: "deactivate 1 card"},
			}
			mux := benchReceiver(b, store, op, token, secret)
			send := func(device string) int {
				body := fmt.Appendf(nil, `{"trackingNumber":%q,"device":{"identifier":%q,"identifierType":"ICCID"},"resultStatus":"Success","messages":[]}`, tracking, device)
				req := httptest.NewRequest(http.MethodPost, PathM2M, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+secret)
				req.Header.Set("X-Callback-Token", token)
				w := httptest.NewRecorder()
				mux.ServeHTTP(w, req)
				return w.Code
			}
			if got := send("893200000000000000001"); got != http.StatusOK {
				b.Fatalf("the card's own callback answered %d", got)
			}
			var next atomic.Int64
			b.SetParallelism(16)
			b.ReportAllocs()
			b.ResetTimer()
			before := processCPU(b)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if got := send(tc.device(next.Add(1))); got != tc.status {
						b.Errorf("answered %d, want %d", got, tc.status)
						return
					}
				}
			})
			b.ReportMetric(float64(processCPU(b)-before)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
		})
	}
}
