package sending

import (
	"context"
	"log/slog"
	"net/mail"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/unsubscribe"
)

// Result is what a channel did with one message.
type Result int

// Results.
const (
	// Sent: the provider accepted it.
	Sent Result = iota + 1
	// Transient: nothing was accepted (4xx, cannot connect); retry later.
	Transient
	// Permanent: refused for good (5xx): a bounce.
	Permanent
	// Uncertain: the provider may have accepted it; never retry.
	Uncertain
	// Invalid: the message could not be built or handed over (our side:
	// a bad address, a header refused); it fails without bouncing the
	// lead.
	Invalid
)

// Outcome is one message's result.
type Outcome struct {
	Result     Result
	ProviderID string
	Error      string // why, for anything but Sent
	// AccountError says the account itself failed (cannot connect, bad
	// credentials): the message is not at fault.
	AccountError bool
}

// Outgoing is one message to send, rendered.
type Outgoing struct {
	ID         uuid.UUID // the message row
	LeadID     uuid.UUID
	From       mail.Address
	To         mail.Address
	Subject    string
	Text, HTML string
	// Threading (email): MessageID is ours, without angle brackets;
	// InReplyTo and References name the earlier messages of the thread.
	MessageID  string
	InReplyTo  string
	References []string
	// One-click unsubscribe (RFC 8058).
	UnsubscribeURL, UnsubscribeMailto string
}

// Channel sends messages of one channel from one account of an
// organisation: one Outcome per message, in order.
type Channel interface {
	Send(ctx context.Context, org, account uuid.UUID, msgs []Outgoing) []Outcome
}

// Enqueuer enqueues one send task: the messages ids of account in org.
type Enqueuer interface {
	EnqueueSend(ctx context.Context, org, account uuid.UUID, ids []uuid.UUID) error
}

// Options tune the engine; zero values take the defaults.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// BatchSize is how many messages one send task carries (default 200).
	BatchSize int
	// ClaimLimit is how many due messages one dispatch claims (default
	// 20,000: with a hundred mailboxes sending at once, a full BatchSize
	// each; a batch's fixed cost — two transactions, the mailbox and the
	// campaign read, some twenty statements — is spread over more
	// messages).
	ClaimLimit int
	// RequeueAfter is how long a dispatched message may stay unclaimed
	// before the dispatcher enqueues its task again (default 2m).
	RequeueAfter time.Duration
	// ReapAfter is how long a message may stay sending before the reaper
	// marks it failed-uncertain (default 10m; above any send's timeout).
	ReapAfter time.Duration
	// MaxAttempts is how many claims a message gets before a transient
	// failure becomes final (default 5); Backoff is the wait after the
	// first transient failure, doubling each time (default 5m).
	MaxAttempts int
	Backoff     time.Duration
	// UnsubscribeBase is the public URL that one-click tokens are appended
	// to (PUBLIC_URL + "/u"); UnsubscribeMailbox receives mailto
	// unsubscribes (optional).
	UnsubscribeBase    string
	UnsubscribeMailbox string
	// MinGap and GapJitter space the sends of one real mailbox: after a
	// send, the next waits MinGap plus a random part of GapJitter (default
	// 20 s and 40 s; negative: none; sandbox mailboxes have no gap).
	MinGap    time.Duration
	GapJitter time.Duration
	// RecipientDomainDaily caps the messages one organisation sends to one
	// recipient domain per day (default 50; negative: none);
	// SendingDomainHourly the messages per hour from all its mailboxes of
	// one domain (default 0: none, the mailboxes' own caps apply);
	// CampaignNewLeadsDaily the first steps one campaign sends per day
	// (default 0: none).
	RecipientDomainDaily  int
	SendingDomainHourly   int
	CampaignNewLeadsDaily int
	// BounceThreshold is the deliverability guard's limit on the rolling
	// hard-bounce rate of a campaign and of a mailbox (default 0.05;
	// negative: no guard; SENDING_BOUNCE_THRESHOLD).
	BounceThreshold float64
	// IgnoreCaps lifts the daily caps and the gaps of mailboxes
	// (benchmarks and load tests only; the configuration
	// SENDING_IGNORE_CAPS).
	IgnoreCaps bool
	// Accounts writes email_account.updated, in the send's transaction,
	// when a send changes what a mailbox shows: its connection went into
	// error (it cannot connect, its login is refused), a message went out
	// while it showed an error of SMTP's, or the deliverability guard
	// deactivated it. The email accounts service's
	// NewMailboxes is one. Nil: the connection status still changes, with
	// no event (an engine that sends nothing, like the API's scheduler).
	Accounts AccountEvents
	Logger   *slog.Logger
}

// AccountEvents records email_account.updated for account id of org in
// tx, with the account as it now is.
type AccountEvents interface {
	RecordUpdated(ctx context.Context, tx bun.IDB, org, id uuid.UUID) error
}

// Engine schedules, dispatches and sends.
type Engine struct {
	// reconciled is when the last ScheduleApproved ran, pruned the last
	// PruneCounts (UnixNano).
	reconciled, pruned atomic.Int64

	db       *database.DB
	channels map[string]Channel
	enq      Enqueuer
	signer   *unsubscribe.Signer
	opts     Options
}

// New builds an engine. channels maps a channel name ("email") to its
// adapter; enq may be nil in a process that does not dispatch.
func New(db *database.DB, channels map[string]Channel, enq Enqueuer, signer *unsubscribe.Signer, opts Options) *Engine {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 200
	}
	if opts.ClaimLimit <= 0 {
		opts.ClaimLimit = 20000
	}
	if opts.RequeueAfter <= 0 {
		opts.RequeueAfter = 2 * time.Minute
	}
	if opts.ReapAfter <= 0 {
		opts.ReapAfter = 10 * time.Minute
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 5 * time.Minute
	}
	if opts.RecipientDomainDaily == 0 {
		opts.RecipientDomainDaily = 50
	}
	if opts.MinGap == 0 {
		opts.MinGap = 20 * time.Second
	}
	if opts.GapJitter == 0 {
		opts.GapJitter = 40 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Engine{db: db, channels: channels, enq: enq, signer: signer, opts: opts}
}
