package templates

import (
	"fmt"
	"slices"
	"strings"

	"github.com/leadpilot/leadpilot/internal/orgs"
	"github.com/leadpilot/leadpilot/internal/placeholder"
)

// Lead is the lead data a template is rendered for: the lead's columns and
// its custom fields, which templates read as {{custom.<key>}}.
type Lead struct {
	FirstName    string
	LastName     string
	Email        string
	Phone        string
	Company      string
	JobTitle     string
	Website      string
	LinkedInURL  string
	City         string
	State        string
	Country      string
	CustomFields map[string]string
}

// SampleLead is what a preview renders for when no lead is given.
func SampleLead() Lead {
	return Lead{
		FirstName: "Alex", LastName: "Morgan", Email: "alex.morgan@example.com", Phone: "+14155550123",
		Company: "Acme Analytics", JobTitle: "Head of Operations", Website: "https://acme.example",
		City: "Austin", State: "TX", Country: "United States",
	}
}

// Values are the placeholder values for lead l written on behalf of an
// organisation with business context b: the lead's fields by column name
// (first_name, company, job_title, ...), full_name, custom.<key> for each
// custom field, and the sender's side (company_name, sender_name,
// sender_title, sender_company, postal_address, cta, value_proposition,
// target_audience, industry, tone, pain_point and case_study — the first of each list).
// Blank values are left out, so a placeholder with no value falls back or
// is reported unresolved.
func Values(l Lead, b orgs.BusinessContext) map[string]string {
	v := map[string]string{}
	set := func(name, value string) {
		if value = strings.TrimSpace(value); value != "" {
			v[name] = value
		}
	}
	set("first_name", l.FirstName)
	set("last_name", l.LastName)
	set("full_name", strings.TrimSpace(l.FirstName+" "+l.LastName))
	set("email", l.Email)
	set("phone", l.Phone)
	set("company", l.Company)
	set("job_title", l.JobTitle)
	set("website", l.Website)
	set("linkedin_url", l.LinkedInURL)
	set("city", l.City)
	set("state", l.State)
	set("country", l.Country)
	for k, val := range l.CustomFields {
		if placeholder.IsName(k) {
			set("custom."+k, val)
		}
	}

	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	first := func(list []string) string {
		if len(list) == 0 {
			return ""
		}
		return list[0]
	}
	set("company_name", str(b.CompanyName))
	set("sender_company", str(b.CompanyName))
	set("sender_name", str(b.SenderName))
	set("sender_title", str(b.SenderTitle))
	set("postal_address", str(b.PostalAddress))
	set("cta", str(b.CTA))
	set("value_proposition", str(b.ValueProposition))
	set("target_audience", str(b.TargetAudience))
	set("industry", str(b.Industry))
	set("tone", str(b.Tone))
	set("pain_point", first(b.KeyPainPoints))
	set("case_study", first(b.CaseStudies))
	return v
}

// RenderSteps fills every step's subject and body from values. Unresolved
// lists each placeholder that had neither a value nor a fallback, once, in
// order of first appearance across the steps. Steps must have passed
// Validate (their texts parse); a text that does not is left as written
// and counts as nothing unresolved.
func RenderSteps(steps []Step, values map[string]string) (out []Step, unresolved []string) {
	render := func(text string) string {
		t, err := placeholder.Parse(text)
		if err != nil {
			return text
		}
		s, missing := t.Render(values)
		for _, m := range missing {
			if !slices.Contains(unresolved, m) {
				unresolved = append(unresolved, m)
			}
		}
		return s
	}
	out = make([]Step, len(steps))
	for i, s := range steps {
		s.Subject = render(s.Subject)
		s.Body = render(s.Body)
		out[i] = s
	}
	if unresolved == nil {
		unresolved = []string{}
	}
	return out, unresolved
}

// LeadColumns are the leads columns a LeadRow scans, unqualified.
const LeadColumns = "first_name, last_name, email, phone, company, job_title, website, linkedin_url, city, state, country, custom_fields"

// LeadRow is the placeholder columns of a leads row as a query scans them
// (LeadColumns); embed it in a row type of your own. Lead turns it into the
// values placeholders read.
type LeadRow struct {
	FirstName    *string        `bun:"first_name"`
	LastName     *string        `bun:"last_name"`
	Email        *string        `bun:"email"`
	Phone        *string        `bun:"phone"`
	Company      *string        `bun:"company"`
	JobTitle     *string        `bun:"job_title"`
	Website      *string        `bun:"website"`
	LinkedInURL  *string        `bun:"linkedin_url"`
	City         *string        `bun:"city"`
	State        *string        `bun:"state"`
	Country      *string        `bun:"country"`
	CustomFields map[string]any `bun:"custom_fields,type:jsonb"`
}

// Lead is r as placeholder values: blanks for NULLs, custom fields as text.
func (r LeadRow) Lead() Lead {
	s := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	custom := make(map[string]string, len(r.CustomFields))
	for k, v := range r.CustomFields {
		custom[k] = fmt.Sprint(v)
	}
	return Lead{
		FirstName: s(r.FirstName), LastName: s(r.LastName), Email: s(r.Email), Phone: s(r.Phone), Company: s(r.Company),
		JobTitle: s(r.JobTitle), Website: s(r.Website), LinkedInURL: s(r.LinkedInURL), City: s(r.City), State: s(r.State),
		Country: s(r.Country), CustomFields: custom,
	}
}
