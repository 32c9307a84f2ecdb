package egress_test

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"code.dny.dev/ssrf"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/egress"
)

func TestControl(t *testing.T) {
	t.Parallel()
	allow := egress.Control(netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("fd00:1::/32"))
	deny := egress.Control()
	for _, c := range []struct {
		network, address string
		allowed, denied  bool // allowed: passes allow; denied: refused by deny
	}{
		{"tcp4", "93.184.216.34:443", true, false},
		{"tcp6", "[2606:2800:220:1:248:1893:25c8:1946]:443", true, false},
		{"tcp4", "127.0.0.1:80", true, true},
		{"tcp6", "[::ffff:127.0.0.1]:80", true, true},
		{"tcp4", "10.0.0.1:80", false, true},
		{"tcp4", "169.254.169.254:80", false, true},
		{"tcp4", "100.64.0.1:80", false, true},
		{"tcp4", "0.0.0.0:80", false, true},
		{"tcp6", "[::1]:80", false, true},
		{"tcp6", "[fe80::1]:80", false, true},
		{"tcp6", "[fd00:1::5]:80", true, true},
		{"tcp6", "[fd00:2::5]:80", false, true},
	} {
		t.Run(c.address, func(t *testing.T) {
			err := allow(c.network, c.address, nil)
			if c.allowed {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, egress.ErrProhibited)
				require.ErrorIs(t, err, ssrf.ErrProhibitedIP)
			}
			err = deny(c.network, c.address, nil)
			if c.denied {
				require.ErrorIs(t, err, egress.ErrProhibited)
			} else {
				require.NoError(t, err)
			}
		})
	}
	require.ErrorIs(t, deny("udp4", "93.184.216.34:53", nil), ssrf.ErrProhibitedNetwork)
}

type fixedResolver []netip.Addr

func (r fixedResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return r, nil
}

func TestNewDialerChecksEveryResolvedAddress(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	dial := egress.NewDialer(egress.DialerOptions{Resolver: fixedResolver{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("127.0.0.1")}})
	_, err = dial(t.Context(), "tcp", net.JoinHostPort("name.example", port))
	require.ErrorIs(t, err, egress.ErrProhibited, "neither address is public")

	dial = egress.NewDialer(egress.DialerOptions{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Resolver: fixedResolver{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("127.0.0.1")}})
	c, err := dial(t.Context(), "tcp", net.JoinHostPort("name.example", port))
	require.NoError(t, err, "the refused address is skipped, the allowed one connects")
	require.NoError(t, c.Close())
}

func TestParsePrefixes(t *testing.T) {
	t.Parallel()
	got, err := egress.ParsePrefixes([]string{" 127.0.0.1/8 ", "", "::1", "10.1.2.3"})
	require.NoError(t, err)
	require.Equal(t, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("10.1.2.3/32")}, got)
	_, err = egress.ParsePrefixes([]string{"localhost"})
	require.Error(t, err)
}
