package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// StructuredFunc sends msgs to a model in its structured-output mode for
// task (a forced tool call, JSON mode or a response schema) and returns the
// answer as raw JSON text, untouched: checking it is the caller's job.
// Errors are *Error values from the provider's error mapping.
type StructuredFunc func(ctx context.Context, task Task, msgs []Message) (raw string, meta Meta, err error)

// Structured implements GenerateSequence, ClassifyReply and Extract for a
// network provider on top of one StructuredFunc: it builds the prompt,
// decodes the answer strictly, validates it, and on failure runs one repair
// round that shows the model its answer and what was wrong with it. Usage
// of both calls is summed. Providers embed it.
type Structured struct {
	// Provider names the provider in errors (anthropic, openai, ...).
	Provider string
	// Call performs one structured round trip.
	Call StructuredFunc
}

// GenerateSequence writes a validated sequence for req.
func (s Structured) GenerateSequence(ctx context.Context, req SequenceRequest) (SequenceResult, error) {
	if req.Length < 0 || req.Length > MaxSequenceLength {
		return SequenceResult{}, &Error{Kind: ErrBadRequest, Provider: s.Provider,
			Message: fmt.Sprintf("sequence length %d is outside %d..%d", req.Length, MinSequenceLength, MaxSequenceLength)}
	}
	steps, meta, err := complete(ctx, s, SequenceTask(req), SequenceMessages(req), func(raw string) ([]Step, []Violation) {
		return decodeSequence(raw, req)
	})
	if err != nil {
		return SequenceResult{Meta: meta}, err
	}
	return SequenceResult{Meta: meta, Steps: steps}, nil
}

// ClassifyReply classifies reply, optionally knowing the message it answers.
func (s Structured) ClassifyReply(ctx context.Context, reply Reply, original *Original) (ClassifyResult, error) {
	res, meta, err := complete(ctx, s, ClassifyTask(), ClassifyMessages(reply, original), decodeClassification)
	res.Meta = meta
	return res, err
}

// Extract pulls schema's fields out of conversation. An empty schema asks
// for nothing, so no call is made.
func (s Structured) Extract(ctx context.Context, schema Schema, conversation []Message) (ExtractResult, error) {
	if len(schema.Fields) == 0 {
		return ExtractResult{Meta: Meta{Provider: s.Provider}, Fields: map[string]any{}}, nil
	}
	fields, meta, err := complete(ctx, s, ExtractTask(schema), ExtractMessages(schema, conversation), func(raw string) (map[string]any, []Violation) {
		return decodeExtraction(raw, schema)
	})
	if err != nil {
		return ExtractResult{Meta: meta}, err
	}
	return ExtractResult{Meta: meta, Fields: fields}, nil
}

// complete runs the call, decodes it, and gives the model one chance to
// repair a rejected answer. A second rejection is an *Error with Kind
// ErrInvalidOutput listing the violations that remain.
func complete[T any](ctx context.Context, s Structured, task Task, msgs []Message, decode func(raw string) (T, []Violation)) (T, Meta, error) {
	var zero T
	raw, meta, err := s.Call(ctx, task, msgs)
	if err != nil {
		return zero, meta, err
	}
	v, vs := decode(raw)
	if len(vs) == 0 {
		return v, meta, nil
	}

	raw2, meta2, err := s.Call(ctx, task, repairMessages(msgs, raw, vs))
	meta = addMeta(meta, meta2)
	if err != nil {
		return zero, meta, err
	}
	v, vs = decode(raw2)
	if len(vs) == 0 {
		return v, meta, nil
	}
	return zero, meta, &Error{
		Kind:       ErrInvalidOutput,
		Provider:   s.Provider,
		Message:    summarize(vs),
		Violations: vs,
	}
}

