package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api/server"
	"github.com/leadpilot/leadpilot/internal/ratelimit"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

func TestRateLimitClasses(t *testing.T) {
	t.Parallel()

	t.Run("EveryPublicOperationInTheContractNamesItsBudget", func(t *testing.T) {
		t.Parallel()
		spec, err := server.GetSwagger()
		require.NoError(t, err)
		public, err := publicOperations(spec, Limits{AuthIPPerMinute: 20})
		require.NoError(t, err)
		require.Equal(t, "auth", public["POST /v1/auth/login"])
		require.NotContains(t, public, "GET /v1/org")
	})

	t.Run("APublicOperationWithoutAKnownClassStopsTheServer", func(t *testing.T) {
		t.Parallel()
		spec, err := server.GetSwagger()
		require.NoError(t, err)
		op := spec.Paths.Find("/v1/auth/login").Post
		op.Extensions = map[string]any{"x-rate-limit-class": "nonsense"}
		_, err = publicOperations(spec, Limits{})
		require.ErrorContains(t, err, "x-rate-limit-class")
		op.Extensions = nil
		_, err = publicOperations(spec, Limits{})
		require.Error(t, err, "a missing class is refused too")
	})

	t.Run("WebhooksDoNotSpendTheLoginBudget", func(t *testing.T) {
		t.Parallel()
		l := ratelimit.New(testkit.Redis(t, 1), "class:"+uuid.NewString()+":")
		lim := Limits{AuthIPPerMinute: 2, WebhookIPPerSecond: 50}
		public := map[string]string{"POST /login": "auth", "POST /webhooks/twilio": "webhook"}
		e := echo.New()
		ok := func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
		mw := rateLimit(l, lim, public)
		e.POST("/login", ok, mw)
		e.POST("/webhooks/twilio", ok, mw)
		e.HTTPErrorHandler = func(err error, c echo.Context) { _ = c.NoContent(http.StatusTooManyRequests) }
		do := func(path string) int {
			req := httptest.NewRequest(http.MethodPost, path, nil)
			req.RemoteAddr = "198.51.100.9:4000"
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			return rec.Code
		}
		require.Equal(t, http.StatusNoContent, do("/login"))
		require.Equal(t, http.StatusNoContent, do("/login"))
		require.Equal(t, http.StatusTooManyRequests, do("/login"), "the login budget is spent")
		for i := range 20 {
			require.Equal(t, http.StatusNoContent, do("/webhooks/twilio"), "callback %d from the same IP", i)
		}
	})
}
