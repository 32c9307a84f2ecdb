package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/httpapi"
	"github.com/leadpilot/leadpilot/internal/ratelimit"
)

// outageBound is how long an answer may take while Redis is down: a
// correctness bound (no multi-second retries), not a benchmark.
const outageBound = time.Second

// refusedAddr is a local address that refuses connections: a port that was
// just listened on and closed.
func refusedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func withLimiter(l *ratelimit.Limiter) option { return func(d *httpapi.Deps) { d.Limiter = l } }

// TestRedisDown runs a server whose rate limiter's Redis refuses
// connections. Request budgets fail open, so an authenticated call works;
// authentication budgets fail closed, so sign-in answers 503 with
// Retry-After. Either answer comes quickly.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// The account and its token come from a healthy server on the same
	// database (signing up needs the sign-up budgets).
	healthy := setup(t)
	o := healthy.signup(t, "Outage Co")

	rdb := redis.NewClient(&redis.Options{Addr: refusedAddr(t)})
	t.Cleanup(func() { _ = rdb.Close() })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	down := setup(t, withLimiter(ratelimit.New(rdb, "t:"+uuid.NewString()+":", ratelimit.Options{Logger: quiet})))

	timed := func(t *testing.T, f func()) {
		t.Helper()
		start := time.Now()
		f()
		require.Less(t, time.Since(start), outageBound, "answer took too long while Redis is down")
	}

	t.Run("RequestBudgetsFailOpen", func(t *testing.T) {
		for i := range 5 {
			timed(t, func() {
				r, err := down.client.GetOrganizationWithResponse(ctx, bearer(o.AccessToken))
				require.NoError(t, err)
				require.Equal(t, http.StatusOK, r.StatusCode(), "request %d: %s", i, r.Body)
				require.Equal(t, o.Organization.ID, r.JSON200.ID)
				require.Empty(t, r.HTTPResponse.Header.Get("RateLimit-Remaining"), "no budget was metered")
			})
		}
	})

	t.Run("LoginFailsClosed", func(t *testing.T) {
		for i := range 5 {
			timed(t, func() {
				r, err := down.client.LoginWithResponse(ctx, api.LoginRequest{Email: api.Email(o.User.Email), Password: password})
				require.NoError(t, err)
				p := problem(t, r.HTTPResponse, r.Body, http.StatusServiceUnavailable)
				require.Equal(t, "rate_limiter_unavailable", p.Code, "attempt %d", i)
				retry, err := strconv.Atoi(r.HTTPResponse.Header.Get("Retry-After"))
				require.NoError(t, err, "Retry-After: %q", r.HTTPResponse.Header.Get("Retry-After"))
				require.Positive(t, retry)
			})
		}
	})

	t.Run("SignupFailsClosed", func(t *testing.T) {
		timed(t, func() {
			r, err := down.client.SignupWithResponse(ctx, api.SignupRequest{
				Email: api.Email(uniqueEmail("outage")), Password: password, FullName: "Nobody", OrgName: "Never Co",
			})
			require.NoError(t, err)
			p := problem(t, r.HTTPResponse, r.Body, http.StatusServiceUnavailable)
			require.Equal(t, "rate_limiter_unavailable", p.Code)
			require.NotEmpty(t, r.HTTPResponse.Header.Get("Retry-After"))
		})
	})

	t.Run("FailedBearerAttemptsFailClosed", func(t *testing.T) {
		// The failed-authentication budget guards key guessing: without it
		// the answer is 503, not an unmetered 401.
		timed(t, func() {
			r, err := down.client.GetMeWithResponse(ctx, bearer("lp_not-a-key"))
			require.NoError(t, err)
			p := problem(t, r.HTTPResponse, r.Body, http.StatusServiceUnavailable)
			require.Equal(t, "rate_limiter_unavailable", p.Code)
			require.NotEmpty(t, r.HTTPResponse.Header.Get("Retry-After"))
		})
	})
}
