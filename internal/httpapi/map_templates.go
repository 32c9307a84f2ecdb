package httpapi

import (
	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/templates"
)

func toAPITemplate(t templates.Template) api.Template {
	chans := make([]api.TemplateChannel, len(t.Channels))
	for i, c := range t.Channels {
		chans[i] = api.TemplateChannel(c)
	}
	return api.Template{
		ID: t.ID, Name: t.Name, Description: t.Description, Industry: t.Industry, UseCase: t.UseCase,
		Channels: chans, Steps: toAPISteps(t.Steps), IsPublic: t.IsPublic, IsSystem: t.IsSystem, IsOwn: t.IsOwn,
		UsageCount: t.UsageCount, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
	}
}

func toAPISteps(steps []templates.Step) []api.TemplateStep {
	out := make([]api.TemplateStep, len(steps))
	for i, s := range steps {
		out[i] = api.TemplateStep{Step: s.Step, DelayDays: s.DelayDays, Channel: api.TemplateChannel(s.Channel), Body: s.Body}
		if s.Subject != "" {
			subject := s.Subject
			out[i].Subject = &subject
		}
	}
	return out
}

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
