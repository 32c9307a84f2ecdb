package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/api/webhooks"
	"github.com/leadpilot/leadpilot/internal/httpapi"
	"github.com/leadpilot/leadpilot/internal/leadimports"
	"github.com/leadpilot/leadpilot/internal/testkit"
	"github.com/leadpilot/leadpilot/internal/webhookdelivery"
	webhooksvc "github.com/leadpilot/leadpilot/internal/webhooks"
)

// received is one request a test receiver got.
type received struct {
	header http.Header
	body   []byte
}

// receiver is a webhook receiver answering status, keeping what it gets.
type receiver struct {
	*httptest.Server
	mu  sync.Mutex
	got []received
}

func newReceiver(t *testing.T, status int) *receiver {
	t.Helper()
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{header: req.Header.Clone(), body: b})
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// TestWebhooksEndToEnd drives the product the way an integrator does,
// through the generated Go client with an API key: subscribe two endpoints,
// make changes, and let the delivery engine (the code the worker's task
// runs, on an injected clock) deliver. The healthy endpoint receives a
// signed lead.created and import.completed that the client library's
// verifier accepts; the failing one is retried on the schedule and then
// disabled, with its owner notified; a replay delivers an event again with
// the same webhook-id.
func TestWebhooksEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	imports := leadimports.NewService(testkit.DB(t), nil)
	b := setup(t, func(d *httpapi.Deps) {
		d.LeadImports = imports
		d.Webhooks = webhooksvc.NewService(testkit.DB(t), testKeyring(t), webhooksvc.Options{AllowHTTP: true})
	})
	owner := b.signup(t, "Webhooks E2E")
	key, err := b.client.CreateAPIKeyWithResponse(ctx, nil, api.APIKeyCreate{Name: "Zapier"}, bearer(owner.AccessToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, key.StatusCode(), string(key.Body))
	tok := bearer(key.JSON201.Secret)
	org := owner.Organization.ID

	good, bad := newReceiver(t, http.StatusNoContent), newReceiver(t, http.StatusInternalServerError)
	subscribe := func(url string, types ...api.EventTypeSubscription) api.WebhookEndpointCreated {
		r, err := b.client.CreateWebhookEndpointWithResponse(ctx, nil, api.WebhookEndpointCreate{URL: url, EventTypes: types}, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, r.StatusCode(), string(r.Body))
		require.True(t, strings.HasPrefix(r.JSON201.Secret, "whsec_"))
		return *r.JSON201
	}
	goodEP := subscribe(good.URL+"/hooks/leadpilot", "lead.created", "import.completed")
	badEP := subscribe(bad.URL+"/hooks/broken", "*")

	// The changes: one lead by the API, two by an import.
	lead, err := b.client.CreateLeadWithResponse(ctx, nil, api.LeadCreate{Email: ptr("ada@example.com"), FirstName: ptr("Ada")}, tok)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, lead.StatusCode(), string(lead.Body))
	imp, err := b.client.CreateLeadImportWithBodyWithResponse(ctx, nil, "text/csv",
		strings.NewReader("email,first_name\nbob@example.com,Bob\ncid@example.com,Cid\n"), tok)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, imp.StatusCode(), string(imp.Body))
	require.NoError(t, imports.Run(ctx, org, imp.JSON202.ID), "the worker's import task")

	now := time.Now().UTC().Add(time.Second) // after the events were written: their messages are due
	var clockMu sync.Mutex
	clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	advance := func(d time.Duration) { clockMu.Lock(); now = now.Add(d); clockMu.Unlock() }
	set := func(t time.Time) { clockMu.Lock(); now = t; clockMu.Unlock() }
	engine := webhookdelivery.New(testkit.DB(t), testKeyring(t), webhookdelivery.Config{
		Now: clock, AllowHTTP: true, Jitter: -1,
		HTTP: webhookdelivery.ClientConfig{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
	})
	deliver := func(ep uuid.UUID) {
		t.Helper()
		_, err := engine.Deliver(ctx, org, ep)
		require.NoError(t, err)
	}

	// The healthy endpoint: every event it subscribes to, signed.
	deliver(goodEP.ID)
	verifier, err := webhooks.NewVerifier(goodEP.Secret)
	require.NoError(t, err)
	verifier.Now = clock
	types := map[string]int{}
	var leadEvent webhooks.Event
	var leadEventHeader http.Header
	for _, r := range good.requests() {
		e, err := verifier.VerifyEvent(r.header, r.body)
		require.NoError(t, err, "the Go client's verifier accepts what was delivered")
		require.Equal(t, e.ID, r.header.Get("webhook-id"), "webhook-id is the event id")
		types[e.Type]++
		if e.Type == "lead.created" && e.ObjectID != nil && *e.ObjectID == lead.JSON201.ID.String() {
			leadEvent, leadEventHeader = e, r.header
		}
	}
	require.Equal(t, map[string]int{"lead.created": 3, "import.completed": 1}, types,
		"the API's lead, the import's two (someone listens for lead.created) and the import's summary")
	require.Contains(t, string(leadEvent.Data), `"email":"ada@example.com"`, "the payload is the lead as the API returned it")

	// The failing endpoint: retried on the schedule, then disabled.
	deliver(badEP.ID)
	start := clock()
	first := len(bad.requests())
	require.Positive(t, first)
	messages := func() []api.WebhookMessage {
		r, err := b.client.ListWebhookMessagesWithResponse(ctx, badEP.ID, &api.ListWebhookMessagesParams{Limit: ptr(100)}, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		return r.JSON200.Data
	}
	// Each retry is due its schedule's wait after the attempt before, and
	// is made then, not a second earlier.
	attempts := 1
	for {
		ep, err := b.client.GetWebhookEndpointWithResponse(ctx, badEP.ID, tok)
		require.NoError(t, err)
		if ep.JSON200.Status == api.WebhookEndpointStatusDisabled {
			break
		}
		require.Less(t, attempts, len(webhookdelivery.DefaultSchedule)+1, "the endpoint is disabled by the end of the schedule")
		ms := messages()
		require.Len(t, ms, first)
		var due time.Time
		for _, m := range ms {
			require.Equal(t, attempts, m.Attempts)
			require.Equal(t, api.WebhookMessageStatusPending, m.Status)
			require.NotNil(t, m.NextAttemptAt)
			require.NotNil(t, m.LastAttemptAt)
			require.WithinDuration(t, m.LastAttemptAt.Add(webhookdelivery.DefaultSchedule[attempts-1]), *m.NextAttemptAt, time.Second,
				"retry %d is due %s after attempt %d", attempts, webhookdelivery.DefaultSchedule[attempts-1], attempts)
			if m.NextAttemptAt.After(due) {
				due = *m.NextAttemptAt
			}
		}
		set(due.Add(-time.Second))
		deliver(badEP.ID)
		require.Len(t, bad.requests(), first*attempts, "nothing is retried before it is due")
		set(due)
		deliver(badEP.ID)
		attempts++
		require.Len(t, bad.requests(), first*attempts, "attempt %d of each message is made when due", attempts)
	}
	ep, err := b.client.GetWebhookEndpointWithResponse(ctx, badEP.ID, tok)
	require.NoError(t, err)
	require.Equal(t, api.WebhookEndpointStatusDisabled, ep.JSON200.Status, "after %d attempts", attempts)
	t.Logf("the failing endpoint was disabled after %d attempts of each message, %s after the first", attempts, clock().Sub(start))
	require.NotNil(t, ep.JSON200.DisabledReason)
	require.Equal(t, api.WebhookDisabledReasonFailing, *ep.JSON200.DisabledReason)
	require.NotNil(t, ep.JSON200.DisabledMessage)
	require.Contains(t, *ep.JSON200.DisabledMessage, "500")
	for _, m := range messages() {
		require.Equal(t, api.WebhookMessageStatusFailed, m.Status)
	}
	var notified int
	require.NoError(t, b.owner.Pool.QueryRow(ctx,
		`SELECT count(*) FROM notifications WHERE org_id = $1 AND user_id = $2 AND type = 'system' AND action_url LIKE '%' || $3`,
		org, owner.User.ID, badEP.ID.String()).Scan(&notified))
	require.Equal(t, 1, notified, "the owner is told the endpoint was disabled")
	advance(24 * time.Hour)
	deliver(badEP.ID)
	require.Len(t, bad.requests(), first*attempts, "a disabled endpoint gets nothing more")

	// A replay delivers the event again, with the same webhook-id.
	before := len(good.requests())
	evID, err := uuid.Parse(leadEvent.ID)
	require.NoError(t, err)
	rp, err := b.client.ReplayWebhookMessageWithResponse(ctx, goodEP.ID, evID, tok)
	require.NoError(t, err)
	require.Less(t, rp.StatusCode(), 300, string(rp.Body))
	deliver(goodEP.ID)
	after := good.requests()
	require.Len(t, after, before+1)
	again := after[len(after)-1]
	require.Equal(t, leadEventHeader.Get("webhook-id"), again.header.Get("webhook-id"))
	e, err := verifier.VerifyEvent(again.header, again.body)
	require.NoError(t, err)
	require.JSONEq(t, string(leadEvent.Data), string(e.Data), "a replay sends the snapshot taken when the lead was created")
}
