package builtin

import (
	"context"
	"fmt"
	"iter"
	"regexp"
	"strings"

	"github.com/leadpilot/leadpilot/internal/llm"
)

// Autopilot field names, matching the autopilot_sessions columns they fill.
const (
	FieldTargetCustomer      = "target_customer"
	FieldTargetCountries     = "target_countries"
	FieldTargetTitles        = "target_titles"
	FieldCompanySize         = "company_size"
	FieldCompetitors         = "competitors"
	FieldBusinessDescription = "business_description"
	FieldBenefits            = "benefits"
	FieldCTA                 = "cta"
	FieldChannels            = "channels"
	FieldAutopilotLevel      = "autopilot_level"
)

// Company size buckets, as stored in autopilot_sessions.company_size.
var CompanySizes = []string{"1-10", "11-50", "51-200", "201-500", "500+"}

// Autopilot levels, as stored in autopilot_sessions.autopilot_level.
var AutopilotLevels = []string{"full_autopilot", "approve_list", "approve_all"}

// Question is one step of the autopilot interview: the field its answer
// fills, a short label used in the summary and in "label: value"
// corrections, and the text the assistant asks. Text is also how Extract
// recognises which question a user answered, so it must stay unique.
type Question struct {
	Field string
	Label string
	Text  string
}

// AutopilotQuestions is the interview, in the order it is asked: the
// spec's five targeting questions, then the business pitch (description,
// benefits, call to action), the channels, and last the autopilot level,
// which the spec asks once everything else is known.
var AutopilotQuestions = []Question{
	{FieldTargetCustomer, "Target customer",
		`Who is your ideal customer? Describe the kind of company or person you sell to (for example: "B2B SaaS companies that sell to HR teams").`},
	{FieldTargetCountries, "Countries",
		"Which countries or regions should I look for leads in? Names or ISO codes both work (for example: United States, UK, DE)."},
	{FieldTargetTitles, "Job titles",
		"Which job titles do the decision-makers have? List a few, separated by commas (for example: Head of Sales, VP Marketing, Founder)."},
	{FieldCompanySize, "Company size",
		`What company size fits best: 1-10, 11-50, 51-200, 201-500 or 500+ employees? You can also describe it, like "small startups" or "enterprise".`},
	{FieldCompetitors, "Competitors",
		`Who are your top competitors? List a few names, separated by commas (or say "none").`},
	{FieldBusinessDescription, "Business",
		"Tell me about your business: what do you sell, and what problem does it solve?"},
	{FieldBenefits, "Benefits",
		"What are the main benefits for your customers, and what makes you better than the alternatives?"},
	{FieldCTA, "Call to action",
		`What should an interested lead do next? That's your call to action (for example: "book a 15-minute demo at cal.com/you").`},
	{FieldChannels, "Channels",
		"Which channels should I use for outreach: email, WhatsApp, SMS, or a mix?"},
	{FieldAutopilotLevel, "Autopilot level",
		"Last one: how much should I do on my own?\n" +
			"1. Full autopilot - I find leads and send messages automatically.\n" +
			"2. Approve list - you approve the lead list before I write to anyone.\n" +
			"3. Approve all - you approve the leads and every message before it goes out."},
}

