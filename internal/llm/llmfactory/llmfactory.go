// Package llmfactory builds the llm.Provider an organisation's settings
// ask for, from the platform's configuration and the org's own key. It is
// the only place that knows every adapter, so the domain depends on
// llm.Provider alone.
package llmfactory

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/llm/anthropic"
	"github.com/leadpilot/leadpilot/internal/llm/builtin"
	"github.com/leadpilot/leadpilot/internal/llm/gemini"
	"github.com/leadpilot/leadpilot/internal/llm/openai"
)

// Provider ids, as stored in an org's LLM settings.
const (
	Builtin   = "builtin"
	Anthropic = anthropic.Name
	OpenAI    = openai.OpenAI
	Gemini    = gemini.Name
	DeepSeek  = openai.DeepSeek
	Groq      = openai.Groq
)

// Providers lists every provider id, the offline one first.
var Providers = []string{Builtin, Anthropic, OpenAI, Gemini, DeepSeek, Groq}

// KeyEnv names the environment variable holding each network provider's
// platform key; cmd reads them into Platform.Keys, and error messages
// point operators at them.
var KeyEnv = map[string]string{
	Anthropic: "ANTHROPIC_API_KEY",
	OpenAI:    "OPENAI_API_KEY",
	Gemini:    "GOOGLE_AI_API_KEY",
	DeepSeek:  "DEEPSEEK_API_KEY",
	Groq:      "GROQ_API_KEY",
}

// ErrUnknownProvider is returned for a provider id not in Providers.
var ErrUnknownProvider = errors.New("llmfactory: unknown provider")

// DefaultModel returns the model a provider uses when none is chosen (the
// rule set's name for the offline provider), "" for an unknown id.
func DefaultModel(provider string) string {
	switch provider {
	case Builtin:
		return builtin.Model
	case Anthropic:
		return anthropic.DefaultModel
	case Gemini:
		return gemini.DefaultModel
	case OpenAI, DeepSeek, Groq:
		return openai.DefaultModel(provider)
	}
	return ""
}

// Platform is the deployment's LLM configuration, shared by every org.
type Platform struct {
	// Keys holds the platform key per provider id; an org without its own
	// key uses these.
	Keys map[string]string
	// BaseURLs overrides a provider's API address (a proxy, a compatible
	// local server, a test fake); missing entries use the provider's own.
	BaseURLs map[string]string
	// HTTPClient is the base client for every provider; nil means a new one.
	HTTPClient *http.Client
	// Timeout bounds one call; 0 means llm.DefaultTimeout.
	Timeout time.Duration
}

// New returns the provider for an org's settings. orgKey, when set, wins
// over the platform key, so an org that brings its own key is billed on
// it. A network provider with no key at all is an *llm.Error with Kind
// llm.ErrNotConfigured; it never falls back to another provider, because
// silently answering from a different model would hide the
// misconfiguration. An empty provider means "not chosen yet": the first
// network provider the platform has a key for, or the built-in one.
func (p Platform) New(provider, model, orgKey string) (llm.Provider, error) {
	provider = strings.ToLower(strings.TrimSpace(provider))
	orgKey = strings.TrimSpace(orgKey)

	if provider == "" {
		if orgKey != "" {
			return nil, &llm.Error{Kind: llm.ErrNotConfigured, Message: "an API key was given without choosing its provider"}
		}
		provider = p.DefaultProvider()
	}
	if !slices.Contains(Providers, provider) {
		return nil, fmt.Errorf("%w: %q (known: %s)", ErrUnknownProvider, provider, strings.Join(Providers, ", "))
	}
	if provider == Builtin {
		return builtin.New(), nil
	}

	key := orgKey
	if key == "" {
		key = strings.TrimSpace(p.Keys[provider])
	}
	if key == "" {
		return nil, &llm.Error{
			Kind:     llm.ErrNotConfigured,
			Provider: provider,
			Message:  fmt.Sprintf("no API key: add the organisation's own key in its LLM settings, or set %s for the platform", KeyEnv[provider]),
		}
	}

	base := p.BaseURLs[provider]
	// Each branch checks err itself: returning a nil *T as llm.Provider
	// would give callers a non-nil interface.
	switch provider {
	case Anthropic:
		prov, err := anthropic.New(anthropic.Config{APIKey: key, BaseURL: base, Model: model, HTTPClient: p.HTTPClient, Timeout: p.Timeout})
		if err != nil {
			return nil, err
		}
		return prov, nil
	case Gemini:
		prov, err := gemini.New(gemini.Config{APIKey: key, BaseURL: base, Model: model, HTTPClient: p.HTTPClient, Timeout: p.Timeout})
		if err != nil {
			return nil, err
		}
		return prov, nil
	default:
		prov, err := openai.New(provider, openai.Config{APIKey: key, BaseURL: base, Model: model, HTTPClient: p.HTTPClient, Timeout: p.Timeout})
		if err != nil {
			return nil, err
		}
		return prov, nil
	}
}

// DefaultProvider is what an organisation that chose nothing uses: the
// first network provider with a platform key, in the order of Providers,
// and the built-in one when there is none.
func (p Platform) DefaultProvider() string {
	for _, name := range Providers[1:] {
		if strings.TrimSpace(p.Keys[name]) != "" {
			return name
		}
	}
	return Builtin
}
