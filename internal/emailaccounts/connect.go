package emailaccounts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/egress"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/fault"
)

// Step is one step of a connection test and its result in plain words.
type Step struct {
	Name   string
	OK     bool
	Detail string
}

// TestResult is what Test found, and the account after it.
type TestResult struct {
	OK      bool
	Steps   []Step
	Account Account
}

// credentials is how the test (and Transport) logs in.
type credentials struct {
	username string
	password string
	// token, for gmail and outlook, returns an access token for XOAUTH2.
	token func(ctx context.Context) (string, error)
}

// Test really connects to the account's SMTP and IMAP servers (through the
// SSRF-safe egress dialer), reports each step, and records the result in
// connection_status and last_error (email_account.updated). A sandbox
// account has no server: its one step says so and it stays connected.
func (s *Service) Test(ctx context.Context, a access.Actor, id uuid.UUID) (TestResult, error) {
	if err := a.RequireAdminOrKey(manageWhat); err != nil {
		return TestResult{}, err
	}
	var r accountRow
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) (err error) {
		r, err = load(ctx, tx, a.OrgID, id, false)
		return err
	})
	if err != nil {
		return TestResult{}, err
	}
	var steps []Step
	if r.Provider == ProviderSandbox {
		steps = []Step{{Name: "sandbox", OK: true, Detail: "a sandbox mailbox keeps what is sent in LeadPilot itself; there is no server to connect to"}}
	} else {
		cred, err := s.credentials(r)
		if err != nil {
			return TestResult{}, err
		}
		// The two protocols are tested at once: each may take up to
		// TestTimeout, and the answer must come within one request.
		imapSteps := make(chan []Step, 1)
		go func() { imapSteps <- s.testIMAP(ctx, r, cred) }()
		steps = append(steps, s.testSMTP(ctx, r, cred)...)
		steps = append(steps, <-imapSteps...)
	}
	res := TestResult{OK: true, Steps: steps}
	var lastErr, source *string
	failed := map[string]bool{}
	for _, st := range steps {
		if !st.OK {
			res.OK = false
			if lastErr == nil {
				msg := st.Name + ": " + st.Detail
				lastErr = &msg
			}
			// Steps are named smtp_… and imap_….
			side, _, _ := strings.Cut(st.Name, "_")
			failed[side] = true
		}
	}
	// The side that failed: only that side's own success clears the
	// error later. Both (or neither known): nil, which either clears.
	if len(failed) == 1 {
		for side := range failed {
			if side == "smtp" || side == "imap" {
				source = &side
			}
		}
	}
	status := StatusConnected
	if !res.OK {
		status = StatusError
	}
	err = s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		r, err := load(ctx, tx, a.OrgID, id, true)
		if err != nil {
			return err
		}
		now := s.now()
		if !r.IsActive {
			status = StatusDisabled // a test does not turn an account back on
		}
		r.ConnectionStatus, r.LastError, r.ErrorSource, r.LastTestedAt = status, lastErr, source, &now
		_, err = tx.NewUpdate().Model(&r).Column("connection_status", "last_error", "error_source", "last_tested_at").
			Where("org_id = ? AND id = ?", a.OrgID, id).Returning("updated_at").Exec(ctx)
		if err != nil {
			return fmt.Errorf("emailaccounts: test %s: %w", id, database.Interpret(err))
		}
		res.Account, err = s.record(ctx, tx, events.EmailAccountUpdated, r)
		return err
	})
	if err != nil {
		return TestResult{}, err
	}
	return res, nil
}

func (s *Service) credentials(r accountRow) (credentials, error) {
	var c credentials
	if r.Username != nil {
		c.username = *r.Username
	}
	switch r.Provider {
	case ProviderCustom:
		if r.PasswordCipher == nil {
			return c, fault.Conflict("no_credentials", "the account has no password; set one with PATCH")
		}
		p, err := s.keyring.DecryptString(*r.PasswordCipher, passwordAAD(r.ID))
		if err != nil {
			return c, fmt.Errorf("emailaccounts: password of %s: %w", r.ID, err)
		}
		c.password = p
	case ProviderGmail, ProviderOutlook:
		org, id := r.OrgID, r.ID
		c.username = r.EmailAddress
		c.token = func(ctx context.Context) (string, error) { return s.AccessToken(ctx, org, id) }
	}
	return c, nil
}

func (s *Service) tlsConfig(host string) *tls.Config {
	return &tls.Config{ServerName: host, RootCAs: s.o.RootCAs, MinVersion: tls.VersionTLS12}
}

