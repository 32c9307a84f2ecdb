package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/auth"
	"github.com/leadpilot/leadpilot/internal/campaigns"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/emailaccounts"
	"github.com/leadpilot/leadpilot/internal/emailsend"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/httpapi"
	"github.com/leadpilot/leadpilot/internal/idempotency"
	"github.com/leadpilot/leadpilot/internal/inbox"
	"github.com/leadpilot/leadpilot/internal/jobs"
	"github.com/leadpilot/leadpilot/internal/leadimports"
	"github.com/leadpilot/leadpilot/internal/leads"
	"github.com/leadpilot/leadpilot/internal/llm/llmfactory"
	"github.com/leadpilot/leadpilot/internal/llmsettings"
	"github.com/leadpilot/leadpilot/internal/mailer"
	"github.com/leadpilot/leadpilot/internal/notifications"
	"github.com/leadpilot/leadpilot/internal/orgs"
	"github.com/leadpilot/leadpilot/internal/ratelimit"
	"github.com/leadpilot/leadpilot/internal/secrets"
	"github.com/leadpilot/leadpilot/internal/sending"
	"github.com/leadpilot/leadpilot/internal/sequences"
	"github.com/leadpilot/leadpilot/internal/suppressions"
	"github.com/leadpilot/leadpilot/internal/templates"
	"github.com/leadpilot/leadpilot/internal/testkit"
	"github.com/leadpilot/leadpilot/internal/unsubscribe"
	"github.com/leadpilot/leadpilot/internal/webhooks"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// redisDB is this package's Redis database number.
const redisDB = 1

// testUnsubscribeSecret is the master secret of the test servers'
// unsubscribe links (unsubscribe.NewSigner).
const testUnsubscribeSecret = "unsubscribe-test-secret-of-32-bytes-at-least"

// generous keeps rate limits out of the way of tests about other things.
var generous = httpapi.Limits{OrgPerSecond: 10000, OrgBurst: 10000, KeyPerSecond: 10000, AuthIPPerMinute: 100000, AuthEmailPerMinute: 100000}

type bundle struct {
	srv    *httptest.Server
	db     *database.DB
	owner  *database.DB
	client *api.ClientWithResponses
	mail   *mailer.Catcher // everything the server mailed
}

type option func(*httpapi.Deps)

func withLimits(l httpapi.Limits) option { return func(d *httpapi.Deps) { d.Limits = l } }

// withLLM points the LLM settings at platform (fakes' base URLs, keys).
func withLLM(t testing.TB, platform llmfactory.Platform) option {
	return func(d *httpapi.Deps) {
		d.LLM = llmsettings.NewService(testkit.DB(t), testKeyring(t), platform, d.Logger)
	}
}

func testKeyring(t testing.TB) *secrets.Keyring {
	t.Helper()
	kr, err := secrets.NewKeyring(map[string][]byte{"test": []byte("0123456789abcdef0123456789abcdef")}, "test")
	require.NoError(t, err)
	return kr
}

// setup starts the real API on httptest with the package's database and
// Redis; each server gets its own rate-limit namespace.
func setup(t testing.TB, opts ...option) *bundle {
	t.Helper()
	db := testkit.DB(t)
	rdb := testkit.Redis(t, redisDB)
	tokens := auth.NewTokens("test-secret-test-secret-test-secret-xx", "leadpilot", "leadpilot-api", 15*time.Minute)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	mail := mailer.NewCatcher(1000, nil)
	// The API process's sending engine, wired as cmd/leadpilot does: it
	// schedules on activation and unsubscribes, and never sends.
	signer, err := unsubscribe.NewSigner([]byte(testUnsubscribeSecret))
	require.NoError(t, err)
	engine := sending.New(db, nil, nil, signer, sending.Options{UnsubscribeBase: "http://app.test/u", Logger: logger})
	camps := campaigns.NewService(db)
	camps.OnTransition(engine.OnTransition)
	d := httpapi.Deps{
		Auth:        auth.NewService(db, tokens, 24*time.Hour, auth.Mail{Mailer: mail, PublicURL: "http://app.test"}),
		Orgs:        orgs.NewService(db, 7*24*time.Hour, "http://app.test", mail, false), // invite tokens only by mail, as in production
		LLM:         llmsettings.NewService(db, testKeyring(t), llmfactory.Platform{}, logger),
		Campaigns:   camps,
		Templates:   templates.NewService(db),
		Idempotency: idempotency.NewStore(db, testKeyring(t)),
		// A longer Redis timeout than production's 200 ms: under -race on
		// two busy cores a healthy Redis can answer later than that, and a
		// fail-closed auth limiter would then answer 503. The outage paths
		// have their own limiter (redis_down_test.go).
		Limiter:       ratelimit.New(rdb, "t:"+uuid.NewString()+":", ratelimit.Options{Timeout: 2 * time.Second}),
		Limits:        generous,
		Logger:        logger,
		Registry:      prometheus.NewRegistry(),
		Ready:         func(ctx context.Context) error { return database.SchemaCurrent(ctx, db.Bun) },
		MaxBodyBytes:  64 << 10,
		Suppressions:  suppressions.NewService(db),
		Leads:         leads.NewService(db),
		LeadImports:   leadimports.NewService(db, nil),
		Events:        events.NewService(db),
		Webhooks:      webhooks.NewService(db, testKeyring(t), webhooks.Options{}),
		Notifications: notifications.NewService(db),
		Sequences:     sequences.NewService(db),
		Sending:       engine,
		Unsubscribe:   signer,
		EmailAccounts: emailaccounts.NewService(db, testKeyring(t), emailaccounts.Options{}),
	}
	for _, o := range opts {
		o(&d)
	}
	if d.Generation == nil {
		opt, err := asynq.ParseRedisURI(testkit.RedisURL(t, redisDB))
		require.NoError(t, err)
		enq := jobs.NewEnqueuer(opt)
		t.Cleanup(func() { _ = enq.Close() })
		d.Generation = sequences.NewGenerator(db, sequences.ProvidersFrom(d.LLM), enq, sequences.GeneratorOptions{Logger: logger})
	}
	if d.Inbox == nil {
		// Replies leave as cmd/leadpilot sends them: an engine with the
		// email channel (sandbox mailboxes store what they send).
		pool := emailsend.NewPool(emailsend.PoolOptions{})
		t.Cleanup(func() { _ = pool.Close() })
		replies := sending.New(db, map[string]sending.Channel{"email": sending.EmailChannel{Pool: pool,
			Transports: sending.AccountTransports{DB: db, Accounts: d.EmailAccounts}}}, nil, signer, sending.Options{Logger: logger})
		d.Inbox = inbox.NewService(db, replies, nil, nil, inbox.Options{})
	}
	e, err := httpapi.New(d)
	require.NoError(t, err)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	c, err := api.NewClientWithResponses(srv.URL, api.WithHTTPClient(contractClient(t)))
	require.NoError(t, err)
	return &bundle{srv: srv, db: db, owner: testkit.OwnerDB(t), client: c, mail: mail}
}

