package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/emailaccounts"
	"github.com/leadpilot/leadpilot/internal/httpapi"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

func withEmailAccounts(t testing.TB, o emailaccounts.Options) option {
	return func(d *httpapi.Deps) {
		d.EmailAccounts = emailaccounts.NewService(testkit.DB(t), testKeyring(t), o)
	}
}

// fakeMicrosoft is a token endpoint speaking the OAuth 2.0 wire format:
// a form-encoded POST answered with JSON tokens and an id_token whose
// preferred_username is the mailbox.
func fakeMicrosoft(t *testing.T, mailbox string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.ParseForm() != nil || r.PostForm.Get("code") != "good-code" || r.PostForm.Get("code_verifier") == "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"AADSTS70008: The provided authorization code is invalid."}`))
			return
		}
		claims, _ := json.Marshal(map[string]string{"preferred_username": mailbox})
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "ms-access-token", "refresh_token": "ms-refresh-token", "expires_in": 3599,
			"token_type": "Bearer", "id_token": "e30." + base64.RawURLEncoding.EncodeToString(claims) + ".x"})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestEmailAccountsAPI(t *testing.T) {
	t.Parallel()
	ms := fakeMicrosoft(t, "sales@contoso.com")
	b := setup(t, withEmailAccounts(t, emailaccounts.Options{
		AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Microsoft: emailaccounts.OAuthProvider{ClientID: "ms-client", ClientSecret: "ms-secret", AuthURL: ms.URL + "/authorize", TokenURL: ms.URL + "/token",
			RedirectURL: "http://app.test/v1/email-accounts/oauth/outlook/callback", Scopes: []string{"openid", "offline_access"}},
	}))
	ctx := context.Background()
	o := b.signup(t, "Mail Co")
	tok := bearer(o.AccessToken)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedPort := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())

	var customID api.EmailAccount
	t.Run("CreateCustomNeverShowsThePassword", func(t *testing.T) {
		r, err := b.client.CreateEmailAccountWithResponse(ctx, nil, api.EmailAccountCreate{Provider: api.EmailAccountCreateProviderCustom,
			EmailAddress: "Sales@Mail.test", SMTPHost: ptr("127.0.0.1"), SMTPPort: &closedPort, ImapHost: ptr("127.0.0.1"), ImapPort: &closedPort,
			Username: ptr("sales"), Password: ptr("hunter2-secret"), DailySendLimit: ptr(100)}, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, r.StatusCode(), string(r.Body))
		require.NotContains(t, string(r.Body), "hunter2-secret")
		require.NotContains(t, string(r.Body), `"password"`)
		require.True(t, r.JSON201.PasswordSet)
		require.Equal(t, "sales@mail.test", r.JSON201.EmailAddress)
		require.Equal(t, api.EmailTLSModeStarttls, r.JSON201.SMTPTLSMode)
		require.Equal(t, 10, r.JSON201.CurrentDailyCap)
		require.Equal(t, 0, r.JSON201.SentToday)
		customID = *r.JSON201
		g, err := b.client.GetEmailAccountWithResponse(ctx, customID.ID, tok)
		require.NoError(t, err)
		require.NotContains(t, string(g.Body), "hunter2-secret")
		list, err := b.client.ListEmailAccountsWithResponse(ctx, &api.ListEmailAccountsParams{Provider: ptr(api.EmailProviderCustom)}, tok)
		require.NoError(t, err)
		require.Len(t, list.JSON200.Data, 1)
		require.NotContains(t, string(list.Body), "hunter2-secret")
	})

	t.Run("BadInputIsAProblemAndChangesNothing", func(t *testing.T) {
		r, err := b.client.CreateEmailAccountWithResponse(ctx, nil, api.EmailAccountCreate{Provider: api.EmailAccountCreateProviderSandbox,
			EmailAddress: "big@sandbox.test", DailySendLimit: ptr(100001)}, tok)
		require.NoError(t, err)
		p := problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
		require.NotNil(t, p.Errors)
		require.Equal(t, "/daily_send_limit", (*p.Errors)[0].Field)
		r, err = b.client.CreateEmailAccountWithBodyWithResponse(ctx, nil, "application/json",
			strings.NewReader(`{"provider":"gmail","email_address":"a@gmail.com"}`), tok)
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
		r, err = b.client.CreateEmailAccountWithBodyWithResponse(ctx, nil, "application/json",
			strings.NewReader(`{"provider":"sandbox","email_address":"a@sandbox.test","smtp_password":"x"}`), tok)
		require.NoError(t, err)
		require.GreaterOrEqual(t, r.StatusCode(), 400)
		list, err := b.client.ListEmailAccountsWithResponse(ctx, nil, tok)
		require.NoError(t, err)
		require.Len(t, list.JSON200.Data, 1, "nothing was created")
		u, err := b.client.UpdateEmailAccountWithResponse(ctx, customID.ID, api.EmailAccountUpdate{DailySendLimit: ptr(-1)}, tok)
		require.NoError(t, err)
		require.GreaterOrEqual(t, u.StatusCode(), 400)
		g, err := b.client.GetEmailAccountWithResponse(ctx, customID.ID, tok)
		require.NoError(t, err)
		require.Equal(t, 100, g.JSON200.DailySendLimit)
	})

	t.Run("MembersMayNotCreate", func(t *testing.T) {
		m := b.join(t, o, api.RoleMember)
		r, err := b.client.CreateEmailAccountWithResponse(ctx, nil, api.EmailAccountCreate{Provider: api.EmailAccountCreateProviderSandbox, EmailAddress: "m@sandbox.test"}, bearer(m.AccessToken))
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusForbidden)
		g, err := b.client.GetEmailAccountWithResponse(ctx, customID.ID, bearer(m.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, g.StatusCode(), "members read")
	})

	t.Run("TestReportsEachStep", func(t *testing.T) {
		r, err := b.client.TestEmailAccountWithResponse(ctx, customID.ID, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		require.False(t, r.JSON200.Ok)
		require.Equal(t, "smtp_connect", r.JSON200.Steps[0].Name)
		require.Contains(t, r.JSON200.Steps[0].Detail, "refused")
		require.Equal(t, api.EmailConnectionStatusError, r.JSON200.Account.ConnectionStatus)
		list, err := b.client.ListEmailAccountsWithResponse(ctx, &api.ListEmailAccountsParams{Status: ptr(api.EmailConnectionStatusError)}, tok)
		require.NoError(t, err)
		require.Len(t, list.JSON200.Data, 1)
	})

	t.Run("SandboxLoop", func(t *testing.T) {
		c, err := b.client.CreateEmailAccountWithResponse(ctx, nil, api.EmailAccountCreate{Provider: api.EmailAccountCreateProviderSandbox, EmailAddress: "try@sandbox.test"}, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, c.StatusCode(), string(c.Body))
		rep, err := b.client.InjectSandboxReplyWithResponse(ctx, c.JSON201.ID, nil, api.SandboxReplyCreate{From: "lead@example.com", Subject: ptr("Re: hello"), Text: "Sounds good"}, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, rep.StatusCode(), string(rep.Body))
		require.Equal(t, api.SandboxMessageDirectionInbound, rep.JSON201.Direction)
		msgs, err := b.client.ListSandboxMessagesWithResponse(ctx, c.JSON201.ID, nil, tok)
		require.NoError(t, err)
		require.Len(t, msgs.JSON200.Data, 1)
		require.Equal(t, "Sounds good", strings.TrimSpace(msgs.JSON200.Data[0].Text))
		notSandbox, err := b.client.ListSandboxMessagesWithResponse(ctx, customID.ID, nil, tok)
		require.NoError(t, err)
		p := problem(t, notSandbox.HTTPResponse, notSandbox.Body, http.StatusConflict)
		require.Equal(t, "not_sandbox", p.Code)
		// The injected reply is in the inbox now, which keeps pointing at
		// the mailbox: it cannot be deleted, only deactivated.
		d, err := b.client.DeleteEmailAccountWithResponse(ctx, c.JSON201.ID, tok)
		require.NoError(t, err)
		p = problem(t, d.HTTPResponse, d.Body, http.StatusConflict)
		require.Equal(t, "email_account_in_use", p.Code)
		empty, err := b.client.CreateEmailAccountWithResponse(ctx, nil, api.EmailAccountCreate{Provider: api.EmailAccountCreateProviderSandbox, EmailAddress: "unused@sandbox.test"}, tok)
		require.NoError(t, err)
		d, err = b.client.DeleteEmailAccountWithResponse(ctx, empty.JSON201.ID, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, d.StatusCode(), "a mailbox nothing points at can go")
	})

	t.Run("OAuthWithOutlook", func(t *testing.T) {
		notConf, err := b.client.AuthorizeEmailAccountOAuthWithResponse(ctx, api.OAuthProvider(api.EmailOAuthProviderGmail), tok)
		require.NoError(t, err)
		p := problem(t, notConf.HTTPResponse, notConf.Body, http.StatusConflict)
		require.Equal(t, "oauth_not_configured", p.Code)

		a, err := b.client.AuthorizeEmailAccountOAuthWithResponse(ctx, api.OAuthProvider(api.EmailOAuthProviderOutlook), tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, a.StatusCode(), string(a.Body))
		u, err := url.Parse(a.JSON200.AuthorizeURL)
		require.NoError(t, err)
		require.Equal(t, "ms-client", u.Query().Get("client_id"))
		require.Equal(t, "S256", u.Query().Get("code_challenge_method"))
		state := u.Query().Get("state")

		// The browser comes back without a bearer token.
		bad, err := b.client.EmailAccountOAuthCallbackWithResponse(ctx, api.OAuthProvider(api.EmailOAuthProviderOutlook),
			&api.EmailAccountOAuthCallbackParams{Code: ptr("good-code"), State: "forged" + state})
		require.NoError(t, err)
		p = problem(t, bad.HTTPResponse, bad.Body, http.StatusBadRequest)
		require.Equal(t, "invalid_state", p.Code)
		badCode, err := b.client.EmailAccountOAuthCallbackWithResponse(ctx, api.OAuthProvider(api.EmailOAuthProviderOutlook),
			&api.EmailAccountOAuthCallbackParams{Code: ptr("bad-code"), State: state})
		require.NoError(t, err)
		problem(t, badCode.HTTPResponse, badCode.Body, http.StatusUnprocessableEntity)

		cb, err := b.client.EmailAccountOAuthCallbackWithResponse(ctx, api.OAuthProvider(api.EmailOAuthProviderOutlook),
			&api.EmailAccountOAuthCallbackParams{Code: ptr("good-code"), State: state})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, cb.StatusCode(), string(cb.Body))
		require.Equal(t, "sales@contoso.com", cb.JSON200.EmailAddress)
		require.Equal(t, api.EmailProviderOutlook, cb.JSON200.Provider)
		require.True(t, cb.JSON200.OauthConnected)
		require.NotContains(t, string(cb.Body), "ms-access-token")
		require.NotContains(t, string(cb.Body), "ms-refresh-token")
		ev, err := b.client.ListEventsWithResponse(ctx, &api.ListEventsParams{Limit: ptr(100)}, tok)
		require.NoError(t, err)
		require.NotContains(t, string(ev.Body), "ms-refresh-token")
		require.NotContains(t, string(ev.Body), "hunter2-secret")
		require.Contains(t, string(ev.Body), "email_account.created")
	})
}
