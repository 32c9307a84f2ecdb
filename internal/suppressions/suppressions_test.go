package suppressions_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/contact"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/pagination"
	"github.com/leadpilot/leadpilot/internal/suppressions"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

type bundle struct {
	svc    *suppressions.Service
	db     *database.DB
	admin  access.Actor
	member access.Actor
}

func setup(t *testing.T) bundle {
	t.Helper()
	owner := testkit.OwnerDB(t)
	org, user := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	_, err := owner.Pool.Exec(context.Background(), `
		WITH o AS (INSERT INTO organizations (id, name, slug) VALUES ($1, 'Supp Org', $3) RETURNING id),
		     u AS (INSERT INTO users (id, email, password_hash) VALUES ($2, $4, 'x') RETURNING id)
		INSERT INTO memberships (id, org_id, user_id, role) SELECT $5, o.id, u.id, 'owner' FROM o, u`,
		org, user, "supp-"+org.String(), "supp-"+org.String()+"@example.com", uuid.Must(uuid.NewV7()))
	require.NoError(t, err)
	db := testkit.DB(t)
	return bundle{
		svc:    suppressions.NewService(db),
		db:     db,
		admin:  access.Actor{OrgID: org, UserID: user, Role: access.RoleOwner},
		member: access.Actor{OrgID: org, UserID: user, Role: access.RoleMember},
	}
}

func firstPage(t *testing.T) pagination.Page {
	p, err := pagination.Parse(nil, nil)
	require.NoError(t, err)
	return p
}

func TestAdd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("NormalisesAndReturnsTheExistingEntryForADuplicate", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s, created, err := b.svc.Add(ctx, b.member, suppressions.New{Value: "  Ada@Example.COM "})
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, contact.KindEmail, s.Kind)
		require.Equal(t, "ada@example.com", s.Value)
		require.Equal(t, "manual", s.Reason)
		require.Equal(t, "api", *s.Source)

		again, created, err := b.svc.Add(ctx, b.member, suppressions.New{Kind: contact.KindEmail, Value: "ADA@example.com", Reason: "bounce"})
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, s.ID, again.ID)
		require.Equal(t, "manual", again.Reason, "the existing entry is kept as it was")
	})

	t.Run("ReadsPhonesInTheGivenRegion", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s, _, err := b.svc.Add(ctx, b.member, suppressions.New{Value: "020 7946 0958", Region: "GB", Reason: "stop_reply"})
		require.NoError(t, err)
		require.Equal(t, contact.KindPhone, s.Kind)
		require.Equal(t, "+442079460958", s.Value)
	})

	t.Run("RefusesWhatDoesNotNormalise", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, _, err := b.svc.Add(ctx, b.member, suppressions.New{Kind: contact.KindPhone, Value: "020 7946 0958", Reason: "nope"})
		fe, ok := fault.As(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, fault.KindInvalid, fe.Kind)
		fields := map[string]string{}
		for _, f := range fe.Fields {
			fields[f.Field] = f.Code
		}
		require.Equal(t, map[string]string{"/reason": "invalid_reason", "/value": "invalid_phone"}, fields)
	})
}

func TestRemove(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	s, _, err := b.svc.Add(ctx, b.member, suppressions.New{Value: "example.org", Kind: contact.KindDomain})
	require.NoError(t, err)

	t.Run("NeedsAnAdmin", func(t *testing.T) {
		require.True(t, fault.IsKind(b.svc.Remove(ctx, b.member, s.ID), fault.KindForbidden))
	})
	t.Run("DeletesOnceThenAnswersNotFound", func(t *testing.T) {
		require.NoError(t, b.svc.Remove(ctx, b.admin, s.ID))
		require.True(t, fault.IsKind(b.svc.Remove(ctx, b.admin, s.ID), fault.KindNotFound))
	})
}

