package bounce

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/mail"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"
)

// Kind says what a Report is about.
type Kind string

// The kinds of Report.
const (
	// KindBounce is a delivery failure.
	KindBounce Kind = "bounce"
	// KindDelay is a warning that delivery is delayed and still being
	// retried: not a failure.
	KindDelay Kind = "delay"
	// KindComplaint is an abuse (or other feedback) report, e.g. a
	// recipient pressing "this is spam".
	KindComplaint Kind = "complaint"
)

// Report describes one delivery-status notification or complaint.
type Report struct {
	Kind Kind
	// Format names the report's shape or producer: "rfc3464", "arf",
	// "postfix", "sendmail", "exim", "qmail", "exchange", "gmail", "yahoo", "jmrp",
	// "ses", "domino", "notes", "x-failed-recipients", "heuristic".
	Format string
	// Recipients are the failed (or delayed, or complaining) recipients; at
	// least one for a bounce when it can be found.
	Recipients []Recipient

	// The message that bounced or was complained about, as far as the
	// report shows it. OriginalMessageID has no angle brackets.
	OriginalMessageID string
	OriginalFrom      string
	OriginalTo        string
	OriginalSubject   string

	// FeedbackType is the ARF Feedback-Type (abuse, fraud, not-spam, ...).
	FeedbackType string
	// Reporter is the Reporting-MTA, or the address of the report's sender.
	Reporter string
}

// Recipient is one recipient of the original message named by a report.
type Recipient struct {
	// Address is the lower-cased recipient address.
	Address string
	// Action is the RFC 3464 action (failed, delayed, ...) when known.
	Action string
	// Status is the enhanced status code ("5.1.1") when known.
	Status string
	// Diagnostic is the remote server's text, at most 500 characters.
	Diagnostic string
	// Hard is true for a permanent failure of the address (see the package
	// documentation for the rules).
	Hard bool
}

// maxPart bounds how much of one MIME part is read.
const maxPart = 1 << 20

// maxDiagnostic bounds Recipient.Diagnostic.
const maxDiagnostic = 500

// Detect looks at one raw RFC 5322 message; nil when it is neither a bounce
// nor a complaint. It never panics.
func Detect(raw []byte) (rep *Report) {
	defer func() {
		if recover() != nil {
			rep = nil
		}
	}()
	rep = detect(raw)
	if rep != nil {
		rep.normalise()
	}
	return rep
}

// envelope is what Detect knows about the message before reading its body.
type envelope struct {
	header      message.Header
	mediaType   string
	params      map[string]string
	from        string // bare address, lower case
	fromName    string // display name, lower case
	subject     string // decoded
	daemon      bool   // the sender looks like a mail system, not a person
	nullSender  bool   // Return-Path: <>
	autoSubmit  bool   // Auto-Submitted present and not "no"
	failedRcpts []string
}

func detect(raw []byte) *Report {
	if !quickCandidate(raw) {
		return nil
	}
	ent, err := message.Read(bytes.NewReader(raw))
	if ent == nil {
		// The top header could not be parsed by go-message (a malformed
		// line): read it tolerantly and treat the rest as plain text.
		_ = err
		return detectMalformed(raw)
	}
	env := readEnvelope(ent.Header)
	if !env.candidate() {
		return nil
	}
	if env.mediaType == "multipart/report" {
		switch strings.ToLower(env.params["report-type"]) {
		case "disposition-notification":
			return nil
		case "feedback-report":
			return detectARF(env, walk(ent))
		default:
			if rep, decided := detectDSN(env, walk(ent)); decided {
				return rep
			}
			// A report without a usable delivery-status part: fall through
			// to the text parsers on a fresh parse.
			ent, _ = message.Read(bytes.NewReader(raw))
			if ent == nil {
				return nil
			}
		}
	}
	parts := walk(ent)
	if rep := detectJMRP(env, parts); rep != nil {
		return rep
	}
	return detectText(env, parts)
}

func detectMalformed(raw []byte) *Report {
	fields, body := parseFields(raw)
	h := message.Header{}
	for _, f := range fields {
		h.Add(f.name, f.value)
	}
	env := readEnvelope(h)
	if !env.candidate() {
		return nil
	}
	if len(body) > maxPart {
		body = body[:maxPart]
	}
	return detectText(env, []part{{mediaType: "text/plain", body: body}})
}

func readEnvelope(h message.Header) *envelope {
	env := &envelope{header: h}
	env.mediaType, env.params, _ = h.ContentType()
	env.mediaType = strings.ToLower(env.mediaType)
	env.subject = decodeWords(h.Get("Subject"))
	env.from, env.fromName = parseAddress(h.Get("From"))
	env.nullSender = strings.TrimSpace(h.Get("Return-Path")) == "<>"
	if as := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); as != "" && as != "no" {
		env.autoSubmit = true
	}
	env.daemon = isDaemon(env.from, env.fromName)
	for _, v := range h.Values("X-Failed-Recipients") {
		for _, a := range strings.Split(v, ",") {
			if addr := cleanAddress(a); addr != "" {
				env.failedRcpts = append(env.failedRcpts, addr)
			}
		}
	}
	return env
}

