package templates_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/templates"
)

func email(delay int, subject, body string) templates.StepInput {
	return templates.StepInput{DelayDays: delay, Channel: "email", Subject: subject, Body: body}
}

func TestValidate(t *testing.T) {
	t.Parallel()

	t.Run("AcceptsAValidTemplateAndNumbersItsSteps", func(t *testing.T) {
		t.Parallel()
		v, err := templates.Validate(templates.Input{Name: "  Mixed  ", Steps: []templates.StepInput{
			{DelayDays: 0, Channel: "sms", Body: "Hi {{first_name|there}}"},
			email(0, "Re {{company}}", "Hello {{custom.region}}"),
			{DelayDays: 4, Channel: "whatsapp", Body: "Ping"},
		}})
		require.NoError(t, err)
		require.Equal(t, "Mixed", v.Name)
		require.Equal(t, []string{"email", "whatsapp", "sms"}, v.Channels, "channels come from the steps, in canonical order")
		for i, s := range v.Steps {
			require.Equal(t, i+1, s.Step)
		}
	})

	ok := email(0, "Hi", "Body")
	cases := []struct {
		name  string
		in    templates.Input
		field string
		code  string
	}{
		{"ABlankNameIsRejected", templates.Input{Name: " ", Steps: []templates.StepInput{ok}}, "/name", "required"},
		{"ALongNameIsRejected", templates.Input{Name: strings.Repeat("n", 201), Steps: []templates.StepInput{ok}}, "/name", "too_long"},
		{"NoStepsIsRejected", templates.Input{Name: "x"}, "/steps", "required"},
		{"ElevenStepsIsRejected", templates.Input{Name: "x", Steps: make([]templates.StepInput, 11)}, "/steps", "too_many"},
		{"ANegativeDelayIsRejected", templates.Input{Name: "x", Steps: []templates.StepInput{email(-1, "s", "b")}}, "/steps/0/delay_days", "out_of_range"},
		{"ADecreasingDelayIsRejected", templates.Input{Name: "x", Steps: []templates.StepInput{email(3, "s", "b"), email(2, "s", "b")}}, "/steps/1/delay_days", "out_of_order"},
		{"AnUnknownChannelIsRejected", templates.Input{Name: "x", Steps: []templates.StepInput{{Channel: "fax", Body: "b"}}}, "/steps/0/channel", "invalid"},
		{"AnEmailStepWithoutSubjectIsRejected", templates.Input{Name: "x", Steps: []templates.StepInput{ok, email(1, " ", "b")}}, "/steps/1/subject", "required"},
		{"AnSMSStepWithASubjectIsRejected", templates.Input{Name: "x", Steps: []templates.StepInput{{Channel: "sms", Subject: "s", Body: "b"}}}, "/steps/0/subject", "not_allowed"},
		{"ABlankBodyIsRejected", templates.Input{Name: "x", Steps: []templates.StepInput{email(0, "s", "  ")}}, "/steps/0/body", "required"},
		{"AnUnterminatedPlaceholderInABodyIsRejected", templates.Input{Name: "x", Steps: []templates.StepInput{ok, email(1, "s", "Hi {{first_name")}}, "/steps/1/body", "placeholder_syntax"},
		{"AStrayCloseInASubjectIsRejected", templates.Input{Name: "x", Steps: []templates.StepInput{email(0, "oops }}", "b")}}, "/steps/0/subject", "placeholder_syntax"},
		{"ASpaceInAPlaceholderNameIsRejected", templates.Input{Name: "x", Steps: []templates.StepInput{{Channel: "whatsapp", Body: "{{first name}}"}}}, "/steps/0/body", "placeholder_syntax"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := templates.Validate(tc.in)
			fe, ok := fault.As(err)
			require.True(t, ok, "a fault, got %v", err)
			require.Equal(t, fault.KindInvalid, fe.Kind)
			var codes []string
			for _, f := range fe.Fields {
				if f.Field == tc.field {
					codes = append(codes, f.Code)
				}
			}
			require.Contains(t, codes, tc.code, "fields: %+v", fe.Fields)
		})
	}

	t.Run("ReportsEveryProblemAtOnce", func(t *testing.T) {
		t.Parallel()
		_, err := templates.Validate(templates.Input{Steps: []templates.StepInput{email(-2, "", "{{")}})
		fe, ok := fault.As(err)
		require.True(t, ok)
		var fields []string
		for _, f := range fe.Fields {
			fields = append(fields, f.Field)
		}
		require.Equal(t, []string{"/name", "/steps/0/delay_days", "/steps/0/subject", "/steps/0/body"}, fields)
	})
}
