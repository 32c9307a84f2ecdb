package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/unsubscribe"
)

// sendingOrg is an organisation with a campaign whose send window is
// always open, for the sending endpoints.
type sendingOrg struct {
	b    *bundle
	s    api.AuthSession
	tok  api.RequestEditorFn
	camp uuid.UUID
}

func (b *bundle) sendingOrg(t *testing.T, name string) *sendingOrg {
	t.Helper()
	s := b.signup(t, name)
	o := &sendingOrg{b: b, s: s, tok: bearer(s.AccessToken)}
	o.camp = o.campaign(t, nil)
	return o
}

// campaign creates a three-step campaign (delays 0, 2, 3 days) sending
// at any time of any day in UTC, with mailboxes when given.
func (o *sendingOrg) campaign(t *testing.T, mailboxes *[]uuid.UUID) uuid.UUID {
	t.Helper()
	all := []api.Weekday{api.WeekdayMonday, api.WeekdayTuesday, api.WeekdayWednesday, api.WeekdayThursday, api.WeekdayFriday, api.WeekdaySaturday, api.WeekdaySunday}
	c, err := o.b.client.CreateCampaignWithResponse(context.Background(), nil, api.CampaignCreate{Name: "Send", Source: api.CampaignSourceManual,
		EmailAccountIds: mailboxes, Settings: &api.CampaignSettingsInput{SequenceLength: ptr(3), DelayBetweenStepsDays: &[]int{0, 2, 3},
			SendWindowStart: ptr("00:00"), SendWindowEnd: ptr("23:59"), SendDays: &all, Timezone: ptr("UTC")}}, o.tok)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, c.StatusCode(), string(c.Body))
	return c.JSON201.ID
}

// mailbox adds an email account to the organisation (there is no API for
// them yet) and returns its id.
func (o *sendingOrg) mailbox(t *testing.T, active bool) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	_, err := o.b.owner.Pool.Exec(context.Background(), `INSERT INTO email_accounts (id, org_id, email_address, display_name, provider, is_active)
		VALUES ($1, $2, $3, 'Sam Sender', 'custom', $4)`, id, o.s.Organization.ID, "sam-"+id.String()+"@send.test", active)
	require.NoError(t, err)
	return id
}

// lead adds an approved lead to campaign with an approved three-step
// sequence.
func (o *sendingOrg) lead(t *testing.T, campaign uuid.UUID, email string) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	l, err := o.b.client.CreateLeadWithResponse(ctx, nil, api.LeadCreate{CampaignID: &campaign, Email: ptr(email), FirstName: ptr("Ana")}, o.tok)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, l.StatusCode(), string(l.Body))
	_, err = o.b.owner.Pool.Exec(ctx, `UPDATE leads SET is_approved = true WHERE id = $1`, l.JSON201.ID)
	require.NoError(t, err)
	_, err = o.b.owner.Pool.Exec(ctx, `INSERT INTO sequences (id, org_id, campaign_id, lead_id, steps, is_approved, approved_at) VALUES ($1, $2, $3, $4, $5, true, now())`,
		uuid.Must(uuid.NewV7()), o.s.Organization.ID, campaign, l.JSON201.ID,
		`[{"step":1,"delay_days":0,"channel":"email","subject":"Hello {{first_name}}","body":"Hi {{first_name}}"},
		  {"step":2,"delay_days":2,"channel":"email","body":"Any thoughts?"},
		  {"step":3,"delay_days":3,"channel":"email","subject":"Last note","body":"Bye."}]`)
	require.NoError(t, err)
	return l.JSON201.ID
}

func (o *sendingOrg) activate(t *testing.T, campaign uuid.UUID) {
	t.Helper()
	r, err := o.b.client.ActivateCampaignWithResponse(context.Background(), campaign, o.tok)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
}

func fieldOf(t *testing.T, p api.Problem) (string, string) {
	t.Helper()
	require.NotNil(t, p.Errors)
	require.NotEmpty(t, *p.Errors)
	e := (*p.Errors)[0]
	require.NotNil(t, e.Code)
	return e.Field, *e.Code
}

