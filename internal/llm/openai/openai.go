// Package openai is the llm.Provider for APIs that speak OpenAI's Chat
// Completions protocol: OpenAI itself, DeepSeek and Groq, each at its own
// base URL. It is built on langchaingo's llms/openai client.
package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"strings"
	"sync"

	"github.com/tmc/langchaingo/llms"
	lc "github.com/tmc/langchaingo/llms/openai"

	"github.com/leadpilot/leadpilot/internal/llm"
)

// Provider ids served by this package.
const (
	OpenAI   = "openai"
	DeepSeek = "deepseek"
	Groq     = "groq"
)

// Default base URLs, each the root that /chat/completions is appended to.
const (
	OpenAIBaseURL = "https://api.openai.com/v1"
	// DeepSeekBaseURL is the documented OpenAI-format base; /v1 is also
	// accepted but carries no meaning there.
	DeepSeekBaseURL = "https://api.deepseek.com"
	GroqBaseURL     = "https://api.groq.com/openai/v1"
)

// Default models, current as of November 2026: gpt-4o-mini shuts down on
// 2027-01-14 with gpt-6-luna named as its replacement; deepseek-chat was
// retired on 2026-07-24 in favour of deepseek-flash; Groq decommissioned
// llama-3.3-70b-versatile on 2026-08-16 and recommends gpt-oss-120b.
const (
	DefaultOpenAIModel   = "gpt-6-luna"
	DefaultDeepSeekModel = "deepseek-flash"
	DefaultGroqModel     = "openai/gpt-oss-120b"
)

// DefaultBaseURL returns the base URL of provider name, "" if unknown.
func DefaultBaseURL(name string) string {
	switch name {
	case OpenAI:
		return OpenAIBaseURL
	case DeepSeek:
		return DeepSeekBaseURL
	case Groq:
		return GroqBaseURL
	}
	return ""
}

// DefaultModel returns the default model of provider name, "" if unknown.
func DefaultModel(name string) string {
	switch name {
	case OpenAI:
		return DefaultOpenAIModel
	case DeepSeek:
		return DefaultDeepSeekModel
	case Groq:
		return DefaultGroqModel
	}
	return ""
}

// Config configures the provider; see llm.ProviderConfig for the fields
// and their defaults.
type Config = llm.ProviderConfig

// Provider calls one OpenAI-compatible API. It is safe for concurrent use.
type Provider struct {
	llm.Structured
	name   string
	model  string
	key    string
	client *lc.LLM
}

var _ llm.Provider = (*Provider)(nil)

// New returns a Provider for name (OpenAI, DeepSeek or Groq), or an
// *llm.Error with Kind llm.ErrNotConfigured when there is no key.
func New(name string, cfg Config) (*Provider, error) {
	defaultURL := DefaultBaseURL(name)
	if defaultURL == "" {
		return nil, fmt.Errorf("openai: unknown provider %q", name)
	}
	ep, err := cfg.Resolve(name, defaultURL, DefaultModel(name), permanent)
	if err != nil {
		return nil, err
	}
	key, base, model, hc := ep.Key, ep.BaseURL, ep.Model, ep.HTTPClient
	// The capture sits outside the retries so it sees the final answer.
	hc.Transport = captureTransport{base: hc.Transport}

	client, err := lc.New(
		lc.WithToken(key),
		lc.WithBaseURL(base),
		lc.WithOrganization(""),
		lc.WithModel(model),
		lc.WithHTTPClient(hc),
	)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &Provider{name: name, model: model, key: key, client: client}
	p.Structured = llm.Structured{Provider: name, Call: p.structured}
	return p, nil
}

// Name returns the provider id: openai, deepseek or groq.
func (p *Provider) Name() string { return p.name }

// Model returns the model this provider calls.
func (p *Provider) Model() string { return p.model }

// Chat sends the conversation and returns the answer.
func (p *Provider) Chat(ctx context.Context, req llm.ChatRequest) (llm.ChatResult, error) {
	resp, err := p.generate(ctx, req.Messages, p.options(req.Temperature, req.MaxTokens))
	if err != nil {
		return llm.ChatResult{Meta: p.meta(nil)}, err
	}
	return llm.ChatResult{Meta: p.meta(resp), Content: resp.Choices[0].Content}, nil
}

