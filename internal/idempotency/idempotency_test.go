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

// inRequest runs fn in a request transaction for tenant and commits it
// unless fn fails or rollback is set.
func inRequest(t *testing.T, db *database.DB, tenant database.Tenant, rollback bool, fn func(ctx context.Context) error) error {
	t.Helper()
	ctx, rtx, err := db.BeginRequest(context.Background(), tenant)
	require.NoError(t, err)
	if err := fn(ctx); err != nil || rollback {
		require.NoError(t, rtx.Rollback())
		return err
	}
	return rtx.Commit(ctx)
}

// run is one request through the store: Begin, then (when not replayed)
// Complete with resp, committed.
func run(t *testing.T, s *Store, r Request, resp Response) (*Response, error) {
	t.Helper()
	var replay *Response
	err := inRequest(t, s.db, r.Tenant, false, func(ctx context.Context) error {
		var err error
		if replay, err = s.Begin(ctx, r); err != nil || replay != nil {
			return err
		}
		return s.Complete(ctx, r, resp)
	})
	return replay, err
}

func TestStore(t *testing.T) {
	t.Parallel()

	t.Run("ACompletedResponseIsReplayed", func(t *testing.T) {
		t.Parallel()
		s, tenant, _ := setup(t)
		r := Request{Tenant: tenant, Principal: "user:1", Key: "k", Method: "POST", Path: "/v1/x", Body: []byte(`{"a":1,"b":[1,2]}`)}
		hdr := http.Header{"Content-Type": {"application/json"}}
		replay, err := run(t, s, r, Response{Status: 201, Headers: hdr, Body: []byte(`{"id":"x"}`)})
		require.NoError(t, err)
		require.Nil(t, replay)
		r.Body = []byte(`{ "b": [1, 2], "a": 1 }`) // same JSON, other spelling
		replay, err = run(t, s, r, Response{Status: 500})
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
		_, err := run(t, s, r, Response{Status: 201})
		require.NoError(t, err)
		r.Body = []byte(`{"a":2}`)
		_, err = run(t, s, r, Response{Status: 201})
		fe, _ := fault.As(err)
		require.NotNil(t, fe, "%v", err)
		require.Equal(t, "idempotency_key_reused", fe.Code)
	})

	t.Run("ARolledBackRequestLeavesNoClaim", func(t *testing.T) {
		t.Parallel()
		s, tenant, _ := setup(t)
		r := Request{Tenant: tenant, Principal: "user:1", Key: "k", Method: "POST", Path: "/v1/x"}
		// The first attempt fails (or its process dies) before COMMIT.
		require.NoError(t, inRequest(t, s.db, tenant, true, func(ctx context.Context) error {
			replay, err := s.Begin(ctx, r)
			require.Nil(t, replay)
			return err
		}))
		replay, err := run(t, s, r, Response{Status: 201})
		require.NoError(t, err)
		require.Nil(t, replay, "the retry runs as the first attempt")
	})

	t.Run("AConcurrentDuplicateWaitsAndReplaysTheFirstAnswer", func(t *testing.T) {
		t.Parallel()
		s, tenant, _ := setup(t)
		r := Request{Tenant: tenant, Principal: "user:1", Key: "k", Method: "POST", Path: "/v1/x"}
		ctx1, first, err := s.db.BeginRequest(context.Background(), tenant)
		require.NoError(t, err)
		replay, err := s.Begin(ctx1, r)
		require.NoError(t, err)
		require.Nil(t, replay)

		type result struct {
			replay *Response
			err    error
		}
		done := make(chan result, 1)
		go func() {
			var res result
			res.err = inRequest(t, s.db, tenant, false, func(ctx context.Context) error {
				var err error
				res.replay, err = s.Begin(ctx, r)
				return err
			})
			done <- res
		}()
		select {
		case <-done:
			t.Fatal("the duplicate did not wait for the first request")
		case <-time.After(300 * time.Millisecond):
		}
		require.NoError(t, s.Complete(ctx1, r, Response{Status: 201, Body: []byte(`"first"`)}))
		require.NoError(t, first.Commit(ctx1))
		res := <-done
		require.NoError(t, res.err)
		require.NotNil(t, res.replay)
		require.Equal(t, `"first"`, string(res.replay.Body))
	})

	t.Run("AConcurrentDuplicateRunsWhenTheFirstRollsBack", func(t *testing.T) {
		t.Parallel()
		s, tenant, _ := setup(t)
		r := Request{Tenant: tenant, Principal: "user:1", Key: "k", Method: "POST", Path: "/v1/x"}
		ctx1, first, err := s.db.BeginRequest(context.Background(), tenant)
		require.NoError(t, err)
		_, err = s.Begin(ctx1, r)
		require.NoError(t, err)
		done := make(chan error, 1)
		var replay *Response
		go func() {
			done <- inRequest(t, s.db, tenant, false, func(ctx context.Context) error {
				var err error
				if replay, err = s.Begin(ctx, r); err != nil {
					return err
				}
				return s.Complete(ctx, r, Response{Status: 201, Body: []byte(`"second"`)})
			})
		}()
		time.Sleep(200 * time.Millisecond)
		require.NoError(t, first.Rollback())
		require.NoError(t, <-done)
		require.Nil(t, replay, "the duplicate ran the request itself")
		again, err := run(t, s, r, Response{Status: 500})
		require.NoError(t, err)
		require.Equal(t, `"second"`, string(again.Body))
	})

	t.Run("StoredBodiesAreEncrypted", func(t *testing.T) {
		t.Parallel()
		s, tenant, _ := setup(t)
		ctx := context.Background()
		r := Request{Tenant: tenant, Principal: "user:1", Key: "k", Method: "POST", Path: "/v1/api-keys"}
		_, err := run(t, s, r, Response{Status: 201, Body: []byte(`{"secret":"lp_SHOWN_ONCE"}`)})
		require.NoError(t, err)
		var stored []byte
		require.NoError(t, testkit.OwnerDB(t).Pool.QueryRow(ctx, `SELECT response_body FROM idempotency_keys WHERE org_id = $1`, tenant.OrgID).Scan(&stored))
		require.NotContains(t, string(stored), "lp_SHOWN_ONCE")
		replay, err := run(t, s, r, Response{Status: 500})
		require.NoError(t, err)
		require.JSONEq(t, `{"secret":"lp_SHOWN_ONCE"}`, string(replay.Body))
	})

	t.Run("AnExpiredRecordFreesTheKey", func(t *testing.T) {
		t.Parallel()
		s, tenant, now := setup(t)
		r := Request{Tenant: tenant, Principal: "user:1", Key: "k", Method: "POST", Path: "/v1/x", Body: []byte(`1`)}
		_, err := run(t, s, r, Response{Status: 201})
		require.NoError(t, err)
		*now = now.Add(DefaultTTL + time.Second)
		r.Body = []byte(`2`)
		replay, err := run(t, s, r, Response{Status: 201})
		require.NoError(t, err, "after 24 h the key may be reused for anything")
		require.Nil(t, replay)
	})

	t.Run("PrincipalsDoNotShareKeys", func(t *testing.T) {
		t.Parallel()
		s, tenant, _ := setup(t)
		a := Request{Tenant: tenant, Principal: "user:1", Key: "k", Method: "POST", Path: "/v1/x"}
		b := a
		b.Principal = "api_key:2"
		_, err := run(t, s, a, Response{Status: 201})
		require.NoError(t, err)
		replay, err := run(t, s, b, Response{Status: 201})
		require.NoError(t, err)
		require.Nil(t, replay)
	})
}
