package sending

import (
	"github.com/leadpilot/leadpilot/api"
)

// The API's views of the engine's types (openapi.yaml): the handlers'
// responses and the data of the message.* events. The only file of the
// package that knows the API's types.

// Resource is m as the API returns it (GET /v1/messages, and the data of
// the message.* events).
func (m Message) Resource() api.Message {
	out := api.Message{
		ID: m.ID, CampaignID: m.CampaignID, SequenceID: m.SequenceID, LeadID: m.LeadID, Channel: api.MessageChannel(m.Channel),
		EmailAccountID: m.EmailAccountID, Step: m.Step, Subject: m.Subject, BodyText: m.BodyText, MessageID: m.MessageID,
		InReplyTo: m.InReplyTo, References: m.References, ScheduledFor: m.ScheduledFor, Status: api.MessageStatus(m.Status),
		DeliveryUncertain: m.DeliveryUncertain, Attempts: m.Attempts, LastError: m.LastError, SentAt: m.SentAt,
		BouncedAt: m.BouncedAt, ProviderMessageID: m.ProviderMessageID, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt,
	}
	if out.References == nil {
		out.References = []string{}
	}
	if m.BlockedReason != nil {
		r := api.MessageBlockedReason(*m.BlockedReason)
		out.BlockedReason = &r
	}
	return out
}

// Resource is m as the API returns it.
func (m Mailbox) Resource() api.CampaignEmailAccount {
	return api.CampaignEmailAccount{EmailAccountID: m.ID, EmailAddress: m.Address, DisplayName: m.DisplayName, IsActive: m.IsActive, AddedAt: m.AddedAt}
}

// Resource is l as the API returns it.
func (l LeadSchedule) Resource() api.CampaignScheduleLead {
	out := api.CampaignScheduleLead{LeadID: l.LeadID, SequenceID: l.SequenceID, Steps: make([]api.CampaignScheduleStep, len(l.Steps))}
	for i, s := range l.Steps {
		st := api.CampaignScheduleStep{Step: s.Step, Channel: api.CampaignScheduleStepChannel(s.Channel), Status: api.CampaignScheduleStepStatus(s.Status),
			ScheduledFor: s.ScheduledFor, SentAt: s.SentAt, EmailAccountID: s.EmailAccountID, MessageID: s.MessageID}
		if s.BlockedReason != nil {
			r := api.CampaignScheduleStepBlockedReason(*s.BlockedReason)
			st.BlockedReason = &r
		}
		out.Steps[i] = st
	}
	return out
}
