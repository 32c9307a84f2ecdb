package gemini_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/llm/gemini"
	"github.com/leadpilot/leadpilot/internal/llm/llmtest"
)

const testKey = "AIzaSy-test-key-0123456789"

type bundle struct {
	fake *llmtest.Server
}

func setup(t *testing.T, cfg gemini.Config) (*gemini.Provider, bundle) {
	t.Helper()
	fake := llmtest.NewGemini(t, testKey)
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	cfg.BaseURL = fake.URL
	if cfg.RetryBaseDelay == 0 {
		cfg.RetryBaseDelay = time.Millisecond
	}
	p, err := gemini.New(cfg)
	require.NoError(t, err)
	return p, bundle{fake: fake}
}

// contents returns the request's contents as role/text pairs.
func contents(t *testing.T, req llmtest.Request) []llm.Message {
	t.Helper()
	var out []llm.Message
	for _, c := range req.JSON(t)["contents"].([]any) {
		cm := c.(map[string]any)
		for _, part := range cm["parts"].([]any) {
			out = append(out, llm.Message{Role: llm.Role(cm["role"].(string)), Content: part.(map[string]any)["text"].(string)})
		}
	}
	return out
}

func systemText(t *testing.T, req llmtest.Request) string {
	t.Helper()
	si, ok := req.JSON(t)["systemInstruction"].(map[string]any)
	if !ok {
		return ""
	}
	return si["parts"].([]any)[0].(map[string]any)["text"].(string)
}

func generationConfig(t *testing.T, req llmtest.Request) map[string]any {
	t.Helper()
	gc, _ := req.JSON(t)["generationConfig"].(map[string]any)
	return gc
}

var generatePath = "/v1beta/models/" + gemini.DefaultModel + ":generateContent"

func TestChat(t *testing.T) {
	t.Parallel()

	t.Run("SendsTheConversationWithTheKeyHeaderAndModelPath", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, gemini.Config{})
		b.fake.Enqueue(llmtest.GeminiText(gemini.DefaultModel, "Hi Ana!", 21, 5))
		temp := 0.4

		res, err := p.Chat(context.Background(), llm.ChatRequest{
			Messages: []llm.Message{
				{Role: llm.RoleSystem, Content: "You are LeadPilot."},
				{Role: llm.RoleAssistant, Content: "Who do you sell to?"},
				{Role: llm.RoleUser, Content: "Dentists."},
			},
			Temperature: &temp,
			MaxTokens:   300,
		})
		require.NoError(t, err)
		require.Equal(t, "Hi Ana!", res.Content)
		require.Equal(t, llm.Meta{Provider: "gemini", Model: gemini.DefaultModel, Usage: llm.Usage{PromptTokens: 21, CompletionTokens: 5}}, res.Meta)

		reqs := b.fake.Requests()
		require.Len(t, reqs, 1)
		req := reqs[0]
		require.Equal(t, http.MethodPost, req.Method)
		require.Equal(t, generatePath, req.Path)
		require.Equal(t, testKey, req.Header.Get("X-Goog-Api-Key"))
		require.Empty(t, req.Query.Get("key"), "the key travels in a header, never in a URL that may be logged")
		require.Equal(t, "You are LeadPilot.", systemText(t, req))
		require.Equal(t, []llm.Message{
			{Role: "user", Content: "(conversation start)"},
			{Role: "model", Content: "Who do you sell to?"},
			{Role: "user", Content: "Dentists."},
		}, contents(t, req))
		gc := generationConfig(t, req)
		require.InDelta(t, 0.4, gc["temperature"], 1e-6)
		require.InDelta(t, 300, gc["maxOutputTokens"], 0)
		require.NotContains(t, gc, "responseMimeType")
	})
}

