package webhooks_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/pagination"
	"github.com/leadpilot/leadpilot/internal/secrets"
	"github.com/leadpilot/leadpilot/internal/testkit"
	"github.com/leadpilot/leadpilot/internal/webhooks"
)

func TestMain(m *testing.M) { testkit.Main(m) }

type bundle struct {
	svc     *webhooks.Service
	db      *database.DB
	owner   *database.DB
	keyring *secrets.Keyring
	org     uuid.UUID
	admin   access.Actor // an owner signed in
	member  access.Actor
	key     access.Actor // an API key
}

func setup(t *testing.T, o webhooks.Options) *bundle {
	t.Helper()
	kr, err := secrets.NewKeyring(map[string][]byte{"test": []byte("0123456789abcdef0123456789abcdef")}, "test")
	require.NoError(t, err)
	db := testkit.DB(t)
	owner := testkit.OwnerDB(t)
	org := uuid.Must(uuid.NewV7())
	_, err = owner.Pool.Exec(context.Background(), `INSERT INTO organizations (id, name, slug) VALUES ($1, 'Hooks Org', $2)`, org, "hooks-"+org.String())
	require.NoError(t, err)
	return &bundle{
		svc: webhooks.NewService(db, kr, o), db: db, owner: owner, keyring: kr, org: org,
		admin:  access.Actor{OrgID: org, Role: access.RoleOwner},
		member: access.Actor{OrgID: org, Role: access.RoleMember},
		key:    access.Actor{OrgID: org, Role: access.RoleAdmin, APIKeyID: uuid.Must(uuid.NewV7())},
	}
}

func (b *bundle) create(t *testing.T, types ...string) webhooks.Created {
	t.Helper()
	c, err := b.svc.Create(context.Background(), b.admin, webhooks.New{URL: "https://example.com/hook", EventTypes: types})
	require.NoError(t, err)
	return c
}

// record writes events of org as a domain service would.
func (b *bundle) record(t *testing.T, ns ...events.New) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	require.NoError(t, b.db.InTenant(context.Background(), database.Tenant{OrgID: b.org}, func(ctx context.Context, tx bun.IDB) error {
		var err error
		ids, err = events.RecordBatch(ctx, tx, b.org, ns)
		return err
	}))
	return ids
}

func (b *bundle) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	_, err := b.owner.Pool.Exec(context.Background(), sql, args...)
	require.NoError(t, err)
}

// messageOf returns endpoint ep's message for event ev (status, attempts),
// or "" when there is none.
func (b *bundle) messageOf(t *testing.T, ep, ev uuid.UUID) (string, int) {
	t.Helper()
	var status string
	var attempts int
	err := b.owner.Pool.QueryRow(context.Background(),
		`SELECT status, attempts FROM webhook_messages WHERE endpoint_id = $1 AND event_id = $2`, ep, ev).Scan(&status, &attempts)
	if err != nil && strings.Contains(err.Error(), "no rows") {
		return "", 0
	}
	require.NoError(t, err)
	return status, attempts
}

func requireKind(t *testing.T, err error, k fault.Kind) *fault.Error {
	t.Helper()
	require.Error(t, err)
	fe, ok := fault.As(err)
	require.True(t, ok, "a fault: %v", err)
	require.Equal(t, k, fe.Kind, "%v", err)
	return fe
}