// candidate is the cheap pre-filter: only machine-looking messages go on. A
// bounce-like subject alone is not enough (people write "Re: undelivered
// invoice"); the text parsers and the heuristic need one of these signs.
func (env *envelope) candidate() bool {
	if env.mediaType == "multipart/report" || len(env.failedRcpts) > 0 || env.daemon || env.nullSender {
		return true
	}
	if env.autoSubmit && !isReplyOrForward(env.subject) {
		return true
	}
	return isFeedbackSender(env.from)
}

// automated reports whether the message carries a sign that software, not a
// person, sent it. Text bounce parsers require it.
func (env *envelope) automated() bool {
	return env.daemon || env.nullSender || env.autoSubmit || len(env.failedRcpts) > 0 ||
		env.mediaType == "multipart/report"
}

// part is one decoded leaf of the MIME tree.
type part struct {
	mediaType string
	params    map[string]string
	header    message.Header
	body      []byte
}

// walk returns the leaves of the MIME tree, decoded (transfer encoding and,
// for text/*, charset). A part that cannot be decoded is kept as it is; a
// broken tree yields the parts read before the break.
func walk(ent *message.Entity) []part {
	var parts []part
	_ = ent.Walk(func(path []int, e *message.Entity, err error) error {
		if e == nil {
			return nil
		}
		mt, params, _ := e.Header.ContentType()
		mt = strings.ToLower(mt)
		if strings.HasPrefix(mt, "multipart/") {
			return nil
		}
		if mt == "" {
			mt = "text/plain"
		}
		// A decoding error (bad base64, truncated part) keeps what was read.
		body, _ := io.ReadAll(io.LimitReader(e.Body, maxPart))
		parts = append(parts, part{mediaType: mt, params: params, header: e.Header, body: body})
		if len(parts) > 64 {
			return errors.New("bounce: too many parts")
		}
		return nil
	})
	return parts
}

// normalise enforces the invariants of a Report.
func (r *Report) normalise() {
	seen := make(map[string]int, len(r.Recipients))
	out := r.Recipients[:0]
	for _, rc := range r.Recipients {
		rc.Address = strings.ToLower(strings.TrimSpace(rc.Address))
		if rc.Address == "" {
			continue
		}
		rc.Diagnostic = trimDiagnostic(rc.Diagnostic)
		rc.Action = strings.ToLower(strings.TrimSpace(rc.Action))
		if i, ok := seen[rc.Address]; ok {
			// The same address twice (e.g. a text part and the X- header):
			// keep the richer entry.
			if out[i].Status == "" && rc.Status != "" || out[i].Diagnostic == "" && rc.Diagnostic != "" {
				out[i] = rc
			}
			continue
		}
		seen[rc.Address] = len(out)
		out = append(out, rc)
	}
	r.Recipients = out
	r.OriginalMessageID = cleanMessageID(r.OriginalMessageID)
	r.OriginalFrom = strings.TrimSpace(r.OriginalFrom)
	r.OriginalTo = strings.TrimSpace(r.OriginalTo)
	r.OriginalSubject = strings.TrimSpace(r.OriginalSubject)
	r.Reporter = strings.TrimSpace(r.Reporter)
	r.FeedbackType = strings.ToLower(strings.TrimSpace(r.FeedbackType))
}

func trimDiagnostic(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxDiagnostic {
		return s
	}
	// Cut on a rune boundary.
	cut := maxDiagnostic
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

func decodeWords(s string) string {
	if !strings.Contains(s, "=?") {
		return strings.TrimSpace(s)
	}
	if d, err := wordDecoder.DecodeHeader(s); err == nil {
		return strings.TrimSpace(d)
	}
	return strings.TrimSpace(s)
}

// parseAddress returns the bare lower-case address and lower-case display
// name of a From-like header value.
func parseAddress(v string) (addr, name string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", ""
	}
	if a, err := (&mail.AddressParser{WordDecoder: wordDecoder}).Parse(v); err == nil {
		return strings.ToLower(a.Address), strings.ToLower(a.Name)
	}
	// Tolerant fallback: "MAILER-DAEMON@host (Mail Delivery System)" parses
	// above, but "Mail Delivery Subsystem <MAILER-DAEMON>" does not.
	if i := strings.IndexByte(v, '<'); i >= 0 {
		name = strings.Trim(strings.TrimSpace(v[:i]), `"`)
		rest := v[i+1:]
		if j := strings.IndexByte(rest, '>'); j >= 0 {
			rest = rest[:j]
		}
		return strings.ToLower(strings.TrimSpace(rest)), strings.ToLower(name)
	}
	return strings.ToLower(v), ""
}
