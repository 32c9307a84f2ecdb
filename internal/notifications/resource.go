package notifications

import (
	"github.com/leadpilot/leadpilot/api"
)

// Resource is n as the API returns it (openapi.yaml's Notification).
func (n Notification) Resource() api.Notification {
	return api.Notification{
		ID: n.ID, Type: api.NotificationType(n.Type), Title: n.Title, Message: n.Message, CampaignID: n.CampaignID, LeadID: n.LeadID,
		ActionURL: n.ActionURL, Broadcast: n.Broadcast, IsRead: n.IsRead, ReadAt: n.ReadAt, CreatedAt: n.CreatedAt,
	}
}
