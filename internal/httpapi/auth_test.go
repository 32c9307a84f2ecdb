package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	t.Run("SignupCreatesOrgAndOwner", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Acme Widgets, Inc.")
		require.Equal(t, api.RoleOwner, s.Role)
		require.Equal(t, "Acme Widgets, Inc.", s.Organization.Name)
		require.Regexp(t, `^acme-widgets-inc(-[a-z0-9]{6})?$`, s.Organization.Slug)
		require.Equal(t, "UTC", *s.Organization.Settings.Timezone)
		require.Positive(t, s.ExpiresIn)
		require.NotEmpty(t, s.RefreshToken)

		me, err := b.client.GetMeWithResponse(ctx, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, me.StatusCode())
		require.Equal(t, api.MePrincipalTypeUser, me.JSON200.PrincipalType)
		require.Equal(t, s.User.ID, me.JSON200.User.ID)
		require.Equal(t, s.Organization.ID, me.JSON200.Organization.ID)
		require.Len(t, *me.JSON200.Memberships, 1)
	})

	t.Run("SameNameGetsADifferentSlug", func(t *testing.T) {
		t.Parallel()
		a := b.signup(t, "Twin Co")
		c := b.signup(t, "Twin Co")
		require.NotEqual(t, a.Organization.Slug, c.Organization.Slug)
	})

	t.Run("SignupTwiceWithOneEmailConflicts", func(t *testing.T) {
		t.Parallel()
		email := api.Email(uniqueEmail("dup"))
		req := api.SignupRequest{Email: email, Password: password, FullName: "A", OrgName: "One"}
		r1, err := b.client.SignupWithResponse(ctx, req)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, r1.StatusCode())
		r2, err := b.client.SignupWithResponse(ctx, req)
		require.NoError(t, err)
		p := problem(t, r2.HTTPResponse, r2.Body, http.StatusConflict)
		require.Equal(t, "email_taken", p.Code)
	})

	t.Run("LoginWithWrongPasswordOrUnknownEmailAnswersTheSame", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Login Co")
		wrong, err := b.client.LoginWithResponse(ctx, api.LoginRequest{Email: api.Email(s.User.Email), Password: "not the password"})
		require.NoError(t, err)
		unknown, err := b.client.LoginWithResponse(ctx, api.LoginRequest{Email: api.Email(uniqueEmail("nobody")), Password: "not the password"})
		require.NoError(t, err)
		pw := problem(t, wrong.HTTPResponse, wrong.Body, http.StatusUnauthorized)
		pu := problem(t, unknown.HTTPResponse, unknown.Body, http.StatusUnauthorized)
		require.Equal(t, pw.Code, pu.Code)
		require.Equal(t, pw.Detail, pu.Detail)

		ok, err := b.client.LoginWithResponse(ctx, api.LoginRequest{Email: api.Email(s.User.Email), Password: password})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, ok.StatusCode(), string(ok.Body))
		require.Equal(t, s.Organization.ID, ok.JSON200.Organization.ID)
	})

	t.Run("EmailIsCaseInsensitive", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Case Co")
		ok, err := b.client.LoginWithResponse(ctx, api.LoginRequest{Email: api.Email("  " + upper(s.User.Email)), Password: password})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, ok.StatusCode(), string(ok.Body))
	})

	t.Run("RefreshRotatesAndReuseRevokesTheFamily", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Refresh Co")
		r1, err := b.client.RefreshSessionWithResponse(ctx, api.RefreshRequest{RefreshToken: s.RefreshToken})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r1.StatusCode(), string(r1.Body))
		next := r1.JSON200.RefreshToken
		require.NotEqual(t, s.RefreshToken, next)

		// The old token again: somebody copied it. Both die.
		again, err := b.client.RefreshSessionWithResponse(ctx, api.RefreshRequest{RefreshToken: s.RefreshToken})
		require.NoError(t, err)
		require.Equal(t, "refresh_token_reused", problem(t, again.HTTPResponse, again.Body, http.StatusUnauthorized).Code)

		after, err := b.client.RefreshSessionWithResponse(ctx, api.RefreshRequest{RefreshToken: next})
		require.NoError(t, err)
		require.Equal(t, "invalid_refresh_token", problem(t, after.HTTPResponse, after.Body, http.StatusUnauthorized).Code)
		me, err := b.client.GetMeWithResponse(ctx, bearer(r1.JSON200.AccessToken))
		require.NoError(t, err)
		require.Equal(t, "session_ended", problem(t, me.HTTPResponse, me.Body, http.StatusUnauthorized).Code, "the family's access tokens end too")

		// Another login is another family and still works.
		l, err := b.client.LoginWithResponse(ctx, api.LoginRequest{Email: api.Email(s.User.Email), Password: password})
		require.NoError(t, err)
		r2, err := b.client.RefreshSessionWithResponse(ctx, api.RefreshRequest{RefreshToken: l.JSON200.RefreshToken})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r2.StatusCode())
	})

	t.Run("LogoutRevokesTheSession", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Logout Co")
		out, err := b.client.LogoutWithResponse(ctx, api.RefreshRequest{RefreshToken: s.RefreshToken})
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, out.StatusCode())
		r, err := b.client.RefreshSessionWithResponse(ctx, api.RefreshRequest{RefreshToken: s.RefreshToken})
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusUnauthorized)
		// The sign-in's access token ends with it.
		me, err := b.client.GetMeWithResponse(ctx, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, "session_ended", problem(t, me.HTTPResponse, me.Body, http.StatusUnauthorized).Code)
		// Logging out again, or with garbage, still succeeds.
		out, err = b.client.LogoutWithResponse(ctx, api.RefreshRequest{RefreshToken: "lpr_garbage"})
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, out.StatusCode())
	})

	t.Run("BadBearerTokensAre401", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Bearer Co")
		for name, tok := range map[string]string{
			"garbage":         "nonsense",
			"tampered":        s.AccessToken[:len(s.AccessToken)-2] + "xx",
			"refresh as bear": s.RefreshToken,
			"unknown api key": "lp_doesnotexist",
		} {
			resp, err := b.client.GetMeWithResponse(ctx, bearer(tok))
			require.NoError(t, err, name)
			problem(t, resp.HTTPResponse, resp.Body, http.StatusUnauthorized)
			require.Equal(t, `Bearer realm="leadpilot"`, resp.HTTPResponse.Header.Get("WWW-Authenticate"), name)
		}
		resp, err := b.client.GetMeWithResponse(ctx)
		require.NoError(t, err)
		require.Equal(t, "unauthenticated", problem(t, resp.HTTPResponse, resp.Body, http.StatusUnauthorized).Code)
	})
}

func upper(s string) string {
	out := []byte(s)
	for i, c := range out {
		if c >= 'a' && c <= 'z' {
			out[i] = c - 32
		}
	}
	return string(out)
}
