package leads_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/campaigns"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/leads"
	"github.com/leadpilot/leadpilot/internal/pagination"
	"github.com/leadpilot/leadpilot/internal/suppressions"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

type bundle struct {
	svc   *leads.Service
	camps *campaigns.Service
	supp  *suppressions.Service
	actor access.Actor
}

func setup(t *testing.T) bundle {
	t.Helper()
	owner := testkit.OwnerDB(t)
	org, user := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	_, err := owner.Pool.Exec(context.Background(), `
		WITH o AS (INSERT INTO organizations (id, name, slug) VALUES ($1, 'Leads Org', $3) RETURNING id),
		     u AS (INSERT INTO users (id, email, password_hash) VALUES ($2, $4, 'x') RETURNING id)
		INSERT INTO memberships (id, org_id, user_id, role) SELECT $5, o.id, u.id, 'owner' FROM o, u`,
		org, user, "leads-"+org.String(), "leads-"+org.String()+"@example.com", uuid.Must(uuid.NewV7()))
	require.NoError(t, err)
	db := testkit.DB(t)
	return bundle{
		svc: leads.NewService(db), camps: campaigns.NewService(db), supp: suppressions.NewService(db),
		actor: access.Actor{OrgID: org, UserID: user, Role: access.RoleMember},
	}
}

func (b bundle) campaign(t *testing.T, name string) uuid.UUID {
	t.Helper()
	c, err := b.camps.Create(context.Background(), b.actor, campaigns.Create{Name: name, Source: "manual"})
	require.NoError(t, err)
	return c.ID
}

func ptr[T any](v T) *T { return &v }

func page(t *testing.T, limit int) pagination.Page {
	t.Helper()
	p, err := pagination.Parse(&limit, nil)
	require.NoError(t, err)
	return p
}

func fieldCode(t *testing.T, err error) string {
	t.Helper()
	f, ok := fault.As(err)
	require.True(t, ok, "want a fault, got %v", err)
	require.NotEmpty(t, f.Fields, "want field errors in %v", err)
	return f.Fields[0].Code
}