func TestCreateValidates(t *testing.T) {
	t.Parallel()
	b := setup(t, webhooks.Options{})
	dev := setup(t, webhooks.Options{AllowHTTP: true})
	for name, tc := range map[string]struct {
		svc   *bundle
		url   string
		types []string
		field string
		code  string
	}{
		"HTTPIsRefused":            {b, "http://example.com/hook", []string{"*"}, "/url", "https_required"},
		"OtherSchemesAreRefused":   {b, "ftp://example.com/hook", []string{"*"}, "/url", "invalid_url"},
		"ARelativeURLIsRefused":    {b, "/hook", []string{"*"}, "/url", "invalid_url"},
		"UserInfoIsRefused":        {b, "https://user:pass@example.com/hook", []string{"*"}, "/url", "userinfo_not_allowed"},
		"AFragmentIsRefused":       {b, "https://example.com/hook#x", []string{"*"}, "/url", "fragment_not_allowed"},
		"ALongURLIsRefused":        {b, "https://example.com/" + strings.Repeat("a", 2048), []string{"*"}, "/url", "too_long"},
		"AnUnknownTypeIsRefused":   {b, "https://example.com/hook", []string{"lead.created", "lead.exploded"}, "/event_types/1", "unknown_event_type"},
		"StarMustBeAlone":          {b, "https://example.com/hook", []string{"*", "lead.created"}, "/event_types", "wildcard_alone"},
		"NoTypesIsRefused":         {b, "https://example.com/hook", nil, "/event_types", "required"},
		"HTTPIsRefusedOnlyByHTTPS": {dev, "http://user@example.com/hook", []string{"*"}, "/url", "userinfo_not_allowed"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := tc.svc.svc.Create(context.Background(), tc.svc.admin, webhooks.New{URL: tc.url, EventTypes: tc.types})
			fe := requireKind(t, err, fault.KindInvalid)
			require.Equal(t, tc.field, fe.Fields[0].Field)
			require.Equal(t, tc.code, fe.Fields[0].Code)
		})
	}

	t.Run("HTTPWhenAllowedAndDuplicatesDropped", func(t *testing.T) {
		t.Parallel()
		c, err := dev.svc.Create(context.Background(), dev.admin, webhooks.New{URL: "HTTP://LocalHost:8080/Hook?x=1",
			EventTypes: []string{"lead.created", "lead.updated", "lead.created"}, Description: "  local  "})
		require.NoError(t, err)
		require.Equal(t, "http://localhost:8080/Hook?x=1", c.URL, "scheme and host lower-cased, the rest kept")
		require.Equal(t, []string{"lead.created", "lead.updated"}, c.EventTypes)
		require.Equal(t, "local", c.Description)
		require.Equal(t, webhooks.DefaultMaxConcurrency, c.MaxConcurrency)
		require.Equal(t, webhooks.StatusEnabled, c.Status)
		require.Nil(t, c.RotationOverlapUntil)
	})
}

func TestSecretIsShownOnceAndStoredEncrypted(t *testing.T) {
	t.Parallel()
	b := setup(t, webhooks.Options{})
	c := b.create(t, "*")
	raw, ok := strings.CutPrefix(c.Secret, webhooks.SecretPrefix)
	require.True(t, ok, "a whsec_ secret")
	key, err := base64.StdEncoding.DecodeString(raw)
	require.NoError(t, err)
	require.Len(t, key, 32)

	var stored string
	require.NoError(t, b.owner.Pool.QueryRow(context.Background(), `SELECT secret_encrypted FROM webhook_endpoints WHERE id = $1`, c.ID).Scan(&stored))
	require.NotContains(t, stored, raw, "stored encrypted")
	plain, err := b.keyring.DecryptString(stored, webhooks.SecretAAD(c.ID))
	require.NoError(t, err)
	require.Equal(t, c.Secret, plain)
	_, err = b.keyring.DecryptString(stored, webhooks.SecretAAD(uuid.Must(uuid.NewV7())))
	require.ErrorIs(t, err, secrets.ErrDecrypt, "bound to its row")

	other := b.create(t, "*")
	require.NotEqual(t, c.Secret, other.Secret)
}

