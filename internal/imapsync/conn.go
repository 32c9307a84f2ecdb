package imapsync

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// Security modes of Config.Security.
const (
	SecurityTLS      = "tls"      // implicit TLS from the first byte (port 993)
	SecurityStartTLS = "starttls" // plain connection upgraded with STARTTLS (port 143)
	SecurityNone     = "none"     // no TLS: the password travels in clear text
)

const defaultTimeout = 30 * time.Second

// ErrAuth wraps login and authentication failures: a wrong password, a
// rejected XOAUTH2 token, LOGIN refused. Callers back off and report it to
// the mailbox's owner instead of retrying soon: errors.Is(err, ErrAuth).
// Network failures, timeouts and other server answers are not ErrAuth (a
// server NO with code UNAVAILABLE, SERVERBUG, LIMIT or INUSE is a
// temporary failure, not bad credentials); the *imap.Error of the server's
// answer stays reachable with errors.As.
var ErrAuth = errors.New("authentication failed")

// session is one logged-in connection.
type session struct {
	ctx  context.Context
	c    *imapclient.Client
	dc   *deadlineConn
	stop func() bool // stops closing the connection when ctx is done
}

// open connects, secures the connection as cfg.Security says and logs in.
func open(ctx context.Context, cfg Config) (*session, error) {
	if cfg.Host == "" {
		return nil, errors.New("imapsync: no host")
	}
	security := cfg.Security
	if security == "" {
		security = SecurityTLS
	}
	port := cfg.Port
	switch security {
	case SecurityTLS:
		if port == 0 {
			port = 993
		}
	case SecurityStartTLS, SecurityNone:
		if port == 0 {
			port = 143
		}
	default:
		return nil, fmt.Errorf("imapsync: unknown security %q (want tls, starttls or none)", cfg.Security)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(port))

	// The token first: a refresh may take longer than the server waits
	// for a login, so no connection is open while it runs.
	var token string
	if cfg.OAuthToken != nil {
		var err error
		if token, err = cfg.OAuthToken(ctx); err != nil {
			return nil, fmt.Errorf("imapsync: access token for %s: %w", cfg.Username, err)
		}
	}

	dial := cfg.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	raw, err := dial(dctx, "tcp", addr)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		return nil, fmt.Errorf("imapsync: connect %s: %w", addr, err)
	}
	dc := &deadlineConn{Conn: raw, timeout: timeout}
	dc.arm()
	s := &session{ctx: ctx, dc: dc, stop: context.AfterFunc(ctx, func() { _ = raw.Close() })}

	tlsCfg := tlsConfig(cfg)
	opts := &imapclient.Options{TLSConfig: tlsCfg}
	switch security {
	case SecurityTLS:
		tc := tls.Client(dc, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			s.abort()
			return nil, s.wrap("TLS handshake with "+addr, err)
		}
		s.c = imapclient.New(tc, opts)
	case SecurityStartTLS:
		c, err := imapclient.NewStartTLS(dc, opts)
		if err != nil {
			s.abort()
			return nil, s.wrap("STARTTLS with "+addr, err)
		}
		s.c = c
	default:
		s.c = imapclient.New(dc, opts)
	}
	if err := s.c.WaitGreeting(); err != nil {
		s.close()
		return nil, s.wrap("greeting of "+addr, err)
	}
	if err := s.login(cfg, token); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func tlsConfig(cfg Config) *tls.Config {
	var c *tls.Config
	if cfg.TLSConfig != nil {
		c = cfg.TLSConfig.Clone()
	} else {
		c = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if c.ServerName == "" {
		c.ServerName = cfg.Host
	}
	if c.NextProtos == nil {
		c.NextProtos = []string{"imap"}
	}
	return c
}

func (s *session) login(cfg Config, token string) error {
	if cfg.OAuthToken != nil {
		if err := s.c.Authenticate(newXOAuth2Client(cfg.Username, token)); err != nil {
			return s.authErr("XOAUTH2", cfg.Username, err)
		}
		return nil
	}
	caps := s.c.Caps()
	if caps.Has(imap.CapLoginDisabled) {
		// RFC 3501: LOGIN is refused on this connection; AUTHENTICATE
		// PLAIN may still be offered (some servers before TLS, some always).
		if !caps.Has(imap.Cap("AUTH=PLAIN")) {
			return fmt.Errorf("imapsync: login %s: the server disables LOGIN and offers no AUTH=PLAIN", cfg.Username)
		}
		if err := s.c.Authenticate(sasl.NewPlainClient("", cfg.Username, cfg.Password)); err != nil {
			return s.authErr("PLAIN", cfg.Username, err)
		}
		return nil
	}
	if err := s.c.Login(cfg.Username, cfg.Password).Wait(); err != nil {
		return s.authErr("LOGIN", cfg.Username, err)
	}
	return nil
}

// authErr classifies a failed login: a NO answer is ErrAuth unless its
// code says the failure is temporary.
func (s *session) authErr(how, user string, err error) error {
	var ie *imap.Error
	if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
		switch ie.Code {
		case imap.ResponseCodeUnavailable, imap.ResponseCodeServerBug, imap.ResponseCodeLimit, imap.ResponseCodeInUse:
		default:
			return fmt.Errorf("imapsync: login %s (%s): %w: %w", user, how, ErrAuth, err)
		}
	}
	return s.wrap("login "+user+" ("+how+")", err)
}

