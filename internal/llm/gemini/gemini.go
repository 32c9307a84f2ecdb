// Package gemini is the llm.Provider for the Gemini API, built on
// google.golang.org/genai (langchaingo's googleai client takes no base URL,
// so it could not be pointed at a proxy or a test server).
package gemini

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genai"

	"github.com/leadpilot/leadpilot/internal/httpretry"
	"github.com/leadpilot/leadpilot/internal/llm"
)

// Name is this provider's id.
const Name = "gemini"

// Defaults applied when a Config field is empty.
const (
	// DefaultBaseURL is the Gemini API (Google AI, not Vertex AI).
	DefaultBaseURL = "https://generativelanguage.googleapis.com"
	// DefaultModel is the current GA Flash model. gemini-2.5-flash is
	// retired on 2026-12-01.
	DefaultModel = "gemini-3.5-flash"
	// APIVersion is the API version in every path; v1beta carries the
	// JSON-schema response options.
	APIVersion = "v1beta"
)

// Config configures the provider; see llm.ProviderConfig for the fields
// and their defaults.
type Config = llm.ProviderConfig

// Provider calls Gemini. It is safe for concurrent use.
type Provider struct {
	llm.Structured
	client *genai.Client
	model  string
	key    string
}

var _ llm.Provider = (*Provider)(nil)

// New returns a Provider for cfg, or an *llm.Error with Kind
// llm.ErrNotConfigured when there is no key.
func New(cfg Config) (*Provider, error) {
	// Gemini states its wait in the error body (google.rpc.RetryInfo),
	// never in a Retry-After header.
	ep, err := cfg.Resolve(Name, DefaultBaseURL, DefaultModel, llm.RetryHooks{Permanent: permanent, DelayFromBody: retryDelay})
	if err != nil {
		return nil, err
	}
	key, base, model, hc := ep.Key, ep.BaseURL, ep.Model, ep.HTTPClient
	// genai retries only when HTTPOptions.RetryOptions is set, so leaving
	// it nil keeps httpretry.Transport the one retry policy.
	client, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey:      key,
		Backend:     genai.BackendGeminiAPI,
		HTTPClient:  hc,
		HTTPOptions: genai.HTTPOptions{BaseURL: base, APIVersion: APIVersion},
	})
	if err != nil {
		return nil, fmt.Errorf("gemini: %w", err)
	}
	p := &Provider{client: client, model: model, key: key}
	p.Structured = llm.Structured{Provider: Name, Call: p.structured}
	return p, nil
}

// Name returns "gemini".
func (p *Provider) Name() string { return Name }

// Model returns the model this provider calls.
func (p *Provider) Model() string { return p.model }

// Chat sends the conversation and returns the answer's text.
func (p *Provider) Chat(ctx context.Context, req llm.ChatRequest) (llm.ChatResult, error) {
	contents, config, err := p.request(req.Messages, req.Temperature, req.MaxTokens)
	if err != nil {
		return llm.ChatResult{}, err
	}
	resp, err := p.client.Models.GenerateContent(ctx, p.model, contents, config)
	if err != nil {
		return llm.ChatResult{Meta: p.meta(nil)}, p.mapError(err)
	}
	if err := blocked(resp); err != nil {
		return llm.ChatResult{Meta: p.meta(resp)}, err
	}
	return llm.ChatResult{Meta: p.meta(resp), Content: text(resp)}, nil
}

// ChatStream streams the answer through streamGenerateContent?alt=sse.
// Every event carries the usage so far; the last one's is the total, and
// carries the candidate's finishReason: a stream that ends without one was
// cut off, and ends with an error chunk instead of Done.
func (p *Provider) ChatStream(ctx context.Context, req llm.ChatRequest) iter.Seq2[llm.StreamChunk, error] {
	return func(yield func(llm.StreamChunk, error) bool) {
		contents, config, err := p.request(req.Messages, req.Temperature, req.MaxTokens)
		if err != nil {
			yield(llm.StreamChunk{}, err)
			return
		}
		meta := p.meta(nil)
		finished := false
		for resp, err := range p.client.Models.GenerateContentStream(ctx, p.model, contents, config) {
			if err != nil {
				yield(llm.StreamChunk{}, p.mapError(err))
				return
			}
			if err := blocked(resp); err != nil {
				yield(llm.StreamChunk{}, err)
				return
			}
			if len(resp.Candidates) > 0 && resp.Candidates[0] != nil && resp.Candidates[0].FinishReason != "" {
				finished = true
			}
			if m := p.meta(resp); resp.UsageMetadata != nil {
				meta = m
			} else if resp.ModelVersion != "" {
				meta.Model = resp.ModelVersion
			}
			if t := text(resp); t != "" {
				if !yield(llm.StreamChunk{Delta: t}, nil) {
					return
				}
			}
		}
		if !finished {
			yield(llm.StreamChunk{}, llm.StreamCut(ctx, Name, "a finishReason"))
			return
		}
		yield(llm.StreamChunk{Done: true, Meta: meta}, nil)
	}
}

