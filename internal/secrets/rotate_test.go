package secrets_test

import (
	"context"
	"database/sql"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/leadpilot/leadpilot/internal/secrets"
)

const defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// testDB connects to the real Postgres every developer and CI run has. An
// unreachable database fails the test: skipping would let a broken sweep
// ship green.
func testDB(t *testing.T) *bun.DB {
	t.Helper()
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		url = defaultDatabaseURL
	}
	cfg, err := pgx.ParseConfig(url)
	require.NoError(t, err, "parse DATABASE_URL")
	sqldb := stdlib.OpenDB(*cfg)
	db := bun.NewDB(sqldb, pgdialect.New())
	t.Cleanup(func() { _ = db.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, db.PingContext(ctx), "Postgres must be reachable at DATABASE_URL (default %s)", defaultDatabaseURL)
	return db
}

// testTx opens a transaction rolled back when the test ends and creates the
// temp table the sweep works on; temp tables are per session, so parallel
// tests never see each other's rows.
func testTx(t *testing.T, db *bun.DB) bun.Tx {
	t.Helper()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback() })

	_, err = tx.ExecContext(ctx, `CREATE TEMP TABLE secrets_rotate (id uuid PRIMARY KEY, value text) ON COMMIT DROP`)
	require.NoError(t, err)
	return tx
}

var rotateCol = secrets.Column{Table: "secrets_rotate", IDColumn: "id", Column: "value"}

// insertRow stores plaintext encrypted by k under the row's own aad, or NULL
// when k is nil, and returns the id and the stored value.
func insertRow(t *testing.T, tx bun.Tx, k *secrets.Keyring, plaintext string) (string, *string) {
	t.Helper()
	id := uuid.NewString()
	var value *string
	if k != nil {
		ct, err := k.EncryptString(plaintext, secrets.AAD(rotateCol.Table, rotateCol.Column, id))
		require.NoError(t, err)
		value = &ct
	}
	_, err := tx.NewRaw(`INSERT INTO secrets_rotate (id, value) VALUES (?, ?)`, id, value).Exec(context.Background())
	require.NoError(t, err)
	return id, value
}

func readValues(t *testing.T, tx bun.Tx) map[string]sql.NullString {
	t.Helper()
	var rows []struct {
		ID    string         `bun:"id"`
		Value sql.NullString `bun:"value"`
	}
	require.NoError(t, tx.NewRaw(`SELECT id::text AS id, value FROM secrets_rotate`).Scan(context.Background(), &rows))
	out := make(map[string]sql.NullString, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Value
	}
	return out
}

func TestRotate(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	ctx := context.Background()

	t.Run("MovesEveryOldValueToTheCurrentKeyInBatches", func(t *testing.T) {
		t.Parallel()
		tx := testTx(t, db)
		oldRing, b := setup(t)
		newRing := mustRing(t, map[string][]byte{"old": b.oldKey, "new": b.newKey}, "new")

		want := map[string]string{}
		for _, pt := range []string{"p1", "p2", "p3", "p4", "p5"} {
			id, _ := insertRow(t, tx, oldRing, pt)
			want[id] = pt
		}
		nullA, _ := insertRow(t, tx, nil, "")
		nullB, _ := insertRow(t, tx, nil, "")
		current := map[string]string{}
		for _, pt := range []string{"c1", "c2"} {
			id, v := insertRow(t, tx, newRing, pt)
			want[id] = pt
			current[id] = *v
		}

		n, err := secrets.Rotate(ctx, tx, newRing, []secrets.Column{rotateCol}, 2)
		require.NoError(t, err)
		require.Equal(t, 5, n)

		onlyNew := mustRing(t, map[string][]byte{"new": b.newKey}, "new")
		got := readValues(t, tx)
		require.Len(t, got, 9)
		require.False(t, got[nullA].Valid)
		require.False(t, got[nullB].Valid)
		for id, pt := range want {
			v := got[id]
			require.True(t, v.Valid, id)
			require.False(t, onlyNew.NeedsRotation(v.String), id)
			dec, err := onlyNew.DecryptString(v.String, secrets.AAD(rotateCol.Table, rotateCol.Column, id))
			require.NoError(t, err, id)
			require.Equal(t, pt, dec, id)
		}
		for id, v := range current {
			require.Equal(t, v, got[id].String, "already-current values are left untouched")
		}

		n, err = secrets.Rotate(ctx, tx, newRing, []secrets.Column{rotateCol}, 2)
		require.NoError(t, err)
		require.Zero(t, n, "a second sweep finds nothing to do")
	})

	t.Run("TreatsUnderscoreInTheCurrentKeyIDLiterally", func(t *testing.T) {
		t.Parallel()
		// Unescaped, LIKE 'v1.k_a.%' would also match "v1.kxa." and skip
		// these rows.
		tx := testTx(t, db)
		keyX, keyA := newKey(t), newKey(t)
		oldRing := mustRing(t, map[string][]byte{"kxa": keyX}, "kxa")
		newRing := mustRing(t, map[string][]byte{"kxa": keyX, "k_a": keyA}, "k_a")
		for _, pt := range []string{"a", "b", "c"} {
			insertRow(t, tx, oldRing, pt)
		}

		n, err := secrets.Rotate(ctx, tx, newRing, []secrets.Column{rotateCol}, 2)
		require.NoError(t, err)
		require.Equal(t, 3, n)
		for id, v := range readValues(t, tx) {
			kid, err := secrets.KeyID(v.String)
			require.NoError(t, err, id)
			require.Equal(t, "k_a", kid, id)
		}
	})

	t.Run("StopsOnAValueItCannotDecrypt", func(t *testing.T) {
		t.Parallel()
		tx := testTx(t, db)
		oldRing, b := setup(t)
		newRing := mustRing(t, map[string][]byte{"old": b.oldKey, "new": b.newKey}, "new")

		// A ciphertext copied from another row: its aad names the source.
		_, copied := insertRow(t, tx, oldRing, "someone else's")
		victim := uuid.NewString()
		_, err := tx.NewRaw(`INSERT INTO secrets_rotate (id, value) VALUES (?, ?)`, victim, *copied).Exec(ctx)
		require.NoError(t, err)

		done := make(chan struct{})
		var rotateErr error
		go func() {
			defer close(done)
			_, rotateErr = secrets.Rotate(ctx, tx, newRing, []secrets.Column{rotateCol}, 2)
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("Rotate did not stop on an undecryptable row")
		}
		require.ErrorIs(t, rotateErr, secrets.ErrDecrypt)
		require.ErrorContains(t, rotateErr, "secrets_rotate.value id "+victim)
	})

	t.Run("StopsOnAValueEncryptedWithARemovedKey", func(t *testing.T) {
		t.Parallel()
		tx := testTx(t, db)
		oldRing, b := setup(t)
		id, _ := insertRow(t, tx, oldRing, "x")

		onlyNew := mustRing(t, map[string][]byte{"new": b.newKey}, "new")
		n, err := secrets.Rotate(ctx, tx, onlyNew, []secrets.Column{rotateCol}, 2)
		require.ErrorIs(t, err, secrets.ErrUnknownKey)
		require.ErrorContains(t, err, id)
		require.Zero(t, n)
	})

	t.Run("RejectsANonPositiveBatch", func(t *testing.T) {
		t.Parallel()
		tx := testTx(t, db)
		k, _ := setup(t)
		_, err := secrets.Rotate(ctx, tx, k, []secrets.Column{rotateCol}, 0)
		require.ErrorContains(t, err, "batch must be positive")
	})
}