// errStopped aborts a stream whose consumer stopped reading.
var errStopped = errors.New("openai: stream consumer stopped")

// ChatStream streams the answer's deltas. The request asks for
// stream_options.include_usage, so the last chunk carries the usage the
// API reports in its final chunk.
func (p *Provider) ChatStream(ctx context.Context, req llm.ChatRequest) iter.Seq2[llm.StreamChunk, error] {
	return func(yield func(llm.StreamChunk, error) bool) {
		stopped := false
		opts := append(p.options(req.Temperature, req.MaxTokens), llms.WithStreamingFunc(func(_ context.Context, chunk []byte) error {
			if len(chunk) == 0 {
				return nil
			}
			if !yield(llm.StreamChunk{Delta: string(chunk)}, nil) {
				stopped = true
				return errStopped
			}
			return nil
		}))
		resp, err := p.generate(ctx, req.Messages, opts)
		if stopped {
			return
		}
		if err != nil {
			yield(llm.StreamChunk{}, err)
			return
		}
		yield(llm.StreamChunk{Done: true, Meta: p.meta(resp)}, nil)
	}
}

// structured asks for JSON mode (response_format json_object). The schema
// travels in the prompt: JSON mode guarantees syntax, and the strict
// decoding in package llm checks the rest.
func (p *Provider) structured(ctx context.Context, _ llm.Task, msgs []llm.Message) (string, llm.Meta, error) {
	ctx, capture := withCapture(ctx)
	resp, err := p.generate(ctx, msgs, append(p.options(nil, 0), llms.WithJSONMode()))
	if err != nil {
		// Groq refuses to return JSON-mode output that does not parse and
		// hands it back in failed_generation: treat it as the model's
		// answer so the repair round can fix it.
		if failed, ok := capture.failedGeneration(); ok {
			return failed, p.meta(nil), nil
		}
		return "", p.meta(nil), err
	}
	return resp.Choices[0].Content, p.meta(resp), nil
}

func (p *Provider) options(temperature *float64, maxTokens int) []llms.CallOption {
	// langchaingo always sends a temperature (0 when unset), and reasoning
	// models accept only their default of 1: send 1 unless the caller
	// chose, which is what every compatible API defaults to anyway.
	temp := 1.0
	if temperature != nil {
		temp = *temperature
	}
	opts := []llms.CallOption{llms.WithModel(p.model), llms.WithTemperature(temp)}
	if maxTokens > 0 {
		opts = append(opts, llms.WithMaxTokens(maxTokens))
	}
	if p.name == DeepSeek {
		// DeepSeek rejects max_completion_tokens; it takes max_tokens.
		opts = append(opts, lc.WithLegacyMaxTokensField())
	}
	return opts
}

func (p *Provider) generate(ctx context.Context, msgs []llm.Message, opts []llms.CallOption) (*llms.ContentResponse, error) {
	if len(msgs) == 0 {
		return nil, &llm.Error{Kind: llm.ErrBadRequest, Provider: p.name, Message: "no messages to send"}
	}
	content := make([]llms.MessageContent, len(msgs))
	for i, m := range msgs {
		role := llms.ChatMessageTypeHuman
		switch m.Role {
		case llm.RoleSystem:
			role = llms.ChatMessageTypeSystem
		case llm.RoleAssistant:
			role = llms.ChatMessageTypeAI
		}
		content[i] = llms.TextParts(role, m.Content)
	}
	ctx, capture := withCapture(ctx)
	resp, err := p.client.GenerateContent(ctx, content, opts...)
	if err != nil {
		if errors.Is(err, errStopped) {
			return nil, err
		}
		return nil, p.mapError(err, capture)
	}
	if len(resp.Choices) == 0 {
		return nil, &llm.Error{Kind: llm.ErrUnavailable, Provider: p.name, Message: "the answer had no choices"}
	}
	return resp, nil
}

func (p *Provider) meta(resp *llms.ContentResponse) llm.Meta {
	m := llm.Meta{Provider: p.name, Model: p.model}
	if resp == nil || len(resp.Choices) == 0 {
		return m
	}
	info := resp.Choices[0].GenerationInfo
	m.Usage.PromptTokens = intInfo(info, "PromptTokens")
	m.Usage.CompletionTokens = intInfo(info, "CompletionTokens")
	return m
}