// structured asks for application/json constrained by the task's JSON
// Schema (responseJsonSchema, which takes standard JSON Schema as is,
// unlike responseSchema's OpenAPI subset).
func (p *Provider) structured(ctx context.Context, task llm.Task, msgs []llm.Message) (string, llm.Meta, error) {
	contents, config, err := p.request(msgs, nil, 0)
	if err != nil {
		return "", p.meta(nil), err
	}
	config.ResponseMIMEType = "application/json"
	config.ResponseJsonSchema = task.Schema
	resp, err := p.client.Models.GenerateContent(ctx, p.model, contents, config)
	if err != nil {
		return "", p.meta(nil), p.mapError(err)
	}
	if err := blocked(resp); err != nil {
		return "", p.meta(resp), err
	}
	return text(resp), p.meta(resp), nil
}

func (p *Provider) request(msgs []llm.Message, temperature *float64, maxTokens int) ([]*genai.Content, *genai.GenerateContentConfig, error) {
	system, turns := llm.SplitSystem(msgs)
	if len(turns) == 0 {
		return nil, nil, &llm.Error{Kind: llm.ErrBadRequest, Provider: Name, Message: "no messages to send"}
	}
	contents := make([]*genai.Content, len(turns))
	for i, m := range turns {
		role := genai.RoleUser
		if m.Role == llm.RoleAssistant {
			role = genai.RoleModel
		}
		contents[i] = &genai.Content{Role: role, Parts: []*genai.Part{{Text: m.Content}}}
	}
	config := &genai.GenerateContentConfig{}
	if system != "" {
		config.SystemInstruction = &genai.Content{Parts: []*genai.Part{{Text: system}}}
	}
	if temperature != nil {
		config.Temperature = genai.Ptr(float32(*temperature))
	}
	if maxTokens > 0 {
		config.MaxOutputTokens = int32(maxTokens)
	}
	return contents, config, nil
}

// text joins the first candidate's text parts, leaving out thoughts.
func text(resp *genai.GenerateContentResponse) string {
	if resp == nil || len(resp.Candidates) == 0 || resp.Candidates[0].Content == nil {
		return ""
	}
	var b strings.Builder
	for _, part := range resp.Candidates[0].Content.Parts {
		if part != nil && !part.Thought {
			b.WriteString(part.Text)
		}
	}
	return b.String()
}

// blocked reports a prompt the API refused to answer (safety filters):
// it arrives as a 200 with promptFeedback and no candidates.
func blocked(resp *genai.GenerateContentResponse) error {
	if resp == nil || resp.PromptFeedback == nil || resp.PromptFeedback.BlockReason == "" || len(resp.Candidates) > 0 {
		return nil
	}
	msg := "the prompt was blocked: " + string(resp.PromptFeedback.BlockReason)
	if resp.PromptFeedback.BlockReasonMessage != "" {
		msg += ": " + resp.PromptFeedback.BlockReasonMessage
	}
	return &llm.Error{Kind: llm.ErrBadRequest, Provider: Name, Message: msg}
}

// meta counts thinking tokens as completion tokens: they are generated
// and billed as output.
func (p *Provider) meta(resp *genai.GenerateContentResponse) llm.Meta {
	m := llm.Meta{Provider: Name, Model: p.model}
	if resp == nil {
		return m
	}
	if resp.ModelVersion != "" {
		m.Model = resp.ModelVersion
	}
	if u := resp.UsageMetadata; u != nil {
		m.Usage.PromptTokens = int(u.PromptTokenCount)
		m.Usage.CompletionTokens = int(u.CandidatesTokenCount + u.ThoughtsTokenCount)
	}
	return m
}

