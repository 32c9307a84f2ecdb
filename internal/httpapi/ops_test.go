package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/httpapi"
)

func TestRateLimits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("LoginIsLimitedPerIP", func(t *testing.T) {
		t.Parallel()
		lim := generous
		lim.AuthIPPerMinute = 3
		b := setup(t, withLimits(lim))
		for i := range 3 {
			r, err := b.client.LoginWithResponse(ctx, api.LoginRequest{Email: api.Email(uniqueEmail("ip")), Password: "whatever"})
			require.NoError(t, err)
			require.Equal(t, http.StatusUnauthorized, r.StatusCode(), "attempt %d", i)
			require.Equal(t, strconv.Itoa(2-i), r.HTTPResponse.Header.Get("RateLimit-Remaining"))
		}
		r, err := b.client.LoginWithResponse(ctx, api.LoginRequest{Email: api.Email(uniqueEmail("ip")), Password: "whatever"})
		require.NoError(t, err)
		p := problem(t, r.HTTPResponse, r.Body, http.StatusTooManyRequests)
		require.Equal(t, "rate_limited", p.Code)
		retry, err := strconv.Atoi(r.HTTPResponse.Header.Get("Retry-After"))
		require.NoError(t, err)
		require.Positive(t, retry)
	})

	t.Run("LoginIsLimitedPerEmail", func(t *testing.T) {
		t.Parallel()
		lim := generous
		lim.AuthEmailPerMinute = 2
		b := setup(t, withLimits(lim))
		email := api.Email(uniqueEmail("target"))
		for range 2 {
			r, err := b.client.LoginWithResponse(ctx, api.LoginRequest{Email: email, Password: "guess"})
			require.NoError(t, err)
			require.Equal(t, http.StatusUnauthorized, r.StatusCode())
		}
		r, err := b.client.LoginWithResponse(ctx, api.LoginRequest{Email: email, Password: "guess"})
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusTooManyRequests)
		require.NotEmpty(t, r.HTTPResponse.Header.Get("Retry-After"))
		// Another address is unaffected.
		r, err = b.client.LoginWithResponse(ctx, api.LoginRequest{Email: api.Email(uniqueEmail("other")), Password: "guess"})
		require.NoError(t, err)
		require.Equal(t, http.StatusUnauthorized, r.StatusCode())
	})

	t.Run("SuccessfulLoginsDoNotSpendTheEmailBudget", func(t *testing.T) {
		t.Parallel()
		lim := generous
		lim.AuthEmailPerMinute = 2
		b := setup(t, withLimits(lim))
		o := b.signup(t, "Often Co")
		for i := range 4 {
			r, err := b.client.LoginWithResponse(ctx, api.LoginRequest{Email: api.Email(o.User.Email), Password: password})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), "login %d", i)
		}
	})

	t.Run("FailedBearerAttemptsAreLimitedPerIP", func(t *testing.T) {
		t.Parallel()
		lim := generous
		lim.AuthIPPerMinute = 3
		b := setup(t, withLimits(lim))
		o := b.signup(t, "Guess Co")
		for i := range 3 {
			r, err := b.client.GetMeWithResponse(ctx, bearer("lp_guess"+strconv.Itoa(i)))
			require.NoError(t, err)
			problem(t, r.HTTPResponse, r.Body, http.StatusUnauthorized)
		}
		r, err := b.client.GetMeWithResponse(ctx, bearer("lp_guess-again"))
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusTooManyRequests)
		require.NotEmpty(t, r.HTTPResponse.Header.Get("Retry-After"))
		ok, err := b.client.GetMeWithResponse(ctx, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, ok.StatusCode(), "valid credentials from the same address still work")
	})

	t.Run("RequestsAreLimitedPerOrganisation", func(t *testing.T) {
		t.Parallel()
		lim := generous
		lim.OrgPerSecond, lim.OrgBurst = 1, 3
		b := setup(t, withLimits(lim))
		o := b.signup(t, "Busy Co")
		other := b.signup(t, "Quiet Co")
		for i := range 3 {
			r, err := b.client.GetMeWithResponse(ctx, bearer(o.AccessToken))
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), "request %d", i)
			require.Equal(t, "3", r.HTTPResponse.Header.Get("RateLimit-Limit"))
		}
		r, err := b.client.GetMeWithResponse(ctx, bearer(o.AccessToken))
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusTooManyRequests)
		require.Equal(t, "0", r.HTTPResponse.Header.Get("RateLimit-Remaining"))
		r, err = b.client.GetMeWithResponse(ctx, bearer(other.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), "another organisation has its own budget")
	})
}

func TestOperations(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("HealthAndReadiness", func(t *testing.T) {
		t.Parallel()
		resp, body := b.raw(t, http.MethodGet, "/healthz", "")
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		resp, body = b.raw(t, http.MethodGet, "/readyz", "")
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	})

	t.Run("ServesTheContract", func(t *testing.T) {
		t.Parallel()
		resp, body := b.raw(t, http.MethodGet, "/openapi.yaml", "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		want, err := os.ReadFile("../../openapi.yaml")
		require.NoError(t, err)
		require.Equal(t, string(want), string(body), "the repository's file, byte for byte")
	})

	t.Run("EveryResponseHasARequestID", func(t *testing.T) {
		t.Parallel()
		resp, _ := b.raw(t, http.MethodGet, "/healthz", "")
		require.Len(t, resp.Header.Get("X-Request-Id"), 36)
		resp, _ = b.raw(t, http.MethodGet, "/healthz", "", func(r *http.Request) { r.Header.Set("X-Request-Id", "client-chosen") })
		require.Equal(t, "client-chosen", resp.Header.Get("X-Request-Id"))
	})

	t.Run("LogLinesCarryTheRequestID", func(t *testing.T) {
		t.Parallel()
		var buf syncBuffer
		lb := setup(t, func(d *httpapi.Deps) {
			d.Logger = slog.New(httpapi.LogHandler(slog.NewJSONHandler(&buf, nil)))
		})
		resp, _ := lb.raw(t, http.MethodGet, "/v1/me", "")
		id := resp.Header.Get("X-Request-Id")
		require.NotEmpty(t, id)
		var line struct {
			RequestID string `json:"request_id"`
			Status    int    `json:"status"`
			Route     string `json:"route"`
		}
		require.NoError(t, json.Unmarshal(buf.Bytes(), &line), buf.String())
		require.Equal(t, id, line.RequestID)
		require.Equal(t, http.StatusUnauthorized, line.Status)
		require.Equal(t, "/v1/me", line.Route)
	})

	t.Run("NotReadyIsAProblem", func(t *testing.T) {
		t.Parallel()
		nb := setup(t, func(d *httpapi.Deps) {
			d.Ready = func(context.Context) error { return errNotReady }
		})
		resp, body := nb.raw(t, http.MethodGet, "/readyz", "")
		require.Equal(t, "not_ready", problem(t, resp, body, http.StatusServiceUnavailable).Code)
	})
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf.Bytes()...)
}

func (b *syncBuffer) String() string { return string(b.Bytes()) }

type notReady struct{}

func (notReady) Error() string { return "redis unreachable" }

var errNotReady = notReady{}