// connect dials host:port through egress and sets the connection's
// deadline to ctx's.
func (s *Service) connect(ctx context.Context, host string, port int) (net.Conn, error) {
	c, err := s.dial(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	return c, nil
}

func (s *Service) testSMTP(ctx context.Context, r accountRow, cred credentials) []Step {
	ctx, cancel := context.WithTimeout(ctx, s.o.TestTimeout)
	defer cancel()
	host, port := deref(r.SMTPHost), r.SMTPPort
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	var steps []Step
	fail := func(name, detail string) []Step { return append(steps, Step{Name: name, OK: false, Detail: detail}) }

	conn, err := s.connect(ctx, host, port)
	if err != nil {
		return fail("smtp_connect", "could not connect to "+addr+": "+dialWords(err))
	}
	defer conn.Close()
	steps = append(steps, Step{Name: "smtp_connect", OK: true, Detail: "connected to " + addr})

	var c *smtp.Client
	switch r.SMTPTLSMode {
	case TLSImplicit:
		tc := tls.Client(conn, s.tlsConfig(host))
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail("smtp_tls", "the TLS handshake failed: "+tlsWords(err))
		}
		steps = append(steps, Step{Name: "smtp_tls", OK: true, Detail: "TLS established (" + tls.VersionName(tc.ConnectionState().Version) + ")"})
		c = smtp.NewClient(tc)
		if err := c.Hello("localhost"); err != nil {
			return fail("smtp_ehlo", "the server did not accept EHLO: "+smtpWords(err))
		}
		steps = append(steps, Step{Name: "smtp_ehlo", OK: true, Detail: "the server greeted us and answered EHLO"})
	case TLSStartTLS:
		c, err = smtp.NewClientStartTLS(conn, s.tlsConfig(host))
		var se *smtp.SMTPError
		switch {
		case errors.As(err, &se):
			return fail("smtp_ehlo", "the server did not accept EHLO: "+smtpWords(err))
		case err != nil && strings.Contains(err.Error(), "support STARTTLS"):
			steps = append(steps, Step{Name: "smtp_ehlo", OK: true, Detail: "the server greeted us and answered EHLO"})
			return fail("smtp_starttls", "the server does not offer STARTTLS; use tls mode (usually port 465) if it speaks TLS from the start")
		case err != nil:
			steps = append(steps, Step{Name: "smtp_ehlo", OK: true, Detail: "the server greeted us and answered EHLO"})
			return fail("smtp_starttls", "STARTTLS failed: "+tlsWords(err))
		}
		steps = append(steps, Step{Name: "smtp_ehlo", OK: true, Detail: "the server greeted us and answered EHLO"})
		// The TLS handshake happens on the first write after STARTTLS: the
		// EHLO that RFC 3207 requires again.
		if err := c.Hello("localhost"); err != nil {
			return fail("smtp_starttls", "STARTTLS failed: "+tlsWords(err))
		}
		cs, _ := c.TLSConnectionState()
		steps = append(steps, Step{Name: "smtp_starttls", OK: true, Detail: "STARTTLS succeeded (" + tls.VersionName(cs.Version) + ")"})
	default:
		c = smtp.NewClient(conn)
		if err := c.Hello("localhost"); err != nil {
			return fail("smtp_ehlo", "the server did not accept EHLO: "+smtpWords(err))
		}
		steps = append(steps, Step{Name: "smtp_ehlo", OK: true, Detail: "the server greeted us and answered EHLO (without TLS: the password travels in clear text)"})
	}
	defer c.Close()

	var auth sasl.Client
	var how string
	if cred.token != nil {
		tok, err := cred.token(ctx)
		if err != nil {
			return fail("smtp_auth", "could not get an access token: "+faultWords(err))
		}
		auth, how = NewXOAuth2Client(cred.username, tok), "XOAUTH2"
	} else {
		switch {
		case c.SupportsAuth("PLAIN"):
			auth, how = sasl.NewPlainClient("", cred.username, cred.password), "PLAIN"
		case c.SupportsAuth("LOGIN"):
			auth, how = sasl.NewLoginClient(cred.username, cred.password), "LOGIN"
		default:
			return fail("smtp_auth", "the server offers neither AUTH PLAIN nor AUTH LOGIN")
		}
	}
	if err := c.Auth(auth); err != nil {
		return fail("smtp_auth", "the server refused the login of "+cred.username+" ("+how+"): "+smtpWords(err))
	}
	steps = append(steps, Step{Name: "smtp_auth", OK: true, Detail: "logged in as " + cred.username + " (" + how + ")"})
	_ = c.Quit()
	return steps
}

