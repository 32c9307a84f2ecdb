package builtin

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/placeholder"
)

// vars resolves placeholder names for one step of one lead. lead and biz
// hold values already passed through clean (see cleanLead), so lookups
// need not repeat it for every placeholder.
type vars struct {
	lead llm.Lead
	biz  llm.BusinessContext
	step int // 0-based; rotates pain points and case studies across steps
}

// cleanLead cleans every field once and keys Custom by normName, so
// "Recent Work" in a CSV column matches {{recent_work}}.
func cleanLead(l llm.Lead) llm.Lead {
	custom := make(map[string]string, len(l.Custom))
	for k, v := range l.Custom {
		if v = clean(v); v != "" {
			custom[normName(k)] = v
		}
	}
	return llm.Lead{
		FirstName: clean(l.FirstName), LastName: clean(l.LastName), Email: clean(l.Email),
		Company: clean(l.Company), JobTitle: clean(l.JobTitle), Website: clean(l.Website),
		City: clean(l.City), Country: clean(l.Country), Custom: custom,
	}
}

// cleanBusiness cleans every field once; empty list items are dropped.
func cleanBusiness(b llm.BusinessContext) llm.BusinessContext {
	list := func(in []string) []string {
		var out []string
		for _, s := range in {
			if s = clean(s); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return llm.BusinessContext{
		CompanyName: clean(b.CompanyName), Industry: clean(b.Industry), TargetAudience: clean(b.TargetAudience),
		ValueProposition: clean(b.ValueProposition), Tone: b.Tone, KeyPainPoints: list(b.KeyPainPoints),
		CaseStudies: list(b.CaseStudies), CTA: clean(b.CTA), SenderName: clean(b.SenderName), SenderTitle: clean(b.SenderTitle),
	}
}

// source says where a placeholder's value came from.
type source int

const (
	missing  source = iota // nothing sensible to write
	data                   // the lead or business context said it
	fallback               // a generic phrase written in its place
)

// lookup returns the value for a placeholder and where it came from. A
// missing value makes the caller drop the sentence (or, in a subject, the
// whole subject). inSubject disables fallbacks that read well in a
// greeting but not in a subject line ("Hi there" is fine, "Closing the
// loop, there" is not).
func (v vars) lookup(name string, inSubject bool) (string, source) {
	name = normName(name)
	l, b := v.lead, v.biz
	if val := l.Custom[name]; val != "" {
		return val, data
	}
	orElse := func(val, fb string) (string, source) {
		if val != "" {
			return val, data
		}
		if fb == "" {
			return "", missing
		}
		return fb, fallback
	}
	company, _ := orElse(l.Company, "your team")

	switch name {
	case "first_name", "firstname":
		if inSubject {
			return orElse(l.FirstName, "")
		}
		return orElse(l.FirstName, "there")
	case "last_name", "lastname":
		return orElse(l.LastName, "")
	case "full_name", "name":
		full := strings.TrimSpace(l.FirstName + " " + l.LastName)
		if inSubject {
			return orElse(full, "")
		}
		return orElse(full, "there")
	case "email":
		return orElse(l.Email, "")
	case "company", "company_name", "lead_company":
		return orElse(l.Company, "your team")
	case "job_title", "title", "role":
		return orElse(l.JobTitle, "leader")
	case "website":
		return orElse(l.Website, "")
	case "city":
		return orElse(l.City, "")
	case "country":
		return orElse(l.Country, "")
	case "industry":
		return orElse(b.Industry, "")
	case "sender_name", "sender", "my_name":
		// Signing with the company beats an unsigned message; never invent
		// a person's name.
		if b.SenderName == "" {
			return orElse(b.CompanyName, "")
		}
		return orElse(b.SenderName, "")
	case "sender_title", "my_title":
		return orElse(b.SenderTitle, "")
	case "sender_company", "our_company", "my_company":
		if b.SenderName == "" {
			// sender_name already fell back to the company name.
			return "", missing
		}
		return orElse(b.CompanyName, "")
	case "target_audience":
		return orElse(b.TargetAudience, "")
	case "value_proposition", "value_prop":
		return orElse(sentence(b.ValueProposition), "I have an idea that could be useful for "+company+".")
	case "cta", "call_to_action":
		return orElse(sentence(b.CTA), "Would you be open to a quick 15-minute call next week?")
	case "pain_point":
		return orElse(pick(b.KeyPainPoints, v.step), "this")
	case "case_study", "case_study_link":
		return orElse(sentence(pick(b.CaseStudies, v.step)), "")
	case "topic":
		return "how we could help " + company, fallback
	case "personalized_opener", "personal_opener", "opener":
		return "I came across " + company + " and had an idea I thought was worth sharing with you.", fallback
	case "company_size":
		return "similar", fallback
	case "goal":
		return "grow", fallback
	case "area":
		return "growth", fallback
	case "greeting":
		return greeting(b.Tone), data
	case "sign_off":
		return signOff(b.Tone), data
	}
	return "", missing
}

// greeting opens a message in the organisation's tone.
func greeting(tone string) string {
	switch toneOf(tone) {
	case "formal":
		return "Hello"
	case "casual":
		return "Hey"
	}
	return "Hi"
}

// signOff closes an email in the organisation's tone.
func signOff(tone string) string {
	switch toneOf(tone) {
	case "formal":
		return "Kind regards,"
	case "casual":
		return "Cheers,"
	}
	return "Best,"
}

func toneOf(tone string) string {
	t := strings.ToLower(tone)
	switch {
	case strings.Contains(t, "formal") && !strings.Contains(t, "informal"), strings.Contains(t, "professional"):
		return "formal"
	case strings.Contains(t, "casual"), strings.Contains(t, "informal"), strings.Contains(t, "friendly"), strings.Contains(t, "playful"):
		return "casual"
	}
	return ""
}

func pick(list []string, i int) string {
	if len(list) == 0 {
		return ""
	}
	return list[i%len(list)]
}

// normName folds "Job Title", "job-title" and "job_title" together, so
// hand-written templates and custom lead fields match however they are
// spelled.
func normName(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return '_'
		}
		return r
	}, s)
}

