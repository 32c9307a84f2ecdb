package events

import "slices"

// Type is an event type, `<object>.<what happened>`.
type Type string

// The catalogue's types. Later issues add theirs here (sequences, messages,
// replies), with their Spec below.
const (
	LeadCreated Type = "lead.created"
	LeadUpdated Type = "lead.updated"
	LeadDeleted Type = "lead.deleted"

	ImportCreated   Type = "import.created"
	ImportCompleted Type = "import.completed"
	ImportFailed    Type = "import.failed"
	ImportCancelled Type = "import.cancelled"

	CampaignCreated       Type = "campaign.created"
	CampaignUpdated       Type = "campaign.updated"
	CampaignStatusChanged Type = "campaign.status_changed"
	CampaignDeleted       Type = "campaign.deleted"

	TemplateCreated Type = "template.created"
	TemplateUpdated Type = "template.updated"
	TemplateDeleted Type = "template.deleted"

	SuppressionCreated Type = "suppression.created"
	SuppressionDeleted Type = "suppression.deleted"

	MemberAdded   Type = "member.added"
	MemberUpdated Type = "member.updated"
	MemberRemoved Type = "member.removed"

	SequenceGenerated Type = "sequence.generated"
	SequenceUpdated   Type = "sequence.updated"
	SequenceApproved  Type = "sequence.approved"
	SequenceRejected  Type = "sequence.rejected"

	GenerationCompleted Type = "generation.completed"
	ApprovalNeeded      Type = "approval.needed"

	MessageScheduled    Type = "message.scheduled"
	MessageSent         Type = "message.sent"
	MessageFailed       Type = "message.failed"
	MessageBounced      Type = "message.bounced"
	LeadUnsubscribed    Type = "lead.unsubscribed"
	CampaignPaused      Type = "campaign.paused"
	CampaignCompleted   Type = "campaign.completed"
	EmailAccountCreated Type = "email_account.created"
	EmailAccountUpdated Type = "email_account.updated"
	EmailAccountDeleted Type = "email_account.deleted"

	ReplyReceived     Type = "reply.received"
	ReplyClassified   Type = "reply.classified"
	LeadStatusChanged Type = "lead.status_changed"

	WebhookTest Type = "webhook.test"
)

// Spec is one catalogue entry.
type Spec struct {
	Type Type
	// Object is the events' object_type: what ObjectID names.
	Object string
	// Schema is the openapi.yaml component schema of the event's data.
	Schema string
	// Trigger says what writes the event.
	Trigger string
}