// addMeta sums the usage of two calls; the later call names the model.
func addMeta(a, b Meta) Meta {
	out := a
	if b.Provider != "" {
		out.Provider = b.Provider
	}
	if b.Model != "" {
		out.Model = b.Model
	}
	out.Usage.PromptTokens += b.Usage.PromptTokens
	out.Usage.CompletionTokens += b.Usage.CompletionTokens
	return out
}

// summarize is the one-line message of an invalid-output error: the model
// failed twice, and the first few reasons say why.
func summarize(vs []Violation) string {
	const shown = 3
	var b strings.Builder
	b.WriteString("the model's answer failed validation after one repair round: ")
	for i, v := range vs[:min(len(vs), shown)] {
		if i > 0 {
			b.WriteString("; ")
		}
		if v.Path != "" {
			b.WriteString(v.Path)
			b.WriteString(": ")
		}
		b.WriteString(v.Message)
	}
	if len(vs) > shown {
		fmt.Fprintf(&b, " (and %d more)", len(vs)-shown)
	}
	return b.String()
}

// unfence removes one fence around the whole answer (```json ... ``` or
// ``` ... ```), which some models add even in JSON mode. Anything else
// around the JSON is left in place, to be rejected by the decoder: the
// answer must be JSON, not contain JSON somewhere.
func unfence(raw string) string {
	s := strings.TrimSpace(raw)
	if !strings.HasPrefix(s, "```") || !strings.HasSuffix(s, "```") || len(s) < 6 {
		return s
	}
	inner := s[3 : len(s)-3]
	nl := strings.IndexByte(inner, '\n')
	if nl < 0 {
		return s
	}
	if lang := strings.TrimSpace(inner[:nl]); lang != "" && !strings.EqualFold(lang, "json") {
		return s
	}
	inner = inner[nl+1:]
	if strings.Contains(inner, "```") {
		return s
	}
	return strings.TrimSpace(inner)
}

// decodeStrict decodes exactly one JSON value from raw into v, rejecting
// unknown fields and trailing text, and reports problems as violations.
func decodeStrict(raw string, v any) []Violation {
	s := unfence(raw)
	if s == "" {
		return []Violation{{Path: "", Message: "the answer is empty; return a JSON object"}}
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return []Violation{jsonViolation(err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return []Violation{{Path: "", Message: "the answer continues after the JSON object; return only the JSON object"}}
	}
	return nil
}

// jsonViolation turns a decoding error into a violation the model can act
// on: a path for type errors, an offset for syntax errors.
func jsonViolation(err error) Violation {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return Violation{Path: "", Message: fmt.Sprintf("not valid JSON (%v at offset %d); return only a JSON object", syn, syn.Offset)}
	case errors.As(err, &typ):
		path := "/" + strings.ReplaceAll(typ.Field, ".", "/")
		if typ.Field == "" {
			path = ""
		}
		return Violation{Path: path, Message: fmt.Sprintf("must be %s, got a JSON %s", jsonKind(typ.Type.Kind().String()), typ.Value)}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return Violation{Path: "", Message: "the JSON is cut off; return the complete object"}
	default:
		msg := strings.TrimPrefix(err.Error(), "json: ")
		return Violation{Path: "", Message: msg}
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int64", "int32":
		return "an integer"
	case "float64", "float32":
		return "a number"
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "a boolean"
	default:
		return "a " + goKind
	}
}

// wireStep mirrors a step as the model writes it; pointers tell a missing
// field from a zero one.
type wireStep struct {
	Step      *int    `json:"step"`
	DelayDays *int    `json:"delay_days"`
	Channel   *string `json:"channel"`
	Subject   *string `json:"subject"`
	Body      *string `json:"body"`
}

func decodeSequence(raw string, req SequenceRequest) ([]Step, []Violation) {
	var w struct {
		Steps *[]json.RawMessage `json:"steps"`
	}
	if vs := decodeStrict(raw, &w); vs != nil {
		return nil, vs
	}
	if w.Steps == nil {
		return nil, []Violation{{Path: "/steps", Message: "missing; return {\"steps\": [...]}"}}
	}
	var vs []Violation
	steps := make([]Step, len(*w.Steps))
	for i, rawStep := range *w.Steps {
		p := "/steps/" + strconv.Itoa(i)
		// Each step is decoded on its own so that a type error names
		// the step it is in.
		var ws wireStep
		dec := json.NewDecoder(bytes.NewReader(rawStep))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ws); err != nil {
			v := jsonViolation(err)
			v.Path = p + v.Path
			vs = append(vs, v)
			continue
		}
		missing := func(name string) {
			vs = append(vs, Violation{Path: p + "/" + name, Message: "missing"})
		}
		if ws.Step == nil {
			missing("step")
		} else {
			steps[i].Step = *ws.Step
		}
		if ws.DelayDays == nil {
			missing("delay_days")
		} else {
			steps[i].DelayDays = *ws.DelayDays
		}
		if ws.Channel == nil {
			missing("channel")
		} else {
			steps[i].Channel = Channel(*ws.Channel)
		}
		if ws.Body == nil {
			missing("body")
		} else {
			steps[i].Body = *ws.Body
		}
		if ws.Subject != nil {
			steps[i].Subject = *ws.Subject
		}
	}
	if len(vs) > 0 {
		// Content rules on half-decoded steps would only add noise.
		return nil, vs
	}
	if err := ValidateSequence(req, steps); err != nil {
		var ve *ValidationError
		if !errors.As(err, &ve) {
			return nil, []Violation{{Path: "", Message: err.Error()}}
		}
		return nil, ve.Violations
	}
	return steps, nil
}

