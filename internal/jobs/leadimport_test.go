package jobs_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/jobs"
	"github.com/leadpilot/leadpilot/internal/leadimports"
)

// The jobs side satisfies the leadimports port, and the service is a runner.
var (
	_ leadimports.Enqueuer  = (*jobs.Enqueuer)(nil)
	_ jobs.LeadImportRunner = (*leadimports.Service)(nil)
)

type recordingRunner struct{ org, id uuid.UUID }

func (r *recordingRunner) Run(_ context.Context, org, id uuid.UUID) error {
	r.org, r.id = org, id
	return nil
}

func TestLeadImportTask(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("AnImportIsEnqueuedOnceOnTheImportQueue", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		e := jobs.NewEnqueuer(b.redis)
		t.Cleanup(func() { _ = e.Close() })
		org, id := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
		require.NoError(t, e.EnqueueLeadImport(ctx, org, id))
		require.NoError(t, e.EnqueueLeadImport(ctx, org, id), "a second enqueue of the same import is not an error")
		info, err := b.inspector.GetTaskInfo(jobs.QueueImport, jobs.TypeLeadImport+":"+id.String())
		require.NoError(t, err)
		require.Equal(t, jobs.TypeLeadImport, info.Type)
		require.JSONEq(t, `{"org_id":"`+org.String()+`","import_id":"`+id.String()+`"}`, string(info.Payload))
		require.NoError(t, b.inspector.DeleteTask(jobs.QueueImport, info.ID))
	})

	t.Run("TheHandlerRunsTheImportThePayloadNames", func(t *testing.T) {
		t.Parallel()
		r := &recordingRunner{}
		org, id := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
		task, err := jobs.NewLeadImportTask(org, id)
		require.NoError(t, err)
		require.NoError(t, jobs.NewLeadImportHandler(r).ProcessTask(ctx, task))
		require.Equal(t, [2]uuid.UUID{org, id}, [2]uuid.UUID{r.org, r.id})
	})

	t.Run("APayloadWithoutIdsIsNotRetried", func(t *testing.T) {
		t.Parallel()
		err := jobs.NewLeadImportHandler(&recordingRunner{}).ProcessTask(ctx, asynq.NewTask(jobs.TypeLeadImport, []byte(`{}`)))
		require.True(t, errors.Is(err, asynq.SkipRetry), "%v", err)
	})
}
