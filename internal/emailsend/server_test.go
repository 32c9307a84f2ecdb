package emailsend_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/emailsend"
	"github.com/leadpilot/leadpilot/internal/testcert"
)

// received is one message as the test server got it.
type received struct {
	session    int
	from, to   string
	data       []byte
	tls        bool
	user, mech string
}

// serverOptions shape a test server; the zero value is a plain relay
// without TLS or authentication.
type serverOptions struct {
	tls     emailsend.TLSMode // starttls: offers STARTTLS; tls: implicit TLS listener; none
	mechs   []string          // offered AUTH mechanisms (PLAIN, LOGIN, XOAUTH2); empty: no AUTH, none required
	discard bool              // count messages without keeping them (benchmark sink)
	// rcpt and data, when set, decide the reply to RCPT TO and to the end
	// of DATA (nil error: accepted). They get the session's connection so
	// they can cut it.
	rcpt func(c *smtp.Conn, to string) error
	data func(c *smtp.Conn, to string) error
}

const (
	testUser     = "ada@sender.test"
	testPassword = "s3cret/pass"
	testToken    = "ya29.access-token"
)

// server is a real SMTP server (emersion/go-smtp) on a loopback port that
// records every message and counts sessions (connections).
type server struct {
	opts serverOptions
	host string
	port int
	cert *x509.Certificate

	mu       sync.Mutex
	msgs     []received
	count    int
	sessions int          // connections accepted
	conns    []*smtp.Conn // one per connection, in order
}

func startServer(t testing.TB, opts serverOptions) *server {
	t.Helper()
	s := &server{opts: opts}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		// go-smtp starts a new Session after STARTTLS on the same Conn:
		// count connections, not Sessions.
		s.mu.Lock()
		defer s.mu.Unlock()
		id := slices.Index(s.conns, c) + 1
		if id == 0 {
			s.conns = append(s.conns, c)
			s.sessions++
			id = s.sessions
		}
		return &session{s: s, conn: c, id: id}, nil
	}))
	srv.Domain = "mx.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxRecipients = 10
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	switch opts.tls {
	case emailsend.TLSStartTLS:
		cert, _ := testcert.New()
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		s.cert = cert.Leaf
	case emailsend.TLSImplicit:
		cert, _ := testcert.New()
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}})
		s.cert = cert.Leaf
	default:
		srv.AllowInsecureAuth = true
	}
	host, port, _ := net.SplitHostPort(l.Addr().String())
	s.host = host
	s.port, _ = strconv.Atoi(port)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// account is the Account that reaches s with the right credentials.
func (s *server) account() emailsend.Account {
	a := emailsend.Account{ID: uuid.New(), Host: s.host, Port: s.port, TLS: s.opts.tls, HelloName: "sender.test"}
	if a.TLS == "" {
		a.TLS = emailsend.TLSNone
	}
	if s.cert != nil {
		pool := x509.NewCertPool()
		pool.AddCert(s.cert)
		a.TLSConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	if len(s.opts.mechs) > 0 {
		a.Username, a.Password = testUser, testPassword
	}
	return a
}

func (s *server) got() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

func (s *server) sessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

func (s *server) messageCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// cutAll closes every connection from the server side, as a server does
// with connections idle for too long.
func (s *server) cutAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		_ = c.Conn().Close()
	}
}

type session struct {
	s    *server
	conn *smtp.Conn
	id   int

	user, mech string
	from, to   string
}

func (ss *session) AuthMechanisms() []string { return ss.s.opts.mechs }

func (ss *session) Auth(mech string) (sasl.Server, error) {
	ok := func(user string) { ss.user, ss.mech = user, mech }
	bad := &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error {
			if user != testUser || pass != testPassword {
				return bad
			}
			ok(user)
			return nil
		}), nil
	case sasl.Login:
		return &loginServer{check: func(user, pass string) error {
			if user != testUser || pass != testPassword {
				return bad
			}
			ok(user)
			return nil
		}}, nil
	case "XOAUTH2":
		return &xoauth2Server{check: func(user, token string) error {
			if user != testUser || token != testToken {
				return bad
			}
			ok(user)
			return nil
		}}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if len(ss.s.opts.mechs) > 0 && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.s.opts.rcpt != nil {
		if err := ss.s.opts.rcpt(ss.conn, to); err != nil {
			return err
		}
	}
	ss.to = to
	return nil
}

func (ss *session) Data(r io.Reader) error {
	var b []byte
	var err error
	if ss.s.opts.discard {
		_, err = io.Copy(io.Discard, r)
	} else {
		b, err = io.ReadAll(r)
	}
	if err != nil {
		return err
	}
	_, isTLS := ss.conn.TLSConnectionState()
	ss.s.mu.Lock()
	ss.s.count++
	n := ss.s.count
	if !ss.s.opts.discard {
		ss.s.msgs = append(ss.s.msgs, received{session: ss.id, from: ss.from, to: ss.to, data: b, tls: isTLS, user: ss.user, mech: ss.mech})
	}
	ss.s.mu.Unlock()
	if ss.s.opts.data != nil {
		if err := ss.s.opts.data(ss.conn, ss.to); err != nil {
			return err
		}
	}
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: fmt.Sprintf("Ok: queued as Q%06d", n)}
}

func (ss *session) Reset()        { ss.from, ss.to = "", "" }
func (ss *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN (go-sasl has only the
// client): "Username:", "Password:", done.
type loginServer struct {
	step  int
	user  string
	check func(user, pass string) error
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		if len(resp) > 0 { // initial response carries the user name
			l.user = string(resp)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 2:
		l.user = string(resp)
		return []byte("Password:"), false, nil
	case 3:
		return nil, true, l.check(l.user, string(resp))
	}
	return nil, false, errors.New("unexpected LOGIN step")
}

// xoauth2Server is the server side of XOAUTH2 (go-sasl has none):
// "user=<user>\x01auth=Bearer <token>\x01\x01".
type xoauth2Server struct {
	check func(user, token string) error
}

func (x *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if resp == nil {
		return []byte{}, false, nil // ask for the initial response
	}
	var user, token string
	for _, f := range bytes.Split(resp, []byte{1}) {
		k, v, _ := strings.Cut(string(f), "=")
		switch k {
		case "user":
			user = v
		case "auth":
			token = strings.TrimPrefix(v, "Bearer ")
		}
	}
	return nil, true, x.check(user, token)
}
