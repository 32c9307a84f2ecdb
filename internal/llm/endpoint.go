package llm

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ProviderConfig configures a network provider adapter; every adapter
// takes the same fields (each package exposes it as its Config).
type ProviderConfig struct {
	// APIKey authenticates the calls. Required.
	APIKey string
	// BaseURL defaults to the provider's own API address.
	BaseURL string
	// Model defaults to the provider's current default model.
	Model string
	// HTTPClient sends the requests; default a new client. It is copied,
	// never modified: its transport is wrapped with the retry policy.
	HTTPClient *http.Client
	// Timeout bounds one call, retries and streaming included; default
	// DefaultTimeout (or HTTPClient's own timeout when it has one).
	Timeout time.Duration
	// MaxRetries is the number of retries on 408/429/5xx and failed
	// connections; 0 means DefaultMaxRetries, negative means none.
	MaxRetries int
	// RetryBaseDelay is the first backoff when the API sends no
	// Retry-After; default DefaultRetryBaseDelay.
	RetryBaseDelay time.Duration
}

// Endpoint is a ProviderConfig with its defaults applied and checked.
type Endpoint struct {
	Key, BaseURL, Model string
	// HTTPClient carries the retry policy.
	HTTPClient *http.Client
}

// RetryHooks adapt the retry policy to a provider's error bodies.
type RetryHooks struct {
	// Permanent marks 429/5xx answers never to retry (quota, billing).
	Permanent func(resp *http.Response, body []byte) bool
	// DelayFromBody reads a wait the provider states in its error body.
	DelayFromBody func(resp *http.Response, body []byte) (time.Duration, bool)
}

// Resolve applies a provider's defaults: no key is an *Error with Kind
// ErrNotConfigured, a base URL must be absolute http(s), and the client
// gets the one retry policy, adapted by hooks.
func (c ProviderConfig) Resolve(provider, defaultBaseURL, defaultModel string, hooks RetryHooks) (Endpoint, error) {
	key := strings.TrimSpace(c.APIKey)
	if key == "" {
		return Endpoint{}, &Error{Kind: ErrNotConfigured, Provider: provider, Message: "no API key configured"}
	}
	base := strings.TrimSuffix(c.BaseURL, "/")
	if base == "" {
		base = defaultBaseURL
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Endpoint{}, fmt.Errorf("%s: invalid base URL %q", provider, base)
	}
	model := c.Model
	if model == "" {
		model = defaultModel
	}
	hc := NewHTTPClient(c.HTTPClient, ClientOptions{
		Timeout: c.Timeout, MaxRetries: c.MaxRetries, RetryBaseDelay: c.RetryBaseDelay,
		Permanent: hooks.Permanent, DelayFromBody: hooks.DelayFromBody,
	})
	return Endpoint{Key: key, BaseURL: base, Model: model, HTTPClient: hc}, nil
}
