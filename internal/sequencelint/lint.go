package sequencelint

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/orgs"
	"github.com/leadpilot/leadpilot/internal/placeholder"
	"github.com/leadpilot/leadpilot/internal/templates"
)

// Thresholds the rules use; see the package documentation for why.
const (
	// SubjectWarnLen is the longest email subject, in characters, that
	// draws no warning. llm.MaxEmailSubjectLen is the error limit.
	SubjectWarnLen = 78
	// SMSWarnSegments is the most SMS segments that draw no warning.
	// llm.MaxSMSSegments is the error limit.
	SMSWarnSegments = 2
	// LinksWarn and LinksError are the most links one body may hold before
	// a warning and an error.
	LinksWarn  = 2
	LinksError = 5
	// CapsRunLen is how many all-capital words in a row read as shouting.
	CapsRunLen = 3
	// AcronymMaxLen is the longest all-capital single-word subject that is
	// read as an acronym rather than shouting.
	AcronymMaxLen = 4
)

// Severity says what a finding does to approval.
type Severity string

// Severities, from blocking to informative.
const (
	// Error blocks approval.
	Error Severity = "error"
	// Warning is shown to the approver and does not block.
	Warning Severity = "warning"
	// Info explains (a placeholder filled at send time, an encoding).
	Info Severity = "info"
)

// Step is one step to check, as templates and sequences write it.
type Step = templates.Step

// Context is what the rules need besides the steps.
type Context struct {
	// Business is the business context the sequence is written for (the
	// org's, merged with the campaign's): its sender name is checked, and
	// its values fill the sender-side placeholders ({{sender_name}}, {{cta}}).
	Business orgs.BusinessContext
	// PostalAddress is the org's postal address, "" when unknown.
	PostalAddress string
	// Country is the recipient's country (ISO 3166-1 alpha-2, any case),
	// "" when unknown.
	Country string
	// Transactional says the messages are transactional or relationship
	// messages rather than commercial ones. The zero value, false, is
	// commercial: outreach is.
	Transactional bool
	// Lead is the lead the sequence is for, when known. With it, lead
	// placeholders are checked against the lead's values and lengths are
	// measured on the text the lead will get; without it, on
	// templates.SampleLead.
	Lead *templates.Lead
}

// Finding is one problem (or note) about one step.
type Finding struct {
	// Step is the step's number (Step.Step).
	Step int `json:"step"`
	// Field is a JSON pointer to the field: "/steps/0/subject", the index
	// being the step's position in the slice given to Lint; "/steps/0" for
	// what concerns the whole message (a missing sender name or address).
	Field string `json:"field"`
	// Code is stable snake_case, such as "subject_too_long".
	Code string `json:"code"`
	// Severity says whether it blocks approval.
	Severity Severity `json:"severity"`
	// Message says what is wrong and how to fix it, in plain words.
	Message string `json:"message"`
}

// Report is every finding, in step order and, within a step, in the order
// the rules run.
type Report struct {
	Findings []Finding `json:"findings"`
}

// Blocking reports whether any finding is an error, so the steps may not be
// approved.
func (r Report) Blocking() bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Severity == Error })
}

// Count returns how many findings have severity s.
func (r Report) Count(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}

// Lint checks every step and returns the findings. It never fails: a step
// it cannot make sense of (an unknown channel, a text that does not parse)
// is itself a finding.
func Lint(steps []Step, ctx Context) Report {
	l := linter{ctx: ctx, country: strings.ToUpper(strings.TrimSpace(ctx.Country))}
	l.known = templates.Values(allLeadFields, ctx.Business)
	if ctx.Lead != nil {
		l.measure = templates.Values(*ctx.Lead, ctx.Business)
	} else {
		l.measure = templates.Values(templates.SampleLead(), ctx.Business)
	}
	smsSeen := false
	for i, s := range steps {
		l.step(i, s, !smsSeen)
		if s.Channel == templates.ChannelSMS {
			smsSeen = true
		}
	}
	if l.findings == nil {
		l.findings = []Finding{}
	}
	return Report{Findings: l.findings}
}

type linter struct {
	ctx     Context
	country string
	// known holds every name the send-time renderer can fill for this
	// business context (lead fields with any lead); measure holds the
	// values lengths are measured with.
	known    map[string]string
	measure  map[string]string
	findings []Finding
}

// allLeadFields has every lead column set, so templates.Values lists every
// lead-side name it knows; custom fields are matched by their prefix.
var allLeadFields = templates.Lead{
	FirstName: "x", LastName: "x", Email: "x", Phone: "x", Company: "x", JobTitle: "x", Website: "x",
	LinkedInURL: "x", City: "x", State: "x", Country: "x",
}

// leadSide holds the names filled from the lead rather than the business.
var leadSide = templates.Values(allLeadFields, orgs.BusinessContext{})

const customPrefix = "custom."

func isLeadSide(name string) bool {
	if _, ok := leadSide[name]; ok {
		return true
	}
	key, ok := strings.CutPrefix(name, customPrefix)
	return ok && placeholder.IsName(key)
}