// clean makes a user-supplied value safe to insert: no placeholder braces
// or code fences (which would fail validation and reach the lead
// literally) and no line breaks (a company name must not split a subject).
//
// A value is also cut to maxValueLen runes: a field longer than that is
// pasted text, not a name or a sentence, and would crowd out the message.
func clean(s string) string {
	s = strings.NewReplacer("{{", "", "}}", "", "```", "", "\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > maxValueLen {
		s = truncateRunes(s, maxValueLen)
	}
	return s
}

// maxValueLen bounds one inserted value, in runes.
const maxValueLen = 500

// sentence returns s with terminal punctuation, so a value used as a
// sentence of its own ("{{cta}}") does not run into the next one. A value
// ending in a URL is left alone: a full stop would break the link.
func sentence(s string) string {
	s = clean(s)
	if s == "" {
		return ""
	}
	last := []rune(s)[len([]rune(s))-1]
	fields := strings.Fields(s)
	lastWord := fields[len(fields)-1]
	if (unicode.IsLetter(last) || unicode.IsDigit(last)) && !strings.Contains(lastWord, "://") {
		return s + "."
	}
	return s
}

// renderSubject fills a subject line; ok is false when a placeholder has
// no value, and the caller picks a generic subject instead, because a
// subject with a hole in it reads worse than a plain one. So is a subject
// the placeholder grammar refuses: it is not guessed at.
func renderSubject(tmpl string, v vars) (string, bool) {
	t, err := placeholder.Parse(tmpl)
	if err != nil {
		return "", false
	}
	out, ok := fill(t.Parts(), v, true)
	out = clean(tidy(out))
	return out, ok && out != ""
}

