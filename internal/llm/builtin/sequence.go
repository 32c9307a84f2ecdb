package builtin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/seeds"
)

// MaxSequenceLength is the longest sequence the provider writes, matching
// the 1..10 range of llm.SequenceRequest.Length.
const MaxSequenceLength = 10

// followUpGap is the days between steps the provider adds itself; three
// days is the common cadence of a polite follow-up.
const followUpGap = 3

// defaultTemplates are the seeds marked BuiltinDefault, converted once:
// the system templates `leadpilot seed` writes are the same data, so the
// provider and the catalogue cannot drift apart. DefaultTemplates hands out
// copies so a caller cannot change what the next request sees.
var defaultTemplates = func() []llm.Template {
	all, err := seeds.Templates()
	if err != nil {
		panic(fmt.Sprintf("builtin: %v", err))
	}
	var ts []llm.Template
	for _, t := range all {
		if !t.BuiltinDefault {
			continue
		}
		lt := llm.Template{Name: t.Name, Industry: t.Industry, UseCase: t.UseCase}
		for _, c := range t.Channels {
			lt.Channels = append(lt.Channels, llm.Channel(c))
		}
		for _, st := range t.Steps {
			lt.Steps = append(lt.Steps, llm.TemplateStep{Step: st.Step, DelayDays: st.DelayDays,
				Channel: llm.Channel(st.Channel), Subject: st.Subject, Body: st.Body})
		}
		ts = append(ts, lt)
	}
	return ts
}()

// DefaultTemplates returns the templates the provider falls back to when a
// request brings neither a template nor candidates: a three-step cold
// email, a mixed email/WhatsApp/SMS sequence and a messaging-only one.
// Besides the lead fields they use {{greeting}}, {{sign_off}},
// {{value_proposition}}, {{cta}}, {{pain_point}}, {{case_study}},
// {{topic}} and {{sender_*}}, filled from the business context, and the
// {{name|fallback}} form, where an empty fallback drops the sentence.
func DefaultTemplates() []llm.Template {
	out := make([]llm.Template, len(defaultTemplates))
	for i, t := range defaultTemplates {
		t.Channels = slices.Clone(t.Channels)
		t.Steps = slices.Clone(t.Steps)
		out[i] = t
	}
	return out
}

// GenerateSequence personalises req.Template, or the best-matching
// candidate or default template, for req.Lead, adapting it to the allowed
// channels and requested length. Its output always passes
// llm.ValidateSequence; a request it cannot honour (a length outside
// 1..10, no known channel) is an *llm.Error of kind llm.ErrBadRequest.
//
// An empty req.Channels means email only, the campaign default.
//
// Of req.Instruction it understands a tone ("more formal", "more casual":
// greetings and sign-offs change) and brevity ("shorter", "brief",
// "concise": email bodies keep their opening, first paragraph and
// signature); any other instruction is ignored, as is req.Current.
func (p *Provider) GenerateSequence(ctx context.Context, req llm.SequenceRequest) (llm.SequenceResult, error) {
	if err := ctx.Err(); err != nil {
		return llm.SequenceResult{}, err
	}
	if req.Length < 0 || req.Length > MaxSequenceLength {
		return llm.SequenceResult{}, badRequest("length must be between 1 and %d, got %d", MaxSequenceLength, req.Length)
	}
	allowed, err := allowedChannels(req.Channels)
	if err != nil {
		return llm.SequenceResult{}, err
	}

	tmpl := req.Template
	if tmpl == nil || len(tmpl.Steps) == 0 {
		tmpl = chooseTemplate(req, allowed)
	}
	src := normaliseSteps(*tmpl)
	n := req.Length
	if n == 0 {
		n = min(len(src), MaxSequenceLength)
	}

	if t := toneOf(req.Instruction); t != "" {
		// "more formal", "friendlier": the instruction sets the tone the
		// greetings and sign-offs are written in.
		req.Business.Tone = t
	}
	steps := shorten(writeSteps(planSteps(src, n, allowed), req), req.Instruction)
	if err := llm.ValidateSequence(req, steps); err != nil {
		// A bug in this package, not the caller's fault; reported like a
		// network provider's output that failed validation.
		var verr *llm.ValidationError
		errors.As(err, &verr)
		return llm.SequenceResult{}, &llm.Error{Kind: llm.ErrInvalidOutput, Provider: Name,
			Message: fmt.Sprintf("template %q: %v", tmpl.Name, err), Violations: verr.Violations}
	}

	var prompt []string
	for _, s := range tmpl.Steps {
		prompt = append(prompt, s.Subject, s.Body)
	}
	var completion []string
	for _, s := range steps {
		completion = append(completion, s.Subject, s.Body)
	}
	return llm.SequenceResult{Meta: meta(words(prompt...), words(completion...)), Steps: steps}, nil
}

