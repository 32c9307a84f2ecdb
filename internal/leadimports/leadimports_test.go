package leadimports_test

import (
	"context"
	"encoding/csv"
	"os"
	"strconv"
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

	t.Run("ARunWhoseContextEndsStopsWithoutCompletingAndAnotherFinishesIt", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		imp, err := b.svc.Create(ctx, b.actor, b.campaign(t), nil, "", strings.NewReader(fixture(t)))
		require.NoError(t, err)
		// The worker shuts down after the first batch: the next batch,
		// read meanwhile, is not written and the import is not completed.
		runCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		svc := b.svc.WithBatchSize(2).WithAfterBatch(func(n int) {
			if n == 1 {
				cancel()
			}
		})
		require.Error(t, svc.Run(runCtx, b.actor.OrgID, imp.ID))
		mid, err := b.svc.Get(ctx, b.actor, imp.ID)
		require.NoError(t, err)
		require.Equal(t, leadimports.StatusRunning, mid.Status)
		require.Equal(t, 2, mid.Counts.RowsSeen)

		require.NoError(t, b.svc.WithBatchSize(2).Run(ctx, b.actor.OrgID, imp.ID))
		got, err := b.svc.Get(ctx, b.actor, imp.ID)
		require.NoError(t, err)
		require.Equal(t, leadimports.StatusCompleted, got.Status)
		require.Equal(t, leadimports.Counts{RowsSeen: 7, Inserted: 4, DuplicatesInFile: 1, Invalid: 2}, got.Counts)
	})

	t.Run("AFileThatBreaksMidwayKeepsTheBatchesBeforeAndFails", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		file := "Email,Company\n"
		for i := range 5 {
			file += "a" + strconv.Itoa(i) + "@example.com,Acme\n"
		}
		file += "b@example.com,\"Acme\n" + strings.Repeat("x", 2<<20)
		imp, err := b.svc.Create(ctx, b.actor, nil, nil, "", strings.NewReader(file))
		require.NoError(t, err)
		require.NoError(t, b.svc.WithBatchSize(2).Run(ctx, b.actor.OrgID, imp.ID))
		got, err := b.svc.Get(ctx, b.actor, imp.ID)
		require.NoError(t, err)
		require.Equal(t, leadimports.StatusFailed, got.Status)
		require.Equal(t, leadimports.Counts{RowsSeen: 4, Inserted: 4}, got.Counts, "the two whole batches before the broken row")
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

	t.Run("ALatin1RowInAUTF8FileIsImportedNotRejected", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		// The reader reads the row as Windows-1252 and warns (invalid_utf8):
		// the value is repaired, so the row is a lead like any other.
		var sb strings.Builder
		sb.WriteString("First Name,Email,City\n")
		for sb.Len() < 130<<10 {
			sb.WriteString("Ann,ann@example.com,Z\u00fcrich\n")
		}
		sb.WriteString("Zo\xeb,zoe@example.com,Z\xfcrich\n")
		got := b.run(t, nil, sb.String())
		require.Equal(t, 2, got.Counts.Inserted)
		require.Zero(t, got.Counts.Invalid)
		require.Equal(t, got.Counts.RowsSeen-2, got.Counts.DuplicatesInFile)
		_, ok := b.leadsByName(t)["Zo\u00eb"]
		require.True(t, ok, "the row's name is read as Windows-1252")
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

// run imports csv into campaign (nil: none) and returns the finished import.
func (b bundle) run(t *testing.T, campaign *uuid.UUID, csv string) leadimports.Import {
	t.Helper()
	ctx := context.Background()
	imp, err := b.svc.Create(ctx, b.actor, campaign, nil, "", strings.NewReader(csv))
	require.NoError(t, err)
	require.NoError(t, b.svc.Run(ctx, b.actor.OrgID, imp.ID))
	got, err := b.svc.Get(ctx, b.actor, imp.ID)
	require.NoError(t, err)
	require.Equal(t, leadimports.StatusCompleted, got.Status)
	return got
}

// lead is what a test reads back of an imported lead.
type lead struct {
	Email, Phone, WhatsApp, Timezone *string
}

// leadsByName reads the organisation's leads keyed by first name, as the owner.
func (b bundle) leadsByName(t *testing.T) map[string]lead {
	t.Helper()
	rows, err := testkit.OwnerDB(t).Pool.Query(context.Background(),
		`SELECT coalesce(first_name, ''), email, phone, whatsapp, timezone FROM leads WHERE org_id = $1`, b.actor.OrgID)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]lead{}
	for rows.Next() {
		var name string
		var l lead
		require.NoError(t, rows.Scan(&name, &l.Email, &l.Phone, &l.WhatsApp, &l.Timezone))
		out[name] = l
	}
	require.NoError(t, rows.Err())
	return out
}

func reasons(t *testing.T, b bundle, id uuid.UUID) []string {
	t.Helper()
	var out []string
	for _, r := range errorsCSV(t, b, id)[1:] {
		out = append(out, r[0]+" "+r[1])
	}
	return out
}

func TestIdentityAndColumns(t *testing.T) {
	t.Parallel()

	// Ann and Bob have the same number and no email: Bob repeats Ann. Cat
	// has Ann's number too but an email, which identifies her; Dan has
	// Cat's email-less twin number. Eve has a name only: no identity.
	const phoneOnly = "First Name,Phone,Email\n" +
		"Ann,+44 20 7946 0958,\n" +
		"Bob,+442079460958,\n" +
		"Cat,+44 20 7946 0958,cat@example.com\n" +
		"Dan,+44 20 7946 0959,\n" +
		"Eve,,\n"

	t.Run("PhoneOnlyRowsAreDedupedInTheFileAndAgainstTheCampaign", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		camp := b.campaign(t)
		got := b.run(t, camp, phoneOnly)
		require.Equal(t, leadimports.Counts{RowsSeen: 5, Inserted: 4, DuplicatesInFile: 1}, got.Counts)
		require.Equal(t, []string{"3 duplicate_in_file"}, reasons(t, b, got.ID))

		again := b.run(t, camp, phoneOnly)
		require.Equal(t, leadimports.Counts{RowsSeen: 5, Inserted: 1, DuplicatesInFile: 1, AlreadyPresent: 3}, again.Counts,
			"only Eve, who has no email or phone, goes in again")

		other := b.run(t, b.campaign(t), phoneOnly)
		require.Equal(t, 4, other.Counts.Inserted, "another campaign may hold the same numbers")
	})

	t.Run("PhoneOnlyRowsOutsideAnyCampaignAreOneBucket", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.Equal(t, 4, b.run(t, nil, phoneOnly).Counts.Inserted)
		again := b.run(t, nil, phoneOnly)
		require.Equal(t, leadimports.Counts{RowsSeen: 5, Inserted: 1, DuplicatesInFile: 1, AlreadyPresent: 3}, again.Counts)
	})

	t.Run("WhatsAppAndTimezoneAreImportedAndABadOneRejectsItsRow", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		got := b.run(t, b.campaign(t), "First Name,Email,WhatsApp Number,Time Zone,Country\n"+
			"Ann,ann@example.com,07911 123456,Europe/London,GB\n"+
			"Bob,bob@example.com,,Mars/Olympus_Mons,GB\n"+
			"Cat,cat@example.com,12,,GB\n"+
			",,+447911123457,,\n")
		require.Equal(t, leadimports.Counts{RowsSeen: 4, Inserted: 2, Invalid: 2}, got.Counts)
		require.Equal(t, []string{"3 invalid_timezone", "4 invalid_whatsapp"}, reasons(t, b, got.ID))
		ls := b.leadsByName(t)
		require.Equal(t, "+447911123456", *ls["Ann"].WhatsApp)
		require.Equal(t, "Europe/London", *ls["Ann"].Timezone)
		require.Equal(t, "+447911123457", *ls[""].WhatsApp, "a WhatsApp number alone is a contact")
	})

	t.Run("EmailsAreStoredLowerCaseAndAMixedScriptOneRejectsItsRow", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		camp := b.campaign(t)
		// Bob's address is Ann's in capitals; Cat's "а" is Cyrillic.
		const file = "First Name,Email\n" +
			"Ann, Ann.Lee@Example.COM \n" +
			"Bob,ANN.LEE@EXAMPLE.COM\n" +
			"Cat,Cаt@Example.com\n"
		got := b.run(t, camp, file)
		require.Equal(t, leadimports.Counts{RowsSeen: 3, Inserted: 1, DuplicatesInFile: 1, Invalid: 1}, got.Counts)
		require.Equal(t, []string{"3 duplicate_in_file", "4 mixed_script"}, reasons(t, b, got.ID))
		require.Equal(t, "ann.lee@example.com", *b.leadsByName(t)["Ann"].Email)

		again := b.run(t, camp, "Email\nann.lee@example.com\n")
		require.Equal(t, leadimports.Counts{RowsSeen: 1, AlreadyPresent: 1}, again.Counts)
	})

	t.Run("NationalNumbersAreReadInTheOrganisationsDefaultCountry", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		const file = "First Name,Phone\nAnn,020 7946 0958\n"
		got := b.run(t, b.campaign(t), file)
		require.Equal(t, []string{"2 invalid_phone"}, reasons(t, b, got.ID), "without a default country the number cannot be read")

		_, err := testkit.OwnerDB(t).Pool.Exec(context.Background(),
			`UPDATE organizations SET settings = settings || '{"default_country":"GB"}' WHERE id = $1`, b.actor.OrgID)
		require.NoError(t, err)
		got = b.run(t, b.campaign(t), file)
		require.Equal(t, 1, got.Counts.Inserted)
		require.Equal(t, "+442079460958", *b.leadsByName(t)["Ann"].Phone)
	})
}

