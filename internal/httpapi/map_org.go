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
		BusinessContext: o.BusinessContext.Resource(),
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

// businessContextFromAPI reads a business context from the API: the
// organisation's, or a campaign's llm_context override.
func businessContextFromAPI(bc api.BusinessContext) orgs.BusinessContext {
	out := orgs.BusinessContext{
		CompanyName: bc.CompanyName, Industry: bc.Industry, TargetAudience: bc.TargetAudience,
		ValueProposition: bc.ValueProposition, Tone: bc.Tone, CTA: bc.Cta, SenderName: bc.SenderName,
		SenderTitle: bc.SenderTitle, PostalAddress: bc.PostalAddress,
	}
	if bc.KeyPainPoints != nil {
		out.KeyPainPoints = *bc.KeyPainPoints
	}
	if bc.CaseStudies != nil {
		out.CaseStudies = *bc.CaseStudies
	}
	return out
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

func toAPIInvite(i orgs.Invite, now time.Time) api.Invite {
	return api.Invite{
		ID: i.ID, Email: i.Email, Role: api.Role(i.Role), Status: api.InviteStatus(i.Status(now)),
		InvitedBy: i.InvitedBy, ExpiresAt: i.ExpiresAt, AcceptedAt: i.AcceptedAt, CreatedAt: i.CreatedAt,
	}
}

func toAPIKey(k orgs.APIKey) api.APIKey {
	return api.APIKey{ID: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}
