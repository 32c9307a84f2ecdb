// Package idempotency stores the first response to a request sent with an
// Idempotency-Key so that retries replay it instead of acting twice. Keys
// are scoped to the organisation and the principal, kept 24 hours, and
// claimed with an insert that only one of two concurrent requests can win.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/secrets"
)

// Defaults for how long a response is kept and how long a claim blocks
// duplicates before it is considered abandoned by a crashed process.
// HandlerBudget is how long the request under a claim may run: less than
// the lock, so a live request never loses its claim to a retry.
const (
	DefaultTTL    = 24 * time.Hour
	DefaultLock   = 2 * time.Minute
	HandlerBudget = DefaultLock - 15*time.Second
)

// Request identifies one idempotent call.
type Request struct {
	Tenant    database.Tenant
	Principal string
	Key       string
	Method    string
	Path      string
	Body      []byte
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
	lock    time.Duration
	now     func() time.Time
}

// NewStore builds a store with the default TTL and lock.
func NewStore(db *database.DB, keyring *secrets.Keyring) *Store {
	return &Store{db: db, keyring: keyring, ttl: DefaultTTL, lock: DefaultLock, now: time.Now}
}

// Claim is the right to run one request under its key; only its holder
// completes or releases it.
type Claim uuid.UUID

func (r Request) aad() []byte {
	return secrets.AAD("idempotency_keys", "response_body", r.Tenant.OrgID.String()+"/"+r.Principal+"/"+r.Key)
}

// Begin claims r's key. It returns a stored response to replay, or nil
// when the caller should run the request and then call Complete or Release.
// A key reused with another request, or one whose first request is still
// running, is a conflict.
func (s *Store) Begin(ctx context.Context, r Request) (*Response, Claim, error) {
	hash := r.Hash()
	claimID := uuid.Must(uuid.NewV7())
	var replay *Response
	err := s.db.InTenant(ctx, r.Tenant, func(ctx context.Context, tx bun.Tx) error {
		now := s.now()
		// A row past its expiry no longer counts; drop it so the key is free.
		if _, err := tx.NewDelete().Model((*row)(nil)).
			Where("org_id = ? AND principal = ? AND key = ? AND expires_at <= ?", r.Tenant.OrgID, r.Principal, r.Key, now).
			Exec(ctx); err != nil {
			return fmt.Errorf("idempotency: expire: %w", err)
		}
		claim := row{
			OrgID: r.Tenant.OrgID.String(), Principal: r.Principal, Key: r.Key, Method: r.Method, Path: r.Path,
			RequestHash: hash, ClaimID: claimID, LockedUntil: now.Add(s.lock), ExpiresAt: now.Add(s.ttl),
		}
		res, err := tx.NewInsert().Model(&claim).On("CONFLICT DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("idempotency: claim: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var cur row
		if err := tx.NewSelect().Model(&cur).
			Where("org_id = ? AND principal = ? AND key = ?", r.Tenant.OrgID, r.Principal, r.Key).
			For("UPDATE").Scan(ctx); err != nil {
			return fmt.Errorf("idempotency: read: %w", err)
		}
		if string(cur.RequestHash) != string(hash) {
			return fault.Conflict("idempotency_key_reused", "this Idempotency-Key was used with a different request; use a new key")
		}
		if cur.StatusCode != nil {
			body, err := s.keyring.Decrypt(string(cur.ResponseBody), r.aad())
			if err != nil {
				return fmt.Errorf("idempotency: decrypt stored response: %w", err)
			}
			replay = &Response{Status: *cur.StatusCode, Headers: cur.ResponseHeaders, Body: body}
			return nil
		}
		if now.Before(cur.LockedUntil) {
			return fault.Conflict("idempotency_key_in_progress", "a request with this Idempotency-Key is still being processed; retry shortly")
		}
		// The first attempt's process died without answering: take over.
		_, err = tx.NewUpdate().Model((*row)(nil)).Set("locked_until = ?, claim_id = ?", now.Add(s.lock), claimID).
			Where("org_id = ? AND principal = ? AND key = ?", r.Tenant.OrgID, r.Principal, r.Key).Exec(ctx)
		return err
	})
	if err != nil || replay != nil {
		return replay, Claim{}, err
	}
	return nil, Claim(claimID), nil
}

// Complete stores the response for replays, if c still holds the key.
func (s *Store) Complete(ctx context.Context, r Request, c Claim, resp Response) error {
	body, err := s.keyring.Encrypt(resp.Body, r.aad())
	if err != nil {
		return fmt.Errorf("idempotency: encrypt response: %w", err)
	}
	err = s.db.InTenant(ctx, r.Tenant, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewUpdate().Model((*row)(nil)).
			Set("status_code = ?, response_headers = ?, response_body = ?", resp.Status, resp.Headers, []byte(body)).
			Where("org_id = ? AND principal = ? AND key = ? AND claim_id = ?", r.Tenant.OrgID, r.Principal, r.Key, uuid.UUID(c)).Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("idempotency: complete: %w", err)
	}
	return nil
}

// Release frees the key after a failure the client should be able to
// retry (a 5xx), so the retry runs instead of replaying the failure.
func (s *Store) Release(ctx context.Context, r Request, c Claim) error {
	err := s.db.InTenant(ctx, r.Tenant, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewDelete().Model((*row)(nil)).
			Where("org_id = ? AND principal = ? AND key = ? AND status_code IS NULL AND claim_id = ?",
				r.Tenant.OrgID, r.Principal, r.Key, uuid.UUID(c)).Exec(ctx)
		return err
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("idempotency: release: %w", err)
	}
	return err
}
