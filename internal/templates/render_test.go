package templates_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/orgs"
	"github.com/leadpilot/leadpilot/internal/templates"
)

func ptr[T any](v T) *T { return &v }

func TestRenderSteps(t *testing.T) {
	t.Parallel()
	lead := templates.Lead{FirstName: "Ada", LastName: "Lovelace", Company: "Engines Ltd", JobTitle: "CTO",
		CustomFields: map[string]string{"region": "EMEA", "blank": "  ", "bad key": "x"}}
	biz := orgs.BusinessContext{CompanyName: ptr("LeadPilot"), SenderName: ptr("Sam"), CTA: ptr("Book a call?"),
		KeyPainPoints: []string{"slow onboarding", "churn"}}
	values := templates.Values(lead, biz)

	cases := []struct {
		name       string
		text       string
		want       string
		unresolved []string
	}{
		{"FillsLeadFields", "Hi {{first_name}} at {{company}} ({{job_title}})", "Hi Ada at Engines Ltd (CTO)", nil},
		{"FillsFullName", "{{full_name}}", "Ada Lovelace", nil},
		{"FillsCustomFields", "Region {{custom.region}}", "Region EMEA", nil},
		{"FillsTheBusinessContext", "{{sender_name}} of {{company_name}}: {{cta}}", "Sam of LeadPilot: Book a call?", nil},
		{"FillsThePainPointFromTheFirstOfTheList", "{{pain_point}}", "slow onboarding", nil},
		{"UsesTheFallbackForAMissingValue", "Hi {{city|friend}}", "Hi friend", nil},
		{"UsesTheFallbackForABlankCustomField", "{{custom.blank|none}}", "none", nil},
		{"ReportsAMissingValueWithoutFallback", "Hi {{nickname}}, {{custom.team}}", "Hi , ", []string{"nickname", "custom.team"}},
		{"ACustomKeyThatCannotBeANameIsNotOffered", "{{custom.region}}", "EMEA", nil},
		{"AnEmptyFallbackIsNotUnresolved", "Hi{{sender_title|}}.", "Hi.", nil},
		{"EscapedBracesStayText", `\{{first_name}}`, "{{first_name}}", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, unresolved := templates.RenderSteps([]templates.Step{{Step: 1, Channel: "whatsapp", Body: tc.text}}, values)
			require.Equal(t, tc.want, out[0].Body)
			if tc.unresolved == nil {
				tc.unresolved = []string{}
			}
			require.Equal(t, tc.unresolved, unresolved)
		})
	}

	t.Run("ListsEachUnresolvedNameOnceAcrossSteps", func(t *testing.T) {
		t.Parallel()
		out, unresolved := templates.RenderSteps([]templates.Step{
			{Step: 1, Channel: "email", Subject: "{{topic}} for {{first_name}}", Body: "{{metric}} {{topic}}"},
			{Step: 2, Channel: "sms", Body: "{{metric}} {{goal}}"},
		}, values)
		require.Equal(t, " for Ada", out[0].Subject)
		require.Equal(t, []string{"topic", "metric", "goal"}, unresolved)
	})
}
