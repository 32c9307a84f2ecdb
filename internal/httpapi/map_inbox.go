package httpapi

import (
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/inbox"
)

func toAPIInboxThread(t inbox.Thread) api.InboxThread {
	out := api.InboxThread{
		ID: t.ID, CampaignID: t.CampaignID, EmailAccountID: t.EmailAccountID, Channel: api.InboxThreadChannel(t.Channel),
		Subject: t.Subject, Snippet: t.Snippet, MessageCount: t.MessageCount, InboundCount: t.InboundCount, UnreadCount: t.UnreadCount,
		IsStarred: t.IsStarred, IsArchived: t.IsArchived, LastMessageAt: t.LastMessageAt, LastInboundAt: t.LastInboundAt,
		Lead: api.InboxThreadLead{ID: t.Lead.ID, Email: t.Lead.Email, FullName: t.Lead.FullName, Company: t.Lead.Company, Status: t.Lead.Status},
	}
	if t.Classification != nil {
		c := api.InboxThreadClassification(*t.Classification)
		out.Classification = &c
	}
	return out
}

func toAPIInboxMessage(m inbox.Message) api.InboxMessage {
	out := api.InboxMessage{
		ID: m.ID, ThreadID: m.ThreadID, LeadID: m.LeadID, CampaignID: m.CampaignID, EmailAccountID: m.EmailAccountID,
		OutboundMessageID: m.OutboundMessageID, Channel: api.InboxMessageChannel(m.Channel), Direction: api.InboxMessageDirection(m.Direction),
		Kind: api.InboxMessageKind(m.Kind), FromAddress: m.FromAddress, FromName: m.FromName, ToAddress: m.ToAddress,
		Subject: m.Subject, Snippet: m.Snippet, BodyText: m.BodyText, CleanText: m.CleanText, BodyHTML: m.BodyHTML,
		MessageID: m.MessageID, InReplyTo: m.InReplyTo, References: m.References,
		Attachments:              make([]api.InboxAttachment, len(m.Attachments)),
		ClassificationConfidence: m.ClassificationConfidence, ClassificationReason: m.ClassificationReason,
		ClassificationProvider: m.ClassificationProvider, ClassificationManual: m.ClassificationManual, ClassifiedAt: m.ClassifiedAt,
		IsRead: m.IsRead, DeliveryError: m.DeliveryError, ReceivedAt: m.ReceivedAt, CreatedAt: m.CreatedAt,
	}
	if out.References == nil {
		out.References = []string{}
	}
	for i, a := range m.Attachments {
		out.Attachments[i] = api.InboxAttachment{Filename: a.Filename, ContentType: a.ContentType, Size: a.Size}
	}
	if m.Classification != nil {
		c := api.InboxMessageClassification(*m.Classification)
		out.Classification = &c
	}
	if m.DeliveryStatus != nil {
		d := api.InboxMessageDeliveryStatus(*m.DeliveryStatus)
		out.DeliveryStatus = &d
	}
	if m.ReturnDate != nil {
		if d, err := time.Parse(time.DateOnly, *m.ReturnDate); err == nil {
			out.ReturnDate = &openapi_types.Date{Time: d}
		}
	}
	if b := m.Bounce; b != nil {
		recipients := make([]api.InboxBounceRecipient, len(b.Recipients))
		for i, r := range b.Recipients {
			recipients[i] = api.InboxBounceRecipient{Address: r.Address, Status: r.Status, Action: r.Action, Diagnostic: r.Diagnostic, Hard: r.Hard}
		}
		out.Bounce = &struct {
			Format            string                     `json:"format"`
			OriginalMessageID *string                    `json:"original_message_id"`
			Recipients        []api.InboxBounceRecipient `json:"recipients"`
		}{Format: b.Format, OriginalMessageID: b.OriginalMessageID, Recipients: recipients}
	}
	return out
}

func toAPIInboxThreadDetail(d inbox.ThreadDetail) (api.InboxThreadDetail, error) {
	out := api.InboxThreadDetail{Thread: toAPIInboxThread(d.Thread), Items: make([]api.InboxThreadItem, len(d.Items))}
	for i, it := range d.Items {
		var err error
		switch {
		case it.Step != nil:
			st := it.Step
			err = out.Items[i].FromInboxThreadStepItem(api.InboxThreadStepItem{Type: api.InboxThreadStepItemTypeStep, At: it.At, Step: api.InboxThreadStep{
				ID: st.ID, Step: st.Step, Channel: api.InboxThreadStepChannel(st.Channel), Subject: st.Subject, BodyText: st.BodyText,
				Status: api.InboxThreadStepStatus(st.Status), SentAt: st.SentAt, MessageID: st.MessageID, EmailAccountID: st.EmailAccountID,
			}})
		case it.Message != nil:
			err = out.Items[i].FromInboxThreadMessageItem(api.InboxThreadMessageItem{Type: api.InboxThreadMessageItemTypeMessage, At: it.At, Message: toAPIInboxMessage(*it.Message)})
		}
		if err != nil {
			return api.InboxThreadDetail{}, err
		}
	}
	return out, nil
}
