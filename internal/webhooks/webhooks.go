// Package webhooks manages an organisation's webhook endpoints, the
// receivers of its events (internal/events): their URL, the event types
// they subscribe to, their signing secret, their state (enabled, or
// disabled by a person, by failures or by a 410 Gone), and what the API
// shows of their delivery: the messages queued for them, the attempts
// made, and replays.
//
// Delivery itself (signing, the SSRF-safe client, retries, auto-disable,
// the dispatcher) is internal/webhookdelivery's; the two share the tables
// of migration 20261129000001, whose comments are the contract: this
// package writes endpoints and (re)queues messages, the delivery side
// claims messages and writes attempts.
//
// Secrets: an endpoint's current `whsec_…` secret is stored encrypted
// with the service keyring under SecretAAD(id); after a rotation the one it
// replaced is kept under PreviousSecretAAD(id) and signs beside it until
// previous_secret_expires_at. Only Create and RotateSecret ever return a
// secret.
//
// Who may do what: owners, admins and API keys (a REST Hooks client
// subscribes and unsubscribes with its key); members may not, not even
// read, since an endpoint's URL and delivery log can carry credentials.
package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/pagination"
	"github.com/leadpilot/leadpilot/internal/secrets"
)

// Defaults and limits of an endpoint (the table's CHECKs agree).
const (
	DefaultMaxConcurrency = 8
	MaxURLLength          = 2048
	MaxDescriptionLength  = 500
	// SecretPrefix starts every signing secret (Standard Webhooks).
	SecretPrefix = "whsec_"
	// secretBytes is the random part of a secret, before base64.
	secretBytes = 32
	// RotationOverlap is how long a replaced secret keeps signing.
	RotationOverlap = 24 * time.Hour
	// DefaultRetention is how long events are kept, and so how far back a
	// replay may reach, unless Options say otherwise.
	DefaultRetention = 30 * 24 * time.Hour
)

// Statuses and disable reasons (the table's CHECKs).
const (
	StatusEnabled  = "enabled"
	StatusDisabled = "disabled"

	ReasonManual  = "manual"
	ReasonFailing = "failing"
	ReasonGone    = "gone"
)

// SecretAAD is the associated data of an endpoint's current secret.
func SecretAAD(id uuid.UUID) []byte {
	return secrets.AAD("webhook_endpoints", "secret_encrypted", id.String())
}

// PreviousSecretAAD is the associated data of the secret a rotation
// replaced.
func PreviousSecretAAD(id uuid.UUID) []byte {
	return secrets.AAD("webhook_endpoints", "previous_secret_encrypted", id.String())
}