func TestCreate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("NormalisesTheEmailAndReadsThePhoneInTheLeadsCountry", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		l, err := b.svc.Create(ctx, b.actor, leads.Create{Fields: leads.Fields{
			Email: ptr("  Ada@Example.COM "), Phone: ptr("030 1234567"), Country: ptr("de"),
			FirstName: ptr("Ada"), LastName: ptr("Lovelace"), CustomFields: map[string]any{"shoe": "42"},
		}})
		require.NoError(t, err)
		require.Equal(t, "ada@example.com", *l.Email)
		require.Equal(t, "+49301234567", *l.Phone)
		require.Equal(t, "DE", *l.Country)
		require.Equal(t, "Ada Lovelace", l.FullName)
		require.Equal(t, "new", l.Status)
		require.Equal(t, "42", l.CustomFields["shoe"])
	})

	t.Run("RefusesABadEmailAndAPhoneWithoutARegion", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.svc.Create(ctx, b.actor, leads.Create{Fields: leads.Fields{Email: ptr("not an address")}})
		require.True(t, fault.IsKind(err, fault.KindInvalid), "%v", err)
		_, err = b.svc.Create(ctx, b.actor, leads.Create{Fields: leads.Fields{Phone: ptr("030 1234567")}})
		require.Equal(t, "invalid_phone", fieldCode(t, err))
		l, err := b.svc.Create(ctx, b.actor, leads.Create{Fields: leads.Fields{Phone: ptr("(415) 555-2671"), Region: "us"}})
		require.NoError(t, err, "without a country, the region reads the number")
		require.Equal(t, "+14155552671", *l.Phone)
		l, err = b.svc.Create(ctx, b.actor, leads.Create{Fields: leads.Fields{Phone: ptr("030 1234568"), Country: ptr("DE"), Region: "US"}})
		require.NoError(t, err, "the lead's country comes before the region")
		require.Equal(t, "+49301234568", *l.Phone)
	})

	t.Run("RefusesASuppressedAddressDomainOrPhoneNamingTheKind", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for _, v := range []string{"gone@example.com", "blocked.example", "+4930123456"} {
			_, _, err := b.supp.Add(ctx, b.actor, suppressions.New{Value: v})
			require.NoError(t, err)
		}
		_, err := b.svc.Create(ctx, b.actor, leads.Create{Fields: leads.Fields{Email: ptr("Gone@example.com")}})
		require.Equal(t, "suppressed_email", fieldCode(t, err))
		_, err = b.svc.Create(ctx, b.actor, leads.Create{Fields: leads.Fields{Email: ptr("x@blocked.example")}})
		require.Equal(t, "suppressed_domain", fieldCode(t, err))
		_, err = b.svc.Create(ctx, b.actor, leads.Create{Fields: leads.Fields{Email: ptr("ok@example.com"), WhatsApp: ptr("+49 30 123456")}})
		require.Equal(t, "suppressed_phone", fieldCode(t, err))
		_, err = b.svc.Create(ctx, b.actor, leads.Create{Fields: leads.Fields{Email: ptr("ok@example.com")}})
		require.NoError(t, err)
	})

	t.Run("AllowsAnAddressInTwoCampaignsButNotTwiceInOne", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c1, c2 := b.campaign(t, "one"), b.campaign(t, "two")
		_, err := b.svc.Create(ctx, b.actor, leads.Create{CampaignID: &c1, Fields: leads.Fields{Email: ptr("ada@example.com")}})
		require.NoError(t, err)
		_, err = b.svc.Create(ctx, b.actor, leads.Create{CampaignID: &c2, Fields: leads.Fields{Email: ptr("ADA@example.com")}})
		require.NoError(t, err)
		_, err = b.svc.Create(ctx, b.actor, leads.Create{CampaignID: &c1, Fields: leads.Fields{Email: ptr("Ada@Example.com")}})
		f, ok := fault.As(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, fault.KindConflict, f.Kind)
		require.Equal(t, "duplicate_lead", f.Code)
	})

	t.Run("SkipsAContactInAnotherCampaignWhenAsked", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c1, c2 := b.campaign(t, "one"), b.campaign(t, "two")
		_, err := b.svc.Create(ctx, b.actor, leads.Create{CampaignID: &c1, Fields: leads.Fields{Email: ptr("ada@example.com")}})
		require.NoError(t, err)
		_, err = b.svc.Create(ctx, b.actor, leads.Create{CampaignID: &c2, SkipIfInOtherCampaign: true, Fields: leads.Fields{Email: ptr("ada@example.com")}})
		f, ok := fault.As(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, "in_other_campaign", f.Code)
		_, err = b.svc.Create(ctx, b.actor, leads.Create{CampaignID: &c2, SkipIfInOtherCampaign: true, Fields: leads.Fields{Email: ptr("bob@example.com")}})
		require.NoError(t, err)
	})

	t.Run("RefusesAnotherOrganisationsCampaign", func(t *testing.T) {
		t.Parallel()
		a, other := setup(t), setup(t)
		c := other.campaign(t, "theirs")
		_, err := a.svc.Create(ctx, a.actor, leads.Create{CampaignID: &c, Fields: leads.Fields{Email: ptr("ada@example.com")}})
		require.Equal(t, "not_found", fieldCode(t, err))
	})
}

func TestListFiltersSearchesAndPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	c1, c2 := b.campaign(t, "one"), b.campaign(t, "two")
	for i := 0; i < 7; i++ {
		camp := c1
		if i%2 == 1 {
			camp = c2
		}
		_, err := b.svc.Create(ctx, b.actor, leads.Create{CampaignID: &camp, IsApproved: ptr(i < 5), Fields: leads.Fields{
			Email: ptr(fmt.Sprintf("p%d@example.com", i)), Company: ptr(fmt.Sprintf("Company %d", i)), Country: ptr("GB")}})
		require.NoError(t, err)
	}
	_, err := b.svc.Create(ctx, b.actor, leads.Create{Fields: leads.Fields{Email: ptr("zed@acme.io"), FirstName: ptr("Zed"), Company: ptr("Acme Widgets")}})
	require.NoError(t, err)

	t.Run("PagesThroughEveryLeadNewestFirstWithoutRepeats", func(t *testing.T) {
		p := page(t, 3)
		var seen []uuid.UUID
		for {
			rows, next, err := b.svc.List(ctx, b.actor, leads.Filter{}, p)
			require.NoError(t, err)
			for _, r := range rows {
				if len(seen) > 0 {
					require.Less(t, r.ID.String(), seen[len(seen)-1].String())
				}
				seen = append(seen, r.ID)
			}
			if next == nil {
				break
			}
			p, err = pagination.Parse(&p.Limit, next)
			require.NoError(t, err)
		}
		require.Len(t, seen, 8)
	})

	t.Run("FiltersByCampaignApprovalAndCountry", func(t *testing.T) {
		rows, _, err := b.svc.List(ctx, b.actor, leads.Filter{CampaignID: &c2}, page(t, 100))
		require.NoError(t, err)
		require.Len(t, rows, 3)
		rows, _, err = b.svc.List(ctx, b.actor, leads.Filter{Approved: ptr(false)}, page(t, 100))
		require.NoError(t, err)
		require.Len(t, rows, 2)
		rows, _, err = b.svc.List(ctx, b.actor, leads.Filter{Country: "gb", CampaignID: &c1, Approved: ptr(true)}, page(t, 100))
		require.NoError(t, err)
		require.Len(t, rows, 3)
	})

	t.Run("SearchesNameEmailAndCompany", func(t *testing.T) {
		for _, q := range []string{"zed", "ACME.io", "widgets"} {
			rows, _, err := b.svc.List(ctx, b.actor, leads.Filter{Q: q}, page(t, 100))
			require.NoError(t, err)
			require.Len(t, rows, 1, q)
			require.Equal(t, "zed@acme.io", *rows[0].Email)
		}
		rows, _, err := b.svc.List(ctx, b.actor, leads.Filter{Q: "company"}, page(t, 100))
		require.NoError(t, err)
		require.Len(t, rows, 7)
		rows, _, err = b.svc.List(ctx, b.actor, leads.Filter{Q: "50%"}, page(t, 100))
		require.NoError(t, err)
		require.Empty(t, rows, "LIKE wildcards in the term are literal")
	})
}

func TestBulk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("ActsOnIdsAndOnAFilterReportingChanges", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c1, c2 := b.campaign(t, "one"), b.campaign(t, "two")
		var ids []uuid.UUID
		for i := 0; i < 4; i++ {
			l, err := b.svc.Create(ctx, b.actor, leads.Create{CampaignID: &c1, IsApproved: ptr(true), Fields: leads.Fields{Email: ptr(fmt.Sprintf("b%d@example.com", i))}})
			require.NoError(t, err)
			ids = append(ids, l.ID)
		}
		_, err := b.svc.Create(ctx, b.actor, leads.Create{CampaignID: &c2, Fields: leads.Fields{Email: ptr("b0@example.com")}})
		require.NoError(t, err)

		res, err := b.svc.Bulk(ctx, b.actor, leads.Bulk{Action: leads.ActionDisapprove, IDs: ids[:2]})
		require.NoError(t, err)
		require.Equal(t, leads.BulkResult{Matched: 2, Changed: 2}, res)
		res, err = b.svc.Bulk(ctx, b.actor, leads.Bulk{Action: leads.ActionApprove, Filter: &leads.Filter{CampaignID: &c1}})
		require.NoError(t, err)
		require.Equal(t, leads.BulkResult{Matched: 4, Changed: 2}, res, "only the two disapproved change")

		res, err = b.svc.Bulk(ctx, b.actor, leads.Bulk{Action: leads.ActionSetStatus, Status: "contacted", Filter: &leads.Filter{Q: "b1@"}})
		require.NoError(t, err)
		require.Equal(t, leads.BulkResult{Matched: 1, Changed: 1}, res)

		res, err = b.svc.Bulk(ctx, b.actor, leads.Bulk{Action: leads.ActionMoveToCampaign, CampaignID: &c2, IDs: ids})
		require.NoError(t, err)
		require.Equal(t, leads.BulkResult{Matched: 4, Changed: 3, Skipped: 1}, res, "b0 is in campaign two already")

		res, err = b.svc.Bulk(ctx, b.actor, leads.Bulk{Action: leads.ActionDelete, Filter: &leads.Filter{CampaignID: &c2}})
		require.NoError(t, err)
		require.Equal(t, leads.BulkResult{Matched: 4, Changed: 4}, res)
		rows, _, err := b.svc.List(ctx, b.actor, leads.Filter{}, page(t, 100))
		require.NoError(t, err)
		require.Len(t, rows, 1)
		require.Equal(t, ids[0], rows[0].ID)
	})

	t.Run("NeedsExactlyOneOfIdsAndFilter", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.svc.Bulk(ctx, b.actor, leads.Bulk{Action: leads.ActionDelete})
		require.Equal(t, "required", fieldCode(t, err))
		_, err = b.svc.Bulk(ctx, b.actor, leads.Bulk{Action: "explode", IDs: []uuid.UUID{uuid.New()}})
		require.Equal(t, "invalid_action", fieldCode(t, err))
	})

	t.Run("NeverTouchesAnotherOrganisationsLeads", func(t *testing.T) {
		t.Parallel()
		a, other := setup(t), setup(t)
		l, err := other.svc.Create(ctx, other.actor, leads.Create{Fields: leads.Fields{Email: ptr("theirs@example.com")}})
		require.NoError(t, err)
		res, err := a.svc.Bulk(ctx, a.actor, leads.Bulk{Action: leads.ActionDelete, IDs: []uuid.UUID{l.ID}})
		require.NoError(t, err)
		require.Equal(t, leads.BulkResult{}, res)
		_, err = other.svc.Get(ctx, other.actor, l.ID)
		require.NoError(t, err)
	})
}

func TestGetUpdateDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	c := b.campaign(t, "one")
	l, err := b.svc.Create(ctx, b.actor, leads.Create{CampaignID: &c, Fields: leads.Fields{Email: ptr("ada@example.com")}})
	require.NoError(t, err)

	d, err := b.svc.Get(ctx, b.actor, l.ID)
	require.NoError(t, err)
	require.Equal(t, c, d.Campaign.ID)
	require.Equal(t, "one", d.Campaign.Name)
	require.Nil(t, d.Sequence)
	require.Empty(t, d.Messages)

	u, err := b.svc.Update(ctx, b.actor, l.ID, leads.Update{Status: ptr("interested"), IsApproved: ptr(false), Fields: leads.Fields{Company: ptr("Analytical Engines")}})
	require.NoError(t, err)
	require.Equal(t, "interested", u.Status)
	require.False(t, u.IsApproved)
	require.Equal(t, "Analytical Engines", *u.Company)

	c2 := b.campaign(t, "two")
	_, err = b.svc.Create(ctx, b.actor, leads.Create{CampaignID: &c2, Fields: leads.Fields{Email: ptr("ADA@example.com")}})
	require.NoError(t, err)
	_, err = b.svc.Update(ctx, b.actor, l.ID, leads.Update{CampaignID: &c2})
	f, ok := fault.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, "duplicate_lead", f.Code, "moving into a campaign that holds the address is a conflict")
	out, err := b.svc.Update(ctx, b.actor, l.ID, leads.Update{ClearCampaign: true})
	require.NoError(t, err)
	require.Nil(t, out.CampaignID)

	_, _, err = b.supp.Add(ctx, b.actor, suppressions.New{Value: "gone@example.com"})
	require.NoError(t, err)
	_, err = b.svc.Update(ctx, b.actor, l.ID, leads.Update{Fields: leads.Fields{Email: ptr("gone@example.com")}})
	require.Equal(t, "suppressed_email", fieldCode(t, err))

	require.NoError(t, b.svc.Delete(ctx, b.actor, l.ID))
	_, err = b.svc.Get(ctx, b.actor, l.ID)
	require.True(t, fault.IsKind(err, fault.KindNotFound), "%v", err)
}

// setDefaultCountry sets the organisation's default_country as the owner.
func (b bundle) setDefaultCountry(t *testing.T, cc string) {
	t.Helper()
	_, err := testkit.OwnerDB(t).Pool.Exec(context.Background(),
		`UPDATE organizations SET settings = settings || jsonb_build_object('default_country', $2::text) WHERE id = $1`, b.actor.OrgID, cc)
	require.NoError(t, err)
}