func badRequest(format string, args ...any) error {
	return &llm.Error{Kind: llm.ErrBadRequest, Provider: Name, Message: fmt.Sprintf(format, args...)}
}

// channelOrder is the canonical order of channels, used to rotate the
// channels of added follow-ups predictably.
var channelOrder = []llm.Channel{llm.ChannelEmail, llm.ChannelWhatsApp, llm.ChannelSMS}

func allowedChannels(req []llm.Channel) ([]llm.Channel, error) {
	if len(req) == 0 {
		return []llm.Channel{llm.ChannelEmail}, nil
	}
	var out []llm.Channel
	for _, c := range channelOrder {
		if slices.Contains(req, c) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, badRequest("no known channel in %v; use email, whatsapp or sms", req)
	}
	return out, nil
}

// chooseTemplate scores each candidate (or, without candidates, each
// default template) and returns the best; ties go to the earlier one so
// the choice is deterministic.
func chooseTemplate(req llm.SequenceRequest, allowed []llm.Channel) *llm.Template {
	pool := make([]llm.Template, 0, len(req.Candidates))
	for _, c := range req.Candidates {
		if len(c.Steps) > 0 {
			pool = append(pool, c)
		}
	}
	if len(pool) == 0 {
		pool = DefaultTemplates()
	}
	best, bestScore := 0, -1e9
	for i, t := range pool {
		if s := templateScore(t, req, allowed); s > bestScore {
			best, bestScore = i, s
		}
	}
	return &pool[best]
}

// templateScore prefers, in this order of weight: templates whose steps
// need no channel conversion, the sender's industry, templates that use
// every allowed channel, and a step count close to the one asked for.
func templateScore(t llm.Template, req llm.SequenceRequest, allowed []llm.Channel) float64 {
	var used []llm.Channel
	for _, s := range normaliseSteps(t) {
		if !slices.Contains(used, s.Channel) {
			used = append(used, s.Channel)
		}
	}
	overlap := 0
	for _, c := range used {
		if slices.Contains(allowed, c) {
			overlap++
		}
	}
	score := 4*float64(overlap)/float64(max(len(used), 1)) + 2*float64(overlap)/float64(len(allowed))

	ti, bi := normName(t.Industry), normName(req.Business.Industry)
	switch {
	case ti != "" && ti == bi:
		score += 3
	case ti != "" && bi != "" && (strings.Contains(ti, bi) || strings.Contains(bi, ti)):
		score += 2
	case ti == "" || ti == "general" || ti == "any":
		score++
	}

	if req.Length > 0 {
		d := len(t.Steps) - req.Length
		score -= 0.3 * float64(max(d, -d))
	}
	return score
}

// normaliseSteps orders a template's steps, gives each a channel and makes
// delays start at 0 and never decrease. Delays that do decrease are read as
// gaps between steps (some people write templates that way) and summed.
func normaliseSteps(t llm.Template) []llm.TemplateStep {
	steps := slices.Clone(t.Steps)
	slices.SortStableFunc(steps, func(a, b llm.TemplateStep) int { return cmp.Compare(a.Step, b.Step) })
	def := llm.ChannelEmail
	if len(t.Channels) > 0 && slices.Contains(channelOrder, t.Channels[0]) {
		def = t.Channels[0]
	}
	monotonic := true
	for i := range steps {
		if !slices.Contains(channelOrder, steps[i].Channel) {
			steps[i].Channel = def
		}
		steps[i].DelayDays = max(steps[i].DelayDays, 0)
		if i > 0 && steps[i].DelayDays < steps[i-1].DelayDays {
			monotonic = false
		}
	}
	total := 0
	for i := range steps {
		if i == 0 {
			steps[i].DelayDays = 0
			continue
		}
		if !monotonic {
			total += steps[i].DelayDays
			steps[i].DelayDays = total
		}
	}
	return steps
}

// draft is a step before rendering: template text plus its final channel
// and delay. from is the channel the text was written for.
type draft struct {
	step          llm.TemplateStep
	from, channel llm.Channel
	delay         int
}

