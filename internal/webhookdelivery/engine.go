package webhookdelivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/egress"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/secrets"
)

// Defaults for Config.
const (
	DefaultRequestTimeout = 15 * time.Second
	DefaultBatchSize      = 256
	DefaultBudget         = 20 * time.Second
	DefaultDisableAfter   = 60 * time.Hour
	// SnippetBytes is how much of a response body the delivery log keeps.
	SnippetBytes = 4 << 10
	// MaxReadBytes is how much of a response body is read at all; the
	// rest is discarded with the connection.
	MaxReadBytes = 64 << 10
)

// UserAgent is sent with every delivery.
const UserAgent = "LeadPilot-Webhooks/1"

// Config configures an Engine. Every field has a default.
type Config struct {
	// Now is the clock: attempt timestamps (webhook-timestamp), due
	// times, the retry schedule and the disable rule all read it. Default
	// time.Now. (Timeouts and the time budget use real time.)
	Now func() time.Time
	// Client sends the deliveries. Default NewClient(HTTP).
	Client *http.Client
	// HTTP configures the default client.
	HTTP ClientConfig
	// AllowHTTP lets deliveries go to http:// URLs (WEBHOOK_ALLOW_HTTP;
	// default false: an http:// endpoint's attempts fail).
	AllowHTTP bool
	// RequestTimeout bounds one delivery: connect, send, and the answer's
	// headers and body (WEBHOOK_TIMEOUT). Default 15s.
	RequestTimeout time.Duration
	// BatchSize is how many due messages one claim takes. Default 256.
	BatchSize int
	// Budget is how long one Deliver call keeps claiming new batches
	// before it returns with More set, so one busy endpoint cannot hold a
	// worker. Default 20s.
	Budget time.Duration
	// Lease is how long claimed messages stay locked (status sending);
	// a worker that dies leaves them to be claimed again after it.
	// Default Budget + RequestTimeout + 30s: a claimed message is always
	// either sent within Budget + RequestTimeout or released.
	Lease time.Duration
	// Schedule is the wait before each retry (see DefaultSchedule).
	Schedule []time.Duration
	// Jitter is the fraction each wait is randomly moved by. Default
	// DefaultJitter; negative for none.
	Jitter float64
	// MaxRetryAfter caps a receiver's Retry-After. Default 24h.
	MaxRetryAfter time.Duration
	// DisableAfter: an endpoint whose every attempt has failed for at
	// least this long (since failing_since) is disabled at its next failed
	// attempt (WEBHOOK_DISABLE_AFTER). Default 60h, which with
	// DefaultSchedule is reached by a message's last retries.
	DisableAfter time.Duration
	// Logger receives one line per batch at debug and disables at warn.
	// Default slog.Default().
	Logger *slog.Logger
}

// Engine delivers an endpoint's due webhook messages. It is safe for
// concurrent use; one Deliver per endpoint at a time keeps the endpoint's
// order and max_concurrency (the asynq TaskID per endpoint ensures it).
type Engine struct {
	db      *database.DB
	keyring *secrets.Keyring
	cfg     Config
}

