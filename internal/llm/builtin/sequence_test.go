package builtin_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/llm/builtin"
	"github.com/leadpilot/leadpilot/internal/placeholder"
	"github.com/leadpilot/leadpilot/seeds"
)

// seedTemplates are the spec's three system templates (Phase 3), as the
// templates feature passes them in SequenceRequest.Candidates.
func seedTemplates() []llm.Template {
	return []llm.Template{
		{
			Name: "SaaS Cold Outreach", Industry: "saas", UseCase: "cold_outreach", Channels: []llm.Channel{llm.ChannelEmail},
			Steps: []llm.TemplateStep{
				{Step: 1, DelayDays: 0, Channel: llm.ChannelEmail, Subject: "Quick question about {{company}}", Body: "Hi {{first_name}},\n\nI noticed {{company}} is growing fast in the {{industry}} space. Congrats!\n\nI'm curious - how are you currently handling {{pain_point}}?\n\nWe've helped similar companies like {{competitor}} reduce {{metric}} by {{percentage}}.\n\nWorth a quick chat?\n\n{{sender_name}}"},
				{Step: 2, DelayDays: 3, Channel: llm.ChannelEmail, Subject: "Re: Quick question about {{company}}", Body: "Hi {{first_name}},\n\nJust bumping this up. I know {{job_title}}s are busy, but I thought this might be relevant.\n\nWe recently helped a {{company_size}} company in {{industry}} achieve {{result}}.\n\nHappy to share how - would a 15-min call work?\n\n{{sender_name}}"},
				{Step: 3, DelayDays: 5, Channel: llm.ChannelEmail, Subject: "Last try - {{first_name}}", Body: "Hi {{first_name}},\n\nI'll keep this short - I don't want to spam you.\n\nIf {{pain_point}} isn't a priority right now, no worries. But if it ever becomes one, I'd love to help.\n\nEither way, wishing you and {{company}} continued success.\n\n{{sender_name}}"},
			},
		},
		{
			Name: "Agency New Client", Industry: "agency", UseCase: "cold_outreach", Channels: []llm.Channel{llm.ChannelEmail},
			Steps: []llm.TemplateStep{
				{Step: 1, DelayDays: 0, Channel: llm.ChannelEmail, Subject: "Loved what {{company}} did with {{recent_work}}", Body: "Hi {{first_name}},\n\nI came across {{company}}'s recent {{recent_work}} and was really impressed.\n\nWe're a {{agency_type}} agency and we've helped brands like {{client_example}} achieve {{result}}.\n\nI have a few ideas that could help {{company}} {{goal}}.\n\nWould you be open to a quick call?\n\n{{sender_name}}"},
				{Step: 2, DelayDays: 4, Channel: llm.ChannelEmail, Subject: "Re: Ideas for {{company}}", Body: "Hi {{first_name}},\n\nFollowing up on my last note. I put together a quick audit of {{company}}'s {{area}} - found some interesting opportunities.\n\nHappy to walk you through it - no strings attached.\n\n{{sender_name}}"},
				{Step: 3, DelayDays: 6, Channel: llm.ChannelEmail, Subject: "Quick question", Body: "Hi {{first_name}},\n\nIs {{area}} something you're focused on right now? If not, I'll stop reaching out.\n\nBut if it is, I'd love to share what we've learned working with similar brands.\n\n{{sender_name}}"},
			},
		},
		{
			Name: "Multi-Channel Outreach", Industry: "general", UseCase: "cold_outreach", Channels: []llm.Channel{llm.ChannelEmail, llm.ChannelWhatsApp},
			Steps: []llm.TemplateStep{
				{Step: 1, DelayDays: 0, Channel: llm.ChannelEmail, Subject: "{{first_name}}, quick question", Body: "Hi {{first_name}},\n\n{{personalized_opener}}\n\nI'd love to share how we've helped companies like yours {{benefit}}.\n\nWorth a quick chat?\n\n{{sender_name}}"},
				{Step: 2, DelayDays: 2, Channel: llm.ChannelWhatsApp, Body: "Hi {{first_name}}, I sent you an email a couple days ago about {{topic}}. Did you get a chance to see it? Happy to jump on a quick call if helpful. - {{sender_name}}"},
				{Step: 3, DelayDays: 4, Channel: llm.ChannelEmail, Subject: "Re: {{first_name}}, quick question", Body: "Hi {{first_name}},\n\nJust following up. I know you're busy.\n\nHere's a quick case study that might be relevant: {{case_study_link}}\n\nLet me know if you'd like to discuss.\n\n{{sender_name}}"},
				{Step: 4, DelayDays: 7, Channel: llm.ChannelWhatsApp, Body: "Hey {{first_name}}, last message from me! If now isn't the right time, totally understand. But if {{pain_point}} becomes a priority, I'd love to help. - {{sender_name}}"},
			},
		},
	}
}

