package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/leadpilot/leadpilot/internal/jobs"
)

// The domain side. An imports package would declare this port next to
// the service that needs it, in its own words, and import neither asynq
// nor package jobs. (No domain needs a port yet; this one stands in.)

// ImportEnqueuer starts the background work of an import.
type ImportEnqueuer interface {
	EnqueueImport(ctx context.Context, importID uuid.UUID) error
}

// ImportService owns the import's state; starting one commits the row,
// then enqueues.
type ImportService struct {
	enqueuer ImportEnqueuer
}

// Start queues an import: the tenant transaction that sets its status
// commits first (left out here), then the work is enqueued.
func (s *ImportService) Start(ctx context.Context, id uuid.UUID) error {
	if err := s.enqueuer.EnqueueImport(ctx, id); err != nil {
		return fmt.Errorf("imports: start %s: %w", id, err)
	}
	return nil
}

// The jobs side. Package jobs would add EnqueueImport to *jobs.Enqueuer
// itself, with NewImportTask beside the other task constructors; here a
// wrapper carries it so the example compiles against today's package.

const typeImportRun = "import:run"

// importTasks satisfies the domain's port with asynq: the task type,
// queue, payload of ids and TaskID are decided here, not by the domain.
type importTasks struct{ *jobs.Enqueuer }

var _ ImportEnqueuer = importTasks{}

func (e importTasks) EnqueueImport(ctx context.Context, id uuid.UUID) error {
	payload, err := json.Marshal(struct {
		ImportID uuid.UUID `json:"import_id"`
	}{id})
	if err != nil {
		return err
	}
	task := asynq.NewTask(typeImportRun, payload, asynq.Queue(jobs.QueueImport), asynq.MaxRetry(5))
	_, err = e.Enqueue(ctx, task, asynq.TaskID(typeImportRun+":"+id.String()))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil // already on its way: a retried API call is not an error
	}
	return err
}

// recordedImports is the fake a domain test gives the service: no Redis,
// and what was enqueued can be read back.
type recordedImports []uuid.UUID

func (r *recordedImports) EnqueueImport(_ context.Context, id uuid.UUID) error {
	*r = append(*r, id)
	return nil
}

// Example_ports shows the port pattern: the domain declares what it needs,
// jobs satisfies it with asynq (importTasks, wired in cmd as
// &ImportService{enqueuer: importTasks{enqueuer}}), and the domain's own
// tests run against a fake.
func Example_ports() {
	var enqueued recordedImports
	svc := &ImportService{enqueuer: &enqueued}

	id := uuid.MustParse("0193a4c2-7b1e-7c3d-9e2f-1a2b3c4d5e6f")
	if err := svc.Start(context.Background(), id); err != nil {
		fmt.Println(err)
	}
	fmt.Println(enqueued)
	// Output: [0193a4c2-7b1e-7c3d-9e2f-1a2b3c4d5e6f]
}
