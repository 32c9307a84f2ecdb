package webhookdelivery_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/secrets"
	"github.com/leadpilot/leadpilot/internal/testkit"
	"github.com/leadpilot/leadpilot/internal/webhookdelivery"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// clock is real time plus an offset the test moves forward: rows written
// with the database's or Go's own time stay due, and no test sleeps.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// bundle is what a test gets from setup.
type bundle struct {
	t       *testing.T
	db      *database.DB // the app role, as the worker runs
	owner   *database.DB // fixtures and checks
	keyring *secrets.Keyring
	clock   *clock
	logger  *slog.Logger
}

func setup(t *testing.T) *bundle {
	t.Helper()
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	kr, err := secrets.NewKeyring(map[string][]byte{"k1": key}, "k1")
	require.NoError(t, err)
	return &bundle{t: t, db: testkit.DB(t), owner: testkit.OwnerDB(t), keyring: kr, clock: &clock{},
		logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
}

// engine returns an engine on the test's clock that may reach loopback
// over plain http, without jitter; cfg's set fields win.
func (b *bundle) engine(cfg webhookdelivery.Config) *webhookdelivery.Engine {
	if cfg.Now == nil {
		cfg.Now = b.clock.Now
	}
	if cfg.HTTP.AllowCIDRs == nil {
		cfg.HTTP.AllowCIDRs = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	if !cfg.AllowHTTP {
		cfg.AllowHTTP = true
	}
	if cfg.Jitter == 0 {
		cfg.Jitter = -1
	}
	if cfg.Logger == nil {
		cfg.Logger = b.logger
	}
	return webhookdelivery.New(b.db, b.keyring, cfg)
}

func (b *bundle) exec(sql string, args ...any) {
	b.t.Helper()
	_, err := b.owner.Pool.Exec(context.Background(), sql, args...)
	require.NoError(b.t, err)
}

// org makes an organisation with an owner, an admin and a member, and
// returns the org and its owner and admin.
func (b *bundle) org() (org uuid.UUID, owner, admin uuid.UUID) {
	org = uuid.Must(uuid.NewV7())
	b.exec(`INSERT INTO organizations (id, name, slug) VALUES ($1, 'Acme', $2)`, org, "acme-"+org.String())
	users := map[string]uuid.UUID{}
	for _, role := range []string{"owner", "admin", "member"} {
		u := uuid.Must(uuid.NewV7())
		b.exec(`INSERT INTO users (id, email, password_hash) VALUES ($1, $2, 'x')`, u, fmt.Sprintf("%s-%s@example.com", role, u))
		b.exec(`INSERT INTO memberships (id, org_id, user_id, role) VALUES ($1, $2, $3, $4)`, uuid.Must(uuid.NewV7()), org, u, role)
		users[role] = u
	}
	return org, users["owner"], users["admin"]
}

func newSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 24)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return webhookdelivery.SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// endpointOpts are an endpoint's fixture options; zero means the default.
type endpointOpts struct {
	maxConcurrency int
	previous       string    // a previous secret, signing until previousUntil
	previousUntil  time.Time //
	description    string
}

// endpoint inserts an enabled endpoint receiving every event type and
// returns its id and secret.
func (b *bundle) endpoint(org uuid.UUID, url string, o endpointOpts) (uuid.UUID, string) {
	b.t.Helper()
	id := uuid.Must(uuid.NewV7())
	secret := newSecret(b.t)
	enc, err := b.keyring.EncryptString(secret, secrets.AAD("webhook_endpoints", "secret_encrypted", id.String()))
	require.NoError(b.t, err)
	if o.maxConcurrency == 0 {
		o.maxConcurrency = 8
	}
	var prev *string
	var prevUntil *time.Time
	if o.previous != "" {
		p, err := b.keyring.EncryptString(o.previous, secrets.AAD("webhook_endpoints", "previous_secret_encrypted", id.String()))
		require.NoError(b.t, err)
		prev, prevUntil = &p, &o.previousUntil
	}
	b.exec(`INSERT INTO webhook_endpoints (id, org_id, url, description, event_types, secret_encrypted,
		previous_secret_encrypted, previous_secret_expires_at, max_concurrency)
		VALUES ($1, $2, $3, $4, '{*}', $5, $6, $7, $8)`, id, org, url, o.description, enc, prev, prevUntil, o.maxConcurrency)
	return id, secret
}

// record writes n lead.created events for org, as a domain service does,
// and returns their ids in order.
func (b *bundle) record(org uuid.UUID, n int) []uuid.UUID {
	b.t.Helper()
	ns := make([]events.New, n)
	for i := range ns {
		obj := uuid.Must(uuid.NewV7())
		ns[i] = events.New{Type: events.LeadCreated, ObjectID: obj, Data: map[string]any{"id": obj, "email": fmt.Sprintf("lead%d@example.com", i)}}
	}
	var ids []uuid.UUID
	err := b.db.InTenant(context.Background(), database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		var err error
		ids, err = events.RecordBatch(ctx, tx, org, ns)
		return err
	})
	require.NoError(b.t, err)
	return ids
}

