package llm_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/llm"
)

// validSteps is a sequence that passes every rule for validRequest; each
// case below breaks one thing in a copy of it.
func validSteps() []llm.Step {
	return []llm.Step{
		{Step: 1, DelayDays: 0, Channel: llm.ChannelEmail, Subject: "Quick question about {{company}}", Body: "Hi {{first_name}},\n\nWorth a chat?\n\nSam"},
		{Step: 2, DelayDays: 3, Channel: llm.ChannelWhatsApp, Body: "Hi {{first_name}}, did you see my email? - Sam"},
		{Step: 3, DelayDays: 3, Channel: llm.ChannelSMS, Body: "Hi {{ first_name }}, last note from me about {{deal_size}}. - Sam"},
	}
}

func validRequest() llm.SequenceRequest {
	return llm.SequenceRequest{
		Lead:     llm.Lead{FirstName: "Ana", Custom: map[string]string{"deal_size": "large"}},
		Channels: []llm.Channel{llm.ChannelEmail, llm.ChannelWhatsApp, llm.ChannelSMS},
		Length:   3,
	}
}

func TestValidateSequence(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		req    func(*llm.SequenceRequest)
		steps  func([]llm.Step) []llm.Step
		paths  []string // expected violation paths, in order; nil means valid
		reason string   // substring expected in the first message
	}{
		{
			name: "AcceptsAValidMixedChannelSequence",
		},
		{
			name:   "RejectsTooFewSteps",
			steps:  func(s []llm.Step) []llm.Step { return s[:2] },
			paths:  []string{"/steps"},
			reason: "got 2 steps, want exactly 3",
		},
		{
			name:   "RejectsAnEmptySequence",
			steps:  func([]llm.Step) []llm.Step { return nil },
			paths:  []string{"/steps"},
			reason: "no steps",
		},
		{
			name: "UsesTheTemplateStepCountWhenLengthIsZero",
			req: func(r *llm.SequenceRequest) {
				r.Length = 0
				r.Template = &llm.Template{Steps: make([]llm.TemplateStep, 4)}
			},
			paths:  []string{"/steps"},
			reason: "want exactly 4",
		},
		{
			name: "AcceptsAnyCountWithoutLengthOrTemplate",
			req:  func(r *llm.SequenceRequest) { r.Length = 0 },
			steps: func(s []llm.Step) []llm.Step {
				return s[:1]
			},
		},
		{
			name: "RejectsStepsNumberedOutOfOrder",
			steps: func(s []llm.Step) []llm.Step {
				s[1].Step, s[2].Step = 3, 2
				return s
			},
			paths:  []string{"/steps/1/step", "/steps/2/step"},
			reason: "step number is 3, want 2",
		},
		{
			name: "RejectsANegativeDelay",
			steps: func(s []llm.Step) []llm.Step {
				s[1].DelayDays = -1
				return s
			},
			paths:  []string{"/steps/1/delay_days"},
			reason: "must not be negative",
		},
		{
			name: "RejectsAFirstStepThatWaits",
			steps: func(s []llm.Step) []llm.Step {
				s[0].DelayDays = 2
				s[1].DelayDays = 3
				return s
			},
			paths:  []string{"/steps/0/delay_days"},
			reason: "first step must have delay_days 0",
		},
		{
			name: "RejectsDecreasingDelays",
			steps: func(s []llm.Step) []llm.Step {
				s[2].DelayDays = 1
				return s
			},
			paths:  []string{"/steps/2/delay_days"},
			reason: "smaller than the previous",
		},
		{
			name:   "RejectsAChannelTheCampaignDoesNotAllow",
			req:    func(r *llm.SequenceRequest) { r.Channels = []llm.Channel{llm.ChannelEmail, llm.ChannelWhatsApp} },
			paths:  []string{"/steps/2/channel"},
			reason: `channel "sms" is not allowed; use one of email, whatsapp`,
		},
		{
			name: "RejectsAnUnknownChannelEvenWithoutARestriction",
			req:  func(r *llm.SequenceRequest) { r.Channels = nil },
			steps: func(s []llm.Step) []llm.Step {
				s[1].Channel = "telegram"
				return s
			},
			paths:  []string{"/steps/1/channel"},
			reason: `"telegram"`,
		},
		{
			name: "RejectsAnUnknownChannelEvenWhenTheRequestAllowsIt",
			req: func(r *llm.SequenceRequest) {
				r.Channels = []llm.Channel{llm.ChannelEmail, llm.ChannelSMS, llm.ChannelWhatsApp, "telegram"}
			},
			steps: func(s []llm.Step) []llm.Step {
				s[1].Channel = "telegram"
				return s
			},
			paths:  []string{"/steps/1/channel"},
			reason: "unknown channel",
		},
		{
			name: "RejectsAnEmailWithoutSubject",
			steps: func(s []llm.Step) []llm.Step {
				s[0].Subject = "  "
				return s
			},
			paths:  []string{"/steps/0/subject"},
			reason: "needs a subject",
		},
		{
			name: "RejectsASubjectOverTheLimit",
			steps: func(s []llm.Step) []llm.Step {
				s[0].Subject = strings.Repeat("é", llm.MaxEmailSubjectLen+1)
				return s
			},
			paths:  []string{"/steps/0/subject"},
			reason: "121 characters",
		},
		{
			name: "AcceptsASubjectAtTheLimitCountedInRunes",
			steps: func(s []llm.Step) []llm.Step {
				s[0].Subject = strings.Repeat("é", llm.MaxEmailSubjectLen)
				return s
			},
		},
		{
			name: "RejectsAMultilineSubject",
			steps: func(s []llm.Step) []llm.Step {
				s[0].Subject = "Hello\nthere"
				return s
			},
			paths:  []string{"/steps/0/subject"},
			reason: "single line",
		},
		{
			name: "RejectsASubjectOnAnSMS",
			steps: func(s []llm.Step) []llm.Step {
				s[2].Subject = "Hi"
				return s
			},
			paths:  []string{"/steps/2/subject"},
			reason: "sms step must not have a subject",
		},
		{
			name: "RejectsASubjectOnAWhatsAppMessage",
			steps: func(s []llm.Step) []llm.Step {
				s[1].Subject = "Hi"
				return s
			},
			paths:  []string{"/steps/1/subject"},
			reason: "whatsapp step must not have a subject",
		},
		{
			name: "RejectsAnEmptyBody",
			steps: func(s []llm.Step) []llm.Step {
				s[1].Body = " \n "
				return s
			},
			paths:  []string{"/steps/1/body"},
			reason: "empty",
		},
		{
			name: "RejectsAnSMSThatNeedsFourSegments",
			steps: func(s []llm.Step) []llm.Step {
				s[2].Body = strings.Repeat("a", 3*153+1)
				return s
			},
			paths:  []string{"/steps/2/body"},
			reason: "needs 4 segments",
		},
		{
			name: "AcceptsAnSMSThatFillsThreeSegments",
			steps: func(s []llm.Step) []llm.Step {
				s[2].Body = strings.Repeat("a", 3*153)
				return s
			},
		},
		{
			name: "RejectsAWhatsAppBodyOverTheLimit",
			steps: func(s []llm.Step) []llm.Step {
				s[1].Body = strings.Repeat("x", llm.MaxWhatsAppBodyLen+1)
				return s
			},
			paths:  []string{"/steps/1/body"},
			reason: "1025 characters",
		},
		{
			name: "RejectsAnEmailBodyOverTheLimit",
			steps: func(s []llm.Step) []llm.Step {
				s[0].Body = strings.Repeat("x", llm.MaxEmailBodyLen+1)
				return s
			},
			paths:  []string{"/steps/0/body"},
			reason: "10001 characters",
		},
		{
			name: "RejectsAPlaceholderThatIsNotALeadField",
			steps: func(s []llm.Step) []llm.Step {
				s[0].Body = "Hi {{first_name}}, we cut {{metric}} by {{ percentage }}."
				return s
			},
			paths:  []string{"/steps/0/body", "/steps/0/body"},
			reason: "{{metric}}",
		},
		{
			name: "RejectsAnUnknownPlaceholderInTheSubject",
			steps: func(s []llm.Step) []llm.Step {
				s[0].Subject = "Ideas for {{recent_work}}"
				return s
			},
			paths:  []string{"/steps/0/subject"},
			reason: "{{recent_work}}",
		},
		{
			name: "AcceptsEveryLeadField",
			steps: func(s []llm.Step) []llm.Step {
				var b strings.Builder
				for _, f := range llm.LeadFields {
					b.WriteString("{{" + f + "}} ")
				}
				s[0].Body = b.String()
				return s
			},
		},
		{
			name: "AcceptsALeadFieldWithAFallback",
			steps: func(s []llm.Step) []llm.Step {
				// The grammar templates and the built-in provider use:
				// the fallback is written when the lead has no first name.
				s[0].Body = "Hi {{first_name|there}},\n\nHow is {{ company | your team }} doing?{{deal_size|}}\n\nSam"
				return s
			},
		},
		{
			name: "RejectsAnUnknownPlaceholderEvenWithAFallback",
			steps: func(s []llm.Step) []llm.Step {
				s[0].Body = "We cut {{metric|churn}} in half."
				return s
			},
			paths:  []string{"/steps/0/body"},
			reason: "{{metric|churn}}",
		},
		{
			name: "RejectsAHalfWrittenPlaceholder",
			steps: func(s []llm.Step) []llm.Step {
				s[1].Body = "Hi {{first_name, quick one"
				return s
			},
			paths:  []string{"/steps/1/body"},
			reason: "line 1, column 4: unterminated placeholder",
		},
		{
			name: "RejectsAStrayClosingPair",
			steps: func(s []llm.Step) []llm.Step {
				s[0].Subject = "Quick question about first_name}}"
				return s
			},
			paths:  []string{"/steps/0/subject"},
			reason: "closes no placeholder",
		},
		{
			name: "RejectsASpaceInsideAPlaceholderName",
			steps: func(s []llm.Step) []llm.Step {
				s[0].Body = "Hi {{first name}}"
				return s
			},
			paths:  []string{"/steps/0/body"},
			reason: "is not allowed in a name",
		},
		{
			name: "RejectsAMarkdownCodeFence",
			steps: func(s []llm.Step) []llm.Step {
				s[0].Body = "```\nHi there\n```"
				return s
			},
			paths:  []string{"/steps/0/body"},
			reason: "code fence",
		},
		{
			name: "ReportsEveryViolationAtOnce",
			steps: func(s []llm.Step) []llm.Step {
				s[0].Subject = ""
				s[1].DelayDays = -2
				s[2].Body = ""
				return s
			},
			paths: []string{"/steps/0/subject", "/steps/1/delay_days", "/steps/2/body"},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			req := validRequest()
			if tt.req != nil {
				tt.req(&req)
			}
			steps := validSteps()
			if tt.steps != nil {
				steps = tt.steps(steps)
			}

			err := llm.ValidateSequence(req, steps)
			if tt.paths == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, llm.ErrInvalidOutput)
			var verr *llm.ValidationError
			require.True(t, errors.As(err, &verr))
			var paths []string
			for _, v := range verr.Violations {
				paths = append(paths, v.Path)
			}
			require.Equal(t, tt.paths, paths, "violations: %v", verr.Violations)
			if tt.reason != "" {
				require.Contains(t, verr.Violations[0].Message, tt.reason)
			}
		})
	}
}