func TestChatStream(t *testing.T) {
	t.Parallel()

	t.Run("YieldsDeltasInOrderThenTheFinalUsage", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, gemini.Config{})
		b.fake.Enqueue(llmtest.GeminiStream(gemini.DefaultModel, []string{"Hel", "lo", ", Ana"}, 30, 7))

		var deltas []string
		var last llm.StreamChunk
		for chunk, err := range p.ChatStream(context.Background(), llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}) {
			require.NoError(t, err)
			if chunk.Done {
				last = chunk
				continue
			}
			deltas = append(deltas, chunk.Delta)
		}
		require.Equal(t, []string{"Hel", "lo", ", Ana"}, deltas)
		require.True(t, last.Done)
		require.Equal(t, llm.Meta{Provider: "gemini", Model: gemini.DefaultModel, Usage: llm.Usage{PromptTokens: 30, CompletionTokens: 7}}, last.Meta)

		req := b.fake.Requests()[0]
		require.Equal(t, "/v1beta/models/"+gemini.DefaultModel+":streamGenerateContent", req.Path)
		require.Equal(t, "sse", req.Query.Get("alt"))
		require.Equal(t, testKey, req.Header.Get("X-Goog-Api-Key"))
	})

	t.Run("StopsWhenTheConsumerStops", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, gemini.Config{})
		b.fake.Enqueue(llmtest.GeminiStream(gemini.DefaultModel, []string{"a", "b", "c"}, 1, 1))

		var got []string
		for chunk, err := range p.ChatStream(context.Background(), llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}) {
			require.NoError(t, err)
			got = append(got, chunk.Delta)
			break
		}
		require.Equal(t, []string{"a"}, got)
	})

	t.Run("EndsWithAnErrorChunkWhenTheStreamIsCutOff", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, gemini.Config{})
		b.fake.Enqueue(llmtest.GeminiStreamCut(gemini.DefaultModel, []string{"Hel", "lo"}, 10))

		var deltas []string
		var gotErr error
		for chunk, err := range p.ChatStream(context.Background(), llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}) {
			if err != nil {
				gotErr = err
				continue
			}
			require.False(t, chunk.Done, "a cut-off stream has no Done chunk")
			deltas = append(deltas, chunk.Delta)
		}
		require.Equal(t, []string{"Hel", "lo"}, deltas)
		require.ErrorIs(t, gotErr, llm.ErrUnavailable)
		require.ErrorContains(t, gotErr, "stream ended early")
	})

	t.Run("ReturnsTheCallersCancellationMidStream", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, gemini.Config{})
		stalled := llmtest.GeminiStream(gemini.DefaultModel, []string{"a", "b"}, 1, 1)
		stalled.Chunks = stalled.Chunks[:len(stalled.Chunks)-1]
		stalled.Stall = true
		b.fake.Enqueue(stalled)
		// The timeout only bounds the test; the caller cancels first.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()

		var gotErr error
		for chunk, err := range p.ChatStream(ctx, llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}) {
			if err != nil {
				gotErr = err
				continue
			}
			require.False(t, chunk.Done)
			cancel()
		}
		require.ErrorIs(t, gotErr, context.Canceled)
		require.False(t, errors.Is(gotErr, llm.ErrUnavailable))
	})

	t.Run("YieldsTheMappedErrorWhenTheKeyIsWrong", func(t *testing.T) {
		t.Parallel()
		p, _ := setup(t, gemini.Config{APIKey: "AIzaSy-wrong-key-000000000"})

		var gotErr error
		for _, err := range p.ChatStream(context.Background(), llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}) {
			gotErr = err
		}
		require.ErrorIs(t, gotErr, llm.ErrInvalidKey)
	})
}

func TestGenerateSequence(t *testing.T) {
	t.Parallel()

	t.Run("AsksForJSONWithTheSchemaAndReturnsValidatedSteps", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, gemini.Config{})
		b.fake.Enqueue(llmtest.GeminiText(gemini.DefaultModel, llmtest.SequenceJSON, 400, 120))

		res, err := p.GenerateSequence(context.Background(), llmtest.SequenceRequest())
		require.NoError(t, err)
		require.Len(t, res.Steps, 2)
		require.Equal(t, "Quick idea for {{company}}", res.Steps[0].Subject)
		require.Equal(t, llm.Usage{PromptTokens: 400, CompletionTokens: 120}, res.Usage)

		req := b.fake.Requests()[0]
		require.Equal(t, generatePath, req.Path)
		gc := generationConfig(t, req)
		require.Equal(t, "application/json", gc["responseMimeType"])
		schema := gc["responseJsonSchema"].(map[string]any)
		require.Equal(t, []any{"steps"}, schema["required"])
		steps := schema["properties"].(map[string]any)["steps"].(map[string]any)
		require.InDelta(t, 2, steps["minItems"], 0)
		require.Contains(t, systemText(t, req), "Exactly 2 steps")
	})

	t.Run("RepairsMalformedJSON", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, gemini.Config{})
		b.fake.Enqueue(
			llmtest.GeminiText(gemini.DefaultModel, `{"steps": [{"step": 1, "delay_days": 0`, 300, 20),
			llmtest.GeminiText(gemini.DefaultModel, llmtest.SequenceJSON, 350, 110),
		)

		res, err := p.GenerateSequence(context.Background(), llmtest.SequenceRequest())
		require.NoError(t, err)
		require.Len(t, res.Steps, 2)
		require.Equal(t, llm.Usage{PromptTokens: 650, CompletionTokens: 130}, res.Usage)

		reqs := b.fake.Requests()
		require.Len(t, reqs, 2)
		second := contents(t, reqs[1])
		require.Len(t, second, 3)
		require.Equal(t, llm.Message{Role: "model", Content: `{"steps": [{"step": 1, "delay_days": 0`}, second[1])
		require.Contains(t, second[2].Content, "the JSON is cut off")
		require.Equal(t, "application/json", generationConfig(t, reqs[1])["responseMimeType"])
	})

	t.Run("RepairsAnAnswerThatBreaksContentRules", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, gemini.Config{})
		b.fake.Enqueue(
			llmtest.GeminiText(gemini.DefaultModel, llmtest.BadSequenceJSON, 300, 90),
			llmtest.GeminiText(gemini.DefaultModel, llmtest.SequenceJSON, 350, 110),
		)

		_, err := p.GenerateSequence(context.Background(), llmtest.SequenceRequest())
		require.NoError(t, err)
		repair := contents(t, b.fake.Requests()[1])[2].Content
		require.Contains(t, repair, "/steps/0/subject: an email step needs a subject")
	})
}