func decodeClassification(raw string) (ClassifyResult, []Violation) {
	var w struct {
		Classification *string  `json:"classification"`
		Confidence     *float64 `json:"confidence"`
		Reason         *string  `json:"reason"`
	}
	if vs := decodeStrict(raw, &w); vs != nil {
		return ClassifyResult{}, vs
	}
	var out ClassifyResult
	var vs []Violation
	switch {
	case w.Classification == nil:
		vs = append(vs, Violation{Path: "/classification", Message: "missing"})
	default:
		// Case carries no meaning here: "INTERESTED" is as clear as "interested".
		c := Classification(strings.ToLower(strings.TrimSpace(*w.Classification)))
		if !slices.Contains(Classifications, c) {
			vs = append(vs, Violation{Path: "/classification", Message: fmt.Sprintf("%q is not a class; use one of %s", *w.Classification, classList())})
		}
		out.Classification = c
	}
	switch {
	case w.Confidence == nil:
		vs = append(vs, Violation{Path: "/confidence", Message: "missing"})
	case *w.Confidence < 0 || *w.Confidence > 1:
		vs = append(vs, Violation{Path: "/confidence", Message: fmt.Sprintf("%v is outside 0..1", *w.Confidence)})
	default:
		out.Confidence = *w.Confidence
	}
	switch {
	case w.Reason == nil:
		vs = append(vs, Violation{Path: "/reason", Message: "missing"})
	case strings.TrimSpace(*w.Reason) == "":
		vs = append(vs, Violation{Path: "/reason", Message: "is empty; give a one-sentence reason"})
	default:
		out.Reason = strings.TrimSpace(*w.Reason)
	}
	if len(vs) > 0 {
		return ClassifyResult{}, vs
	}
	return out, nil
}

func classList() string {
	parts := make([]string, len(Classifications))
	for i, c := range Classifications {
		parts[i] = string(c)
	}
	return strings.Join(parts, ", ")
}

