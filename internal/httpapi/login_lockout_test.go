package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/httpapi"
)

// behindProxy makes the server take the client IP from X-Forwarded-For, so
// one test can speak from many addresses.
func behindProxy() option { return func(d *httpapi.Deps) { d.TrustProxyHeaders = true } }

// from sets the client address the server sees behind its proxy. Public
// (TEST-NET) addresses, since Echo skips private ones as proxies.
func from(ip string) api.RequestEditorFn { return header("X-Forwarded-For", ip) }

func attacker(i int) string { return fmt.Sprintf("203.0.113.%d", i+1) }

const ownerIP = "198.51.100.7"

func TestLoginLockout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	login := func(t *testing.T, b *bundle, email, pw, ip string) *api.LoginResponse {
		t.Helper()
		r, err := b.client.LoginWithResponse(ctx, api.LoginRequest{Email: api.Email(email), Password: pw}, from(ip))
		require.NoError(t, err)
		return r
	}
	requireRateLimited := func(t *testing.T, r *api.LoginResponse, msgAndArgs ...any) {
		t.Helper()
		require.Equal(t, http.StatusTooManyRequests, r.StatusCode(), msgAndArgs...)
		p := problem(t, r.HTTPResponse, r.Body, http.StatusTooManyRequests)
		require.Equal(t, "rate_limited", p.Code)
		retry, err := strconv.Atoi(r.HTTPResponse.Header.Get("Retry-After"))
		require.NoError(t, err)
		require.Positive(t, retry)
	}

	t.Run("FailuresFromOtherIPsDoNotKeepTheOwnerOut", func(t *testing.T) {
		t.Parallel()
		lim := generous
		lim.AuthEmailPerMinute = 3
		lim.AuthEmailFailuresPerHour = 1000
		b := setup(t, withLimits(lim), behindProxy())
		o := b.signup(t, "Targeted Co")
		// Far more failures for the address than one IP may make, spread
		// over IPs that each stay within their own budget.
		var answers []int
		for i := range 12 {
			answers = append(answers, login(t, b, o.User.Email, "a wrong guess", attacker(i/3)).StatusCode())
		}
		r := login(t, b, o.User.Email, password, ownerIP)
		require.Equal(t, http.StatusOK, r.StatusCode(), "the owner's correct password: %s", r.Body)
		require.Equal(t, o.User.ID, r.JSON200.User.ID)
		for i, st := range answers {
			require.Equal(t, http.StatusUnauthorized, st, "guess %d was within its IP's budget", i)
		}
	})

	t.Run("EachIPHasItsOwnFailureBudgetForAnAddress", func(t *testing.T) {
		t.Parallel()
		lim := generous
		lim.AuthEmailPerMinute = 3
		lim.AuthEmailFailuresPerHour = 1000
		b := setup(t, withLimits(lim), behindProxy())
		o := b.signup(t, "Pair Co")
		for range 3 {
			r := login(t, b, o.User.Email, "a wrong guess", attacker(0))
			problem(t, r.HTTPResponse, r.Body, http.StatusUnauthorized)
		}
		requireRateLimited(t, login(t, b, o.User.Email, "another guess", attacker(0)))
		// Spent for that pair: even the right password is not checked from
		// there (else the attacker would keep guessing)...
		requireRateLimited(t, login(t, b, o.User.Email, password, attacker(0)))
		// ...while the owner elsewhere, and the attacker's IP for another
		// address, are untouched.
		r := login(t, b, o.User.Email, password, ownerIP)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		r = login(t, b, uniqueEmail("bystander"), "a wrong guess", attacker(0))
		problem(t, r.HTTPResponse, r.Body, http.StatusUnauthorized)
	})

	t.Run("ThePerAddressCeilingBoundsWrongGuessesAcrossIPs", func(t *testing.T) {
		t.Parallel()
		const ceiling, perPair = 4, 2
		lim := generous
		lim.AuthEmailPerMinute = perPair
		lim.AuthEmailFailuresPerHour = ceiling
		b := setup(t, withLimits(lim), behindProxy())
		o := b.signup(t, "Ceiling Co")
		// Many IPs, each within its per-pair budget: only ceiling wrong
		// guesses are answered 401; past it wrong guesses answer 429.
		unauthorized, limited := 0, 0
		const ips = 6
		for i := range ips * perPair {
			r := login(t, b, o.User.Email, fmt.Sprintf("guess %d", i), attacker(i/perPair))
			switch r.StatusCode() {
			case http.StatusUnauthorized:
				unauthorized++
			case http.StatusTooManyRequests:
				requireRateLimited(t, r)
				limited++
			default:
				t.Fatalf("guess %d: %d %s", i, r.StatusCode(), r.Body)
			}
		}
		require.Equal(t, ceiling, unauthorized, "wrong guesses answered 401 across all IPs")
		require.Equal(t, ips*perPair-ceiling, limited)

		// Past the ceiling each IP has perPair slow (hourly) guesses: after
		// them it is refused before the password is checked, right or wrong.
		fresh := attacker(100)
		for range perPair {
			requireRateLimited(t, login(t, b, o.User.Email, "still guessing", fresh))
		}
		r := login(t, b, o.User.Email, password, fresh)
		requireRateLimited(t, r, "a spent pair is not checked")
		retry, _ := strconv.Atoi(r.HTTPResponse.Header.Get("Retry-After"))
		require.Greater(t, retry, 60, "the hourly budget past the ceiling refused, not the per-minute one")

		// The owner, from an IP of their own, still signs in past the ceiling.
		r = login(t, b, o.User.Email, password, ownerIP)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		// And an unknown address is throttled the same way as a known one.
		ghost := uniqueEmail("ghost")
		codes := []int{}
		for i := range ceiling + 1 {
			codes = append(codes, login(t, b, ghost, "guess", attacker(200+i)).StatusCode())
		}
		require.Equal(t, []int{401, 401, 401, 401, 429}, codes)
	})
}
