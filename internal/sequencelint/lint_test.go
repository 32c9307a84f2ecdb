package sequencelint_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/orgs"
	"github.com/leadpilot/leadpilot/internal/sequencelint"
	"github.com/leadpilot/leadpilot/internal/templates"
)

func ptr[T any](v T) *T { return &v }

// optOut is opt-out wording, so email bodies in tests draw no
// missing_unsubscribe unless a case wants one.
const optOut = "\n\nNot for you? Reply unsubscribe."

func email(subject, body string) sequencelint.Step {
	return sequencelint.Step{Step: 1, Channel: "email", Subject: subject, Body: body + optOut}
}

func sms(body string) sequencelint.Step {
	return sequencelint.Step{Step: 1, Channel: "sms", Body: body}
}

func whatsapp(body string) sequencelint.Step {
	return sequencelint.Step{Step: 1, Channel: "whatsapp", Body: body}
}

// okContext is a context no rule objects to.
func okContext() sequencelint.Context {
	return sequencelint.Context{
		Business:      orgs.BusinessContext{SenderName: ptr("Sam Lee"), CompanyName: ptr("Northwind")},
		PostalAddress: "1 Main St, Austin, TX 78701",
		Country:       "US",
	}
}

func lead() *templates.Lead {
	return &templates.Lead{FirstName: "Dana", Company: "Globex", CustomFields: map[string]string{"region": "EMEA"}}
}

func links(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "see https://example.com/%d\n", i)
	}
	return b.String()
}

type want struct {
	sev   sequencelint.Severity
	field string
}