func fullBusiness() llm.BusinessContext {
	return llm.BusinessContext{
		CompanyName:      "LeadPilot",
		Industry:         "saas",
		ValueProposition: "We help B2B teams book 3x more meetings with AI-personalised outreach",
		Tone:             "friendly",
		KeyPainPoints:    []string{"low reply rates", "hours lost on manual prospecting"},
		CaseStudies:      []string{"Northwind doubled its reply rate in six weeks"},
		CTA:              "Open to a 15-minute call next Tuesday?",
		SenderName:       "Sam Carter",
		SenderTitle:      "Head of Growth",
	}
}

func fullLead() llm.Lead {
	return llm.Lead{FirstName: "Ana", LastName: "Silva", Company: "Acme Widgets", JobTitle: "CTO", Email: "ana@acme.test"}
}

func TestGenerateSequenceAlwaysValidates(t *testing.T) {
	t.Parallel()

	p := builtin.New()
	channelSets := [][]llm.Channel{
		{llm.ChannelEmail}, {llm.ChannelWhatsApp}, {llm.ChannelSMS},
		{llm.ChannelEmail, llm.ChannelWhatsApp}, {llm.ChannelEmail, llm.ChannelSMS}, {llm.ChannelWhatsApp, llm.ChannelSMS},
		{llm.ChannelSMS, llm.ChannelWhatsApp, llm.ChannelEmail},
	}
	long := strings.Repeat("Extraordinarily ", 40)
	leads := map[string]llm.Lead{
		"full":  fullLead(),
		"empty": {},
		"odd": {FirstName: "Zoë 🚀", Company: "{{evil}} ```Corp```\nLtd", JobTitle: "Secretary",
			Custom: map[string]string{"recent_work": "rebrand", "competitor": "Globex"}},
		"long": {FirstName: long, Company: long, JobTitle: long},
	}
	businesses := map[string]llm.BusinessContext{
		"full":  fullBusiness(),
		"empty": {},
		"long": {ValueProposition: strings.Repeat("We make everything better. ", 100), CTA: long + "?",
			SenderName: long, CaseStudies: []string{long}, KeyPainPoints: []string{long}},
	}
	sms := &llm.Template{Name: "Long SMS", Steps: []llm.TemplateStep{
		{Step: 1, Channel: llm.ChannelSMS, Body: strings.Repeat("Hi {{first_name}}, this is a very long message. ", 30) + "- {{sender_name}}"},
		{Step: 2, DelayDays: 5, Channel: llm.ChannelEmail, Body: "{{unknown_thing}}"},
		{Step: 3, DelayDays: 2, Channel: "fax", Subject: "x", Body: "Hi {{ first_name }}, {{cta}}"},
	}}
	templates := map[string]*llm.Template{"none": nil, "long sms": sms}
	for i, tmpl := range seedTemplates() {
		templates[fmt.Sprintf("seed %d", i)] = &tmpl
	}

	// Every lead with every business would multiply the run time for
	// little: pair them so each lead and each business appears.
	pairs := [][2]string{{"full", "full"}, {"empty", "empty"}, {"odd", "full"}, {"long", "long"}, {"full", "empty"}, {"odd", "long"}}
	for _, pair := range pairs {
		name := "ForLead" + strings.ToUpper(pair[0][:1]) + pair[0][1:] + "AndBusiness" + strings.ToUpper(pair[1][:1]) + pair[1][1:]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			lead, biz := leads[pair[0]], businesses[pair[1]]
			runs := 0
			for tn, tmpl := range templates {
				for _, chans := range channelSets {
					for length := 0; length <= builtin.MaxSequenceLength; length++ {
						if length == 0 && tmpl == nil {
							continue
						}
						req := llm.SequenceRequest{Lead: lead, Business: biz, Channels: chans, Length: length, Template: tmpl, Candidates: seedTemplates()}
						res, err := p.GenerateSequence(t.Context(), req)
						combo := fmt.Sprintf("template=%s channels=%v length=%d", tn, chans, length)
						require.NoError(t, err, combo)
						require.NoError(t, llm.ValidateSequence(req, res.Steps), combo)
						for _, s := range res.Steps {
							require.NotContains(t, s.Subject+s.Body, "{{", combo)
							if s.Channel == llm.ChannelSMS {
								require.Contains(t, s.Body, "Reply STOP to opt out.", combo)
							}
						}
						runs++
					}
				}
			}
			t.Logf("validated %d generated sequences", runs)
		})
	}
}

