package llmfactory_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/llm/builtin"
	"github.com/leadpilot/leadpilot/internal/llm/llmfactory"
	"github.com/leadpilot/leadpilot/internal/llm/llmtest"
)

const (
	platformKey = "platform-key-0123456789"
	orgKey      = "org-key-abcdefghijklmn"
)

// network describes how to fake one network provider and read the key it
// was called with.
type network struct {
	provider string
	fake     func(t testing.TB, key string) *llmtest.Server
	baseURL  func(s *llmtest.Server) string
	keySeen  func(r llmtest.Request) string
}

var networks = []network{
	{
		provider: llmfactory.Anthropic,
		fake:     llmtest.NewAnthropic,
		baseURL:  func(s *llmtest.Server) string { return s.URL },
		keySeen:  func(r llmtest.Request) string { return r.Header.Get("X-Api-Key") },
	},
	{
		provider: llmfactory.Gemini,
		fake:     llmtest.NewGemini,
		baseURL:  func(s *llmtest.Server) string { return s.URL },
		keySeen:  func(r llmtest.Request) string { return r.Header.Get("X-Goog-Api-Key") },
	},
	{
		provider: llmfactory.OpenAI,
		fake:     llmtest.NewOpenAI,
		baseURL:  llmtest.OpenAIBaseURL,
		keySeen:  bearer,
	},
	{
		provider: llmfactory.DeepSeek,
		fake:     llmtest.NewOpenAI,
		baseURL:  llmtest.OpenAIBaseURL,
		keySeen:  bearer,
	},
	{
		provider: llmfactory.Groq,
		fake:     llmtest.NewOpenAI,
		baseURL:  llmtest.OpenAIBaseURL,
		keySeen:  bearer,
	},
}

func bearer(r llmtest.Request) string {
	const prefix = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) < len(prefix) {
		return ""
	}
	return h[len(prefix):]
}

var hi = llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}

