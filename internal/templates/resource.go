package templates

import (
	"github.com/leadpilot/leadpilot/api"
)

// Resource is t as the API returns it (openapi.yaml's Template): the
// handlers' response and the data of its events.
func (t Template) Resource() api.Template {
	chans := make([]api.TemplateChannel, len(t.Channels))
	for i, c := range t.Channels {
		chans[i] = api.TemplateChannel(c)
	}
	return api.Template{
		ID: t.ID, Name: t.Name, Description: t.Description, Industry: t.Industry, UseCase: t.UseCase,
		Channels: chans, Steps: ResourceSteps(t.Steps), IsPublic: t.IsPublic, IsSystem: t.IsSystem, IsOwn: t.IsOwn,
		UsageCount: t.UsageCount, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
	}
}

// ResourceSteps is steps as the API returns them.
func ResourceSteps(steps []Step) []api.TemplateStep {
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
