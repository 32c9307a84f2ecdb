// Package llm is the language-model port the domain owns: one small
// interface (Provider) that sequences, the inbox and the autopilot call,
// with the request and result types they share. Adapters for real
// providers live in sub-packages and never import a domain package.
package llm

import (
	"context"
	"errors"
	"iter"
)

// Channel is an outreach channel a sequence step can use.
type Channel string

// Channels a step can be sent on.
const (
	ChannelEmail    Channel = "email"
	ChannelWhatsApp Channel = "whatsapp"
	ChannelSMS      Channel = "sms"
)

// Classification is the label given to an inbound reply.
type Classification string

// The reply classes, matching inbox_messages.classification.
const (
	Interested    Classification = "interested"
	NotInterested Classification = "not_interested"
	Question      Classification = "question"
	OutOfOffice   Classification = "out_of_office"
	Bounce        Classification = "bounce"
	Unsubscribe   Classification = "unsubscribe"
	Other         Classification = "other"
)

// Role is the author of a chat message.
type Role string

// Chat roles.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
)

// Message is one turn of a conversation.
type Message struct {
	Role    Role   `json:"role"`
	Content string `json:"content"`
}

// Usage is the token accounting of one call.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// Meta says who answered: every result carries it so callers can record
// and display it (the built-in provider is always labelled "builtin").
type Meta struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
	Usage    Usage  `json:"usage"`
}

// ChatRequest is a conversation to continue.
type ChatRequest struct {
	Messages    []Message
	Temperature *float64 // nil: provider default
	MaxTokens   int      // 0: provider default
}

// ChatResult is the assistant's answer.
type ChatResult struct {
	Meta
	Content string `json:"content"`
}

// StreamChunk is one piece of a streamed answer. The last chunk has Done
// set and carries the final Meta (usage may be zero when the provider does
// not report it in streams).
type StreamChunk struct {
	Delta string
	Done  bool
	Meta  Meta
}

// Lead is what a sequence is personalised with. Custom holds extra
// fields usable as {{placeholders}}.
type Lead struct {
	FirstName string            `json:"first_name,omitempty"`
	LastName  string            `json:"last_name,omitempty"`
	Email     string            `json:"email,omitempty"`
	Company   string            `json:"company,omitempty"`
	JobTitle  string            `json:"job_title,omitempty"`
	Website   string            `json:"website,omitempty"`
	City      string            `json:"city,omitempty"`
	Country   string            `json:"country,omitempty"`
	Custom    map[string]string `json:"custom,omitempty"`
}

// BusinessContext is the sender's side, from organizations.business_context.
type BusinessContext struct {
	CompanyName      string   `json:"company_name,omitempty"`
	Industry         string   `json:"industry,omitempty"`
	TargetAudience   string   `json:"target_audience,omitempty"`
	ValueProposition string   `json:"value_proposition,omitempty"`
	Tone             string   `json:"tone,omitempty"`
	KeyPainPoints    []string `json:"key_pain_points,omitempty"`
	CaseStudies      []string `json:"case_studies,omitempty"`
	CTA              string   `json:"cta,omitempty"`
	SenderName       string   `json:"sender_name,omitempty"`
	SenderTitle      string   `json:"sender_title,omitempty"`
}

// TemplateStep is one step of a sequence template, with placeholders.
type TemplateStep struct {
	Step      int     `json:"step"`
	DelayDays int     `json:"delay_days"`
	Channel   Channel `json:"channel,omitempty"`
	Subject   string  `json:"subject,omitempty"`
	Body      string  `json:"body"`
}

// Template is a sequence template to personalise.
type Template struct {
	Name     string         `json:"name"`
	Industry string         `json:"industry,omitempty"`
	UseCase  string         `json:"use_case,omitempty"`
	Channels []Channel      `json:"channels,omitempty"`
	Steps    []TemplateStep `json:"steps"`
}

