package idempotency

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/secrets"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func setup(t *testing.T) (*Store, database.Tenant, *time.Time) {
	t.Helper()
	owner := testkit.OwnerDB(t)
	org := uuid.Must(uuid.NewV7())
	_, err := owner.Pool.Exec(context.Background(), `INSERT INTO organizations (id, name, slug) VALUES ($1, 'Idem', $2)`, org, "idem-"+org.String())
	require.NoError(t, err)
	now := time.Now()
	kr, err := secrets.NewKeyring(map[string][]byte{"k": make([]byte, 32)}, "k")
	require.NoError(t, err)
	s := NewStore(testkit.DB(t), kr)
	s.now = func() time.Time { return now }
	return s, database.Tenant{OrgID: org}, &now
}

func TestStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("ASecondBeginWhileTheFirstRunsIsAConflict", func(t *testing.T) {
		t.Parallel()
		s, tenant, _ := setup(t)
		r := Request{Tenant: tenant, Principal: "user:1", Key: "k", Method: "POST", Path: "/v1/x", Body: []byte(`{"a":1}`)}
		replay, _, err := s.Begin(ctx, r)
		require.NoError(t, err)
		require.Nil(t, replay)
		_, _, err = s.Begin(ctx, r)
		fe, ok := fault.As(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, "idempotency_key_in_progress", fe.Code)
	})

	t.Run("ACompletedResponseIsReplayed", func(t *testing.T) {
		t.Parallel()
		s, tenant, _ := setup(t)
		r := Request{Tenant: tenant, Principal: "user:1", Key: "k", Method: "POST", Path: "/v1/x", Body: []byte(`{"a":1,"b":[1,2]}`)}
		_, claim, err := s.Begin(ctx, r)
		require.NoError(t, err)
		hdr := http.Header{"Content-Type": {"application/json"}}
		require.NoError(t, s.Complete(ctx, r, claim, Response{Status: 201, Headers: hdr, Body: []byte(`{"id":"x"}`)}))
		r.Body = []byte(`{ "b": [1, 2], "a": 1 }`) // same JSON, other spelling
		replay, _, err := s.Begin(ctx, r)
		require.NoError(t, err)
		require.NotNil(t, replay)
		require.Equal(t, 201, replay.Status)
		require.Equal(t, `{"id":"x"}`, string(replay.Body))
		require.Equal(t, "application/json", replay.Headers.Get("Content-Type"))
	})

	t.Run("ADifferentBodyIsAConflict", func(t *testing.T) {
		t.Parallel()
		s, tenant, _ := setup(t)
		r := Request{Tenant: tenant, Principal: "user:1", Key: "k", Method: "POST", Path: "/v1/x", Body: []byte(`{"a":1}`)}
		_, claim, err := s.Begin(ctx, r)
		require.NoError(t, err)
		require.NoError(t, s.Complete(ctx, r, claim, Response{Status: 201}))
		r.Body = []byte(`{"a":2}`)
		_, _, err = s.Begin(ctx, r)
		fe, _ := fault.As(err)
		require.NotNil(t, fe)
		require.Equal(t, "idempotency_key_reused", fe.Code)
	})

	t.Run("AnAbandonedClaimIsTakenOverAfterItsLock", func(t *testing.T) {
		t.Parallel()
		s, tenant, now := setup(t)
		r := Request{Tenant: tenant, Principal: "user:1", Key: "k", Method: "POST", Path: "/v1/x"}
		_, _, err := s.Begin(ctx, r)
		require.NoError(t, err)
		*now = now.Add(DefaultLock + time.Second)
		replay, _, err := s.Begin(ctx, r)
		require.NoError(t, err)
		require.Nil(t, replay, "the new attempt runs")
	})

	t.Run("AStaleClaimCannotReleaseOrCompleteTheTakeover", func(t *testing.T) {
		t.Parallel()
		s, tenant, now := setup(t)
		r := Request{Tenant: tenant, Principal: "user:1", Key: "k", Method: "POST", Path: "/v1/x"}
		_, stale, err := s.Begin(ctx, r)
		require.NoError(t, err)
		*now = now.Add(DefaultLock + time.Second)
		_, fresh, err := s.Begin(ctx, r)
		require.NoError(t, err)
		require.NotEqual(t, stale, fresh)
		require.NoError(t, s.Release(ctx, r, stale))
		require.NoError(t, s.Complete(ctx, r, stale, Response{Status: 500}))
		_, _, err = s.Begin(ctx, r)
		fe, _ := fault.As(err)
		require.NotNil(t, fe, "the takeover still holds the key")
		require.Equal(t, "idempotency_key_in_progress", fe.Code)
		require.NoError(t, s.Complete(ctx, r, fresh, Response{Status: 201, Body: []byte(`"ok"`)}))
		replay, _, err := s.Begin(ctx, r)
		require.NoError(t, err)
		require.Equal(t, 201, replay.Status)
	})

	t.Run("StoredBodiesAreEncrypted", func(t *testing.T) {
		t.Parallel()
		s, tenant, _ := setup(t)
		r := Request{Tenant: tenant, Principal: "user:1", Key: "k", Method: "POST", Path: "/v1/api-keys"}
		_, claim, err := s.Begin(ctx, r)
		require.NoError(t, err)
		require.NoError(t, s.Complete(ctx, r, claim, Response{Status: 201, Body: []byte(`{"secret":"lp_SHOWN_ONCE"}`)}))
		var stored []byte
		require.NoError(t, testkit.OwnerDB(t).Pool.QueryRow(ctx, `SELECT response_body FROM idempotency_keys WHERE org_id = $1`, tenant.OrgID).Scan(&stored))
		require.NotContains(t, string(stored), "lp_SHOWN_ONCE")
		replay, _, err := s.Begin(ctx, r)
		require.NoError(t, err)
		require.JSONEq(t, `{"secret":"lp_SHOWN_ONCE"}`, string(replay.Body))
	})

	t.Run("ReleaseLetsARetryRun", func(t *testing.T) {
		t.Parallel()
		s, tenant, _ := setup(t)
		r := Request{Tenant: tenant, Principal: "user:1", Key: "k", Method: "POST", Path: "/v1/x"}
		_, claim, err := s.Begin(ctx, r)
		require.NoError(t, err)
		require.NoError(t, s.Release(ctx, r, claim))
		replay, _, err := s.Begin(ctx, r)
		require.NoError(t, err)
		require.Nil(t, replay)
	})

	t.Run("AnExpiredRecordFreesTheKey", func(t *testing.T) {
		t.Parallel()
		s, tenant, now := setup(t)
		r := Request{Tenant: tenant, Principal: "user:1", Key: "k", Method: "POST", Path: "/v1/x", Body: []byte(`1`)}
		_, claim, err := s.Begin(ctx, r)
		require.NoError(t, err)
		require.NoError(t, s.Complete(ctx, r, claim, Response{Status: 201}))
		*now = now.Add(DefaultTTL + time.Second)
		r.Body = []byte(`2`)
		replay, _, err := s.Begin(ctx, r)
		require.NoError(t, err, "after 24 h the key may be reused for anything")
		require.Nil(t, replay)
	})

	t.Run("PrincipalsDoNotShareKeys", func(t *testing.T) {
		t.Parallel()
		s, tenant, _ := setup(t)
		a := Request{Tenant: tenant, Principal: "user:1", Key: "k", Method: "POST", Path: "/v1/x"}
		b := a
		b.Principal = "api_key:2"
		_, _, err := s.Begin(ctx, a)
		require.NoError(t, err)
		replay, _, err := s.Begin(ctx, b)
		require.NoError(t, err)
		require.Nil(t, replay)
	})
}
