package llm

import (
	"net/http"
	"time"

	"github.com/leadpilot/leadpilot/internal/httpretry"
)

// Retry defaults shared by every network provider, so that one policy
// applies whichever SDK sits on top (each SDK's own retries are disabled).
// The policy itself is package httpretry's; this package adds only what is
// particular to LLM APIs: their defaults, that a 5xx answer means nothing
// was generated (so a POST is retried on one), and the hooks through which
// each adapter reads its provider's error bodies (RetryHooks).
const (
	// DefaultMaxRetries is how many times a call is retried after the first
	// attempt when Config.MaxRetries is 0.
	DefaultMaxRetries = 2
	// DefaultRetryBaseDelay is the first backoff when the provider gives no
	// Retry-After; it doubles on each further attempt.
	DefaultRetryBaseDelay = httpretry.DefaultBaseDelay
	// DefaultMaxRetryDelay caps one wait; a provider asking for a longer
	// one gets its 429 passed through.
	DefaultMaxRetryDelay = httpretry.DefaultMaxDelay
	// DefaultTimeout bounds one call, retries and streaming included, when a
	// provider's Config.Timeout is 0. Long enough for a ten-step sequence
	// from a reasoning model.
	DefaultTimeout = 2 * time.Minute
)

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
	// httpretry.Transport.Permanent).
	Permanent func(resp *http.Response, body []byte) bool
	// DelayFromBody reads a wait stated in an error body (see
	// httpretry.Transport.DelayFromBody).
	DelayFromBody func(resp *http.Response, body []byte) (time.Duration, bool)
}

// NewHTTPClient returns a copy of base (a new client when nil) whose
// transport retries per o. base itself is never modified, because it may
// be shared with other adapters.
//
// Calls are POSTs without idempotency keys, and 5xx answers are retried
// anyway: an LLM API that fails with a 5xx has generated (and billed)
// nothing. A connection that breaks after the request was sent is not
// retried, because the provider may be generating, and billing, the answer.
func NewHTTPClient(base *http.Client, o ClientOptions) *http.Client {
	retries := o.MaxRetries
	switch {
	case retries == 0:
		retries = DefaultMaxRetries
	case retries < 0:
		retries = 0
	}
	c := httpretry.Transport{
		MaxAttempts:       retries + 1,
		BaseDelay:         o.RetryBaseDelay,
		MaxDelay:          DefaultMaxRetryDelay,
		RetryServerErrors: true,
		Permanent:         o.Permanent,
		DelayFromBody:     o.DelayFromBody,
	}.Client(base)
	switch {
	case o.Timeout > 0:
		c.Timeout = o.Timeout
	case c.Timeout == 0:
		c.Timeout = DefaultTimeout
	}
	return c
}
