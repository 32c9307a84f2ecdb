package httpapi

import (
	"time"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/auth"
	"github.com/leadpilot/leadpilot/internal/orgs"
)

func toAPIOrganization(o orgs.Organization) api.Organization {
	st := o.Settings
	days := make([]api.Weekday, len(st.SendDays))
	for i, d := range st.SendDays {
		days[i] = api.Weekday(d)
	}
	return api.Organization{
		ID: o.ID, Name: o.Name, Slug: o.Slug,
		BusinessContext: toAPIBusinessContext(o.BusinessContext),
		Settings: api.OrgSettings{
			Timezone: &st.Timezone, DefaultSequenceLength: &st.DefaultSequenceLength,
			SendWindowStart: &st.SendWindowStart, SendWindowEnd: &st.SendWindowEnd, SendDays: &days,
			DefaultCountry: nonEmpty(st.DefaultCountry),
		},
		SubscriptionTier:   api.OrganizationSubscriptionTier(o.SubscriptionTier),
		SubscriptionStatus: o.SubscriptionStatus,
		CreatedAt:          o.CreatedAt, UpdatedAt: o.UpdatedAt,
	}
}

// toAPIBusinessContext and businessContextFromAPI map a business context
// both ways: the organisation's, and a campaign's llm_context override.
func toAPIBusinessContext(bc orgs.BusinessContext) api.BusinessContext {
	return api.BusinessContext{
		CompanyName: bc.CompanyName, Industry: bc.Industry, TargetAudience: bc.TargetAudience,
		ValueProposition: bc.ValueProposition, Tone: bc.Tone, Cta: bc.CTA, SenderName: bc.SenderName,
		SenderTitle: bc.SenderTitle, KeyPainPoints: nonNilSlice(bc.KeyPainPoints), CaseStudies: nonNilSlice(bc.CaseStudies),
	}
}

func businessContextFromAPI(bc api.BusinessContext) orgs.BusinessContext {
	out := orgs.BusinessContext{
		CompanyName: bc.CompanyName, Industry: bc.Industry, TargetAudience: bc.TargetAudience,
		ValueProposition: bc.ValueProposition, Tone: bc.Tone, CTA: bc.Cta, SenderName: bc.SenderName,
		SenderTitle: bc.SenderTitle,
	}
	if bc.KeyPainPoints != nil {
		out.KeyPainPoints = *bc.KeyPainPoints
	}
	if bc.CaseStudies != nil {
		out.CaseStudies = *bc.CaseStudies
	}
	return out
}

func nonNilSlice(s []string) *[]string {
	if s == nil {
		return nil
	}
	return &s
}

func orgUpdateFromAPI(b api.OrganizationUpdate) orgs.Update {
	u := orgs.Update{Name: b.Name}
	if bc := b.BusinessContext; bc != nil {
		v := businessContextFromAPI(*bc)
		u.BusinessContext = &v
	}
	if st := b.Settings; st != nil {
		p := &orgs.SettingsPatch{
			Timezone: st.Timezone, DefaultSequenceLength: st.DefaultSequenceLength,
			SendWindowStart: st.SendWindowStart, SendWindowEnd: st.SendWindowEnd, DefaultCountry: st.DefaultCountry,
		}
		if st.SendDays != nil {
			days := make([]string, len(*st.SendDays))
			for i, d := range *st.SendDays {
				days[i] = string(d)
			}
			p.SendDays = &days
		}
		u.Settings = p
	}
	return u
}

func toAPIUser(u auth.User) api.User {
	return api.User{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerifiedAt != nil, EmailVerifiedAt: u.EmailVerifiedAt,
		FullName: u.FullName, CreatedAt: u.CreatedAt}
}

func toAPISession(s auth.Session) api.AuthSession {
	return api.AuthSession{
		AccessToken: s.AccessToken, RefreshToken: s.RefreshToken, TokenType: api.AuthSessionTokenTypeBearer,
		ExpiresIn: int(s.ExpiresIn / time.Second), User: toAPIUser(s.User),
		Organization: toAPIOrganization(s.Org), Role: api.Role(s.Role),
	}
}

func toAPIMember(m orgs.Member) api.Member {
	return api.Member{UserID: m.UserID, Email: m.Email, FullName: m.FullName, Role: api.Role(m.Role), JoinedAt: m.JoinedAt}
}

func toAPIInvite(i orgs.Invite, now time.Time) api.Invite {
	return api.Invite{
		ID: i.ID, Email: i.Email, Role: api.Role(i.Role), Status: api.InviteStatus(i.Status(now)),
		InvitedBy: i.InvitedBy, ExpiresAt: i.ExpiresAt, AcceptedAt: i.AcceptedAt, CreatedAt: i.CreatedAt,
	}
}

func toAPIKey(k orgs.APIKey) api.APIKey {
	return api.APIKey{ID: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}