// SequenceRequest asks for a personalised multi-step sequence.
type SequenceRequest struct {
	Lead     Lead
	Business BusinessContext
	Channels []Channel // allowed channels, at least one
	Length   int       // number of steps, 1..10
	Template *Template // optional: personalise this instead of writing anew
	// Brief is what the sender wants, in their own words, when there is no
	// Template ("a friendly intro to our bookkeeping service"). Network
	// providers quote it to the model as data; the built-in one ignores it.
	Brief string
	// Templates the built-in provider may choose from when Template is nil
	// (network providers ignore it).
	Candidates []Template
	// Instruction is how the sender wants the current steps rewritten
	// ("shorter", "more formal"), when regenerating; empty otherwise.
	// Network providers quote it as data; the built-in one honours a few
	// words (see builtin.GenerateSequence).
	Instruction string
	// Current is the sequence being regenerated, as context for the
	// rewrite; nil when generating anew.
	Current []Step
}

// Step is one generated step.
type Step struct {
	Step      int     `json:"step"`
	DelayDays int     `json:"delay_days"`
	Channel   Channel `json:"channel"`
	Subject   string  `json:"subject,omitempty"`
	Body      string  `json:"body"`
}

// SequenceResult is a validated sequence.
type SequenceResult struct {
	Meta
	Steps []Step `json:"steps"`
}

// Reply is an inbound message to classify.
type Reply struct {
	From    string
	Subject string
	Body    string
	Headers map[string][]string // raw headers when known (Auto-Submitted, Content-Type, ...)
}

// Original is the outbound message the reply answers, when known.
type Original struct {
	Subject string
	Body    string
}

// ClassifyResult is a reply's class with a confidence in [0,1] and a reason.
type ClassifyResult struct {
	Meta
	Classification Classification `json:"classification"`
	Confidence     float64        `json:"confidence"`
	Reason         string         `json:"reason"`
}

// FieldType is the type of an extracted field.
type FieldType string

// Field types for Extract.
const (
	FieldString     FieldType = "string"
	FieldStringList FieldType = "string_list"
	FieldEnum       FieldType = "enum"
)

// Field describes one field to extract.
type Field struct {
	Name        string
	Type        FieldType
	Description string
	Enum        []string // for FieldEnum
}

// Schema is the set of fields Extract looks for.
type Schema struct {
	Fields []Field
}

// ExtractResult holds the fields found: string or []string values, keyed by
// field name; fields not found are absent.
type ExtractResult struct {
	Meta
	Fields map[string]any `json:"fields"`
}

// Provider is what the domain calls. Implementations must be safe for
// concurrent use.
type Provider interface {
	// Name is the provider id: builtin, anthropic, openai, gemini, deepseek, groq.
	Name() string
	Chat(ctx context.Context, req ChatRequest) (ChatResult, error)
	// ChatStream yields chunks; iteration stops at the first error.
	ChatStream(ctx context.Context, req ChatRequest) iter.Seq2[StreamChunk, error]
	GenerateSequence(ctx context.Context, req SequenceRequest) (SequenceResult, error)
	ClassifyReply(ctx context.Context, reply Reply, original *Original) (ClassifyResult, error)
	Extract(ctx context.Context, schema Schema, conversation []Message) (ExtractResult, error)
}

// Domain errors. Adapters wrap provider failures in *Error with one of
// these as Kind so the API can answer with a precise 4xx problem.
var (
	ErrInvalidKey    = errors.New("llm: invalid API key")
	ErrModelNotFound = errors.New("llm: model not found")
	ErrQuota         = errors.New("llm: quota or billing limit reached")
	ErrRateLimited   = errors.New("llm: rate limited")
	ErrUnavailable   = errors.New("llm: provider unavailable")
	ErrInvalidOutput = errors.New("llm: output failed validation")
	ErrBadRequest    = errors.New("llm: request rejected by provider")
	ErrNotConfigured = errors.New("llm: provider not configured")
)

// Error is a provider failure with the provider's own words.
type Error struct {
	Kind     error // one of the Err* sentinels
	Provider string
	Status   int    // HTTP status from the provider, 0 if none
	Message  string // provider's message, safe to show (never contains the key)
	// Violations lists what was still wrong with the output when Kind is
	// ErrInvalidOutput (after the repair round); empty otherwise.
	Violations []Violation
}

func (e *Error) Error() string {
	return e.Provider + ": " + e.Kind.Error() + ": " + e.Message
}

// Unwrap lets errors.Is match the Kind sentinel.
func (e *Error) Unwrap() error { return e.Kind }
