package httpapi_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
)

func TestLeads(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	s := b.signup(t, "Leads Co")
	tok := bearer(s.AccessToken)
	campaign := func(name string) uuid.UUID {
		c, err := b.client.CreateCampaignWithResponse(ctx, nil, api.CampaignCreate{Name: name, Source: api.CampaignSourceManual}, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, c.StatusCode(), string(c.Body))
		return c.JSON201.ID
	}
	create := func(body api.LeadCreate) *api.CreateLeadResponse {
		r, err := b.client.CreateLeadWithResponse(ctx, nil, body, tok)
		require.NoError(t, err)
		return r
	}
	c1, c2 := campaign("One"), campaign("Two")

	t.Run("CreateNormalisesAndKeepsCustomFields", func(t *testing.T) {
		r := create(api.LeadCreate{CampaignID: &c1, Email: ptr(" Ada@Example.COM "), Phone: ptr("020 7946 0958"), Country: ptr("GB"),
			FirstName: ptr("Ada"), LastName: ptr("Lovelace"), Company: ptr("Engines Ltd"), CustomFields: &map[string]interface{}{"tier": "gold"}})
		require.Equal(t, http.StatusCreated, r.StatusCode(), string(r.Body))
		require.Equal(t, "ada@example.com", *r.JSON201.Email)
		require.Equal(t, "+442079460958", *r.JSON201.Phone)
		require.Equal(t, "Ada Lovelace", r.JSON201.FullName)
		require.Equal(t, "gold", r.JSON201.CustomFields["tier"])

		d, err := b.client.GetLeadWithResponse(ctx, r.JSON201.ID, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, d.StatusCode(), string(d.Body))
		require.Equal(t, c1, d.JSON200.Campaign.ID)
		require.Equal(t, "One", d.JSON200.Campaign.Name)
		require.Nil(t, d.JSON200.Sequence)
		require.NotNil(t, d.JSON200.Messages)
		require.Empty(t, d.JSON200.Messages)
	})

	t.Run("TheSameEmailTwiceInOneCampaignIs409ButTwoCampaignsAreFine", func(t *testing.T) {
		r := create(api.LeadCreate{CampaignID: &c1, Email: ptr("dup@example.com")})
		require.Equal(t, http.StatusCreated, r.StatusCode(), string(r.Body))
		r = create(api.LeadCreate{CampaignID: &c2, Email: ptr("DUP@example.com")})
		require.Equal(t, http.StatusCreated, r.StatusCode(), string(r.Body))
		r = create(api.LeadCreate{CampaignID: &c1, Email: ptr("Dup@Example.com")})
		p := problem(t, r.HTTPResponse, r.Body, http.StatusConflict)
		require.Equal(t, "duplicate_lead", p.Code)
	})

	t.Run("SkipIfInOtherCampaignRefusesAContactAlreadyInAnother", func(t *testing.T) {
		r := create(api.LeadCreate{CampaignID: &c1, Email: ptr("elsewhere@example.com")})
		require.Equal(t, http.StatusCreated, r.StatusCode(), string(r.Body))
		r = create(api.LeadCreate{CampaignID: &c2, Email: ptr("elsewhere@example.com"), SkipIfInOtherCampaign: ptr(true)})
		p := problem(t, r.HTTPResponse, r.Body, http.StatusConflict)
		require.Equal(t, "in_other_campaign", p.Code)
		r = create(api.LeadCreate{CampaignID: &c2, Email: ptr("fresh@example.com"), SkipIfInOtherCampaign: ptr(true)})
		require.Equal(t, http.StatusCreated, r.StatusCode(), string(r.Body))
	})

	t.Run("ASuppressedContactIsRefusedNamingTheSuppressionKind", func(t *testing.T) {
		sup, err := b.client.CreateSuppressionWithResponse(ctx, nil, api.SuppressionCreate{Value: "banned.example", Kind: ptr(api.SuppressionKindDomain)}, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, sup.StatusCode(), string(sup.Body))
		r := create(api.LeadCreate{CampaignID: &c1, Email: ptr("someone@Banned.example")})
		p := problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
		require.Equal(t, "/email", (*p.Errors)[0].Field)
		require.Equal(t, "suppressed_domain", *(*p.Errors)[0].Code)
		require.Contains(t, (*p.Errors)[0].Message, "banned.example")
	})

	t.Run("ARetriedCreateWithTheSameIdempotencyKeyMakesOneLead", func(t *testing.T) {
		params := &api.CreateLeadParams{IdempotencyKey: ptr("lead-" + uuid.NewString())}
		body := api.LeadCreate{CampaignID: &c2, Email: ptr("retry@example.com")}
		first, err := b.client.CreateLeadWithResponse(ctx, params, body, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, first.StatusCode(), string(first.Body))
		again, err := b.client.CreateLeadWithResponse(ctx, params, body, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, again.StatusCode(), string(again.Body))
		require.Equal(t, first.JSON201.ID, again.JSON201.ID)
		found, err := b.client.ListLeadsWithResponse(ctx, &api.ListLeadsParams{Q: ptr("retry@")}, tok)
		require.NoError(t, err)
		require.Len(t, found.JSON200.Data, 1)
	})

	t.Run("AnInvalidEmailIs422", func(t *testing.T) {
		r := create(api.LeadCreate{Email: ptr("not-an-address")})
		p := problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
		require.Equal(t, "/email", (*p.Errors)[0].Field)
	})

	t.Run("PatchChangesAndMovesAndDeleteRemoves", func(t *testing.T) {
		r := create(api.LeadCreate{CampaignID: &c1, Email: ptr("patch@example.com")})
		require.Equal(t, http.StatusCreated, r.StatusCode(), string(r.Body))
		var u api.LeadUpdate
		require.NoError(t, u.CampaignID.UnmarshalJSON([]byte(`"`+c2.String()+`"`)))
		u.Status = ptr(api.LeadStatusInterested)
		up, err := b.client.UpdateLeadWithResponse(ctx, r.JSON201.ID, u, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
		require.Equal(t, c2, *up.JSON200.CampaignID)
		require.Equal(t, api.LeadStatusInterested, up.JSON200.Status)

		del, err := b.client.DeleteLeadWithResponse(ctx, r.JSON201.ID, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, del.StatusCode())
		g, err := b.client.GetLeadWithResponse(ctx, r.JSON201.ID, tok)
		require.NoError(t, err)
		problem(t, g.HTTPResponse, g.Body, http.StatusNotFound)
	})
}

func TestLeadListFiltersSearchPagingBulkAndExport(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	s := b.signup(t, "Lead Lists Co")
	tok := bearer(s.AccessToken)
	camp := func(name string) uuid.UUID {
		c, err := b.client.CreateCampaignWithResponse(ctx, nil, api.CampaignCreate{Name: name, Source: api.CampaignSourceManual}, tok)
		require.NoError(t, err)
		return c.JSON201.ID
	}
	c1, c2 := camp("Alpha"), camp("Beta")
	for i := 0; i < 9; i++ {
		c, country := c1, "DE"
		if i%3 == 0 {
			c, country = c2, "FR"
		}
		r, err := b.client.CreateLeadWithResponse(ctx, nil, api.LeadCreate{CampaignID: &c, Country: ptr(country), IsApproved: ptr(true),
			Email: ptr(fmt.Sprintf("person%d@example.com", i)), Company: ptr(fmt.Sprintf("Firm %d", i))}, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, r.StatusCode(), string(r.Body))
	}
	mid := time.Now()
	time.Sleep(10 * time.Millisecond)
	r, err := b.client.CreateLeadWithResponse(ctx, nil, api.LeadCreate{CampaignID: &c1, Email: ptr("grace@navy.example"),
		FirstName: ptr("Grace"), LastName: ptr("Hopper"), Company: ptr("=Compilers Inc"), IsApproved: ptr(false)}, tok)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, r.StatusCode(), string(r.Body))
	grace := r.JSON201.ID

	list := func(p api.ListLeadsParams) []api.Lead {
		t.Helper()
		r, err := b.client.ListLeadsWithResponse(ctx, &p, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		return r.JSON200.Data
	}

	t.Run("PagesAcrossAllLeadsNewestFirst", func(t *testing.T) {
		var ids []uuid.UUID
		var cursor *string
		pages := 0
		for {
			r, err := b.client.ListLeadsWithResponse(ctx, &api.ListLeadsParams{Limit: ptr(4), Cursor: cursor}, tok)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
			for _, l := range r.JSON200.Data {
				ids = append(ids, l.ID)
			}
			pages++
			if cursor = r.JSON200.NextCursor; cursor == nil {
				break
			}
		}
		require.Equal(t, 3, pages)
		require.Len(t, ids, 10)
		require.Equal(t, grace, ids[0], "the newest comes first")
		seen := map[uuid.UUID]bool{}
		for _, id := range ids {
			require.False(t, seen[id], "no lead twice")
			seen[id] = true
		}
	})

	t.Run("FiltersCombine", func(t *testing.T) {
		require.Len(t, list(api.ListLeadsParams{CampaignID: &c2}), 3)
		require.Len(t, list(api.ListLeadsParams{Country: ptr("de"), CampaignID: &c1}), 6)
		notApproved := list(api.ListLeadsParams{Approved: ptr(false)})
		require.Len(t, notApproved, 1)
		require.Equal(t, grace, notApproved[0].ID)
		require.Len(t, list(api.ListLeadsParams{Status: ptr(api.LeadStatusNew)}), 10)
		require.Empty(t, list(api.ListLeadsParams{Status: ptr(api.LeadStatusReplied)}))
		after := list(api.ListLeadsParams{CreatedFrom: &mid})
		require.Len(t, after, 1)
		require.Equal(t, grace, after[0].ID)
		require.Len(t, list(api.ListLeadsParams{CreatedTo: &mid, Country: ptr("FR")}), 3)
	})

	t.Run("SearchCoversNameEmailAndCompany", func(t *testing.T) {
		for _, q := range []string{"hopper", "NAVY.example", "compilers"} {
			got := list(api.ListLeadsParams{Q: ptr(q)})
			require.Len(t, got, 1, q)
			require.Equal(t, grace, got[0].ID)
		}
		require.Len(t, list(api.ListLeadsParams{Q: ptr("firm")}), 9)
	})

	t.Run("BulkByIdsAndByFilterReportsCounts", func(t *testing.T) {
		ap, err := b.client.BulkLeadsWithResponse(ctx, api.LeadBulk{Action: api.LeadBulkActionApprove, Ids: &[]uuid.UUID{grace}}, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, ap.StatusCode(), string(ap.Body))
		require.Equal(t, api.LeadBulkResult{Matched: 1, Changed: 1}, *ap.JSON200)

		st, err := b.client.BulkLeadsWithResponse(ctx, api.LeadBulk{Action: api.LeadBulkActionSetStatus, Status: ptr(api.LeadStatusContacted),
			Filter: &api.LeadFilter{CampaignID: &c2}}, tok)
		require.NoError(t, err)
		require.Equal(t, api.LeadBulkResult{Matched: 3, Changed: 3}, *st.JSON200)
		require.Len(t, list(api.ListLeadsParams{Status: ptr(api.LeadStatusContacted)}), 3)

		mv, err := b.client.BulkLeadsWithResponse(ctx, api.LeadBulk{Action: api.LeadBulkActionMoveToCampaign, CampaignID: &c1,
			Filter: &api.LeadFilter{Country: ptr("FR")}}, tok)
		require.NoError(t, err)
		require.Equal(t, api.LeadBulkResult{Matched: 3, Changed: 3}, *mv.JSON200)
		require.Empty(t, list(api.ListLeadsParams{CampaignID: &c2}))

		bad, err := b.client.BulkLeadsWithResponse(ctx, api.LeadBulk{Action: api.LeadBulkActionDelete}, tok)
		require.NoError(t, err)
		problem(t, bad.HTTPResponse, bad.Body, http.StatusUnprocessableEntity)
	})

	t.Run("ExportStreamsTheFilteredLeadsAsCSV", func(t *testing.T) {
		r, err := b.client.ExportLeadsWithResponse(ctx, &api.ExportLeadsParams{Q: ptr("grace")}, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		require.Equal(t, "text/csv", r.HTTPResponse.Header.Get("Content-Type"))
		recs, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
		require.NoError(t, err)
		require.Len(t, recs, 2)
		require.Equal(t, "email", recs[0][2])
		require.Equal(t, grace.String(), recs[1][0])
		require.Equal(t, "grace@navy.example", recs[1][2])
		require.Equal(t, "'=Compilers Inc", recs[1][7], "a formula-like cell is defused")
	})

	t.Run("BulkDeleteByFilterRemovesThem", func(t *testing.T) {
		del, err := b.client.BulkLeadsWithResponse(ctx, api.LeadBulk{Action: api.LeadBulkActionDelete, Filter: &api.LeadFilter{Q: ptr("firm")}}, tok)
		require.NoError(t, err)
		require.Equal(t, api.LeadBulkResult{Matched: 9, Changed: 9}, *del.JSON200)
		left := list(api.ListLeadsParams{})
		require.Len(t, left, 1)
		require.Equal(t, grace, left[0].ID)
	})
}
