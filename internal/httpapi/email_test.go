package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/httpapi"
	"github.com/leadpilot/leadpilot/internal/mailer"
	"github.com/leadpilot/leadpilot/internal/orgs"
	"github.com/leadpilot/leadpilot/internal/testkit"
	"github.com/leadpilot/leadpilot/internal/token"
)

// withInviteMailer sends invites through m, exposing their tokens in the
// response as in development when expose is set.
func withInviteMailer(t testing.TB, m mailer.Mailer, expose bool) option {
	return func(d *httpapi.Deps) {
		d.Orgs = orgs.NewService(testkit.DB(t), 7*24*time.Hour, "http://app.test", m, expose)
	}
}

type failingMailer struct{}

func (failingMailer) Send(context.Context, mailer.Message) error {
	return errors.New("relay said 451 try later")
}

// expire moves a mailed token's expiry into the past.
func (b *bundle) expire(t *testing.T, secret string) {
	t.Helper()
	tag, err := b.owner.Pool.Exec(context.Background(), `UPDATE user_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = $1`, token.Hash(secret))
	require.NoError(t, err)
	require.EqualValues(t, 1, tag.RowsAffected())
}

func (b *bundle) me(t *testing.T, access string) api.User {
	t.Helper()
	me, err := b.client.GetMeWithResponse(context.Background(), bearer(access))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, me.StatusCode(), string(me.Body))
	return *me.JSON200.User
}

func (b *bundle) mailsTo(address string) []mailer.Caught {
	var out []mailer.Caught
	for _, m := range b.mail.Messages() {
		if m.To == address {
			out = append(out, m)
		}
	}
	return out
}