// decodeExtraction checks each field against its type. null, "" and []
// mean "not stated" and are left out, as the result type promises.
func decodeExtraction(raw string, schema Schema) (map[string]any, []Violation) {
	var w map[string]json.RawMessage
	if vs := decodeStrict(raw, &w); vs != nil {
		return nil, vs
	}
	if w == nil {
		return nil, []Violation{{Path: "", Message: "must be a JSON object"}}
	}
	byName := make(map[string]Field, len(schema.Fields))
	for _, f := range schema.Fields {
		byName[f.Name] = f
	}
	names := make([]string, 0, len(w))
	for k := range w {
		names = append(names, k)
	}
	slices.Sort(names) // stable violation order for the repair prompt

	out := make(map[string]any)
	var vs []Violation
	for _, name := range names {
		val := w[name]
		p := "/" + name
		f, ok := byName[name]
		if !ok {
			vs = append(vs, Violation{Path: p, Message: "is not a requested field; leave it out"})
			continue
		}
		if bytes.Equal(bytes.TrimSpace(val), []byte("null")) {
			continue
		}
		switch f.Type {
		case FieldStringList:
			var list []string
			if err := json.Unmarshal(val, &list); err != nil {
				vs = append(vs, Violation{Path: p, Message: "must be an array of strings"})
				continue
			}
			clean := make([]string, 0, len(list))
			for _, item := range list {
				if item = strings.TrimSpace(item); item != "" {
					clean = append(clean, item)
				}
			}
			if len(clean) > 0 {
				out[name] = clean
			}
		default:
			var str string
			if err := json.Unmarshal(val, &str); err != nil {
				vs = append(vs, Violation{Path: p, Message: "must be a string"})
				continue
			}
			str = strings.TrimSpace(str)
			if str == "" {
				continue
			}
			if f.Type == FieldEnum {
				i := slices.IndexFunc(f.Enum, func(e string) bool { return strings.EqualFold(e, str) })
				if i < 0 {
					vs = append(vs, Violation{Path: p, Message: fmt.Sprintf("%q is not allowed; use one of %s", str, strings.Join(f.Enum, ", "))})
					continue
				}
				str = f.Enum[i]
			}
			out[name] = str
		}
	}
	if len(vs) > 0 {
		return nil, vs
	}
	return out, nil
}

// KindForStatus is the default domain error for an HTTP error status.
// Adapters first look at the provider's own error type or code (a 429 can
// be a rate limit or an exhausted quota) and fall back to this.
func KindForStatus(status int) error {
	switch {
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return ErrInvalidKey
	case status == http.StatusPaymentRequired:
		return ErrQuota
	case status == http.StatusNotFound:
		return ErrModelNotFound
	case status == http.StatusTooManyRequests:
		return ErrRateLimited
	case status == http.StatusRequestTimeout, status >= 500:
		return ErrUnavailable
	default:
		return ErrBadRequest
	}
}

// TransportError maps a failure that produced no provider answer. A caller
// who cancelled gets its own context error back (nothing went wrong with
// the provider); a timeout or connection failure is ErrUnavailable. An
// *Error passes through.
func TransportError(provider string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", provider, err)
	}
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()) {
		return &Error{Kind: ErrUnavailable, Provider: provider, Message: "the provider did not answer in time"}
	}
	return &Error{Kind: ErrUnavailable, Provider: provider, Message: "could not reach the provider: " + err.Error()}
}

// ScrubKey removes key from a provider message before it is shown: some
// APIs echo (part of) the key they rejected.
func ScrubKey(msg, key string) string {
	if len(key) < 4 {
		return msg
	}
	return strings.ReplaceAll(msg, key, "[redacted]")
}

// StreamCut is the error for a stream that ended without its end marker
// (what names the marker): the caller's cancellation when that is why,
// otherwise ErrUnavailable, since a partial answer must not pass as whole.
func StreamCut(ctx context.Context, provider, what string) error {
	if err := ctx.Err(); err != nil {
		return TransportError(provider, err)
	}
	return &Error{Kind: ErrUnavailable, Provider: provider, Message: "the stream ended early, before " + what + "; the answer is incomplete"}
}