func intInfo(info map[string]any, key string) int {
	switch v := info[key].(type) {
	case int:
		return v
	case int64:
		return int(v)
	case float64:
		return int(v)
	}
	return 0
}

// apiError is the body of every error answer:
// {"error":{"message":...,"type":...,"code":...}}. Groq adds
// failed_generation to JSON-mode failures.
type apiError struct {
	Error struct {
		Message          string          `json:"message"`
		Type             string          `json:"type"`
		Code             json.RawMessage `json:"code"`
		FailedGeneration *string         `json:"failed_generation"`
	} `json:"error"`
}

// code returns the error code, which APIs send as a string, a number or null.
func (e apiError) code() string {
	var s string
	if json.Unmarshal(e.Error.Code, &s) == nil {
		return s
	}
	return strings.Trim(string(e.Error.Code), `"`)
}

// mapError builds the *llm.Error from the captured error answer;
// langchaingo's own error keeps only the message text.
func (p *Provider) mapError(err error, c *capture) error {
	status, body := c.get()
	if status == 0 {
		return llm.TransportError(p.name, err)
	}
	var e apiError
	_ = json.Unmarshal(body, &e)
	msg := e.Error.Message
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &llm.Error{
		Kind:     kind(status, e.Error.Type, e.code(), msg),
		Provider: p.name,
		Status:   status,
		Message:  llm.ScrubKey(msg, p.key),
	}
}

// kind maps the error codes the three APIs use; the status decides the
// rest.
func kind(status int, errType, code, msg string) error {
	m := strings.ToLower(msg)
	switch {
	case code == "invalid_api_key", status == http.StatusUnauthorized, status == http.StatusForbidden:
		return llm.ErrInvalidKey
	case code == "insufficient_quota", errType == "insufficient_quota", status == http.StatusPaymentRequired:
		// OpenAI sends insufficient_quota as a 429; DeepSeek's empty
		// balance is a 402.
		return llm.ErrQuota
	case code == "model_not_found", code == "model_decommissioned", status == http.StatusNotFound:
		return llm.ErrModelNotFound
	case status == http.StatusBadRequest && strings.Contains(m, "model") && (strings.Contains(m, "not exist") || strings.Contains(m, "does not exist")):
		// DeepSeek answers an unknown model with 400 "Model Not Exist".
		return llm.ErrModelNotFound
	}
	return llm.KindForStatus(status)
}

// permanent tells the retry transport not to retry OpenAI's
// insufficient_quota 429: it clears when someone pays, not in seconds.
func permanent(resp *http.Response, body []byte) bool {
	if resp.StatusCode != http.StatusTooManyRequests {
		return false
	}
	var e apiError
	if json.Unmarshal(body, &e) != nil {
		return false
	}
	return e.code() == "insufficient_quota" || e.Error.Type == "insufficient_quota"
}

// capture records the final error answer of one call. langchaingo reduces
// an error answer to its message; the status, type and code are needed to
// tell an invalid key from an exhausted quota.
type capture struct {
	mu     sync.Mutex
	status int
	body   []byte
}

func (c *capture) get() (int, []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status, c.body
}

func (c *capture) failedGeneration() (string, bool) {
	status, body := c.get()
	if status != http.StatusBadRequest {
		return "", false
	}
	var e apiError
	if json.Unmarshal(body, &e) != nil || e.code() != "json_validate_failed" || e.Error.FailedGeneration == nil {
		return "", false
	}
	return *e.Error.FailedGeneration, true
}

type captureKey struct{}

// withCapture returns ctx carrying a fresh capture, or the one ctx already
// carries (structured wraps generate, and both read the same answer).
func withCapture(ctx context.Context) (context.Context, *capture) {
	if c, ok := ctx.Value(captureKey{}).(*capture); ok {
		return ctx, c
	}
	c := &capture{}
	return context.WithValue(ctx, captureKey{}, c), c
}

// captureTransport copies error answers into the request's capture and
// leaves the body readable for langchaingo.
type captureTransport struct {
	base http.RoundTripper
}

func (t captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	c, ok := req.Context().Value(captureKey{}).(*capture)
	if !ok {
		return resp, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	c.mu.Lock()
	c.status, c.body = resp.StatusCode, body
	c.mu.Unlock()
	return resp, nil
}