func TestPhoneIdentity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	conflict := func(t *testing.T, err error) {
		t.Helper()
		f, ok := fault.As(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, fault.KindConflict, f.Kind)
		require.Equal(t, "duplicate_lead", f.Code)
	}

	t.Run("ALeadWithoutAnEmailIsIdentifiedByItsPhoneInACampaignAndOutsideAny", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c1, c2 := b.campaign(t, "one"), b.campaign(t, "two")
		for _, c := range []*uuid.UUID{&c1, nil} {
			_, err := b.svc.Create(ctx, b.actor, leads.Create{CampaignID: c, Fields: leads.Fields{Phone: ptr("+44 20 7946 0958")}})
			require.NoError(t, err)
			_, err = b.svc.Create(ctx, b.actor, leads.Create{CampaignID: c, Fields: leads.Fields{Phone: ptr("+442079460958"), FirstName: ptr("Again")}})
			conflict(t, err)
		}
		_, err := b.svc.Create(ctx, b.actor, leads.Create{CampaignID: &c2, Fields: leads.Fields{Phone: ptr("+442079460958")}})
		require.NoError(t, err, "another campaign may hold the number")
		_, err = b.svc.Create(ctx, b.actor, leads.Create{CampaignID: &c1, Fields: leads.Fields{Phone: ptr("+442079460958"), Email: ptr("ann@example.com")}})
		require.NoError(t, err, "a lead with an email is identified by the email")
	})

	t.Run("ClearingTheEmailOfALeadWhosePhoneIsTakenIsAConflict", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.campaign(t, "one")
		_, err := b.svc.Create(ctx, b.actor, leads.Create{CampaignID: &c, Fields: leads.Fields{Phone: ptr("+442079460958")}})
		require.NoError(t, err)
		l, err := b.svc.Create(ctx, b.actor, leads.Create{CampaignID: &c, Fields: leads.Fields{Phone: ptr("+442079460958"), Email: ptr("ann@example.com")}})
		require.NoError(t, err)
		_, err = b.svc.Update(ctx, b.actor, l.ID, leads.Update{Fields: leads.Fields{Email: ptr("")}})
		conflict(t, err)
	})

	t.Run("ABulkMoveSkipsALeadWhosePhoneTheTargetHolds", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c1, c2 := b.campaign(t, "one"), b.campaign(t, "two")
		var ids []uuid.UUID
		for _, p := range []string{"+442079460958", "+442079460959"} {
			l, err := b.svc.Create(ctx, b.actor, leads.Create{CampaignID: &c1, Fields: leads.Fields{Phone: ptr(p)}})
			require.NoError(t, err)
			ids = append(ids, l.ID)
		}
		_, err := b.svc.Create(ctx, b.actor, leads.Create{CampaignID: &c2, Fields: leads.Fields{Phone: ptr("+442079460958")}})
		require.NoError(t, err)
		res, err := b.svc.Bulk(ctx, b.actor, leads.Bulk{Action: leads.ActionMoveToCampaign, CampaignID: &c2, IDs: ids})
		require.NoError(t, err)
		require.Equal(t, leads.BulkResult{Matched: 2, Changed: 1, Skipped: 1}, res)
	})
}

func TestDefaultCountry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("ANationalNumberIsReadInTheOrganisationsDefaultCountry", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.setDefaultCountry(t, "GB")
		l, err := b.svc.Create(ctx, b.actor, leads.Create{Fields: leads.Fields{Phone: ptr("020 7946 0958"), WhatsApp: ptr("07911 123456")}})
		require.NoError(t, err)
		require.Equal(t, "+442079460958", *l.Phone)
		require.Equal(t, "+447911123456", *l.WhatsApp)

		l, err = b.svc.Create(ctx, b.actor, leads.Create{Fields: leads.Fields{Phone: ptr("030 1234567"), Country: ptr("DE")}})
		require.NoError(t, err, "the lead's country comes first")
		require.Equal(t, "+49301234567", *l.Phone)

		u, err := b.svc.Update(ctx, b.actor, l.ID, leads.Update{Fields: leads.Fields{Country: ptr(""), Phone: ptr("020 7946 0959")}})
		require.NoError(t, err)
		require.Equal(t, "+442079460959", *u.Phone, "an update reads it too")
	})
}

