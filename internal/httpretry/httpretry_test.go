package httpretry

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// script answers each request with the next status (and headers), and
// records the bodies it received.
type script struct {
	mu      sync.Mutex
	answers []answer
	bodies  []string
}

type answer struct {
	status int
	header map[string]string
	body   string
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, string(b))
	a := answer{status: http.StatusOK, body: "ok"}
	if len(s.answers) > 0 {
		a = s.answers[0]
		s.answers = s.answers[1:]
	}
	s.mu.Unlock()
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

func (s *script) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

type retryBundle struct {
	script *script
	url    string
	waits  *[]time.Duration
}

// setupRetry returns a transport whose waits are recorded instead of slept,
// against a server answering answers in order.
func setupRetry(t *testing.T, rt *Transport, answers ...answer) (*Transport, retryBundle) {
	t.Helper()
	s := &script{answers: answers}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	var mu sync.Mutex
	waits := &[]time.Duration{}
	rt.wait = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		*waits = append(*waits, d)
		return ctx.Err()
	}
	return rt, retryBundle{script: s, url: srv.URL, waits: waits}
}

func post(ctx context.Context, t *testing.T, rt http.RoundTripper, url, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	return rt.RoundTrip(req)
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func TestTransport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("RetriesA429AndResendsTheBody", func(t *testing.T) {
		t.Parallel()
		rt, b := setupRetry(t, &Transport{MaxAttempts: 3, BaseDelay: time.Millisecond},
			answer{status: http.StatusTooManyRequests, body: "slow down"})

		resp, err := post(ctx, t, rt, b.url, `{"model":"m"}`)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "ok", readBody(t, resp))
		require.Equal(t, []string{`{"model":"m"}`, `{"model":"m"}`}, b.script.received())
	})

	t.Run("HonoursRetryAfterInSeconds", func(t *testing.T) {
		t.Parallel()
		rt, b := setupRetry(t, &Transport{MaxAttempts: 2},
			answer{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "2"}})

		resp, err := post(ctx, t, rt, b.url, "x")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, []time.Duration{2 * time.Second}, *b.waits)
	})

	t.Run("HonoursRetryAfterAsAnHTTPDate", func(t *testing.T) {
		t.Parallel()
		at := time.Now().Add(5 * time.Second).UTC().Format(http.TimeFormat)
		rt, b := setupRetry(t, &Transport{MaxAttempts: 2, RetryServerErrors: true},
			answer{status: http.StatusServiceUnavailable, header: map[string]string{"Retry-After": at}})

		resp, err := post(ctx, t, rt, b.url, "x")
		require.NoError(t, err)
		resp.Body.Close()
		require.Len(t, *b.waits, 1)
		// HTTP dates have one-second precision.
		require.InDelta(t, 5*time.Second, (*b.waits)[0], float64(1100*time.Millisecond))
	})

	t.Run("PrefersRetryAfterMs", func(t *testing.T) {
		t.Parallel()
		rt, b := setupRetry(t, &Transport{MaxAttempts: 2},
			answer{status: http.StatusTooManyRequests, header: map[string]string{"retry-after-ms": "250", "retry-after": "9"}})

		resp, err := post(ctx, t, rt, b.url, "x")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, []time.Duration{250 * time.Millisecond}, *b.waits)
	})

	t.Run("BacksOffExponentiallyWithJitter", func(t *testing.T) {
		t.Parallel()
		down := answer{status: http.StatusBadGateway}
		rt, b := setupRetry(t, &Transport{MaxAttempts: 4, BaseDelay: 100 * time.Millisecond, RetryServerErrors: true}, down, down, down)

		resp, err := post(ctx, t, rt, b.url, "x")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		resp.Body.Close()
		waits := *b.waits
		require.Len(t, waits, 3)
		for i, base := range []time.Duration{100, 200, 400} {
			base *= time.Millisecond
			require.GreaterOrEqual(t, waits[i], base/2)
			require.LessOrEqual(t, waits[i], base)
		}
	})

	t.Run("CapsTheBackoff", func(t *testing.T) {
		t.Parallel()
		down := answer{status: http.StatusInternalServerError}
		rt, b := setupRetry(t, &Transport{MaxAttempts: 3, BaseDelay: time.Hour, MaxDelay: time.Second, RetryServerErrors: true}, down, down)

		resp, err := post(ctx, t, rt, b.url, "x")
		require.NoError(t, err)
		resp.Body.Close()
		for _, w := range *b.waits {
			require.LessOrEqual(t, w, time.Second)
		}
	})

	t.Run("PassesThroughARetryAfterLongerThanTheCap", func(t *testing.T) {
		t.Parallel()
		rt, b := setupRetry(t, &Transport{MaxAttempts: 3},
			answer{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "120"}, body: "come back later"})

		resp, err := post(ctx, t, rt, b.url, "x")
		require.NoError(t, err)
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		require.Equal(t, "come back later", readBody(t, resp))
		require.Len(t, b.script.received(), 1)
		require.Empty(t, *b.waits)
	})

	t.Run("PassesThroughAServerWaitTooLongForADuration", func(t *testing.T) {
		t.Parallel()
		// Each of these overflowed time.Duration into a negative wait,
		// which retried at once instead of passing the 429 through.
		for _, h := range []map[string]string{
			{"Retry-After": "1e12"},
			{"Retry-After": "99999999999"},
			{"Retry-After": "1e300"},
			{"Retry-After-Ms": "1e300"},
			{"Retry-After-Ms": "1e300", "Retry-After": "1"},
			{"Retry-After": time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Format(http.TimeFormat)},
		} {
			rt, b := setupRetry(t, &Transport{MaxAttempts: 3, BaseDelay: time.Millisecond},
				answer{status: http.StatusTooManyRequests, header: h, body: "come back later"})

			resp, err := post(ctx, t, rt, b.url, "x")
			require.NoError(t, err)
			require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "%v", h)
			require.Equal(t, "come back later", readBody(t, resp))
			require.Len(t, b.script.received(), 1, "%v", h)
			require.Empty(t, *b.waits, "%v", h)
		}
	})

	t.Run("BacksOffWhenRetryAfterIsNotANumberOfSeconds", func(t *testing.T) {
		t.Parallel()
		for _, h := range []map[string]string{
			{"Retry-After": "NaN"},
			{"Retry-After": "Inf"},
			{"Retry-After": "+Inf"},
			{"Retry-After": "-Inf"},
			{"Retry-After": "1e400"},
			{"Retry-After": "-5"},
			{"Retry-After-Ms": "NaN"},
			{"Retry-After-Ms": "-Infinity"},
		} {
			rt, b := setupRetry(t, &Transport{MaxAttempts: 2, BaseDelay: 100 * time.Millisecond},
				answer{status: http.StatusTooManyRequests, header: h})

			resp, err := post(ctx, t, rt, b.url, "x")
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, "%v", h)
			require.Len(t, *b.waits, 1, "%v", h)
			w := (*b.waits)[0]
			require.GreaterOrEqual(t, w, 50*time.Millisecond, "%v: the backoff, not the header", h)
			require.LessOrEqual(t, w, 100*time.Millisecond, "%v", h)
		}
	})

	t.Run("HonoursADelayFromTheBody", func(t *testing.T) {
		t.Parallel()
		fromBody := func(_ *http.Response, body []byte) (time.Duration, bool) {
			s, ok := strings.CutPrefix(string(body), "wait ")
			if !ok {
				return 0, false
			}
			d, err := time.ParseDuration(s)
			return d, err == nil
		}
		rt, b := setupRetry(t, &Transport{MaxAttempts: 2, DelayFromBody: fromBody},
			answer{status: http.StatusTooManyRequests, body: "wait 2.5s"})
		resp, err := post(ctx, t, rt, b.url, "x")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, []time.Duration{2500 * time.Millisecond}, *b.waits)

		// A header wins over the body.
		rt, b = setupRetry(t, &Transport{MaxAttempts: 2, DelayFromBody: fromBody},
			answer{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "1"}, body: "wait 2.5s"})
		resp, err = post(ctx, t, rt, b.url, "x")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, []time.Duration{time.Second}, *b.waits)

		// A wait above the cap passes the answer through, as for a header.
		rt, b = setupRetry(t, &Transport{MaxAttempts: 3, DelayFromBody: fromBody},
			answer{status: http.StatusTooManyRequests, body: "wait 45.8s"})
		resp, err = post(ctx, t, rt, b.url, "x")
		require.NoError(t, err)
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		require.Equal(t, "wait 45.8s", readBody(t, resp))
		require.Len(t, b.script.received(), 1)
		require.Empty(t, *b.waits)

		// No delay in the body (or a negative one) falls back to the backoff.
		for _, body := range []string{"slow down", "wait -3s"} {
			rt, b = setupRetry(t, &Transport{MaxAttempts: 2, BaseDelay: 100 * time.Millisecond, DelayFromBody: fromBody},
				answer{status: http.StatusTooManyRequests, body: body})
			resp, err = post(ctx, t, rt, b.url, "x")
			require.NoError(t, err)
			resp.Body.Close()
			require.Len(t, *b.waits, 1)
			require.GreaterOrEqual(t, (*b.waits)[0], 50*time.Millisecond, body)
			require.LessOrEqual(t, (*b.waits)[0], 100*time.Millisecond, body)
		}
	})

	t.Run("ReturnsTheLastAnswerWhenAttemptsRunOut", func(t *testing.T) {
		t.Parallel()
		boom := answer{status: http.StatusInternalServerError, body: "boom"}
		rt, b := setupRetry(t, &Transport{MaxAttempts: 3, BaseDelay: time.Millisecond, RetryServerErrors: true}, boom, boom, boom)

		resp, err := post(ctx, t, rt, b.url, "x")
		require.NoError(t, err)
		require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
		require.Equal(t, "boom", readBody(t, resp))
		require.Len(t, b.script.received(), 3)
	})

	t.Run("DoesNotRetryClientErrors", func(t *testing.T) {
		t.Parallel()
		for _, status := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusNotImplemented} {
			rt, b := setupRetry(t, &Transport{MaxAttempts: 3, RetryServerErrors: true}, answer{status: status})
			resp, err := post(ctx, t, rt, b.url, "x")
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, status, resp.StatusCode)
			require.Len(t, b.script.received(), 1, "status %d", status)
		}
	})

	t.Run("FollowsXShouldRetry", func(t *testing.T) {
		t.Parallel()
		rt, b := setupRetry(t, &Transport{MaxAttempts: 3, RetryServerErrors: true},
			answer{status: http.StatusInternalServerError, header: map[string]string{"x-should-retry": "false"}})
		resp, err := post(ctx, t, rt, b.url, "x")
		require.NoError(t, err)
		resp.Body.Close()
		require.Len(t, b.script.received(), 1)

		rt, b = setupRetry(t, &Transport{MaxAttempts: 3, BaseDelay: time.Millisecond},
			answer{status: http.StatusConflict, header: map[string]string{"x-should-retry": "true"}})
		resp, err = post(ctx, t, rt, b.url, "x")
		require.NoError(t, err)
		resp.Body.Close()
		require.Len(t, b.script.received(), 2)
	})

	t.Run("DoesNotRetryPermanentAnswers", func(t *testing.T) {
		t.Parallel()
		rt, b := setupRetry(t, &Transport{MaxAttempts: 3, Permanent: func(resp *http.Response, body []byte) bool {
			return strings.Contains(string(body), "insufficient_quota")
		}}, answer{status: http.StatusTooManyRequests, body: `{"error":{"code":"insufficient_quota"}}`})

		resp, err := post(ctx, t, rt, b.url, "x")
		require.NoError(t, err)
		require.Equal(t, `{"error":{"code":"insufficient_quota"}}`, readBody(t, resp))
		require.Len(t, b.script.received(), 1)
	})

	t.Run("ReturnsTheAnswerWhenTheDeadlineComesBeforeTheWait", func(t *testing.T) {
		t.Parallel()
		rt, b := setupRetry(t, &Transport{MaxAttempts: 3},
			answer{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "10"}})
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()

		resp, err := post(ctx, t, rt, b.url, "x")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		require.Empty(t, *b.waits)
	})

	t.Run("StopsWaitingWhenTheContextIsCancelled", func(t *testing.T) {
		t.Parallel()
		s := &script{answers: []answer{{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "10"}}}}
		srv := httptest.NewServer(s)
		t.Cleanup(srv.Close)
		rt := &Transport{MaxAttempts: 3}
		ctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(20*time.Millisecond, cancel)

		_, err := post(ctx, t, rt, srv.URL, "x")
		require.ErrorIs(t, err, context.Canceled)
		require.Len(t, s.received(), 1)
	})

	t.Run("RetriesAFailedDial", func(t *testing.T) {
		t.Parallel()
		_, b := setupRetry(t, &Transport{})
		calls := 0
		rt := &Transport{MaxAttempts: 3, wait: func(context.Context, time.Duration) error { return nil },
			Base: roundTripFunc(func(req *http.Request) (*http.Response, error) {
				calls++
				if calls == 1 {
					return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
				}
				return http.DefaultTransport.RoundTrip(req)
			})}

		resp, err := post(ctx, t, rt, b.url, "x")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 2, calls)
		require.Equal(t, []string{"x"}, b.script.received())
	})

	t.Run("RetriesABrokenConnectionOnlyWhenResendingIsSafe", func(t *testing.T) {
		t.Parallel()
		broken := func(calls *int) http.RoundTripper {
			return roundTripFunc(func(*http.Request) (*http.Response, error) {
				*calls++
				return nil, io.ErrUnexpectedEOF
			})
		}
		noWait := func(context.Context, time.Duration) error { return nil }

		var postCalls int
		rt := &Transport{MaxAttempts: 3, Base: broken(&postCalls), wait: noWait}
		_, err := post(ctx, t, rt, "http://example.invalid", "x")
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
		require.Equal(t, 1, postCalls, "a POST may have been processed")

		var getCalls int
		rt = &Transport{MaxAttempts: 3, Base: broken(&getCalls), wait: noWait}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://example.invalid", nil)
		_, err = rt.RoundTrip(req)
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
		require.Equal(t, 3, getCalls)
	})

	t.Run("SendsOnceWhenTheBodyCannotBeReplayed", func(t *testing.T) {
		t.Parallel()
		rt, b := setupRetry(t, &Transport{MaxAttempts: 3, RetryServerErrors: true}, answer{status: http.StatusServiceUnavailable})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url, io.NopCloser(strings.NewReader("x")))
		require.NoError(t, err)
		req.GetBody = nil

		resp, err := rt.RoundTrip(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		require.Len(t, b.script.received(), 1)
	})

	t.Run("RetriesAServerErrorOnlyWhenResendingIsSafe", func(t *testing.T) {
		t.Parallel()
		down := answer{status: http.StatusServiceUnavailable}
		send := func(t *testing.T, rt *Transport, method string, header http.Header) int {
			t.Helper()
			rt, b := setupRetry(t, rt, down)
			req, err := http.NewRequestWithContext(ctx, method, b.url, strings.NewReader("x"))
			require.NoError(t, err)
			for k, v := range header {
				req.Header[k] = v
			}
			resp, err := rt.RoundTrip(req)
			require.NoError(t, err)
			resp.Body.Close()
			return len(b.script.received())
		}

		// A POST may have sent the message or charged the card.
		require.Equal(t, 1, send(t, &Transport{MaxAttempts: 3}, http.MethodPost, nil), "a POST is not repeated after a 5xx")
		require.Equal(t, 1, send(t, &Transport{MaxAttempts: 3}, http.MethodPatch, nil), "nor a PATCH")
		// Idempotent requests are.
		for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			require.Equal(t, 2, send(t, &Transport{MaxAttempts: 3, BaseDelay: time.Millisecond}, m, nil), m)
		}
		require.Equal(t, 2, send(t, &Transport{MaxAttempts: 3, BaseDelay: time.Millisecond}, http.MethodPost,
			http.Header{"Idempotency-Key": {"k1"}}), "a POST with an idempotency key is")
		// And every request when the API says a 5xx did nothing.
		require.Equal(t, 2, send(t, &Transport{MaxAttempts: 3, BaseDelay: time.Millisecond, RetryServerErrors: true}, http.MethodPost, nil))
	})

	t.Run("RetriesA429OrA408ToAnyRequest", func(t *testing.T) {
		t.Parallel()
		for _, status := range []int{http.StatusTooManyRequests, http.StatusRequestTimeout} {
			rt, b := setupRetry(t, &Transport{MaxAttempts: 3, BaseDelay: time.Millisecond}, answer{status: status})
			resp, err := post(ctx, t, rt, b.url, "x")
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, "status %d: the request was not processed", status)
			require.Len(t, b.script.received(), 2)
		}
	})

	t.Run("TheZeroValueSendsOnce", func(t *testing.T) {
		t.Parallel()
		rt, b := setupRetry(t, &Transport{}, answer{status: http.StatusTooManyRequests})
		resp, err := post(ctx, t, rt, b.url, "x")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		require.Len(t, b.script.received(), 1)
	})
}

