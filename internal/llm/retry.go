package llm

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry defaults shared by every network provider, so that one policy
// applies whichever SDK sits on top (each SDK's own retries are disabled).
const (
	// DefaultMaxRetries is how many times a call is retried after the first
	// attempt when Config.MaxRetries is 0.
	DefaultMaxRetries = 2
	// DefaultRetryBaseDelay is the first backoff when the provider gives no
	// Retry-After; it doubles on each further attempt.
	DefaultRetryBaseDelay = 500 * time.Millisecond
	// DefaultMaxRetryDelay caps one wait. A provider asking for a longer
	// wait gets its 429 passed through instead: holding a request (and the
	// caller) for minutes is worse than telling the caller to come back.
	DefaultMaxRetryDelay = 30 * time.Second
	// DefaultTimeout bounds one call, retries and streaming included, when a
	// provider's Config.Timeout is 0. Long enough for a ten-step sequence
	// from a reasoning model.
	DefaultTimeout = 2 * time.Minute
)

// maxErrorBody bounds how much of an error answer is buffered to decide on
// a retry; provider error bodies are a few hundred bytes.
const maxErrorBody = 1 << 20

// RetryTransport is an http.RoundTripper that retries 429, 408 and 5xx
// answers, and connection failures where re-sending is safe, with
// exponential backoff and jitter. It honours Retry-After (seconds or an HTTP
// date), OpenAI's retry-after-ms, a wait the provider states in its error
// body (DelayFromBody) and Anthropic's x-should-retry, stops
// waiting when the request's context ends, and re-sends the body through
// req.GetBody. The last answer is returned as received, so the SDK above
// still reads the provider's own error body.
type RetryTransport struct {
	// Base sends each attempt; nil means http.DefaultTransport.
	Base http.RoundTripper
	// MaxAttempts counts every attempt, the first included; below 1 means 1.
	MaxAttempts int
	// BaseDelay is the first backoff; 0 means DefaultRetryBaseDelay.
	BaseDelay time.Duration
	// MaxDelay caps one wait; 0 means DefaultMaxRetryDelay.
	MaxDelay time.Duration
	// Permanent, when set, reports that a 429/5xx answer will not change on
	// retry (an exhausted quota or billing limit), so it is returned at once.
	// body is the buffered error body.
	Permanent func(resp *http.Response, body []byte) bool
	// DelayFromBody, when set, reads the wait a provider states in its
	// error body rather than in a header (Gemini's google.rpc.RetryInfo).
	// It is consulted only when no Retry-After header is usable, and its
	// answer is honoured like one: a wait above MaxDelay passes the answer
	// through. A negative duration counts as no answer.
	DelayFromBody func(resp *http.Response, body []byte) (time.Duration, bool)

	// wait sleeps for d or until ctx ends; tests replace it to record delays.
	wait func(ctx context.Context, d time.Duration) error
}

// NewRetryTransport returns a RetryTransport over base making at most
// maxAttempts attempts, backing off from baseDelay.
func NewRetryTransport(base http.RoundTripper, maxAttempts int, baseDelay time.Duration) http.RoundTripper {
	return &RetryTransport{Base: base, MaxAttempts: maxAttempts, BaseDelay: baseDelay}
}

// RoundTrip implements http.RoundTripper.
func (t *RetryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	attempts := max(t.MaxAttempts, 1)
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		// The body can be read once only: a retry would send it empty.
		attempts = 1
	}
	ctx := req.Context()

	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 {
			r = req.Clone(ctx)
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = body
			}
		}
		last := attempt >= attempts

		resp, err := base.RoundTrip(r)
		if err != nil {
			if last || ctx.Err() != nil || !retryableError(req, err) {
				return nil, err
			}
			if werr := t.sleep(ctx, t.backoff(attempt)); werr != nil {
				return nil, err
			}
			continue
		}

		if last || !retryableStatus(resp) {
			return resp, nil
		}
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if rerr != nil {
			return resp, nil
		}
		if t.Permanent != nil && t.Permanent(resp, body) {
			return resp, nil
		}

		var delay time.Duration
		if secs, fromServer := t.serverDelay(resp, body); fromServer {
			// Compared as seconds, before any conversion: a huge wait
			// would overflow time.Duration into a negative one.
			if secs > t.maxDelay().Seconds() {
				return resp, nil
			}
			delay = saturate(secs)
		} else {
			delay = t.backoff(attempt)
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < delay {
			// Waiting would only end in a timeout; the provider's own
			// answer says more.
			return resp, nil
		}
		if err := t.sleep(ctx, delay); err != nil {
			return nil, err
		}
	}
}

// retryableStatus reports answers worth another attempt: 408 and 429 are
// transient by definition, 5xx usually are (501 and 505 never change).
// Anthropic's x-should-retry overrides the status either way.
func retryableStatus(resp *http.Response) bool {
	switch resp.Header.Get("X-Should-Retry") {
	case "true":
		return true
	case "false":
		return false
	}
	switch code := resp.StatusCode; {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		return true
	case code == http.StatusNotImplemented, code == http.StatusHTTPVersionNotSupported:
		return false
	default:
		return code >= 500
	}
}