// catalogue is the one list of event types: GET /v1/event-types serves
// it, the Events tag of openapi.yaml documents it (a test keeps the two
// equal), and Record refuses a type that is not in it.
var catalogue = []Spec{
	{LeadCreated, "lead", "Lead", "A lead was created through the API (POST /v1/leads). A lead import writes one per lead only while an enabled webhook endpoint subscribes to lead.created (or to *); import.completed always summarises the import."},
	{LeadUpdated, "lead", "Lead", "A lead was changed: PATCH /v1/leads/{id}, or a bulk action (approve, disapprove, set_status, move_to_campaign), one event per lead it changed."},
	{LeadDeleted, "lead", "Lead", "A lead was deleted, one by one or by a bulk delete; data is the lead as it was. Deleting a campaign deletes its leads: then one per lead only while an enabled webhook endpoint subscribes to lead.deleted (or to *), and campaign.deleted always."},
	{ImportCreated, "import", "LeadImport", "A lead import was accepted (an upload or a URL) and queued."},
	{ImportCompleted, "import", "LeadImport", "A lead import finished; data carries its counts (inserted, duplicates, invalid, suppressed…)."},
	{ImportFailed, "import", "LeadImport", "A lead import stopped with an error; data.error says why."},
	{ImportCancelled, "import", "LeadImport", "A lead import was cancelled; the leads of the batches already done stay."},
	{CampaignCreated, "campaign", "Campaign", "A campaign was created."},
	{CampaignUpdated, "campaign", "Campaign", "A campaign's name, description, channels, template, settings or context changed."},
	{CampaignStatusChanged, "campaign", "Campaign", "A campaign moved through its lifecycle (activate, pause, resume, complete, archive); data.status is the new status."},
	{CampaignDeleted, "campaign", "Campaign", "A campaign was deleted, and its leads with it; data is the campaign as it was."},
	{TemplateCreated, "template", "Template", "A template was created or cloned into the organisation."},
	{TemplateUpdated, "template", "Template", "An organisation template was changed."},
	{TemplateDeleted, "template", "Template", "An organisation template was deleted; data is the template as it was."},
	{SuppressionCreated, "suppression", "Suppression", "An email, domain or phone number was added to the suppression list (one by one or from a CSV, one event per new entry)."},
	{SuppressionDeleted, "suppression", "Suppression", "An entry was removed from the suppression list; data is the entry as it was."},
	{MemberAdded, "member", "Member", "A user joined the organisation (signed up with it or accepted an invite)."},
	{MemberUpdated, "member", "Member", "A member's role changed."},
	{MemberRemoved, "member", "Member", "A member left or was removed; data is the membership as it was."},
	{SequenceGenerated, "sequence", "Sequence", "A lead's sequence was generated by the organisation's language model (a generation run of its campaign)."},
	{SequenceUpdated, "sequence", "Sequence", "A lead's steps were edited (PATCH /v1/leads/{id}/sequence); editing an approved sequence withdraws its approval."},
	{SequenceApproved, "sequence", "Sequence", "A sequence was approved (POST /v1/campaigns/{id}/sequences/approve), one event per sequence; data.approved_by and data.approved_at say who and when."},
	{SequenceRejected, "sequence", "Sequence", "A sequence was rejected and deleted so that the next generation run writes the lead a new one (POST /v1/campaigns/{id}/sequences/reject); data is the sequence as it was."},
	{GenerationCompleted, "sequence_generation", "SequenceGeneration", "A campaign's generation run ended: data.status says how (completed, cancelled or failed), with its counts, failures and tokens."},
	{ApprovalNeeded, "campaign", "ApprovalNeeded", "A generation run ended leaving leads or sequences of the campaign awaiting approval; data counts them. The campaign's owners and admins get an approval_needed notification too."},
	{MessageScheduled, "message", "Message", "A message was scheduled: step 1 of each lead when its campaign is activated, each later step when the one before it is sent. One per message only while an enabled webhook endpoint subscribes to message.scheduled (or to *)."},
	{MessageSent, "message", "Message", "The provider accepted a message (SMTP 250); data carries sent_at and provider_message_id. One per message only while an enabled webhook endpoint subscribes to message.sent (or to *); the message list and campaign stats always show it."},
	{MessageFailed, "message", "Message", "A message will not be sent: a transient failure past its last attempt, or a worker that stopped mid-send (delivery_uncertain: it may have been delivered, and is never sent again)."},
	{MessageBounced, "message", "Message", "A message bounced for good: the provider refused it (SMTP 5xx), or a bounce report synced from the mailbox names it (a hard bounce, or too many soft ones). The lead is marked bounced and its address suppressed."},
	{LeadUnsubscribed, "lead", "Lead", "A lead unsubscribed (the one-click link or its confirmation page): its address is suppressed and its scheduled messages cancelled."},
	{CampaignPaused, "campaign", "Campaign", "A campaign was paused by the engine (the deliverability guard); data.settings.pause_reason says why. A person's pause is campaign.status_changed."},
	{CampaignCompleted, "campaign", "Campaign", "A campaign's last message went out: nothing is scheduled, queued or sending any more."},
	{EmailAccountCreated, "email_account", "EmailAccount", "An email account was added: a custom or sandbox account through the API, or a Gmail or Outlook mailbox connected by OAuth. Never its credentials."},
	{EmailAccountUpdated, "email_account", "EmailAccount", "An email account's settings, limits, credentials (a new password, or tokens of a repeated OAuth connection) or connection status changed (after a test; reply sync's refused login, and its recovery), or reply sync paused or resumed its sending (sync.sending_paused_reason). Never its credentials."},
	{EmailAccountDeleted, "email_account", "EmailAccount", "An email account was deleted; data is the account as it was."},
	{ReplyReceived, "inbox_message", "InboxMessage", "An inbound message reached the inbox (IMAP sync, the sandbox, SMS/WhatsApp): a reply, an auto-reply, a bounce or a complaint report, matched to its lead when possible. A person's reply stops the lead's sequence when its campaign stops on reply."},
	{ReplyClassified, "inbox_message", "InboxMessage", "An inbound message was classified: data.classification, classification_confidence and classification_reason; classification_provider says who decided (rules, the LLM provider, or user when set by hand)."},
	{LeadStatusChanged, "lead", "LeadStatusChange", "A lead's status moved because of a reply, its class, a bounce, a complaint or an unsubscribe: data gives from, to and the reason."},
	{WebhookTest, "webhook_endpoint", "WebhookTestData", "POST /v1/webhook-endpoints/{id}/test: sent to that endpoint only."},
}

// Catalogue returns every event type, in catalogue order.
func Catalogue() []Spec { return slices.Clone(catalogue) }

// Lookup returns t's entry.
func Lookup(t Type) (Spec, bool) {
	for _, s := range catalogue {
		if s.Type == t {
			return s, true
		}
	}
	return Spec{}, false
}

// Known reports whether t is in the catalogue or is "*" (every type), the
// values a webhook endpoint may subscribe to.
func Known(t string) bool {
	if t == "*" {
		return true
	}
	_, ok := Lookup(Type(t))
	return ok
}