func TestGenerateSequence(t *testing.T) {
	t.Parallel()

	p := builtin.New()
	generate := func(t *testing.T, req llm.SequenceRequest) []llm.Step {
		t.Helper()
		res, err := p.GenerateSequence(t.Context(), req)
		require.NoError(t, err)
		require.NoError(t, llm.ValidateSequence(req, res.Steps))
		return res.Steps
	}

	t.Run("PersonalisesTheDefaultEmailTemplate", func(t *testing.T) {
		t.Parallel()
		biz := fullBusiness()
		biz.KeyPainPoints = append(biz.KeyPainPoints, "messy CRM data")
		steps := generate(t, llm.SequenceRequest{Lead: fullLead(), Business: biz, Channels: []llm.Channel{llm.ChannelEmail}, Length: 3})
		require.Equal(t, "Quick question about Acme Widgets", steps[0].Subject)
		require.True(t, strings.HasPrefix(steps[0].Body, "Hey Ana,\n\n"), "friendly tone greets with Hey: %q", steps[0].Body)
		require.Contains(t, steps[0].Body, "We help B2B teams book 3x more meetings with AI-personalised outreach.")
		require.Contains(t, steps[0].Body, "Open to a 15-minute call next Tuesday?")
		require.Contains(t, steps[0].Body, "low reply rates")
		require.True(t, strings.HasSuffix(steps[0].Body, "Cheers,\nSam Carter\nHead of Growth\nLeadPilot"), steps[0].Body)
		require.Contains(t, steps[1].Body, "Northwind doubled its reply rate in six weeks.")
		require.Contains(t, steps[2].Body, "If messy CRM data becomes a priority", "pain points rotate across steps")
		require.Equal(t, []int{0, 3, 7}, delays(steps))
	})

	t.Run("FallsBackGracefullyWithoutLeadOrBusinessData", func(t *testing.T) {
		t.Parallel()
		steps := generate(t, llm.SequenceRequest{Channels: []llm.Channel{llm.ChannelEmail}, Length: 3})
		require.Equal(t, "Quick question about your team", steps[0].Subject)
		require.True(t, strings.HasPrefix(steps[0].Body, "Hi there,"), steps[0].Body)
		require.Contains(t, steps[0].Body, "I came across your team")
		require.NotContains(t, steps[0].Body, "struggle with", "a sentence whose value is missing is dropped")
		require.NotContains(t, steps[1].Body, "One recent example")
		require.Contains(t, steps[2].Body, "If this becomes a priority for your team")
	})

	t.Run("DropsSentencesWithPlaceholdersNobodyCanFill", func(t *testing.T) {
		t.Parallel()
		seed := seedTemplates()[0]
		steps := generate(t, llm.SequenceRequest{Lead: fullLead(), Business: fullBusiness(), Channels: []llm.Channel{llm.ChannelEmail}, Template: &seed})
		require.Len(t, steps, 3)
		require.NotContains(t, steps[0].Body, "similar companies like")
		require.Contains(t, steps[0].Body, "growing fast in the saas space")
		require.Contains(t, steps[1].Body, "I know CTOs are busy")
		require.NotContains(t, steps[1].Body, "achieve")
		require.Equal(t, "Last try - Ana", steps[2].Subject)
	})

	t.Run("UsesCustomLeadFieldsForTemplatePlaceholders", func(t *testing.T) {
		t.Parallel()
		agency := seedTemplates()[1]
		lead := fullLead()
		lead.Custom = map[string]string{"recent_work": "spring campaign", "agency_type": "design", "client_example": "Globex", "result": "a 40% lift in signups"}
		steps := generate(t, llm.SequenceRequest{Lead: lead, Business: fullBusiness(), Channels: []llm.Channel{llm.ChannelEmail}, Length: 1, Template: &agency})
		require.Equal(t, "Loved what Acme Widgets did with spring campaign", steps[0].Subject)
		require.Contains(t, steps[0].Body, "We're a design agency and we've helped brands like Globex achieve a 40% lift in signups.")
	})

	t.Run("UsesInlineFallbacksOnlyWhenTheLeadHasNoValue", func(t *testing.T) {
		t.Parallel()
		tmpl := &llm.Template{Steps: []llm.TemplateStep{{Channel: llm.ChannelEmail, Subject: "Idea for {{company|your team}}",
			Body: "Hi {{ first_name | there }},\n\nI saw {{recent_work|your latest launch}}. {{cta|Open to a call? Happy to keep it short.}}\n\nSam"}}}
		steps := generate(t, llm.SequenceRequest{Channels: []llm.Channel{llm.ChannelEmail}, Length: 1, Template: tmpl})
		require.Equal(t, "Idea for your team", steps[0].Subject)
		require.Equal(t, "Hi there,\n\nI saw your latest launch. Open to a call? Happy to keep it short.\n\nSam", steps[0].Body,
			"punctuation inside a fallback ends no sentence")

		lead := fullLead()
		lead.Custom = map[string]string{"recent_work": "the spring campaign"}
		steps = generate(t, llm.SequenceRequest{Lead: lead, Business: fullBusiness(), Channels: []llm.Channel{llm.ChannelEmail}, Length: 1, Template: tmpl})
		require.Equal(t, "Idea for Acme Widgets", steps[0].Subject)
		require.Equal(t, "Hi Ana,\n\nI saw the spring campaign. Open to a 15-minute call next Tuesday?\n\nSam", steps[0].Body)
	})

	t.Run("KeepsFullStopsInsideWords", func(t *testing.T) {
		t.Parallel()
		// A full stop not followed by a space ends no sentence: nothing
		// of "3.5x" or "example.com" is lost.
		tmpl := &llm.Template{Steps: []llm.TemplateStep{{Channel: llm.ChannelEmail, Subject: "Hi",
			Body: "Hi {{first_name}}, teams on example.com book 3.5x more calls. Worth a chat?"}}}
		steps := generate(t, llm.SequenceRequest{Lead: fullLead(), Channels: []llm.Channel{llm.ChannelEmail}, Length: 1, Template: tmpl})
		require.Equal(t, "Hi Ana, teams on example.com book 3.5x more calls. Worth a chat?", steps[0].Body)
	})

	t.Run("WritesEscapedBracesAsText", func(t *testing.T) {
		t.Parallel()
		// \{{name}} is literal text in the grammar; braces never reach a
		// lead, so they are removed like stray markup.
		tmpl := &llm.Template{Steps: []llm.TemplateStep{{Channel: llm.ChannelEmail, Subject: "Hi",
			Body: `Hi {{first_name}}, reply with \{{yes}} to book.`}}}
		steps := generate(t, llm.SequenceRequest{Lead: fullLead(), Channels: []llm.Channel{llm.ChannelEmail}, Length: 1, Template: tmpl})
		require.Equal(t, "Hi Ana, reply with yes to book.", steps[0].Body)
	})

	t.Run("WritesTheGenericStepForATemplateTheGrammarRefuses", func(t *testing.T) {
		t.Parallel()
		tmpl := &llm.Template{Steps: []llm.TemplateStep{{Channel: llm.ChannelEmail, Subject: "About {{company",
			Body: "Hi {{first_name, quick one about {{company}}."}}}
		steps := generate(t, llm.SequenceRequest{Lead: fullLead(), Business: fullBusiness(), Channels: []llm.Channel{llm.ChannelEmail}, Length: 1, Template: tmpl})
		require.Equal(t, "Quick question about Acme Widgets", steps[0].Subject)
		require.NotContains(t, steps[0].Body, "quick one")
		require.Contains(t, steps[0].Body, "Open to a 15-minute call next Tuesday?")
	})

	t.Run("ReplacesASubjectThatNeedsAMissingValue", func(t *testing.T) {
		t.Parallel()
		agency := seedTemplates()[1]
		steps := generate(t, llm.SequenceRequest{Lead: fullLead(), Channels: []llm.Channel{llm.ChannelEmail}, Length: 3, Template: &agency})
		require.Equal(t, "Quick question about Acme Widgets", steps[0].Subject)
		require.Equal(t, "Re: Ideas for Acme Widgets", steps[1].Subject)
	})

	t.Run("PicksTheCandidateMatchingTheIndustry", func(t *testing.T) {
		t.Parallel()
		biz := fullBusiness()
		biz.Industry = "agency"
		steps := generate(t, llm.SequenceRequest{Lead: fullLead(), Business: biz, Channels: []llm.Channel{llm.ChannelEmail}, Length: 3, Candidates: seedTemplates()})
		require.Contains(t, steps[1].Body, "quick audit of Acme Widgets's growth")
	})

	t.Run("PicksTheCandidateCoveringTheAllowedChannels", func(t *testing.T) {
		t.Parallel()
		biz := fullBusiness()
		biz.Industry = "fintech"
		steps := generate(t, llm.SequenceRequest{Lead: fullLead(), Business: biz, Channels: []llm.Channel{llm.ChannelEmail, llm.ChannelWhatsApp}, Length: 4, Candidates: seedTemplates()})
		require.Equal(t, []llm.Channel{llm.ChannelEmail, llm.ChannelWhatsApp, llm.ChannelEmail, llm.ChannelWhatsApp}, channels(steps))
		require.Equal(t, "Ana, quick question", steps[0].Subject)
	})

	t.Run("PicksTheMixedDefaultForAllThreeChannels", func(t *testing.T) {
		t.Parallel()
		steps := generate(t, llm.SequenceRequest{Lead: fullLead(), Business: fullBusiness(), Channels: []llm.Channel{llm.ChannelEmail, llm.ChannelWhatsApp, llm.ChannelSMS}, Length: 4})
		require.Equal(t, []llm.Channel{llm.ChannelEmail, llm.ChannelWhatsApp, llm.ChannelEmail, llm.ChannelSMS}, channels(steps))
		require.Empty(t, steps[1].Subject)
		require.Empty(t, steps[3].Subject)
	})

	t.Run("ConvertsEmailStepsToSMSWhenOnlySMSIsAllowed", func(t *testing.T) {
		t.Parallel()
		seed := seedTemplates()[0]
		steps := generate(t, llm.SequenceRequest{Lead: fullLead(), Business: fullBusiness(), Channels: []llm.Channel{llm.ChannelSMS}, Template: &seed})
		for _, s := range steps {
			require.Equal(t, llm.ChannelSMS, s.Channel)
			require.Empty(t, s.Subject)
			require.NotContains(t, s.Body, "\n\n", "paragraphs are joined")
			require.LessOrEqual(t, llm.SMSSegments(s.Body), llm.MaxSMSSegments)
		}
		require.True(t, strings.HasPrefix(steps[0].Body, "Hi Ana, I noticed Acme Widgets"), steps[0].Body)
		require.Contains(t, steps[0].Body, "- Sam Carter\nReply STOP to opt out.")
	})

	t.Run("ConvertsWhatsAppStepsToEmailWithASubjectAndSignOff", func(t *testing.T) {
		t.Parallel()
		multi := seedTemplates()[2]
		steps := generate(t, llm.SequenceRequest{Lead: fullLead(), Business: fullBusiness(), Channels: []llm.Channel{llm.ChannelEmail}, Template: &multi})
		require.Equal(t, "Re: Ana, quick question", steps[1].Subject)
		require.True(t, strings.HasPrefix(steps[1].Body, "Hi Ana,\n\nI sent you an email"), steps[1].Body)
		require.True(t, strings.HasSuffix(steps[1].Body, "Cheers,\nSam Carter"), steps[1].Body)
	})

	t.Run("ShortensAnSMSToTheSegmentLimit", func(t *testing.T) {
		t.Parallel()
		tmpl := &llm.Template{Steps: []llm.TemplateStep{{Channel: llm.ChannelSMS, Body: "Hi {{first_name}}, first point. " + strings.Repeat("Another middle sentence that goes on. ", 20) + "Can we talk Friday? - {{sender_name}}"}}}
		steps := generate(t, llm.SequenceRequest{Lead: fullLead(), Business: fullBusiness(), Channels: []llm.Channel{llm.ChannelSMS}, Template: tmpl})
		body := steps[0].Body
		require.LessOrEqual(t, llm.SMSSegments(body), llm.MaxSMSSegments)
		require.True(t, strings.HasPrefix(body, "Hi Ana, first point."), body)
		require.Contains(t, body, "Can we talk Friday? - Sam Carter", "the closing ask and signature survive")
	})

	t.Run("KeepsAnSMSInGSMByReplacingCurlyQuotes", func(t *testing.T) {
		t.Parallel()
		tmpl := &llm.Template{Steps: []llm.TemplateStep{{Channel: llm.ChannelSMS, Body: "Hi {{first_name}}, it\u2019s Sam \u2014 quick one\u2026"}}}
		steps := generate(t, llm.SequenceRequest{Lead: fullLead(), Channels: []llm.Channel{llm.ChannelSMS}, Template: tmpl})
		require.Equal(t, "Hi Ana, it's Sam - quick one...\nReply STOP to opt out.", steps[0].Body)
		require.Equal(t, 1, llm.SMSSegments(steps[0].Body))
	})

	t.Run("TrimsMiddleStepsAndKeepsTheLastOne", func(t *testing.T) {
		t.Parallel()
		multi := seedTemplates()[2]
		steps := generate(t, llm.SequenceRequest{Lead: fullLead(), Business: fullBusiness(), Channels: []llm.Channel{llm.ChannelEmail, llm.ChannelWhatsApp}, Length: 2, Template: &multi})
		require.Equal(t, []int{0, 7}, delays(steps))
		require.Contains(t, steps[1].Body, "last message from me")
	})

	t.Run("AddsFollowUpsBeforeTheLastStep", func(t *testing.T) {
		t.Parallel()
		seed := seedTemplates()[0]
		steps := generate(t, llm.SequenceRequest{Lead: fullLead(), Business: fullBusiness(), Channels: []llm.Channel{llm.ChannelEmail}, Length: 6, Template: &seed})
		require.Equal(t, []int{0, 3, 6, 9, 12, 15}, delays(steps))
		require.Contains(t, steps[5].Body, "I'll keep this short", "the template's last step stays last")
		require.Equal(t, "Re: Quick question about Acme Widgets", steps[2].Subject)
		bodies := map[string]bool{}
		for _, s := range steps {
			require.False(t, bodies[s.Body], "no two steps say the same thing")
			bodies[s.Body] = true
		}
	})

	t.Run("AddsABreakUpToASingleStepTemplate", func(t *testing.T) {
		t.Parallel()
		tmpl := &llm.Template{Steps: []llm.TemplateStep{{Channel: llm.ChannelEmail, Subject: "Hello {{first_name}}", Body: "Hi {{first_name}}, {{cta}}"}}}
		steps := generate(t, llm.SequenceRequest{Lead: fullLead(), Business: fullBusiness(), Channels: []llm.Channel{llm.ChannelEmail}, Length: 2, Template: tmpl})
		require.Equal(t, "Closing the loop", steps[1].Subject)
		require.Contains(t, steps[1].Body, "I haven't heard back")
	})

	t.Run("ReadsDecreasingTemplateDelaysAsGaps", func(t *testing.T) {
		t.Parallel()
		tmpl := &llm.Template{Steps: []llm.TemplateStep{
			{Step: 1, DelayDays: 0, Channel: llm.ChannelEmail, Subject: "a", Body: "one"},
			{Step: 2, DelayDays: 3, Channel: llm.ChannelEmail, Subject: "b", Body: "two"},
			{Step: 3, DelayDays: 2, Channel: llm.ChannelEmail, Subject: "c", Body: "three"},
		}}
		steps := generate(t, llm.SequenceRequest{Channels: []llm.Channel{llm.ChannelEmail}, Template: tmpl})
		require.Equal(t, []int{0, 3, 5}, delays(steps))
	})

	t.Run("KeepsSameDayTouchesOnTwoChannels", func(t *testing.T) {
		t.Parallel()
		tmpl := &llm.Template{Steps: []llm.TemplateStep{
			{Step: 1, Channel: llm.ChannelEmail, Subject: "a", Body: "one"},
			{Step: 2, DelayDays: 0, Channel: llm.ChannelWhatsApp, Body: "two"},
		}}
		steps := generate(t, llm.SequenceRequest{Channels: []llm.Channel{llm.ChannelEmail, llm.ChannelWhatsApp}, Template: tmpl})
		require.Equal(t, []int{0, 0}, delays(steps))
	})

	t.Run("IsDeterministic", func(t *testing.T) {
		t.Parallel()
		req := llm.SequenceRequest{Lead: fullLead(), Business: fullBusiness(), Channels: []llm.Channel{llm.ChannelEmail, llm.ChannelSMS}, Length: 7, Candidates: seedTemplates()}
		require.Equal(t, generate(t, req), generate(t, req))
	})

	t.Run("LabelsTheResultAsBuiltin", func(t *testing.T) {
		t.Parallel()
		res, err := p.GenerateSequence(t.Context(), llm.SequenceRequest{Channels: []llm.Channel{llm.ChannelEmail}, Length: 1})
		require.NoError(t, err)
		require.Equal(t, "builtin", res.Provider)
		require.Equal(t, "builtin-rules-v1", res.Model)
		require.Positive(t, res.Usage.CompletionTokens)
	})

	t.Run("RejectsALengthOutOfRange", func(t *testing.T) {
		t.Parallel()
		_, err := p.GenerateSequence(t.Context(), llm.SequenceRequest{Channels: []llm.Channel{llm.ChannelEmail}, Length: 11})
		require.ErrorIs(t, err, llm.ErrBadRequest)
		var lerr *llm.Error
		require.True(t, errors.As(err, &lerr))
		require.Equal(t, "builtin", lerr.Provider)
	})

	t.Run("RejectsOnlyUnknownChannels", func(t *testing.T) {
		t.Parallel()
		_, err := p.GenerateSequence(t.Context(), llm.SequenceRequest{Channels: []llm.Channel{"fax"}, Length: 1})
		require.ErrorIs(t, err, llm.ErrBadRequest)
	})

	t.Run("StopsOnACancelledContext", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := contextCancelled(t)
		defer cancel()
		_, err := p.GenerateSequence(ctx, llm.SequenceRequest{Length: 1})
		require.ErrorIs(t, err, ctxErr)
	})
}