// AutopilotSchema returns the fields the autopilot interview collects, for
// Extract (with any provider).
func AutopilotSchema() llm.Schema {
	return llm.Schema{Fields: []llm.Field{
		{Name: FieldTargetCustomer, Type: llm.FieldString, Description: "who the user sells to: the ideal customer profile"},
		{Name: FieldTargetCountries, Type: llm.FieldStringList, Description: "countries to find leads in, as ISO 3166-1 alpha-2 codes"},
		{Name: FieldTargetTitles, Type: llm.FieldStringList, Description: "job titles of the people to contact"},
		{Name: FieldCompanySize, Type: llm.FieldEnum, Description: "employee count bucket of target companies", Enum: CompanySizes},
		{Name: FieldCompetitors, Type: llm.FieldStringList, Description: "the user's main competitors"},
		{Name: FieldBusinessDescription, Type: llm.FieldString, Description: "what the user's business sells and the problem it solves"},
		{Name: FieldBenefits, Type: llm.FieldString, Description: "benefits for customers and advantages over alternatives"},
		{Name: FieldCTA, Type: llm.FieldString, Description: "what an interested lead should do next"},
		{Name: FieldChannels, Type: llm.FieldStringList, Description: "outreach channels: email, whatsapp, sms"},
		{Name: FieldAutopilotLevel, Type: llm.FieldEnum, Description: "how much the autopilot does without approval", Enum: AutopilotLevels},
	}}
}

// Markers that let the interview find its own earlier turns in a
// conversation it is handed back.
const (
	summaryIntro = "Here's what I have so far:"
	confirmText  = "Great, that's everything I need. Your campaign brief is confirmed: I'll use it to find leads and write your sequences. " +
		`If you want to change anything later, send it as "field: value".`
	confirmedText = `Your campaign brief is confirmed. If you want to change anything, send it as "field: value" (for example "channels: email").`
	introText     = "Hi! I'm LeadPilot's built-in assistant. I'll ask you a few quick questions about who you want to reach, then put together your campaign brief."
)

// Chat runs the autopilot interview: it asks the next unanswered question,
// then summarises the answers and asks for confirmation. It does not read
// free text beyond that; a real model is needed for open conversation.
func (p *Provider) Chat(ctx context.Context, req llm.ChatRequest) (llm.ChatResult, error) {
	if err := ctx.Err(); err != nil {
		return llm.ChatResult{}, err
	}
	content := interviewReply(req.Messages)
	return llm.ChatResult{Meta: meta(promptWords(req.Messages), words(content)), Content: content}, nil
}

// chunkRe splits text into words that keep their trailing whitespace, so
// concatenating the chunks gives back the text exactly.
var chunkRe = regexp.MustCompile(`^\s+|\S+\s*`)

// ChatStream yields the Chat answer word by word, then a Done chunk with
// the Meta, the way a network provider streams tokens.
func (p *Provider) ChatStream(ctx context.Context, req llm.ChatRequest) iter.Seq2[llm.StreamChunk, error] {
	return func(yield func(llm.StreamChunk, error) bool) {
		res, err := p.Chat(ctx, req)
		if err != nil {
			yield(llm.StreamChunk{}, err)
			return
		}
		for _, w := range chunkRe.FindAllString(res.Content, -1) {
			if err := ctx.Err(); err != nil {
				yield(llm.StreamChunk{}, err)
				return
			}
			if !yield(llm.StreamChunk{Delta: w}, nil) {
				return
			}
		}
		yield(llm.StreamChunk{Done: true, Meta: res.Meta}, nil)
	}
}

func promptWords(msgs []llm.Message) int {
	n := 0
	for _, m := range msgs {
		n += words(m.Content)
	}
	return n
}

// interviewReply decides the next assistant turn from the conversation.
// Progress is read from the conversation itself (which of our questions
// got a user answer), not from a count of user messages, so an opening
// "hi" or an upload choice is not mistaken for the first answer.
func interviewReply(msgs []llm.Message) string {
	answers := pairAnswers(msgs)
	for i, q := range AutopilotQuestions {
		if _, ok := answers[q.Field]; ok {
			continue
		}
		if len(answers) == 0 && !askedAny(msgs) {
			return introText + "\n\n" + q.Text
		}
		return acknowledge(msgs, i) + q.Text
	}

	lastSummary, lastConfirm, lastUser := -1, -1, -1
	for i, m := range msgs {
		switch {
		case m.Role == llm.RoleAssistant && strings.Contains(m.Content, summaryIntro):
			lastSummary = i
		case m.Role == llm.RoleAssistant && m.Content == confirmText:
			lastConfirm = i
		case m.Role == llm.RoleUser:
			lastUser = i
		}
	}
	if lastSummary < 0 || lastUser < lastSummary {
		return summary(msgs)
	}
	answer := msgs[lastUser].Content
	switch {
	case len(labelledLines(answer)) > 0:
		return "Updated. " + summary(msgs)
	case lastConfirm > lastSummary:
		// Already confirmed: a "thanks" must not reopen the brief.
		return confirmedText
	case isAffirmative(answer):
		return confirmText
	default:
		return `No problem. Tell me what to change, one per line as "field: value" (for example "countries: Germany, Austria" or "company size: 51-200"), and I'll update the summary.`
	}
}

