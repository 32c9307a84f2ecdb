package templates_test

import (
	"slices"
	"testing"

	"github.com/leadpilot/leadpilot/internal/placeholder"
	"github.com/leadpilot/leadpilot/internal/templates"
)

// FuzzValidate checks that whatever Validate accepts renders: each
// unresolved name is a placeholder of the texts, and a text with every
// value given renders with nothing unresolved.
func FuzzValidate(f *testing.F) {
	f.Add("Hi {{first_name}}", "Body {{company|you}}", 0, 3)
	f.Add("{{", "}}", 1, 0)
	f.Add(`\{{x}}`, "{{custom.a.b}} {{x|}}", 0, 0)
	f.Fuzz(func(t *testing.T, subject, body string, d1, d2 int) {
		v, err := templates.Validate(templates.Input{Name: "f", Steps: []templates.StepInput{
			{DelayDays: d1, Channel: "email", Subject: subject, Body: body},
			{DelayDays: d2, Channel: "sms", Body: body},
		}})
		if err != nil {
			return
		}
		if d2 < d1 || d1 < 0 {
			t.Fatalf("accepted delays %d, %d", d1, d2)
		}
		var names []string
		values := map[string]string{}
		for _, s := range v.Steps {
			for _, text := range []string{s.Subject, s.Body} {
				for _, n := range placeholder.MustParse(text).Names() {
					names = append(names, n)
					values[n] = "v"
				}
			}
		}
		_, unresolved := templates.RenderSteps(v.Steps, nil)
		for _, u := range unresolved {
			if !slices.Contains(names, u) {
				t.Fatalf("unresolved %q is no placeholder of the texts", u)
			}
		}
		if _, unresolved := templates.RenderSteps(v.Steps, values); len(unresolved) > 0 {
			t.Fatalf("unresolved %v with every value given", unresolved)
		}
	})
}