func TestValidationError(t *testing.T) {
	t.Parallel()

	t.Run("ErrorNamesEachPathAndMessage", func(t *testing.T) {
		t.Parallel()

		err := &llm.ValidationError{Violations: []llm.Violation{
			{Path: "/steps/0/subject", Message: "too long"},
			{Path: "/steps", Message: "too few"},
		}}
		require.Equal(t, "llm: output failed validation: /steps/0/subject: too long; /steps: too few", err.Error())
		require.ErrorIs(t, err, llm.ErrInvalidOutput)
	})
}

func TestSMSSegments(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		body string
		want int
	}{
		{"AnEmptyBodyNeedsNoSegment", "", 0},
		{"AShortGSMTextNeedsOne", "Hi Ana, worth a quick call this week? - Sam", 1},
		{"GSMAtExactly160NeedsOne", strings.Repeat("a", 160), 1},
		{"GSMAt161NeedsTwo", strings.Repeat("a", 161), 2},
		{"GSMAt306NeedsTwo", strings.Repeat("a", 306), 2},
		{"GSMAt307NeedsThree", strings.Repeat("a", 307), 3},
		{"AccentedLettersInTheGSMAlphabetStayGSM", strings.Repeat("é", 160), 1},
		{"ExtensionCharactersCountTwice", strings.Repeat("€", 80), 1},
		{"ExtensionCharactersPushPast160", strings.Repeat("€", 81), 2},
		{"AnEscapePairIsNotSplitAcrossParts", strings.Repeat("a", 152) + "€" + strings.Repeat("a", 10), 2},
		{"AnEscapePairThatWouldStraddleStartsANewPart", strings.Repeat("a", 152) + "€" + strings.Repeat("a", 152), 3},
		{"UCS2AtExactly70NeedsOne", "ç" + strings.Repeat("a", 69), 1},
		{"UCS2At71NeedsTwo", "ç" + strings.Repeat("a", 70), 2},
		{"OneEmojiSwitchesTheWholeMessageToUCS2", strings.Repeat("a", 100) + "🙂", 2},
		{"EmojiCountAsTwoUTF16Units", strings.Repeat("🙂", 35), 1},
		{"EmojiPastThirtyFiveNeedTwo", strings.Repeat("🙂", 36), 2},
		{"UCS2At134NeedsTwo", "ç" + strings.Repeat("a", 133), 2},
		{"UCS2At135NeedsThree", "ç" + strings.Repeat("a", 134), 3},
		{"CyrillicIsUCS2", strings.Repeat("д", 71), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, llm.SMSSegments(tt.body))
		})
	}
}