// mapError turns a genai error into an *llm.Error carrying the API's own
// message.
func (p *Provider) mapError(err error) error {
	var apiErr genai.APIError
	if !errors.As(err, &apiErr) {
		var ptrErr *genai.APIError
		if !errors.As(err, &ptrErr) || ptrErr == nil {
			return llm.TransportError(Name, err)
		}
		apiErr = *ptrErr
	}
	msg := apiErr.Message
	if msg == "" {
		msg = http.StatusText(apiErr.Code)
	}
	return &llm.Error{
		Kind:     kind(apiErr.Code, apiErr.Status, msg, apiErr.Details),
		Provider: Name,
		Status:   apiErr.Code,
		Message:  llm.ScrubKey(msg, p.key),
	}
}

// kind maps Google's canonical error statuses and details.
func kind(code int, status, msg string, details []map[string]any) error {
	switch {
	case code == http.StatusBadRequest && (hasReason(details, "API_KEY_INVALID") || strings.Contains(msg, "API key not valid")):
		// A wrong key is a 400 INVALID_ARGUMENT here, not a 401.
		return llm.ErrInvalidKey
	case status == "UNAUTHENTICATED", status == "PERMISSION_DENIED":
		return llm.ErrInvalidKey
	case status == "NOT_FOUND":
		return llm.ErrModelNotFound
	case status == "RESOURCE_EXHAUSTED" || code == http.StatusTooManyRequests:
		if quotaExhausted(msg, details) {
			return llm.ErrQuota
		}
		return llm.ErrRateLimited
	case status == "UNAVAILABLE", status == "DEADLINE_EXCEEDED", status == "INTERNAL":
		return llm.ErrUnavailable
	}
	return llm.KindForStatus(code)
}

func hasReason(details []map[string]any, reason string) bool {
	for _, d := range details {
		if r, _ := d["reason"].(string); r == reason {
			return true
		}
	}
	return false
}

// quotaExhausted tells a daily quota (or billing limit) from a per-minute
// rate limit: both are 429 RESOURCE_EXHAUSTED, with the same message on
// the free tier, but the QuotaFailure detail names the quota hit.
func quotaExhausted(msg string, details []map[string]any) bool {
	sawQuotaFailure := false
	for _, d := range details {
		if t, _ := d["@type"].(string); !strings.HasSuffix(t, "google.rpc.QuotaFailure") {
			continue
		}
		sawQuotaFailure = true
		violations, _ := d["violations"].([]any)
		for _, v := range violations {
			vm, _ := v.(map[string]any)
			id, _ := vm["quotaId"].(string)
			if strings.Contains(id, "PerDay") || strings.Contains(id, "PerMonth") {
				return true
			}
		}
	}
	if sawQuotaFailure {
		return false
	}
	m := strings.ToLower(msg)
	return strings.Contains(m, "billing") || strings.Contains(m, "credits")
}

// permanent tells the retry transport not to retry a 429 for an exhausted
// daily quota: it resets tomorrow, not in seconds.
func permanent(resp *http.Response, body []byte) bool {
	if resp.StatusCode != http.StatusTooManyRequests {
		return false
	}
	var e struct {
		Error genai.APIError `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return false
	}
	return quotaExhausted(e.Error.Message, e.Error.Details)
}

// retryDelay reads the wait a 429 or 5xx answer asks for from its
// google.rpc.RetryInfo detail: {"@type": ".../google.rpc.RetryInfo",
// "retryDelay": "43s"}, a protobuf Duration in its JSON form (decimal
// seconds with an "s" suffix, like "45.8s").
func retryDelay(_ *http.Response, body []byte) (time.Duration, bool) {
	var e struct {
		Error struct {
			Details []map[string]any `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return 0, false
	}
	for _, d := range e.Error.Details {
		if t, _ := d["@type"].(string); !strings.HasSuffix(t, "google.rpc.RetryInfo") {
			continue
		}
		v, _ := d["retryDelay"].(string)
		num, ok := strings.CutSuffix(strings.TrimSpace(v), "s")
		if !ok {
			continue
		}
		secs, err := strconv.ParseFloat(num, 64)
		if err != nil {
			continue
		}
		return httpretry.DurationFromSeconds(secs)
	}
	return 0, false
}