func TestCampaignMailboxes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	o := b.sendingOrg(t, "Mailbox Co")
	m1, m2, m3 := o.mailbox(t, true), o.mailbox(t, true), o.mailbox(t, false)

	t.Run("PutReplacesTheSetAndGetListsIt", func(t *testing.T) {
		put, err := b.client.SetCampaignEmailAccountsWithResponse(ctx, o.camp, api.CampaignEmailAccountsUpdate{EmailAccountIds: []uuid.UUID{m1, m3}}, o.tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, put.StatusCode(), string(put.Body))
		require.ElementsMatch(t, []uuid.UUID{m1, m3}, accountIDs(put.JSON200.Data))
		for _, a := range put.JSON200.Data {
			require.Equal(t, a.EmailAccountID == m1, a.IsActive)
			require.Equal(t, "Sam Sender", *a.DisplayName)
		}
		put, err = b.client.SetCampaignEmailAccountsWithResponse(ctx, o.camp, api.CampaignEmailAccountsUpdate{EmailAccountIds: []uuid.UUID{m2, m1}}, o.tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, put.StatusCode(), string(put.Body))
		got, err := b.client.ListCampaignEmailAccountsWithResponse(ctx, o.camp, o.tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, got.StatusCode(), string(got.Body))
		require.ElementsMatch(t, []uuid.UUID{m1, m2}, accountIDs(got.JSON200.Data), "m3 is gone, m2 added")
		require.Equal(t, m1, got.JSON200.Data[0].EmailAccountID, "a kept mailbox keeps its place")
	})

	t.Run("AnUnknownOrRepeatedAccountIsA422NamingIt", func(t *testing.T) {
		put, err := b.client.SetCampaignEmailAccountsWithResponse(ctx, o.camp, api.CampaignEmailAccountsUpdate{EmailAccountIds: []uuid.UUID{m1, uuid.Must(uuid.NewV7())}}, o.tok)
		require.NoError(t, err)
		field, code := fieldOf(t, problem(t, put.HTTPResponse, put.Body, http.StatusUnprocessableEntity))
		require.Equal(t, "/email_account_ids/1", field)
		require.Equal(t, "not_found", code)
		put, err = b.client.SetCampaignEmailAccountsWithResponse(ctx, o.camp, api.CampaignEmailAccountsUpdate{EmailAccountIds: []uuid.UUID{m2, m2}}, o.tok)
		require.NoError(t, err)
		field, code = fieldOf(t, problem(t, put.HTTPResponse, put.Body, http.StatusUnprocessableEntity))
		require.Equal(t, "/email_account_ids/1", field)
		require.Equal(t, "duplicate", code)
		put, err = b.client.SetCampaignEmailAccountsWithResponse(ctx, o.camp, api.CampaignEmailAccountsUpdate{EmailAccountIds: []uuid.UUID{}}, o.tok)
		require.NoError(t, err)
		problem(t, put.HTTPResponse, put.Body, http.StatusUnprocessableEntity)
		got, err := b.client.ListCampaignEmailAccountsWithResponse(ctx, o.camp, o.tok)
		require.NoError(t, err)
		require.ElementsMatch(t, []uuid.UUID{m1, m2}, accountIDs(got.JSON200.Data), "a refused change changes nothing")
	})

	t.Run("UnknownCampaignIs404", func(t *testing.T) {
		got, err := b.client.ListCampaignEmailAccountsWithResponse(ctx, uuid.Must(uuid.NewV7()), o.tok)
		require.NoError(t, err)
		problem(t, got.HTTPResponse, got.Body, http.StatusNotFound)
	})

	t.Run("CreateAndUpdateTakeEmailAccountIdsInTheSameChange", func(t *testing.T) {
		c := o.campaign(t, &[]uuid.UUID{m2})
		got, err := b.client.ListCampaignEmailAccountsWithResponse(ctx, c, o.tok)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{m2}, accountIDs(got.JSON200.Data))

		up, err := b.client.UpdateCampaignWithResponse(ctx, c, api.CampaignUpdate{Name: ptr("Renamed"), EmailAccountIds: &[]uuid.UUID{m1, m3}}, o.tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
		got, err = b.client.ListCampaignEmailAccountsWithResponse(ctx, c, o.tok)
		require.NoError(t, err)
		require.ElementsMatch(t, []uuid.UUID{m1, m3}, accountIDs(got.JSON200.Data))

		// A bad id refuses the whole change: the rename does not happen.
		up, err = b.client.UpdateCampaignWithResponse(ctx, c, api.CampaignUpdate{Name: ptr("Lost"), EmailAccountIds: &[]uuid.UUID{uuid.Must(uuid.NewV7())}}, o.tok)
		require.NoError(t, err)
		field, _ := fieldOf(t, problem(t, up.HTTPResponse, up.Body, http.StatusUnprocessableEntity))
		require.Equal(t, "/email_account_ids/0", field)
		camp, err := b.client.GetCampaignWithResponse(ctx, c, o.tok)
		require.NoError(t, err)
		require.Equal(t, "Renamed", camp.JSON200.Name)

		// And on create, no campaign is left behind.
		before, err := b.client.ListCampaignsWithResponse(ctx, &api.ListCampaignsParams{Limit: ptr(100)}, o.tok)
		require.NoError(t, err)
		cr, err := b.client.CreateCampaignWithResponse(ctx, nil, api.CampaignCreate{Name: "Orphan", Source: api.CampaignSourceManual,
			EmailAccountIds: &[]uuid.UUID{m1, uuid.Must(uuid.NewV7())}}, o.tok)
		require.NoError(t, err)
		field, _ = fieldOf(t, problem(t, cr.HTTPResponse, cr.Body, http.StatusUnprocessableEntity))
		require.Equal(t, "/email_account_ids/1", field)
		after, err := b.client.ListCampaignsWithResponse(ctx, &api.ListCampaignsParams{Limit: ptr(100)}, o.tok)
		require.NoError(t, err)
		require.Len(t, after.JSON200.Data, len(before.JSON200.Data))
	})

	t.Run("ActivatingNeedsAMailboxOnlyWithSomethingToSend", func(t *testing.T) {
		// Nothing approved to send: no mailbox needed.
		empty := o.campaign(t, nil)
		l := o.lead(t, empty, "not-yet@example.com")
		_, err := b.owner.Pool.Exec(ctx, `UPDATE sequences SET is_approved = false, approved_at = NULL WHERE lead_id = $1`, l)
		require.NoError(t, err)
		o.activate(t, empty)

		c := o.campaign(t, nil)
		o.lead(t, c, "needs-mailbox@example.com")
		act, err := b.client.ActivateCampaignWithResponse(ctx, c, o.tok)
		require.NoError(t, err)
		field, code := fieldOf(t, problem(t, act.HTTPResponse, act.Body, http.StatusUnprocessableEntity))
		require.Equal(t, "/email_account_ids", field)
		require.Equal(t, "no_email_account", code)
		put, err := b.client.SetCampaignEmailAccountsWithResponse(ctx, c, api.CampaignEmailAccountsUpdate{EmailAccountIds: []uuid.UUID{m3}}, o.tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, put.StatusCode())
		act, err = b.client.ActivateCampaignWithResponse(ctx, c, o.tok)
		require.NoError(t, err)
		problem(t, act.HTTPResponse, act.Body, http.StatusUnprocessableEntity) // m3 is inactive
		put, err = b.client.SetCampaignEmailAccountsWithResponse(ctx, c, api.CampaignEmailAccountsUpdate{EmailAccountIds: []uuid.UUID{m3, m1}}, o.tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, put.StatusCode())
		o.activate(t, c)
		ms, err := b.client.ListMessagesWithResponse(ctx, &api.ListMessagesParams{CampaignID: &c}, o.tok)
		require.NoError(t, err)
		require.Len(t, ms.JSON200.Data, 1, "activation scheduled step 1")
		require.Equal(t, m1, *ms.JSON200.Data[0].EmailAccountID, "from the active mailbox")
	})
}

