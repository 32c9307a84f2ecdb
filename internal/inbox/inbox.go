// Package inbox is the unified inbox: what arrives in an organisation's
// mailboxes (IMAP sync, the sandbox) is parsed, matched to the lead and
// our message it answers, recognised (a person's reply, an auto-reply, a
// bounce or complaint report), stored once, threaded per lead, classified
// (rules first, then the organisation's LLM), and acted on: the lead's
// sequence stops, its status follows, bounces and complaints suppress,
// out-of-office replies defer the next step, people are notified and
// events are written in the same transaction as each change. The inbox
// API reads and answers threads; a reply composed there leaves from the
// same mailbox in the same email thread.
package inbox

import (
	"context"
	"runtime"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/sending"
)

// ProviderFor returns the organisation's LLM provider (metered), as the
// organisation's LLM settings choose it.
type ProviderFor func(ctx context.Context, orgID uuid.UUID) (llm.Provider, error)

// Sender is the sending engine as the inbox uses it (*sending.Engine is
// one): it delivers a reply composed in the inbox, and applies what
// arrived to the schedule in the inbox's transaction.
type Sender interface {
	Deliver(ctx context.Context, org, account uuid.UUID, channel string, o sending.Outgoing) sending.Outcome
	RepliedInTx(ctx context.Context, tx bun.IDB, org uuid.UUID, leadIDs, answered []uuid.UUID) ([]uuid.UUID, error)
	DeferInTx(ctx context.Context, tx bun.IDB, org, lead uuid.UUID, until time.Time) (int, error)
	BouncesInTx(ctx context.Context, tx bun.IDB, org uuid.UUID, bs []sending.Bounce, softLimit int, retry time.Duration) (sending.BounceResult, error)
	ComplaintInTx(ctx context.Context, tx bun.IDB, org, message, lead uuid.UUID) error
	// DeferManyInTx and UnsubscribeManyInTx apply a classified batch's
	// out-of-office return dates and unsubscribes, set-based.
	DeferManyInTx(ctx context.Context, tx bun.IDB, org uuid.UUID, ds []sending.Deferral) (int, error)
	UnsubscribeManyInTx(ctx context.Context, tx bun.IDB, org uuid.UUID, leadIDs []uuid.UUID, reason string) error
	// UndoReplyInTx undoes RepliedInTx for replies classified as
	// out-of-office notices after ingest took them for a person's.
	UndoReplyInTx(ctx context.Context, tx bun.IDB, org uuid.UUID, leadIDs, answered []uuid.UUID) (int, error)
}

// Enqueuer queues the classification of newly stored inbound messages;
// *jobs.Enqueuer is one.
type Enqueuer interface {
	EnqueueClassify(ctx context.Context, org uuid.UUID, ids []uuid.UUID) error
}

// Options tune the inbox; zero values take the defaults.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// StopOnAutoReply makes an auto-reply stop the lead's sequence as a
	// person's reply does (default false: an out-of-office is not an
	// answer; its return date defers the next step instead).
	StopOnAutoReply bool
	// SoftBounceLimit is how many soft bounces of one message count as a
	// hard bounce (default 3); SoftBounceRetry is the wait before a
	// soft-bounced message goes out again (default 4h).
	SoftBounceLimit int
	SoftBounceRetry time.Duration
	// ClassifyWorkers is how many provider calls one Classify makes at
	// once (default 4). Keep it small: an organisation's remote LLM
	// providers are rate-limited per key, and every worker process runs
	// its own Classify calls, so the load on a provider is this times the
	// classification tasks running at once. 1 calls one at a time.
	ClassifyWorkers int
	// ApplyConcurrency is how many classified batches one process writes
	// at once (default GOMAXPROCS). The provider calls of every task run
	// side by side (a remote model mostly waits), but their writes (the
	// messages, leads, suppressions, schedule, events of a batch) contend
	// for the same cores and rows; beyond one per core they only slow
	// each other down.
	ApplyConcurrency int
}

// Service is the inbox.
type Service struct {
	db        *database.DB
	sender    Sender
	providers ProviderFor
	enq       Enqueuer
	opts      Options
	// applying bounds the classified batches written at once.
	applying chan struct{}
}

// NewService builds the inbox. sender, providers and enq may be nil in a
// process that neither replies, classifies nor ingests.
func NewService(db *database.DB, sender Sender, providers ProviderFor, enq Enqueuer, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SoftBounceLimit <= 0 {
		opts.SoftBounceLimit = 3
	}
	if opts.SoftBounceRetry <= 0 {
		opts.SoftBounceRetry = 4 * time.Hour
	}
	if opts.ClassifyWorkers <= 0 {
		opts.ClassifyWorkers = 4
	}
	if opts.ApplyConcurrency <= 0 {
		opts.ApplyConcurrency = runtime.GOMAXPROCS(0)
	}
	return &Service{db: db, sender: sender, providers: providers, enq: enq, opts: opts, applying: make(chan struct{}, opts.ApplyConcurrency)}
}