// text is one field of a step: as written, rendered for measuring, and with
// placeholders taken out for the copy checks.
type text struct {
	field    string // "subject" or "body"
	pointer  string
	raw      string
	rendered string
	copy     string
}

func (l *linter) add(s Step, pointer, code string, sev Severity, format string, args ...any) {
	l.findings = append(l.findings, Finding{Step: s.Step, Field: pointer, Code: code, Severity: sev, Message: fmt.Sprintf(format, args...)})
}

func (l *linter) step(i int, s Step, firstSMS bool) {
	base := "/steps/" + strconv.Itoa(i)
	subject := l.parse(s, base, "subject", s.Subject)
	body := l.parse(s, base, "body", s.Body)
	commercial := !l.ctx.Transactional

	switch s.Channel {
	case templates.ChannelEmail, templates.ChannelSMS, templates.ChannelWhatsApp:
	default:
		l.add(s, base+"/channel", "unknown_channel", Error, "channel %q is not one we send on; use email, whatsapp or sms", s.Channel)
	}

	switch {
	case strings.TrimSpace(s.Body) == "":
		l.add(s, body.pointer, "empty_body", Error, "the body is empty")
	case strings.TrimSpace(body.rendered) == "":
		l.add(s, body.pointer, "empty_body", Error, "the body is nothing but placeholders that render empty")
	}

	switch s.Channel {
	case templates.ChannelEmail:
		l.subject(s, subject)
	case templates.ChannelSMS, templates.ChannelWhatsApp:
		if strings.TrimSpace(s.Subject) != "" {
			l.add(s, subject.pointer, "subject_not_sent", Warning, "%s messages have no subject, so this one is dropped; put anything it says in the body", s.Channel)
		}
	}

	switch s.Channel {
	case templates.ChannelSMS:
		l.sms(s, body)
	case templates.ChannelWhatsApp:
		if n := utf8.RuneCountInString(body.rendered); n > llm.MaxWhatsAppBodyLen {
			l.add(s, body.pointer, "whatsapp_too_long", Error,
				"the body is %d characters; a WhatsApp template message allows at most %d (business-initiated messages must be templates)", n, llm.MaxWhatsAppBodyLen)
		}
	}

	for _, t := range []text{subject, body} {
		l.copyChecks(s, t)
	}
	l.links(s, body)

	switch {
	case s.Channel == templates.ChannelEmail:
		l.emailLaw(s, base, body, commercial)
	case s.Channel == templates.ChannelSMS && commercial && firstSMS && !hasOptOut(body.copy):
		l.add(s, body.pointer, "missing_unsubscribe", Warning,
			`the first SMS of a commercial sequence should say how to stop them ("Reply STOP to opt out"); US carriers expect it`)
	}
}

// parse reads one field, reports its placeholders, and returns it in the
// three forms the rules read.
func (l *linter) parse(s Step, base, field, raw string) text {
	t := text{field: field, pointer: base + "/" + field, raw: raw, rendered: raw, copy: raw}
	if raw == "" {
		return t
	}
	tmpl, err := placeholder.Parse(raw)
	if err != nil {
		l.add(s, t.pointer, "placeholder_syntax", Error, "%v; write a placeholder as {{name}} or {{name|fallback}}, on one line", err)
		return t
	}
	t.rendered, _ = tmpl.Render(l.measure)
	var cp strings.Builder
	reported := map[string]bool{}
	for _, p := range tmpl.Parts() {
		if !p.IsPlaceholder() {
			cp.WriteString(p.Literal)
			continue
		}
		cp.WriteString("\n")
		written := raw[p.Offset:p.End]
		if reported[written] {
			continue
		}
		reported[written] = true
		l.placeholder(s, t.pointer, p, written)
	}
	t.copy = cp.String()
	return t
}

// placeholder reports a placeholder that may not be filled.
func (l *linter) placeholder(s Step, pointer string, p placeholder.Part, written string) {
	lead := l.ctx.Lead
	switch {
	case isLeadSide(p.Name):
		switch {
		case p.HasFallback:
		case lead == nil:
			l.add(s, pointer, "send_time_placeholder", Info,
				"%s is filled from the lead when sent; a lead without it gets nothing there, unless you give a fallback like {{%s|...}}", written, p.Name)
		case strings.TrimSpace(l.measure[p.Name]) == "":
			l.add(s, pointer, "unresolved_placeholder", Error,
				"%s has no value for this lead and no fallback, so the message would have a hole; write the text or add a fallback like {{%s|...}}", written, p.Name)
		}
	case l.known[p.Name] != "" || p.HasFallback && isSenderSide(p.Name):
	case isSenderSide(p.Name):
		l.add(s, pointer, "unresolved_placeholder", Error,
			"%s comes from the business context, which has no value for it; fill it in there, write the text, or add a fallback", written)
	case p.HasFallback:
		l.add(s, pointer, "unknown_placeholder", Warning,
			"%s is not a placeholder we can fill, so it always renders as %q; write that as text", written, p.Fallback)
	default:
		l.add(s, pointer, "unresolved_placeholder", Error,
			"%s is not a placeholder we can fill (lead fields such as {{first_name}}, {{custom.<field>}} and the sender's {{sender_name}} are); write the text instead", written)
	}
}

