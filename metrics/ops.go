package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// scheduleOutcomes are the outcomes a scheduled FMU change is counted under;
// any other is counted as "other".
var scheduleOutcomes = []string{"done", "failed", "skipped"}

// OnExpired counts an operation closed at its deadline without all its
// answers; it matches notify.Expirer.OnExpired. kind is the operation's kind
// ("fmu.read"); its command labels the series.
func (m *Metrics) OnExpired(kind string) {
	command, _, _ := strings.Cut(kind, ".")
	m.expired.WithLabelValues(m.commandName(command)).Inc()
}

// OnScheduledChange counts a settled scheduled FMU change and, for one that
// was made, how late; it matches commands.Scheduler.OnChange.
func (m *Metrics) OnScheduledChange(outcome string, late time.Duration) {
	known := false
	for _, o := range scheduleOutcomes {
		known = known || o == outcome
	}
	if !known {
		outcome = "other"
	}
	m.schedChanges.WithLabelValues(outcome).Inc()
	if outcome == "done" {
		m.schedLate.Observe(max(late, 0).Seconds())
	}
}

// SlackTransport counts every call made through it to Slack's Web API at
// apiURL (ending in /), by method and HTTP status, then passes it to next
// (http.DefaultTransport when nil). It sits under slack-go's client, so it
// sees every call, whichever part of the bot makes it, and every 429.
func (m *Metrics) SlackTransport(next http.RoundTripper, apiURL string) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &slackTransport{next: next, apiURL: apiURL, calls: m.slackAPI}
}

type slackTransport struct {
	next   http.RoundTripper
	apiURL string
	calls  *prometheus.CounterVec
}

// maxMethodLen bounds the method label; Slack's longest method names are
// about 40 characters.
const maxMethodLen = 64

// RoundTrip implements http.RoundTripper.
func (t *slackTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	code := "none"
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	t.calls.WithLabelValues(t.method(req), code).Inc()
	return resp, err
}

// method is the Web API method a request calls, or "other" for anything
// else (an upload URL, whose path may be a credential, never becomes a label).
func (t *slackTransport) method(req *http.Request) string {
	u := *req.URL
	u.RawQuery, u.Fragment = "", ""
	name, ok := strings.CutPrefix(u.String(), t.apiURL)
	if !ok || name == "" || len(name) > maxMethodLen {
		return "other"
	}
	for _, r := range name {
		if !(r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "other"
		}
	}
	return name
}
