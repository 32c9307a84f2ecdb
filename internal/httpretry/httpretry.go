// Package httpretry is the one retry policy for outbound HTTP calls: LLM
// providers, Twilio, Apify, Stripe and webhook delivery wrap their client's
// transport with a Transport instead of each writing its own loop.
//
// The policy, in short: retry what was not processed (a failed dial, 408,
// 429), retry server errors and broken connections only when sending the
// request again is safe, honour the server's stated wait (Retry-After,
// retry-after-ms, or one read from the body by a hook) unless it exceeds
// the cap, otherwise back off exponentially with jitter, and stop when the
// request's context ends. The last answer is returned as received, so the
// caller (or the SDK above) still reads the server's own error body.
package httpretry

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

const (
	// DefaultBaseDelay is the first backoff when the server gives no wait;
	// it doubles on each further attempt.
	DefaultBaseDelay = 500 * time.Millisecond
	// DefaultMaxDelay caps one wait. A server asking for a longer one gets
	// its answer passed through instead: holding a request (and the caller)
	// for minutes is worse than telling the caller to come back later.
	DefaultMaxDelay = 30 * time.Second
)

// maxErrorBody bounds how much of an error answer is buffered to decide on
// a retry; API error bodies are a few hundred bytes.
const maxErrorBody = 1 << 20

// Transport is an http.RoundTripper that retries per the package policy.
// The zero value sends once; set MaxAttempts to retry.
//
// Which failures are retried:
//   - a failed dial, and 408 and 429 answers: the request was not
//     processed, so any request may be sent again;
//   - 5xx answers (but 501 and 505, which never change), and connections
//     that broke after the request was written: the server may have acted,
//     so only requests that are safe to repeat are sent again (see
//     Idempotent), or every request when RetryServerErrors says 5xx
//     answers of this API mean nothing was done;
//   - an X-Should-Retry header ("true" or "false", sent by Anthropic and
//     others) overrides the status either way.
//
// A request whose body cannot be replayed (no GetBody) is sent once.
type Transport struct {
	// Base sends each attempt; nil means http.DefaultTransport.
	Base http.RoundTripper
	// MaxAttempts counts every attempt, the first included; below 1 means 1.
	MaxAttempts int
	// BaseDelay is the first backoff; 0 means DefaultBaseDelay.
	BaseDelay time.Duration
	// MaxDelay caps one wait; 0 means DefaultMaxDelay.
	MaxDelay time.Duration
	// RetryServerErrors retries 5xx answers to requests that are not
	// idempotent as well. Set it for APIs whose 5xx means nothing happened
	// (LLM providers); leave it off where a 5xx may follow a side effect
	// (sending a message, charging a card), so that an unknown outcome is
	// not repeated. It never applies to broken connections.
	RetryServerErrors bool
	// Permanent, when set, reports that a retryable answer will not change
	// on retry (an exhausted quota, a billing limit), so it is returned at
	// once. body is the buffered error body.
	Permanent func(resp *http.Response, body []byte) bool
	// DelayFromBody, when set, reads a wait the server states in its error
	// body rather than in a header (Gemini's google.rpc.RetryInfo). It is
	// consulted only when no Retry-After header is usable, and its answer
	// is honoured like one: a wait above MaxDelay passes the answer
	// through. A negative duration counts as no answer.
	DelayFromBody func(resp *http.Response, body []byte) (time.Duration, bool)

	// wait sleeps for d or until ctx ends; tests replace it to record delays.
	wait func(ctx context.Context, d time.Duration) error
}

// Client returns a copy of base (a new client when nil) whose transport is
// t, sending through base's transport unless t.Base is set. base itself is
// never modified, because it may be shared; its Timeout is kept.
func (t Transport) Client(base *http.Client) *http.Client {
	c := &http.Client{}
	if base != nil {
		*c = *base
	}
	if t.Base == nil {
		t.Base = c.Transport
	}
	c.Transport = &t
	return c
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
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

		if last || !t.retryableStatus(req, resp) {
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
			// Waiting would only end in a timeout; the server's own
			// answer says more.
			return resp, nil
		}
		if err := t.sleep(ctx, delay); err != nil {
			return nil, err
		}
	}
}

// retryableStatus reports answers worth another attempt for req.
func (t *Transport) retryableStatus(req *http.Request, resp *http.Response) bool {
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
		return code >= 500 && (t.RetryServerErrors || Idempotent(req))
	}
}

// Idempotent reports whether req may be sent twice with the effect of
// once: GET, HEAD, OPTIONS, TRACE, PUT and DELETE by definition (RFC 9110
// section 9.2.2), and any request carrying an Idempotency-Key (or
// X-Idempotency-Key) header, which APIs such as Stripe honour.
func Idempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return req.Header.Get("Idempotency-Key") != "" || req.Header.Get("X-Idempotency-Key") != ""
}

// retryableError reports connection failures that are safe to re-send.
// A failed dial never reached the server; any other failure may come after
// the server acted, so it is retried only for idempotent requests.
func retryableError(req *http.Request, err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	if !Idempotent(req) {
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// RetryAfter reads how long the server asked to wait: retry-after-ms
// first (OpenAI's, finer grained), then Retry-After as seconds or an HTTP
// date. ok is false when neither header is usable; NaN, infinite and
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

// DurationFromSeconds converts a wait a server stated in seconds (for a
// DelayFromBody hook). ok is false for NaN, infinite and negative values;
// a wait too long for a time.Duration is returned as the longest one
// (which any retry cap then refuses) instead of overflowing into a
// negative one.
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
func (t *Transport) serverDelay(resp *http.Response, body []byte) (float64, bool) {
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
func (t *Transport) backoff(attempt int) time.Duration {
	base := t.BaseDelay
	if base <= 0 {
		base = DefaultBaseDelay
	}
	d := base << min(attempt-1, 20)
	if d <= 0 || d > t.maxDelay() {
		d = t.maxDelay()
	}
	half := d / 2
	return half + rand.N(half+1)
}

func (t *Transport) maxDelay() time.Duration {
	if t.MaxDelay > 0 {
		return t.MaxDelay
	}
	return DefaultMaxDelay
}

func (t *Transport) sleep(ctx context.Context, d time.Duration) error {
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
