package pagination

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/fault"
)

func TestParse(t *testing.T) {
	t.Parallel()
	ptr := func(i int) *int { return &i }
	str := func(s string) *string { return &s }
	id := uuid.Must(uuid.NewV7())

	t.Run("DefaultsWhenEmpty", func(t *testing.T) {
		t.Parallel()
		p, err := Parse(nil, nil)
		require.NoError(t, err)
		require.Equal(t, Page{Limit: DefaultLimit}, p)
	})
	t.Run("RoundTripsACursor", func(t *testing.T) {
		t.Parallel()
		p, err := Parse(ptr(5), str(Encode(id)))
		require.NoError(t, err)
		require.Equal(t, Page{Limit: 5, Before: id}, p)
	})
	for name, tc := range map[string]struct {
		limit  *int
		cursor *string
		kind   fault.Kind
	}{
		"RejectsZeroLimit":       {limit: ptr(0), kind: fault.KindInvalid},
		"RejectsHugeLimit":       {limit: ptr(101), kind: fault.KindInvalid},
		"RejectsGarbageCursor":   {cursor: str("!!!"), kind: fault.KindBadRequest},
		"RejectsForeignCursor":   {cursor: str("djI6eHl6"), kind: fault.KindBadRequest},
		"RejectsPlainUUIDCursor": {cursor: str(id.String()), kind: fault.KindBadRequest},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tc.limit, tc.cursor)
			require.True(t, fault.IsKind(err, tc.kind), "got %v", err)
		})
	}
}

func TestTrim(t *testing.T) {
	t.Parallel()
	ids := []uuid.UUID{uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())}
	self := func(u uuid.UUID) uuid.UUID { return u }

	t.Run("LastPageHasNoCursor", func(t *testing.T) {
		t.Parallel()
		rows, next := Trim(Page{Limit: 3}, ids, self)
		require.Len(t, rows, 3)
		require.Nil(t, next)
	})
	t.Run("FullPageContinuesAfterLastRow", func(t *testing.T) {
		t.Parallel()
		rows, next := Trim(Page{Limit: 2}, ids, self)
		require.Len(t, rows, 2)
		require.NotNil(t, next)
		p, err := Parse(nil, next)
		require.NoError(t, err)
		require.Equal(t, ids[1], p.Before)
	})
}

func TestKeyedCursors(t *testing.T) {
	id := uuid.Must(uuid.NewV7())
	digits := func(s string) (string, bool) { return s, s != "" && strings.Trim(s, "0123456789") == "" }
	c := EncodeKeyed("k1:", "42", id)
	n, key, got, err := ParseKeyed(nil, &c, "k1:", digits)
	require.NoError(t, err)
	require.Equal(t, DefaultLimit, n)
	require.Equal(t, "42", *key)
	require.Equal(t, id, got)

	ten := 10
	n, key, _, err = ParseKeyed(&ten, nil, "k1:", digits)
	require.NoError(t, err)
	require.Equal(t, 10, n)
	require.Nil(t, key, "no cursor: from the first")

	for _, bad := range []string{EncodeKeyed("k2:", "42", id), EncodeKeyed("k1:", "x", id), Encode(id), "%%%", EncodeKeyed("k1:", "42", id)[:10]} {
		_, _, _, err := ParseKeyed(nil, &bad, "k1:", digits)
		require.Error(t, err, bad)
		require.True(t, fault.IsKind(err, fault.KindBadRequest), bad)
	}
	hundredOne := 101
	_, _, _, err = ParseKeyed(&hundredOne, &c, "k1:", digits)
	require.Error(t, err)
}

func TestTrimKeyed(t *testing.T) {
	t.Parallel()
	cursor := func(n int) string { return strings.Repeat("x", n) }
	rows, next := TrimKeyed(3, []int{1, 2, 3}, cursor)
	require.Equal(t, []int{1, 2, 3}, rows)
	require.Nil(t, next, "a full last page has no next")
	rows, next = TrimKeyed(3, []int{1, 2, 3, 4}, cursor)
	require.Equal(t, []int{1, 2, 3}, rows, "the extra row read is cut")
	require.NotNil(t, next)
	require.Equal(t, "xxx", *next, "the cursor is the page's last row's")
	rows, next = TrimKeyed(3, nil, cursor)
	require.Empty(t, rows)
	require.Nil(t, next)
}