// renderBody fills a body template, written in package placeholder's
// grammar like every template. A sentence whose placeholder has no
// value is dropped whole rather than sent with a gap, and a line left empty
// by that is removed. A body the placeholder grammar refuses renders as
// nothing, so the caller writes its generic body instead.
func renderBody(tmpl string, v vars) string {
	t, err := placeholder.Parse(strings.ReplaceAll(tmpl, "\r\n", "\n"))
	if err != nil {
		return ""
	}
	var out []string
	for _, line := range lines(t.Parts()) {
		if blank(line) {
			out = append(out, "")
			continue
		}
		var b strings.Builder
		for _, s := range sentences(line) {
			if filled, ok := fill(s, v, false); ok {
				b.WriteString(filled)
			}
		}
		if strings.TrimSpace(b.String()) != "" {
			out = append(out, b.String())
		}
	}
	return tidy(strings.Join(out, "\n"))
}

// lines splits parsed text at line breaks; a placeholder never spans one.
func lines(parts []placeholder.Part) [][]placeholder.Part {
	out := [][]placeholder.Part{nil}
	for _, p := range parts {
		if p.IsPlaceholder() {
			out[len(out)-1] = append(out[len(out)-1], p)
			continue
		}
		for i, text := range strings.Split(p.Literal, "\n") {
			if i > 0 {
				out = append(out, nil)
			}
			if text != "" {
				out[len(out)-1] = append(out[len(out)-1], placeholder.Part{Literal: text})
			}
		}
	}
	return out
}

func blank(line []placeholder.Part) bool {
	for _, p := range line {
		if p.IsPlaceholder() || strings.TrimSpace(p.Literal) != "" {
			return false
		}
	}
	return true
}

// sentenceEndRe finds where a sentence ends: a run of ".", "!" or "?"
// followed by white space or by the end of the text. A full stop inside a
// word ("3.5", "example.com") ends nothing.
var sentenceEndRe = regexp.MustCompile(`[.!?]+(?:\s+|$)`)