func TestEmailVerification(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	t.Run("SignupMailsALinkThatVerifiesTheAddressOnce", func(t *testing.T) {
		t.Parallel()
		s := b.signupUnverified(t, "Verify Co")
		u := b.me(t, s.AccessToken)
		require.False(t, u.EmailVerified)
		require.Nil(t, u.EmailVerifiedAt)

		mails := b.mailsTo(s.User.Email)
		require.Len(t, mails, 1)
		require.Contains(t, mails[0].Subject, "Confirm your email address")
		require.Len(t, mails[0].Links, 1)
		require.True(t, strings.HasPrefix(mails[0].Links[0], "http://app.test/verify-email?token=lpv_"), mails[0].Links[0])
		tok := b.mailedToken(t, s.User.Email, "/verify-email")

		r, err := b.client.VerifyEmailWithResponse(ctx, api.TokenRequest{Token: tok})
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, r.StatusCode(), string(r.Body))
		u = b.me(t, s.AccessToken)
		require.True(t, u.EmailVerified)
		require.NotNil(t, u.EmailVerifiedAt)
		require.WithinDuration(t, time.Now(), *u.EmailVerifiedAt, time.Minute)

		again, err := b.client.VerifyEmailWithResponse(ctx, api.TokenRequest{Token: tok})
		require.NoError(t, err)
		require.Equal(t, "token_used", problem(t, again.HTTPResponse, again.Body, http.StatusConflict).Code)
	})

	t.Run("AnExpiredLinkIsRejected", func(t *testing.T) {
		t.Parallel()
		s := b.signupUnverified(t, "Late Co")
		tok := b.mailedToken(t, s.User.Email, "/verify-email")
		b.expire(t, tok)
		r, err := b.client.VerifyEmailWithResponse(ctx, api.TokenRequest{Token: tok})
		require.NoError(t, err)
		require.Equal(t, "token_expired", problem(t, r.HTTPResponse, r.Body, http.StatusConflict).Code)
		require.False(t, b.me(t, s.AccessToken).EmailVerified)
	})

	t.Run("AnUnknownOrResetTokenDoesNotVerify", func(t *testing.T) {
		t.Parallel()
		r, err := b.client.VerifyEmailWithResponse(ctx, api.TokenRequest{Token: "lpv_nope"})
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusNotFound)

		s := b.signupUnverified(t, "Mixed Co")
		req, err := b.client.RequestPasswordResetWithResponse(ctx, api.PasswordResetRequest{Email: api.Email(s.User.Email)})
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, req.StatusCode())
		reset := b.mailedToken(t, s.User.Email, "/reset-password")
		r, err = b.client.VerifyEmailWithResponse(ctx, api.TokenRequest{Token: reset})
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusNotFound)
		require.False(t, b.me(t, s.AccessToken).EmailVerified)
	})

	t.Run("AnUnverifiedUserMayNotInviteOrCreateAPIKeysUntilVerified", func(t *testing.T) {
		t.Parallel()
		s := b.signupUnverified(t, "Squat Co")
		invitee := uniqueEmail("second-account")
		inv, err := b.client.CreateInviteWithResponse(ctx, nil, api.InviteCreate{Email: api.Email(invitee)}, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, "email_unverified", problem(t, inv.HTTPResponse, inv.Body, http.StatusForbidden).Code)
		require.Empty(t, b.mailsTo(invitee), "nothing was mailed for the refused invite")
		k, err := b.client.CreateAPIKeyWithResponse(ctx, nil, api.APIKeyCreate{Name: "persist"}, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, "email_unverified", problem(t, k.HTTPResponse, k.Body, http.StatusForbidden).Code)
		keys, err := b.client.ListAPIKeysWithResponse(ctx, nil, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Empty(t, keys.JSON200.Data)

		// Everything else works unverified.
		org, err := b.client.UpdateOrganizationWithResponse(ctx, api.OrganizationUpdate{Name: ptr("Renamed")}, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, org.StatusCode(), string(org.Body))

		v, err := b.client.VerifyEmailWithResponse(ctx, api.TokenRequest{Token: b.mailedToken(t, s.User.Email, "/verify-email")})
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, v.StatusCode())
		inv, err = b.client.CreateInviteWithResponse(ctx, nil, api.InviteCreate{Email: api.Email(invitee)}, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, inv.StatusCode(), string(inv.Body))
		k, err = b.client.CreateAPIKeyWithResponse(ctx, nil, api.APIKeyCreate{Name: "now fine"}, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, k.StatusCode(), string(k.Body))
	})

	t.Run("ResendMailsANewLinkAFewTimesAnHour", func(t *testing.T) {
		t.Parallel()
		s := b.signupUnverified(t, "Resend Co")
		first := b.mailedToken(t, s.User.Email, "/verify-email")
		for range 3 {
			r, err := b.client.ResendVerificationWithResponse(ctx, bearer(s.AccessToken))
			require.NoError(t, err)
			require.Equal(t, http.StatusNoContent, r.StatusCode(), string(r.Body))
		}
		require.Len(t, b.mailsTo(s.User.Email), 4)
		latest := b.mailedToken(t, s.User.Email, "/verify-email")
		require.NotEqual(t, first, latest)
		r, err := b.client.ResendVerificationWithResponse(ctx, bearer(s.AccessToken))
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusTooManyRequests)
		require.Len(t, b.mailsTo(s.User.Email), 4, "a refused resend mails nothing")

		v, err := b.client.VerifyEmailWithResponse(ctx, api.TokenRequest{Token: first})
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, v.StatusCode(), "earlier links stay valid")
	})

	t.Run("ResendIsRefusedToVerifiedUsersAndAPIKeys", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Done Co")
		r, err := b.client.ResendVerificationWithResponse(ctx, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, "already_verified", problem(t, r.HTTPResponse, r.Body, http.StatusConflict).Code)
		k, err := b.client.CreateAPIKeyWithResponse(ctx, nil, api.APIKeyCreate{Name: "k"}, bearer(s.AccessToken))
		require.NoError(t, err)
		r, err = b.client.ResendVerificationWithResponse(ctx, bearer(k.JSON201.Secret))
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusForbidden)
	})
}

