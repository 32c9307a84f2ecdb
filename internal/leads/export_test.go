package leads

import "github.com/google/uuid"

// OtherCampaignQuery is the query checkOtherCampaign runs for a lead with
// these values.
func OtherCampaignQuery(org, id uuid.UUID, campaign *uuid.UUID, email, phone, whatsapp *string) (string, []any) {
	return otherCampaignQuery(org, leadRow{ID: id, OrgID: org, CampaignID: campaign, Email: email, Phone: phone, WhatsApp: whatsapp})
}

// MoveSQL is the UPDATE of a bulk move_to_campaign.
var MoveSQL = moveSQL