// splitSentences splits plain text into sentences, each keeping its
// punctuation and trailing space, so that joining them gives the text back.
func splitSentences(text string) []string {
	var out []string
	start := 0
	for _, loc := range sentenceEndRe.FindAllStringIndex(text, -1) {
		out = append(out, text[start:loc[1]])
		start = loc[1]
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

// sentenceValued are placeholders whose value is a sentence of its own
// ("{{cta}}" is "Open to a call next week?"), so the template text after
// them is a separate sentence even without punctuation in the template.
var sentenceValued = map[string]bool{
	"value_proposition": true, "value_prop": true, "cta": true, "call_to_action": true, "case_study": true,
	"personalized_opener": true, "personal_opener": true, "opener": true,
}

// sentences splits one line of parsed text into the units renderBody
// drops whole. Placeholders stay whole: punctuation in a fallback ends no
// sentence, and punctuation right before a placeholder ("Hi.{{cta}}")
// does not either, as it would not before a letter.
func sentences(line []placeholder.Part) [][]placeholder.Part {
	var out [][]placeholder.Part
	var cur []placeholder.Part
	end := func() {
		if len(cur) > 0 {
			out = append(out, cur)
			cur = nil
		}
	}
	for i, p := range line {
		if p.IsPlaceholder() {
			cur = append(cur, p)
			if sentenceValued[normName(p.Name)] {
				end()
			}
			continue
		}
		// Only the last piece can end without white space, and it ends a
		// sentence only at the end of the line.
		lastInLine := i == len(line)-1
		for _, s := range splitSentences(p.Literal) {
			cur = append(cur, placeholder.Part{Literal: s})
			if sentenceEndRe.MatchString(s) && (lastInLine || strings.TrimRight(s, " \t\f\r") != s) {
				end()
			}
		}
	}
	end()
	return out
}

// fill writes a sentence (or a subject) for v; ok is false when one of its
// placeholders has no value.
func fill(parts []placeholder.Part, v vars, inSubject bool) (string, bool) {
	var b strings.Builder
	ok, pluralised := true, false
	for i, p := range parts {
		if !p.IsPlaceholder() {
			text := p.Literal
			if pluralised {
				text = text[1:] // the "s" is in the plural written before
			}
			b.WriteString(text)
			pluralised = false
			continue
		}
		val, found := resolve(p, v, inSubject)
		ok = ok && found
		// "{{job_title}}s": the template pluralises the value.
		if pluralised = i+1 < len(parts) && pluralSuffix(parts[i+1]); pluralised {
			val = plural(val)
		}
		b.WriteString(val)
	}
	return b.String(), ok
}

// pluralSuffix reports a literal that starts with an "s" ending a word, as
// after "{{job_title}}" in "{{job_title}}s are busy".
func pluralSuffix(p placeholder.Part) bool {
	if p.IsPlaceholder() || !strings.HasPrefix(p.Literal, "s") {
		return false
	}
	next, _ := utf8.DecodeRuneInString(p.Literal[1:])
	return len(p.Literal) == 1 || !(next == '_' || next < utf8.RuneSelf && (unicode.IsLetter(next) || unicode.IsDigit(next)))
}

// plural makes a filled value plural the simple English way, enough for
// job titles: "CTO" to "CTOs", "Head of Sales" stays, "Secretary" to
// "Secretaries".
func plural(s string) string {
	lower := strings.ToLower(s)
	switch {
	case s == "":
		return s
	case strings.HasSuffix(lower, "s"):
		return s
	case strings.HasSuffix(lower, "y") && !strings.HasSuffix(lower, "ay") && !strings.HasSuffix(lower, "ey") && !strings.HasSuffix(lower, "oy"):
		return s[:len(s)-1] + "ies"
	}
	return s + "s"
}

// resolve applies a template's inline fallback before the global one:
// the template author knows the sentence best. An empty inline fallback
// ({{case_study|}}) has no value, so its sentence is dropped.
func resolve(p placeholder.Part, v vars, inSubject bool) (string, bool) {
	val, src := v.lookup(p.Name, inSubject)
	if p.HasFallback && src != data {
		fb := clean(p.Fallback)
		return fb, fb != ""
	}
	return val, src != missing
}

// strayMarkup is removed from rendered text: a template may write literal
// braces (\{{) or a code fence, and neither may reach a lead.
var strayMarkup = strings.NewReplacer("{{", "", "}}", "", "```", "")

// tidy repairs the spacing that filling and dropping leave behind: runs of
// spaces, a space before punctuation, a doubled full stop where a value
// ending in "." met the template's own, trailing spaces and more than one
// blank line in a row. It is one pass by hand because it runs on every
// rendered text and regular expressions made it the provider's hot spot.
func tidy(s string) string {
	s = strayMarkup.Replace(s)
	var out []string
	blank := false
	for _, line := range strings.Split(s, "\n") {
		line = tidyLine(line)
		if line == "" {
			if blank || len(out) == 0 {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		out = append(out, line)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

func tidyLine(line string) string {
	var b strings.Builder
	b.Grow(len(line))
	pendingSpace := false
	rs := []rune(line)
	for i, r := range rs {
		switch {
		case r == ' ' || r == '\t' || r == '\r':
			pendingSpace = true
			continue
		case strings.ContainsRune(",.!?;:", r):
			// No space before punctuation.
			pendingSpace = false
			if r == '.' && i+1 < len(rs) && rs[i+1] == '.' && (i+2 >= len(rs) || rs[i+2] == ' ') && (i == 0 || rs[i-1] != '.') {
				// ".." but not "...": one full stop too many.
				continue
			}
		}
		if pendingSpace && b.Len() > 0 {
			b.WriteByte(' ')
		}
		pendingSpace = false
		b.WriteRune(r)
	}
	return b.String()
}
