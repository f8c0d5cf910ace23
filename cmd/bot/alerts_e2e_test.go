package main

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// scrapedSeries flattens scraped families into the series Prometheus
// stores: a histogram becomes its _bucket (with le), _sum and _count series.
func scrapedSeries(fams map[string]*dto.MetricFamily) []series {
	var out []series
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			with := func(k, v string) map[string]string {
				c := map[string]string{k: v}
				for lk, lv := range labels {
					c[lk] = lv
				}
				return c
			}
			switch {
			case m.Histogram != nil:
				for _, b := range m.GetHistogram().GetBucket() {
					out = append(out, series{name: name + "_bucket", labels: with("le", strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64))})
				}
				out = append(out, series{name: name + "_bucket", labels: with("le", "+Inf")},
					series{name: name + "_sum", labels: labels}, series{name: name + "_count", labels: labels})
			case m.Summary != nil:
				out = append(out, series{name: name, labels: labels},
					series{name: name + "_sum", labels: labels}, series{name: name + "_count", labels: labels})
			default:
				out = append(out, series{name: name, labels: labels})
			}
		}
	}
	return out
}

// matches reports whether a scraped series is one s selects and carries
// the labels its aggregation groups by.
func (s selector) matches(got series) bool {
	if got.name != s.name {
		return false
	}
	for _, m := range s.matchers {
		if !m.Matches(got.labels[m.Name]) { // a missing label reads as "", as in Prometheus
			return false
		}
	}
	for _, l := range s.by {
		if _, ok := got.labels[l]; !ok {
			return false
		}
	}
	return true
}

// TestAlertSeriesAfterARefusedCallbackA429AndAnExpiry runs the bot through
// a callback with a wrong secret, a Slack 429, an EnCo error and an
// operation that expires unanswered, scrapes /metrics, and checks that every
// series selector of every alert rule finds a series, with the labels it
// matches on and groups by; and that the events were counted where the
// alerts look for them.
func TestAlertSeriesAfterARefusedCallbackA429AndAnExpiry(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.enco.SetDropCallbacks(true) // EnCo never answers: the operation expires

	// Slack refuses the operation's first message once; the bot waits out
	// the Retry-After and posts it.
	h.slack.RateLimit("chat.postMessage", 1, time.Second)
	_, reply := h.command(opsUser, opsChan, "/sim deactivate 0471000001")
	h.click(opsUser, opsChan, "confirm", reply.button(t, "confirm"))
	h.trackedM2M(1)
	h.waitFor("the operation's first message, after the 429", func() bool {
		for _, m := range h.slack.Messages(opsChan) {
			if strings.Contains(m.Text, "0 of 1 done") {
				return true
			}
		}
		return false
	})

	// A callback with a wrong secret.
	h.forgedCallback()

	// EnCo fails a read once.
	h.enco.FailNext(1, http.StatusServiceUnavailable)
	h.command(opsUser, opsChan, "/sim status 0471000002")
	h.waitFor("the failed EnCo attempt to be counted", func() bool {
		v, _ := sample("switchboard_enco_errors_total", "api", "m2m", "reason", "server").value(h.scrapeMetrics())
		return v >= 1
	})

	// The deactivation's deadline passes without its callback.
	if n, err := h.main.expirer.Sweep(h.ctx, time.Now().Add(25*time.Hour)); err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want the deactivation expired", n, err)
	}

	fams := h.scrapeMetrics()
	for _, w := range []struct {
		s    series
		want float64
	}{
		{sample("switchboard_callbacks_total", "kind", "m2m", "outcome", "unauthorized"), 1},
		{sample("switchboard_slack_api_requests_total", "method", "chat.postMessage", "code", "429"), 1},
		{sample("switchboard_operations_expired_total", "command", "sim"), 1},
		{sample("switchboard_operations_expired_total", "command", "fmu"), 0},
		{sample("switchboard_fmu_schedule_changes_total", "outcome", "skipped"), 0},
		{sample("switchboard_redis_up"), 1},
		{sample("switchboard_ready"), 1},
		{sample("switchboard_slack_socket_connected"), 1},
		{sample("switchboard_pending_operations"), 0},
	} {
		got, ok := w.s.value(fams)
		if !ok || got != w.want {
			t.Errorf("%s%v = %v (present %t), want %v", w.s.name, w.s.labels, got, ok, w.want)
		}
	}

	scraped := scrapedSeries(fams)
	rules, err := ruleExprs(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range rules {
		sels, err := selectors(q)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sels {
			found := false
			for _, got := range scraped {
				found = found || s.matches(got)
			}
			if !found {
				t.Errorf("%s: no scraped series for %s with matchers %v and labels %v", q.where, s.name, s.matchers, s.by)
			}
		}
	}
}
