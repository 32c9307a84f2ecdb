package httpapi

import (
	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/templates"
)

func stepsFromAPI(steps []api.TemplateStepInput) []templates.StepInput {
	out := make([]templates.StepInput, len(steps))
	for i, s := range steps {
		out[i] = templates.StepInput{DelayDays: s.DelayDays, Channel: string(s.Channel), Subject: textOrEmpty(s.Subject), Body: s.Body}
	}
	return out
}

func leadFromAPI(l api.PreviewLead) templates.Lead {
	out := templates.Lead{
		FirstName: textOrEmpty(l.FirstName), LastName: textOrEmpty(l.LastName), Email: textOrEmpty(l.Email), Phone: textOrEmpty(l.Phone),
		Company: textOrEmpty(l.Company), JobTitle: textOrEmpty(l.JobTitle), Website: textOrEmpty(l.Website), LinkedInURL: textOrEmpty(l.LinkedinURL),
		City: textOrEmpty(l.City), State: textOrEmpty(l.State), Country: textOrEmpty(l.Country),
	}
	if l.CustomFields != nil {
		out.CustomFields = *l.CustomFields
	}
	return out
}

// textOrEmpty reads an optional text field, absent being empty.
func textOrEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