func TestPasswordReset(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	request := func(t *testing.T, email string) *api.RequestPasswordResetResponse {
		t.Helper()
		r, err := b.client.RequestPasswordResetWithResponse(ctx, api.PasswordResetRequest{Email: api.Email(email)})
		require.NoError(t, err)
		return r
	}

	t.Run("KnownAndUnknownAddressesGetTheSameAnswer", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Known Co")
		unknownAddr := uniqueEmail("nobody")
		unknown := request(t, unknownAddr)
		known := request(t, s.User.Email)
		require.Equal(t, http.StatusAccepted, unknown.StatusCode())
		require.Equal(t, unknown.StatusCode(), known.StatusCode())
		require.Equal(t, string(unknown.Body), string(known.Body))
		require.Equal(t, unknown.HTTPResponse.Header.Get("Content-Type"), known.HTTPResponse.Header.Get("Content-Type"))
		require.NotEmpty(t, known.JSON202.Detail)

		tok := b.mailedToken(t, s.User.Email, "/reset-password")
		require.True(t, strings.HasPrefix(tok, "lpp_"))
		mail := b.mailsTo(s.User.Email)[0]
		require.Equal(t, "Reset your LeadPilot password", mail.Subject)
		require.Equal(t, []string{"http://app.test/reset-password?token=" + tok}, mail.Links)
		// The unknown request was handled first and mails nobody.
		require.Never(t, func() bool { return len(b.mailsTo(unknownAddr)) > 0 }, 200*time.Millisecond, 20*time.Millisecond)
	})

	t.Run("ConfirmSetsThePasswordAndEndsEverySessionInEveryOrganisation", func(t *testing.T) {
		t.Parallel()
		home := b.signup(t, "Home Co")
		other := b.signup(t, "Other Co")
		role := api.RoleMember
		inv, err := b.client.CreateInviteWithResponse(ctx, nil, api.InviteCreate{Email: api.Email(home.User.Email), Role: &role}, bearer(other.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, inv.StatusCode(), string(inv.Body))
		joined, err := b.client.AcceptInviteWithResponse(ctx, api.AcceptInviteRequest{Token: b.mailedToken(t, home.User.Email, "/accept-invite"), Password: password})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, joined.StatusCode(), string(joined.Body))
		sessions := []api.AuthSession{home, *joined.JSON200}

		require.Equal(t, http.StatusAccepted, request(t, home.User.Email).StatusCode())
		tok := b.mailedToken(t, home.User.Email, "/reset-password")
		const newPassword = "a brand new passphrase"
		c, err := b.client.ConfirmPasswordResetWithResponse(ctx, api.PasswordResetConfirm{Token: tok, Password: newPassword})
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, c.StatusCode(), string(c.Body))

		for _, s := range sessions {
			me, err := b.client.GetMeWithResponse(ctx, bearer(s.AccessToken))
			require.NoError(t, err)
			require.Equal(t, "session_ended", problem(t, me.HTTPResponse, me.Body, http.StatusUnauthorized).Code, "old access token in %s", s.Organization.Name)
			rf, err := b.client.RefreshSessionWithResponse(ctx, api.RefreshRequest{RefreshToken: s.RefreshToken})
			require.NoError(t, err)
			problem(t, rf.HTTPResponse, rf.Body, http.StatusUnauthorized)
		}
		old, err := b.client.LoginWithResponse(ctx, api.LoginRequest{Email: api.Email(home.User.Email), Password: password})
		require.NoError(t, err)
		problem(t, old.HTTPResponse, old.Body, http.StatusUnauthorized)
		l, err := b.client.LoginWithResponse(ctx, api.LoginRequest{Email: api.Email(home.User.Email), Password: newPassword})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, l.StatusCode(), string(l.Body))

		again, err := b.client.ConfirmPasswordResetWithResponse(ctx, api.PasswordResetConfirm{Token: tok, Password: "yet another passphrase"})
		require.NoError(t, err)
		require.Equal(t, "token_used", problem(t, again.HTTPResponse, again.Body, http.StatusConflict).Code)
		l, err = b.client.LoginWithResponse(ctx, api.LoginRequest{Email: api.Email(home.User.Email), Password: newPassword})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, l.StatusCode(), "the used link changed nothing")
	})

	t.Run("ResettingVerifiesTheAddressAndSpendsOtherOpenLinks", func(t *testing.T) {
		t.Parallel()
		s := b.signupUnverified(t, "Forgetful Co")
		require.Equal(t, http.StatusAccepted, request(t, s.User.Email).StatusCode())
		first := b.mailedToken(t, s.User.Email, "/reset-password")
		require.Equal(t, http.StatusAccepted, request(t, s.User.Email).StatusCode())
		var second string
		require.Eventually(t, func() bool {
			second = b.mailedToken(t, s.User.Email, "/reset-password")
			return second != first
		}, 5*time.Second, 10*time.Millisecond)

		c, err := b.client.ConfirmPasswordResetWithResponse(ctx, api.PasswordResetConfirm{Token: second, Password: "new and long enough"})
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, c.StatusCode(), string(c.Body))
		stale, err := b.client.ConfirmPasswordResetWithResponse(ctx, api.PasswordResetConfirm{Token: first, Password: "attacker's choice!"})
		require.NoError(t, err)
		require.Equal(t, "token_used", problem(t, stale.HTTPResponse, stale.Body, http.StatusConflict).Code)

		l, err := b.client.LoginWithResponse(ctx, api.LoginRequest{Email: api.Email(s.User.Email), Password: "new and long enough"})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, l.StatusCode(), string(l.Body))
		require.True(t, b.me(t, l.JSON200.AccessToken).EmailVerified, "the reset link reached the address")
	})

	t.Run("AnExpiredLinkIsRejectedAndChangesNothing", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Slow Co")
		require.Equal(t, http.StatusAccepted, request(t, s.User.Email).StatusCode())
		tok := b.mailedToken(t, s.User.Email, "/reset-password")
		b.expire(t, tok)
		c, err := b.client.ConfirmPasswordResetWithResponse(ctx, api.PasswordResetConfirm{Token: tok, Password: "too late for this"})
		require.NoError(t, err)
		require.Equal(t, "token_expired", problem(t, c.HTTPResponse, c.Body, http.StatusConflict).Code)
		me, err := b.client.GetMeWithResponse(ctx, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, me.StatusCode(), "sessions live on")
		l, err := b.client.LoginWithResponse(ctx, api.LoginRequest{Email: api.Email(s.User.Email), Password: password})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, l.StatusCode())
	})

	t.Run("UnknownTokenAndShortPasswordAreRefused", func(t *testing.T) {
		t.Parallel()
		c, err := b.client.ConfirmPasswordResetWithResponse(ctx, api.PasswordResetConfirm{Token: "lpp_nope", Password: "long enough password"})
		require.NoError(t, err)
		problem(t, c.HTTPResponse, c.Body, http.StatusNotFound)

		s := b.signup(t, "Short Co")
		require.Equal(t, http.StatusAccepted, request(t, s.User.Email).StatusCode())
		tok := b.mailedToken(t, s.User.Email, "/reset-password")
		c, err = b.client.ConfirmPasswordResetWithResponse(ctx, api.PasswordResetConfirm{Token: tok, Password: "short"})
		require.NoError(t, err)
		problem(t, c.HTTPResponse, c.Body, http.StatusUnprocessableEntity)
		c, err = b.client.ConfirmPasswordResetWithResponse(ctx, api.PasswordResetConfirm{Token: tok, Password: "long enough this time"})
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, c.StatusCode(), "a refused password does not spend the link")
	})

	t.Run("RequestsAreLimitedPerAddressKnownOrNot", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Flood Co")
		for _, addr := range []string{s.User.Email, uniqueEmail("nobody")} {
			for range 3 {
				require.Equal(t, http.StatusAccepted, request(t, addr).StatusCode())
			}
			r := request(t, addr)
			problem(t, r.HTTPResponse, r.Body, http.StatusTooManyRequests)
		}
	})
}

