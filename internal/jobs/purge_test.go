package jobs_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/jobs"
)

// fixture inserts rows as the owner (row-level security does not bind it).
type fixture struct {
	t     *testing.T
	owner *database.DB
}

func (f fixture) exec(sql string, args ...any) {
	f.t.Helper()
	_, err := f.owner.Pool.Exec(context.Background(), sql, args...)
	require.NoError(f.t, err)
}

func (f fixture) org() uuid.UUID {
	id := uuid.Must(uuid.NewV7())
	f.exec(`INSERT INTO organizations (id, name, slug) VALUES ($1, 'Acme', $2)`, id, "acme-"+id.String())
	return id
}

func (f fixture) user() uuid.UUID {
	id := uuid.Must(uuid.NewV7())
	f.exec(`INSERT INTO users (id, email, password_hash) VALUES ($1, $2, 'x')`, id, fmt.Sprintf("u-%s@example.com", id))
	return id
}

func secretHash(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

func (f fixture) refreshToken(org, user uuid.UUID, expires time.Time) uuid.UUID {
	id := uuid.Must(uuid.NewV7())
	f.exec(`INSERT INTO refresh_tokens (id, family_id, user_id, org_id, token_hash, expires_at)
		VALUES ($1, $1, $2, $3, $4, $5)`, id, user, org, secretHash(f.t), expires)
	return id
}

func (f fixture) invite(org uuid.UUID, expires time.Time) uuid.UUID {
	id := uuid.Must(uuid.NewV7())
	f.exec(`INSERT INTO invites (id, org_id, email, role, token_hash, expires_at)
		VALUES ($1, $2, $3, 'member', $4, $5)`, id, org, fmt.Sprintf("i-%s@example.com", id), secretHash(f.t), expires)
	return id
}

func (f fixture) idempotencyKey(org uuid.UUID, expires time.Time) string {
	key := uuid.NewString()
	f.exec(`INSERT INTO idempotency_keys (org_id, principal, key, method, path, request_hash, locked_until, expires_at)
		VALUES ($1, 'user:test', $2, 'POST', '/v1/leads', '\x00', now(), $3)`, org, key, expires)
	return key
}

// has reports whether table holds a row whose col is v. It returns the
// error rather than failing, so require.Eventually may call it from its own
// goroutine.
func (f fixture) has(table, col string, v any) (bool, error) {
	var ok bool
	err := f.owner.Pool.QueryRow(context.Background(),
		fmt.Sprintf(`SELECT EXISTS (SELECT 1 FROM %s WHERE %s = $1)`, table, col), v).Scan(&ok)
	return ok, err
}

func (f fixture) exists(table, col string, v any) bool {
	f.t.Helper()
	ok, err := f.has(table, col, v)
	require.NoError(f.t, err)
	return ok
}

func TestPurge(t *testing.T) {
	t.Parallel()

	t.Run("DeletesExpiredRowsThroughRedisAndIsIdempotent", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		f := fixture{t: t, owner: b.owner}
		now := time.Now()
		org, user := f.org(), f.user()

		// Refresh tokens and invites are kept DefaultPurgeKeep (24h) past
		// expiry; idempotency keys go as soon as they expire.
		tokenExpired := f.refreshToken(org, user, now.Add(-48*time.Hour))
		tokenInGrace := f.refreshToken(org, user, now.Add(-time.Hour))
		tokenLive := f.refreshToken(org, user, now.Add(time.Hour))
		inviteExpired := f.invite(org, now.Add(-48*time.Hour))
		inviteLive := f.invite(org, now.Add(7*24*time.Hour))
		keyExpired := f.idempotencyKey(org, now.Add(-time.Minute))
		keyLive := f.idempotencyKey(org, now.Add(time.Hour))

		handler := jobs.NewPurgeHandler(b.db, jobs.PurgeConfig{Logger: b.logger})
		srv := jobs.NewServer(b.redis, jobs.Config{Concurrency: 2, ShutdownTimeout: 5 * time.Second, Logger: b.logger})
		require.NoError(t, srv.Start(jobs.NewMux(handlers(t, b, handler), b.logger)))
		t.Cleanup(srv.Shutdown)

		enq := jobs.NewEnqueuer(b.redis)
		t.Cleanup(func() { _ = enq.Close() })
		info, err := enq.Enqueue(t.Context(), jobs.NewPurgeTask())
		require.NoError(t, err)
		require.Equal(t, jobs.QueueMaintenance, info.Queue)
		require.Positive(t, info.MaxRetry, "a failed purge retries before the next tick")
		require.Positive(t, info.Timeout)

		gone := func() bool {
			for _, row := range []struct {
				table, col string
				v          any
			}{
				{"refresh_tokens", "id", tokenExpired},
				{"invites", "id", inviteExpired},
				{"idempotency_keys", "key", keyExpired},
			} {
				if ok, err := f.has(row.table, row.col, row.v); err != nil || ok {
					return false
				}
			}
			return true
		}
		require.Eventually(t, gone, 30*time.Second, 50*time.Millisecond, "the worker did not purge the expired rows")

		requireLive := func() {
			t.Helper()
			require.True(t, f.exists("refresh_tokens", "id", tokenInGrace), "a token expired less than Keep ago")
			require.True(t, f.exists("refresh_tokens", "id", tokenLive))
			require.True(t, f.exists("invites", "id", inviteLive))
			require.True(t, f.exists("idempotency_keys", "key", keyLive))
		}
		requireLive()

		// A second delivery of the same task finds nothing to delete.
		require.NoError(t, handler.ProcessTask(t.Context(), jobs.NewPurgeTask()))
		requireLive()
	})

	t.Run("RefusesAPayloadItCannotDecodeWithoutRetry", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		handler := jobs.NewPurgeHandler(b.db, jobs.PurgeConfig{Logger: b.logger})
		for name, payload := range map[string]string{
			"NotJSON":      `not json`,
			"Empty":        ``,
			"UnknownField": `{"org_id":"x"}`,
			"WrongType":    `{"keep":"24h"}`,
			"TrailingData": `{}{}`,
			"NegativeKeep": `{"keep":-1}`,
		} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				err := handler.ProcessTask(t.Context(), asynq.NewTask(jobs.TypePurge, []byte(payload)))
				require.ErrorIs(t, err, asynq.SkipRetry)
			})
		}
	})
}