func TestRotateSecretKeepsTheOldOneSigningForADay(t *testing.T) {
	t.Parallel()
	b := setup(t, webhooks.Options{})
	ctx := context.Background()
	c := b.create(t, "*")
	before := time.Now()
	r, err := b.svc.RotateSecret(ctx, b.key, c.ID)
	require.NoError(t, err)
	after := time.Now()
	require.NotEqual(t, c.Secret, r.Secret)
	require.True(t, strings.HasPrefix(r.Secret, webhooks.SecretPrefix))
	require.WithinRange(t, r.OverlapUntil, before.Add(webhooks.RotationOverlap-time.Second), after.Add(webhooks.RotationOverlap+time.Second))

	var cur, prev string
	var expires time.Time
	require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT secret_encrypted, previous_secret_encrypted, previous_secret_expires_at
		FROM webhook_endpoints WHERE id = $1`, c.ID).Scan(&cur, &prev, &expires))
	got, err := b.keyring.DecryptString(cur, webhooks.SecretAAD(c.ID))
	require.NoError(t, err)
	require.Equal(t, r.Secret, got, "the new secret signs")
	got, err = b.keyring.DecryptString(prev, webhooks.PreviousSecretAAD(c.ID))
	require.NoError(t, err)
	require.Equal(t, c.Secret, got, "the old one is kept, under its own column's AAD")
	require.True(t, expires.Equal(r.OverlapUntil))

	e, err := b.svc.Get(ctx, b.admin, c.ID)
	require.NoError(t, err)
	require.NotNil(t, e.RotationOverlapUntil)
	require.True(t, e.RotationOverlapUntil.Equal(r.OverlapUntil))

	r2, err := b.svc.RotateSecret(ctx, b.admin, c.ID)
	require.NoError(t, err)
	require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT previous_secret_encrypted FROM webhook_endpoints WHERE id = $1`, c.ID).Scan(&prev))
	got, err = b.keyring.DecryptString(prev, webhooks.PreviousSecretAAD(c.ID))
	require.NoError(t, err)
	require.Equal(t, r.Secret, got, "a second rotation keeps the secret it replaced, and drops the first")
	require.NotEqual(t, r.Secret, r2.Secret)

	b.exec(t, `UPDATE webhook_endpoints SET previous_secret_expires_at = now() - interval '1 second' WHERE id = $1`, c.ID)
	e, err = b.svc.Get(ctx, b.admin, c.ID)
	require.NoError(t, err)
	require.Nil(t, e.RotationOverlapUntil, "no overlap once it expired")
}

func TestWhoMayManageEndpoints(t *testing.T) {
	t.Parallel()
	b := setup(t, webhooks.Options{})
	ctx := context.Background()
	c := b.create(t, "*")
	ev := b.record(t, events.New{Type: events.LeadCreated, Data: map[string]any{}})[0]
	page := pagination.Page{Limit: 10}
	ops := map[string]func(a access.Actor) error{
		"Create": func(a access.Actor) error {
			_, err := b.svc.Create(ctx, a, webhooks.New{URL: "https://example.com/x", EventTypes: []string{"*"}})
			return err
		},
		"List":   func(a access.Actor) error { _, _, err := b.svc.List(ctx, a, "", page); return err },
		"Get":    func(a access.Actor) error { _, err := b.svc.Get(ctx, a, c.ID); return err },
		"Update": func(a access.Actor) error { _, err := b.svc.Update(ctx, a, c.ID, webhooks.Patch{}); return err },
		"Disable": func(a access.Actor) error {
			_, err := b.svc.Disable(ctx, a, c.ID)
			return err
		},
		"Enable":   func(a access.Actor) error { _, err := b.svc.Enable(ctx, a, c.ID); return err },
		"Rotate":   func(a access.Actor) error { _, err := b.svc.RotateSecret(ctx, a, c.ID); return err },
		"Test":     func(a access.Actor) error { _, err := b.svc.SendTest(ctx, a, c.ID); return err },
		"Messages": func(a access.Actor) error { _, _, err := b.svc.Messages(ctx, a, c.ID, "", page); return err },
		"Attempts": func(a access.Actor) error { _, _, err := b.svc.Attempts(ctx, a, c.ID, nil, page); return err },
		"ReplayMessage": func(a access.Actor) error {
			_, err := b.svc.ReplayMessage(ctx, a, c.ID, ev)
			return err
		},
		"Replay": func(a access.Actor) error {
			_, err := b.svc.Replay(ctx, a, c.ID, webhooks.Replay{Since: time.Now().Add(-time.Hour), OnlyFailed: true})
			return err
		},
	}
	for name, op := range ops {
		t.Run(name+"RefusesMembers", func(t *testing.T) {
			requireKind(t, op(b.member), fault.KindForbidden)
		})
	}
	// Sequentially: Disable and Enable, Replay… touch the same endpoint.
	for _, name := range []string{"Create", "List", "Get", "Update", "Disable", "Enable", "Rotate", "Test", "Messages", "Attempts", "ReplayMessage", "Replay"} {
		for who, a := range map[string]access.Actor{"Owner": b.admin, "Admin": {OrgID: b.org, Role: access.RoleAdmin}, "APIKey": b.key} {
			require.NoError(t, ops[name](a), "%s as %s", name, who)
		}
	}
	require.NoError(t, b.svc.Delete(ctx, b.key, c.ID), "an API key unsubscribes (REST Hooks)")
	requireKind(t, b.svc.Delete(ctx, b.member, c.ID), fault.KindForbidden)
}