func TestNew(t *testing.T) {
	t.Parallel()

	for _, n := range networks {
		t.Run("OrgKeyBeatsThePlatformKeyFor_"+n.provider, func(t *testing.T) {
			t.Parallel()
			fake := n.fake(t, orgKey)
			platform := llmfactory.Platform{
				Keys:     map[string]string{n.provider: platformKey},
				BaseURLs: map[string]string{n.provider: n.baseURL(fake)},
			}

			p, err := platform.New(n.provider, "", orgKey)
			require.NoError(t, err)
			require.Equal(t, n.provider, p.Name())
			res, err := p.Chat(context.Background(), hi)
			require.NoError(t, err)
			require.Equal(t, n.provider, res.Provider)
			require.Equal(t, llmfactory.DefaultModel(n.provider), res.Model)

			reqs := fake.Requests()
			require.Len(t, reqs, 1)
			require.Equal(t, orgKey, n.keySeen(reqs[0]))
		})

		t.Run("UsesThePlatformKeyWithoutAnOrgKeyFor_"+n.provider, func(t *testing.T) {
			t.Parallel()
			fake := n.fake(t, platformKey)
			platform := llmfactory.Platform{
				Keys:     map[string]string{n.provider: platformKey},
				BaseURLs: map[string]string{n.provider: n.baseURL(fake)},
			}

			p, err := platform.New(n.provider, "", "")
			require.NoError(t, err)
			_, err = p.Chat(context.Background(), hi)
			require.NoError(t, err)
			require.Equal(t, platformKey, n.keySeen(fake.Requests()[0]))
		})

		t.Run("ReportsAMissingKeyAsNotConfiguredFor_"+n.provider, func(t *testing.T) {
			t.Parallel()
			platform := llmfactory.Platform{Keys: map[string]string{"other": platformKey}}

			p, err := platform.New(n.provider, "", "")
			require.Nil(t, p)
			require.ErrorIs(t, err, llm.ErrNotConfigured)
			var e *llm.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, n.provider, e.Provider)
			require.Contains(t, e.Message, llmfactory.KeyEnv[n.provider])
		})
	}

	t.Run("PassesTheChosenModel", func(t *testing.T) {
		t.Parallel()
		fake := llmtest.NewAnthropic(t, orgKey)
		platform := llmfactory.Platform{BaseURLs: map[string]string{llmfactory.Anthropic: fake.URL}}

		p, err := platform.New("Anthropic", "claude-haiku-5-5", orgKey)
		require.NoError(t, err)
		_, err = p.Chat(context.Background(), hi)
		require.NoError(t, err)
		require.Equal(t, "claude-haiku-5-5", fake.Requests()[0].JSON(t)["model"])
	})

	t.Run("ReturnsTheBuiltinProviderWhenNothingIsConfigured", func(t *testing.T) {
		t.Parallel()
		p, err := llmfactory.Platform{}.New("", "", "")
		require.NoError(t, err)
		require.IsType(t, &builtin.Provider{}, p)
		require.Equal(t, "builtin", p.Name())
	})

	t.Run("ReturnsTheBuiltinProviderWhenChosenEvenWithKeys", func(t *testing.T) {
		t.Parallel()
		p, err := llmfactory.Platform{Keys: map[string]string{llmfactory.OpenAI: platformKey}}.New("builtin", "", "")
		require.NoError(t, err)
		require.Equal(t, "builtin", p.Name())
	})

	t.Run("PicksTheFirstProviderWithAPlatformKeyWhenNoneIsChosen", func(t *testing.T) {
		t.Parallel()
		platform := llmfactory.Platform{Keys: map[string]string{llmfactory.Groq: platformKey, llmfactory.Gemini: platformKey}}

		p, err := platform.New("", "", "")
		require.NoError(t, err)
		require.Equal(t, llmfactory.Gemini, p.Name())
	})

	t.Run("RefusesAKeyWithoutAProvider", func(t *testing.T) {
		t.Parallel()
		_, err := llmfactory.Platform{}.New("", "", orgKey)
		require.ErrorIs(t, err, llm.ErrNotConfigured)
	})

	t.Run("RefusesAnUnknownProvider", func(t *testing.T) {
		t.Parallel()
		_, err := llmfactory.Platform{}.New("mistral", "", orgKey)
		require.ErrorIs(t, err, llmfactory.ErrUnknownProvider)
	})
}

func TestDefaultModel(t *testing.T) {
	t.Parallel()

	t.Run("NamesACurrentModelForEveryProvider", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, map[string]string{
			"builtin":   "builtin-rules-v1",
			"anthropic": "claude-sonnet-5-5",
			"openai":    "gpt-6-luna",
			"gemini":    "gemini-3.5-flash",
			"deepseek":  "deepseek-flash",
			"groq":      "openai/gpt-oss-120b",
		}, func() map[string]string {
			m := map[string]string{}
			for _, p := range llmfactory.Providers {
				m[p] = llmfactory.DefaultModel(p)
			}
			return m
		}())
		require.Empty(t, llmfactory.DefaultModel("mistral"))
	})
}

// TestIgnoresEnvironment cannot run in parallel: it sets the process-wide
// variables the SDKs fall back to, which must never stand in for a
// missing org or platform key.
func TestIgnoresEnvironment(t *testing.T) {
	for _, env := range []string{"ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_AI_API_KEY", "DEEPSEEK_API_KEY", "GROQ_API_KEY"} {
		t.Setenv(env, "env-key-0123456789")
	}

	t.Run("AnUnconfiguredProviderStaysUnconfigured", func(t *testing.T) {
		for _, n := range networks {
			_, err := llmfactory.Platform{}.New(n.provider, "", "")
			require.ErrorIs(t, err, llm.ErrNotConfigured, n.provider)
		}
	})

	t.Run("NothingConfiguredStillMeansBuiltin", func(t *testing.T) {
		p, err := llmfactory.Platform{}.New("", "", "")
		require.NoError(t, err)
		require.Equal(t, "builtin", p.Name())
	})
}
