package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestOnExpiredCountsByCommand(t *testing.T) {
	m := New(Sources{}, "sim", "fmu", "number", "call")
	if got := testutil.ToFloat64(m.expired.WithLabelValues("fmu")); got != 0 {
		t.Fatalf("operations_expired_total{command=fmu} = %v before any expiry, want 0", got)
	}
	// Every known command has its series from the start, so that the first
	// expiry is an increase an alert sees.
	if got := testutil.CollectAndCount(m.expired); got != 4 {
		t.Errorf("operations_expired_total has %d series at start, want 4 (one per command)", got)
	}
	m.OnExpired("fmu.read")
	m.OnExpired("fmu.set")
	m.OnExpired("call.self")
	m.OnExpired("weather.today")
	for _, tt := range []struct {
		command string
		want    float64
	}{{"fmu", 2}, {"call", 1}, {"sim", 0}, {"other", 1}} {
		if got := testutil.ToFloat64(m.expired.WithLabelValues(tt.command)); got != tt.want {
			t.Errorf("operations_expired_total{command=%q} = %v, want %v", tt.command, got, tt.want)
		}
	}
}

func TestOnScheduledChangeCountsOutcomesAndLatenessOfDoneChanges(t *testing.T) {
	m := New(Sources{})
	for _, o := range []string{"done", "failed", "skipped"} {
		if got := testutil.ToFloat64(m.schedChanges.WithLabelValues(o)); got != 0 {
			t.Errorf("fmu_schedule_changes_total{outcome=%q} = %v at start, want a 0 series", o, got)
		}
	}
	m.OnScheduledChange("done", 1500*time.Millisecond)
	m.OnScheduledChange("done", -time.Millisecond) // made a hair early: counts as on time
	m.OnScheduledChange("skipped", 20*time.Minute)
	m.OnScheduledChange("failed", 5*time.Minute)
	m.OnScheduledChange("exploded", time.Second)

	for _, tt := range []struct {
		outcome string
		want    float64
	}{{"done", 2}, {"skipped", 1}, {"failed", 1}, {"other", 1}} {
		if got := testutil.ToFloat64(m.schedChanges.WithLabelValues(tt.outcome)); got != tt.want {
			t.Errorf("fmu_schedule_changes_total{outcome=%q} = %v, want %v", tt.outcome, got, tt.want)
		}
	}
	want := `
# HELP switchboard_fmu_schedule_lateness_seconds How long after its due time a scheduled FMU change was made.
# TYPE switchboard_fmu_schedule_lateness_seconds histogram
switchboard_fmu_schedule_lateness_seconds_bucket{le="0.1"} 1
switchboard_fmu_schedule_lateness_seconds_bucket{le="0.25"} 1
switchboard_fmu_schedule_lateness_seconds_bucket{le="0.5"} 1
switchboard_fmu_schedule_lateness_seconds_bucket{le="1"} 1
switchboard_fmu_schedule_lateness_seconds_bucket{le="2.5"} 2
switchboard_fmu_schedule_lateness_seconds_bucket{le="5"} 2
switchboard_fmu_schedule_lateness_seconds_bucket{le="10"} 2
switchboard_fmu_schedule_lateness_seconds_bucket{le="30"} 2
switchboard_fmu_schedule_lateness_seconds_bucket{le="60"} 2
switchboard_fmu_schedule_lateness_seconds_bucket{le="120"} 2
switchboard_fmu_schedule_lateness_seconds_bucket{le="300"} 2
switchboard_fmu_schedule_lateness_seconds_bucket{le="900"} 2
switchboard_fmu_schedule_lateness_seconds_bucket{le="+Inf"} 2
switchboard_fmu_schedule_lateness_seconds_sum 1.5
switchboard_fmu_schedule_lateness_seconds_count 2
`
	if err := testutil.CollectAndCompare(m.schedLate, strings.NewReader(want)); err != nil {
		t.Errorf("only changes that were made are timed, skipped and failed ones are not: %v", err)
	}
}

func TestSlackTransportCountsEveryCallByMethodAndStatus(t *testing.T) {
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/chat.update") {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer slack.Close()
	apiURL := slack.URL + "/api/"
	m := New(Sources{})
	client := &http.Client{Transport: m.SlackTransport(nil, apiURL)}

	for _, u := range []string{
		apiURL + "chat.postMessage",
		apiURL + "chat.postMessage?channel=C1",
		apiURL + "chat.update",
		slack.URL + "/upload/v1/SECRETPATH", // an upload URL: its path never becomes a label
		apiURL + "chat.postMessage/../../x",
	} {
		resp, err := client.Post(u, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	deadClient := &http.Client{Transport: m.SlackTransport(nil, closed.URL+"/api/")}
	if _, err := deadClient.Get(closed.URL + "/api/users.info"); err == nil {
		t.Fatal("a call to a closed server succeeded")
	}

	for _, tt := range []struct {
		method, code string
		want         float64
	}{
		{"chat.postMessage", "200", 2},
		{"chat.update", "429", 1},
		{"other", "200", 2},
		{"users.info", "none", 1},
	} {
		if got := testutil.ToFloat64(m.slackAPI.WithLabelValues(tt.method, tt.code)); got != tt.want {
			t.Errorf("slack_api_requests_total{method=%q,code=%q} = %v, want %v", tt.method, tt.code, got, tt.want)
		}
	}
	if got := testutil.CollectAndCount(m.slackAPI); got != 4 {
		t.Errorf("slack_api_requests_total has %d series, want 4", got)
	}
}

func TestRedisUpAndReadyAreReadAtScrapeTime(t *testing.T) {
	var redisErr error
	connected := true
	m := New(Sources{
		RedisPing:       func(context.Context) error { return redisErr },
		SocketConnected: func() bool { return connected },
	})
	tests := []struct {
		name            string
		redisErr        error
		connected       bool
		wantUp, wantRdy string
	}{
		{"all well", nil, true, "1", "1"},
		{"redis down", errors.New("dial tcp: connection refused"), true, "0", "0"},
		{"socket down", nil, false, "1", "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			redisErr, connected = tt.redisErr, tt.connected
			body := scrape(t, m)
			for _, want := range []string{"switchboard_redis_up " + tt.wantUp + "\n", "switchboard_ready " + tt.wantRdy + "\n"} {
				if !strings.Contains(body, want) {
					t.Errorf("/metrics lacks %q", want)
				}
			}
		})
	}
}

func TestReadyWithoutASocketFollowsRedis(t *testing.T) {
	// The console has no Slack socket: ready means Redis answers.
	m := New(Sources{RedisPing: func(context.Context) error { return nil }})
	if body := scrape(t, m); !strings.Contains(body, "switchboard_ready 1\n") {
		t.Errorf("/metrics lacks switchboard_ready 1 without a socket source:\n%s", body)
	}
}
