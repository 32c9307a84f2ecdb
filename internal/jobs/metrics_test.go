package jobs_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/jobs"
)

func TestQueueMetrics(t *testing.T) {
	t.Parallel()

	t.Run("ReportsPendingTasksOfAQueueNoWorkerReads", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		queue := "test-metrics-" + uuid.NewString()
		enq := jobs.NewEnqueuer(b.redis)
		t.Cleanup(func() { _ = enq.Close() })
		_, err := enq.Enqueue(t.Context(), jobs.NewPurgeTask(), asynq.Queue(queue))
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.inspector.DeleteQueue(queue, true) })

		// The pedantic registry also checks Collect against Describe.
		reg := prometheus.NewPedanticRegistry()
		require.NoError(t, reg.Register(jobs.QueueMetrics(b.inspector)))
		families, err := reg.Gather()
		require.NoError(t, err)

		values := map[string]float64{}
		for _, fam := range families {
			for _, m := range fam.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if labels["queue"] != queue {
					continue
				}
				values[fam.GetName()+"/"+labels["state"]] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
		}
		require.GreaterOrEqual(t, values["asynq_tasks_enqueued_total/pending"], 1.0)
		require.GreaterOrEqual(t, values["asynq_queue_size/"], 1.0)
	})
}
