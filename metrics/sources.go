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
	redisUp    *prometheus.Desc
	ready      *prometheus.Desc
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
		redisUp: prometheus.NewDesc(namespace+"_redis_up",
			"1 when Redis answered this replica's ping at scrape time, else 0.", nil, nil),
		ready: prometheus.NewDesc(namespace+"_ready",
			"1 when this replica is ready (as /readyz: Redis answers and its Slack socket is connected), else 0.", nil, nil),
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
	if c.src.RedisPing != nil {
		ch <- c.redisUp
		ch <- c.ready
	}
	c.errors.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), sourceTimeout)
	defer cancel()
	c.count(ctx, ch, "queue_depth", c.queueDepth, c.src.QueueDepth)
	c.count(ctx, ch, "pending_operations", c.pending, c.src.PendingOperations)
	connected := true
	if c.src.SocketConnected != nil {
		connected = c.src.SocketConnected()
		ch <- prometheus.MustNewConstMetric(c.connected, prometheus.GaugeValue, one(connected))
	}
	if c.src.RedisPing != nil {
		// Unlike the counts above, a failure is the value here: 0, not an
		// absent series.
		up := c.src.RedisPing(ctx) == nil
		ch <- prometheus.MustNewConstMetric(c.redisUp, prometheus.GaugeValue, one(up))
		ch <- prometheus.MustNewConstMetric(c.ready, prometheus.GaugeValue, one(up && connected))
	}
	c.errors.Collect(ch)
}

func one(b bool) float64 {
	if b {
		return 1
	}
	return 0
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
