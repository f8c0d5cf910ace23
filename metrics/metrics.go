// Package metrics holds the bot's Prometheus metrics: what its commands,
// EnCo calls, callbacks and Slack posts do, and the state of its queue and
// socket. The collectors live in a registry the bot owns (never the global
// default), served by Handler on /metrics.
//
// The counting methods have the signatures of the hooks the other packages
// offer (commands.Settings.OnAck, enco.Client.Observe, notify.Receiver.OnCallback,
// slackpost.Deliverer.OnPost, notify.Expirer.OnExpired,
// commands.Scheduler.OnChange), so wiring is one assignment each; Slack's Web
// API calls are counted by a transport under slack-go (SlackTransport). Gauges
// that need Redis are read when Prometheus scrapes, not kept up to date by
// polling. The alert rules and the dashboard built on these metrics are in
// deploy/prometheus and deploy/grafana.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes every metric name of the bot.
const namespace = "switchboard"

// sourceTimeout bounds the reads of Sources during one scrape.
const sourceTimeout = 2 * time.Second

// Sources are where the gauges read their values when Prometheus scrapes. A
// nil field leaves its gauge out.
type Sources struct {
	// QueueDepth counts the Slack messages waiting in the outgoing queue.
	QueueDepth func(ctx context.Context) (int64, error)
	// PendingOperations counts the operations still waiting for results.
	PendingOperations func(ctx context.Context) (int64, error)
	// SocketConnected reports whether the Slack socket is up.
	SocketConnected func() bool
	// RedisPing checks that Redis answers. It makes switchboard_redis_up,
	// and with SocketConnected switchboard_ready (what /readyz answers).
	RedisPing func(ctx context.Context) error
}

// Metrics counts what the bot does. Its methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	commands     *prometheus.CounterVec
	ack          *prometheus.HistogramVec
	encoDuration *prometheus.HistogramVec
	encoRequests *prometheus.CounterVec
	encoErrors   *prometheus.CounterVec
	callbacks    *prometheus.CounterVec
	slackPosts   *prometheus.CounterVec
	slackAPI     *prometheus.CounterVec
	expired      *prometheus.CounterVec
	schedChanges *prometheus.CounterVec
	schedLate    prometheus.Histogram
	unaudited    *prometheus.CounterVec

	// knownCommands bounds the command label: Slack only sends the commands
	// of the app's manifest, but a label must never take arbitrary values.
	knownCommands map[string]bool
}

// New makes the collectors, with the Go runtime's and the process's (memory,
// CPU, open files), in a new registry. commands are the names of the slash
// commands (commands.Names): each labels its own series, any other command
// is labelled "other".
func New(src Sources, commands ...string) *Metrics {
	m := &Metrics{
		reg:           prometheus.NewRegistry(),
		knownCommands: map[string]bool{},
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "commands_total",
			Help: "Slack commands answered, by command and outcome.",
		}, []string{"command", "outcome"}),
		ack: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "ack_duration_seconds",
			Help:    "Time from a slash command's arrival to its acknowledgement (Slack gives up after 3 s).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2, 3},
		}, []string{"command"}),
		encoDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "enco_request_duration_seconds",
			Help:    "Duration of each attempt of an EnCo API call, by API.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15, 30},
		}, []string{"api"}),
		encoRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "enco_requests_total",
			Help: `EnCo API attempts, by API, operation and HTTP status ("none" when no reply came).`,
		}, []string{"api", "op", "code"}),
		encoErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "enco_errors_total",
			Help: "Failed EnCo API attempts, by API and reason (throttled, server, unauthorized, refused, timeout, network).",
		}, []string{"api", "reason"}),
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "callbacks_total",
			Help: "EnCo callbacks received, by kind (m2m, fmu, call) and outcome (recorded, parked, unauthorized, unknown, rejected, failed).",
		}, []string{"kind", "outcome"}),
		slackPosts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "slack_posts_total",
			Help: "Slack calls made from the outgoing queue, by kind (post, progress, summary, file) and outcome (ok, ratelimited, refused, failed).",
		}, []string{"kind", "outcome"}),
		slackAPI: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "slack_api_requests_total",
			Help: `Every Slack Web API call the bot makes, by method (chat.postMessage, ...) and HTTP status ("none" when no reply came); 429 is Slack's rate limit.`,
		}, []string{"method", "code"}),
		expired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "operations_expired_total",
			Help: "Operations closed at their deadline while still waiting, by command: for EnCo's answers, or for a workflow step's confirmation.",
		}, []string{"command"}),
		schedChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "fmu_schedule_changes_total",
			Help: "Scheduled FMU changes settled, by outcome (done, failed after its retries, skipped: too late, denied or no number).",
		}, []string{"outcome"}),
		schedLate: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "fmu_schedule_lateness_seconds",
			Help:    "How long after its due time a scheduled FMU change was made.",
			Buckets: []float64{.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900},
		}),
		unaudited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "refusals_unaudited_total",
			Help: "Refusals past the allowance of audited refusals, counted instead of written to the audit trail, by refusal (rate_limited, step).",
		}, []string{"refusal"}),
	}
	for _, c := range commands {
		m.knownCommands[c] = true
		// Counters that alerts take the increase of exist from the start:
		// the first expiry must count as an increase, not as a new series.
		m.expired.WithLabelValues(c)
	}
	for _, o := range scheduleOutcomes {
		m.schedChanges.WithLabelValues(o)
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.commands, m.ack, m.encoDuration, m.encoRequests, m.encoErrors, m.callbacks, m.slackPosts,
		m.slackAPI, m.expired, m.schedChanges, m.schedLate, m.unaudited,
		newSourceCollector(src),
	)
	return m
}