// planSteps fits the template to n steps. The first step (the opener) and
// the last (usually a polite break-up) carry the sequence, so trimming
// drops middle follow-ups and growing adds follow-ups before the last one.
func planSteps(src []llm.TemplateStep, n int, allowed []llm.Channel) []draft {
	type planned struct {
		step  llm.TemplateStep
		added bool // written by this package, not taken from the template
	}
	var plan []planned
	if n == 1 {
		plan = []planned{{step: src[0]}}
	} else {
		last := planned{step: breakupStep(src[0].Channel), added: true}
		var middle []llm.TemplateStep
		if len(src) >= 2 {
			last = planned{step: src[len(src)-1]}
			middle = src[1 : len(src)-1]
		}
		if len(middle) > n-2 {
			middle = middle[:n-2]
		}
		plan = append(plan, planned{step: src[0]})
		for _, m := range middle {
			plan = append(plan, planned{step: m})
		}
		for i := 0; len(plan) < n-1; i++ {
			c := allowed[len(plan)%len(allowed)]
			plan = append(plan, planned{step: followUpStep(c, i), added: true})
		}
		plan = append(plan, last)
	}

	drafts := make([]draft, len(plan))
	prev := 0
	for i, p := range plan {
		d := draft{step: p.step, from: p.step.Channel, channel: convertChannel(p.step.Channel, allowed)}
		switch {
		case i == 0:
			d.delay = 0
		case !p.added && p.step.DelayDays >= prev:
			// The template's own cadence, including same-day touches on
			// two channels.
			d.delay = p.step.DelayDays
		default:
			// An added step, or a kept last step whose template delay is
			// now earlier than the follow-ups added before it.
			d.delay = prev + followUpGap
		}
		prev = d.delay
		drafts[i] = d
	}
	return drafts
}

// convertChannel keeps c when allowed, otherwise picks the nearest allowed
// channel: the two messaging channels stand in for each other before email
// does, because their text is already short.
func convertChannel(c llm.Channel, allowed []llm.Channel) llm.Channel {
	if slices.Contains(allowed, c) {
		return c
	}
	prefs := map[llm.Channel][]llm.Channel{
		llm.ChannelEmail:    {llm.ChannelWhatsApp, llm.ChannelSMS},
		llm.ChannelWhatsApp: {llm.ChannelSMS, llm.ChannelEmail},
		llm.ChannelSMS:      {llm.ChannelWhatsApp, llm.ChannelEmail},
	}[c]
	for _, p := range prefs {
		if slices.Contains(allowed, p) {
			return p
		}
	}
	return allowed[0]
}

// emailFollowUps and chatFollowUps lengthen a sequence beyond its
// template; each says something new rather than repeating "just checking
// in", and none needs data the lead may lack.
var emailFollowUps = []string{
	"Bumping this to the top of your inbox in case it slipped through.\n\n{{value_proposition}}\n\nWorth a short conversation?",
	"One recent example: {{case_study|}}\n\nHappy to walk you through how that could look for {{company}}.",
	"Is {{pain_point|this}} something {{company}} is looking at this quarter? If not, just let me know and I'll stop following up.",
	"Would it help if I sent over a short summary you could share with your team? No call needed.",
	"A different angle: if someone else at {{company}} owns this, I'd be grateful if you could point me to them.",
}

var chatFollowUps = []string{
	"Hi {{first_name}}, just bumping my last message in case it got buried. Worth a quick chat this week? - {{sender_name}}",
	"Hi {{first_name}}, would a short summary by email be easier than a call? Happy to send one over. - {{sender_name}}",
	"Hi {{first_name}}, if someone else at {{company}} handles this, could you point me to them? Thanks! - {{sender_name}}",
	"Hi {{first_name}}, quick one: is {{pain_point|this}} a priority for {{company}} right now? - {{sender_name}}",
}

func followUpStep(c llm.Channel, i int) llm.TemplateStep {
	if c == llm.ChannelEmail {
		body := "{{greeting}} {{first_name}},\n\n" + emailFollowUps[i%len(emailFollowUps)] + "\n\n{{sign_off}}\n{{sender_name}}"
		return llm.TemplateStep{Channel: c, Body: body}
	}
	return llm.TemplateStep{Channel: c, Body: chatFollowUps[i%len(chatFollowUps)]}
}