func TestClassifyReply(t *testing.T) {
	t.Parallel()

	t.Run("ReturnsTheClass", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, gemini.Config{})
		b.fake.Enqueue(llmtest.GeminiText(gemini.DefaultModel, llmtest.ClassificationJSON, 80, 20))

		res, err := p.ClassifyReply(context.Background(), llmtest.InterestedReply(), nil)
		require.NoError(t, err)
		require.Equal(t, llm.Interested, res.Classification)
		require.Equal(t, "gemini", res.Provider)

		gc := generationConfig(t, b.fake.Requests()[0])
		enum := gc["responseJsonSchema"].(map[string]any)["properties"].(map[string]any)["classification"].(map[string]any)["enum"]
		require.Contains(t, enum, "out_of_office")
	})
}

func TestExtract(t *testing.T) {
	t.Parallel()

	t.Run("ReturnsTheStatedFields", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, gemini.Config{})
		b.fake.Enqueue(llmtest.GeminiText(gemini.DefaultModel, llmtest.ExtractJSON, 60, 15))

		res, err := p.Extract(context.Background(), llmtest.ExtractSchema(), llmtest.ExtractConversation())
		require.NoError(t, err)
		require.Equal(t, map[string]any{"target_countries": []string{"Portugal", "Spain"}, "company_size": "11-50"}, res.Fields)
		require.Contains(t, contents(t, b.fake.Requests()[0])[0].Content, "user: Portugal and Spain")
	})
}