// senderSide holds the names filled from the business context.
var senderSide = templates.Values(templates.Lead{}, fullBusiness())

func isSenderSide(name string) bool {
	_, ok := senderSide[name]
	return ok
}

func fullBusiness() orgs.BusinessContext {
	x := func() *string { s := "x"; return &s }
	return orgs.BusinessContext{
		CompanyName: x(), Industry: x(), TargetAudience: x(), ValueProposition: x(), Tone: x(),
		KeyPainPoints: []string{"x"}, CaseStudies: []string{"x"}, CTA: x(), SenderName: x(), SenderTitle: x(), PostalAddress: x(),
	}
}

func (l *linter) subject(s Step, t text) {
	switch {
	case strings.TrimSpace(t.raw) == "":
		l.add(s, t.pointer, "subject_missing", Error, "an email needs a subject")
		return
	case strings.ContainsAny(t.raw, "\r\n"):
		l.add(s, t.pointer, "subject_multiline", Error, "the subject must be one line")
	}
	switch n := utf8.RuneCountInString(t.rendered); {
	case n > llm.MaxEmailSubjectLen:
		l.add(s, t.pointer, "subject_too_long", Error, "the subject is %d characters; at most %d are allowed", n, llm.MaxEmailSubjectLen)
	case n > SubjectWarnLen:
		l.add(s, t.pointer, "subject_too_long", Warning, "the subject is %d characters; mail clients cut subjects off after about %d", n, SubjectWarnLen)
	}
	if shoutingSubject(t.copy) {
		l.add(s, t.pointer, "all_caps", Warning, "the subject is all capitals, which spam filters penalise and readers take as shouting")
	}
}

func (l *linter) sms(s Step, t text) {
	if r, ok := firstNonGSM(t.rendered); ok {
		l.add(s, t.pointer, "sms_encoding", Info,
			"%q is not in the GSM-7 alphabet, so the SMS is sent as Unicode (UCS-2): 70 characters per message instead of 160", string(r))
	}
	switch n := llm.SMSSegments(t.rendered); {
	case n > llm.MaxSMSSegments:
		l.add(s, t.pointer, "sms_segments", Error, "the SMS needs %d segments; at most %d are allowed, each billed as a message", n, llm.MaxSMSSegments)
	case n > SMSWarnSegments:
		l.add(s, t.pointer, "sms_segments", Warning, "the SMS needs %d segments, each billed as a message; shorten it", n)
	case n > 1:
		l.add(s, t.pointer, "sms_segments", Info, "the SMS needs %d segments, each billed as a message", n)
	}
}

func (l *linter) copyChecks(s Step, t text) {
	if t.raw == "" {
		return
	}
	if run, ok := capsRun(t.copy); ok {
		l.add(s, t.pointer, "all_caps", Warning, "%q is written in capitals, which spam filters penalise and readers take as shouting", run)
	}
	for _, p := range spamPhrasesIn(t.copy) {
		l.add(s, t.pointer, "spam_phrase", Warning, "%q is a phrase spam filters look for; say it another way", p)
	}
}

func (l *linter) links(s Step, t text) {
	urls := findLinks(t.copy)
	switch n := len(urls); {
	case n > LinksError:
		l.add(s, t.pointer, "too_many_links", Error, "the body has %d links; at most %d are allowed, and one is best", n, LinksError)
	case n > LinksWarn:
		l.add(s, t.pointer, "too_many_links", Warning, "the body has %d links; spam filters distrust more than %d, and one is best", n, LinksWarn)
	}
	reported := map[string]bool{}
	for _, u := range urls {
		if host := shortenerHost(u); host != "" && !reported[host] {
			reported[host] = true
			l.add(s, t.pointer, "link_shortener", Warning, "%s is a public link shortener; spam filters distrust them and carriers block SMS that use them, so link to your own domain", host)
		}
	}
}

func (l *linter) emailLaw(s Step, base string, body text, commercial bool) {
	if sender := l.ctx.Business.SenderName; sender == nil || strings.TrimSpace(*sender) == "" {
		l.add(s, base, "missing_sender_name", Error,
			"the business context has no sender name; the law forbids mail that hides who sent it, so set one")
	}
	if !commercial {
		return
	}
	if strings.TrimSpace(l.ctx.PostalAddress) == "" {
		sev, why := Warning, "anti-spam laws (CAN-SPAM in the US, CASL in Canada) require a postal address in every commercial email"
		if l.country == "US" || l.country == "CA" {
			sev, why = Error, fmt.Sprintf("the recipient is in %s, where the law requires a valid postal address in every commercial email", l.country)
		}
		l.add(s, base, "missing_postal_address", sev, "the organisation has no postal address for the footer; %s", why)
	}
	if !hasOptOut(body.copy) {
		l.add(s, body.pointer, "missing_unsubscribe", Warning,
			"the body does not say how to opt out; commercial email must, so make sure the sending footer adds an unsubscribe line or write one")
	}
}
