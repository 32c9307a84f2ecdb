package jobs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/hibiken/asynq"
)

// decodePayload decodes a task's JSON payload into v, strictly: unknown
// fields and trailing data are errors, so a payload from a newer or buggy
// producer is refused instead of half-understood. The error wraps
// asynq.SkipRetry because retrying cannot make a bad payload decode; the
// task goes straight to the archive, where it can be inspected.
func decodePayload(t *asynq.Task, v any) error {
	dec := json.NewDecoder(bytes.NewReader(t.Payload()))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && !errors.Is(dec.Decode(new(json.RawMessage)), io.EOF) {
		err = errors.New("trailing data after the JSON value")
	}
	if err != nil {
		return fmt.Errorf("jobs: decode %s payload: %v: %w", t.Type(), err, asynq.SkipRetry)
	}
	return nil
}