// breakupStep ends a sequence whose template had a single step.
func breakupStep(c llm.Channel) llm.TemplateStep {
	if c == llm.ChannelEmail {
		return llm.TemplateStep{Channel: c, Subject: "Closing the loop", Body: "{{greeting}} {{first_name}},\n\n" +
			"I haven't heard back, so I'll assume the timing isn't right and stop here. If things change, just reply to this email - I'd be glad to help.\n\n" +
			"All the best to you and the team at {{company}}.\n\n{{sign_off}}\n{{sender_name}}"}
	}
	return llm.TemplateStep{Channel: c, Body: "Hi {{first_name}}, last message from me. If the timing changes, just reply here. All the best! - {{sender_name}}"}
}

// writeSteps renders each draft for the lead and fits it to its channel.
func writeSteps(plan []draft, req llm.SequenceRequest) []llm.Step {
	steps := make([]llm.Step, len(plan))
	firstSubject := ""
	lead, biz := cleanLead(req.Lead), cleanBusiness(req.Business)
	for i, d := range plan {
		v := vars{lead: lead, biz: biz, step: i}
		body := renderBody(d.step.Body, v)
		if body == "" {
			body = renderBody(genericBody(d.from), v)
		}
		switch {
		case d.from == llm.ChannelEmail && d.channel != llm.ChannelEmail:
			body = chatFromEmail(body)
		case d.from != llm.ChannelEmail && d.channel == llm.ChannelEmail:
			body = emailFromChat(body, req.Business.Tone)
		}

		s := llm.Step{Step: i + 1, DelayDays: d.delay, Channel: d.channel}
		switch d.channel {
		case llm.ChannelEmail:
			subject, ok := "", false
			if d.step.Subject != "" {
				subject, ok = renderSubject(d.step.Subject, v)
			}
			if !ok {
				subject = fallbackSubject(firstSubject, v)
			}
			s.Subject = truncateRunes(subject, llm.MaxEmailSubjectLen)
			if firstSubject == "" {
				firstSubject = s.Subject
			}
			s.Body = truncateRunes(body, llm.MaxEmailBodyLen)
		case llm.ChannelWhatsApp:
			s.Body = truncateRunes(body, llm.MaxWhatsAppBodyLen)
		case llm.ChannelSMS:
			s.Body = fitSMS(body)
		}
		steps[i] = s
	}
	return steps
}

// genericBody stands in for a template body that rendered to nothing
// (every sentence needed a value the lead does not have).
func genericBody(c llm.Channel) string {
	if c == llm.ChannelEmail {
		return "{{greeting}} {{first_name}},\n\n{{personalized_opener}}\n\n{{cta}}\n\n{{sign_off}}\n{{sender_name}}"
	}
	return "Hi {{first_name}}, {{personalized_opener}} {{cta}} - {{sender_name}}"
}

// fallbackSubject is used when a template has no subject for an email
// step or its subject needs a value the lead lacks. Follow-ups reply to
// the first email's thread, as people do by hand.
func fallbackSubject(first string, v vars) string {
	if first != "" {
		return "Re: " + strings.TrimPrefix(first, "Re: ")
	}
	if c := clean(v.lead.Company); c != "" {
		return "Quick question about " + c
	}
	if f := clean(v.lead.FirstName); f != "" {
		return "Quick question for " + f
	}
	return "Quick question"
}

var (
	signOffRe   = regexp.MustCompile(`(?i)^(best|best regards|kind regards|regards|warm regards|cheers|thanks|thank you|many thanks|all the best|sincerely|talk soon)[,.!]?$`)
	chatSigRe   = regexp.MustCompile(`\s+-\s+([^.!?\n]{1,60})$`)
	chatGreetRe = regexp.MustCompile(`(?i)^((?:hi|hey|hello|dear)\b[^,\n]{0,40}),\s*`)
	optOutRe    = regexp.MustCompile(`(?i)\s*reply stop to (opt out|unsubscribe)\.?`)
)

// chatFromEmail turns an email body into one chat message: paragraphs run
// together and the signature block becomes a trailing "- Name".
func chatFromEmail(body string) string {
	paras := strings.Split(body, "\n\n")
	signature := ""
	if len(paras) > 1 {
		last := strings.Split(strings.TrimSpace(paras[len(paras)-1]), "\n")
		switch {
		case signOffRe.MatchString(strings.TrimSpace(last[0])):
			if len(last) > 1 {
				signature = strings.TrimSpace(last[1])
			}
			paras = paras[:len(paras)-1]
		case isSignature(last):
			signature = strings.TrimSpace(last[0])
			paras = paras[:len(paras)-1]
		}
	}
	text := strings.Join(strings.Fields(strings.Join(paras, " ")), " ")
	if signature != "" {
		text += " - " + signature
	}
	return text
}