func TestList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	for _, n := range []suppressions.New{
		{Value: "ada@example.com"}, {Value: "adam@example.com", Reason: "bounce"}, {Value: "bob@example.com"},
		{Value: "example.net"}, {Value: "+14155552671"}, {Value: "a_b@example.com"}, {Value: "axb@example.com"},
	} {
		_, _, err := b.svc.Add(ctx, b.member, n)
		require.NoError(t, err)
	}
	values := func(f suppressions.Filter) []string {
		rows, _, err := b.svc.List(ctx, b.member, f, firstPage(t))
		require.NoError(t, err)
		var out []string
		for _, r := range rows {
			out = append(out, r.Value)
		}
		return out
	}
	t.Run("FiltersByKindReasonAndPrefixNewestFirst", func(t *testing.T) {
		require.Equal(t, []string{"example.net"}, values(suppressions.Filter{Kind: contact.KindDomain}))
		require.Equal(t, []string{"adam@example.com"}, values(suppressions.Filter{Reason: "bounce"}))
		require.Equal(t, []string{"adam@example.com", "ada@example.com"}, values(suppressions.Filter{Prefix: "ADA"}))
		require.Equal(t, []string{"a_b@example.com"}, values(suppressions.Filter{Prefix: "a_"}), "LIKE wildcards in the prefix are literal")
	})
	t.Run("PagesWithACursor", func(t *testing.T) {
		l := 3
		p, err := pagination.Parse(&l, nil)
		require.NoError(t, err)
		seen := map[string]bool{}
		for {
			rows, next, err := b.svc.List(ctx, b.member, suppressions.Filter{}, p)
			require.NoError(t, err)
			for _, r := range rows {
				require.False(t, seen[r.Value])
				seen[r.Value] = true
			}
			if next == nil {
				break
			}
			p, err = pagination.Parse(&l, next)
			require.NoError(t, err)
		}
		require.Len(t, seen, 7)
	})
}

func TestBulkAdd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("CountsAddedPresentDuplicateAndInvalidRows", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, _, err := b.svc.Add(ctx, b.member, suppressions.New{Value: "old@example.com"})
		require.NoError(t, err)
		csv := "\xef\xbb\xbfvalue,reason\n" +
			"new@example.com,unsubscribe\n" +
			"OLD@example.com\n" +
			"New@Example.com,bounce\n" + // a duplicate of line 2 once normalised
			"not an address@\n" +
			"+44 20 7946 0958,stop_reply\n" +
			"020 7946 0958\n" + // the same number, read in the region
			"example.org\n" +
			"x@example.com,angry\n" +
			"\n"
		res, err := b.svc.BulkAdd(ctx, b.member, strings.NewReader(csv), suppressions.BulkOptions{Region: "GB"})
		require.NoError(t, err)
		require.Equal(t, 3, res.Added)
		require.Equal(t, 1, res.AlreadyPresent)
		require.Equal(t, 2, res.Duplicates)
		require.Equal(t, 2, res.Invalid)
		require.Len(t, res.Errors, 2)
		require.Equal(t, 5, res.Errors[0].Line)
		require.Equal(t, "invalid_email", res.Errors[0].Code)
		require.Equal(t, 9, res.Errors[1].Line)
		require.Equal(t, "invalid_reason", res.Errors[1].Code)

		rows, _, err := b.svc.List(ctx, b.member, suppressions.Filter{}, firstPage(t))
		require.NoError(t, err)
		got := map[string]string{}
		for _, r := range rows {
			got[r.Value] = r.Reason + "/" + *r.Source
		}
		require.Equal(t, map[string]string{
			"old@example.com": "manual/api", "new@example.com": "unsubscribe/csv",
			"+442079460958": "stop_reply/csv", "example.org": "manual/csv",
		}, got)
	})

	t.Run("DescribesOnlyTheFirstInvalidRows", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var sb strings.Builder
		for i := range suppressions.MaxBulkErrors + 5 {
			fmt.Fprintf(&sb, "bad%d@\n", i)
		}
		res, err := b.svc.BulkAdd(ctx, b.member, strings.NewReader(sb.String()), suppressions.BulkOptions{})
		require.NoError(t, err)
		require.Equal(t, suppressions.MaxBulkErrors+5, res.Invalid)
		require.Len(t, res.Errors, suppressions.MaxBulkErrors)
		require.Zero(t, res.Added)
	})

	t.Run("RefusesACSVThatCannotBeParsed", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.svc.BulkAdd(ctx, b.member, strings.NewReader("a@example.com\n\"b@example.com\n"), suppressions.BulkOptions{})
		require.True(t, fault.IsKind(err, fault.KindInvalid), "%v", err)
		rows, _, err := b.svc.List(ctx, b.member, suppressions.Filter{}, firstPage(t))
		require.NoError(t, err)
		require.Empty(t, rows, "nothing is added from a file refused whole")
	})
}

func TestCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	for _, n := range []suppressions.New{
		{Value: "blocked.example", Kind: contact.KindDomain, Reason: "complaint"},
		{Value: "ada@example.com", Reason: "unsubscribe"},
		{Value: "+14155552671", Reason: "stop_reply"},
	} {
		_, _, err := b.svc.Add(ctx, b.member, n)
		require.NoError(t, err)
	}
	contacts := []suppressions.Contact{
		{Email: "anyone@blocked.example"},                             // 0: by domain
		{Email: "ada@example.com"},                                    // 1: by address
		{Email: "bob@example.com", Phones: []string{"+14155552671"}},  // 2: by phone
		{Email: "bob@example.com", Phones: []string{"+442079460958"}}, // free
		{Email: "sub.blocked.example@example.com"},                    // free: the domain is example.com
		{},
	}

	t.Run("FindsByAddressDomainAndPhoneInOneQuery", func(t *testing.T) {
		err := b.db.InTenant(ctx, b.member.Tenant(), func(ctx context.Context, tx bun.IDB) error {
			hits, err := suppressions.Check(ctx, tx, contacts)
			require.NoError(t, err)
			got := map[int]string{}
			for _, h := range hits {
				got[h.Index] = string(h.Suppression.Kind) + ":" + h.Suppression.Reason
			}
			require.Equal(t, map[int]string{0: "domain:complaint", 1: "email:unsubscribe", 2: "phone:stop_reply"}, got)
			return nil
		})
		require.NoError(t, err)
	})

	t.Run("TheSQLConditionAndFunctionAgreeWithCheck", func(t *testing.T) {
		err := b.db.InTenant(ctx, b.member.Tenant(), func(ctx context.Context, tx bun.IDB) error {
			for i, c := range contacts {
				phone := ""
				if len(c.Phones) > 0 {
					phone = c.Phones[0]
				}
				var free, suppressed bool
				q := `SELECT ` + suppressions.NotSuppressedSQL("s.email", "s.phone") + `, is_suppressed(s.email, s.phone)
					FROM (SELECT NULLIF(?, '') AS email, NULLIF(?, '') AS phone) s`
				require.NoError(t, tx.QueryRowContext(ctx, q, c.Email, phone).Scan(&free, &suppressed))
				require.Equal(t, i <= 2, suppressed, "contact %d", i)
				require.Equal(t, i > 2, free, "contact %d", i)
			}
			return nil
		})
		require.NoError(t, err)
	})

	t.Run("SeesNoOtherOrganisationsList", func(t *testing.T) {
		other := setup(t)
		err := other.db.InTenant(ctx, other.member.Tenant(), func(ctx context.Context, tx bun.IDB) error {
			hits, err := suppressions.Check(ctx, tx, contacts)
			require.NoError(t, err)
			require.Empty(t, hits)
			return nil
		})
		require.NoError(t, err)
	})
}

