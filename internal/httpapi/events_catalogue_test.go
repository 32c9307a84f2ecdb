package httpapi_test

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api/server"
	"github.com/leadpilot/leadpilot/internal/events"
)

var updateCatalogue = flag.Bool("update-catalogue", false, "rewrite the event catalogue table in openapi.yaml from events.Catalogue()")

const (
	catalogueBegin = "<!-- catalogue:begin -->"
	catalogueEnd   = "<!-- catalogue:end -->"
)

// TestEventsTagDocumentsTheCatalogue keeps the table in the events tag of
// openapi.yaml equal to events.Catalogue(). To regenerate it:
//
//	go test ./internal/httpapi -run TestEventsTagDocumentsTheCatalogue -update-catalogue && make generate
func TestEventsTagDocumentsTheCatalogue(t *testing.T) {
	t.Parallel()
	want := events.CatalogueMarkdown()
	spec := servedSpec(t)
	if *updateCatalogue {
		// Check the rewritten file; the embedded copy follows with make generate.
		rewriteCatalogue(t, "../../openapi.yaml", want)
		var err error
		spec, err = openapi3.NewLoader().LoadFromFile("../../openapi.yaml")
		require.NoError(t, err)
	}
	tag := spec.Tags.Get("events")
	require.NotNil(t, tag, "openapi.yaml has an events tag")
	_, rest, ok := strings.Cut(tag.Description, catalogueBegin+"\n")
	require.True(t, ok, "the events tag holds %s", catalogueBegin)
	got, _, ok := strings.Cut(rest, catalogueEnd)
	require.True(t, ok, "the events tag holds %s", catalogueEnd)
	require.Equal(t, want, got, "the catalogue table in openapi.yaml is stale: run this test with -update-catalogue, then make generate; expected block:\n%s", want)
	for _, s := range events.Catalogue() {
		require.Contains(t, spec.Components.Schemas, s.Schema, "%s: its data schema %s is a component of openapi.yaml", s.Type, s.Schema)
	}
}

// servedSpec is openapi.yaml as /openapi.yaml serves it (the generated
// GetSwagger drops schemas no operation references, such as the data
// schemas only the catalogue names).
func servedSpec(t *testing.T) *openapi3.T {
	t.Helper()
	spec, err := openapi3.NewLoader().LoadFromData(server.SpecYAML)
	require.NoError(t, err)
	return spec
}

// rewriteCatalogue replaces the table between the markers in the YAML
// file at path, keeping the markers' indentation.
func rewriteCatalogue(t *testing.T, path, table string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	s := string(b)
	i := strings.Index(s, catalogueBegin)
	j := strings.Index(s, catalogueEnd)
	require.True(t, i >= 0 && j > i, "%s holds both catalogue markers", path)
	lineStart := strings.LastIndexByte(s[:i], '\n') + 1
	indent := s[lineStart:i]
	endLine := strings.LastIndexByte(s[:j], '\n') + 1
	var out strings.Builder
	for _, line := range strings.SplitAfter(table, "\n") {
		if line != "" {
			out.WriteString(indent + line)
		}
	}
	s = s[:i+len(catalogueBegin)] + "\n" + out.String() + s[endLine:]
	require.NoError(t, os.WriteFile(path, []byte(s), 0o644))
	t.Logf("rewrote the catalogue in %s: run make generate", path)
}

// TestEventTypeEnumsAreTheCatalogue keeps the EventTypeName and
// EventTypeSubscription enums of openapi.yaml equal to the catalogue.
func TestEventTypeEnumsAreTheCatalogue(t *testing.T) {
	t.Parallel()
	spec := servedSpec(t)
	var types []any
	for _, s := range events.Catalogue() {
		types = append(types, string(s.Type))
	}
	require.Equal(t, types, spec.Components.Schemas["EventTypeName"].Value.Enum, "EventTypeName lists the catalogue, in its order")
	require.Equal(t, append([]any{"*"}, types...), spec.Components.Schemas["EventTypeSubscription"].Value.Enum, `EventTypeSubscription is "*" and the catalogue`)
}
