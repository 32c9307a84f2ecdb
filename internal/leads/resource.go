package leads

import (
	"github.com/leadpilot/leadpilot/api"
)

// Resource is l as the API returns it (openapi.yaml's Lead): the
// handlers' response and the data of its events.
func (l Lead) Resource() api.Lead {
	return api.Lead{
		ID: l.ID, CampaignID: l.CampaignID, Email: l.Email, Phone: l.Phone, Whatsapp: l.WhatsApp,
		FirstName: l.FirstName, LastName: l.LastName, FullName: l.FullName, Company: l.Company, JobTitle: l.JobTitle,
		LinkedinURL: l.LinkedInURL, Website: l.Website, City: l.City, State: l.State, Country: l.Country, Timezone: l.Timezone,
		CustomFields: l.CustomFields, EnrichmentData: l.EnrichmentData, Status: api.LeadStatus(l.Status),
		IsApproved: l.IsApproved, ApprovedAt: l.ApprovedAt, ApprovedBy: l.ApprovedBy, Source: l.Source, UnsubscribedAt: l.UnsubscribedAt,
		RepliedAt: l.RepliedAt, LastContactedAt: l.LastContactedAt, CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt,
	}
}
