package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// sourceCollector reads Sources at scrape time. A source that fails leaves
// its gauge out of that scrape (an absent series, not a false zero) and is
// counted in switchboard_metrics_source_errors_total.
type sourceCollector struct {
	src Sources

	queueDepth *prometheus.Desc
	pending    *prometheus.Desc
	connected  *prometheus.Desc
	errors     *prometheus.CounterVec
}

func newSourceCollector(src Sources) *sourceCollector {
	return &sourceCollector{
		src: src,
		queueDepth: prometheus.NewDesc(namespace+"_queue_depth",
			"Slack messages waiting in the outgoing queue (shared by all replicas).", nil, nil),
		pending: prometheus.NewDesc(namespace+"_pending_operations",
			"Operations waiting for their EnCo results (shared by all replicas).", nil, nil),
		connected: prometheus.NewDesc(namespace+"_slack_socket_connected",
			"1 while this replica's Slack socket is connected, else 0.", nil, nil),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "metrics_source_errors_total",
			Help: "Scrapes that could not read a gauge's source (queue_depth, pending_operations).",
		}, []string{"gauge"}),
	}
}

// Describe implements prometheus.Collector.
func (c *sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	if c.src.QueueDepth != nil {
		ch <- c.queueDepth
	}
	if c.src.PendingOperations != nil {
		ch <- c.pending
	}
	if c.src.SocketConnected != nil {
		ch <- c.connected
	}
	c.errors.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), sourceTimeout)
	defer cancel()
	c.count(ctx, ch, "queue_depth", c.queueDepth, c.src.QueueDepth)
	c.count(ctx, ch, "pending_operations", c.pending, c.src.PendingOperations)
	if c.src.SocketConnected != nil {
		v := 0.0
		if c.src.SocketConnected() {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.connected, prometheus.GaugeValue, v)
	}
	c.errors.Collect(ch)
}

func (c *sourceCollector) count(ctx context.Context, ch chan<- prometheus.Metric, gauge string, desc *prometheus.Desc, read func(context.Context) (int64, error)) {
	if read == nil {
		return
	}
	n, err := read(ctx)
	if err != nil {
		c.errors.WithLabelValues(gauge).Inc()
		return
	}
	ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(n))
}