// TestImportSkipsSuppressed is the pattern the leads import follows: stage
// the normalised rows, then one INSERT … SELECT that leaves suppressed
// contacts out, and count what it left out to say so.
func TestImportSkipsSuppressed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	for _, n := range []suppressions.New{
		{Value: "blocked.example", Kind: contact.KindDomain},
		{Value: "ada@example.com"},
		{Value: "+14155552671"},
	} {
		_, _, err := b.svc.Add(ctx, b.member, n)
		require.NoError(t, err)
	}
	type lead struct{ email, phone any }
	in := []lead{
		{"anyone@blocked.example", nil}, // domain
		{"Ada@Example.com", nil},        // address, stored with its case
		{"bob@example.com", "+14155552671"},
		{"bob@example.com", "+442079460958"}, // free
		{nil, "+442079460958"},               // free
	}
	var inserted, skipped int64
	err := b.db.InTenantBulk(ctx, b.member.Tenant(), func(ctx context.Context, tx database.BulkTx) error {
		res, err := tx.Load(ctx, database.BulkLoad{
			Staging: "staged_leads",
			Columns: []database.BulkColumn{{Name: "id", Type: "uuid"}, {Name: "email", Type: "text"}, {Name: "phone", Type: "text"}},
			Rows: pgx.CopyFromSlice(len(in), func(i int) ([]any, error) {
				return []any{uuid.Must(uuid.NewV7()), in[i].email, in[i].phone}, nil
			}),
			Insert: `INSERT INTO leads (id, org_id, email, phone)
				SELECT id, app_current_org_id(), email, phone FROM staged_leads s
				WHERE ` + suppressions.NotSuppressedSQL("s.email", "s.phone"),
		})
		inserted, skipped = res.Inserted, res.Staged-res.Inserted
		return err
	})
	require.NoError(t, err)
	require.EqualValues(t, 2, inserted)
	require.EqualValues(t, 3, skipped)

	var phones []string
	err = b.db.InTenant(ctx, b.member.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		return tx.NewSelect().Table("leads").Column("phone").Where("org_id = ?", b.member.OrgID).Scan(ctx, &phones)
	})
	require.NoError(t, err)
	require.Equal(t, []string{"+442079460958", "+442079460958"}, phones)
}

func TestBulkAddHeaders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("AnEmailColumnHoldsAddressesAndOtherColumnsAreIgnored", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		csv := "Email,Name,Reason\nada@example.com,Ada,bounce\n,Nobody,\nexample.org,Not an address,\n"
		res, err := b.svc.BulkAdd(ctx, b.member, strings.NewReader(csv), suppressions.BulkOptions{})
		require.NoError(t, err)
		require.Equal(t, 1, res.Added)
		require.Equal(t, 2, res.Invalid)
		require.Equal(t, []string{"required", "invalid_email"}, []string{res.Errors[0].Code, res.Errors[1].Code})
		require.Equal(t, []int{3, 4}, []int{res.Errors[0].Line, res.Errors[1].Line})
	})

	t.Run("AKindColumnChoosesEachRowsKind", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		csv := "kind,value\ndomain,Example.NET\nphone,+1 415 555 2671\nfax,123\n"
		res, err := b.svc.BulkAdd(ctx, b.member, strings.NewReader(csv), suppressions.BulkOptions{})
		require.NoError(t, err)
		require.Equal(t, 2, res.Added)
		require.Equal(t, 1, res.Invalid)
		require.Equal(t, "invalid_kind", res.Errors[0].Code)
		rows, _, err := b.svc.List(ctx, b.member, suppressions.Filter{Kind: contact.KindDomain}, firstPage(t))
		require.NoError(t, err)
		require.Equal(t, "example.net", rows[0].Value)
	})
}

// TestNotSuppressedSQLProbesTheIndexUnderRowLevelSecurity: with a list of
// 10,000 entries, the condition checks staged rows by probing
// suppressions_org_value_kind_key, as the service's role (bound by the
// policy), instead of reading the list for every row; and still finds
// each kind.
func TestNotSuppressedSQLProbesTheIndexUnderRowLevelSecurity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	owner := testkit.OwnerDB(t)
	_, err := owner.Pool.Exec(ctx, `INSERT INTO suppressions (id, org_id, kind, value, reason)
		SELECT gen_random_uuid(), $1, k.kind, k.value, 'manual' FROM generate_series(1, 10000) i,
		LATERAL (SELECT CASE i % 3 WHEN 0 THEN 'email' WHEN 1 THEN 'domain' ELSE 'phone' END AS kind,
			CASE i % 3 WHEN 0 THEN 'user' || i || '@list.example' WHEN 1 THEN 'dom' || i || '.example'
				ELSE '+4420794' || lpad(i::text, 5, '0') END AS value) k`, b.member.OrgID)
	require.NoError(t, err)
	_, err = owner.Pool.Exec(ctx, `ANALYZE suppressions`)
	require.NoError(t, err)

	cond := suppressions.NotSuppressedSQL("s.email", "s.phone", "s.whatsapp")
	err = b.db.InTenant(ctx, b.member.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		var rls bool
		require.NoError(t, tx.QueryRowContext(ctx, `SELECT row_security_active('suppressions')`).Scan(&rls))
		require.True(t, rls, "the check runs under the policy")
		_, err := tx.ExecContext(ctx, `CREATE TEMPORARY TABLE staged (email text, phone text, whatsapp text) ON COMMIT DROP`)
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, `INSERT INTO staged
			SELECT 'p' || i || '@free' || i || '.example', '+1415555' || lpad(i::text, 4, '0'), NULL FROM generate_series(1, 2000) i
			UNION ALL VALUES ('User3@List.example', NULL, NULL), ('x@dom1.example', NULL, NULL),
				(NULL, '+442079400002', NULL), (NULL, NULL, '+442079400005')`)
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, `ANALYZE staged`)
		require.NoError(t, err)

		var free int
		require.NoError(t, tx.QueryRowContext(ctx, `SELECT count(*) FROM staged s WHERE `+cond).Scan(&free))
		require.Equal(t, 2000, free, "the four listed rows (address, domain, phone, WhatsApp) are left out")

		rows, err := tx.QueryContext(ctx, `EXPLAIN SELECT count(*) FROM staged s WHERE `+cond)
		require.NoError(t, err)
		var plan []string
		for rows.Next() {
			var line string
			require.NoError(t, rows.Scan(&line))
			plan = append(plan, line)
		}
		require.NoError(t, rows.Err())
		text := strings.Join(plan, "\n")
		require.Contains(t, text, "using suppressions_org_value_kind_key on suppressions", text)
		require.NotContains(t, text, "Seq Scan on suppressions", text)
		return nil
	})
	require.NoError(t, err)
}

