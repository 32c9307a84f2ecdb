package sending

import (
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// messageRow is a row of messages.
type messageRow struct {
	bun.BaseModel `bun:"table:messages"`

	ID                 uuid.UUID  `bun:"id,pk,type:uuid"`
	OrgID              uuid.UUID  `bun:"org_id,type:uuid"`
	CampaignID         *uuid.UUID `bun:"campaign_id,type:uuid"`
	SequenceID         *uuid.UUID `bun:"sequence_id,type:uuid"`
	LeadID             uuid.UUID  `bun:"lead_id,type:uuid"`
	Channel            string     `bun:"channel"`
	EmailAccountID     *uuid.UUID `bun:"email_account_id,type:uuid"`
	MessagingAccountID *uuid.UUID `bun:"messaging_account_id,type:uuid"`
	Step               int        `bun:"step"`
	Subject            *string    `bun:"subject"`
	BodyText           string     `bun:"body_text"`
	BodyHTML           *string    `bun:"body_html"`
	MessageID          *string    `bun:"message_id"`
	InReplyTo          *string    `bun:"in_reply_to"`
	References         []string   `bun:"message_references,array"`
	ThreadID           *string    `bun:"thread_id"`
	ScheduledFor       *time.Time `bun:"scheduled_for"`
	Status             string     `bun:"status"`
	BlockedReason      *string    `bun:"blocked_reason"`
	DeliveryUncertain  bool       `bun:"delivery_uncertain"`
	Attempts           int        `bun:"attempts"`
	ClaimedAt          *time.Time `bun:"claimed_at"`
	// DispatchedAt is when the dispatcher enqueued the send task of this
	// scheduled message; nil when no task is out for it.
	DispatchedAt      *time.Time `bun:"dispatched_at"`
	LastError         *string    `bun:"last_error"`
	SentAt            *time.Time `bun:"sent_at"`
	DeliveredAt       *time.Time `bun:"delivered_at"`
	ReadAt            *time.Time `bun:"read_at"`
	RepliedAt         *time.Time `bun:"replied_at"`
	BouncedAt         *time.Time `bun:"bounced_at"`
	ProviderMessageID *string    `bun:"provider_message_id"`
	SoftBounces       int        `bun:"soft_bounces"`
	ComplainedAt      *time.Time `bun:"complained_at"`
	CreatedAt         time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt         time.Time  `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

// Blocked reasons (messages.blocked_reason).
const (
	BlockedOutsideWindow = "outside_window"
	BlockedAccountCap    = "account_cap"
	BlockedAccountGap    = "account_gap"
	// The caps beyond the mailbox (limits.go).
	BlockedRecipientDomainCap = "recipient_domain_cap"
	BlockedSendingDomainCap   = "sending_domain_cap"
	BlockedCampaignDailyCap   = "campaign_daily_cap"
	BlockedAccountInactive    = "account_inactive"
	BlockedNoAccount          = "no_account"
	BlockedCampaignPaused     = "campaign_paused"
	BlockedLeadReplied        = "lead_replied"
	BlockedLeadUnsubscribed   = "lead_unsubscribed"
	BlockedLeadBounced        = "lead_bounced"
	BlockedSuppressed         = "suppressed"
	BlockedSendFailed         = "send_failed"
)

// Message statuses.
const (
	StatusScheduled = "scheduled"
	StatusQueued    = "queued"
	StatusSending   = "sending"
	StatusSent      = "sent"
	StatusFailed    = "failed"
	StatusBounced   = "bounced"
	StatusCancelled = "cancelled"
)

// WentOut is the condition on a message that left, or (failed with its
// delivery uncertain) may have: the only ones whose Message-ID a reply, a
// report or a copy of our own mail can name. sent_at stays set when a soft
// bounce puts a message back on the schedule (its earlier copy can still
// be answered). It is the predicate of messages_org_message_id_key
// (migration 20261201000001): a lookup by Message-ID says AND WentOut to
// use it. A message in flight (sending: accepted by the server, outcome
// not yet recorded, or its worker dead until the reaper marks it) is not
// found by its Message-ID: a reply in that window matches its lead by
// address, a report the lead's latest message that went out.
const WentOut = "(sent_at IS NOT NULL OR delivery_uncertain)"

func ptr[T any](v T) *T { return &v }
