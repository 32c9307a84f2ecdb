package builtin_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/llm/builtin"
)

func TestExtract(t *testing.T) {
	t.Parallel()

	p := builtin.New()

	t.Run("ReadsEveryAnswerOfAnInterview", func(t *testing.T) {
		t.Parallel()
		msgs := runInterview(t, p, sampleAnswers)
		res, err := p.Extract(t.Context(), builtin.AutopilotSchema(), msgs)
		require.NoError(t, err)
		require.Equal(t, map[string]any{
			builtin.FieldTargetCustomer:      "B2B SaaS companies that sell to HR teams",
			builtin.FieldTargetCountries:     []string{"US", "DE", "FR"},
			builtin.FieldTargetTitles:        []string{"Head of People", "CHRO", "VP of HR"},
			builtin.FieldCompanySize:         "51-200",
			builtin.FieldCompetitors:         []string{"Personio", "BambooHR", "Rippling"},
			builtin.FieldBusinessDescription: "We sell an onboarding platform that gets new hires productive in half the time.",
			builtin.FieldBenefits:            "Setup takes a day, and it plugs into the HRIS they already use.",
			builtin.FieldCTA:                 "Book a 20-minute demo at https://cal.com/leadpilot/demo",
			builtin.FieldChannels:            []string{"email", "whatsapp"},
			builtin.FieldAutopilotLevel:      "approve_all",
		}, res.Fields)
		require.Equal(t, "builtin", res.Provider)
		require.Positive(t, res.Usage.PromptTokens)
	})

	t.Run("ReturnsOnlyFieldsFound", func(t *testing.T) {
		t.Parallel()
		msgs := runInterview(t, p, []string{"Dentists", "no preference", "n/a"})
		res, err := p.Extract(t.Context(), builtin.AutopilotSchema(), msgs)
		require.NoError(t, err)
		require.Equal(t, map[string]any{builtin.FieldTargetCustomer: "Dentists"}, res.Fields)
	})

	t.Run("UsesTheAutopilotSchemaWhenNoneIsGiven", func(t *testing.T) {
		t.Parallel()
		msgs := runInterview(t, p, sampleAnswers[:1])
		res, err := p.Extract(t.Context(), llm.Schema{}, msgs)
		require.NoError(t, err)
		require.Equal(t, "B2B SaaS companies that sell to HR teams", res.Fields[builtin.FieldTargetCustomer])
	})

	t.Run("LetsALaterLabelledLineCorrectAnAnswer", func(t *testing.T) {
		t.Parallel()
		msgs := runInterview(t, p, sampleAnswers)
		msgs = append(msgs, llm.Message{Role: llm.RoleUser, Content: "Company size: enterprise\n- Job titles: CFO"})
		res, err := p.Extract(t.Context(), builtin.AutopilotSchema(), msgs)
		require.NoError(t, err)
		require.Equal(t, "500+", res.Fields[builtin.FieldCompanySize])
		require.Equal(t, []string{"CFO"}, res.Fields[builtin.FieldTargetTitles])
	})

	t.Run("IgnoresLabelledLinesInAssistantMessages", func(t *testing.T) {
		t.Parallel()
		msgs := []llm.Message{{Role: llm.RoleAssistant, Content: "- Countries: Germany (DE)"}}
		res, err := p.Extract(t.Context(), builtin.AutopilotSchema(), msgs)
		require.NoError(t, err)
		require.Empty(t, res.Fields)
	})

	t.Run("FindsFieldsItDoesNotKnowFromLabelledLines", func(t *testing.T) {
		t.Parallel()
		schema := llm.Schema{Fields: []llm.Field{
			{Name: "monthly_budget", Type: llm.FieldString},
			{Name: "languages", Type: llm.FieldStringList},
			{Name: "tier", Type: llm.FieldEnum, Enum: []string{"gold", "silver"}},
			{Name: "home_country", Type: llm.FieldString},
			{Name: "missing", Type: llm.FieldString},
		}}
		msgs := []llm.Message{{Role: llm.RoleUser, Content: "Here you go:\nMonthly budget: $5k per month\nlanguages = English, Spanish and French\nTier: Gold please\nHome country: Netherlands"}}
		res, err := p.Extract(t.Context(), schema, msgs)
		require.NoError(t, err)
		require.Equal(t, map[string]any{
			"monthly_budget": "$5k per month",
			"languages":      []string{"English", "Spanish", "French"},
			"tier":           "gold",
			"home_country":   "NL",
		}, res.Fields)
	})

	t.Run("DoesNotTakeAURLForALabel", func(t *testing.T) {
		t.Parallel()
		schema := llm.Schema{Fields: []llm.Field{{Name: "https", Type: llm.FieldString}}}
		res, err := p.Extract(t.Context(), schema, []llm.Message{{Role: llm.RoleUser, Content: "https://cal.com/x"}})
		require.NoError(t, err)
		require.Empty(t, res.Fields)
	})
}

