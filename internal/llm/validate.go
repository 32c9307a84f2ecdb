package llm

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/leadpilot/leadpilot/internal/placeholder"
)

// Content limits a generated step must respect. They are checked on every
// provider's output, the built-in one included, so a sequence that reaches
// the scheduler can always be sent as written.
const (
	// MaxEmailSubjectLen is the longest subject, in runes: longer ones are
	// cut off by most mail clients and read as spam by filters.
	MaxEmailSubjectLen = 120
	// MaxSMSSegments caps what one SMS step may cost: each segment is billed
	// as a separate message by carriers.
	MaxSMSSegments = 3
	// MaxWhatsAppBodyLen is the body limit of a WhatsApp message template, in
	// runes: outreach is business-initiated, which WhatsApp allows only as
	// an approved template (free-form session messages may be 1,600 via
	// Twilio, but only inside a 24-hour window the lead opened).
	MaxWhatsAppBodyLen = 1024
	// MaxEmailBodyLen bounds an email body, in runes; a cold email longer than
	// this is a model running away, not copy.
	MaxEmailBodyLen = 10000
)

// LeadFields are the {{placeholders}} allowed to stay unresolved (filled at
// send time), with or without a fallback ({{first_name|there}}). The
// grammar is package placeholder's.
var LeadFields = []string{"first_name", "last_name", "full_name", "email", "company", "job_title", "website", "city", "country"}

// Violation is one broken rule, with a JSON-pointer-ish path like "/steps/1/subject".
// Step indexes in the path are 0-based array positions, as in a JSON Pointer
// (RFC 6901), so "/steps/1" is the second step.
type Violation struct {
	Path    string
	Message string
}

// ValidationError lists every violation; errors.Is(err, ErrInvalidOutput) is true.
// It reports all violations at once, not just the first, because the repair
// round sends them back to the model together.
type ValidationError struct {
	Violations []Violation
}

// Error joins the violations into one line: "path: message; path: message".
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(ErrInvalidOutput.Error())
	for i, v := range e.Violations {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(v.Path)
		b.WriteString(": ")
		b.WriteString(v.Message)
	}
	return b.String()
}

// Unwrap returns ErrInvalidOutput so callers can branch with errors.Is.
func (e *ValidationError) Unwrap() error { return ErrInvalidOutput }

// ValidateSequence checks generated steps against the request's rules and returns a *ValidationError or nil.
//
// The expected number of steps is req.Length when it is positive, otherwise
// the step count of req.Template when one is given; with neither, any
// non-empty sequence is accepted. When req.Channels is empty only the three
// known channels are allowed.
func ValidateSequence(req SequenceRequest, steps []Step) error {
	var vs []Violation
	add := func(path, format string, args ...any) {
		vs = append(vs, Violation{Path: path, Message: fmt.Sprintf(format, args...)})
	}

	want := req.Length
	if want <= 0 && req.Template != nil {
		want = len(req.Template.Steps)
	}
	switch {
	case len(steps) == 0:
		add("/steps", "no steps were generated")
	case want > 0 && len(steps) != want:
		add("/steps", "got %d steps, want exactly %d", len(steps), want)
	}

	allowed := req.Channels
	if len(allowed) == 0 {
		allowed = []Channel{ChannelEmail, ChannelWhatsApp, ChannelSMS}
	}

	prevDelay := 0
	for i, s := range steps {
		p := "/steps/" + strconv.Itoa(i)
		if s.Step != i+1 {
			add(p+"/step", "step number is %d, want %d (steps are numbered 1..n in order)", s.Step, i+1)
		}
		switch {
		case s.DelayDays < 0:
			add(p+"/delay_days", "delay_days is %d, must not be negative", s.DelayDays)
		case i == 0 && s.DelayDays != 0:
			add(p+"/delay_days", "the first step must have delay_days 0, got %d", s.DelayDays)
		case i > 0 && s.DelayDays < prevDelay:
			add(p+"/delay_days", "delay_days %d is smaller than the previous step's %d; delays must not decrease", s.DelayDays, prevDelay)
		}
		if s.DelayDays > prevDelay {
			prevDelay = s.DelayDays
		}

		if !slices.Contains(allowed, s.Channel) {
			add(p+"/channel", "channel %q is not allowed; use one of %s", s.Channel, channelList(allowed))
		}

		switch s.Channel {
		default:
			// Reported above unless the request itself allowed it.
			if slices.Contains(allowed, s.Channel) {
				add(p+"/channel", "unknown channel %q; steps are email, whatsapp or sms", s.Channel)
			}
		case ChannelEmail:
			subject := strings.TrimSpace(s.Subject)
			switch {
			case subject == "":
				add(p+"/subject", "an email step needs a subject")
			case strings.ContainsAny(s.Subject, "\r\n"):
				add(p+"/subject", "the subject must be a single line")
			}
			if n := utf8.RuneCountInString(s.Subject); n > MaxEmailSubjectLen {
				add(p+"/subject", "the subject is %d characters, at most %d allowed", n, MaxEmailSubjectLen)
			}
			if n := utf8.RuneCountInString(s.Body); n > MaxEmailBodyLen {
				add(p+"/body", "the email body is %d characters, at most %d allowed", n, MaxEmailBodyLen)
			}
		case ChannelSMS:
			if s.Subject != "" {
				add(p+"/subject", "an sms step must not have a subject")
			}
			if n := SMSSegments(s.Body); n > MaxSMSSegments {
				add(p+"/body", "the sms body needs %d segments, at most %d allowed; shorten it or avoid emoji and accented characters", n, MaxSMSSegments)
			}
		case ChannelWhatsApp:
			if s.Subject != "" {
				add(p+"/subject", "a whatsapp step must not have a subject")
			}
			if n := utf8.RuneCountInString(s.Body); n > MaxWhatsAppBodyLen {
				add(p+"/body", "the whatsapp body is %d characters, at most %d allowed", n, MaxWhatsAppBodyLen)
			}
		}

		if strings.TrimSpace(s.Body) == "" {
			add(p+"/body", "the body is empty")
		}
		for _, f := range []struct{ name, text string }{{"subject", s.Subject}, {"body", s.Body}} {
			if strings.Contains(f.text, "```") {
				add(p+"/"+f.name, "contains a markdown code fence; return plain text")
			}
			tmpl, err := placeholder.Parse(f.text)
			if err != nil {
				add(p+"/"+f.name, "%v; write a placeholder as {{name}} or {{name|fallback}}, on one line", err)
				continue
			}
			for _, m := range unknownPlaceholders(f.text, tmpl, req.Lead.Custom) {
				add(p+"/"+f.name, "placeholder %s is not a lead field; fill it in or use one of %s", m, strings.Join(LeadFields, ", "))
			}
		}
	}

	if len(vs) == 0 {
		return nil
	}
	return &ValidationError{Violations: vs}
}