// TestSearchIsScopedPagedAndFiltered covers leads_search, which searches as
// the table's owner (row-level security would keep the trigram index from
// being used): it must never return another organisation's leads, must
// combine with every other filter, and its pages must follow the keyset.
func TestSearchIsScopedPagedAndFiltered(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, other := setup(t), setup(t)
	term := "needle" + uuid.NewString()[:8]
	camp := a.campaign(t, "searched")
	for i := range 5 {
		_, err := a.svc.Create(ctx, a.actor, leads.Create{CampaignID: &camp, IsApproved: ptr(i%2 == 0), Fields: leads.Fields{
			Email: ptr(fmt.Sprintf("s%d@%s.example", i, term)), Country: ptr("FR")}})
		require.NoError(t, err)
	}
	_, err := a.svc.Create(ctx, a.actor, leads.Create{Fields: leads.Fields{Email: ptr("elsewhere@" + term + ".example")}})
	require.NoError(t, err)
	theirs, err := other.svc.Create(ctx, other.actor, leads.Create{Fields: leads.Fields{Email: ptr("theirs@" + term + ".example")}})
	require.NoError(t, err)

	t.Run("OnlyTheCurrentOrganisationsLeads", func(t *testing.T) {
		rows, _, err := other.svc.List(ctx, other.actor, leads.Filter{Q: term}, page(t, 100))
		require.NoError(t, err)
		require.Len(t, rows, 1)
		require.Equal(t, theirs.ID, rows[0].ID)
		rows, _, err = a.svc.List(ctx, a.actor, leads.Filter{Q: term}, page(t, 100))
		require.NoError(t, err)
		require.Len(t, rows, 6)
		for _, r := range rows {
			require.NotEqual(t, theirs.ID, r.ID)
		}
	})

	t.Run("WithoutAnOrganisationItFindsNothing", func(t *testing.T) {
		var n int
		err := testkit.DB(t).Pool.QueryRow(ctx, `SELECT count(*) FROM leads_search($1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`, "%"+term+"%").Scan(&n)
		require.NoError(t, err)
		require.Zero(t, n)
	})

	t.Run("CombinesWithTheOtherFilters", func(t *testing.T) {
		rows, _, err := a.svc.List(ctx, a.actor, leads.Filter{Q: term, CampaignID: &camp, Approved: ptr(true), Country: "fr"}, page(t, 100))
		require.NoError(t, err)
		require.Len(t, rows, 3)
		rows, _, err = a.svc.List(ctx, a.actor, leads.Filter{Q: term, Status: "replied"}, page(t, 100))
		require.NoError(t, err)
		require.Empty(t, rows)
	})

	t.Run("PagesFollowTheKeyset", func(t *testing.T) {
		p := page(t, 2)
		var seen []uuid.UUID
		for {
			rows, next, err := a.svc.List(ctx, a.actor, leads.Filter{Q: term}, p)
			require.NoError(t, err)
			for _, r := range rows {
				if len(seen) > 0 {
					require.Less(t, r.ID.String(), seen[len(seen)-1].String())
				}
				seen = append(seen, r.ID)
			}
			if next == nil {
				break
			}
			p, err = pagination.Parse(&p.Limit, next)
			require.NoError(t, err)
		}
		require.Len(t, seen, 6)
	})

	t.Run("ABulkActionByASearchTouchesOnlyItsMatches", func(t *testing.T) {
		res, err := a.svc.Bulk(ctx, a.actor, leads.Bulk{Action: leads.ActionSetStatus, Status: "contacted", Filter: &leads.Filter{Q: term, CampaignID: &camp}})
		require.NoError(t, err)
		require.EqualValues(t, 5, res.Matched)
	})
}

func TestApprovalOnArrivalFollowsTheCampaignsApprovalMode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	for _, tc := range []struct {
		mode     string // "" = the default, approve_all
		approved bool
	}{
		{"", false},
		{campaigns.ApproveAll, false},
		{campaigns.ApproveList, false},
		{campaigns.FullAutopilot, true},
	} {
		t.Run("Mode"+tc.mode, func(t *testing.T) {
			create := campaigns.Create{Name: "mode " + tc.mode, Source: "manual"}
			if tc.mode != "" {
				create.Settings.ApprovalMode = ptr(tc.mode)
			}
			c, err := b.camps.Create(ctx, b.actor, create)
			require.NoError(t, err)
			l, err := b.svc.Create(ctx, b.actor, leads.Create{CampaignID: &c.ID, Fields: leads.Fields{Email: ptr("arrive-" + tc.mode + "@example.com")}})
			require.NoError(t, err)
			require.Equal(t, tc.approved, l.IsApproved)
			require.Nil(t, l.ApprovedBy, "no person approved it")

			explicit, err := b.svc.Create(ctx, b.actor, leads.Create{CampaignID: &c.ID, IsApproved: ptr(true), Fields: leads.Fields{Email: ptr("explicit-" + tc.mode + "@example.com")}})
			require.NoError(t, err)
			require.True(t, explicit.IsApproved, "an explicit is_approved wins")
			require.NotNil(t, explicit.ApprovedBy)
		})
	}
	t.Run("NoCampaignNoListToApprove", func(t *testing.T) {
		l, err := b.svc.Create(ctx, b.actor, leads.Create{Fields: leads.Fields{Email: ptr("loose@example.com")}})
		require.NoError(t, err)
		require.True(t, l.IsApproved)
	})
}
