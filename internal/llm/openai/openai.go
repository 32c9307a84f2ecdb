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
	"strconv"
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
	ep, err := cfg.Resolve(name, defaultURL, DefaultModel(name), llm.RetryHooks{Permanent: permanent})
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
// API reports in its final chunk. A stream is complete only at its
// data: [DONE] line: an error event in the stream, or a stream cut off
// before [DONE], ends with an error chunk instead (the deltas already
// yielded are then only part of an answer).
func (p *Provider) ChatStream(ctx context.Context, req llm.ChatRequest) iter.Seq2[llm.StreamChunk, error] {
	return func(yield func(llm.StreamChunk, error) bool) {
		ctx, capture := withCapture(ctx)
		capture.watchStream()
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
	if errors.Is(err, errStopped) {
		return nil, err
	}
	if err == nil {
		// langchaingo ends a stream at EOF as if it were complete, and
		// skips events without choices (errors among them).
		err = capture.streamIncomplete()
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			// langchaingo replaces context.Canceled with an error of its
			// own; a caller who cancelled gets its context error back,
			// not a provider failure.
			return nil, llm.TransportError(p.name, ctxErr)
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

// mapError builds the *llm.Error from the captured error answer or
// stream error event; langchaingo's own error keeps only the message text.
func (p *Provider) mapError(err error, c *capture) error {
	if event, ok := c.streamEvent(); ok {
		return p.eventError(event)
	}
	status, body := c.get()
	if status == 0 {
		if errors.Is(err, errStreamEnded) {
			// generate checked the caller's context before mapping.
			return llm.StreamCut(context.Background(), p.name, "data: [DONE]")
		}
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

// eventError maps an error event that arrived inside a 200 stream, like
// data: {"error":{"message":...,"type":"server_error","code":null}}, as
// the same body would be mapped in an error answer. There is no HTTP
// status to go by, so one is inferred from the code or type; an unknown
// one means the provider failed mid-answer.
func (p *Provider) eventError(data []byte) error {
	var e apiError
	if json.Unmarshal(data, &e) != nil {
		// Some servers send the error as a bare string.
		var s struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(data, &s)
		e.Error.Message = s.Error
	}
	msg := e.Error.Message
	if msg == "" {
		msg = "the provider reported an error in the middle of the stream"
	}
	status := eventStatus(e.Error.Type, e.code())
	return &llm.Error{
		Kind:     kind(status, e.Error.Type, e.code(), msg),
		Provider: p.name,
		Message:  llm.ScrubKey(msg, p.key),
	}
}

// eventStatus is the HTTP status an error answer with this type and code
// would have carried.
func eventStatus(errType, code string) int {
	if n, err := strconv.Atoi(code); err == nil && n >= 400 && n <= 599 {
		return n // some servers put the HTTP status in code
	}
	t, c := strings.ToLower(errType), strings.ToLower(code)
	switch {
	case strings.Contains(c, "rate_limit"), strings.Contains(t, "rate_limit"), t == "requests", t == "tokens",
		c == "insufficient_quota", t == "insufficient_quota":
		return http.StatusTooManyRequests
	case c == "invalid_api_key", t == "authentication_error":
		return http.StatusUnauthorized
	case c == "model_not_found", c == "model_decommissioned":
		return http.StatusNotFound
	case t == "invalid_request_error", c == "context_length_exceeded", c == "content_filter":
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
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
// tell an invalid key from an exhausted quota. For a stream it also
// records how the event stream ended.
type capture struct {
	mu     sync.Mutex
	status int
	body   []byte

	streaming bool   // the call streams: watch its events
	done      bool   // the stream reached data: [DONE]
	event     []byte // the data of an error event in the stream
}

// watchStream marks the call as a stream whose events the transport
// watches.
func (c *capture) watchStream() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.streaming = true
}

func (c *capture) isStreaming() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streaming
}

// streamIncomplete is errStreamEnded for a stream that stopped before
// data: [DONE] (or at an error event), nil otherwise.
func (c *capture) streamIncomplete() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.streaming && !c.done {
		return errStreamEnded
	}
	return nil
}

func (c *capture) streamEvent() ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.event, c.event != nil
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
	if err != nil {
		return resp, err
	}
	c, ok := req.Context().Value(captureKey{}).(*capture)
	if !ok {
		return resp, nil
	}
	if resp.StatusCode < 400 {
		if c.isStreaming() {
			resp.Body = &streamBody{rc: resp.Body, c: c}
		}
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

// Errors a watched stream body reads with, ending langchaingo's reading.
var (
	// errStreamEnded: the body ended before data: [DONE].
	errStreamEnded = errors.New("openai: the stream ended before data: [DONE]")
	// errStreamEvent: the stream carried an error event, recorded in the
	// capture.
	errStreamEvent = errors.New("openai: the stream carried an error event")
)

// maxEventLine bounds how much of one line a watched stream keeps to
// inspect; longer lines are content deltas, never [DONE] or an error.
const maxEventLine = 1 << 16

// streamBody passes a streamed answer through to langchaingo while
// reading its server-sent events: it records data: [DONE], and stops the
// stream with an error at an error event or at an end before [DONE],
// both of which langchaingo would take for a complete answer.
type streamBody struct {
	rc   io.ReadCloser
	c    *capture
	line []byte // the current, unfinished line
	long bool   // the current line outgrew maxEventLine
	// errEvent is set by an "event: error" field, which some compatible
	// servers send before an error's data instead of an "error" key.
	errEvent bool
	err      error // once set, every read returns it
}

func (b *streamBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.rc.Read(p)
	for i := 0; i < n; {
		j := bytes.IndexByte(p[i:n], '\n')
		if j < 0 {
			b.add(p[i:n])
			break
		}
		b.add(p[i : i+j])
		i += j + 1
		if b.endLine() {
			// Hand over the stream up to the error event only.
			b.err = errStreamEvent
			return i, b.err
		}
	}
	if err == io.EOF {
		// A last line without a newline still counts, as it does for
		// langchaingo's scanner.
		if b.endLine() {
			b.err = errStreamEvent
			return n, b.err
		}
		if b.c.streamIncomplete() != nil {
			b.err = errStreamEnded
			return n, b.err
		}
	}
	return n, err
}

func (b *streamBody) add(chunk []byte) {
	if b.long || len(b.line)+len(chunk) > maxEventLine {
		b.long, b.line = true, b.line[:0]
		return
	}
	b.line = append(b.line, chunk...)
}

// endLine inspects the finished line and reports an error event.
func (b *streamBody) endLine() bool {
	line, long := bytes.TrimSpace(b.line), b.long
	b.line, b.long = b.line[:0], false
	switch {
	case long:
		return false
	case len(line) == 0:
		// A blank line ends the event.
		b.errEvent = false
		return false
	}
	if name, ok := bytes.CutPrefix(line, []byte("event:")); ok {
		b.errEvent = string(bytes.TrimSpace(name)) == "error"
		return false
	}
	data, ok := bytes.CutPrefix(line, []byte("data:"))
	if !ok {
		return false
	}
	data = bytes.TrimSpace(data)
	if string(data) == "[DONE]" {
		b.c.mu.Lock()
		b.c.done = true
		b.c.mu.Unlock()
		return false
	}
	var ev struct {
		Error json.RawMessage `json:"error"`
	}
	switch {
	case json.Unmarshal(data, &ev) == nil && len(ev.Error) > 0 && string(ev.Error) != "null":
		data = bytes.Clone(data)
	case b.errEvent:
		// The data is the error itself: give it the usual wrapper.
		inner := data
		if !json.Valid(inner) {
			inner, _ = json.Marshal(string(data))
		}
		data = append(append([]byte(`{"error":`), inner...), '}')
	default:
		return false
	}
	b.c.mu.Lock()
	b.c.event = data
	b.c.mu.Unlock()
	return true
}

func (b *streamBody) Close() error { return b.rc.Close() }
