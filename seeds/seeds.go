// Package seeds holds the platform's own data, as data: the system
// sequence templates every organisation can start from (the product spec's
// template library and more). It is the one copy of them: `leadpilot seed`
// writes them to the database (internal/templates.Seed) and the built-in
// LLM provider falls back to the ones marked BuiltinDefault, so the two
// cannot drift apart.
package seeds

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/google/uuid"
)

//go:embed templates.json
var templatesJSON []byte

// Step is one template step.
type Step struct {
	Step      int    `json:"step"`
	DelayDays int    `json:"delay_days"`
	Channel   string `json:"channel"`
	Subject   string `json:"subject,omitempty"`
	Body      string `json:"body"`
}

// Template is a system sequence template with a fixed id, so seeding again
// updates it in place.
type Template struct {
	ID          uuid.UUID `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Industry    string    `json:"industry"`
	UseCase     string    `json:"use_case"`
	Channels    []string  `json:"channels"`
	Steps       []Step    `json:"steps"`
	// BuiltinDefault marks the templates the built-in LLM provider uses
	// when a request brings no template of its own.
	BuiltinDefault bool `json:"builtin_default,omitempty"`
}

// parsed is decoded once; a broken file is a build mistake caught by the
// package's tests, so Templates still reports it rather than panicking.
var parsed, parseErr = func() ([]Template, error) {
	var ts []Template
	if err := json.Unmarshal(templatesJSON, &ts); err != nil {
		return nil, fmt.Errorf("seeds: templates.json: %w", err)
	}
	return ts, nil
}()

// Templates returns the embedded system templates, in file order. The
// slices are copies: a caller may change them freely.
func Templates() ([]Template, error) {
	if parseErr != nil {
		return nil, parseErr
	}
	out := make([]Template, len(parsed))
	for i, t := range parsed {
		t.Channels = slices.Clone(t.Channels)
		t.Steps = slices.Clone(t.Steps)
		out[i] = t
	}
	return out, nil
}
