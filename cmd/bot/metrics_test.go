package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/switchboard-bot/switchboard/internal/redistest"
)

// series is one sample of a scrape: a metric name and its labels.
type series struct {
	name   string
	labels map[string]string
}

// scrapeMetrics reads the bot's /metrics, decoded.
func (h *harness) scrapeMetrics() map[string]*dto.MetricFamily {
	h.t.Helper()
	resp, err := http.Get(h.cfg.PublicURL + "/metrics")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		h.t.Fatalf("GET /metrics = %d %q, want 200 (Main serves Main.Metrics on /metrics)", resp.StatusCode, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		h.t.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	return fams
}

// value sums the values of the series that carry s's labels (counters and
// gauges; the sample count of histograms), and reports whether any does.
func (s series) value(fams map[string]*dto.MetricFamily) (float64, bool) {
	var sum float64
	found := false
next:
	for _, m := range fams[s.name].GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for k, v := range s.labels {
			if have[k] != v {
				continue next
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum, found
}

// sample names a series by its metric name and label pairs.
func sample(name string, labels ...string) series {
	s := series{name: name, labels: map[string]string{}}
	for i := 0; i+1 < len(labels); i += 2 {
		s.labels[labels[i]] = labels[i+1]
	}
	return s
}

func TestMetricsShowACommandAndItsCallback(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// The sandbox keeps the callbacks, so that the test sends them once the
	// operation is waiting for them.
	h.enco.SetDropCallbacks(true)
	_, reply := h.command(opsUser, opsChan, "/sim deactivate 0471000001, 0471000002")
	h.click(opsUser, opsChan, "confirm", reply.button(t, "confirm"))
	kept := h.trackedM2M(2)
	t.Run("pending while waiting", func(t *testing.T) {
		got, ok := sample("switchboard_pending_operations").value(h.scrapeMetrics())
		if !ok || got != 1 {
			t.Errorf("switchboard_pending_operations = %v (present %t), want 1 while the operation waits for its callbacks", got, ok)
		}
	})

	for _, cb := range kept {
		req, err := http.NewRequest(http.MethodPost, cb.URL, bytes.NewReader(cb.Body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = cb.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("callback answered %d, want 200", resp.StatusCode)
		}
	}
	h.waitFor("the summary in the thread", func() bool {
		for _, m := range h.slack.Messages(opsChan) {
			if strings.Contains(m.Text, "all 2 succeeded") {
				return true
			}
		}
		return false
	})

	want := []struct {
		s    series
		want float64
	}{
		{sample("switchboard_commands_total", "command", "sim", "outcome", "confirm"), 1},
		{sample("switchboard_ack_duration_seconds", "command", "sim"), 1},
		{sample("switchboard_enco_requests_total", "api", "m2m", "op", "m2m deactivation", "code", "202"), 2}, // one per card
		{sample("switchboard_enco_request_duration_seconds", "api", "m2m"), 3},                                // configure callback, two deactivations
		{sample("switchboard_callbacks_total", "kind", "m2m", "outcome", "recorded"), 2},
		{sample("switchboard_callbacks_total", "kind", "m2m"), 2},
		{sample("switchboard_slack_posts_total", "kind", "post", "outcome", "ok"), 2},
		{sample("switchboard_slack_posts_total", "kind", "summary", "outcome", "ok"), 1},
		{sample("switchboard_slack_socket_connected"), 1},
		{sample("switchboard_pending_operations"), 0},
	}
	// The deliverer counts a post after Slack answered; the summary may be
	// visible a moment before it is counted.
	var fams map[string]*dto.MetricFamily
	h.waitFor("the summary post to be counted", func() bool {
		fams = h.scrapeMetrics()
		v, _ := sample("switchboard_slack_posts_total", "kind", "summary", "outcome", "ok").value(fams)
		return v == 1
	})
	for _, w := range want {
		got, ok := w.s.value(fams)
		if !ok {
			t.Errorf("%s%v: no such series, want %v", w.s.name, w.s.labels, w.want)
			continue
		}
		if got != w.want {
			t.Errorf("%s%v = %v, want %v", w.s.name, w.s.labels, got, w.want)
		}
	}
	if _, ok := sample("switchboard_slack_posts_total", "outcome", "ratelimited").value(fams); ok {
		t.Errorf("switchboard_slack_posts_total shows rate limits; the fake Slack sent none")
	}
	if _, ok := sample("switchboard_enco_errors_total").value(fams); ok {
		t.Errorf("switchboard_enco_errors_total has a series; every EnCo call succeeded")
	}
	for _, name := range []string{"switchboard_queue_depth", "process_resident_memory_bytes"} {
		if _, ok := sample(name).value(fams); !ok {
			t.Errorf("%s is missing", name)
		}
	}
}

func TestMetricsCountRefusedCallbacks(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.forgedCallback()
	s := sample("switchboard_callbacks_total", "kind", "m2m", "outcome", "unauthorized")
	if got, _ := s.value(h.scrapeMetrics()); got != 1 {
		t.Errorf("%s%v = %v, want 1", s.name, s.labels, got)
	}
}

// withRedisURL points the bot at another Redis (a private server the test can stop).
func withRedisURL(url string) harnessOption {
	return func(h *harness) { h.useRedis(url) }
}

func TestReadinessFollowsRedisAndHealthDoesNot(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	h := newHarness(t, withRedisURL("redis://"+srv.Addr()+"/0"))
	status := func(path string) int {
		code, _ := get(t, h.cfg.PublicURL+path)
		return code
	}
	// The fake Slack sees the socket connected a moment before the bot has
	// handled its hello.
	h.waitFor("/readyz to answer 200 with Redis up and the socket connected", func() bool { return status("/readyz") == http.StatusOK })
	if got := Healthcheck(context.Background(), h.cfg.HTTPAddr, io.Discard); got != 0 {
		t.Errorf("bot -healthcheck = %d against a running bot, want 0", got)
	}

	srv.Stop()
	h.waitFor("/readyz to answer 503 with Redis down", func() bool { return status("/readyz") == http.StatusServiceUnavailable })
	// The answer is on the public port: it says no, and nothing of why.
	if _, body := get(t, h.cfg.PublicURL+"/readyz"); strings.TrimSpace(body) != "not ready" {
		t.Errorf("/readyz with Redis down answered %q, want just \"not ready\" (the details go to the log)", body)
	}
	if !strings.Contains(h.logs.String(), "readiness check failed") {
		t.Errorf("the log does not say why /readyz failed:\n%s", h.logs)
	}
	if got := status("/healthz"); got != http.StatusOK {
		t.Errorf("/healthz = %d with Redis down, want 200: the process is alive, a restart would not bring Redis back", got)
	}
	if got := Healthcheck(context.Background(), h.cfg.HTTPAddr, io.Discard); got != 0 {
		t.Errorf("bot -healthcheck = %d with Redis down, want 0 (it checks liveness)", got)
	}

	srv.Start()
	h.waitFor("/readyz to answer 200 once Redis is back", func() bool { return status("/readyz") == http.StatusOK })

	h.shutdown()
	var out strings.Builder
	if got := Healthcheck(context.Background(), h.cfg.HTTPAddr, &out); got != 1 {
		t.Errorf("bot -healthcheck = %d after shutdown, want 1", got)
	}
	if !strings.Contains(out.String(), "does not answer") {
		t.Errorf("healthcheck said %q, want it to say the bot does not answer", out.String())
	}
}

func TestMetricsServeOnlyOnMetricsAddrWhenSet(t *testing.T) {
	h := newHarness(t, func(h *harness) { h.cfg.MetricsAddr = "127.0.0.1:0" })
	if h.main.metrics == nil {
		t.Fatal("METRICS_ADDR is set but nothing listens")
	}
	code, body := get(t, "http://"+h.main.metrics.addr()+"/metrics")
	if code != http.StatusOK || !strings.Contains(body, "switchboard_") {
		t.Errorf("/metrics on METRICS_ADDR answered %d %.80q, want 200 with the bot's metrics", code, body)
	}
	if code, _ := get(t, h.cfg.PublicURL+"/metrics"); code == http.StatusOK {
		t.Errorf("/metrics on HTTP_ADDR answered 200 with METRICS_ADDR set, want it served only there")
	}
	if code, _ := get(t, h.cfg.PublicURL+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz on HTTP_ADDR answered %d, want 200: only /metrics moves", code)
	}
}

// forgedCallback posts an M2M callback with a wrong secret, which the bot
// must refuse with 401.
func (h *harness) forgedCallback() {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.cfg.PublicURL+"/callbacks/m2m", strings.NewReader(`{"trackingNumber":"1","identifier":"1","identifierType":"MSISDN","resultStatus":"Success"}`))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer wrong-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		h.t.Fatalf("callback with a wrong secret = %d, want 401", resp.StatusCode)
	}
}