// unknownPlaceholders returns each placeholder of tmpl, as written in text,
// whose name is neither a lead field nor a custom field of the lead:
// nothing fills it at send time. A fallback does not make it acceptable:
// it would always render as the fallback, which the model should have
// written as text.
func unknownPlaceholders(text string, tmpl *placeholder.Template, custom map[string]string) []string {
	var bad []string
	for _, p := range tmpl.Parts() {
		if !p.IsPlaceholder() || slices.Contains(LeadFields, p.Name) {
			continue
		}
		if _, ok := custom[p.Name]; ok {
			continue
		}
		bad = append(bad, text[p.Offset:p.End])
	}
	return bad
}

func channelList(cs []Channel) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = string(c)
	}
	return strings.Join(parts, ", ")
}

// SMS encoding limits (3GPP TS 23.040): one GSM-7 message carries 160
// septets, a part of a concatenated one 153 (the rest is the UDH); UCS-2
// carries 70 UTF-16 units, 67 per part.
const (
	gsmSingle  = 160
	gsmPart    = 153
	ucs2Single = 70
	ucs2Part   = 67
)

// gsmBasic is the GSM 03.38 default alphabet; each costs one septet.
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtension is the GSM 03.38 extension table; each costs two septets
// (an escape plus the character).
const gsmExtension = "\f^{}\\[~]|€"

// SMSSegments returns how many SMS segments body needs (GSM-7: 160 single / 153 per part, extension-table chars count 2; otherwise UCS-2: 70 / 67).
//
// An empty body needs 0 segments. Like real encoders, it never splits an
// escape sequence or a UTF-16 surrogate pair across two parts, so a
// message full of extension characters or emoji can need one more part
// than a plain division suggests.
func SMSSegments(body string) int {
	if body == "" {
		return 0
	}
	sizes, gsm := gsmSizes(body)
	single, part := gsmSingle, gsmPart
	if !gsm {
		sizes = ucs2Sizes(body)
		single, part = ucs2Single, ucs2Part
	}
	total := 0
	for _, n := range sizes {
		total += n
	}
	if total <= single {
		return 1
	}
	segments, used := 1, 0
	for _, n := range sizes {
		if used+n > part {
			segments++
			used = 0
		}
		used += n
	}
	return segments
}

// gsmSizes returns the septet cost of each rune, or false when a rune is
// outside GSM-7 and the whole message must be sent as UCS-2.
func gsmSizes(body string) ([]int, bool) {
	sizes := make([]int, 0, len(body))
	for _, r := range body {
		switch {
		case strings.ContainsRune(gsmBasic, r):
			sizes = append(sizes, 1)
		case strings.ContainsRune(gsmExtension, r):
			sizes = append(sizes, 2)
		default:
			return nil, false
		}
	}
	return sizes, true
}

// ucs2Sizes returns the UTF-16 code-unit cost of each rune: 2 for runes
// outside the Basic Multilingual Plane (most emoji), 1 otherwise.
func ucs2Sizes(body string) []int {
	sizes := make([]int, 0, len(body))
	for _, r := range body {
		if r >= 0x10000 {
			sizes = append(sizes, 2)
		} else {
			sizes = append(sizes, 1)
		}
	}
	return sizes
}
