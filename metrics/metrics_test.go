package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard-bot/switchboard/enco"
)

func TestOnCommandCountsByCommandAndOutcome(t *testing.T) {
	m := New(Sources{}, "sim", "fmu", "number", "call")
	m.OnCommand("/sim", "confirm")
	m.OnCommand("/SIM", "confirm")
	m.OnCommand("/sim", "denied")
	m.OnCommand("/weather", "unknown")

	tests := []struct {
		command, outcome string
		want             float64
	}{
		{"sim", "confirm", 2},
		{"sim", "denied", 1},
		{"other", "unknown", 1},
	}
	for _, tt := range tests {
		t.Run(tt.command+"/"+tt.outcome, func(t *testing.T) {
			if got := testutil.ToFloat64(m.commands.WithLabelValues(tt.command, tt.outcome)); got != tt.want {
				t.Errorf("commands_total{command=%q,outcome=%q} = %v, want %v", tt.command, tt.outcome, got, tt.want)
			}
		})
	}
	if got := testutil.CollectAndCount(m.commands); got != 3 {
		t.Errorf("commands_total has %d series, want 3 (an unknown command is labelled other)", got)
	}
}

func TestOnAckFillsTheHistogram(t *testing.T) {
	m := New(Sources{}, "sim", "fmu", "number", "call")
	m.OnAck("/sim", 3906250*time.Nanosecond) // 2^-8 s: exact in binary, so the sum compares exactly
	m.OnAck("/sim", 31250*time.Microsecond)  // 2^-5 s
	m.OnAck("/fmu", 1953125*time.Nanosecond) // 2^-9 s

	want := `
# HELP switchboard_ack_duration_seconds Time from a slash command's arrival to its acknowledgement (Slack gives up after 3 s).
# TYPE switchboard_ack_duration_seconds histogram
switchboard_ack_duration_seconds_bucket{command="fmu",le="0.001"} 0
switchboard_ack_duration_seconds_bucket{command="fmu",le="0.0025"} 1
switchboard_ack_duration_seconds_bucket{command="fmu",le="0.005"} 1
switchboard_ack_duration_seconds_bucket{command="fmu",le="0.01"} 1
switchboard_ack_duration_seconds_bucket{command="fmu",le="0.025"} 1
switchboard_ack_duration_seconds_bucket{command="fmu",le="0.05"} 1
switchboard_ack_duration_seconds_bucket{command="fmu",le="0.1"} 1
switchboard_ack_duration_seconds_bucket{command="fmu",le="0.25"} 1
switchboard_ack_duration_seconds_bucket{command="fmu",le="0.5"} 1
switchboard_ack_duration_seconds_bucket{command="fmu",le="1"} 1
switchboard_ack_duration_seconds_bucket{command="fmu",le="2"} 1
switchboard_ack_duration_seconds_bucket{command="fmu",le="3"} 1
switchboard_ack_duration_seconds_bucket{command="fmu",le="+Inf"} 1
switchboard_ack_duration_seconds_sum{command="fmu"} 0.001953125
switchboard_ack_duration_seconds_count{command="fmu"} 1
switchboard_ack_duration_seconds_bucket{command="sim",le="0.001"} 0
switchboard_ack_duration_seconds_bucket{command="sim",le="0.0025"} 0
switchboard_ack_duration_seconds_bucket{command="sim",le="0.005"} 1
switchboard_ack_duration_seconds_bucket{command="sim",le="0.01"} 1
switchboard_ack_duration_seconds_bucket{command="sim",le="0.025"} 1
switchboard_ack_duration_seconds_bucket{command="sim",le="0.05"} 2
switchboard_ack_duration_seconds_bucket{command="sim",le="0.1"} 2
switchboard_ack_duration_seconds_bucket{command="sim",le="0.25"} 2
switchboard_ack_duration_seconds_bucket{command="sim",le="0.5"} 2
switchboard_ack_duration_seconds_bucket{command="sim",le="1"} 2
switchboard_ack_duration_seconds_bucket{command="sim",le="2"} 2
switchboard_ack_duration_seconds_bucket{command="sim",le="3"} 2
switchboard_ack_duration_seconds_bucket{command="sim",le="+Inf"} 2
switchboard_ack_duration_seconds_sum{command="sim"} 0.03515625
switchboard_ack_duration_seconds_count{command="sim"} 2
`
	if err := testutil.CollectAndCompare(m.ack, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestObserveEncoCountsAttemptsAndErrorsByReason(t *testing.T) {
	deadline := fmt.Errorf("m2m simcards: %w", context.DeadlineExceeded)
	refused := fmt.Errorf("connect: %w", errors.New("connection refused"))
	tests := []struct {
		name       string
		status     int
		err        error
		code       string
		wantReason string // "" when the attempt succeeded
	}{
		{"ok", 200, nil, "200", ""},
		{"throttled", 429, &enco.Error{StatusCode: 429}, "429", "throttled"},
		{"bad token", 401, &enco.Error{StatusCode: 401}, "401", "unauthorized"},
		{"missing api key", 403, &enco.Error{StatusCode: 403}, "403", "unauthorized"},
		{"gateway down", 503, &enco.Error{StatusCode: 503}, "503", "server"},
		{"bad request", 400, &enco.Error{StatusCode: 400}, "400", "refused"},
		{"attempt timed out", 0, deadline, "none", "timeout"},
		{"no connection", 0, refused, "none", "network"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(Sources{})
			m.ObserveEnco("m2m", "m2m simcards", tt.status, 120*time.Millisecond, tt.err)
			if got := testutil.ToFloat64(m.encoRequests.WithLabelValues("m2m", "m2m simcards", tt.code)); got != 1 {
				t.Errorf("enco_requests_total{code=%q} = %v, want 1", tt.code, got)
			}
			if got := testutil.CollectAndCount(m.encoDuration); got != 1 {
				t.Errorf("enco_request_duration_seconds series = %d, want 1", got)
			}
			errSeries := testutil.CollectAndCount(m.encoErrors)
			if tt.wantReason == "" {
				if errSeries != 0 {
					t.Errorf("enco_errors_total has %d series after a success, want 0", errSeries)
				}
				return
			}
			if got := testutil.ToFloat64(m.encoErrors.WithLabelValues("m2m", tt.wantReason)); got != 1 || errSeries != 1 {
				t.Errorf("enco_errors_total{reason=%q} = %v in %d series, want 1 in 1", tt.wantReason, got, errSeries)
			}
		})
	}
}

func TestOnCallbackOutcomes(t *testing.T) {
	tests := []struct {
		status int
		want   string
	}{
		{200, "recorded"},
		{202, "parked"},
		{401, "unauthorized"},
		{403, "unknown"},
		{404, "unknown"},
		{410, "unknown"},
		{400, "rejected"},
		{413, "rejected"},
		{500, "failed"},
		{503, "failed"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			m := New(Sources{})
			m.OnCallback("m2m", tt.status)
			if got := testutil.ToFloat64(m.callbacks.WithLabelValues("m2m", tt.want)); got != 1 {
				t.Errorf("callbacks_total{kind=m2m,outcome=%q} = %v after HTTP %d, want 1", tt.want, got, tt.status)
			}
		})
	}
}