func TestLint(t *testing.T) {
	t.Parallel()

	const body = "/steps/0/body"
	const subject = "/steps/0/subject"
	cases := []struct {
		name  string
		steps []sequencelint.Step
		ctx   func(*sequencelint.Context)
		code  string
		want  []want // nil: the code must not appear
	}{
		// Placeholders.
		{"AnUnknownPlaceholderIsAnError", []sequencelint.Step{email("Hi", "About {{budget}}")}, nil, "unresolved_placeholder", []want{{sequencelint.Error, body}}},
		{"AnUnknownPlaceholderInTheSubjectPointsAtTheSubject", []sequencelint.Step{email("Re {{budget}}", "Hello")}, nil, "unresolved_placeholder", []want{{sequencelint.Error, subject}}},
		{"AnUnknownPlaceholderIsReportedOncePerField", []sequencelint.Step{email("Hi", "{{budget}} and {{budget}}")}, nil, "unresolved_placeholder", []want{{sequencelint.Error, body}}},
		{"AnUnknownPlaceholderWithAFallbackIsAWarning", []sequencelint.Step{email("Hi", "About {{budget|your budget}}")}, nil, "unknown_placeholder", []want{{sequencelint.Warning, body}}},
		{"AnUnknownPlaceholderWithAFallbackIsNotUnresolved", []sequencelint.Step{email("Hi", "About {{budget|your budget}}")}, nil, "unresolved_placeholder", nil},
		{"ALeadFieldWithoutALeadIsFilledAtSendTime", []sequencelint.Step{email("Hi", "Hi {{first_name}}")}, nil, "send_time_placeholder", []want{{sequencelint.Info, body}}},
		{"ALeadFieldWithAFallbackIsResolved", []sequencelint.Step{email("Hi", "Hi {{first_name|there}}")}, nil, "send_time_placeholder", nil},
		{"ACustomFieldWithoutALeadIsFilledAtSendTime", []sequencelint.Step{sms("In {{custom.region}}? Reply STOP to opt out")}, nil, "send_time_placeholder", []want{{sequencelint.Info, body}}},
		{"ACustomFieldTheLeadHasIsResolved", []sequencelint.Step{email("Hi", "In {{custom.region}}")}, func(c *sequencelint.Context) { c.Lead = lead() }, "unresolved_placeholder", nil},
		{"ACustomFieldTheLeadLacksIsAnError", []sequencelint.Step{email("Hi", "In {{custom.size}}")}, func(c *sequencelint.Context) { c.Lead = lead() }, "unresolved_placeholder", []want{{sequencelint.Error, body}}},
		{"ALeadFieldTheLeadLacksIsAnError", []sequencelint.Step{email("Hi", "As {{job_title}}")}, func(c *sequencelint.Context) { c.Lead = lead() }, "unresolved_placeholder", []want{{sequencelint.Error, body}}},
		{"ALeadFieldTheLeadLacksWithAFallbackIsResolved", []sequencelint.Step{email("Hi", "As {{job_title|a leader}}")}, func(c *sequencelint.Context) { c.Lead = lead() }, "unresolved_placeholder", nil},
		{"ALeadFieldTheLeadHasIsSilent", []sequencelint.Step{email("Hi", "Hi {{first_name}}")}, func(c *sequencelint.Context) { c.Lead = lead() }, "send_time_placeholder", nil},
		{"ASenderFieldTheBusinessLacksIsAnError", []sequencelint.Step{email("Hi", "{{sender_title}}")}, nil, "unresolved_placeholder", []want{{sequencelint.Error, body}}},
		{"ASenderFieldTheBusinessHasIsResolved", []sequencelint.Step{email("Hi", "Cheers, {{sender_name}}")}, nil, "unresolved_placeholder", nil},
		{"ASenderFieldWithAFallbackIsResolved", []sequencelint.Step{email("Hi", "Cheers, {{sender_title|Founder}}")}, nil, "unresolved_placeholder", nil},
		{"AnUnterminatedPlaceholderIsASyntaxError", []sequencelint.Step{email("Hi", "Hi {{first_name, quick one")}, nil, "placeholder_syntax", []want{{sequencelint.Error, body}}},

		// Bodies, channels and subjects.
		{"AnEmptyBodyIsAnError", []sequencelint.Step{sms("")}, nil, "empty_body", []want{{sequencelint.Error, body}}},
		{"ABlankBodyIsAnError", []sequencelint.Step{sms(" \n\t")}, nil, "empty_body", []want{{sequencelint.Error, body}}},
		{"ABodyThatRendersEmptyIsAnError", []sequencelint.Step{sms("{{custom.x|}}")}, nil, "empty_body", []want{{sequencelint.Error, body}}},
		{"AnUnknownChannelIsAnError", []sequencelint.Step{{Step: 1, Channel: "fax", Body: "Hi"}}, nil, "unknown_channel", []want{{sequencelint.Error, "/steps/0/channel"}}},
		{"AMissingSubjectIsAnError", []sequencelint.Step{email(" ", "Hi")}, nil, "subject_missing", []want{{sequencelint.Error, subject}}},
		{"AMultilineSubjectIsAnError", []sequencelint.Step{email("Hi\nthere", "Hi")}, nil, "subject_multiline", []want{{sequencelint.Error, subject}}},
		{"AnSMSSubjectIsNotSent", []sequencelint.Step{{Step: 1, Channel: "sms", Subject: "Hi", Body: "Hi. Reply STOP to opt out"}}, nil, "subject_not_sent", []want{{sequencelint.Warning, subject}}},
		{"AWhatsAppSubjectIsNotSent", []sequencelint.Step{{Step: 1, Channel: "whatsapp", Subject: "Hi", Body: "Hi"}}, nil, "subject_not_sent", []want{{sequencelint.Warning, subject}}},
		{"ASubjectOf78IsFine", []sequencelint.Step{email(strings.Repeat("s", 78), "Hi")}, nil, "subject_too_long", nil},
		{"ASubjectOf79IsAWarning", []sequencelint.Step{email(strings.Repeat("s", 79), "Hi")}, nil, "subject_too_long", []want{{sequencelint.Warning, subject}}},
		{"ASubjectOf120IsAWarning", []sequencelint.Step{email(strings.Repeat("s", 120), "Hi")}, nil, "subject_too_long", []want{{sequencelint.Warning, subject}}},
		{"ASubjectOf121IsAnError", []sequencelint.Step{email(strings.Repeat("s", 121), "Hi")}, nil, "subject_too_long", []want{{sequencelint.Error, subject}}},
		{"ASubjectCountsCharactersNotBytes", []sequencelint.Step{email(strings.Repeat("é", 77)+"😀", "Hi")}, nil, "subject_too_long", nil},
		{"ASubjectIsMeasuredAsRendered", []sequencelint.Step{email("{{first_name}}"+strings.Repeat("s", 74), "Hi")}, func(c *sequencelint.Context) { c.Lead = lead() }, "subject_too_long", nil},
		{"ASubjectIsMeasuredWithTheSampleLeadWithoutALead", []sequencelint.Step{email("{{company}}"+strings.Repeat("s", 65), "Hi")}, nil, "subject_too_long", []want{{sequencelint.Warning, subject}}},

		// SMS.
		{"AGSMSMSOf160IsOneSegment", []sequencelint.Step{sms(strings.Repeat("a", 160))}, nil, "sms_segments", nil},
		{"AGSMSMSOf161IsTwoSegments", []sequencelint.Step{sms(strings.Repeat("a", 161))}, nil, "sms_segments", []want{{sequencelint.Info, body}}},
		{"AGSMSMSOf306IsTwoSegments", []sequencelint.Step{sms(strings.Repeat("a", 306))}, nil, "sms_segments", []want{{sequencelint.Info, body}}},
		{"AGSMSMSOf307IsThreeSegmentsAndAWarning", []sequencelint.Step{sms(strings.Repeat("a", 307))}, nil, "sms_segments", []want{{sequencelint.Warning, body}}},
		{"AGSMSMSOf459IsThreeSegments", []sequencelint.Step{sms(strings.Repeat("a", 459))}, nil, "sms_segments", []want{{sequencelint.Warning, body}}},
		{"AGSMSMSOf460IsFourSegmentsAndAnError", []sequencelint.Step{sms(strings.Repeat("a", 460))}, nil, "sms_segments", []want{{sequencelint.Error, body}}},
		{"EightyEuroSignsFitOneSegment", []sequencelint.Step{sms(strings.Repeat("€", 80))}, nil, "sms_segments", nil},
		{"EightyOneEuroSignsNeedTwo", []sequencelint.Step{sms(strings.Repeat("€", 81))}, nil, "sms_segments", []want{{sequencelint.Info, body}}},
		{"TheEuroSignStaysGSM", []sequencelint.Step{sms("€5 off")}, nil, "sms_encoding", nil},
		{"GSMAccentedLettersStayGSM", []sequencelint.Step{sms("Café à Genève")}, nil, "sms_encoding", nil},
		{"ACedillaOutsideGSMForcesUCS2", []sequencelint.Step{sms("ça va")}, nil, "sms_encoding", []want{{sequencelint.Info, body}}},
		{"AnEmojiForcesUCS2", []sequencelint.Step{sms("Hi 😀")}, nil, "sms_encoding", []want{{sequencelint.Info, body}}},
		{"SeventyCyrillicLettersFitOneSegment", []sequencelint.Step{sms(strings.Repeat("ж", 70))}, nil, "sms_segments", nil},
		{"SeventyOneCyrillicLettersNeedTwo", []sequencelint.Step{sms(strings.Repeat("ж", 71))}, nil, "sms_segments", []want{{sequencelint.Info, body}}},
		{"ThirtyFiveEmojiFitOneSegment", []sequencelint.Step{sms(strings.Repeat("😀", 35))}, nil, "sms_segments", nil},
		{"ThirtySixEmojiNeedTwo", []sequencelint.Step{sms(strings.Repeat("😀", 36))}, nil, "sms_segments", []want{{sequencelint.Info, body}}},
		{"OneEmojiTurnsA160CharacterSMSIntoThree", []sequencelint.Step{sms(strings.Repeat("a", 159) + "😀")}, nil, "sms_segments", []want{{sequencelint.Warning, body}}},

		// WhatsApp.
		{"AWhatsAppBodyOf1024IsFine", []sequencelint.Step{whatsapp(strings.Repeat("w", 1024))}, nil, "whatsapp_too_long", nil},
		{"AWhatsAppBodyOf1025IsAnError", []sequencelint.Step{whatsapp(strings.Repeat("w", 1025))}, nil, "whatsapp_too_long", []want{{sequencelint.Error, body}}},
		{"AWhatsAppBodyCountsCharacters", []sequencelint.Step{whatsapp(strings.Repeat("😀", 1024))}, nil, "whatsapp_too_long", nil},

		// Spam phrases, links, capitals.
		{"ASpamPhraseIsAWarning", []sequencelint.Step{email("Hi", "Act now to save")}, nil, "spam_phrase", []want{{sequencelint.Warning, body}}},
		{"ASpamPhraseMatchesAcrossSpacing", []sequencelint.Step{email("Hi", "act\n   now")}, nil, "spam_phrase", []want{{sequencelint.Warning, body}}},
		{"ASpamPhraseInTheSubjectPointsAtTheSubject", []sequencelint.Step{email("You are a Winner!", "Hi")}, nil, "spam_phrase", []want{{sequencelint.Warning, subject}}},
		{"ASpamPhraseMatchesWholeWordsOnly", []sequencelint.Step{email("Hi", "Our winners and the urgently needed")}, nil, "spam_phrase", nil},
		{"ASpamPhraseWithASymbolMatches", []sequencelint.Step{email("Hi", "It is 100% free, and risk-free.")}, nil, "spam_phrase", []want{{sequencelint.Warning, body}, {sequencelint.Warning, body}}},
		{"ASpamPhraseOnSMSIsAWarning", []sequencelint.Step{sms("Click here. Reply STOP to opt out")}, nil, "spam_phrase", []want{{sequencelint.Warning, body}}},
		{"TwoLinksAreFine", []sequencelint.Step{email("Hi", links(2))}, nil, "too_many_links", nil},
		{"ThreeLinksAreAWarning", []sequencelint.Step{email("Hi", links(3))}, nil, "too_many_links", []want{{sequencelint.Warning, body}}},
		{"FiveLinksAreAWarning", []sequencelint.Step{email("Hi", links(5))}, nil, "too_many_links", []want{{sequencelint.Warning, body}}},
		{"SixLinksAreAnError", []sequencelint.Step{email("Hi", links(6))}, nil, "too_many_links", []want{{sequencelint.Error, body}}},
		{"PlaceholdersAreNotLinks", []sequencelint.Step{email("Hi", links(2)+"{{website}} {{linkedin_url}}")}, nil, "too_many_links", nil},
		{"AShortenerIsAWarning", []sequencelint.Step{sms("See https://bit.ly/abc. Reply STOP to opt out")}, nil, "link_shortener", []want{{sequencelint.Warning, body}}},
		{"AnOwnDomainIsNoShortener", []sequencelint.Step{sms("See https://northwind.example/abc. Reply STOP to opt out")}, nil, "link_shortener", nil},
		{"ThreeCapitalWordsAreShouting", []sequencelint.Step{email("Hi", "This is a FREE GIFT INSIDE offer")}, nil, "all_caps", []want{{sequencelint.Warning, body}}},
		{"TwoCapitalWordsAreNot", []sequencelint.Step{email("Hi", "We work with IBM SAP teams")}, nil, "all_caps", nil},
		{"AListOfAcronymsIsNotShouting", []sequencelint.Step{email("Hi", "We work with IBM, SAP and AWS, EMEA too")}, nil, "all_caps", nil},
		{"APlaceholderBreaksARun", []sequencelint.Step{email("Hi", "FREE {{first_name|there}} GIFT NOW")}, nil, "all_caps", nil},
		{"ASingleLetterDoesNotBreakARun", []sequencelint.Step{email("Hi", "BUY A NEW CAR")}, nil, "all_caps", []want{{sequencelint.Warning, body}}},
		{"AnAllCapsSubjectIsShouting", []sequencelint.Step{email("QUICK QUESTION", "Hi")}, nil, "all_caps", []want{{sequencelint.Warning, subject}}},
		{"AOneWordCapsSubjectOfFiveLettersIsShouting", []sequencelint.Step{email("HELLO!", "Hi")}, nil, "all_caps", []want{{sequencelint.Warning, subject}}},
		{"AnAcronymSubjectIsFine", []sequencelint.Step{email("ROI?", "Hi")}, nil, "all_caps", nil},
		{"AMixedCaseSubjectIsFine", []sequencelint.Step{email("Quick question about ROI", "Hi")}, nil, "all_caps", nil},

		// The law.
		{"AnEmailWithoutSenderNameIsAnError", []sequencelint.Step{email("Hi", "Hi")}, func(c *sequencelint.Context) { c.Business.SenderName = nil }, "missing_sender_name", []want{{sequencelint.Error, "/steps/0"}}},
		{"ABlankSenderNameIsMissing", []sequencelint.Step{email("Hi", "Hi")}, func(c *sequencelint.Context) { c.Business.SenderName = ptr(" ") }, "missing_sender_name", []want{{sequencelint.Error, "/steps/0"}}},
		{"ATransactionalEmailNeedsASenderNameToo", []sequencelint.Step{email("Hi", "Hi")}, func(c *sequencelint.Context) { c.Business.SenderName = nil; c.Transactional = true }, "missing_sender_name", []want{{sequencelint.Error, "/steps/0"}}},
		{"AnSMSNeedsNoSenderName", []sequencelint.Step{sms("Hi. Reply STOP to opt out")}, func(c *sequencelint.Context) { c.Business.SenderName = nil }, "missing_sender_name", nil},
		{"NoPostalAddressForAUSRecipientIsAnError", []sequencelint.Step{email("Hi", "Hi")}, func(c *sequencelint.Context) { c.PostalAddress = "" }, "missing_postal_address", []want{{sequencelint.Error, "/steps/0"}}},
		{"NoPostalAddressForACanadianRecipientIsAnError", []sequencelint.Step{email("Hi", "Hi")}, func(c *sequencelint.Context) { c.PostalAddress = " "; c.Country = "ca" }, "missing_postal_address", []want{{sequencelint.Error, "/steps/0"}}},
		{"NoPostalAddressForAGermanRecipientIsAWarning", []sequencelint.Step{email("Hi", "Hi")}, func(c *sequencelint.Context) { c.PostalAddress = ""; c.Country = "DE" }, "missing_postal_address", []want{{sequencelint.Warning, "/steps/0"}}},
		{"NoPostalAddressForAnUnknownCountryIsAWarning", []sequencelint.Step{email("Hi", "Hi")}, func(c *sequencelint.Context) { c.PostalAddress = ""; c.Country = "" }, "missing_postal_address", []want{{sequencelint.Warning, "/steps/0"}}},
		{"ATransactionalEmailNeedsNoPostalAddress", []sequencelint.Step{email("Hi", "Hi")}, func(c *sequencelint.Context) { c.PostalAddress = ""; c.Transactional = true }, "missing_postal_address", nil},
		{"AnSMSNeedsNoPostalAddress", []sequencelint.Step{sms("Hi. Reply STOP to opt out")}, func(c *sequencelint.Context) { c.PostalAddress = "" }, "missing_postal_address", nil},
		{"AnEmailWithoutOptOutIsAWarning", []sequencelint.Step{{Step: 1, Channel: "email", Subject: "Hi", Body: "Hi"}}, nil, "missing_unsubscribe", []want{{sequencelint.Warning, body}}},
		{"OptOutWordingCounts", []sequencelint.Step{{Step: 1, Channel: "email", Subject: "Hi", Body: "Hi. If you'd rather not hear from me, just say."}}, nil, "missing_unsubscribe", nil},
		{"ATransactionalEmailNeedsNoOptOut", []sequencelint.Step{{Step: 1, Channel: "email", Subject: "Hi", Body: "Hi"}}, func(c *sequencelint.Context) { c.Transactional = true }, "missing_unsubscribe", nil},
		{"TheFirstSMSWithoutSTOPIsAWarning", []sequencelint.Step{sms("Hi")}, nil, "missing_unsubscribe", []want{{sequencelint.Warning, body}}},
		{"TheFirstSMSWithSTOPIsFine", []sequencelint.Step{sms("Hi. Reply STOP to opt out")}, nil, "missing_unsubscribe", nil},
		{"OnlyTheFirstSMSNeedsSTOP", []sequencelint.Step{sms("Hi. Reply STOP to opt out"), {Step: 2, Channel: "sms", Body: "Still there?"}}, nil, "missing_unsubscribe", nil},
		{"AWhatsAppStepNeedsNoOptOut", []sequencelint.Step{whatsapp("Hi")}, nil, "missing_unsubscribe", nil},

		// Steps.
		{"AFindingNamesItsStepAndPosition", []sequencelint.Step{email("Hi", "Hi"), {Step: 2, Channel: "sms", Body: "Hi. Reply STOP to opt out"}, {Step: 3, Channel: "email", Subject: "Hi", Body: "{{budget}}" + optOut}}, nil, "unresolved_placeholder", []want{{sequencelint.Error, "/steps/2/body"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := okContext()
			if tc.ctx != nil {
				tc.ctx(&ctx)
			}
			r := sequencelint.Lint(tc.steps, ctx)
			var got []want
			for _, f := range r.Findings {
				if f.Code == tc.code {
					got = append(got, want{f.Severity, f.Field})
					require.NotEmpty(t, f.Message)
					require.Equal(t, tc.steps[stepIndex(t, f.Field)].Step, f.Step, "the finding names its step's number")
				}
			}
			require.Equal(t, tc.want, got, "findings: %+v", r.Findings)
		})
	}
}

// stepIndex reads the position out of a finding's field.
func stepIndex(t *testing.T, field string) int {
	t.Helper()
	var i int
	_, err := fmt.Sscanf(field, "/steps/%d", &i)
	require.NoError(t, err, field)
	return i
}

func TestReport(t *testing.T) {
	t.Parallel()

	t.Run("ACleanSequenceHasNoFindings", func(t *testing.T) {
		t.Parallel()
		ctx := okContext()
		ctx.Lead = lead()
		r := sequencelint.Lint([]sequencelint.Step{
			email("Quick question, {{first_name}}", "Hi {{first_name}}, how does {{company}} handle {{custom.region}} onboarding?\n\nCheers, {{sender_name}}"),
			{Step: 2, DelayDays: 3, Channel: "sms", Body: "Hi {{first_name|there}}, did you see my email? Reply STOP to opt out"},
			{Step: 3, DelayDays: 7, Channel: "whatsapp", Body: "Hi {{first_name}}, one last note from {{company_name}}."},
		}, ctx)
		require.Empty(t, r.Findings)
		require.NotNil(t, r.Findings, "an empty report lists no findings, not null")
		require.False(t, r.Blocking())
	})

	t.Run("WarningsAndInfosDoNotBlock", func(t *testing.T) {
		t.Parallel()
		r := sequencelint.Lint([]sequencelint.Step{sms("Hi {{first_name}}, act now")}, okContext())
		require.Positive(t, r.Count(sequencelint.Warning))
		require.Positive(t, r.Count(sequencelint.Info))
		require.Zero(t, r.Count(sequencelint.Error))
		require.False(t, r.Blocking())
	})

	t.Run("AnErrorBlocks", func(t *testing.T) {
		t.Parallel()
		r := sequencelint.Lint([]sequencelint.Step{sms("Hi {{budget}}. Reply STOP to opt out")}, okContext())
		require.Equal(t, 1, r.Count(sequencelint.Error))
		require.True(t, r.Blocking())
	})

	t.Run("FindingsComeInStepOrder", func(t *testing.T) {
		t.Parallel()
		ctx := okContext()
		ctx.Business.SenderName = nil
		steps := []sequencelint.Step{email("Hi", "{{x}}"), email("Hi", "{{y}}"), email("Hi", "{{z}}")}
		for i := range steps {
			steps[i].Step = i + 1
		}
		r := sequencelint.Lint(steps, ctx)
		last := 0
		for _, f := range r.Findings {
			require.GreaterOrEqual(t, f.Step, last)
			last = f.Step
		}
		require.Equal(t, 6, r.Count(sequencelint.Error), "each email step has its placeholder and its sender name")
	})

	t.Run("NoStepsNoFindings", func(t *testing.T) {
		t.Parallel()
		r := sequencelint.Lint(nil, sequencelint.Context{})
		require.Empty(t, r.Findings)
		require.False(t, r.Blocking())
	})
}
