package webhookdelivery_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"code.dny.dev/ssrf"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/egress"
	"github.com/leadpilot/leadpilot/internal/webhookdelivery"
)

// rebinder answers a public address the first time a name is looked up
// and 127.0.0.1 after that: DNS rebinding.
type rebinder struct {
	mu    sync.Mutex
	calls int
}

func (r *rebinder) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.calls == 1 {
		return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
	}
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

func post(t *testing.T, c *http.Client, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader([]byte(`{}`)))
	require.NoError(t, err)
	resp, err := c.Do(req)
	if err == nil {
		_ = resp.Body.Close()
	}
	return resp, err
}

func TestSSRF(t *testing.T) {
	t.Parallel()

	t.Run("RefusesNonPublicAddressesAtDialTime", func(t *testing.T) {
		t.Parallel()
		c := webhookdelivery.NewClient(webhookdelivery.ClientConfig{})
		for _, host := range []string{
			"10.0.0.1", "10.255.255.254", "172.16.0.1", "172.31.255.1", "192.168.1.1",
			"127.0.0.1", "127.1.2.3", "169.254.169.254", "169.254.0.1", "100.64.0.1", "100.127.255.254",
			"0.0.0.0", "224.0.0.1", "255.255.255.255",
			"[::1]", "[::]", "[fe80::1]", "[febf::1]", "[fc00::1]", "[fd12:3456::1]", "[ff02::1]",
			"[::ffff:127.0.0.1]", "[::ffff:10.0.0.1]", "[::ffff:169.254.169.254]", "[64:ff9b::a00:1]",
		} {
			t.Run(host, func(t *testing.T) {
				t.Parallel()
				_, err := post(t, c, "http://"+host+":8080/hook")
				require.ErrorIs(t, err, egress.ErrProhibited)
				require.ErrorIs(t, err, ssrf.ErrProhibitedIP)
			})
		}
	})

	t.Run("AllowsWhatTheOperatorAllows", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, nil)
		_, err := post(t, webhookdelivery.NewClient(webhookdelivery.ClientConfig{}), rc.URL)
		require.ErrorIs(t, err, egress.ErrProhibited)
		c := webhookdelivery.NewClient(webhookdelivery.ClientConfig{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
		resp, err := post(t, c, rc.URL)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		// An allowed IPv4 range also covers its IPv4-mapped IPv6 form.
		_, port, _ := net.SplitHostPort(rc.Listener.Addr().String())
		resp, err = post(t, c, "http://[::ffff:127.0.0.1]:"+port+"/")
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
	})

	t.Run("ChecksTheAddressTheNameResolvesToWhenDialling", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, nil)
		_, port, _ := net.SplitHostPort(rc.Listener.Addr().String())
		res := &rebinder{}
		// An earlier check (say, when the endpoint was created) saw a
		// public address.
		addrs, err := res.LookupNetIP(t.Context(), "ip", "rebind.example")
		require.NoError(t, err)
		require.True(t, addrs[0].IsGlobalUnicast() && !addrs[0].IsPrivate())

		c := webhookdelivery.NewClient(webhookdelivery.ClientConfig{Resolver: res})
		_, err = post(t, c, "http://rebind.example:"+port+"/hook")
		require.ErrorIs(t, err, egress.ErrProhibited)
		require.ErrorContains(t, err, "127.0.0.1")
		require.Empty(t, rc.deliveries(), "the loopback receiver got nothing")
	})

	t.Run("DoesNotFollowRedirects", func(t *testing.T) {
		t.Parallel()
		// The target listens on 127.0.0.2, which the client does not
		// allow; it must not be reached either way.
		ln, err := net.Listen("tcp", "127.0.0.2:0")
		require.NoError(t, err)
		var targetHits atomic.Int32
		target := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			targetHits.Add(1)
		})}}
		target.Start()
		t.Cleanup(target.Close)
		for _, to := range []string{target.URL + "/", "http://169.254.169.254/latest/meta-data/"} {
			rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
				http.Redirect(w, r, to, http.StatusFound)
			})
			c := webhookdelivery.NewClient(webhookdelivery.ClientConfig{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
			resp, err := post(t, c, rc.URL)
			require.NoError(t, err)
			require.Equal(t, http.StatusFound, resp.StatusCode, "the 3xx is the answer")
		}
		require.Zero(t, targetHits.Load())

		// Through the engine the 3xx is a failed attempt.
		b := setup(t)
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
			http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
		})
		org, _, _ := b.org()
		ep, _ := b.endpoint(org, rc.URL, endpointOpts{})
		ev := b.record(org, 1)[0]
		eng := b.engine(webhookdelivery.Config{HTTP: webhookdelivery.ClientConfig{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}})
		_, err = eng.Deliver(t.Context(), org, ep)
		require.NoError(t, err)
		m := b.message(ep, ev)
		require.Equal(t, "pending", m.Status)
		require.Equal(t, http.StatusTemporaryRedirect, *m.LastStatusCode)
		require.Contains(t, *m.LastError, "redirects are not followed")
		require.Zero(t, targetHits.Load())
	})

	t.Run("ARefusedAddressIsAFailedAttemptInTheLog", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		org, _, _ := b.org()
		ep, _ := b.endpoint(org, "http://169.254.169.254/latest/meta-data/", endpointOpts{})
		ev := b.record(org, 1)[0]
		eng := b.engine(webhookdelivery.Config{HTTP: webhookdelivery.ClientConfig{AllowCIDRs: []netip.Prefix{}}})
		_, err := eng.Deliver(t.Context(), org, ep)
		require.NoError(t, err)
		m := b.message(ep, ev)
		require.Equal(t, "pending", m.Status)
		require.Nil(t, m.LastStatusCode)
		require.Contains(t, *m.LastError, "not public")
	})
}
