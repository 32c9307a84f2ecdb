// Package builtin is the offline language-model provider: deterministic
// templates and rules, no network, no key. It is the default when an
// organisation has configured no provider, so the whole product can be
// tried end to end on a fresh machine, and every answer it gives is
// labelled provider "builtin" so nobody mistakes it for a real model.
//
// It writes sequences by personalising the best-matching template,
// classifies replies with header and phrase rules, chats by asking the
// autopilot interview's questions in order, and extracts the answers with
// simple parsing.
package builtin

import (
	"unicode"

	"github.com/leadpilot/leadpilot/internal/llm"
)

// Identity of the provider, as reported in every result's Meta.
const (
	// Name is the provider id.
	Name = "builtin"
	// Model names the rule set; bump it when rules change in a way that
	// alters stored results, so they can be told apart.
	Model = "builtin-rules-v1"
)

// Provider is the built-in provider. The zero value is ready to use and,
// holding no state, it is safe for concurrent use.
//
// Usage in its results is approximate: PromptTokens and CompletionTokens
// are whitespace-separated word counts of the input and output, not model
// tokens, so per-org usage charts still move when the built-in provider is
// used but cost nothing.
type Provider struct{}

var _ llm.Provider = (*Provider)(nil)

// New returns the built-in provider.
func New() *Provider { return &Provider{} }

// Name returns "builtin".
func (*Provider) Name() string { return Name }

// meta labels a result and records the rough word counts.
func meta(promptWords, completionWords int) llm.Meta {
	return llm.Meta{
		Provider: Name,
		Model:    Model,
		Usage:    llm.Usage{PromptTokens: promptWords, CompletionTokens: completionWords},
	}
}

// words counts whitespace-separated words across texts.
func words(texts ...string) int {
	n := 0
	for _, t := range texts {
		// As len(strings.Fields(t)), without building the slice.
		in := false
		for _, r := range t {
			switch space := unicode.IsSpace(r); {
			case space:
				in = false
			case !in:
				in = true
				n++
			}
		}
	}
	return n
}