// Registry is the registry the collectors are in, for tests and for adding more.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in Prometheus's text format. A collector that
// fails leaves its series out; the others are still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg,
	})
}

// OnCommand counts a command's outcome; it matches commands.Settings.OnCommand.
func (m *Metrics) OnCommand(command, outcome string) {
	m.commands.WithLabelValues(m.commandName(command), outcome).Inc()
}

// OnUnaudited counts a refusal that was not written to the audit trail; it
// matches commands.Router.OnUnaudited.
func (m *Metrics) OnUnaudited(refusal string) {
	switch refusal {
	case "rate_limited", "step":
	default:
		refusal = "other"
	}
	m.unaudited.WithLabelValues(refusal).Inc()
}

// OnAck records how long a slash command took to acknowledge; it matches
// commands.Settings.OnAck.
func (m *Metrics) OnAck(command string, d time.Duration) {
	m.ack.WithLabelValues(m.commandName(command)).Observe(d.Seconds())
}

// ObserveEnco records one attempt of an EnCo call; it matches enco.Client.Observe.
func (m *Metrics) ObserveEnco(api, op string, status int, d time.Duration, err error) {
	m.encoDuration.WithLabelValues(api).Observe(d.Seconds())
	code := "none"
	if status != 0 {
		code = strconv.Itoa(status)
	}
	m.encoRequests.WithLabelValues(api, op, code).Inc()
	if err != nil {
		m.encoErrors.WithLabelValues(api, encoReason(status, err)).Inc()
	}
}

// OnCallback counts a callback by the status it was answered with; it
// matches notify.Receiver.OnCallback.
func (m *Metrics) OnCallback(kind string, status int) {
	m.callbacks.WithLabelValues(kind, callbackOutcome(status)).Inc()
}

// OnPost counts a Slack call of the deliverer by its outcome (ok,
// ratelimited, refused, failed); it matches slackpost.Deliverer.OnPost.
func (m *Metrics) OnPost(kind, outcome string) {
	m.slackPosts.WithLabelValues(kind, outcome).Inc()
}

func (m *Metrics) commandName(command string) string {
	name := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(command)), "/")
	if m.knownCommands[name] {
		return name
	}
	return "other"
}

func encoReason(status int, err error) string {
	switch {
	case status == http.StatusTooManyRequests:
		return "throttled"
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return "unauthorized"
	case status >= 500:
		return "server"
	case status >= 400:
		return "refused"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "network"
}

func callbackOutcome(status int) string {
	switch {
	case status == http.StatusAccepted:
		return "parked" // arrived before its tracking number was known
	case status >= 200 && status < 300:
		return "recorded"
	case status == http.StatusUnauthorized:
		return "unauthorized"
	case status == http.StatusForbidden || status == http.StatusNotFound || status == http.StatusGone:
		return "unknown" // no such token, tracking number or operation
	case status >= 400 && status < 500:
		return "rejected"
	}
	return "failed"
}
