package llmtest

import "github.com/leadpilot/leadpilot/internal/llm"

// SequenceRequest is a two-step email + SMS request that SequenceJSON
// answers correctly.
func SequenceRequest() llm.SequenceRequest {
	return llm.SequenceRequest{
		Lead: llm.Lead{FirstName: "Ana", LastName: "Silva", Email: "ana@acme.test", Company: "Acme", JobTitle: "Head of Sales"},
		Business: llm.BusinessContext{
			CompanyName:      "LeadPilot",
			ValueProposition: "books qualified meetings on autopilot",
			CTA:              "a 15-minute call",
			SenderName:       "Sam",
		},
		Channels: []llm.Channel{llm.ChannelEmail, llm.ChannelSMS},
		Length:   2,
	}
}

// SequenceJSON is a valid answer to SequenceRequest.
const SequenceJSON = `{"steps":[` +
	`{"step":1,"delay_days":0,"channel":"email","subject":"Quick idea for {{company}}","body":"Hi {{first_name}},\n\nWorth a 15-minute call?\n\nSam"},` +
	`{"step":2,"delay_days":3,"channel":"sms","body":"Hi {{first_name}}, did you see my email? - Sam"}]}`

// BadSequenceJSON is well-formed JSON that breaks two content rules for
// SequenceRequest: the email step has no subject and the first step does
// not start on day 0.
const BadSequenceJSON = `{"steps":[` +
	`{"step":1,"delay_days":2,"channel":"email","body":"Hi {{first_name}}, worth a call?"},` +
	`{"step":2,"delay_days":3,"channel":"sms","body":"Hi {{first_name}}, did you see my email? - Sam"}]}`

// ClassificationJSON is a valid classification answer.
const ClassificationJSON = `{"classification":"interested","confidence":0.92,"reason":"Asks for a call next week."}`

// InterestedReply is a reply that ClassificationJSON classifies.
func InterestedReply() llm.Reply {
	return llm.Reply{From: "ana@acme.test", Subject: "Re: Quick idea for Acme", Body: "Sounds good, can we talk Tuesday?"}
}

// ExtractSchema asks for three autopilot fields.
func ExtractSchema() llm.Schema {
	return llm.Schema{Fields: []llm.Field{
		{Name: "target_countries", Type: llm.FieldStringList, Description: "countries to prospect in"},
		{Name: "company_size", Type: llm.FieldEnum, Enum: []string{"1-10", "11-50", "51-200", "201-1000", "1000+"}},
		{Name: "cta", Type: llm.FieldString, Description: "what the lead is asked to do"},
	}}
}

// ExtractJSON is a valid answer to ExtractSchema for ExtractConversation.
const ExtractJSON = `{"target_countries":["Portugal","Spain"],"company_size":"11-50"}`

// ExtractConversation is an onboarding exchange stating countries and size.
func ExtractConversation() []llm.Message {
	return []llm.Message{
		{Role: llm.RoleAssistant, Content: "Which countries should I look for leads in?"},
		{Role: llm.RoleUser, Content: "Portugal and Spain, companies with 11-50 people."},
	}
}