func TestAnotherOrganisationsEndpointIsNotFound(t *testing.T) {
	t.Parallel()
	a := setup(t, webhooks.Options{})
	other := setup(t, webhooks.Options{})
	ctx := context.Background()
	c := a.create(t, "*")
	ev := a.record(t, events.New{Type: events.LeadCreated, Data: map[string]any{}})[0]
	_, err := other.svc.Get(ctx, other.admin, c.ID)
	requireKind(t, err, fault.KindNotFound)
	_, err = other.svc.RotateSecret(ctx, other.admin, c.ID)
	requireKind(t, err, fault.KindNotFound)
	_, err = other.svc.SendTest(ctx, other.admin, c.ID)
	requireKind(t, err, fault.KindNotFound)
	requireKind(t, other.svc.Delete(ctx, other.admin, c.ID), fault.KindNotFound)
	own := other.create(t, "*")
	_, err = other.svc.ReplayMessage(ctx, other.admin, own.ID, ev)
	fe := requireKind(t, err, fault.KindNotFound)
	require.Contains(t, fe.Detail, "event", "another organisation's event is not found either")
	got, err := a.svc.Get(ctx, a.admin, c.ID)
	require.NoError(t, err)
	require.Equal(t, c.Endpoint.URL, got.URL)
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	b := setup(t, webhooks.Options{})
	ctx := context.Background()
	c := b.create(t, "lead.created")
	n := 3
	e, err := b.svc.Update(ctx, b.admin, c.ID, webhooks.Patch{URL: ptr("https://example.org/new"), EventTypes: &[]string{"*"}, MaxConcurrency: &n})
	require.NoError(t, err)
	require.Equal(t, "https://example.org/new", e.URL)
	require.Equal(t, []string{"*"}, e.EventTypes)
	require.Equal(t, 3, e.MaxConcurrency)
	require.Empty(t, e.Description, "left as it was")
	require.False(t, e.UpdatedAt.Before(c.UpdatedAt))
	_, err = b.svc.Update(ctx, b.admin, c.ID, webhooks.Patch{URL: ptr("http://example.org/new")})
	requireKind(t, err, fault.KindInvalid)
	got, err := b.svc.Get(ctx, b.admin, c.ID)
	require.NoError(t, err)
	require.Equal(t, e.URL, got.URL, "a refused change changes nothing")
	_, err = b.svc.Update(ctx, b.admin, uuid.Must(uuid.NewV7()), webhooks.Patch{})
	requireKind(t, err, fault.KindNotFound)
}

func ptr[T any](v T) *T { return &v }

func TestDisableAndEnable(t *testing.T) {
	t.Parallel()
	b := setup(t, webhooks.Options{})
	ctx := context.Background()
	c := b.create(t, "*")
	ids := b.record(t, events.New{Type: events.LeadCreated, Data: map[string]any{}}, events.New{Type: events.LeadUpdated, Data: map[string]any{}})
	b.exec(t, `UPDATE webhook_messages SET status = 'succeeded' WHERE endpoint_id = $1 AND event_id = $2`, c.ID, ids[0])

	e, err := b.svc.Disable(ctx, b.key, c.ID)
	require.NoError(t, err)
	require.Equal(t, webhooks.StatusDisabled, e.Status)
	require.Equal(t, webhooks.ReasonManual, *e.DisabledReason)
	require.Equal(t, "disabled with an API key", *e.DisabledMessage)
	require.NotNil(t, e.DisabledAt)
	st, _ := b.messageOf(t, c.ID, ids[1])
	require.Equal(t, "failed", st, "what waited is failed")
	st, _ = b.messageOf(t, c.ID, ids[0])
	require.Equal(t, "succeeded", st, "what was delivered stays delivered")

	later := b.record(t, events.New{Type: events.LeadCreated, Data: map[string]any{}})[0]
	st, _ = b.messageOf(t, c.ID, later)
	require.Empty(t, st, "a disabled endpoint gets no new messages")

	// A failing endpoint disabled by the delivery side.
	b.exec(t, `UPDATE webhook_endpoints SET disabled_reason = 'failing', disabled_message = 'HTTP 500 for 5 days', failing_since = now() - interval '5 days' WHERE id = $1`, c.ID)
	again, err := b.svc.Disable(ctx, b.admin, c.ID)
	require.NoError(t, err)
	require.Equal(t, webhooks.ReasonFailing, *again.DisabledReason, "disabling a disabled endpoint keeps its reason")

	e, err = b.svc.Enable(ctx, b.admin, c.ID)
	require.NoError(t, err)
	require.Equal(t, webhooks.StatusEnabled, e.Status)
	require.Nil(t, e.DisabledReason)
	require.Nil(t, e.DisabledMessage)
	require.Nil(t, e.DisabledAt)
	require.Nil(t, e.FailingSince)
}

func TestSendTestQueuesOneMessageForThatEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t, webhooks.Options{})
	ctx := context.Background()
	target := b.create(t, "lead.created")
	bystander := b.create(t, "*")
	_, err := b.svc.Disable(ctx, b.admin, target.ID)
	require.NoError(t, err)

	e, err := b.svc.SendTest(ctx, b.admin, target.ID)
	require.NoError(t, err)
	require.Equal(t, string(events.WebhookTest), e.Type)
	require.Equal(t, "webhook_endpoint", e.ObjectType)
	require.Equal(t, target.ID, *e.ObjectID)
	require.JSONEq(t, `{"message":"This is a test event from LeadPilot.","endpoint_id":"`+target.ID.String()+`"}`, string(e.Data))
	var n int
	require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT count(*) FROM webhook_messages WHERE event_id = $1`, e.ID).Scan(&n))
	require.Equal(t, 1, n, "exactly one message")
	st, _ := b.messageOf(t, target.ID, e.ID)
	require.Equal(t, "pending", st, "for the target, even disabled")
	st, _ = b.messageOf(t, bystander.ID, e.ID)
	require.Empty(t, st, "none for an endpoint subscribed to everything")
}

func TestReplayMessage(t *testing.T) {
	t.Parallel()
	b := setup(t, webhooks.Options{})
	ctx := context.Background()
	early := b.record(t, events.New{Type: events.CampaignCreated, Data: map[string]any{}})[0] // before the endpoint existed
	c := b.create(t, "lead.created")
	ev := b.record(t, events.New{Type: events.LeadCreated, Data: map[string]any{}})[0]
	b.exec(t, `UPDATE webhook_messages SET status = 'failed', attempts = 9, next_attempt_at = now() - interval '1 day',
		last_status_code = 500, last_error = 'HTTP 500' WHERE endpoint_id = $1 AND event_id = $2`, c.ID, ev)

	m, err := b.svc.ReplayMessage(ctx, b.admin, c.ID, ev)
	require.NoError(t, err)
	require.Equal(t, ev, m.EventID)
	require.Equal(t, "lead.created", m.EventType)
	require.Equal(t, "pending", m.Status)
	require.Zero(t, m.Attempts, "the whole retry schedule again")
	require.NotNil(t, m.NextAt)
	require.WithinDuration(t, time.Now(), *m.NextAt, time.Minute, "due now")
	require.Equal(t, 500, *m.LastCode, "the last result stays visible")

	m, err = b.svc.ReplayMessage(ctx, b.admin, c.ID, early)
	require.NoError(t, err)
	require.Equal(t, "pending", m.Status, "an event it never got is queued for it")
	require.Equal(t, "campaign.created", m.EventType)

	b.exec(t, `UPDATE webhook_messages SET status = 'sending', attempts = 2, locked_until = now() + interval '1 minute' WHERE endpoint_id = $1 AND event_id = $2`, c.ID, ev)
	m, err = b.svc.ReplayMessage(ctx, b.admin, c.ID, ev)
	require.NoError(t, err)
	require.Equal(t, "sending", m.Status, "a delivery under way is left alone")
	require.Equal(t, 2, m.Attempts)

	_, err = b.svc.ReplayMessage(ctx, b.admin, c.ID, uuid.Must(uuid.NewV7()))
	requireKind(t, err, fault.KindNotFound)
	_, err = b.svc.Disable(ctx, b.admin, c.ID)
	require.NoError(t, err)
	_, err = b.svc.ReplayMessage(ctx, b.admin, c.ID, ev)
	fe := requireKind(t, err, fault.KindConflict)
	require.Equal(t, "endpoint_disabled", fe.Code)
}

func TestReplaySince(t *testing.T) {
	t.Parallel()
	b := setup(t, webhooks.Options{Retention: 48 * time.Hour})
	ctx := context.Background()
	// An event of 3 hours ago, its id and time as Record wrote them then.
	old, r := events.IDAt(time.Now().Add(-3*time.Hour)), uuid.New()
	copy(old[7:], r[7:])
	old[8] = old[8]&0x3f | 0x80
	b.exec(t, `INSERT INTO events (id, org_id, type, object_type, data, occurred_at)
		VALUES ($1, $2, 'lead.created', 'lead', '{}', now() - interval '3 hours')`, old, b.org)
	c := b.create(t, "lead.created", "lead.updated")
	other := b.create(t, "*")
	since := time.Now().Add(-time.Hour)
	ids := b.record(t,
		events.New{Type: events.LeadCreated, Data: map[string]any{}},     // 0: will have succeeded
		events.New{Type: events.LeadUpdated, Data: map[string]any{}},     // 1: will have failed
		events.New{Type: events.LeadUpdated, Data: map[string]any{}},     // 2: still pending
		events.New{Type: events.CampaignCreated, Data: map[string]any{}}, // 3: not subscribed
	)
	b.exec(t, `UPDATE webhook_messages SET status = 'succeeded', attempts = 1 WHERE endpoint_id = $1 AND event_id = $2`, c.ID, ids[0])
	b.exec(t, `UPDATE webhook_messages SET status = 'failed', attempts = 12 WHERE endpoint_id = $1 AND event_id = $2`, c.ID, ids[1])
	// A lead.created it never got (written while it was disabled).
	missed := uuid.Must(uuid.NewV7())
	b.exec(t, `INSERT INTO events (id, org_id, type, object_type, data) VALUES ($1, $2, 'lead.created', 'lead', '{}')`, missed, b.org)
	testEv, err := b.svc.SendTest(ctx, b.admin, other.ID) // a test event of another endpoint
	require.NoError(t, err)
	b.exec(t, `UPDATE webhook_messages SET status = 'failed' WHERE event_id = $1`, testEv.ID)

	n, err := b.svc.Replay(ctx, b.key, c.ID, webhooks.Replay{Since: since, OnlyFailed: true})
	require.NoError(t, err)
	require.EqualValues(t, 2, n, "the failed message and the missed event")
	st, att := b.messageOf(t, c.ID, ids[1])
	require.Equal(t, "pending", st)
	require.Zero(t, att)
	st, _ = b.messageOf(t, c.ID, missed)
	require.Equal(t, "pending", st)
	st, _ = b.messageOf(t, c.ID, ids[0])
	require.Equal(t, "succeeded", st, "only_failed leaves what succeeded")
	for _, ev := range []uuid.UUID{ids[3], old, testEv.ID} {
		st, _ = b.messageOf(t, c.ID, ev)
		require.Empty(t, st, "not subscribed, before since, or another endpoint's test")
	}

	n, err = b.svc.Replay(ctx, b.key, c.ID, webhooks.Replay{Since: since, OnlyFailed: false})
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "then what succeeded; pending ones are left alone")
	st, _ = b.messageOf(t, c.ID, ids[0])
	require.Equal(t, "pending", st)

	until := time.Now().Add(-30 * time.Minute)
	n, err = b.svc.Replay(ctx, b.key, other.ID, webhooks.Replay{Since: since, Until: &until, OnlyFailed: false})
	require.NoError(t, err)
	require.Zero(t, n, "nothing occurred in that window")
	n, err = b.svc.Replay(ctx, b.key, other.ID, webhooks.Replay{Since: time.Now().Add(-4 * time.Hour), OnlyFailed: true})
	require.NoError(t, err)
	require.EqualValues(t, 3, n, "its failed test event, the missed event and the old one (3 h ago)")

	_, err = b.svc.Replay(ctx, b.key, c.ID, webhooks.Replay{Since: time.Now().Add(-49 * time.Hour)})
	fe := requireKind(t, err, fault.KindInvalid)
	require.Equal(t, "/since", fe.Fields[0].Field, "bounded by the retention")
	_, err = b.svc.Replay(ctx, b.key, c.ID, webhooks.Replay{Since: since, Until: &since})
	fe = requireKind(t, err, fault.KindInvalid)
	require.Equal(t, "/until", fe.Fields[0].Field)
}

func TestMessagesAndAttempts(t *testing.T) {
	t.Parallel()
	b := setup(t, webhooks.Options{})
	ctx := context.Background()
	c := b.create(t, "*")
	var ids []uuid.UUID
	for range 5 {
		ids = append(ids, b.record(t, events.New{Type: events.LeadCreated, Data: map[string]any{}})...)
	}
	b.exec(t, `UPDATE webhook_messages SET status = 'failed', attempts = 3, last_status_code = 503, last_error = 'HTTP 503',
		last_attempt_at = now() WHERE endpoint_id = $1 AND event_id = ANY($2)`, c.ID, []uuid.UUID{ids[1], ids[3]})
	for i, ev := range []uuid.UUID{ids[1], ids[1], ids[3]} {
		b.exec(t, `INSERT INTO webhook_attempts (id, org_id, endpoint_id, event_id, status_code, latency_ms, succeeded, error, response_snippet)
			VALUES ($1, $2, $3, $4, 503, $5, false, 'HTTP 503', 'busy')`, uuid.Must(uuid.NewV7()), b.org, c.ID, ev, 10+i)
	}

	var seen []uuid.UUID
	for cur := (pagination.Page{Limit: 2}); ; {
		ms, next, err := b.svc.Messages(ctx, b.admin, c.ID, "", cur)
		require.NoError(t, err)
		for _, m := range ms {
			seen = append(seen, m.EventID)
		}
		if next == nil {
			break
		}
		cur, err = pagination.Parse(&cur.Limit, next)
		require.NoError(t, err)
	}
	require.Equal(t, []uuid.UUID{ids[4], ids[3], ids[2], ids[1], ids[0]}, seen, "newest event first, every message once")

	failed, next, err := b.svc.Messages(ctx, b.admin, c.ID, "failed", pagination.Page{Limit: 10})
	require.NoError(t, err)
	require.Nil(t, next)
	require.Len(t, failed, 2)
	require.Equal(t, ids[3], failed[0].EventID)
	require.Equal(t, 503, *failed[0].LastCode)
	require.Nil(t, failed[0].NextAt, "no next attempt once failed")

	all, _, err := b.svc.Attempts(ctx, b.admin, c.ID, nil, pagination.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, all, 3)
	require.Equal(t, ids[3], all[0].EventID, "newest attempt first")
	require.Equal(t, 12, all[0].LatencyMS)
	require.Equal(t, "busy", *all[0].ResponseSnippet)
	one, _, err := b.svc.Attempts(ctx, b.admin, c.ID, &ids[1], pagination.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, one, 2)
	for _, a := range one {
		require.Equal(t, ids[1], a.EventID)
	}
	_, _, err = b.svc.Messages(ctx, b.admin, uuid.Must(uuid.NewV7()), "", pagination.Page{Limit: 10})
	requireKind(t, err, fault.KindNotFound)
}

func TestReplayWakesTheDispatcherOnCommit(t *testing.T) {
	t.Parallel()
	b := setup(t, webhooks.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := b.create(t, "lead.created")
	ev := b.record(t, events.New{Type: events.LeadCreated, Data: map[string]any{}})[0]
	b.exec(t, `UPDATE webhook_messages SET status = 'failed' WHERE event_id = $1`, ev)

	conn, err := pgx.Connect(ctx, testkit.URL(t))
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "LISTEN "+events.NotifyChannel)
	require.NoError(t, err)

	for name, replay := range map[string]func() error{
		"One": func() error { _, err := b.svc.ReplayMessage(ctx, b.admin, c.ID, ev); return err },
		"Since": func() error {
			b.exec(t, `UPDATE webhook_messages SET status = 'failed' WHERE event_id = $1`, ev)
			_, err := b.svc.Replay(ctx, b.admin, c.ID, webhooks.Replay{Since: time.Now().Add(-time.Hour), OnlyFailed: true})
			return err
		},
	} {
		require.NoError(t, replay(), name)
		for {
			n, err := conn.WaitForNotification(ctx)
			require.NoError(t, err, "%s: the endpoint's notification arrives after commit", name)
			if n.Payload == c.ID.String() {
				break
			}
		}
	}
}