func TestTransportClient(t *testing.T) {
	t.Parallel()

	t.Run("WrapsACopyAndLeavesTheBaseAlone", func(t *testing.T) {
		t.Parallel()
		base := &http.Client{Transport: http.DefaultTransport, Timeout: 5 * time.Second}
		c := Transport{MaxAttempts: 3}.Client(base)
		require.Same(t, http.DefaultTransport, base.Transport)
		require.Equal(t, 5*time.Second, c.Timeout)
		rt, ok := c.Transport.(*Transport)
		require.True(t, ok)
		require.Same(t, http.DefaultTransport, rt.Base)
		require.Equal(t, 3, rt.MaxAttempts)
	})

	t.Run("RetriesThroughTheReturnedClient", func(t *testing.T) {
		t.Parallel()
		down := answer{status: http.StatusServiceUnavailable}
		s := &script{answers: []answer{down, down, down}}
		srv := httptest.NewServer(s)
		t.Cleanup(srv.Close)

		c := Transport{MaxAttempts: 2, BaseDelay: time.Millisecond}.Client(nil)
		resp, err := c.Get(srv.URL)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		require.Len(t, s.received(), 2)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

	tests := []struct {
		name   string
		header map[string]string
		want   time.Duration
		ok     bool
	}{
		{name: "ReadsSeconds", header: map[string]string{"Retry-After": "3"}, want: 3 * time.Second, ok: true},
		{name: "ReadsFractionalSeconds", header: map[string]string{"Retry-After": "0.5"}, want: 500 * time.Millisecond, ok: true},
		{name: "ReadsAnHTTPDate", header: map[string]string{"Retry-After": now.Add(7 * time.Second).Format(http.TimeFormat)}, want: 7 * time.Second, ok: true},
		{name: "TreatsAPastDateAsNow", header: map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, want: 0, ok: true},
		{name: "PrefersMilliseconds", header: map[string]string{"Retry-After-Ms": "20", "Retry-After": "3"}, want: 20 * time.Millisecond, ok: true},
		{name: "IgnoresGarbage", header: map[string]string{"Retry-After": "soon"}},
		{name: "IgnoresNegativeSeconds", header: map[string]string{"Retry-After": "-1"}},
		{name: "IgnoresNaN", header: map[string]string{"Retry-After": "NaN"}},
		{name: "IgnoresInfinity", header: map[string]string{"Retry-After": "Inf"}},
		{name: "IgnoresNumbersBeyondAFloat", header: map[string]string{"Retry-After": "1e400"}},
		{name: "IgnoresNaNMillisecondsAndReadsSeconds", header: map[string]string{"Retry-After-Ms": "NaN", "Retry-After": "2"}, want: 2 * time.Second, ok: true},
		{name: "IgnoresNegativeMilliseconds", header: map[string]string{"Retry-After-Ms": "-1"}},
		{name: "SaturatesHugeSeconds", header: map[string]string{"Retry-After": "1e12"}, want: time.Duration(math.MaxInt64), ok: true},
		{name: "SaturatesHugeMilliseconds", header: map[string]string{"Retry-After-Ms": "1e300"}, want: time.Duration(math.MaxInt64), ok: true},
		{name: "SaturatesAFarDate", header: map[string]string{"Retry-After": time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat)}, want: time.Duration(math.MaxInt64), ok: true},
		{name: "ReportsNoHeader", header: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			got, ok := RetryAfter(h, now)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestDurationFromSeconds(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		secs float64
		want time.Duration
		ok   bool
	}{
		{name: "ConvertsSeconds", secs: 43, want: 43 * time.Second, ok: true},
		{name: "ConvertsFractions", secs: 45.8, want: 45800 * time.Millisecond, ok: true},
		{name: "ConvertsZero", secs: 0, want: 0, ok: true},
		{name: "SaturatesHugeValues", secs: 1e12, want: time.Duration(math.MaxInt64), ok: true},
		{name: "RejectsNaN", secs: math.NaN()},
		{name: "RejectsInfinity", secs: math.Inf(1)},
		{name: "RejectsNegatives", secs: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := DurationFromSeconds(tt.secs)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.want, got)
		})
	}
}
