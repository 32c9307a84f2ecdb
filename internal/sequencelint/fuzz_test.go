package sequencelint_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/leadpilot/leadpilot/internal/orgs"
	"github.com/leadpilot/leadpilot/internal/sequencelint"
	"github.com/leadpilot/leadpilot/internal/templates"
)

var (
	codePattern  = regexp.MustCompile(`^[a-z]+(_[a-z0-9]+)*$`)
	fieldPattern = regexp.MustCompile(`^/steps/(\d+)(/(subject|body|channel))?$`)
)

// FuzzLint checks that Lint never panics whatever the texts, and that every
// finding is well formed: it points at a step that exists, names that
// step's number, has a snake_case code, a known severity and a message
// that is valid UTF-8; and the report blocks exactly when it has an error.
func FuzzLint(f *testing.F) {
	f.Add("Hi {{first_name}}", "Body {{company|you}} https://bit.ly/x", "email", "US", "", "Sam", true, false)
	f.Add("", "FREE GIFT NOW 😀€", "sms", "ca", "1 Main St", "", false, true)
	f.Add("{{", "}} \\{{x}}", "whatsapp", "", "", "", false, false)
	f.Add("QUICK", strings.Repeat("€", 200), "fax", "de", "x", " ", true, true)
	f.Fuzz(func(t *testing.T, subject, body, channel, country, address, sender string, withLead, transactional bool) {
		ctx := sequencelint.Context{
			Business:      orgs.BusinessContext{SenderName: &sender, CTA: &body},
			PostalAddress: address, Country: country, Transactional: transactional,
		}
		if withLead {
			ctx.Lead = &templates.Lead{FirstName: subject, CustomFields: map[string]string{"a": body}}
		}
		steps := []sequencelint.Step{
			{Step: 1, Channel: channel, Subject: subject, Body: body},
			{Step: 7, DelayDays: 2, Channel: "sms", Subject: body, Body: subject},
			{Step: 3, DelayDays: 4, Channel: "email", Subject: body, Body: body},
		}
		r := sequencelint.Lint(steps, ctx)
		hasError := false
		for _, fd := range r.Findings {
			m := fieldPattern.FindStringSubmatch(fd.Field)
			if m == nil {
				t.Fatalf("field %q is no pointer into a step", fd.Field)
			}
			i, _ := strconv.Atoi(m[1])
			if i >= len(steps) || steps[i].Step != fd.Step {
				t.Fatalf("finding %+v does not reference an existing step", fd)
			}
			if !codePattern.MatchString(fd.Code) {
				t.Fatalf("code %q is not snake_case", fd.Code)
			}
			switch fd.Severity {
			case sequencelint.Error:
				hasError = true
			case sequencelint.Warning, sequencelint.Info:
			default:
				t.Fatalf("unknown severity %q", fd.Severity)
			}
			if fd.Message == "" || !utf8.ValidString(fd.Message) && utf8.ValidString(subject+body+channel) {
				t.Fatalf("message %q is empty or not UTF-8", fd.Message)
			}
		}
		if r.Blocking() != hasError {
			t.Fatalf("Blocking() = %v with errors %v", r.Blocking(), hasError)
		}
	})
}