func accountIDs(as []api.CampaignEmailAccount) []uuid.UUID {
	out := make([]uuid.UUID, len(as))
	for i, a := range as {
		out[i] = a.EmailAccountID
	}
	return out
}

func TestMessages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	o := b.sendingOrg(t, "Messages Co")
	box := o.mailbox(t, true)
	c := o.campaign(t, &[]uuid.UUID{box})
	var leads []uuid.UUID
	for i := range 3 {
		leads = append(leads, o.lead(t, c, "msg-"+string(rune('a'+i))+"@example.com"))
	}
	o.activate(t, c)
	// One message is held back, one was sent and answered with step 2.
	_, err := b.owner.Pool.Exec(ctx, `UPDATE messages SET blocked_reason = 'account_cap' WHERE lead_id = $1`, leads[0])
	require.NoError(t, err)
	_, err = b.owner.Pool.Exec(ctx, `UPDATE messages SET status = 'sent', sent_at = now() WHERE lead_id = $1`, leads[1])
	require.NoError(t, err)
	step2 := uuid.Must(uuid.NewV7())
	_, err = b.owner.Pool.Exec(ctx, `INSERT INTO messages (id, org_id, campaign_id, lead_id, channel, email_account_id, step, subject, body_text, scheduled_for, status)
		VALUES ($1, $2, $3, $4, 'email', $5, 2, 'Re: Hello Ana', 'Any thoughts?', now() + interval '2 days', 'scheduled')`,
		step2, o.s.Organization.ID, c, leads[1], box)
	require.NoError(t, err)

	t.Run("ListsNewestFirstAcrossPages", func(t *testing.T) {
		var seen []uuid.UUID
		for cursor := (*string)(nil); ; {
			r, err := b.client.ListMessagesWithResponse(ctx, &api.ListMessagesParams{Limit: ptr(2), Cursor: cursor}, o.tok)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
			for _, m := range r.JSON200.Data {
				seen = append(seen, m.ID)
			}
			if cursor = r.JSON200.NextCursor; cursor == nil {
				break
			}
		}
		require.Len(t, seen, 4)
		require.Equal(t, step2, seen[0], "the newest first")
		for i := 1; i < len(seen); i++ {
			require.Positive(t, strings.Compare(seen[i-1].String(), seen[i].String()))
		}
	})

	t.Run("Filters", func(t *testing.T) {
		count := func(p api.ListMessagesParams) []api.Message {
			t.Helper()
			r, err := b.client.ListMessagesWithResponse(ctx, &p, o.tok)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
			return r.JSON200.Data
		}
		require.Len(t, count(api.ListMessagesParams{CampaignID: &c}), 4)
		require.Len(t, count(api.ListMessagesParams{LeadID: &leads[1]}), 2)
		require.Len(t, count(api.ListMessagesParams{Step: ptr(2)}), 1)
		require.Len(t, count(api.ListMessagesParams{Status: &[]api.MessageStatus{api.MessageStatusSent}}), 1)
		require.Len(t, count(api.ListMessagesParams{Status: &[]api.MessageStatus{api.MessageStatusSent, api.MessageStatusScheduled}}), 4)
		held := count(api.ListMessagesParams{BlockedReason: ptr(api.ListMessagesParamsBlockedReasonAccountCap)})
		require.Len(t, held, 1)
		require.Equal(t, leads[0], held[0].LeadID)
		require.Equal(t, api.MessageBlockedReasonAccountCap, *held[0].BlockedReason)
		require.Empty(t, count(api.ListMessagesParams{CampaignID: &c, Status: &[]api.MessageStatus{api.MessageStatusBounced}}))
	})

	t.Run("StatusTakesACommaList", func(t *testing.T) {
		auth := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+o.s.AccessToken) }
		r, body := b.raw(t, http.MethodGet, "/v1/messages?status=sent,scheduled&step=1", "", auth)
		require.Equal(t, http.StatusOK, r.StatusCode, string(body))
		var page api.MessageList
		require.NoError(t, json.Unmarshal(body, &page))
		require.Len(t, page.Data, 3, "step 1 of the three leads")
		r, body = b.raw(t, http.MethodGet, "/v1/messages?status=sent,nonsense", "", auth)
		require.GreaterOrEqual(t, r.StatusCode, 400, string(body))
		require.Less(t, r.StatusCode, 500, string(body))
	})

	t.Run("GetsOne", func(t *testing.T) {
		r, err := b.client.GetMessageWithResponse(ctx, step2, o.tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		require.Equal(t, 2, r.JSON200.Step)
		require.Equal(t, "Re: Hello Ana", *r.JSON200.Subject)
		r, err = b.client.GetMessageWithResponse(ctx, uuid.Must(uuid.NewV7()), o.tok)
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusNotFound)
	})
}