// messageRow is a webhook_messages row as the owner reads it.
type messageRow struct {
	Status         string
	Attempts       int
	NextAttemptAt  time.Time
	LastStatusCode *int
	LastError      *string
}

func (b *bundle) message(endpoint, event uuid.UUID) messageRow {
	b.t.Helper()
	var m messageRow
	err := b.owner.Pool.QueryRow(context.Background(), `SELECT status, attempts, next_attempt_at, last_status_code, last_error
		FROM webhook_messages WHERE endpoint_id = $1 AND event_id = $2`, endpoint, event).
		Scan(&m.Status, &m.Attempts, &m.NextAttemptAt, &m.LastStatusCode, &m.LastError)
	require.NoError(b.t, err)
	return m
}

func (b *bundle) count(sql string, args ...any) int {
	b.t.Helper()
	var n int
	require.NoError(b.t, b.owner.Pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// delivery is one request a receiver got.
type delivery struct {
	header http.Header
	body   []byte
}

// receiver is a local HTTP server that records what it gets and answers
// with respond (default 204).
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []delivery
	respond func(w http.ResponseWriter, r *http.Request, n int) // n: 1 for the first request
}

func newReceiver(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, n int)) *receiver {
	t.Helper()
	rc := &receiver{respond: respond}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.got = append(rc.got, delivery{header: r.Header.Clone(), body: body})
	n := len(rc.got)
	rc.mu.Unlock()
	if rc.respond == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	rc.respond(w, r, n)
}

func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...)
}

func (rc *receiver) ids() []string {
	var out []string
	for _, d := range rc.deliveries() {
		out = append(out, d.header.Get("webhook-id"))
	}
	return out
}

func strs(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

func (b *bundle) lastAttemptAt(endpoint, event uuid.UUID) time.Time {
	b.t.Helper()
	var at time.Time
	require.NoError(b.t, b.owner.Pool.QueryRow(context.Background(), `SELECT max(attempted_at) FROM webhook_attempts
		WHERE endpoint_id = $1 AND event_id = $2`, endpoint, event).Scan(&at))
	return at
}

func (b *bundle) failingSince(endpoint uuid.UUID) *time.Time {
	b.t.Helper()
	var at *time.Time
	require.NoError(b.t, b.owner.Pool.QueryRow(context.Background(),
		`SELECT failing_since FROM webhook_endpoints WHERE id = $1`, endpoint).Scan(&at))
	return at
}

type endpointState struct {
	status     string
	reason     *string
	message    *string
	disabledAt *time.Time
}

func (b *bundle) endpointStatus(endpoint uuid.UUID) endpointState {
	b.t.Helper()
	var s endpointState
	require.NoError(b.t, b.owner.Pool.QueryRow(context.Background(),
		`SELECT status, disabled_reason, disabled_message, disabled_at FROM webhook_endpoints WHERE id = $1`, endpoint).
		Scan(&s.status, &s.reason, &s.message, &s.disabledAt))
	return s
}

func (b *bundle) loopback() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

func loopbackPrefixes() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}
