package webhookdelivery

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/netip"
	"time"

	"github.com/leadpilot/leadpilot/internal/egress"
)

// ClientConfig configures NewClient.
type ClientConfig struct {
	// AllowCIDRs are the non-public ranges deliveries may still reach
	// (WEBHOOK_ALLOW_CIDRS; default none: only public unicast).
	AllowCIDRs []netip.Prefix
	// RootCAs verifies receivers' certificates. Default nil: the system
	// roots.
	RootCAs *x509.CertPool
	// ConnectTimeout bounds each TCP connection attempt. Default 5s.
	ConnectTimeout time.Duration
	// Resolver looks receivers' names up. Default net.DefaultResolver.
	Resolver egress.Resolver
	// MaxIdleConnsPerHost is how many idle connections to one receiver
	// host are kept for reuse (0: 64, the highest max_concurrency an
	// endpoint may have). Connections in use are not capped per host:
	// endpoints sharing a host (hooks.zapier.com) must not queue behind
	// each other; each endpoint's max_concurrency and the worker's
	// WEBHOOK_CONCURRENCY bound them.
	MaxIdleConnsPerHost int
}

// NewClient returns the HTTP client deliveries go through: every
// connection is checked by egress at dial time (after DNS, so DNS
// rebinding is refused), no proxy is taken from the environment (the
// guard would check the proxy instead of the receiver), and redirects are
// not followed (a 3xx answer is a failed attempt). The whole request's
// timeout is the engine's (Config.RequestTimeout), not the client's.
func NewClient(cfg ClientConfig) *http.Client {
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	if cfg.MaxIdleConnsPerHost <= 0 {
		cfg.MaxIdleConnsPerHost = 64
	}
	dial := egress.NewDialer(egress.DialerOptions{Allow: cfg.AllowCIDRs, Resolver: cfg.Resolver, Timeout: cfg.ConnectTimeout})
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dial,
			TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: cfg.RootCAs},
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   cfg.ConnectTimeout,
			MaxIdleConns:          1024,
			MaxIdleConnsPerHost:   cfg.MaxIdleConnsPerHost,
			IdleConnTimeout:       90 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