func TestCampaignSchedule(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	o := b.sendingOrg(t, "Schedule Co")
	box := o.mailbox(t, true)
	c := o.campaign(t, &[]uuid.UUID{box})
	first := o.lead(t, c, "sched-a@example.com")
	second := o.lead(t, c, "sched-b@example.com")
	// A lead without an approved sequence is not in the schedule.
	l, err := b.client.CreateLeadWithResponse(ctx, nil, api.LeadCreate{CampaignID: &c, Email: ptr("sched-none@example.com")}, o.tok)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, l.StatusCode())

	t.Run("ADraftProjectsEveryStep", func(t *testing.T) {
		r, err := b.client.GetCampaignScheduleWithResponse(ctx, c, nil, o.tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		require.Len(t, r.JSON200.Data, 2)
		require.Equal(t, second, r.JSON200.Data[0].LeadID, "newest lead first")
		for _, ls := range r.JSON200.Data {
			require.Len(t, ls.Steps, 3)
			for _, st := range ls.Steps {
				require.Equal(t, api.CampaignScheduleStepStatusProjected, st.Status)
				require.Nil(t, st.MessageID)
			}
		}
	})

	o.activate(t, c)
	// The second lead unsubscribed after its first step was scheduled.
	_, err = b.owner.Pool.Exec(ctx, `UPDATE leads SET status = 'unsubscribed', unsubscribed_at = now() WHERE id = $1`, second)
	require.NoError(t, err)
	_, err = b.owner.Pool.Exec(ctx, `UPDATE messages SET status = 'cancelled', blocked_reason = 'lead_unsubscribed' WHERE lead_id = $1`, second)
	require.NoError(t, err)

	t.Run("AfterActivationStepOneIsScheduledAndLaterStepsProjected", func(t *testing.T) {
		r, err := b.client.GetCampaignScheduleWithResponse(ctx, c, &api.GetCampaignScheduleParams{LeadID: &first}, o.tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		require.Len(t, r.JSON200.Data, 1)
		steps := r.JSON200.Data[0].Steps
		require.Len(t, steps, 3)
		require.Equal(t, api.CampaignScheduleStepStatusScheduled, steps[0].Status)
		require.NotNil(t, steps[0].MessageID)
		require.Equal(t, box, *steps[0].EmailAccountID)
		for i, st := range steps[1:] {
			require.Equal(t, api.CampaignScheduleStepStatusProjected, st.Status)
			require.Equal(t, box, *st.EmailAccountID, "follow-ups leave from the first step's mailbox")
			prev := steps[i].ScheduledFor
			// Step 2 is two calendar days after step 1, step 3 three after step 2.
			delay := []int{2, 3}[i]
			require.True(t, st.ScheduledFor.After(*prev))
			require.Equal(t, prev.UTC().AddDate(0, 0, delay).Format(time.DateOnly), st.ScheduledFor.UTC().Format(time.DateOnly))
		}
	})

	t.Run("AStoppedLeadShowsWhy", func(t *testing.T) {
		r, err := b.client.GetCampaignScheduleWithResponse(ctx, c, &api.GetCampaignScheduleParams{LeadID: &second}, o.tok)
		require.NoError(t, err)
		steps := r.JSON200.Data[0].Steps
		require.Equal(t, api.CampaignScheduleStepStatusCancelled, steps[0].Status)
		for _, st := range steps[1:] {
			require.Equal(t, api.CampaignScheduleStepStatusNotScheduled, st.Status)
			require.Equal(t, api.CampaignScheduleStepBlockedReasonLeadUnsubscribed, *st.BlockedReason)
			require.Nil(t, st.ScheduledFor)
		}
	})

	t.Run("PagesByLead", func(t *testing.T) {
		p1, err := b.client.GetCampaignScheduleWithResponse(ctx, c, &api.GetCampaignScheduleParams{Limit: ptr(1)}, o.tok)
		require.NoError(t, err)
		require.Len(t, p1.JSON200.Data, 1)
		require.NotNil(t, p1.JSON200.NextCursor)
		p2, err := b.client.GetCampaignScheduleWithResponse(ctx, c, &api.GetCampaignScheduleParams{Limit: ptr(1), Cursor: p1.JSON200.NextCursor}, o.tok)
		require.NoError(t, err)
		require.Len(t, p2.JSON200.Data, 1)
		require.Nil(t, p2.JSON200.NextCursor)
		require.Equal(t, []uuid.UUID{second, first}, []uuid.UUID{p1.JSON200.Data[0].LeadID, p2.JSON200.Data[0].LeadID})
	})
}

// TestUnsubscribeLink drives /u/{token} through a real HTTP server, as a
// mail provider's one-click POST and a person's browser do.
func TestUnsubscribeLink(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	o := b.sendingOrg(t, "Unsub Co")
	box := o.mailbox(t, true)
	c := o.campaign(t, &[]uuid.UUID{box})
	lead := o.lead(t, c, "leaving@example.com")
	o.activate(t, c)
	signer, err := unsubscribe.NewSigner([]byte(testUnsubscribeSecret))
	require.NoError(t, err)
	link := b.srv.URL + "/u/" + signer.Token(o.s.Organization.ID, lead)
	// No cookies, no redirects: a mail provider follows neither.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, u, body string) (int, http.Header, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
		require.NoError(t, err)
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		res, err := client.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		require.Empty(t, res.Header.Values("Set-Cookie"))
		return res.StatusCode, res.Header, string(b)
	}
	state := func() (status string, suppressed, scheduled, cancelled int) {
		t.Helper()
		require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT l.status,
			(SELECT count(*) FROM suppressions s WHERE s.org_id = l.org_id AND s.value = 'leaving@example.com'),
			(SELECT count(*) FROM messages m WHERE m.lead_id = l.id AND m.status = 'scheduled'),
			(SELECT count(*) FROM messages m WHERE m.lead_id = l.id AND m.status = 'cancelled' AND m.blocked_reason = 'lead_unsubscribed')
			FROM leads l WHERE l.id = $1`, lead).Scan(&status, &suppressed, &scheduled, &cancelled))
		return
	}

	t.Run("GetShowsTheConfirmationAndChangesNothing", func(t *testing.T) {
		code, h, body := do(http.MethodGet, link, "")
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, "text/html; charset=utf-8", h.Get("Content-Type"))
		require.Equal(t, "no-store", h.Get("Cache-Control"))
		require.Contains(t, body, "Unsubscribe from Unsub Co?")
		u, err := url.Parse(link)
		require.NoError(t, err)
		require.Contains(t, body, `action="http://app.test`+u.Path+`"`, "the form posts to the link itself")
		require.Contains(t, body, `name="List-Unsubscribe" value="One-Click"`)
		st, sup, sched, _ := state()
		require.NotEqual(t, "unsubscribed", st)
		require.Zero(t, sup)
		require.Equal(t, 1, sched)
	})

	t.Run("OneClickPostUnsubscribes", func(t *testing.T) {
		code, _, body := do(http.MethodPost, link, "List-Unsubscribe=One-Click")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, body, "You're unsubscribed")
		require.Contains(t, body, "Unsub Co will not email you again.")
		st, sup, sched, cancelled := state()
		require.Equal(t, "unsubscribed", st)
		require.Equal(t, 1, sup, "the address is suppressed")
		require.Zero(t, sched)
		require.Equal(t, 1, cancelled, "its scheduled message is cancelled")
	})

	t.Run("ASecondPostAndAGetSayDone", func(t *testing.T) {
		code, _, body := do(http.MethodPost, link, "List-Unsubscribe=One-Click")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, body, "You're unsubscribed")
		code, _, body = do(http.MethodGet, link, "")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, body, "You're unsubscribed")
		_, sup, _, _ := state()
		require.Equal(t, 1, sup)
	})

	t.Run("AForgedTokenIs400", func(t *testing.T) {
		other, err := unsubscribe.NewSigner([]byte(strings.Repeat("x", 40)))
		require.NoError(t, err)
		forged := b.srv.URL + "/u/" + other.Token(o.s.Organization.ID, lead)
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			code, _, body := do(m, forged, "List-Unsubscribe=One-Click")
			require.Equal(t, http.StatusBadRequest, code, m)
			require.NotContains(t, body, "Unsub Co")
			code, _, _ = do(m, b.srv.URL+"/u/not-a-token", "List-Unsubscribe=One-Click")
			require.Equal(t, http.StatusBadRequest, code, m)
		}
	})

	t.Run("AnUnknownLeadShowsTheInvalidPage", func(t *testing.T) {
		gone := b.srv.URL + "/u/" + signer.Token(o.s.Organization.ID, uuid.Must(uuid.NewV7()))
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			code, _, body := do(m, gone, "List-Unsubscribe=One-Click")
			require.Equal(t, http.StatusNotFound, code, m)
			require.NotContains(t, body, "You're unsubscribed")
		}
	})
}