func TestAddManyInTx(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	_, _, err := b.svc.Add(ctx, b.member, suppressions.New{Value: "old@example.com", Reason: "manual"})
	require.NoError(t, err)
	add := func(ns []suppressions.New) (int, error) {
		var n int
		err := b.db.InTenant(ctx, b.member.Tenant(), func(ctx context.Context, tx bun.IDB) error {
			var err error
			n, err = suppressions.AddManyInTx(ctx, tx, b.member.OrgID, ns)
			return err
		})
		return n, err
	}

	t.Run("AddsWhatIsNewOnceWithAnEventEachInOneCall", func(t *testing.T) {
		n, err := add([]suppressions.New{
			{Value: "Ana@Example.com", Reason: "classification", Source: "inbox"},
			{Value: "old@example.com", Reason: "classification", Source: "inbox"}, // listed already
			{Value: "ana@example.com", Reason: "classification", Source: "inbox"}, // the same address again
			{Value: "ben@example.com", Reason: "classification", Source: "inbox"},
		})
		require.NoError(t, err)
		require.Equal(t, 2, n)
		list, _, err := b.svc.List(ctx, b.member, suppressions.Filter{}, firstPage(t))
		require.NoError(t, err)
		got := map[string]string{}
		for _, s := range list {
			got[s.Value] = s.Reason + " " + *s.Source
		}
		require.Equal(t, map[string]string{"ana@example.com": "classification inbox", "ben@example.com": "classification inbox", "old@example.com": "manual api"}, got)
		var evs []string
		rows, err := testkit.OwnerDB(t).Pool.Query(ctx, `SELECT data->>'value' FROM events WHERE org_id = $1 AND type = 'suppression.created' ORDER BY id`, b.member.OrgID)
		require.NoError(t, err)
		for rows.Next() {
			var v string
			require.NoError(t, rows.Scan(&v))
			evs = append(evs, v)
		}
		require.NoError(t, rows.Err())
		require.Equal(t, []string{"old@example.com", "ana@example.com", "ben@example.com"}, evs, "one event per new entry, in order")
	})

	t.Run("RefusesAnInvalidEntryAndAddsNothing", func(t *testing.T) {
		_, err := add([]suppressions.New{{Value: "cy@example.com", Reason: "classification"}, {Value: "not an address or a number", Reason: "nope"}})
		require.Error(t, err)
		list, _, err := b.svc.List(ctx, b.member, suppressions.Filter{Prefix: "cy@"}, firstPage(t))
		require.NoError(t, err)
		require.Empty(t, list)
	})

	t.Run("NothingToAdd", func(t *testing.T) {
		n, err := add(nil)
		require.NoError(t, err)
		require.Zero(t, n)
	})
}