func TestErrors(t *testing.T) {
	t.Parallel()
	hi := llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}

	t.Run("RetriesA429AfterTheRetryInfoDelayThenSucceeds", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, gemini.Config{})
		// The API states its wait in a RetryInfo detail, never in a
		// Retry-After header; the backoff alone would wait about 1ms.
		limited := llmtest.GeminiRateLimited("0.2s")
		require.Empty(t, limited.Header)
		b.fake.Enqueue(limited, llmtest.GeminiText(gemini.DefaultModel, "ok", 1, 1))

		start := time.Now()
		res, err := p.Chat(context.Background(), hi)
		require.NoError(t, err)
		require.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond, "the RetryInfo delay is honoured")
		require.Equal(t, "ok", res.Content)
		reqs := b.fake.Requests()
		require.Len(t, reqs, 2)
		require.Equal(t, reqs[0].Body, reqs[1].Body)
	})

	t.Run("PassesThroughARateLimitWhoseRetryInfoDelayExceedsTheCap", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, gemini.Config{})
		b.fake.Enqueue(llmtest.GeminiRateLimited("45.8s"))

		_, err := p.Chat(context.Background(), hi)
		require.ErrorIs(t, err, llm.ErrRateLimited)
		require.ErrorContains(t, err, "Please retry in 45.8s")
		require.Len(t, b.fake.Requests(), 1, "waiting 45.8s holds the caller longer than the cap allows")
	})

	t.Run("ReturnsTheCallersCancellationAsIs", func(t *testing.T) {
		t.Parallel()
		p, _ := setup(t, gemini.Config{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()

		_, err := p.Chat(ctx, hi)
		require.ErrorIs(t, err, context.Canceled)
		require.False(t, errors.Is(err, llm.ErrUnavailable))

		var streamErr error
		for _, err := range p.ChatStream(ctx, hi) {
			streamErr = err
		}
		require.ErrorIs(t, streamErr, context.Canceled)
		require.False(t, errors.Is(streamErr, llm.ErrUnavailable))
	})

	t.Run("ReportsRateLimitedWhenRetriesRunOut", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, gemini.Config{MaxRetries: 1})
		limited := llmtest.GeminiRateLimited("0.01s")
		b.fake.Enqueue(limited, limited)

		_, err := p.Chat(context.Background(), hi)
		require.ErrorIs(t, err, llm.ErrRateLimited)
		require.Len(t, b.fake.Requests(), 2)
	})

	t.Run("ReportsAnInvalidKeyWithTheAPIMessage", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, gemini.Config{APIKey: "AIzaSy-wrong-key-000000000"})

		_, err := p.Chat(context.Background(), hi)
		require.ErrorIs(t, err, llm.ErrInvalidKey)
		var e *llm.Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, "API key not valid. Please pass a valid API key.", e.Message)
		require.Equal(t, http.StatusBadRequest, e.Status)
		require.Len(t, b.fake.Requests(), 1)
	})

	t.Run("ReportsAnUnknownModel", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, gemini.Config{Model: "gemini-nope"})
		b.fake.Enqueue(llmtest.GeminiError(http.StatusNotFound, "NOT_FOUND", "models/gemini-nope is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."))

		_, err := p.Chat(context.Background(), hi)
		require.ErrorIs(t, err, llm.ErrModelNotFound)
		require.ErrorContains(t, err, "models/gemini-nope is not found")
		require.Equal(t, "/v1beta/models/gemini-nope:generateContent", b.fake.Requests()[0].Path)
	})

	t.Run("ReportsAnExhaustedDailyQuotaWithoutRetrying", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, gemini.Config{})
		b.fake.Enqueue(llmtest.GeminiQuotaExceeded())

		_, err := p.Chat(context.Background(), hi)
		require.ErrorIs(t, err, llm.ErrQuota)
		require.ErrorContains(t, err, "You exceeded your current quota")
		require.Len(t, b.fake.Requests(), 1)
	})

	t.Run("ReportsServerErrorsAsUnavailable", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, gemini.Config{MaxRetries: 1})
		down := llmtest.GeminiError(http.StatusServiceUnavailable, "UNAVAILABLE", "The model is overloaded. Please try again later.")
		b.fake.Enqueue(down, down)

		_, err := p.Chat(context.Background(), hi)
		require.ErrorIs(t, err, llm.ErrUnavailable)
		require.Len(t, b.fake.Requests(), 2)
	})

	t.Run("ReportsABlockedPromptAsBadRequest", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, gemini.Config{})
		b.fake.Enqueue(llmtest.Reply{Body: `{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":5,"totalTokenCount":5},"modelVersion":"gemini-3.5-flash"}`})

		_, err := p.Chat(context.Background(), hi)
		require.ErrorIs(t, err, llm.ErrBadRequest)
		require.ErrorContains(t, err, "SAFETY")
	})
}

func TestNew(t *testing.T) {
	t.Parallel()

	t.Run("RefusesAnEmptyKey", func(t *testing.T) {
		t.Parallel()
		_, err := gemini.New(gemini.Config{})
		require.ErrorIs(t, err, llm.ErrNotConfigured)
	})
}

// TestIgnoresEnvironment cannot run in parallel: it sets the process-wide
// variables genai falls back to for empty fields.
func TestIgnoresEnvironment(t *testing.T) {
	envFake := llmtest.NewGemini(t, "AIzaSy-platform-env-key-00")
	t.Setenv("GEMINI_API_KEY", "AIzaSy-platform-env-key-00")
	t.Setenv("GOOGLE_API_KEY", "AIzaSy-platform-env-key-00")
	t.Setenv("GOOGLE_GEMINI_BASE_URL", envFake.URL)
	t.Setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")

	t.Run("AnEmptyKeyIsNotConfigured", func(t *testing.T) {
		_, err := gemini.New(gemini.Config{})
		require.ErrorIs(t, err, llm.ErrNotConfigured)
	})

	t.Run("TheConfiguredKeyAndURLWin", func(t *testing.T) {
		fake := llmtest.NewGemini(t, "AIzaSy-org-key-abcdef0123")
		p, err := gemini.New(gemini.Config{APIKey: "AIzaSy-org-key-abcdef0123", BaseURL: fake.URL})
		require.NoError(t, err)

		_, err = p.Chat(context.Background(), llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}})
		require.NoError(t, err)
		require.Len(t, fake.Requests(), 1)
		require.Equal(t, "AIzaSy-org-key-abcdef0123", fake.Requests()[0].Header.Get("X-Goog-Api-Key"))
		require.Empty(t, envFake.Requests())
	})
}
