// Package idempotency stores the first response to a request sent with an
// Idempotency-Key so that retries replay it instead of acting twice. Keys
// are scoped to the organisation and the principal and kept 24 hours. The
// claim, the request's work and the stored response share one transaction
// (Stripe's "atomic phases" in one phase): an answered request is stored
// exactly when its work is.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/secrets"
)

// DefaultTTL is how long a response is kept for replays.
const DefaultTTL = 24 * time.Hour

// Request identifies one idempotent call.
type Request struct {
	Tenant    database.Tenant
	Principal string
	Key       string
	Method    string
	Path      string
	Body      []byte
	// BodyDigest, when set, stands for a body too large to hold (a file
	// upload): the SHA-256 of its bytes, computed as it streamed past.
	BodyDigest []byte
}

// Hash fingerprints method, path and body. A JSON body is re-encoded first
// (sorted keys, no insignificant space) so formatting differences do not
// count as a different request.
func (r Request) Hash() []byte {
	body := r.Body
	var v any
	if len(body) > 0 && json.Unmarshal(body, &v) == nil {
		if b, err := json.Marshal(v); err == nil {
			body = b
		}
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", r.Method, r.Path)
	if r.BodyDigest != nil {
		fmt.Fprintf(h, "sha256:%x", r.BodyDigest)
		return h.Sum(nil)
	}
	h.Write(body)
	return h.Sum(nil)
}

// Response is a stored response.
type Response struct {
	Status  int
	Headers http.Header
	Body    []byte
}

type row struct {
	bun.BaseModel `bun:"table:idempotency_keys"`

	OrgID           string      `bun:"org_id,pk,type:uuid"`
	Principal       string      `bun:"principal,pk"`
	Key             string      `bun:"key,pk"`
	Method          string      `bun:"method"`
	Path            string      `bun:"path"`
	RequestHash     []byte      `bun:"request_hash"`
	StatusCode      *int        `bun:"status_code"`
	ResponseHeaders http.Header `bun:"response_headers,type:jsonb"`
	ResponseBody    []byte      `bun:"response_body"` // secrets.Keyring ciphertext
	ClaimID         uuid.UUID   `bun:"claim_id,type:uuid"`
	LockedUntil     time.Time   `bun:"locked_until"`
	ExpiresAt       time.Time   `bun:"expires_at"`
}

// Store keeps idempotency records in Postgres. Response bodies are
// encrypted: a create response can carry a secret shown once (an API key,
// an invite token), which must not sit in the database in clear.
type Store struct {
	db      *database.DB
	keyring *secrets.Keyring
	ttl     time.Duration
	now     func() time.Time
}

// NewStore builds a store with the default TTL and lock.
func NewStore(db *database.DB, keyring *secrets.Keyring) *Store {
	return &Store{db: db, keyring: keyring, ttl: DefaultTTL, now: time.Now}
}

// Claim is the right to run one request under its key; only its holder
// completes or releases it.
type Claim uuid.UUID

func (r Request) aad() []byte {
	return secrets.AAD("idempotency_keys", "response_body", r.Tenant.OrgID.String()+"/"+r.Principal+"/"+r.Key)
}

// lockWait is how long a request waits for a concurrent one with the same
// key to finish before it answers "in progress".
const lockWait = "10s"

// Begin claims r's key inside ctx's request transaction
// (database.BeginRequest), which must also carry the request's work and
// Complete: the claim, the work and the stored response commit together or
// not at all. It returns a stored response to replay, or nil when the caller
// should run the request and then call Complete.
//
// The claim is the uncommitted row itself. A concurrent request with the
// same key waits on it (up to lockWait, then "in progress"); when the first
// commits, the second replays its response; when the first rolls back (an
// error, a 5xx, a process killed mid-request, whose connection Postgres
// then aborts), the second runs as if it were the first. No lock expiry is
// needed, and a retry can never repeat work whose response was lost.
func (s *Store) Begin(ctx context.Context, r Request) (*Response, error) {
	hash := r.Hash()
	var replay *Response
	err := s.db.InTenant(ctx, r.Tenant, func(ctx context.Context, tx bun.IDB) error {
		now := s.now()
		// Waiting for a concurrent holder of the key is bounded; the
		// setting ends with the transaction.
		if _, err := tx.ExecContext(ctx, `SELECT set_config('lock_timeout', ?, true)`, lockWait); err != nil {
			return fmt.Errorf("idempotency: lock timeout: %w", err)
		}
		// A row past its expiry no longer counts; drop it so the key is free.
		if _, err := tx.NewDelete().Model((*row)(nil)).
			Where("org_id = ? AND principal = ? AND key = ? AND expires_at <= ?", r.Tenant.OrgID, r.Principal, r.Key, now).
			Exec(ctx); err != nil {
			return lockErr(fmt.Errorf("idempotency: expire: %w", err))
		}
		claim := row{
			OrgID: r.Tenant.OrgID.String(), Principal: r.Principal, Key: r.Key, Method: r.Method, Path: r.Path,
			RequestHash: hash, ClaimID: uuid.Must(uuid.NewV7()), LockedUntil: now, ExpiresAt: now.Add(s.ttl),
		}
		res, err := tx.NewInsert().Model(&claim).On("CONFLICT DO NOTHING").Exec(ctx)
		if err != nil {
			return lockErr(fmt.Errorf("idempotency: claim: %w", err))
		}
		if _, err := tx.ExecContext(ctx, `SELECT set_config('lock_timeout', '0', true)`); err != nil {
			return fmt.Errorf("idempotency: lock timeout: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		// The key was used by a request that committed.
		var cur row
		if err := tx.NewSelect().Model(&cur).
			Where("org_id = ? AND principal = ? AND key = ?", r.Tenant.OrgID, r.Principal, r.Key).
			Scan(ctx); err != nil {
			return fmt.Errorf("idempotency: read: %w", err)
		}
		if string(cur.RequestHash) != string(hash) {
			return fault.Conflict("idempotency_key_reused", "this Idempotency-Key was used with a different request; use a new key")
		}
		if cur.StatusCode == nil {
			// Written by a version that committed claims on their own.
			return fault.Conflict("idempotency_key_in_progress", "a request with this Idempotency-Key is still being processed; retry shortly")
		}
		body, err := s.keyring.Decrypt(string(cur.ResponseBody), r.aad())
		if err != nil {
			return fmt.Errorf("idempotency: decrypt stored response: %w", err)
		}
		replay = &Response{Status: *cur.StatusCode, Headers: cur.ResponseHeaders, Body: body}
		return nil
	})
	return replay, err
}

// lockErr turns a lock_timeout (SQLSTATE 55P03) into "in progress".
func lockErr(err error) error {
	if database.IsLockTimeout(err) {
		return fault.Conflict("idempotency_key_in_progress", "a request with this Idempotency-Key is still being processed; retry shortly").WithCause(err)
	}
	return err
}

// Complete stores the response for replays, in the same request
// transaction as Begin, so it commits with the work it describes.
func (s *Store) Complete(ctx context.Context, r Request, resp Response) error {
	body, err := s.keyring.Encrypt(resp.Body, r.aad())
	if err != nil {
		return fmt.Errorf("idempotency: encrypt response: %w", err)
	}
	err = s.db.InTenant(ctx, r.Tenant, func(ctx context.Context, tx bun.IDB) error {
		res, err := tx.NewUpdate().Model((*row)(nil)).
			Set("status_code = ?, response_headers = ?, response_body = ?", resp.Status, resp.Headers, []byte(body)).
			Where("org_id = ? AND principal = ? AND key = ? AND status_code IS NULL", r.Tenant.OrgID, r.Principal, r.Key).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("idempotency: the claim on %q is gone", r.Key)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("idempotency: complete: %w", err)
	}
	return nil
}