func TestOnPostCountsByOutcome(t *testing.T) {
	m := New(Sources{})
	m.OnPost("post", "ratelimited")
	m.OnPost("post", "ratelimited")
	m.OnPost("update", "ok")
	if got := testutil.ToFloat64(m.slackPosts.WithLabelValues("post", "ratelimited")); got != 2 {
		t.Errorf("slack_posts_total{kind=post,outcome=ratelimited} = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.slackPosts.WithLabelValues("update", "ok")); got != 1 {
		t.Errorf("slack_posts_total{kind=update,outcome=ok} = %v, want 1", got)
	}
}

func TestSourcesAreReadAtScrapeTime(t *testing.T) {
	depth := int64(7)
	connected := true
	m := New(Sources{
		QueueDepth:        func(context.Context) (int64, error) { return depth, nil },
		PendingOperations: func(context.Context) (int64, error) { return 3, nil },
		SocketConnected:   func() bool { return connected },
	})
	body := scrape(t, m)
	for _, want := range []string{
		"switchboard_queue_depth 7\n",
		"switchboard_pending_operations 3\n",
		"switchboard_slack_socket_connected 1\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	depth, connected = 12, false
	body = scrape(t, m)
	for _, want := range []string{"switchboard_queue_depth 12\n", "switchboard_slack_socket_connected 0\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("second scrape lacks %q; gauges must be read at scrape time", want)
		}
	}
}

func TestFailingSourceLeavesItsGaugeOut(t *testing.T) {
	m := New(Sources{
		QueueDepth:        func(context.Context) (int64, error) { return 0, errors.New("redis: connection refused") },
		PendingOperations: func(context.Context) (int64, error) { return 2, nil },
	})
	body := scrape(t, m)
	if strings.Contains(body, "switchboard_queue_depth ") {
		t.Errorf("/metrics shows switchboard_queue_depth although its source failed; want it absent")
	}
	for _, want := range []string{
		"switchboard_pending_operations 2\n",
		`switchboard_metrics_source_errors_total{gauge="queue_depth"} 1` + "\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "switchboard_slack_socket_connected") {
		t.Errorf("/metrics shows the socket gauge without a source for it")
	}
}

func TestHandlerServesProcessAndRuntimeMetrics(t *testing.T) {
	body := scrape(t, New(Sources{}))
	for _, want := range []string{"go_goroutines ", "process_resident_memory_bytes ", "go_memstats_heap_alloc_bytes "} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestRegistriesAreIndependent(t *testing.T) {
	a, b := New(Sources{}), New(Sources{})
	a.OnCallback("m2m", 200)
	if got := testutil.CollectAndCount(b.callbacks); got != 0 {
		t.Errorf("a second Metrics sees %d callback series of the first; want its own registry", got)
	}
}

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d %s, want 200", resp.StatusCode, b)
	}
	return string(b)
}