func TestDefaultTemplates(t *testing.T) {
	t.Parallel()

	t.Run("ReturnsCopiesCallersCannotChange", func(t *testing.T) {
		t.Parallel()
		ts := builtin.DefaultTemplates()
		require.Len(t, ts, 3)
		ts[0].Steps[0].Body = "changed"
		require.NotEqual(t, "changed", builtin.DefaultTemplates()[0].Steps[0].Body)
	})

	t.Run("AreTheSeedsMarkedBuiltinDefault", func(t *testing.T) {
		t.Parallel()
		all, err := seeds.Templates()
		require.NoError(t, err)
		var want []string
		for _, s := range all {
			if s.BuiltinDefault {
				want = append(want, s.Name)
			}
		}
		var got []string
		for _, tmpl := range builtin.DefaultTemplates() {
			got = append(got, tmpl.Name)
		}
		require.Equal(t, want, got, "one copy of the templates: the system catalogue's")
	})

	t.Run("AreValidSequencesOnTheirOwn", func(t *testing.T) {
		t.Parallel()
		for _, tmpl := range builtin.DefaultTemplates() {
			require.NotEmpty(t, tmpl.Name)
			for i, s := range tmpl.Steps {
				require.Equal(t, i+1, s.Step, tmpl.Name)
				require.Contains(t, tmpl.Channels, s.Channel, tmpl.Name)
				require.Equal(t, s.Channel == llm.ChannelEmail, s.Subject != "", "%s step %d: subjects on email steps only", tmpl.Name, s.Step)
				for _, text := range []string{s.Subject, s.Body} {
					_, err := placeholder.Parse(text)
					require.NoError(t, err, "%s step %d: the grammar every template is written in", tmpl.Name, s.Step)
				}
			}
		}
	})
}

func delays(steps []llm.Step) []int {
	out := make([]int, len(steps))
	for i, s := range steps {
		out[i] = s.DelayDays
	}
	return out
}

func channels(steps []llm.Step) []llm.Channel {
	out := make([]llm.Channel, len(steps))
	for i, s := range steps {
		out[i] = s.Channel
	}
	return out
}
