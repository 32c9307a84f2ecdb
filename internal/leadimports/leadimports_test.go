package leadimports_test

import (
	"context"
	"encoding/csv"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/campaigns"
	"github.com/leadpilot/leadpilot/internal/contact"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/leadimports"
	"github.com/leadpilot/leadpilot/internal/suppressions"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

type bundle struct {
	svc   *leadimports.Service
	camps *campaigns.Service
	supp  *suppressions.Service
	actor access.Actor
}

func setup(t *testing.T) bundle {
	t.Helper()
	owner := testkit.OwnerDB(t)
	org, user := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	_, err := owner.Pool.Exec(context.Background(), `
		WITH o AS (INSERT INTO organizations (id, name, slug) VALUES ($1, 'Imports Org', $3) RETURNING id),
		     u AS (INSERT INTO users (id, email, password_hash) VALUES ($2, $4, 'x') RETURNING id)
		INSERT INTO memberships (id, org_id, user_id, role) SELECT $5, o.id, u.id, 'owner' FROM o, u`,
		org, user, "imports-"+org.String(), "imports-"+org.String()+"@example.com", uuid.Must(uuid.NewV7()))
	require.NoError(t, err)
	db := testkit.DB(t)
	return bundle{
		svc: leadimports.NewService(db, nil), camps: campaigns.NewService(db), supp: suppressions.NewService(db),
		actor: access.Actor{OrgID: org, UserID: user, Role: access.RoleMember},
	}
}

func (b bundle) campaign(t *testing.T) *uuid.UUID {
	t.Helper()
	c, err := b.camps.Create(context.Background(), b.actor, campaigns.Create{Name: "Import " + uuid.NewString(), Source: "csv"})
	require.NoError(t, err)
	return &c.ID
}

// fixture is the LinkedIn export (three good rows from line 5) with four
// more: a repeat of line 5's address in another case (line 8), an
// invalid address (9), a suppressed domain (10) and a row with no contact
// at all (11).
func fixture(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../leadimport/testdata/linkedin_connections.csv")
	require.NoError(t, err)
	s := string(b)
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s + "Amelie,D,,AMELIE.DURAND@example.fr,,,\n" +
		"Bad,Mail,,not-an-email,,,\n" +
		"Sam,Stop,,sam@blocked.example,,,\n" +
		",,,,Nobody Inc,,\n"
}

func errorsCSV(t *testing.T, b bundle, id uuid.UUID) [][]string {
	t.Helper()
	var sb strings.Builder
	require.NoError(t, b.svc.Errors(context.Background(), b.actor, id, &sb))
	rows, err := csv.NewReader(strings.NewReader(sb.String())).ReadAll()
	require.NoError(t, err)
	return rows
}

func TestRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("TheFixtureIsCountedRowByRowAndASecondImportFindsTheLeadsPresent", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, _, err := b.supp.Add(ctx, b.actor, suppressions.New{Value: "blocked.example", Kind: contact.KindDomain})
		require.NoError(t, err)
		camp := b.campaign(t)

		imp, err := b.svc.Create(ctx, b.actor, camp, nil, "linkedin.csv", strings.NewReader(fixture(t)))
		require.NoError(t, err)
		require.Equal(t, leadimports.StatusQueued, imp.Status)
		require.NoError(t, b.svc.Run(ctx, b.actor.OrgID, imp.ID))

		got, err := b.svc.Get(ctx, b.actor, imp.ID)
		require.NoError(t, err)
		require.Equal(t, leadimports.StatusCompleted, got.Status)
		require.Equal(t, leadimports.Counts{RowsSeen: 7, Inserted: 3, DuplicatesInFile: 1, Invalid: 2, Suppressed: 1}, got.Counts)
		require.NotNil(t, got.StartedAt)
		require.NotNil(t, got.FinishedAt)

		rows := errorsCSV(t, b, imp.ID)
		require.Equal(t, []string{"line", "reason", "message", "row"}, rows[0])
		var lines, reasons []string
		for _, r := range rows[1:] {
			lines, reasons = append(lines, r[0]), append(reasons, r[1])
		}
		require.Equal(t, []string{"8", "9", "10", "11"}, lines)
		require.Equal(t, []string{"duplicate_in_file", "invalid_email", "suppressed", "no_contact"}, reasons)
		require.Equal(t, "Sam,Stop,,sam@blocked.example,,,", rows[3][3])

		t.Run("ARedeliveryOfTheFinishedImportChangesNothing", func(t *testing.T) {
			require.NoError(t, b.svc.Run(ctx, b.actor.OrgID, imp.ID))
			again, err := b.svc.Get(ctx, b.actor, imp.ID)
			require.NoError(t, err)
			require.Equal(t, got.Counts, again.Counts)
		})

		second, err := b.svc.Create(ctx, b.actor, camp, nil, "linkedin.csv", strings.NewReader(fixture(t)))
		require.NoError(t, err)
		require.NoError(t, b.svc.Run(ctx, b.actor.OrgID, second.ID))
		got, err = b.svc.Get(ctx, b.actor, second.ID)
		require.NoError(t, err)
		// John Smith has no address, so nothing marks him as present: he
		// is inserted again. The two with addresses are already there.
		require.Equal(t, leadimports.Counts{RowsSeen: 7, Inserted: 1, AlreadyPresent: 2, DuplicatesInFile: 1, Invalid: 2, Suppressed: 1}, got.Counts)
	})

	t.Run("ACancelBetweenBatchesStopsTheRunKeepingTheDoneBatches", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		imp, err := b.svc.Create(ctx, b.actor, b.campaign(t), nil, "", strings.NewReader(fixture(t)))
		require.NoError(t, err)
		svc := b.svc.WithBatchSize(2).WithAfterBatch(func(n int) {
			if n == 1 {
				_, err := b.svc.Cancel(ctx, b.actor, imp.ID)
				require.NoError(t, err)
			}
		})
		require.NoError(t, svc.Run(ctx, b.actor.OrgID, imp.ID))
		got, err := b.svc.Get(ctx, b.actor, imp.ID)
		require.NoError(t, err)
		require.Equal(t, leadimports.StatusCancelled, got.Status)
		require.Equal(t, leadimports.Counts{RowsSeen: 2, Inserted: 2}, got.Counts)

		_, err = b.svc.Cancel(ctx, b.actor, imp.ID)
		require.NoError(t, err, "cancelling twice changes nothing")
	})

	t.Run("ARedeliveryOfARunningImportResumesAfterTheDoneRows", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		imp, err := b.svc.Create(ctx, b.actor, b.campaign(t), nil, "", strings.NewReader(fixture(t)))
		require.NoError(t, err)
		// The first delivery dies after its second batch (4 rows).
		stop := context.Canceled
		svc := b.svc.WithBatchSize(2).WithAfterBatch(func(n int) {
			if n == 2 {
				panic(stop)
			}
		})
		require.PanicsWithValue(t, stop, func() { _ = svc.Run(ctx, b.actor.OrgID, imp.ID) })
		mid, err := b.svc.Get(ctx, b.actor, imp.ID)
		require.NoError(t, err)
		require.Equal(t, leadimports.StatusRunning, mid.Status)
		require.Equal(t, 4, mid.Counts.RowsSeen)

		require.NoError(t, b.svc.WithBatchSize(2).Run(ctx, b.actor.OrgID, imp.ID))
		got, err := b.svc.Get(ctx, b.actor, imp.ID)
		require.NoError(t, err)
		require.Equal(t, leadimports.StatusCompleted, got.Status)
		require.Equal(t, leadimports.Counts{RowsSeen: 7, Inserted: 4, DuplicatesInFile: 1, Invalid: 2}, got.Counts)
	})

	t.Run("ADuplicateDeliveryRunningAtTheSameTimeNeverCountsARowTwice", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		imp, err := b.svc.Create(ctx, b.actor, b.campaign(t), nil, "", strings.NewReader(fixture(t)))
		require.NoError(t, err)
		stop := context.Canceled
		// Between the first run's first and second batch, a second run
		// commits one batch (rows 3-4) and dies; the first run then finds
		// rows_seen moved past it and stops instead of counting again.
		second := b.svc.WithBatchSize(2).WithAfterBatch(func(int) { panic(stop) })
		first := b.svc.WithBatchSize(2).WithAfterBatch(func(n int) {
			if n == 1 {
				require.PanicsWithValue(t, stop, func() { _ = second.Run(ctx, b.actor.OrgID, imp.ID) })
			}
		})
		require.NoError(t, first.Run(ctx, b.actor.OrgID, imp.ID))
		mid, err := b.svc.Get(ctx, b.actor, imp.ID)
		require.NoError(t, err)
		require.Equal(t, leadimports.StatusRunning, mid.Status)
		require.Equal(t, 4, mid.Counts.RowsSeen)

		require.NoError(t, b.svc.Run(ctx, b.actor.OrgID, imp.ID))
		got, err := b.svc.Get(ctx, b.actor, imp.ID)
		require.NoError(t, err)
		require.Equal(t, leadimports.StatusCompleted, got.Status)
		require.Equal(t, leadimports.Counts{RowsSeen: 7, Inserted: 4, DuplicatesInFile: 1, Invalid: 2}, got.Counts)
	})

	t.Run("CancellingAFinishedImportIsAConflict", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		imp, err := b.svc.Create(ctx, b.actor, nil, nil, "", strings.NewReader(fixture(t)))
		require.NoError(t, err)
		require.NoError(t, b.svc.Run(ctx, b.actor.OrgID, imp.ID))
		_, err = b.svc.Cancel(ctx, b.actor, imp.ID)
		require.True(t, fault.IsKind(err, fault.KindConflict), "%v", err)
	})

	t.Run("ARejectedRowThatLooksLikeAFormulaIsDefusedInTheErrors", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		imp, err := b.svc.Create(ctx, b.actor, nil, nil, "", strings.NewReader("Email,Company\n=1+2,Acme\n"))
		require.NoError(t, err)
		require.NoError(t, b.svc.Run(ctx, b.actor.OrgID, imp.ID))
		rows := errorsCSV(t, b, imp.ID)
		require.Len(t, rows, 2)
		require.Equal(t, "invalid_email", rows[1][1])
		require.Equal(t, "'=1+2,Acme", rows[1][3])
	})

	t.Run("AFileThatIsNotCSVIsRefusedAtCreate", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		png, err := os.ReadFile("../leadimport/testdata/not_csv.png")
		require.NoError(t, err)
		_, err = b.svc.Create(ctx, b.actor, nil, nil, "x.png", strings.NewReader(string(png)))
		fe, ok := fault.As(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, fault.KindInvalid, fe.Kind)
	})
}
