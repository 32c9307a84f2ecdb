// Package anthropic is the llm.Provider for Anthropic's Messages API, built
// on the official SDK (langchaingo's Anthropic client drops forced tool
// use, which structured output relies on here).
package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"net/http"
	"strings"

	sdk "github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/leadpilot/leadpilot/internal/llm"
)

// Name is this provider's id.
const Name = "anthropic"

// Defaults applied when a Config field is empty.
const (
	// DefaultBaseURL is Anthropic's API; a proxy or a compatible server
	// can be configured instead.
	DefaultBaseURL = "https://api.anthropic.com"
	// DefaultModel is the current mid-size model. claude-sonnet-4-5 reaches
	// end of life on 2026-11-30 and the SDK names this one as its successor.
	DefaultModel = "claude-sonnet-5-5"
	// DefaultMaxTokens caps an answer when the request sets no limit; the
	// API requires one, and a ten-step sequence fits well within it.
	DefaultMaxTokens = 8192
)

// Config configures the provider; see llm.ProviderConfig for the fields
// and their defaults.
type Config = llm.ProviderConfig

// Provider calls Anthropic. It is safe for concurrent use.
type Provider struct {
	llm.Structured
	client sdk.Client
	model  string
	key    string
}

var _ llm.Provider = (*Provider)(nil)

// New returns a Provider for cfg, or an *llm.Error with Kind
// llm.ErrNotConfigured when there is no key.
func New(cfg Config) (*Provider, error) {
	ep, err := cfg.Resolve(Name, DefaultBaseURL, DefaultModel, llm.RetryHooks{Permanent: permanent})
	if err != nil {
		return nil, err
	}
	key, base, model, hc := ep.Key, ep.BaseURL, ep.Model, ep.HTTPClient
	p := &Provider{
		client: sdk.NewClient(
			// Skip the SDK's credential chain (ANTHROPIC_API_KEY, profiles,
			// ANTHROPIC_BASE_URL): everything comes from cfg.
			option.WithoutEnvironmentDefaults(),
			option.WithAPIKey(key),
			option.WithBaseURL(base),
			option.WithHTTPClient(hc),
			// httpretry.Transport (via llm.NewHTTPClient) is the one retry policy.
			option.WithMaxRetries(0),
		),
		model: model,
		key:   key,
	}
	p.Structured = llm.Structured{Provider: Name, Call: p.structured}
	return p, nil
}

// Name returns "anthropic".
func (p *Provider) Name() string { return Name }

// Model returns the model this provider calls.
func (p *Provider) Model() string { return p.model }

// Chat sends the conversation and returns the answer's text.
func (p *Provider) Chat(ctx context.Context, req llm.ChatRequest) (llm.ChatResult, error) {
	params, err := p.params(req.Messages, req.Temperature, req.MaxTokens)
	if err != nil {
		return llm.ChatResult{}, err
	}
	msg, err := p.client.Messages.New(ctx, params)
	if err != nil {
		return llm.ChatResult{Meta: p.meta("", 0, 0)}, p.mapError(err)
	}
	return llm.ChatResult{Meta: p.messageMeta(msg), Content: text(msg)}, nil
}

// ChatStream streams the answer's text deltas; the last chunk carries the
// usage from message_start (input) and message_delta (output). The answer
// is complete only at message_stop: a stream cut off before it ends with
// an error chunk, not with Done.
func (p *Provider) ChatStream(ctx context.Context, req llm.ChatRequest) iter.Seq2[llm.StreamChunk, error] {
	return func(yield func(llm.StreamChunk, error) bool) {
		params, err := p.params(req.Messages, req.Temperature, req.MaxTokens)
		if err != nil {
			yield(llm.StreamChunk{}, err)
			return
		}
		stream := p.client.Messages.NewStreaming(ctx, params)
		defer stream.Close()

		meta := p.meta("", 0, 0)
		complete := false
		for stream.Next() {
			ev := stream.Current()
			switch ev.Type {
			case "message_stop":
				complete = true
			case "message_start":
				if ev.Message.Model != "" {
					meta.Model = ev.Message.Model
				}
				u := ev.Message.Usage
				meta.Usage.PromptTokens = int(u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens)
				meta.Usage.CompletionTokens = int(u.OutputTokens)
			case "content_block_delta":
				if ev.Delta.Type == "text_delta" && ev.Delta.Text != "" {
					if !yield(llm.StreamChunk{Delta: ev.Delta.Text}, nil) {
						return
					}
				}
			case "message_delta":
				// output_tokens here is the running total for the message.
				meta.Usage.CompletionTokens = int(ev.Usage.OutputTokens)
				if in := ev.Usage.InputTokens + ev.Usage.CacheCreationInputTokens + ev.Usage.CacheReadInputTokens; in > 0 {
					meta.Usage.PromptTokens = int(in)
				}
			}
		}
		if err := stream.Err(); err != nil {
			yield(llm.StreamChunk{}, p.mapError(err))
			return
		}
		if !complete {
			yield(llm.StreamChunk{}, llm.StreamCut(ctx, Name, "message_stop"))
			return
		}
		yield(llm.StreamChunk{Done: true, Meta: meta}, nil)
	}
}