func (s *Service) testIMAP(ctx context.Context, r accountRow, cred credentials) []Step {
	ctx, cancel := context.WithTimeout(ctx, s.o.TestTimeout)
	defer cancel()
	host, port := deref(r.IMAPHost), r.IMAPPort
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	var steps []Step
	fail := func(name, detail string) []Step { return append(steps, Step{Name: name, OK: false, Detail: detail}) }

	conn, err := s.connect(ctx, host, port)
	if err != nil {
		return fail("imap_connect", "could not connect to "+addr+": "+dialWords(err))
	}
	defer conn.Close()
	steps = append(steps, Step{Name: "imap_connect", OK: true, Detail: "connected to " + addr})

	opts := &imapclient.Options{TLSConfig: s.tlsConfig(host)}
	var c *imapclient.Client
	switch r.IMAPTLSMode {
	case TLSImplicit:
		tc := tls.Client(conn, s.tlsConfig(host))
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail("imap_tls", "the TLS handshake failed: "+tlsWords(err))
		}
		steps = append(steps, Step{Name: "imap_tls", OK: true, Detail: "TLS established (" + tls.VersionName(tc.ConnectionState().Version) + ")"})
		c = imapclient.New(tc, opts)
	case TLSStartTLS:
		c, err = imapclient.NewStartTLS(conn, opts)
		if err != nil {
			return fail("imap_starttls", "STARTTLS failed: "+tlsWords(err))
		}
		steps = append(steps, Step{Name: "imap_starttls", OK: true, Detail: "STARTTLS succeeded"})
	default:
		c = imapclient.New(conn, opts)
	}
	defer c.Close()
	if err := c.WaitGreeting(); err != nil {
		return fail("imap_greeting", "the server sent no IMAP greeting: "+err.Error())
	}

	if cred.token != nil {
		tok, err := cred.token(ctx)
		if err != nil {
			return fail("imap_login", "could not get an access token: "+faultWords(err))
		}
		if err := c.Authenticate(NewXOAuth2Client(cred.username, tok)); err != nil {
			return fail("imap_login", "the server refused the login of "+cred.username+" (XOAUTH2): "+imapWords(err))
		}
		steps = append(steps, Step{Name: "imap_login", OK: true, Detail: "logged in as " + cred.username + " (XOAUTH2)"})
	} else {
		if err := c.Login(cred.username, cred.password).Wait(); err != nil {
			return fail("imap_login", "the server refused the login of "+cred.username+": "+imapWords(err))
		}
		steps = append(steps, Step{Name: "imap_login", OK: true, Detail: "logged in as " + cred.username})
	}
	data, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return fail("imap_select", "could not open INBOX: "+imapWords(err))
	}
	steps = append(steps, Step{Name: "imap_select", OK: true, Detail: fmt.Sprintf("opened INBOX (%d messages)", data.NumMessages)})
	_ = c.Logout().Wait()
	return steps
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// dialWords says why a connection failed, without Go's error chain.
func dialWords(err error) string {
	var dns *net.DNSError
	var op *net.OpError
	switch {
	case errors.Is(err, egress.ErrProhibited):
		return "the address is private or reserved, which this server does not connect to (the operator can allow it with EMAIL_ALLOW_CIDRS)"
	case errors.As(err, &dns):
		return "the host name does not resolve (" + dns.Err + ")"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.As(err, &op) && op.Timeout():
		return "timed out"
	case strings.Contains(err.Error(), "connection refused"):
		return "the connection was refused (nothing listens on that port)"
	}
	return err.Error()
}

func tlsWords(err error) string {
	var ue x509.UnknownAuthorityError
	if errors.As(err, &ue) {
		return "the server's certificate is not signed by a trusted authority"
	}
	var he x509.HostnameError
	if errors.As(err, &he) {
		return "the server's certificate is not valid for this host name"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	return err.Error()
}

func smtpWords(err error) string {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return fmt.Sprintf("%d %s", se.Code, se.Message)
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Timeout() {
		return "timed out"
	}
	return err.Error()
}

func imapWords(err error) string {
	var ie *imap.Error
	if errors.As(err, &ie) {
		if ie.Text != "" {
			return string(ie.Type) + " " + ie.Text
		}
		return string(ie.Type)
	}
	return err.Error()
}

func faultWords(err error) string {
	if f, ok := fault.As(err); ok {
		if len(f.Fields) > 0 {
			return f.Fields[0].Message
		}
		return f.Detail
	}
	return "an internal error"
}
