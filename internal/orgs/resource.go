package orgs

import (
	"github.com/leadpilot/leadpilot/api"
)

// Resource is m as the API returns it (openapi.yaml's Member): the
// handlers' response and the data of its events.
func (m Member) Resource() api.Member {
	return api.Member{UserID: m.UserID, Email: m.Email, FullName: m.FullName, Role: api.Role(m.Role), JoinedAt: m.JoinedAt}
}

// Resource is bc as the API returns it: the organisation's business
// context, and a campaign's llm_context override.
func (bc BusinessContext) Resource() api.BusinessContext {
	return api.BusinessContext{
		CompanyName: bc.CompanyName, Industry: bc.Industry, TargetAudience: bc.TargetAudience,
		ValueProposition: bc.ValueProposition, Tone: bc.Tone, Cta: bc.CTA, SenderName: bc.SenderName,
		SenderTitle: bc.SenderTitle, PostalAddress: bc.PostalAddress, KeyPainPoints: nonNilSlice(bc.KeyPainPoints), CaseStudies: nonNilSlice(bc.CaseStudies),
	}
}

func nonNilSlice(s []string) *[]string {
	if s == nil {
		return nil
	}
	return &s
}
