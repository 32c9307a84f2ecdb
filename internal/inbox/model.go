package inbox

import (
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Classes of a reply (inbox_messages.classification).
const (
	ClassInterested    = "interested"
	ClassNotInterested = "not_interested"
	ClassQuestion      = "question"
	ClassOutOfOffice   = "out_of_office"
	ClassBounce        = "bounce"
	ClassUnsubscribe   = "unsubscribe"
	ClassOther         = "other"
)

// Classes lists every class, in the contract's order.
var Classes = []string{ClassInterested, ClassNotInterested, ClassQuestion, ClassOutOfOffice, ClassBounce, ClassUnsubscribe, ClassOther}

// Kinds of inbox message (inbox_messages.kind).
const (
	KindReply     = "reply"      // a person wrote it
	KindAutoReply = "auto_reply" // Auto-Submitted, out of office, …
	KindBounce    = "bounce"     // a delivery status notification
	KindComplaint = "complaint"  // an ARF abuse report
	KindOutbound  = "outbound"   // composed in the inbox
)

// Who classified (classification_provider) besides an LLM provider.
const (
	ProviderRules = "rules"
	ProviderUser  = "user"
)

// messageRow is a row of inbox_messages.
type messageRow struct {
	bun.BaseModel `bun:"table:inbox_messages"`

	ID                 uuid.UUID     `bun:"id,pk,type:uuid"`
	OrgID              uuid.UUID     `bun:"org_id,type:uuid"`
	EmailAccountID     *uuid.UUID    `bun:"email_account_id,type:uuid"`
	MessagingAccountID *uuid.UUID    `bun:"messaging_account_id,type:uuid"`
	LeadID             *uuid.UUID    `bun:"lead_id,type:uuid"`
	CampaignID         *uuid.UUID    `bun:"campaign_id,type:uuid"`
	OutboundMessageID  *uuid.UUID    `bun:"outbound_message_id,type:uuid"`
	ThreadID           *uuid.UUID    `bun:"inbox_thread_id,type:uuid"`
	Channel            string        `bun:"channel"`
	Direction          string        `bun:"direction"`
	Kind               string        `bun:"kind"`
	FromAddress        string        `bun:"from_address"`
	FromName           *string       `bun:"from_name"`
	ToAddress          string        `bun:"to_address"`
	ToName             *string       `bun:"to_name"`
	Subject            *string       `bun:"subject"`
	BodyText           *string       `bun:"body_text"`
	BodyHTML           *string       `bun:"body_html"`
	CleanText          *string       `bun:"clean_text"`
	Snippet            *string       `bun:"snippet"`
	MessageID          *string       `bun:"message_id"`
	InReplyTo          *string       `bun:"in_reply_to"`
	References         []string      `bun:"message_references,array"`
	Attachments        []Attachment  `bun:"attachments,type:jsonb"`
	Classification     *string       `bun:"classification"`
	Confidence         *float64      `bun:"classification_confidence"`
	Reason             *string       `bun:"classification_reason"`
	ClassifiedBy       *string       `bun:"classification_provider"`
	Manual             bool          `bun:"classification_manual"`
	ClassifiedByUser   *uuid.UUID    `bun:"classified_by,type:uuid"`
	ClassifiedAt       *time.Time    `bun:"classified_at"`
	Bounce             *BounceReport `bun:"bounce,type:jsonb"`
	ReturnDate         *time.Time    `bun:"return_date,type:date"`
	IsRead             bool          `bun:"is_read"`
	IsStarred          bool          `bun:"is_starred"`
	IsArchived         bool          `bun:"is_archived"`
	DeliveryStatus     *string       `bun:"delivery_status"`
	DeliveryError      *string       `bun:"delivery_error"`
	SentBy             *uuid.UUID    `bun:"sent_by,type:uuid"`
	HeaderThreadID     *string       `bun:"thread_id"` // a provider's thread id from headers (unused for email)
	ProviderMessageID  *string       `bun:"provider_message_id"`
	ProviderThreadID   *string       `bun:"provider_thread_id"`
	IMAPUIDValidity    *int64        `bun:"imap_uidvalidity"`
	IMAPUID            *int64        `bun:"imap_uid"`
	ReceivedAt         *time.Time    `bun:"received_at"`
	// MovedLeadToReplied: ingest moved the lead to replied for this reply
	// (see undoReplies).
	MovedLeadToReplied bool      `bun:"moved_lead_to_replied"`
	CreatedAt          time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt          time.Time `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

// Attachment is an attachment as listed (its content is not stored).
type Attachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// BounceReport is what a bounce or complaint report said (the bounce
// column).
type BounceReport struct {
	Format            string            `json:"format"`
	Recipients        []BounceRecipient `json:"recipients"`
	OriginalMessageID *string           `json:"original_message_id"`
	FeedbackType      string            `json:"feedback_type,omitempty"`
}

// BounceRecipient is one failed recipient of a report.
type BounceRecipient struct {
	Address    string `json:"address"`
	Status     string `json:"status"`
	Action     string `json:"action"`
	Diagnostic string `json:"diagnostic"`
	Hard       bool   `json:"hard"`
}

// Message is an inbox message as the API shows it (the InboxMessage
// schema).
type Message struct {
	ID                       uuid.UUID     `json:"id"`
	ThreadID                 *uuid.UUID    `json:"thread_id"`
	LeadID                   *uuid.UUID    `json:"lead_id"`
	CampaignID               *uuid.UUID    `json:"campaign_id"`
	EmailAccountID           *uuid.UUID    `json:"email_account_id"`
	OutboundMessageID        *uuid.UUID    `json:"outbound_message_id"`
	Channel                  string        `json:"channel"`
	Direction                string        `json:"direction"`
	Kind                     string        `json:"kind"`
	FromAddress              string        `json:"from_address"`
	FromName                 *string       `json:"from_name"`
	ToAddress                string        `json:"to_address"`
	Subject                  *string       `json:"subject"`
	Snippet                  *string       `json:"snippet"`
	BodyText                 *string       `json:"body_text"`
	CleanText                *string       `json:"clean_text"`
	BodyHTML                 *string       `json:"body_html"`
	MessageID                *string       `json:"message_id"`
	InReplyTo                *string       `json:"in_reply_to"`
	References               []string      `json:"references"`
	Attachments              []Attachment  `json:"attachments"`
	Classification           *string       `json:"classification"`
	ClassificationConfidence *float64      `json:"classification_confidence"`
	ClassificationReason     *string       `json:"classification_reason"`
	ClassificationProvider   *string       `json:"classification_provider"`
	ClassificationManual     bool          `json:"classification_manual"`
	ClassifiedAt             *time.Time    `json:"classified_at"`
	Bounce                   *BounceReport `json:"bounce"`
	ReturnDate               *string       `json:"return_date"` // YYYY-MM-DD
	IsRead                   bool          `json:"is_read"`
	DeliveryStatus           *string       `json:"delivery_status"`
	DeliveryError            *string       `json:"delivery_error"`
	ReceivedAt               *time.Time    `json:"received_at"`
	CreatedAt                time.Time     `json:"created_at"`
}

// view is r as the API shows it.
func (r messageRow) view() Message {
	m := Message{
		ID: r.ID, ThreadID: r.ThreadID, LeadID: r.LeadID, CampaignID: r.CampaignID, EmailAccountID: r.EmailAccountID,
		OutboundMessageID: r.OutboundMessageID, Channel: r.Channel, Direction: r.Direction, Kind: r.Kind,
		FromAddress: r.FromAddress, FromName: r.FromName, ToAddress: r.ToAddress, Subject: r.Subject, Snippet: r.Snippet,
		BodyText: r.BodyText, CleanText: r.CleanText, BodyHTML: r.BodyHTML, MessageID: r.MessageID, InReplyTo: r.InReplyTo,
		References: r.References, Attachments: r.Attachments, Classification: r.Classification,
		ClassificationConfidence: r.Confidence, ClassificationReason: r.Reason, ClassificationProvider: r.ClassifiedBy,
		ClassificationManual: r.Manual, ClassifiedAt: r.ClassifiedAt, Bounce: r.Bounce, IsRead: r.IsRead,
		DeliveryStatus: r.DeliveryStatus, DeliveryError: r.DeliveryError, ReceivedAt: r.ReceivedAt, CreatedAt: r.CreatedAt,
	}
	if m.References == nil {
		m.References = []string{}
	}
	if m.Attachments == nil {
		m.Attachments = []Attachment{}
	}
	if r.ReturnDate != nil {
		d := r.ReturnDate.Format(time.DateOnly)
		m.ReturnDate = &d
	}
	return m
}

// threadRow is a row of inbox_threads.
type threadRow struct {
	bun.BaseModel `bun:"table:inbox_threads,alias:inbox_threads"`

	ID             uuid.UUID  `bun:"id,pk,type:uuid"`
	OrgID          uuid.UUID  `bun:"org_id,type:uuid"`
	LeadID         uuid.UUID  `bun:"lead_id,type:uuid"`
	CampaignID     *uuid.UUID `bun:"campaign_id,type:uuid"`
	EmailAccountID *uuid.UUID `bun:"email_account_id,type:uuid"`
	Channel        string     `bun:"channel"`
	Subject        *string    `bun:"subject"`
	Snippet        *string    `bun:"snippet"`
	Classification *string    `bun:"classification"`
	MessageCount   int        `bun:"message_count"`
	InboundCount   int        `bun:"inbound_count"`
	UnreadCount    int        `bun:"unread_count"`
	IsStarred      bool       `bun:"is_starred"`
	IsArchived     bool       `bun:"is_archived"`
	LastMessageAt  time.Time  `bun:"last_message_at"`
	LastInboundAt  *time.Time `bun:"last_inbound_at"`
	LastReplyAt    *time.Time `bun:"last_reply_at"`
	CreatedAt      time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt      time.Time  `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}
