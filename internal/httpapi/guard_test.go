package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/httpapi"
)

func TestOperatorOnly(t *testing.T) {
	t.Parallel()
	serve := func(token, remote, authz string) int {
		e := echo.New()
		e.GET("/metrics", func(c echo.Context) error { return c.String(http.StatusOK, "metrics") }, httpapi.OperatorOnly(token))
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.RemoteAddr = remote
		req.Header.Set("X-Forwarded-For", "127.0.0.1") // never trusted here
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec.Code
	}
	for name, tc := range map[string]struct {
		token, remote, authz string
		want                 int
	}{
		"LoopbackWithoutATokenConfigured":      {"", "127.0.0.1:5000", "", 200},
		"IPv6LoopbackWithoutATokenConfigured":  {"", "[::1]:5000", "", 200},
		"ARemoteClientWithoutATokenConfigured": {"", "203.0.113.7:5000", "", 404},
		"ARemoteClientWithTheToken":            {"s3cret-token-0123456789", "203.0.113.7:5000", "Bearer s3cret-token-0123456789", 200},
		"ARemoteClientWithAWrongToken":         {"s3cret-token-0123456789", "203.0.113.7:5000", "Bearer nope", 404},
		"LoopbackWithoutTheConfiguredToken":    {"s3cret-token-0123456789", "127.0.0.1:5000", "", 404},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, serve(tc.token, tc.remote, tc.authz))
		})
	}
}
