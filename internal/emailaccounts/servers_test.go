package emailaccounts_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/leadpilot/leadpilot/internal/testcert"
	"github.com/stretchr/testify/require"
)

type tlsCert struct{ cert tls.Certificate }

func newCert() (tlsCert, *x509.CertPool) {
	c, pool := testcert.New()
	return tlsCert{c}, pool
}

// testCertificate is a self-signed certificate for 127.0.0.1 that the
// test services trust (testPool); the mail servers present it.
var testCertificate, testPool = newCert()

// smtpServer is a real SMTP server (emersion/go-smtp) with STARTTLS, AUTH
// PLAIN for user/password and XOAUTH2 for user/token.
type smtpServer struct {
	addr     *net.TCPAddr
	mu       sync.Mutex
	logins   []string // mechanism:user of each successful AUTH
	user     string
	password string
	token    string
}

func startSMTP(t *testing.T, cert tls.Certificate, user, password, token string) *smtpServer {
	t.Helper()
	ss := &smtpServer{user: user, password: password, token: token}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &smtpSession{srv: ss}, nil }))
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	ss.addr = l.Addr().(*net.TCPAddr)
	return ss
}

func (s *smtpServer) Logins() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.logins...)
}

type smtpSession struct{ srv *smtpServer }

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain, "XOAUTH2"} }

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if username != s.srv.user || password != s.srv.password {
				return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
			}
			s.srv.mu.Lock()
			s.srv.logins = append(s.srv.logins, "PLAIN:"+username)
			s.srv.mu.Unlock()
			return nil
		}), nil
	case "XOAUTH2":
		return &xoauth2Server{srv: s.srv}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *smtpSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *smtpSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *smtpSession) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
func (s *smtpSession) Reset()        {}
func (s *smtpSession) Logout() error { return nil }

// xoauth2Server checks "user=U\x01auth=Bearer T\x01\x01" (go-sasl has no
// XOAUTH2 server).
type xoauth2Server struct {
	srv    *smtpServer
	failed bool
}

func (x *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if x.failed {
		return nil, true, &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Username and Password not accepted"}
	}
	parts := strings.Split(string(resp), "\x01")
	var user, token string
	for _, p := range parts {
		if v, ok := strings.CutPrefix(p, "user="); ok {
			user = v
		}
		if v, ok := strings.CutPrefix(p, "auth=Bearer "); ok {
			token = v
		}
	}
	if user != x.srv.user || token != x.srv.token {
		x.failed = true
		return []byte(`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`), false, nil
	}
	x.srv.mu.Lock()
	x.srv.logins = append(x.srv.logins, "XOAUTH2:"+user)
	x.srv.mu.Unlock()
	return nil, true, nil
}

// startIMAP is a real IMAP server (go-imap v2 imapserver + imapmemserver)
// with one user and an INBOX holding one message; implicit is whether it
// speaks TLS from the first byte (else it offers STARTTLS).
func startIMAP(t *testing.T, cert tls.Certificate, user, password string, implicit bool) *net.TCPAddr {
	return startIMAPWith(t, cert, user, password, "", implicit)
}

// startIMAPWith is startIMAP whose sessions also take AUTHENTICATE XOAUTH2
// with token, when token is set.
func startIMAPWith(t *testing.T, cert tls.Certificate, user, password, token string, implicit bool) *net.TCPAddr {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(user, password)
	require.NoError(t, u.Create("INBOX", nil))
	msg := "From: a@example.com\r\nTo: " + user + "\r\nSubject: hi\r\n\r\nhello\r\n"
	_, err := u.Append("INBOX", literal(msg), &imap.AppendOptions{})
	require.NoError(t, err)
	mem.AddUser(u)
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			if token != "" {
				return &xoauth2Session{Session: mem.NewSession(), user: user, password: password, token: token}, nil, nil
			}
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		TLSConfig:    tlsCfg,
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	var l net.Listener
	if implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", tlsCfg)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	require.NoError(t, err)
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Log("imap server:", err)
		}
	}()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().(*net.TCPAddr)
}

type literalReader struct {
	*strings.Reader
	n int64
}

func (l literalReader) Size() int64 { return l.n }

func literal(s string) imap.LiteralReader { return literalReader{strings.NewReader(s), int64(len(s))} }

// xoauth2Session adds AUTHENTICATE XOAUTH2 to an imapmemserver session: a
// valid bearer token logs the user in.
type xoauth2Session struct {
	imapserver.Session
	user, password, token string
}

func (s *xoauth2Session) AuthenticateMechanisms() []string { return []string{"XOAUTH2"} }

func (s *xoauth2Session) Authenticate(mech string) (sasl.Server, error) {
	if mech != "XOAUTH2" {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "SASL mechanism not supported"}
	}
	return &imapXOAuth2{s: s}, nil
}

type imapXOAuth2 struct {
	s      *xoauth2Session
	failed bool
}

func (x *imapXOAuth2) Next(resp []byte) ([]byte, bool, error) {
	if x.failed {
		return nil, true, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed, Text: "Invalid credentials (Failure)"}
	}
	if string(resp) != "user="+x.s.user+"\x01auth=Bearer "+x.s.token+"\x01\x01" {
		x.failed = true
		return []byte(`{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}`), false, nil
	}
	return nil, true, x.s.Session.Login(x.s.user, x.s.password)
}
