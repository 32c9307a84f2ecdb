// Package egress is how LeadPilot connects to addresses its users give it
// (import URLs, webhook endpoints): a dialer that refuses private,
// loopback, link-local, CGNAT, metadata, multicast and the other special
// purpose addresses, checked at dial time on the address actually dialled,
// after DNS resolution. A name that resolves to a public address when a URL
// is checked and to 127.0.0.1 when it is used (DNS rebinding) is therefore
// refused, and so is every redirect hop, because each opens its own
// connection through the same dialer.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"code.dny.dev/ssrf"
)

// ErrProhibited is wrapped by every refusal of an address (with ssrf's own
// sentinel, ssrf.ErrProhibitedIP and friends, in the chain too).
var ErrProhibited = errors.New("egress: address not allowed")

// Control returns a net.Dialer Control function that refuses every
// address outside public unicast, except those in allow (an operator's
// exception, e.g. 127.0.0.0/8 for a receiver on the same host). Any port
// is allowed: the address is what matters. IPv4-mapped IPv6 addresses
// (::ffff:127.0.0.1) are checked as the IPv4 address they carry.
func Control(allow ...netip.Prefix) func(network, address string, c syscall.RawConn) error {
	var v4, v6 []netip.Prefix
	for _, p := range allow {
		p = p.Masked()
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	guard := ssrf.New(ssrf.WithAnyPort(), ssrf.WithAllowedV4Prefixes(v4...), ssrf.WithAllowedV6Prefixes(v6...))
	return func(network, address string, _ syscall.RawConn) error {
		switch network {
		case "tcp4", "tcp6":
		default:
			return fmt.Errorf("%w: network %s: %w", ErrProhibited, network, ssrf.ErrProhibitedNetwork)
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrProhibited, address, ssrf.ErrInvalidHostPort)
		}
		addr := ap.Addr()
		if addr.Is4In6() {
			// A mapped address reaches the IPv4 host it carries; judge it
			// by that (ssrf would refuse it as outside IPv6 global
			// unicast, even when its IPv4 address is allowed).
			addr = addr.Unmap()
		}
		if err := guard.SafeAddr(addr); err != nil {
			return fmt.Errorf("%w: %w", ErrProhibited, err)
		}
		return nil
	}
}

// Resolver looks host names up; *net.Resolver satisfies it. Tests inject
// one that answers what they need (a public address, then a private one).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// DialerOptions configure NewDialer.
type DialerOptions struct {
	// Allow lists the prefixes to connect to even though they are not
	// public (default none).
	Allow []netip.Prefix
	// Resolver resolves host names. Default net.DefaultResolver.
	Resolver Resolver
	// Timeout bounds each connection attempt. Default 5s.
	Timeout time.Duration
}

// NewDialer returns a DialContext for http.Transport that resolves the host
// with o.Resolver and connects to each address in turn through a
// net.Dialer whose Control (see Control) checks the address it is about to
// connect to. The check is on the resolved address, so whatever the name
// said when it was validated earlier does not matter.
func NewDialer(o DialerOptions) func(ctx context.Context, network, address string) (net.Conn, error) {
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	d := &net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second, Control: Control(o.Allow...)}
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		var addrs []netip.Addr
		if a, err := netip.ParseAddr(host); err == nil {
			addrs = []netip.Addr{a}
		} else {
			lookup := "ip"
			switch network {
			case "tcp4":
				lookup = "ip4"
			case "tcp6":
				lookup = "ip6"
			}
			addrs, err = o.Resolver.LookupNetIP(ctx, lookup, host)
			if err != nil {
				return nil, err
			}
			if len(addrs) == 0 {
				return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
			}
		}
		var errs []error
		for _, a := range addrs {
			c, err := d.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
			if err == nil {
				return c, nil
			}
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
		return nil, errors.Join(errs...)
	}
}

// ParsePrefixes parses a list of CIDR prefixes ("127.0.0.0/8", "::1/128"),
// ignoring spaces around them and empty items; a bare address is taken as
// a single-address prefix.
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("egress: %q is not a CIDR prefix", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