func TestInviteMail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("TheInviteeIsMailedTheLinkAndTheResponseHasNoToken", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		o := b.signup(t, "Mail Co")
		invitee := uniqueEmail("invitee")
		inv, err := b.client.CreateInviteWithResponse(ctx, nil, api.InviteCreate{Email: api.Email(invitee)}, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, inv.StatusCode(), string(inv.Body))
		require.Nil(t, inv.JSON201.Token)
		require.Nil(t, inv.JSON201.AcceptURL)
		var fields map[string]any
		require.NoError(t, json.Unmarshal(inv.Body, &fields))
		require.NotContains(t, fields, "token")
		require.NotContains(t, fields, "accept_url")

		mails := b.mailsTo(invitee)
		require.Len(t, mails, 1)
		require.Equal(t, "You are invited to join Mail Co on LeadPilot", mails[0].Subject)
		require.Contains(t, mails[0].Text, "Olive Owner has invited you")
		tok := b.mailedToken(t, invitee, "/accept-invite")
		require.True(t, strings.HasPrefix(tok, "lpi_"))
		require.Equal(t, []string{"http://app.test/accept-invite?token=" + tok}, mails[0].Links)
		require.NotContains(t, string(inv.Body), tok)

		acc, err := b.client.AcceptInviteWithResponse(ctx, api.AcceptInviteRequest{Token: tok, Password: password})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, acc.StatusCode(), string(acc.Body))
		require.True(t, acc.JSON200.User.EmailVerified, "accepting a mailed invite proves the address")
		require.True(t, b.me(t, acc.JSON200.AccessToken).EmailVerified)
	})

	t.Run("AnAdminCannotTakeOverTheInviteesAddress", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		o := b.signup(t, "Hijack Co")
		victim := uniqueEmail("victim")
		inv, err := b.client.CreateInviteWithResponse(ctx, nil, api.InviteCreate{Email: api.Email(victim)}, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, inv.StatusCode())
		require.Nil(t, inv.JSON201.Token, "nothing to accept with")
		list, err := b.client.ListInvitesWithResponse(ctx, nil, bearer(o.AccessToken))
		require.NoError(t, err)
		require.NotContains(t, string(list.Body), "lpi_")

		// The victim's address is still free for them.
		su, err := b.client.SignupWithResponse(ctx, api.SignupRequest{Email: api.Email(victim), Password: password, FullName: "Vic Tim", OrgName: "Vic's"})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, su.StatusCode(), string(su.Body))
	})

	t.Run("DevelopmentAlsoShowsTheTokenInTheResponse", func(t *testing.T) {
		t.Parallel()
		devMail := mailer.NewCatcher(10, nil)
		b := setup(t, withInviteMailer(t, devMail, true))
		o := b.signup(t, "Dev Co")
		invitee := uniqueEmail("dev")
		inv, err := b.client.CreateInviteWithResponse(ctx, nil, api.InviteCreate{Email: api.Email(invitee)}, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, inv.StatusCode(), string(inv.Body))
		require.NotNil(t, inv.JSON201.Token)
		require.Equal(t, "http://app.test/accept-invite?token="+*inv.JSON201.Token, *inv.JSON201.AcceptURL)
		msgs := devMail.Messages()
		require.Len(t, msgs, 1)
		require.Equal(t, []string{*inv.JSON201.AcceptURL}, msgs[0].Links, "the same link was mailed")
	})

	t.Run("AnInviteThatCannotBeMailedIsNotCreated", func(t *testing.T) {
		t.Parallel()
		b := setup(t, withInviteMailer(t, failingMailer{}, false))
		o := b.signup(t, "Offline Co")
		inv, err := b.client.CreateInviteWithResponse(ctx, nil, api.InviteCreate{Email: api.Email(uniqueEmail("x"))}, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, "mail_unavailable", problem(t, inv.HTTPResponse, inv.Body, http.StatusServiceUnavailable).Code)
		list, err := b.client.ListInvitesWithResponse(ctx, nil, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Empty(t, list.JSON200.Data)
	})
}

func TestMailedTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	t.Run("AResetLinkPresentedTwiceAtOnceWorksOnce", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Race Co")
		r, err := b.client.RequestPasswordResetWithResponse(ctx, api.PasswordResetRequest{Email: api.Email(s.User.Email)})
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, r.StatusCode())
		tok := b.mailedToken(t, s.User.Email, "/reset-password")
		const n = 4
		codes := make(chan int, n)
		for i := range n {
			go func() {
				// A 503 auth_busy (the bounded password work, shared with the
				// package's other parallel tests) is retried, as its
				// Retry-After asks; the race is between the answers after it.
				for range 20 {
					c, err := b.client.ConfirmPasswordResetWithResponse(ctx, api.PasswordResetConfirm{Token: tok, Password: "racing passphrase " + string(rune('a'+i))})
					if err != nil {
						codes <- 0
						return
					}
					if c.StatusCode() == http.StatusServiceUnavailable && strings.Contains(string(c.Body), "auth_busy") {
						time.Sleep(200 * time.Millisecond)
						continue
					}
					codes <- c.StatusCode()
					return
				}
				codes <- http.StatusServiceUnavailable
			}()
		}
		won := 0
		for range n {
			switch code := <-codes; code {
			case http.StatusNoContent:
				won++
			case http.StatusConflict:
			default:
				t.Fatalf("unexpected status %d", code)
			}
		}
		require.Equal(t, 1, won)
	})

	t.Run("RowLevelSecurityShowsTheAppOnlyTheSignedInUsersTokens", func(t *testing.T) {
		t.Parallel()
		a := b.signupUnverified(t, "RLS A")
		other := b.signupUnverified(t, "RLS B")
		var own, others, total int
		err := b.db.InTenant(ctx, database.Tenant{OrgID: a.Organization.ID, UserID: a.User.ID}, func(ctx context.Context, tx bun.IDB) error {
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM user_tokens WHERE user_id = ?`, a.User.ID).Scan(&own); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM user_tokens WHERE user_id = ?`, other.User.ID).Scan(&others); err != nil {
				return err
			}
			return tx.QueryRowContext(ctx, `SELECT count(*) FROM user_tokens`).Scan(&total)
		})
		require.NoError(t, err)
		require.Equal(t, 1, own)
		require.Zero(t, others)
		require.Equal(t, own, total)
		var outside int
		require.NoError(t, b.db.Pool.QueryRow(ctx, `SELECT count(*) FROM user_tokens`).Scan(&outside))
		require.Zero(t, outside, "no user set: no rows")
		_, err = b.db.Pool.Exec(ctx, `UPDATE user_tokens SET used_at = NULL`)
		require.Error(t, err, "the app never updates tokens directly")
	})
}