func bearer(tok string) api.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+tok)
		return nil
	}
}

func header(k, v string) api.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set(k, v)
		return nil
	}
}

var seq atomic.Int64

func uniqueEmail(prefix string) string {
	return fmt.Sprintf("%s-%d-%s@example.com", prefix, seq.Add(1), uuid.NewString()[:8])
}

const password = "correct horse battery"

// signup creates an organisation and returns its owner's session, with
// the owner's address verified through the mailed link.
func (b *bundle) signup(t testing.TB, orgName string) api.AuthSession {
	t.Helper()
	s := b.signupUnverified(t, orgName)
	r, err := b.client.VerifyEmailWithResponse(context.Background(), api.TokenRequest{Token: b.mailedToken(t, s.User.Email, "/verify-email")})
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, r.StatusCode(), string(r.Body))
	return s
}

// signupUnverified creates an organisation whose owner has not yet
// followed the verification link.
func (b *bundle) signupUnverified(t testing.TB, orgName string) api.AuthSession {
	t.Helper()
	resp, err := b.client.SignupWithResponse(context.Background(), api.SignupRequest{
		Email: api.Email(uniqueEmail("owner")), Password: password, FullName: "Olive Owner", OrgName: orgName,
	})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode(), string(resp.Body))
	return *resp.JSON201
}

// mailedToken waits for the newest mail to address with a link to path
// (e.g. "/accept-invite") and returns the link's token.
func (b *bundle) mailedToken(t testing.TB, address, path string) string {
	t.Helper()
	var tok string
	require.Eventually(t, func() bool {
		for _, m := range b.mail.Messages() {
			if m.To != address {
				continue
			}
			for _, l := range m.Links {
				u, err := url.Parse(l)
				if err == nil && u.Path == path {
					tok = u.Query().Get("token")
					return tok != ""
				}
			}
		}
		return false
	}, 5*time.Second, 10*time.Millisecond, "no mail to %s with a %s link", address, path)
	return tok
}

// join invites a new person with role and returns their session.
func (b *bundle) join(t *testing.T, inviter api.AuthSession, role api.Role) api.AuthSession {
	t.Helper()
	ctx := context.Background()
	email := uniqueEmail(string(role))
	inv, err := b.client.CreateInviteWithResponse(ctx, nil, api.InviteCreate{Email: api.Email(email), Role: &role}, bearer(inviter.AccessToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, inv.StatusCode(), string(inv.Body))
	name := "New " + string(role)
	tok := b.mailedToken(t, email, "/accept-invite")
	acc, err := b.client.AcceptInviteWithResponse(ctx, api.AcceptInviteRequest{Token: tok, Password: password, FullName: &name})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, acc.StatusCode(), string(acc.Body))
	return *acc.JSON200
}

// problem decodes a problem+json body and checks its invariant shape.
func problem(t *testing.T, resp *http.Response, body []byte, status int) api.Problem {
	t.Helper()
	require.Equal(t, status, resp.StatusCode, string(body))
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	var p api.Problem
	require.NoError(t, json.Unmarshal(body, &p))
	require.Equal(t, status, p.Status)
	require.NotEmpty(t, p.Code)
	require.NotEmpty(t, p.Detail)
	require.True(t, strings.HasPrefix(p.Type, "urn:leadpilot:problem:"))
	require.NotNil(t, p.RequestID)
	require.Equal(t, resp.Header.Get("X-Request-Id"), *p.RequestID)
	return p
}

// raw sends a request outside the typed client (for malformed input).
func (b *bundle) raw(t *testing.T, method, path, body string, edit ...func(*http.Request)) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, b.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, e := range edit {
		e(req)
	}
	resp, err := contractClient(t).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, out
}

func withBearer(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}
