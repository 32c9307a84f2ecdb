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
