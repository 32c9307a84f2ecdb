package pagination_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/pagination"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

type item struct {
	ID uuid.UUID `bun:"id"`
	N  int       `bun:"n"`
}

func itemID(i item) uuid.UUID { return i.ID }

// setup returns a transaction (rolled back at the end) holding a temporary
// table of n items with UUIDv7 ids, and the ids in insertion order.
func setup(t *testing.T, n int) (bun.Tx, []uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	db := testkit.OwnerDB(t)
	tx, err := db.Bun.BeginTx(ctx, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback() })
	_, err = tx.ExecContext(ctx, `CREATE TEMPORARY TABLE items (id uuid PRIMARY KEY, n int NOT NULL) ON COMMIT DROP`)
	require.NoError(t, err)
	ids := make([]uuid.UUID, n)
	for i := range ids {
		ids[i] = uuid.Must(uuid.NewV7())
		_, err := tx.ExecContext(ctx, `INSERT INTO items (id, n) VALUES (?, ?)`, ids[i], i)
		require.NoError(t, err)
	}
	return tx, ids
}

// walk pages through every item with limit per page, following cursors
// as a client does (through Parse), and returns the pages.
func walk(t *testing.T, tx bun.Tx, limit int) [][]item {
	t.Helper()
	ctx := context.Background()
	var pages [][]item
	var cursor *string
	for range 100 {
		p, err := pagination.Parse(&limit, cursor)
		require.NoError(t, err)
		rows, next, err := pagination.Scan(ctx, tx.NewSelect().Table("items").Column("id", "n"), "id", p, itemID)
		require.NoError(t, err)
		pages = append(pages, rows)
		if next == nil {
			return pages
		}
		cursor = next
	}
	t.Fatal("the pages never ended")
	return nil
}

func TestScan(t *testing.T) {
	t.Parallel()

	t.Run("PagesAreDisjointNewestFirstAndTheLastHasNoCursor", func(t *testing.T) {
		t.Parallel()
		tx, ids := setup(t, 7)
		pages := walk(t, tx, 3)
		require.Len(t, pages, 3)
		require.Equal(t, []int{3, 3, 1}, []int{len(pages[0]), len(pages[1]), len(pages[2])})

		var got []uuid.UUID
		for _, pg := range pages {
			for _, it := range pg {
				got = append(got, it.ID)
			}
		}
		want := slices.Clone(ids)
		slices.Reverse(want) // newest (last inserted) first
		require.Equal(t, want, got, "every item once, newest first, no overlap between pages")
		require.Equal(t, 6, pages[0][0].N, "the first page starts at the newest item")
	})

	t.Run("AFullLastPageHasNoCursor", func(t *testing.T) {
		t.Parallel()
		tx, _ := setup(t, 6)
		pages := walk(t, tx, 3)
		require.Len(t, pages, 2, "no empty third page")
		require.Len(t, pages[1], 3)
	})

	t.Run("AnEmptyListIsOnePageWithoutCursor", func(t *testing.T) {
		t.Parallel()
		tx, _ := setup(t, 0)
		pages := walk(t, tx, 5)
		require.Len(t, pages, 1)
		require.Empty(t, pages[0])
		require.NotNil(t, pages[0], "an empty page is [] in JSON, not null")
	})

	t.Run("TheQuerysOwnConditionsStay", func(t *testing.T) {
		t.Parallel()
		tx, ids := setup(t, 5)
		limit := 2
		p, err := pagination.Parse(&limit, nil)
		require.NoError(t, err)
		even := func() *bun.SelectQuery { return tx.NewSelect().Table("items").Column("id", "n").Where("n % 2 = 0") }
		rows, next, err := pagination.Scan(context.Background(), even(), "id", p, itemID)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{ids[4], ids[2]}, []uuid.UUID{rows[0].ID, rows[1].ID})
		require.NotNil(t, next)
		p, err = pagination.Parse(&limit, next)
		require.NoError(t, err)
		rows, next, err = pagination.Scan(context.Background(), even(), "id", p, itemID)
		require.NoError(t, err)
		require.Len(t, rows, 1)
		require.Equal(t, ids[0], rows[0].ID)
		require.Nil(t, next)
	})

}