// structured forces a call of the task's tool, so the answer arrives as
// the tool's input: JSON the API has already checked against the schema.
func (p *Provider) structured(ctx context.Context, task llm.Task, msgs []llm.Message) (string, llm.Meta, error) {
	params, err := p.params(msgs, nil, 0)
	if err != nil {
		return "", p.meta("", 0, 0), err
	}
	params.Tools = []sdk.ToolUnionParam{{OfTool: &sdk.ToolParam{
		Name:        task.Name,
		Description: sdk.String(task.Description),
		InputSchema: inputSchema(task.Schema),
	}}}
	params.ToolChoice = sdk.ToolChoiceParamOfTool(task.Name)

	msg, err := p.client.Messages.New(ctx, params)
	if err != nil {
		return "", p.meta("", 0, 0), p.mapError(err)
	}
	meta := p.messageMeta(msg)
	for _, block := range msg.Content {
		if block.Type == "tool_use" && block.Name == task.Name {
			return string(block.Input), meta, nil
		}
	}
	// No tool call (the model refused, or ran out of tokens): pass the text
	// on so the repair round can say what is missing.
	return text(msg), meta, nil
}

func (p *Provider) params(msgs []llm.Message, temperature *float64, maxTokens int) (sdk.MessageNewParams, error) {
	system, turns := llm.SplitSystem(msgs)
	if len(turns) == 0 {
		return sdk.MessageNewParams{}, &llm.Error{Kind: llm.ErrBadRequest, Provider: Name, Message: "no messages to send"}
	}
	if maxTokens <= 0 {
		maxTokens = DefaultMaxTokens
	}
	params := sdk.MessageNewParams{
		Model:     p.model,
		MaxTokens: int64(maxTokens),
		Messages:  make([]sdk.MessageParam, 0, len(turns)),
	}
	for _, m := range turns {
		block := sdk.NewTextBlock(m.Content)
		if m.Role == llm.RoleAssistant {
			params.Messages = append(params.Messages, sdk.NewAssistantMessage(block))
		} else {
			params.Messages = append(params.Messages, sdk.NewUserMessage(block))
		}
	}
	if system != "" {
		params.System = []sdk.TextBlockParam{{Text: system}}
	}
	if temperature != nil {
		params.Temperature = sdk.Float(*temperature)
	}
	return params, nil
}

// inputSchema splits a JSON Schema object into the SDK's tool schema type,
// which models properties and required and carries the rest as extras.
func inputSchema(schema map[string]any) sdk.ToolInputSchemaParam {
	out := sdk.ToolInputSchemaParam{ExtraFields: map[string]any{}}
	for k, v := range schema {
		switch k {
		case "type":
		case "properties":
			out.Properties = v
		case "required":
			if req, ok := v.([]string); ok {
				out.Required = req
			}
		default:
			out.ExtraFields[k] = v
		}
	}
	return out
}

func text(msg *sdk.Message) string {
	var b strings.Builder
	for _, block := range msg.Content {
		if block.Type == "text" {
			b.WriteString(block.Text)
		}
	}
	return b.String()
}

func (p *Provider) meta(model string, in, out int64) llm.Meta {
	if model == "" {
		model = p.model
	}
	return llm.Meta{Provider: Name, Model: model, Usage: llm.Usage{PromptTokens: int(in), CompletionTokens: int(out)}}
}

// messageMeta counts cached prompt tokens as prompt tokens: they are part
// of what was sent, billed at a different rate.
func (p *Provider) messageMeta(msg *sdk.Message) llm.Meta {
	u := msg.Usage
	return p.meta(msg.Model, u.InputTokens+u.CacheCreationInputTokens+u.CacheReadInputTokens, u.OutputTokens)
}

// apiError is the body of every error answer:
// {"type":"error","error":{"type":...,"message":...}}.
type apiError struct {
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// mapError turns an SDK error into an *llm.Error carrying the API's own
// message.
func (p *Provider) mapError(err error) error {
	var apiErr *sdk.Error
	if !errors.As(err, &apiErr) {
		return llm.TransportError(Name, err)
	}
	var body apiError
	_ = json.Unmarshal([]byte(apiErr.RawJSON()), &body)
	msg := body.Error.Message
	if msg == "" {
		msg = http.StatusText(apiErr.StatusCode)
	}
	return &llm.Error{
		Kind:     kind(apiErr.StatusCode, body.Error.Type, msg),
		Provider: Name,
		Status:   apiErr.StatusCode,
		Message:  llm.ScrubKey(msg, p.key),
	}
}

// kind maps Anthropic's error types; the status decides when the type is
// unknown (a proxy in between, or a type added later).
func kind(status int, errType, msg string) error {
	switch errType {
	case "authentication_error", "permission_error":
		return llm.ErrInvalidKey
	case "not_found_error":
		// Only /v1/messages is called, so the missing thing is the model.
		return llm.ErrModelNotFound
	case "billing_error":
		return llm.ErrQuota
	case "rate_limit_error":
		if quotaMessage(msg) {
			return llm.ErrQuota
		}
		return llm.ErrRateLimited
	case "overloaded_error", "api_error", "timeout_error":
		return llm.ErrUnavailable
	case "invalid_request_error":
		// An empty credit balance or a reached spend limit is reported as
		// a 400 invalid request; it is a billing state, not a bad request.
		if quotaMessage(msg) {
			return llm.ErrQuota
		}
		return llm.ErrBadRequest
	}
	return llm.KindForStatus(status)
}

func quotaMessage(msg string) bool {
	m := strings.ToLower(msg)
	for _, s := range []string{"credit balance", "usage limit", "spend limit", "billing", "quota"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// permanent tells the retry transport not to retry a 429 that reports an
// exhausted quota or balance: it will not clear in seconds.
func permanent(resp *http.Response, body []byte) bool {
	if resp.StatusCode != http.StatusTooManyRequests {
		return false
	}
	var e apiError
	if json.Unmarshal(body, &e) != nil {
		return false
	}
	return e.Error.Type == "billing_error" || quotaMessage(e.Error.Message)
}
