package jobs_test

import (
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/jobs"
)

// TestPorts checks the asynq side of Example_ports against Redis, so the
// pattern the package documentation teaches is known to work.
func TestPorts(t *testing.T) {
	t.Parallel()

	t.Run("TheAdapterEnqueuesOneTaskOfIdsPerImport", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		enq := jobs.NewEnqueuer(b.redis)
		t.Cleanup(func() { _ = enq.Close() })
		var port ImportEnqueuer = importTasks{enq}

		id := uuid.Must(uuid.NewV7())
		require.NoError(t, port.EnqueueImport(t.Context(), id))
		require.NoError(t, port.EnqueueImport(t.Context(), id), "a second enqueue of the same import is not an error")

		taskID := typeImportRun + ":" + id.String()
		info, err := b.inspector.GetTaskInfo(jobs.QueueImport, taskID)
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.inspector.DeleteTask(jobs.QueueImport, taskID) })
		require.Equal(t, typeImportRun, info.Type)
		var p struct {
			ImportID uuid.UUID `json:"import_id"`
		}
		require.NoError(t, json.Unmarshal(info.Payload, &p))
		require.Equal(t, id, p.ImportID, "the payload carries the id, not a snapshot")

		// The second EnqueueImport succeeded because asynq refused the
		// duplicate, as it refuses this one.
		_, err = enq.Enqueue(t.Context(), asynq.NewTask(typeImportRun, nil, asynq.Queue(jobs.QueueImport)), asynq.TaskID(taskID))
		require.ErrorIs(t, err, asynq.ErrTaskIDConflict)
	})
}