// New returns an Engine that reads and writes through db (the RLS-bound
// app role is enough) and decrypts endpoints' secrets with keyring.
func New(db *database.DB, keyring *secrets.Keyring, cfg Config) *Engine {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Client == nil {
		cfg.Client = NewClient(cfg.HTTP)
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.Budget <= 0 {
		cfg.Budget = DefaultBudget
	}
	if cfg.Lease <= 0 {
		cfg.Lease = cfg.Budget + cfg.RequestTimeout + 30*time.Second
	}
	if cfg.Schedule == nil {
		cfg.Schedule = DefaultSchedule
	}
	if cfg.Jitter == 0 {
		cfg.Jitter = DefaultJitter
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if cfg.DisableAfter <= 0 {
		cfg.DisableAfter = DefaultDisableAfter
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Engine{db: db, keyring: keyring, cfg: cfg}
}

// TaskTimeout is how long one Deliver call may take at most: the budget,
// one more request, and time to write its results. The asynq task's
// timeout should be at least this.
func (e *Engine) TaskTimeout() time.Duration {
	return e.cfg.Budget + e.cfg.RequestTimeout + 30*time.Second
}

// Result says what one Deliver call did.
type Result struct {
	// Attempted and Succeeded count HTTP attempts.
	Attempted, Succeeded int
	// More is true when Deliver stopped for its time budget with messages
	// possibly still due; the dispatcher's next tick enqueues the
	// endpoint again.
	More bool
	// Disabled is true when the endpoint was disabled by this call.
	Disabled bool
}

// Deliver sends org's endpoint's due messages, batch by batch, in event
// order, until none is due, the endpoint is disabled, or the time budget
// is spent. Delivery failures are not errors (they are recorded and
// retried on the schedule); an error is the database's or ctx's. When ctx
// ends mid-batch, the messages whose answer did not arrive are released
// (pending again, no attempt counted), so nothing is lost: at least once.
func (e *Engine) Deliver(ctx context.Context, org, endpoint uuid.UUID) (Result, error) {
	var res Result
	start := time.Now()
	t := database.Tenant{OrgID: org}
	var after uuid.UUID
	for {
		ep, msgs, err := e.claim(ctx, t, endpoint, after)
		if err != nil || ep == nil || len(msgs) == 0 {
			return res, err
		}
		// Messages before this point that come due meanwhile (a retry, an
		// expired lease) are the next call's, within the dispatcher's tick.
		after = msgs[len(msgs)-1].event.ID
		outs := e.send(ctx, ep, msgs, start)
		// The results are written even when ctx has ended: what was sent
		// must be recorded (or released) rather than left to the lease.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		disabled, err := e.record(wctx, t, ep, msgs, outs)
		cancel()
		for _, o := range outs {
			if o.kind != outReleased {
				res.Attempted++
			}
			if o.kind == outSucceeded {
				res.Succeeded++
			}
		}
		if err != nil {
			return res, err
		}
		if disabled {
			res.Disabled = true
			return res, nil
		}
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("webhookdelivery: deliver %s: %w", endpoint, err)
		}
		if time.Since(start) >= e.cfg.Budget {
			res.More = true
			return res, nil
		}
		if len(msgs) < e.cfg.BatchSize {
			// A short batch took everything due; anything that became due
			// since is the next call's (the dispatcher's tick or NOTIFY).
			return res, nil
		}
	}
}

// endpoint is what delivery needs of a webhook_endpoints row.
type endpoint struct {
	id             uuid.UUID
	url            string
	host           string
	description    string
	keys           [][]byte
	maxConcurrency int
}

type endpointRow struct {
	URL                     string     `bun:"url"`
	Description             string     `bun:"description"`
	Status                  string     `bun:"status"`
	SecretEncrypted         string     `bun:"secret_encrypted"`
	PreviousSecretEncrypted *string    `bun:"previous_secret_encrypted"`
	PreviousSecretExpiresAt *time.Time `bun:"previous_secret_expires_at"`
	MaxConcurrency          int        `bun:"max_concurrency"`
}

// message is a claimed message with its event.
type message struct {
	attempts int
	event    events.Event
}

type claimedRow struct {
	Attempts   int        `bun:"attempts"`
	ID         uuid.UUID  `bun:"id"`
	Type       string     `bun:"type"`
	OccurredAt time.Time  `bun:"occurred_at"`
	ObjectType string     `bun:"object_type"`
	ObjectID   *uuid.UUID `bun:"object_id"`
	Data       []byte     `bun:"data,type:jsonb"`
}

// claimSQL takes up to ?2 of the endpoint's due messages in event order,
// after event ?5 (where the previous batch of the same Deliver ended: the
// index entries of the messages it has just sent need not be walked
// again):
// pending ones whose time has come and sending ones whose lease has run
// out (their worker died), skipping rows another transaction holds, marks
// them sending until ?3, and returns them with their events.
const claimSQL = `
WITH c AS (
  SELECT endpoint_id, event_id FROM webhook_messages
   WHERE org_id = ?0 AND endpoint_id = ?1 AND status IN ('pending', 'sending') AND event_id > ?5
     AND CASE WHEN status = 'pending' THEN next_attempt_at ELSE locked_until END <= ?4
   ORDER BY event_id
   LIMIT ?2
   FOR UPDATE SKIP LOCKED
)
UPDATE webhook_messages m SET status = 'sending', locked_until = ?3
  FROM c JOIN events e ON e.id = c.event_id
 WHERE m.endpoint_id = c.endpoint_id AND m.event_id = c.event_id
RETURNING m.attempts, e.id, e.type, e.occurred_at, e.object_type, e.object_id, e.data`

// claim reads the endpoint and claims a batch of its due messages after
// event id after (uuid.Nil: from the first) in one transaction. A missing
// endpoint returns nil; a disabled one fails its due messages other than
// test events.
func (e *Engine) claim(ctx context.Context, t database.Tenant, id, after uuid.UUID) (*endpoint, []message, error) {
	now := e.cfg.Now()
	var ep *endpoint
	var msgs []message
	err := e.db.InTenant(ctx, t, func(ctx context.Context, tx bun.IDB) error {
		ep, msgs = nil, nil
		var row endpointRow
		err := tx.NewRaw(`SELECT url, description, status, secret_encrypted, previous_secret_encrypted,
			previous_secret_expires_at, max_concurrency FROM webhook_endpoints WHERE org_id = ? AND id = ?`, t.OrgID, id).Scan(ctx, &row)
		if err != nil {
			err = database.Interpret(err)
			if errors.Is(err, database.ErrNotFound) {
				return nil // deleted: its messages went with it
			}
			return err
		}
		if row.Status != "enabled" {
			// A disabled endpoint receives test events only (events.New's
			// OnlyEndpoint: checking a mended receiver before enabling it
			// again); its other messages fail, to be replayed once enabled.
			_, err := tx.NewRaw(`UPDATE webhook_messages m SET status = 'failed', locked_until = NULL,
				last_error = 'the endpoint is disabled' WHERE m.org_id = ? AND m.endpoint_id = ? AND m.status IN ('pending', 'sending')
				AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = m.event_id AND e.type = ?)`,
				t.OrgID, id, string(events.WebhookTest)).Exec(ctx)
			if err != nil {
				return database.Interpret(err)
			}
		}
		ep, err = e.openEndpoint(id, row, now)
		if (errors.Is(err, secrets.ErrDecrypt) || errors.Is(err, secrets.ErrUnknownKey) || errors.Is(err, secrets.ErrMalformed)) && row.Status == "enabled" {
			// No key of the keyring opens its secret (one was retired
			// before `leadpilot reencrypt` ran): nothing can be signed, so
			// retrying would only spin. Disable it, saying why, and tell
			// its owners; rotating the secret mends it.
			ep = &endpoint{id: id, description: row.Description}
			if u, perr := url.Parse(row.URL); perr == nil {
				ep.host = u.Hostname()
			}
			_, err = e.disable(ctx, tx, t, ep, "failing", "its signing secret cannot be decrypted with the service's encryption keys; rotate the secret, then enable it again.", now)
			ep = nil
			return err
		}
		if err != nil {
			return err
		}
		var rows []claimedRow
		if err := tx.NewRaw(claimSQL, t.OrgID, id, e.cfg.BatchSize, now.Add(e.cfg.Lease), now, after).Scan(ctx, &rows); err != nil {
			return database.Interpret(err)
		}
		msgs = make([]message, len(rows))
		for i, r := range rows {
			msgs[i] = message{attempts: r.Attempts, event: events.Event{
				ID: r.ID, Type: r.Type, Timestamp: r.OccurredAt, ObjectType: r.ObjectType, ObjectID: r.ObjectID, Data: r.Data,
			}}
		}
		// RETURNING has no order; v7 ids sort by time.
		slices.SortFunc(msgs, func(a, b message) int { return bytes.Compare(a.event.ID[:], b.event.ID[:]) })
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("webhookdelivery: claim %s: %w", id, err)
	}
	return ep, msgs, nil
}

// openEndpoint decrypts the endpoint's signing keys: the current one, and
// the previous one while it has not expired.
func (e *Engine) openEndpoint(id uuid.UUID, row endpointRow, now time.Time) (*endpoint, error) {
	ep := &endpoint{id: id, url: row.URL, description: row.Description, maxConcurrency: max(row.MaxConcurrency, 1)}
	if u, err := url.Parse(row.URL); err == nil {
		ep.host = u.Hostname()
	}
	cur, err := e.keyring.DecryptString(row.SecretEncrypted, secrets.AAD("webhook_endpoints", "secret_encrypted", id.String()))
	if err != nil {
		return nil, fmt.Errorf("decrypt secret: %w", err)
	}
	k, err := secretKey(cur)
	if err != nil {
		return nil, err
	}
	ep.keys = append(ep.keys, k)
	if row.PreviousSecretEncrypted != nil && row.PreviousSecretExpiresAt != nil && now.Before(*row.PreviousSecretExpiresAt) {
		prev, err := e.keyring.DecryptString(*row.PreviousSecretEncrypted, secrets.AAD("webhook_endpoints", "previous_secret_encrypted", id.String()))
		if err != nil {
			return nil, fmt.Errorf("decrypt previous secret: %w", err)
		}
		k, err := secretKey(prev)
		if err != nil {
			return nil, err
		}
		ep.keys = append(ep.keys, k)
	}
	return ep, nil
}

type outcomeKind int

const (
	outReleased  outcomeKind = iota // not sent (budget, shutdown): pending again, no attempt
	outSucceeded                    // 2xx
	outRetry                        // failed, retried at next
	outFailed                       // failed, schedule exhausted
	outGone                         // 410: the endpoint unsubscribed
)

// outcome is one attempt's result.
type outcome struct {
	kind       outcomeKind
	at         time.Time
	next       time.Time
	statusCode int // 0: no answer
	latency    time.Duration
	err        string
	snippet    string
	retryAfter time.Duration
	hasRA      bool
}

// send delivers msgs to ep, starting them in order with at most
// ep.maxConcurrency in flight. Messages not started before the budget ran
// out (or ctx ended) are released.
func (e *Engine) send(ctx context.Context, ep *endpoint, msgs []message, start time.Time) []outcome {
	outs := make([]outcome, len(msgs))
	sem := make(chan struct{}, ep.maxConcurrency)
	var wg sync.WaitGroup
	for i := range msgs {
		// Every batch starts at least one message, so a Deliver always
		// makes progress.
		if ctx.Err() != nil || (i > 0 && time.Since(start) >= e.cfg.Budget) {
			break // the rest stay outReleased
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		// Waiting for a slot may have used up the budget: start nothing
		// new then, so a Deliver ends within Budget + RequestTimeout (and
		// its result write), which TaskTimeout and Lease count on.
		if i > 0 && time.Since(start) >= e.cfg.Budget {
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			outs[i] = e.attempt(ctx, ep, msgs[i])
		}()
	}
	wg.Wait()
	return outs
}

// attempt makes one HTTP delivery and classifies its answer.
func (e *Engine) attempt(ctx context.Context, ep *endpoint, m message) outcome {
	now := e.cfg.Now()
	o := outcome{at: now}
	body, err := m.event.Payload()
	if err != nil {
		o.err = "the event cannot be encoded: " + err.Error()
		return e.failed(o, m)
	}
	if !e.cfg.AllowHTTP && !strings.HasPrefix(ep.url, "https://") {
		o.err = "only https:// URLs are delivered to"
		return e.failed(o, m)
	}
	rctx, cancel := context.WithTimeout(ctx, e.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, ep.url, bytes.NewReader(body))
	if err != nil {
		o.err = "the URL cannot be requested"
		return e.failed(o, m)
	}
	id := m.event.ID.String()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", Signature(ep.keys, id, now, body))
	t0 := time.Now()
	resp, err := e.cfg.Client.Do(req)
	if err != nil {
		o.latency = time.Since(t0)
		if ctx.Err() != nil {
			return outcome{kind: outReleased} // shutdown: not an attempt
		}
		o.err = transportError(err, e.cfg.RequestTimeout)
		return e.failed(o, m)
	}
	buf, rerr := io.ReadAll(io.LimitReader(resp.Body, MaxReadBytes))
	_ = resp.Body.Close()
	o.latency = time.Since(t0)
	o.statusCode = resp.StatusCode
	o.snippet = snippet(buf)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		// The answer's status is what counts; a body cut short after it
		// does not undo a delivery.
		o.kind = outSucceeded
		return o
	case resp.StatusCode == http.StatusGone:
		o.kind = outGone
		o.err = "410 Gone: the receiver unsubscribed"
		return o
	}
	o.err = fmt.Sprintf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		o.err += " (redirects are not followed)"
	}
	if rerr != nil && ctx.Err() == nil {
		o.err += "; reading the body: " + transportError(rerr, e.cfg.RequestTimeout)
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		o.retryAfter, o.hasRA = retryAfter(resp.Header.Get("Retry-After"), now)
	}
	return e.failed(o, m)
}

// failed schedules the retry of a failed attempt: the schedule's wait,
// or the receiver's Retry-After when that is later (capped), or failure
// when the schedule is exhausted.
func (e *Engine) failed(o outcome, m message) outcome {
	wait, ok := retryWait(e.cfg.Schedule, m.attempts+1, e.cfg.Jitter)
	if !ok {
		o.kind = outFailed
		o.err += fmt.Sprintf(" (attempt %d of %d: no retry left)", m.attempts+1, len(e.cfg.Schedule)+1)
		return o
	}
	if o.hasRA {
		if ra := min(o.retryAfter, e.cfg.MaxRetryAfter); ra > wait {
			wait = ra
		}
	}
	o.kind = outRetry
	o.next = o.at.Add(wait)
	return o
}

// transportError puts a client error into words for the delivery log,
// without the URL (which may carry a token).
func transportError(err error, timeout time.Duration) string {
	switch {
	case errors.Is(err, egress.ErrProhibited):
		var ue *url.Error
		msg := "the address is not public and not allowed"
		if errors.As(err, &ue) {
			var oe *net.OpError
			if errors.As(err, &oe) && oe.Addr != nil {
				msg = fmt.Sprintf("the address %s is not public and not allowed (SSRF protection)", oe.Addr)
			}
		}
		return msg
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, http.ErrHandlerTimeout):
		return fmt.Sprintf("no answer within %s", timeout)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Sprintf("no answer within %s", timeout)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsNotFound {
			return fmt.Sprintf("the host %s does not exist", dnsErr.Name)
		}
		return fmt.Sprintf("the host %s cannot be resolved", dnsErr.Name)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	return msg
}

// snippet is the first SnippetBytes of a body as text Postgres accepts:
// valid UTF-8 without NUL.
func snippet(b []byte) string {
	if len(b) > SnippetBytes {
		b = b[:SnippetBytes]
		// A rune cut in two at the end becomes U+FFFD below.
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "")
}

// recordSQL writes a batch's results in one statement: the messages'
// new states, one webhook_attempts row per attempt (the delivery log), and
// the endpoint's failing_since (cleared by a success, set by the first
// failure after one). Only messages still 'sending' are updated: a replay
// or another claim after an expired lease may have moved them, and only
// their attempts are logged (a replayed message is sent and logged again).
// The "= ANY (ids)" condition keeps the update on the primary key, whatever
// the endpoint's backlog (a join on r alone was planned as a scan of all
// the endpoint's messages).
const recordSQL = `
WITH r AS (
  SELECT u.event_id::uuid AS event_id, u.outcome, NULLIF(u.code, '')::int AS code, u.latency::int AS latency,
         NULLIF(u.err, '') AS err, NULLIF(u.snippet, '') AS snippet, NULLIF(u.next, '')::timestamptz AS next,
         NULLIF(u.at, '')::timestamptz AS at, NULLIF(u.attempt_id, '')::uuid AS attempt_id
    FROM unnest(?2::text[], ?3::text[], ?4::text[], ?5::text[], ?6::text[], ?7::text[], ?8::text[], ?9::text[], ?10::text[])
      AS u(event_id, outcome, code, latency, err, snippet, next, at, attempt_id)
), m AS (
  UPDATE webhook_messages m SET
    status = CASE r.outcome WHEN 'succeeded' THEN 'succeeded' WHEN 'failed' THEN 'failed' ELSE 'pending' END,
    attempts = m.attempts + CASE WHEN r.outcome = 'released' THEN 0 ELSE 1 END,
    next_attempt_at = COALESCE(r.next, m.next_attempt_at),
    locked_until = NULL,
    last_attempt_at = CASE WHEN r.outcome = 'released' THEN m.last_attempt_at ELSE r.at END,
    last_status_code = CASE WHEN r.outcome = 'released' THEN m.last_status_code ELSE r.code END,
    last_error = CASE WHEN r.outcome = 'released' THEN m.last_error ELSE r.err END
  FROM r
  WHERE m.org_id = ?0 AND m.endpoint_id = ?1 AND m.event_id = ANY (?2::text[]::uuid[])
    AND m.event_id = r.event_id AND m.status = 'sending'
  RETURNING m.event_id
), a AS (
  INSERT INTO webhook_attempts (id, org_id, endpoint_id, event_id, attempted_at, status_code, latency_ms, succeeded, error, response_snippet)
  SELECT r.attempt_id, ?0, ?1, r.event_id, r.at, r.code, r.latency, r.outcome = 'succeeded', r.err, r.snippet
    FROM r JOIN m ON m.event_id = r.event_id
   WHERE r.outcome <> 'released'
  RETURNING 1
)
UPDATE webhook_endpoints w SET failing_since = CASE
    WHEN ?11 THEN NULL
    WHEN ?12::timestamptz IS NOT NULL THEN COALESCE(w.failing_since, ?12::timestamptz)
    ELSE w.failing_since END
 WHERE w.org_id = ?0 AND w.id = ?1
RETURNING w.failing_since, (SELECT count(*) FROM m) AS updated, (SELECT count(*) FROM a) AS logged`

// record writes outs and, when the batch calls for it, disables the
// endpoint, in one transaction. It reports whether it disabled it.
func (e *Engine) record(ctx context.Context, t database.Tenant, ep *endpoint, msgs []message, outs []outcome) (bool, error) {
	n := len(msgs)
	ids, kinds, codes, lats, errs, snips, nexts, ats, attemptIDs :=
		make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	var anyOK bool
	var firstFail *time.Time
	var gone *outcome
	var last *outcome
	for i, o := range outs {
		ids[i] = msgs[i].event.ID.String()
		lats[i] = strconv.FormatInt(max(o.latency.Milliseconds(), 0), 10)
		if o.kind != outReleased {
			ats[i] = o.at.UTC().Format(time.RFC3339Nano)
			attemptIDs[i] = uuid.Must(uuid.NewV7()).String()
		}
		if o.statusCode != 0 {
			codes[i] = strconv.Itoa(o.statusCode)
		}
		errs[i], snips[i] = o.err, o.snippet
		switch o.kind {
		case outReleased:
			kinds[i] = "released"
		case outSucceeded:
			kinds[i] = "succeeded"
			anyOK = true
		case outRetry:
			kinds[i] = "retry"
			nexts[i] = o.next.UTC().Format(time.RFC3339Nano)
		case outFailed, outGone:
			kinds[i] = "failed"
		}
		if o.kind == outGone && gone == nil {
			gone = &outs[i]
		}
		if o.kind == outRetry || o.kind == outFailed || o.kind == outGone {
			if firstFail == nil || o.at.Before(*firstFail) {
				at := o.at
				firstFail = &at
			}
			last = &outs[i]
		}
	}
	var disabled bool
	err := e.db.InTenant(ctx, t, func(ctx context.Context, tx bun.IDB) error {
		var res struct {
			FailingSince *time.Time `bun:"failing_since"`
			Updated      int        `bun:"updated"`
			Logged       int        `bun:"logged"`
		}
		err := tx.NewRaw(recordSQL, t.OrgID, ep.id, pgdialect.Array(ids), pgdialect.Array(kinds), pgdialect.Array(codes),
			pgdialect.Array(lats), pgdialect.Array(errs), pgdialect.Array(snips), pgdialect.Array(nexts), pgdialect.Array(ats),
			pgdialect.Array(attemptIDs), anyOK, firstFail).Scan(ctx, &res)
		if err != nil {
			err = database.Interpret(err)
			if errors.Is(err, database.ErrNotFound) {
				return nil // the endpoint was deleted meanwhile
			}
			return err
		}
		now := e.cfg.Now()
		switch {
		case gone != nil:
			disabled, err = e.disable(ctx, tx, t, ep, "gone", fmt.Sprintf(
				"The receiver answered 410 Gone on %s, which unsubscribes it (REST Hooks).", gone.at.UTC().Format(time.RFC1123)), now)
		case !anyOK && last != nil && res.FailingSince != nil && now.Sub(*res.FailingSince) >= e.cfg.DisableAfter:
			disabled, err = e.disable(ctx, tx, t, ep, "failing", fmt.Sprintf(
				"Every delivery has failed since %s; the last one on %s: %s.",
				res.FailingSince.UTC().Format(time.RFC1123), last.at.UTC().Format(time.RFC1123), last.err), now)
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("webhookdelivery: record %s: %w", ep.id, err)
	}
	e.cfg.Logger.DebugContext(ctx, "webhook batch delivered", slog.String("endpoint_id", ep.id.String()),
		slog.Int("messages", n), slog.Bool("disabled", disabled))
	return disabled, nil
}

// disableSQL disables an enabled endpoint, fails its remaining messages
// and returns the org's owners and admins, to be notified: one row per
// owner or admin (a NULL one when there is none), no row when the
// endpoint was not enabled.
const disableSQL = `
WITH w AS (
  UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = ?2, disabled_message = ?3, disabled_at = ?4, updated_at = ?4
   WHERE org_id = ?0 AND id = ?1 AND status = 'enabled'
  RETURNING id
), f AS (
  UPDATE webhook_messages SET status = 'failed', locked_until = NULL, last_error = 'the endpoint was disabled: ' || ?3
   WHERE org_id = ?0 AND endpoint_id IN (SELECT id FROM w) AND status IN ('pending', 'sending')
  RETURNING 1
)
SELECT mb.user_id FROM w LEFT JOIN memberships mb ON mb.org_id = ?0 AND mb.role IN ('owner', 'admin')
 ORDER BY mb.user_id`

// disable disables ep for reason (gone or failing) with msg, fails its
// pending messages and notifies the org's owners and admins, one
// notification each. It reports false when ep was no longer enabled.
func (e *Engine) disable(ctx context.Context, tx bun.IDB, t database.Tenant, ep *endpoint, reason, msg string, now time.Time) (bool, error) {
	var rows []struct {
		UserID *uuid.UUID `bun:"user_id"`
	}
	if err := tx.NewRaw(disableSQL, t.OrgID, ep.id, reason, msg, now).Scan(ctx, &rows); err != nil && !errors.Is(database.Interpret(err), database.ErrNotFound) {
		return false, database.Interpret(err)
	}
	if len(rows) == 0 {
		return false, nil // no longer enabled: someone else disabled it
	}
	var users []uuid.UUID
	for _, r := range rows {
		if r.UserID != nil {
			users = append(users, *r.UserID)
		}
	}
	// The receiver's host only: a hook URL's path or query often is a
	// credential, and notifications are not the place for it.
	what := "to " + ep.host
	if ep.description != "" {
		what += fmt.Sprintf(" (%q)", ep.description)
	}
	title := "Webhook endpoint disabled"
	body := fmt.Sprintf("The webhook endpoint %s was disabled: %s Fix the receiver, enable the endpoint again and replay what it missed.", what, msg)
	if reason == "gone" {
		body = fmt.Sprintf("The webhook endpoint %s was disabled: %s Create or enable it again to receive events.", what, msg)
	}
	if len(users) > 0 {
		nids, uids := make([]string, len(users)), make([]string, len(users))
		for i, u := range users {
			nids[i], uids[i] = uuid.Must(uuid.NewV7()).String(), u.String()
		}
		if _, err := tx.NewRaw(`INSERT INTO notifications (id, org_id, user_id, type, title, message, action_url, created_at)
			SELECT u.id::uuid, ?, u.user_id::uuid, 'system', ?, ?, ?, ? FROM unnest(?::text[], ?::text[]) AS u(id, user_id)`,
			t.OrgID, title, body, "/settings/webhooks/"+ep.id.String(), now, pgdialect.Array(nids), pgdialect.Array(uids)).Exec(ctx); err != nil {
			return false, database.Interpret(err)
		}
	}
	e.cfg.Logger.WarnContext(ctx, "webhook endpoint disabled", slog.String("org_id", t.OrgID.String()),
		slog.String("endpoint_id", ep.id.String()), slog.String("reason", reason), slog.Int("notified", len(users)))
	return true, nil
}