// wrap names the operation; when ctx is done the cause is ctx's (the
// connection was closed because of it), not the closed connection.
func (s *session) wrap(op string, err error) error {
	if s.ctx.Err() != nil {
		return fmt.Errorf("imapsync: %s: %w", op, context.Cause(s.ctx))
	}
	if ioErr := s.dc.ioErr(); ioErr != nil && !errors.Is(err, ioErr) {
		// imapclient reports a failed read as text (%v): keep the
		// connection's own error in the chain, so that callers can tell a
		// network failure (net.Error, Timeout()) from a server's answer.
		err = &connError{err: err, cause: ioErr}
	}
	return fmt.Errorf("imapsync: %s: %w", op, err)
}

// connError is imapclient's error for a command that failed because the
// connection did, with the connection's error as a second cause.
type connError struct{ err, cause error }

func (e *connError) Error() string   { return e.err.Error() }
func (e *connError) Unwrap() []error { return []error{e.err, e.cause} }

// abort closes the connection at once (no LOGOUT), for errors and before
// draining a command whose answer is no longer wanted.
func (s *session) abort() {
	_ = s.dc.Conn.Close()
	s.stop()
}

// close releases the connection (after logout, or instead of it).
func (s *session) close() {
	if s.c != nil {
		_ = s.c.Close()
	}
	s.abort()
}

// logout says LOGOUT and closes; its failure changes nothing that was
// read, so it is not reported. (The deferred close after it is a no-op.)
func (s *session) logout() {
	_ = s.c.Logout().Wait()
	s.close()
}

// deadlineConn enforces Config.Timeout: while armed, every read and write
// must make progress within timeout (each call pushes the deadline
// forward), so a server that stops answering fails the command instead of
// hanging it. Disarmed (while the caller's sink runs) there is no deadline:
// a slow database transaction does not break the connection. imapclient
// sets its own fixed deadlines (30 s per response, 5 min per literal);
// they are ignored here so that Timeout is the one that applies.
type deadlineConn struct {
	net.Conn
	timeout time.Duration

	mu    sync.Mutex
	armed bool
	// err is the first read or write error; every later call returns it.
	// A connection that failed once is done for, and imapclient's decoder
	// would otherwise read again after a timeout (one Timeout per retry).
	err error
}

func (d *deadlineConn) ioErr() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

func (d *deadlineConn) fail(err error) {
	if err == nil {
		return
	}
	d.mu.Lock()
	if d.err == nil {
		d.err = err
	}
	d.mu.Unlock()
}

func (d *deadlineConn) arm() {
	d.mu.Lock()
	d.armed = true
	_ = d.Conn.SetDeadline(time.Now().Add(d.timeout))
	d.mu.Unlock()
}

func (d *deadlineConn) disarm() {
	d.mu.Lock()
	d.armed = false
	_ = d.Conn.SetDeadline(time.Time{})
	d.mu.Unlock()
}

func (d *deadlineConn) Read(b []byte) (int, error) {
	d.mu.Lock()
	if err := d.err; err != nil {
		d.mu.Unlock()
		return 0, err
	}
	if d.armed {
		_ = d.Conn.SetReadDeadline(time.Now().Add(d.timeout))
	}
	d.mu.Unlock()
	n, err := d.Conn.Read(b)
	d.fail(err)
	return n, err
}

func (d *deadlineConn) Write(b []byte) (int, error) {
	d.mu.Lock()
	if err := d.err; err != nil {
		d.mu.Unlock()
		return 0, err
	}
	if d.armed {
		_ = d.Conn.SetWriteDeadline(time.Now().Add(d.timeout))
	}
	d.mu.Unlock()
	n, err := d.Conn.Write(b)
	d.fail(err)
	return n, err
}

func (d *deadlineConn) SetDeadline(time.Time) error      { return nil }
func (d *deadlineConn) SetReadDeadline(time.Time) error  { return nil }
func (d *deadlineConn) SetWriteDeadline(time.Time) error { return nil }