// extractOne runs Extract on a single "label: value" line for one
// autopilot field, the way a correction arrives.
func extractOne(t *testing.T, field, value string) any {
	t.Helper()
	var f llm.Field
	for _, x := range builtin.AutopilotSchema().Fields {
		if x.Name == field {
			f = x
		}
	}
	require.NotEmpty(t, f.Name)
	res, err := builtin.New().Extract(t.Context(), llm.Schema{Fields: []llm.Field{f}}, []llm.Message{{Role: llm.RoleUser, Content: field + ": " + value}})
	require.NoError(t, err)
	return res.Fields[field]
}

func TestExtractParsesAnswers(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name, field, value string
		want               any
	}{
		{"ReadsCountriesByName", builtin.FieldTargetCountries, "United States, UK and Germany", []string{"US", "GB", "DE"}},
		{"ReadsLowerCaseCodesGivenAsListItems", builtin.FieldTargetCountries, "usa, deu, fr", []string{"US", "DE", "FR"}},
		{"ReadsUpperCaseCodesInsideASentence", builtin.FieldTargetCountries, "mostly in the US and CA for now", []string{"US", "CA"}},
		{"IgnoresLowerCaseWordsThatLookLikeCodes", builtin.FieldTargetCountries, "we sell to us, it is in India", []string{"IN"}},
		{"PrefersTheLongestCountryName", builtin.FieldTargetCountries, "South Korea, North America and Latin America", []string{"KR", "US", "CA", "MX", "BR", "AR", "CL", "CO", "PE", "UY", "CR"}},
		{"ExpandsRegionsToTheirCountries", builtin.FieldTargetCountries, "DACH and the Nordics", []string{"DE", "AT", "CH", "SE", "NO", "DK", "FI", "IS"}},
		{"LeavesOutExceptedCountries", builtin.FieldTargetCountries, "Benelux except Luxembourg", []string{"BE", "NL"}},
		{"ReadsCountriesByTheirOtherNames", builtin.FieldTargetCountries, "Holland, Türkiye, UAE, Czech Republic", []string{"NL", "TR", "AE", "CZ"}},
		{"FindsNoCountryInVagueText", builtin.FieldTargetCountries, "wherever", nil},
		{"MapsSmallStartupsTo11To50", builtin.FieldCompanySize, "small startups", "11-50"},
		{"MapsTinyTeamsTo1To10", builtin.FieldCompanySize, "tiny early-stage teams", "1-10"},
		{"MapsARangeToTheBucketItOverlapsMost", builtin.FieldCompanySize, "50 to 200 employees", "51-200"},
		{"MapsADashedRange", builtin.FieldCompanySize, "10-50", "11-50"},
		{"KeepsABucketAsWritten", builtin.FieldCompanySize, "201-500", "201-500"},
		{"MapsAnApproximateNumber", builtin.FieldCompanySize, "around 30 people", "11-50"},
		{"MapsAnUpperBound", builtin.FieldCompanySize, "under 10", "1-10"},
		{"MapsALowerBoundWithThousandsSeparators", builtin.FieldCompanySize, "more than 1,000 staff", "500+"},
		{"MapsThousandsWrittenWithK", builtin.FieldCompanySize, "2k+", "500+"},
		{"MapsEnterpriseTo500Plus", builtin.FieldCompanySize, "enterprise", "500+"},
		{"MapsMidMarketTo51To200", builtin.FieldCompanySize, "mid-market companies", "51-200"},
		{"TakesTheFirstSizeWordMentioned", builtin.FieldCompanySize, "small to mid-size", "11-50"},
		{"FindsNoSizeInAny", builtin.FieldCompanySize, "any", nil},
		{"ReadsFullAutopilot", builtin.FieldAutopilotLevel, "Full autopilot please", "full_autopilot"},
		{"ReadsTheLevelByNumber", builtin.FieldAutopilotLevel, "2", "approve_list"},
		{"ReadsTheLevelByOption", builtin.FieldAutopilotLevel, "option 3", "approve_all"},
		{"ReadsApprovingLeadsAsApproveList", builtin.FieldAutopilotLevel, "I want to approve the leads first", "approve_list"},
		{"ReadsReviewingEmailsAsApproveAll", builtin.FieldAutopilotLevel, "I'd like to review the leads and the emails", "approve_all"},
		{"ReadsNoApprovalAsFullAutopilot", builtin.FieldAutopilotLevel, "no approvals needed, just send", "full_autopilot"},
		{"AcceptsTheEnumValueItself", builtin.FieldAutopilotLevel, "approve_list", "approve_list"},
		{"ReadsTwoChannels", builtin.FieldChannels, "email and WhatsApp", []string{"email", "whatsapp"}},
		{"ReadsAllThreeChannels", builtin.FieldChannels, "all three", []string{"email", "whatsapp", "sms"}},
		{"ReadsAllChannelsButOne", builtin.FieldChannels, "everything except SMS", []string{"email", "whatsapp"}},
		{"ReadsTextsAsSMS", builtin.FieldChannels, "texts only", []string{"sms"}},
		{"LeavesOutANegatedChannel", builtin.FieldChannels, "E-mail, no WhatsApp", []string{"email"}},
		{"ReadsAMixOfNamedChannelsAsJustThose", builtin.FieldChannels, "a mix of email and WhatsApp", []string{"email", "whatsapp"}},
		{"SplitsTitlesOnCommasAndAnd", builtin.FieldTargetTitles, "CEO, CTO and VP of Engineering", []string{"CEO", "CTO", "VP of Engineering"}},
		{"SplitsTitlesOnSlashes", builtin.FieldTargetTitles, "Founder/CEO", []string{"Founder", "CEO"}},
		{"DropsFillerWordsAndDuplicates", builtin.FieldTargetTitles, "mostly CTOs or ctos, etc.", []string{"CTOs"}},
		{"DropsATrailingEtc", builtin.FieldCompetitors, "Apollo; Outreach; Lemlist etc", []string{"Apollo", "Outreach", "Lemlist"}},
		{"ReadsNoneAsNoCompetitors", builtin.FieldCompetitors, "none", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := extractOne(t, tt.field, tt.value)
			if tt.want == nil {
				require.Nil(t, got)
				return
			}
			require.Equal(t, tt.want, got)
		})
	}

	t.Run("SplitsABulletListOverSeveralLines", func(t *testing.T) {
		t.Parallel()
		msgs := runInterview(t, builtin.New(), sampleAnswers[:2])
		msgs = append(msgs, llm.Message{Role: llm.RoleAssistant, Content: builtin.AutopilotQuestions[2].Text},
			llm.Message{Role: llm.RoleUser, Content: "- Head of Sales\n- Head of Marketing\n1. Founder"})
		res, err := builtin.New().Extract(t.Context(), builtin.AutopilotSchema(), msgs)
		require.NoError(t, err)
		require.Equal(t, []string{"Head of Sales", "Head of Marketing", "Founder"}, res.Fields[builtin.FieldTargetTitles])
	})
}

func TestAutopilotQuestions(t *testing.T) {
	t.Parallel()

	t.Run("CoverEveryFieldOfTheSchemaOnceInOrder", func(t *testing.T) {
		t.Parallel()
		schema := builtin.AutopilotSchema()
		require.Len(t, builtin.AutopilotQuestions, len(schema.Fields))
		for i, q := range builtin.AutopilotQuestions {
			require.Equal(t, schema.Fields[i].Name, q.Field)
			require.NotEmpty(t, q.Label)
			for j, other := range builtin.AutopilotQuestions {
				if i != j {
					require.NotContains(t, other.Text, q.Text, "question texts must not contain each other")
				}
			}
		}
		require.Equal(t, builtin.FieldAutopilotLevel, builtin.AutopilotQuestions[len(builtin.AutopilotQuestions)-1].Field, "the level is asked last, as in the spec")
	})
}