// isSignature reports whether a last paragraph looks like a bare
// signature: a few short lines without sentence punctuation.
func isSignature(lines []string) bool {
	if len(lines) > 3 {
		return false
	}
	for _, l := range lines {
		if utf8.RuneCountInString(l) > 40 || strings.ContainsAny(l, ".!?") {
			return false
		}
	}
	return true
}

// emailFromChat lays a chat message out as an email: greeting on its own
// line, a sign-off, and no SMS opt-out line.
func emailFromChat(body, tone string) string {
	body = strings.TrimSpace(optOutRe.ReplaceAllString(body, ""))
	name := ""
	if m := chatSigRe.FindStringSubmatch(body); m != nil {
		name = strings.TrimSpace(m[1])
		body = strings.TrimSpace(body[:len(body)-len(m[0])])
	}
	if m := chatGreetRe.FindStringSubmatch(body); m != nil {
		body = m[1] + ",\n\n" + strings.TrimSpace(body[len(m[0]):])
	}
	body += "\n\n" + signOff(tone)
	if name != "" {
		body += "\n" + name
	}
	return body
}

// gsmSafe replaces typographic characters outside the GSM-7 alphabet with
// their plain equivalents: one curly apostrophe would otherwise switch the
// whole SMS to UCS-2 and cut its capacity from 160 to 70 characters.
var gsmSafe = strings.NewReplacer(
	"\u2018", "'", "\u2019", "'", "\u201a", "'", "\u201b", "'",
	"\u201c", `"`, "\u201d", `"`, "\u201e", `"`,
	"\u2013", "-", "\u2014", "-", "\u2026", "...",
	"\u00a0", " ", "\u2022", "-", "\t", " ",
)

// smsOptOut is appended to every SMS: carriers and regulators (TCPA in
// the US, PECR in the UK) expect marketing texts to say how to stop them.
const smsOptOut = "Reply STOP to opt out."

// fitSMS makes body fit llm.MaxSMSSegments with the opt-out line, first by
// dropping middle sentences (the greeting and the closing ask matter most),
// then by cutting words.
func fitSMS(body string) string {
	body = strings.TrimSpace(optOutRe.ReplaceAllString(gsmSafe.Replace(body), ""))
	body = strings.Join(strings.Fields(body), " ")
	sig := ""
	if m := chatSigRe.FindStringSubmatch(body); m != nil {
		sig = " - " + strings.TrimSpace(m[1])
		body = strings.TrimSpace(body[:len(body)-len(m[0])])
	}
	join := func(core, sig string) string {
		return strings.TrimSpace(strings.TrimSpace(core+sig) + "\n" + smsOptOut)
	}
	fits := func(core, sig string) bool { return llm.SMSSegments(join(core, sig)) <= llm.MaxSMSSegments }
	if fits(body, sig) {
		return join(body, sig)
	}

	// Keep the greeting sentence and the closing ask, then as many of the
	// sentences between as fit, in order.
	var parts []string
	for _, p := range splitSentences(body) {
		if strings.TrimSpace(p) != "" {
			parts = append(parts, strings.TrimSpace(p))
		}
	}
	if len(parts) > 2 {
		first, last := parts[0], parts[len(parts)-1]
		kept := []string{first}
		for _, p := range parts[1 : len(parts)-1] {
			if try := append(slices.Clone(kept), p, last); fits(strings.Join(try, " "), sig) {
				kept = append(kept, p)
			}
		}
		if core := strings.Join(append(kept, last), " "); fits(core, sig) {
			return join(core, sig)
		}
	}
	if !fits("", sig) {
		sig = ""
	}
	return join(cutToFit(strings.Join(parts, " "), func(s string) bool { return fits(s, sig) }), sig)
}

// cutToFit returns the longest prefix of s, ended at a word boundary when
// there is one, followed by "...", that still fits.
func cutToFit(s string, fits func(string) bool) string {
	r := []rune(s)
	lo, hi := 0, len(r)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fits(string(r[:mid]) + "...") {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	cut := string(r[:lo])
	if i := strings.LastIndex(cut, " "); i > 0 {
		cut = cut[:i]
	}
	cut = strings.TrimRight(cut, " ,;:-")
	if cut == "" {
		return ""
	}
	return cut + "..."
}

// truncateRunes cuts s to at most n runes at a word boundary, marking the
// cut with "...".
func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:max(n-3, 0)])
	if i := strings.LastIndex(cut, " "); i > 0 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,;:-") + "..."
}
