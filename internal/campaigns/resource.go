package campaigns

import (
	"github.com/leadpilot/leadpilot/api"
)

// Resource is c as the API returns it (openapi.yaml's Campaign): the
// handlers' response and the data of its events.
func (c Campaign) Resource() api.Campaign {
	chans := make([]api.CampaignChannel, len(c.Channels))
	for i, ch := range c.Channels {
		chans[i] = api.CampaignChannel(ch)
	}
	st := c.Settings
	days := make([]api.Weekday, len(st.SendDays))
	for i, d := range st.SendDays {
		days[i] = api.Weekday(d)
	}
	delays := st.DelayBetweenStepsDays
	if delays == nil {
		delays = []int{}
	}
	return api.Campaign{
		ID: c.ID, Name: c.Name, Description: c.Description, Source: api.CampaignSource(c.Source),
		SourceConfig: c.SourceConfig, Channels: chans, TemplateID: c.TemplateID,
		Settings: api.CampaignSettings{
			SequenceLength: st.SequenceLength, DelayBetweenStepsDays: delays, StopOnReply: st.StopOnReply,
			Timezone: st.Timezone, SendWindowStart: st.SendWindowStart, SendWindowEnd: st.SendWindowEnd, SendDays: days,
			ApprovalMode: api.ApprovalMode(st.Approval()), MaxNewLeadsPerDay: st.MaxNewLeadsPerDay, PauseReason: pauseReason(st),
		},
		LlmContext: c.LLMContext.Resource(),
		Status:     api.CampaignStatus(c.Status),
		Stats: api.CampaignStats{
			TotalLeads: c.Stats.TotalLeads, EmailsSent: c.Stats.EmailsSent, WhatsappSent: c.Stats.WhatsAppSent,
			SmsSent: c.Stats.SMSSent, RepliesReceived: c.Stats.RepliesReceived, PositiveReplies: c.Stats.PositiveReplies,
			Bounces:               c.Stats.Bounces,
			LeadsAwaitingApproval: c.Stats.LeadsAwaitingApproval, Sequences: c.Stats.Sequences, SequencesApproved: c.Stats.SequencesApproved,
			SequencesAwaitingApproval: c.Stats.Sequences - c.Stats.SequencesApproved,
		},
		StartedAt: c.StartedAt, CompletedAt: c.CompletedAt, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

func pauseReason(st Settings) *string {
	if st.PauseReason == "" {
		return nil
	}
	return &st.PauseReason
}
