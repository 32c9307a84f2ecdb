package llm

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/httpretry"
)

// The retry policy itself is tested in package httpretry; these tests
// cover what NewHTTPClient adds for LLM APIs.
func TestNewHTTPClient(t *testing.T) {
	t.Parallel()

	t.Run("WrapsACopyAndLeavesTheBaseAlone", func(t *testing.T) {
		t.Parallel()
		base := &http.Client{Transport: http.DefaultTransport, Timeout: 5 * time.Second}

		c := NewHTTPClient(base, ClientOptions{})
		require.Same(t, http.DefaultTransport, base.Transport)
		require.Equal(t, 5*time.Second, c.Timeout, "the base client's timeout is kept")
		rt, ok := c.Transport.(*httpretry.Transport)
		require.True(t, ok)
		require.Same(t, http.DefaultTransport, rt.Base)
		require.Equal(t, DefaultMaxRetries+1, rt.MaxAttempts)
	})

	t.Run("AppliesTimeoutAndRetries", func(t *testing.T) {
		t.Parallel()
		c := NewHTTPClient(nil, ClientOptions{Timeout: time.Second, MaxRetries: 5})
		require.Equal(t, time.Second, c.Timeout)
		require.Equal(t, 6, c.Transport.(*httpretry.Transport).MaxAttempts)

		c = NewHTTPClient(nil, ClientOptions{MaxRetries: -1})
		require.Equal(t, DefaultTimeout, c.Timeout)
		require.Equal(t, 1, c.Transport.(*httpretry.Transport).MaxAttempts)
	})

	t.Run("PassesTheProviderHooks", func(t *testing.T) {
		t.Parallel()
		var permanent, delay bool
		c := NewHTTPClient(nil, ClientOptions{
			Permanent:     func(*http.Response, []byte) bool { permanent = true; return false },
			DelayFromBody: func(*http.Response, []byte) (time.Duration, bool) { delay = true; return 0, false },
		})
		rt := c.Transport.(*httpretry.Transport)
		rt.Permanent(nil, nil)
		rt.DelayFromBody(nil, nil)
		require.True(t, permanent)
		require.True(t, delay)
	})

	t.Run("RetriesAServerErrorToAPOST", func(t *testing.T) {
		t.Parallel()
		// An LLM API that answers 5xx generated nothing, so the call is
		// sent again although a POST is not idempotent.
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body)
			if calls.Add(1) == 1 {
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			_, _ = io.WriteString(w, "ok")
		}))
		t.Cleanup(srv.Close)

		c := NewHTTPClient(nil, ClientOptions{RetryBaseDelay: time.Millisecond})
		resp, err := c.Post(srv.URL, "application/json", strings.NewReader(`{"model":"m"}`))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.EqualValues(t, 2, calls.Load())
	})
}