// Endpoint is a webhook endpoint as the API shows it: never its secret.
type Endpoint struct {
	ID              uuid.UUID
	URL             string
	Description     string
	EventTypes      []string
	Status          string
	DisabledReason  *string
	DisabledMessage *string
	DisabledAt      *time.Time
	FailingSince    *time.Time
	MaxConcurrency  int
	// SecretRotationExpiresAt is when the secret the last rotation
	// replaced stops signing; nil when none signs any more.
	RotationOverlapUntil *time.Time
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

// Created is a new endpoint with its secret, shown this once.
type Created struct {
	Endpoint
	Secret string
}

// Rotated is the secret a rotation made, shown this once, and when the
// one it replaced stops signing.
type Rotated struct {
	Secret       string
	OverlapUntil time.Time
}

type endpointRow struct {
	bun.BaseModel `bun:"table:webhook_endpoints"`

	ID                      uuid.UUID  `bun:"id,pk,type:uuid"`
	OrgID                   uuid.UUID  `bun:"org_id,type:uuid"`
	URL                     string     `bun:"url"`
	Description             string     `bun:"description"`
	EventTypes              []string   `bun:"event_types,array"`
	Status                  string     `bun:"status"`
	DisabledReason          *string    `bun:"disabled_reason"`
	DisabledMessage         *string    `bun:"disabled_message"`
	DisabledAt              *time.Time `bun:"disabled_at"`
	SecretEncrypted         string     `bun:"secret_encrypted"`
	PreviousSecretEncrypted *string    `bun:"previous_secret_encrypted"`
	PreviousSecretExpiresAt *time.Time `bun:"previous_secret_expires_at"`
	FailingSince            *time.Time `bun:"failing_since"`
	MaxConcurrency          int        `bun:"max_concurrency"`
	CreatedBy               *uuid.UUID `bun:"created_by,type:uuid"`
	CreatedAt               time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt               time.Time  `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

func (r endpointRow) key() uuid.UUID { return r.ID }

func (r endpointRow) view(now time.Time) Endpoint {
	e := Endpoint{
		ID: r.ID, URL: r.URL, Description: r.Description, EventTypes: r.EventTypes, Status: r.Status,
		DisabledReason: r.DisabledReason, DisabledMessage: r.DisabledMessage, DisabledAt: r.DisabledAt,
		FailingSince: r.FailingSince, MaxConcurrency: r.MaxConcurrency, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if r.PreviousSecretEncrypted != nil && r.PreviousSecretExpiresAt != nil && r.PreviousSecretExpiresAt.After(now) {
		e.RotationOverlapUntil = r.PreviousSecretExpiresAt
	}
	return e
}

// Options configure a Service.
type Options struct {
	// AllowHTTP accepts http:// URLs (WEBHOOK_ALLOW_HTTP, for local
	// development); default false: https only.
	AllowHTTP bool
	// Retention is how long events are kept (EVENTS_RETENTION): a replay
	// may reach that far back. Default DefaultRetention.
	Retention time.Duration
}

// Service manages webhook endpoints.
type Service struct {
	db        *database.DB
	keyring   *secrets.Keyring
	allowHTTP bool
	retention time.Duration
	now       func() time.Time
}

// NewService returns a Service on db that encrypts secrets with keyring.
func NewService(db *database.DB, keyring *secrets.Keyring, o Options) *Service {
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	return &Service{db: db, keyring: keyring, allowHTTP: o.AllowHTTP, retention: o.Retention, now: time.Now}
}

const manageWhat = "manage webhook endpoints"

// New is an endpoint to create.
type New struct {
	URL         string
	EventTypes  []string
	Description string
	// MaxConcurrency nil: DefaultMaxConcurrency.
	MaxConcurrency *int
}

// Create adds an endpoint and returns it with its secret.
func (s *Service) Create(ctx context.Context, a access.Actor, n New) (Created, error) {
	if err := a.RequireAdminOrKey(manageWhat); err != nil {
		return Created{}, err
	}
	var fields fault.Fields
	u := s.checkURL(&fields, "/url", n.URL)
	types := checkTypes(&fields, "/event_types", n.EventTypes)
	desc := checkDescription(&fields, "/description", n.Description)
	conc := DefaultMaxConcurrency
	if n.MaxConcurrency != nil {
		conc = checkConcurrency(&fields, "/max_concurrency", *n.MaxConcurrency)
	}
	if err := fields.Err(); err != nil {
		return Created{}, err
	}
	id := uuid.Must(uuid.NewV7())
	secret, err := newSecret()
	if err != nil {
		return Created{}, err
	}
	enc, err := s.keyring.EncryptString(secret, SecretAAD(id))
	if err != nil {
		return Created{}, fmt.Errorf("webhooks: encrypt secret: %w", err)
	}
	r := endpointRow{ID: id, OrgID: a.OrgID, URL: u, Description: desc, EventTypes: types, Status: StatusEnabled,
		SecretEncrypted: enc, MaxConcurrency: conc}
	if a.UserID != uuid.Nil {
		by := a.UserID
		r.CreatedBy = &by
	}
	err = s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		if _, err := tx.NewInsert().Model(&r).Returning("created_at, updated_at").Exec(ctx); err != nil {
			return fmt.Errorf("webhooks: create: %w", database.Interpret(err))
		}
		return nil
	})
	if err != nil {
		return Created{}, err
	}
	return Created{Endpoint: r.view(s.now()), Secret: secret}, nil
}

// List pages through the organisation's endpoints, newest first; status
// "" lists all.
func (s *Service) List(ctx context.Context, a access.Actor, status string, p pagination.Page) ([]Endpoint, *string, error) {
	if err := a.RequireAdminOrKey(manageWhat); err != nil {
		return nil, nil, err
	}
	var rows []endpointRow
	var next *string
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) (err error) {
		q := tx.NewSelect().Model((*endpointRow)(nil)).Where("org_id = ?", a.OrgID)
		if status != "" {
			q = q.Where("status = ?", status)
		}
		rows, next, err = pagination.Scan(ctx, q, "id", p, endpointRow.key)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("webhooks: list: %w", err)
	}
	now := s.now()
	out := make([]Endpoint, len(rows))
	for i, r := range rows {
		out[i] = r.view(now)
	}
	return out, next, nil
}

// load reads endpoint id of the actor's organisation, locked for update
// when lock is set; a 404 fault when there is none.
func load(ctx context.Context, tx bun.IDB, a access.Actor, id uuid.UUID, lock bool) (endpointRow, error) {
	var r endpointRow
	q := tx.NewSelect().Model(&r).Where("org_id = ? AND id = ?", a.OrgID, id)
	if lock {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		if err = database.Interpret(err); errors.Is(err, database.ErrNotFound) {
			return r, fault.NotFound("webhook endpoint")
		}
		return r, fmt.Errorf("webhooks: load %s: %w", id, err)
	}
	return r, nil
}

// Get returns one endpoint.
func (s *Service) Get(ctx context.Context, a access.Actor, id uuid.UUID) (Endpoint, error) {
	if err := a.RequireAdminOrKey(manageWhat); err != nil {
		return Endpoint{}, err
	}
	var r endpointRow
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) (err error) {
		r, err = load(ctx, tx, a, id, false)
		return err
	})
	if err != nil {
		return Endpoint{}, err
	}
	return r.view(s.now()), nil
}

// Patch changes an endpoint; nil fields stay as they are.
type Patch struct {
	URL            *string
	EventTypes     *[]string
	Description    *string
	MaxConcurrency *int
}

// Update applies p to an endpoint.
func (s *Service) Update(ctx context.Context, a access.Actor, id uuid.UUID, p Patch) (Endpoint, error) {
	if err := a.RequireAdminOrKey(manageWhat); err != nil {
		return Endpoint{}, err
	}
	var fields fault.Fields
	var u, desc string
	var types []string
	var conc int
	if p.URL != nil {
		u = s.checkURL(&fields, "/url", *p.URL)
	}
	if p.EventTypes != nil {
		types = checkTypes(&fields, "/event_types", *p.EventTypes)
	}
	if p.Description != nil {
		desc = checkDescription(&fields, "/description", *p.Description)
	}
	if p.MaxConcurrency != nil {
		conc = checkConcurrency(&fields, "/max_concurrency", *p.MaxConcurrency)
	}
	if err := fields.Err(); err != nil {
		return Endpoint{}, err
	}
	var r endpointRow
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) (err error) {
		if r, err = load(ctx, tx, a, id, true); err != nil {
			return err
		}
		if p.URL != nil {
			r.URL = u
		}
		if p.EventTypes != nil {
			r.EventTypes = types
		}
		if p.Description != nil {
			r.Description = desc
		}
		if p.MaxConcurrency != nil {
			r.MaxConcurrency = conc
		}
		_, err = tx.NewUpdate().Model(&r).Column("url", "event_types", "description", "max_concurrency").
			Set("updated_at = now()").Where("org_id = ? AND id = ?", a.OrgID, id).Returning("updated_at").Exec(ctx)
		if err != nil {
			return fmt.Errorf("webhooks: update %s: %w", id, database.Interpret(err))
		}
		return nil
	})
	if err != nil {
		return Endpoint{}, err
	}
	return r.view(s.now()), nil
}

// Delete removes an endpoint with its messages and attempts.
func (s *Service) Delete(ctx context.Context, a access.Actor, id uuid.UUID) error {
	if err := a.RequireAdminOrKey(manageWhat); err != nil {
		return err
	}
	return s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		res, err := tx.NewDelete().Model((*endpointRow)(nil)).Where("org_id = ? AND id = ?", a.OrgID, id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("webhooks: delete %s: %w", id, database.Interpret(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.NotFound("webhook endpoint")
		}
		return nil
	})
}

// Disable stops deliveries to an endpoint (reason manual) and fails the
// messages waiting for it, which a replay can queue again once it is
// enabled. A disabled endpoint stays as it is, whatever disabled it.
func (s *Service) Disable(ctx context.Context, a access.Actor, id uuid.UUID) (Endpoint, error) {
	if err := a.RequireAdminOrKey(manageWhat); err != nil {
		return Endpoint{}, err
	}
	msg := "disabled by a user"
	if a.IsAPIKey() {
		msg = "disabled with an API key"
	}
	var r endpointRow
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) (err error) {
		if r, err = load(ctx, tx, a, id, true); err != nil || r.Status == StatusDisabled {
			return err
		}
		r = endpointRow{} // RETURNING leaves a field as it was where the row has NULL
		_, err = tx.NewUpdate().Model(&r).
			Set("status = ?", StatusDisabled).Set("disabled_reason = ?", ReasonManual).Set("disabled_message = ?", msg).
			Set("disabled_at = now()").Set("updated_at = now()").
			Where("org_id = ? AND id = ?", a.OrgID, id).Returning("*").Exec(ctx)
		if err != nil {
			return fmt.Errorf("webhooks: disable %s: %w", id, database.Interpret(err))
		}
		_, err = tx.NewRaw(`UPDATE webhook_messages SET status = 'failed', last_error = 'the endpoint was disabled', locked_until = NULL
			WHERE org_id = ? AND endpoint_id = ? AND status = 'pending'`, a.OrgID, id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("webhooks: disable %s: fail pending messages: %w", id, database.Interpret(err))
		}
		return nil
	})
	if err != nil {
		return Endpoint{}, err
	}
	return r.view(s.now()), nil
}

// Enable delivers to an endpoint again, whatever disabled it, and forgets
// its failures (failing_since).
func (s *Service) Enable(ctx context.Context, a access.Actor, id uuid.UUID) (Endpoint, error) {
	if err := a.RequireAdminOrKey(manageWhat); err != nil {
		return Endpoint{}, err
	}
	var r endpointRow
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) (err error) {
		if _, err = load(ctx, tx, a, id, true); err != nil {
			return err
		}
		_, err = tx.NewUpdate().Model(&r).
			Set("status = ?", StatusEnabled).Set("disabled_reason = NULL").Set("disabled_message = NULL").
			Set("disabled_at = NULL").Set("failing_since = NULL").Set("updated_at = now()").
			Where("org_id = ? AND id = ?", a.OrgID, id).Returning("*").Exec(ctx)
		if err != nil {
			return fmt.Errorf("webhooks: enable %s: %w", id, database.Interpret(err))
		}
		return nil
	})
	if err != nil {
		return Endpoint{}, err
	}
	return r.view(s.now()), nil
}

// RotateSecret gives an endpoint a new secret; the current one moves to
// previous_secret_encrypted and keeps signing for RotationOverlap (a
// secret replaced earlier stops at once).
func (s *Service) RotateSecret(ctx context.Context, a access.Actor, id uuid.UUID) (Rotated, error) {
	if err := a.RequireAdminOrKey(manageWhat); err != nil {
		return Rotated{}, err
	}
	secret, err := newSecret()
	if err != nil {
		return Rotated{}, err
	}
	var out Rotated
	err = s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		r, err := load(ctx, tx, a, id, true)
		if err != nil {
			return err
		}
		current, err := s.keyring.DecryptString(r.SecretEncrypted, SecretAAD(id))
		if err != nil {
			return fmt.Errorf("webhooks: rotate %s: decrypt the current secret: %w", id, err)
		}
		prev, err := s.keyring.EncryptString(current, PreviousSecretAAD(id))
		if err != nil {
			return fmt.Errorf("webhooks: rotate %s: %w", id, err)
		}
		next, err := s.keyring.EncryptString(secret, SecretAAD(id))
		if err != nil {
			return fmt.Errorf("webhooks: rotate %s: %w", id, err)
		}
		err = tx.NewRaw(`UPDATE webhook_endpoints SET secret_encrypted = ?, previous_secret_encrypted = ?,
			previous_secret_expires_at = now() + ?::interval, updated_at = now()
			WHERE org_id = ? AND id = ? RETURNING previous_secret_expires_at`,
			next, prev, fmt.Sprintf("%d seconds", int64(RotationOverlap/time.Second)), a.OrgID, id).Scan(ctx, &out.OverlapUntil)
		if err != nil {
			return fmt.Errorf("webhooks: rotate %s: %w", id, database.Interpret(err))
		}
		return nil
	})
	if err != nil {
		return Rotated{}, err
	}
	out.Secret = secret
	return out, nil
}

// TestData is the data of a webhook.test event (openapi.yaml's
// WebhookTestData).
type TestData struct {
	Message    string    `json:"message"`
	EndpointID uuid.UUID `json:"endpoint_id"`
}

// SendTest records a webhook.test event queued for endpoint id only
// (enabled or not) and returns it.
func (s *Service) SendTest(ctx context.Context, a access.Actor, id uuid.UUID) (events.Event, error) {
	if err := a.RequireAdminOrKey(manageWhat); err != nil {
		return events.Event{}, err
	}
	var e events.Event
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		if _, err := load(ctx, tx, a, id, false); err != nil {
			return err
		}
		only := id
		evID, err := events.Record(ctx, tx, a.OrgID, events.New{
			Type: events.WebhookTest, ObjectID: id, OnlyEndpoint: &only,
			Data: TestData{Message: "This is a test event from LeadPilot.", EndpointID: id},
		})
		if err != nil {
			return fmt.Errorf("webhooks: test %s: %w", id, err)
		}
		e, err = events.Get(ctx, tx, a.OrgID, evID)
		return err
	})
	return e, err
}

// newSecret makes a Standard Webhooks secret: whsec_ and the base64 of
// secretBytes random bytes.
func newSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("webhooks: random secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// checkURL validates an endpoint URL and returns it with its scheme and
// host in lower case.
func (s *Service) checkURL(f *fault.Fields, field, raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		f.Add(field, "required", "must be an absolute https URL")
		return ""
	}
	if len(raw) > MaxURLLength {
		f.Add(field, "too_long", fmt.Sprintf("must be at most %d bytes", MaxURLLength))
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		f.Add(field, "invalid_url", "must be an absolute https URL")
		return ""
	}
	u.Scheme = strings.ToLower(u.Scheme)
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && s.allowHTTP:
	case u.Scheme == "http":
		f.Add(field, "https_required", "must be an https URL")
		return ""
	default:
		f.Add(field, "invalid_url", "must be an absolute https URL")
		return ""
	}
	switch {
	case u.User != nil:
		f.Add(field, "userinfo_not_allowed", "must not carry a user name or password; put a token in the path or query instead")
	case u.Hostname() == "":
		f.Add(field, "invalid_url", "must name a host")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		f.Add(field, "fragment_not_allowed", "must not have a #fragment")
	case strings.ContainsAny(raw, " \t\r\n"):
		f.Add(field, "invalid_url", "must not contain white space")
	default:
		u.Host = strings.ToLower(u.Host)
		out := u.String()
		if len(out) > MaxURLLength {
			f.Add(field, "too_long", fmt.Sprintf("must be at most %d bytes", MaxURLLength))
			return ""
		}
		return out
	}
	return ""
}

// checkTypes validates a subscription: catalogue types, or "*" alone.
// Duplicates are dropped, the order kept.
func checkTypes(f *fault.Fields, field string, ts []string) []string {
	if len(ts) == 0 {
		f.Add(field, "required", "must list at least one event type, or be [\"*\"] for all")
		return nil
	}
	out := make([]string, 0, len(ts))
	seen := map[string]bool{}
	for i, t := range ts {
		if !events.Known(t) {
			f.Add(fmt.Sprintf("%s/%d", field, i), "unknown_event_type", "is not an event type of the catalogue (GET /v1/event-types)")
			continue
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	if seen["*"] && len(out) > 1 {
		f.Add(field, "wildcard_alone", `"*" subscribes to every type and must be the only item`)
	}
	return out
}

func checkDescription(f *fault.Fields, field, d string) string {
	d = strings.TrimSpace(d)
	if len(d) > MaxDescriptionLength {
		f.Add(field, "too_long", fmt.Sprintf("must be at most %d bytes", MaxDescriptionLength))
	}
	return d
}

func checkConcurrency(f *fault.Fields, field string, n int) int {
	if n < 1 || n > 64 {
		f.Add(field, "out_of_range", "must be between 1 and 64")
	}
	return n
}