func askedAny(msgs []llm.Message) bool {
	for _, m := range msgs {
		if m.Role == llm.RoleAssistant && questionIn(m.Content) >= 0 {
			return true
		}
	}
	return false
}

// acknowledge echoes how the previous answer was understood when it was
// parsed into something structured, so a misread country or size is
// caught during the interview rather than in the campaign.
func acknowledge(msgs []llm.Message, next int) string {
	if next == 0 {
		return ""
	}
	prev := AutopilotQuestions[next-1]
	answer := pairAnswers(msgs)[prev.Field]
	switch prev.Field {
	case FieldTargetCountries:
		if cs := parseCountries(answer); len(cs) > 0 {
			return "Got it: " + countryNames(cs) + ".\n\n"
		}
		return "I couldn't match a country in that, so I'll leave it open for now; you can correct it at the end.\n\n"
	case FieldCompanySize:
		if b, ok := sizeBucket(answer); ok {
			return "Got it: " + b + " employees.\n\n"
		}
	case FieldChannels:
		if cs := parseChannels(answer); len(cs) > 0 {
			return "Got it: " + channelNames(cs) + ".\n\n"
		}
	}
	acks := []string{"Got it.", "Thanks.", "Great.", "Noted.", "Perfect."}
	return acks[next%len(acks)] + "\n\n"
}

// summary lists what Extract found, and asks for confirmation.
func summary(msgs []llm.Message) string {
	found := extractFields(AutopilotSchema(), msgs)
	var b strings.Builder
	b.WriteString(summaryIntro + "\n\n")
	for _, q := range AutopilotQuestions {
		v, ok := found[q.Field]
		text := "(not given)"
		if ok {
			text = displayValue(q.Field, v)
		}
		fmt.Fprintf(&b, "- %s: %s\n", q.Label, text)
	}
	b.WriteString("\nShall I go ahead with this? Reply \"yes\" to confirm, or tell me what to change (for example \"countries: Germany, Austria\").")
	return b.String()
}

func displayValue(field string, v any) string {
	switch field {
	case FieldTargetCountries:
		return countryNames(v.([]string))
	case FieldCompanySize:
		return v.(string) + " employees"
	case FieldChannels:
		return channelNames(v.([]string))
	case FieldAutopilotLevel:
		return map[string]string{
			"full_autopilot": "Full autopilot (I find leads and send automatically)",
			"approve_list":   "Approve list (you approve the leads first)",
			"approve_all":    "Approve all (you approve the leads and every message)",
		}[v.(string)]
	}
	if list, ok := v.([]string); ok {
		return strings.Join(list, ", ")
	}
	return fmt.Sprint(v)
}

func channelNames(cs []string) string {
	names := map[string]string{"email": "email", "whatsapp": "WhatsApp", "sms": "SMS"}
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = names[c]
	}
	return strings.Join(out, ", ")
}

var affirmativeRe = regexp.MustCompile(`(?i)^\W*(yes|yep|yeah|yup|sure|ok|okay|confirm(ed)?|correct|go ahead|looks good|sounds good|perfect|great|do it|let's go|all good|that's right|y)\b`)

func isAffirmative(s string) bool { return affirmativeRe.MatchString(strings.TrimSpace(s)) }
