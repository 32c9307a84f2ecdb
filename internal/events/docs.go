package events

import "strings"

// CatalogueMarkdown is the catalogue as the markdown table that the
// events tag of openapi.yaml shows between its `<!-- catalogue:begin -->`
// and `<!-- catalogue:end -->` lines. A test in internal/httpapi fails
// while the two differ; run it with -update-catalogue to rewrite the
// table in openapi.yaml (then `make generate`).
func CatalogueMarkdown() string {
	var b strings.Builder
	b.WriteString("| Type | Object | Written when | `data` schema |\n")
	b.WriteString("|---|---|---|---|\n")
	for _, s := range catalogue {
		b.WriteString("| `" + string(s.Type) + "` | `" + s.Object + "` | " + cell(s.Trigger) + " | `" + s.Schema + "` |\n")
	}
	return b.String()
}

// cell escapes what would end a table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