// retryableError reports connection failures that are safe to re-send.
// A failed dial never reached the server; any other failure of a POST may
// have been processed (and billed), so it is retried only for idempotent
// methods or requests carrying an idempotency key.
func retryableError(req *http.Request, err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	idempotent := req.Header.Get("Idempotency-Key") != "" || req.Header.Get("X-Idempotency-Key") != ""
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		idempotent = true
	}
	if !idempotent {
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// RetryAfter reads how long the server asked to wait: OpenAI's
// retry-after-ms first (finer grained), then Retry-After as seconds or an
// HTTP date. ok is false when neither header is usable; NaN, infinite and
// negative values are unusable. A wait too long for a time.Duration is
// returned as the longest one.
func RetryAfter(h http.Header, now time.Time) (d time.Duration, ok bool) {
	secs, ok := retryAfterSeconds(h, now)
	if !ok {
		return 0, false
	}
	return saturate(secs), true
}

// retryAfterSeconds is RetryAfter in seconds, so that a caller can compare
// a huge value with its cap before converting it.
func retryAfterSeconds(h http.Header, now time.Time) (float64, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, ok := parseWait(v); ok {
			return ms / 1000, true
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, ok := parseWait(v); ok {
		return s, true
	}
	if at, err := http.ParseTime(v); err == nil {
		// Time.Sub saturates instead of overflowing.
		return max(at.Sub(now), 0).Seconds(), true
	}
	return 0, false
}

// parseWait reads a number of time units, rejecting NaN, infinities,
// numbers out of a float64's range and negative values.
func parseWait(v string) (float64, bool) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, false
	}
	return validWait(f)
}

func validWait(f float64) (float64, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0, false
	}
	return f, true
}

// DurationFromSeconds converts a wait a provider stated in seconds. ok is
// false for NaN, infinite and negative values; a wait too long for a
// time.Duration is returned as the longest one (which any retry cap then
// refuses) instead of overflowing into a negative one.
func DurationFromSeconds(secs float64) (d time.Duration, ok bool) {
	secs, ok = validWait(secs)
	if !ok {
		return 0, false
	}
	return saturate(secs), true
}

// saturate converts a valid (finite, non-negative) number of seconds,
// clamping at the largest time.Duration.
func saturate(secs float64) time.Duration {
	ns := math.Round(secs * float64(time.Second))
	if ns >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(ns)
}

// serverDelay is the wait the answer asks for, in seconds: a usable
// Retry-After header first, then the body through DelayFromBody.
func (t *RetryTransport) serverDelay(resp *http.Response, body []byte) (float64, bool) {
	if secs, ok := retryAfterSeconds(resp.Header, time.Now()); ok {
		return secs, true
	}
	if t.DelayFromBody != nil {
		if d, ok := t.DelayFromBody(resp, body); ok && d >= 0 {
			return d.Seconds(), true
		}
	}
	return 0, false
}

// backoff is the wait before attempt+1: BaseDelay doubled per attempt,
// capped, with "equal jitter" (half fixed, half random) so that clients
// that failed together do not retry together.
func (t *RetryTransport) backoff(attempt int) time.Duration {
	base := t.BaseDelay
	if base <= 0 {
		base = DefaultRetryBaseDelay
	}
	d := base << min(attempt-1, 20)
	if d <= 0 || d > t.maxDelay() {
		d = t.maxDelay()
	}
	half := d / 2
	return half + rand.N(half+1)
}

func (t *RetryTransport) maxDelay() time.Duration {
	if t.MaxDelay > 0 {
		return t.MaxDelay
	}
	return DefaultMaxRetryDelay
}

func (t *RetryTransport) sleep(ctx context.Context, d time.Duration) error {
	if t.wait != nil {
		return t.wait(ctx, d)
	}
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// ClientOptions says how NewHTTPClient wraps a caller's client.
type ClientOptions struct {
	// Timeout bounds one call, retries and reading the body included;
	// 0 keeps the base client's timeout, or DefaultTimeout if it has none.
	Timeout time.Duration
	// MaxRetries is the number of retries after the first attempt;
	// 0 means DefaultMaxRetries, negative means none.
	MaxRetries int
	// RetryBaseDelay is the first backoff; 0 means DefaultRetryBaseDelay.
	RetryBaseDelay time.Duration
	// Permanent marks 429/5xx answers that must not be retried (see
	// RetryTransport.Permanent).
	Permanent func(resp *http.Response, body []byte) bool
	// DelayFromBody reads a wait stated in an error body (see
	// RetryTransport.DelayFromBody).
	DelayFromBody func(resp *http.Response, body []byte) (time.Duration, bool)
}

// NewHTTPClient returns a copy of base (a new client when nil) whose
// transport retries per o. base itself is never modified, because it may
// be shared with other adapters.
func NewHTTPClient(base *http.Client, o ClientOptions) *http.Client {
	c := &http.Client{}
	if base != nil {
		*c = *base
	}
	retries := o.MaxRetries
	switch {
	case retries == 0:
		retries = DefaultMaxRetries
	case retries < 0:
		retries = 0
	}
	c.Transport = &RetryTransport{
		Base:          c.Transport,
		MaxAttempts:   retries + 1,
		BaseDelay:     o.RetryBaseDelay,
		Permanent:     o.Permanent,
		DelayFromBody: o.DelayFromBody,
	}
	switch {
	case o.Timeout > 0:
		c.Timeout = o.Timeout
	case c.Timeout == 0:
		c.Timeout = DefaultTimeout
	}
	return c
}
