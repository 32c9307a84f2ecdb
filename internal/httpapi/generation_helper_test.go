package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/jobs"
	"github.com/leadpilot/leadpilot/internal/llm/llmfactory"
	"github.com/leadpilot/leadpilot/internal/llmsettings"
	"github.com/leadpilot/leadpilot/internal/sequences"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

// runGeneration is the worker's part of a generation run started through
// the API: the real task handler, called as asynq would, with the built-in
// provider.
func runGeneration(t *testing.T, org, run uuid.UUID) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	gen := sequences.NewGenerator(testkit.DB(t), sequences.ProvidersFrom(llmsettings.NewService(testkit.DB(t), testKeyring(t), llmfactory.Platform{}, quiet)),
		nil, sequences.GeneratorOptions{Logger: quiet})
	task, err := jobs.NewSequenceGenerationTask(org, run)
	require.NoError(t, err)
	require.NoError(t, jobs.NewSequenceGenerationHandler(gen).ProcessTask(context.Background(), task))
}
