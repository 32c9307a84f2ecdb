package jobs

import (
	"github.com/hibiken/asynq"
	"github.com/hibiken/asynq/x/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// QueueMetrics returns a Prometheus collector that reads every queue from
// Redis at scrape time: asynq_tasks_enqueued_total{queue,state} (pending,
// active, scheduled, retry, archived, completed), asynq_queue_size,
// asynq_queue_latency_seconds, asynq_queue_memory_usage_approx_bytes,
// asynq_tasks_processed_total, asynq_tasks_failed_total and
// asynq_queue_paused_total. It is asynq's own collector, so asynqmon's
// Prometheus view and dashboards written for it work unchanged.
//
// Two behaviours of that collector to know when alerting: a Redis error
// is written to the standard logger and the scrape carries no queue
// metrics (alert on their absence), and the processed and failed counters
// are asynq's daily counts, which reset at midnight UTC (rate() treats
// that as a counter reset).
func QueueMetrics(inspector *asynq.Inspector) prometheus.Collector {
	return metrics.NewQueueMetricsCollector(inspector)
}