// TestSkipIfInOtherCampaign imports into one campaign contacts of which
// some are already leads of another campaign (by address, in any case, or
// by phone number): with the option they are skipped, counted and listed;
// without it they go in.
func TestSkipIfInOtherCampaign(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	first, second, third := b.campaign(t), b.campaign(t), b.campaign(t)
	b.run(t, first, "Email,Phone,First Name\nada@example.com,,Ada\n,+442079460958,Phoebe\nsolo@example.com,,Solo\n")
	// A lead outside any campaign is not "in another campaign".
	b.run(t, nil, "Email,First Name\nloose@example.com,Loose\n")

	file := "Email,Phone,First Name\nADA@example.com,,Ada again\n,+44 20 7946 0958,Phoebe again\nnew@example.com,,New\nloose@example.com,,Loose\n"
	imp, err := b.svc.Create(ctx, b.actor, second, nil, "", strings.NewReader(file), leadimports.SkipIfInOtherCampaign(true))
	require.NoError(t, err)
	require.True(t, imp.SkipIfInOtherCampaign)
	require.NoError(t, b.svc.Run(ctx, b.actor.OrgID, imp.ID))
	got, err := b.svc.Get(ctx, b.actor, imp.ID)
	require.NoError(t, err)
	require.Equal(t, leadimports.StatusCompleted, got.Status, got.Error)
	require.Equal(t, leadimports.Counts{RowsSeen: 4, Inserted: 2, InOtherCampaign: 2}, got.Counts)
	require.Equal(t, []string{"2 in_other_campaign", "3 in_other_campaign"}, reasons(t, b, imp.ID))

	t.Run("TheSameFileIntoItsOwnCampaignAgainIsAlreadyPresent", func(t *testing.T) {
		again, err := b.svc.Create(ctx, b.actor, second, nil, "", strings.NewReader(file), leadimports.SkipIfInOtherCampaign(true))
		require.NoError(t, err)
		require.NoError(t, b.svc.Run(ctx, b.actor.OrgID, again.ID))
		got, err := b.svc.Get(ctx, b.actor, again.ID)
		require.NoError(t, err)
		// new@ and loose@ are in this campaign now (already present); Ada
		// and Phoebe are still only in the first.
		require.Equal(t, leadimports.Counts{RowsSeen: 4, AlreadyPresent: 2, InOtherCampaign: 2}, got.Counts)
	})

	t.Run("WithoutTheOptionTheyGoIn", func(t *testing.T) {
		imp, err := b.svc.Create(ctx, b.actor, third, nil, "", strings.NewReader(file))
		require.NoError(t, err)
		require.False(t, imp.SkipIfInOtherCampaign)
		require.NoError(t, b.svc.Run(ctx, b.actor.OrgID, imp.ID))
		got, err := b.svc.Get(ctx, b.actor, imp.ID)
		require.NoError(t, err)
		require.Equal(t, leadimports.Counts{RowsSeen: 4, Inserted: 4}, got.Counts)
	})
}

func TestImportedLeadsAwaitApprovalAsTheCampaignsModeSays(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	owner := testkit.OwnerDB(t)
	for mode, approved := range map[string]bool{campaigns.ApproveList: false, campaigns.FullAutopilot: true} {
		c, err := b.camps.Create(ctx, b.actor, campaigns.Create{Name: "Mode " + mode, Source: "csv", Settings: campaigns.SettingsPatch{ApprovalMode: &mode}})
		require.NoError(t, err)
		imp, err := b.svc.Create(ctx, b.actor, &c.ID, nil, "people.csv", strings.NewReader("email,first_name\na@example.com,Ann\nb@example.com,Bob\n"))
		require.NoError(t, err)
		require.NoError(t, b.svc.Run(ctx, b.actor.OrgID, imp.ID))
		var n, ok int
		require.NoError(t, owner.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE is_approved) FROM leads WHERE campaign_id = $1`, c.ID).Scan(&n, &ok))
		require.Equal(t, 2, n, mode)
		if approved {
			require.Equal(t, 2, ok, "%s: nothing waits for a person", mode)
		} else {
			require.Zero(t, ok, "%s: the list waits for a person", mode)
		}
	}
}
