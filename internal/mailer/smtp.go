package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTP sends through one SMTP relay, opening a connection per message
// (transactional mail is rare; a kept-open connection would only go stale).
//
// The relay is configured by URL:
//
//	smtp://[user[:password]@]host[:port][?tls=mandatory|opportunistic|none]
//	smtps://[user[:password]@]host[:port]
//
// smtp:// speaks STARTTLS on port 587 by default and refuses to go on
// without it (tls=mandatory); tls=opportunistic uses it when offered and
// tls=none never does (a relay on localhost, a test server). smtps:// is
// TLS from the first byte, port 465 by default. With a user the client
// authenticates with the strongest mechanism the relay offers;
// percent-encode special characters in the user and password.
type SMTP struct {
	client *gomail.Client
	from   string
}

// SMTPOption adjusts an SMTP mailer (tests trust their own certificate).
type SMTPOption func(*smtpSettings)

type smtpSettings struct {
	tlsConfig *tls.Config
	timeout   time.Duration
}

// WithTLSConfig sets the TLS configuration (default: the system roots and
// the relay's host name).
func WithTLSConfig(c *tls.Config) SMTPOption { return func(s *smtpSettings) { s.tlsConfig = c } }

// WithTimeout bounds connecting and each SMTP command (default 15s).
func WithTimeout(d time.Duration) SMTPOption { return func(s *smtpSettings) { s.timeout = d } }

// NewSMTP parses rawURL (see SMTP) and sends as from, an RFC 5322 address
// such as "LeadPilot <no-reply@example.com>". It does not connect.
func NewSMTP(rawURL, from string, opts ...SMTPOption) (*SMTP, error) {
	set := smtpSettings{timeout: 15 * time.Second}
	for _, o := range opts {
		o(&set)
	}
	if _, err := mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("mailer: sender %q is not an email address: %w", from, err)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("mailer: SYSTEM_SMTP_URL is not a URL") // the URL may hold a password: not echoed
	}
	if u.Hostname() == "" {
		return nil, errors.New("mailer: SYSTEM_SMTP_URL needs a host: smtp://user:password@host:587")
	}
	copts := []gomail.Option{gomail.WithTimeout(set.timeout)}
	port := 587
	switch u.Scheme {
	case "smtp":
		policy := gomail.TLSMandatory
		switch mode := u.Query().Get("tls"); mode {
		case "", "mandatory":
		case "opportunistic":
			policy = gomail.TLSOpportunistic
		case "none":
			policy = gomail.NoTLS
		default:
			return nil, fmt.Errorf("mailer: SYSTEM_SMTP_URL tls=%q: want mandatory, opportunistic or none", mode)
		}
		copts = append(copts, gomail.WithTLSPolicy(policy))
	case "smtps":
		port = 465
		copts = append(copts, gomail.WithSSL())
	default:
		return nil, fmt.Errorf("mailer: SYSTEM_SMTP_URL scheme %q: want smtp or smtps", u.Scheme)
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("mailer: SYSTEM_SMTP_URL port %q is not a port number", p)
		}
	}
	copts = append(copts, gomail.WithPort(port))
	if set.tlsConfig != nil {
		copts = append(copts, gomail.WithTLSConfig(set.tlsConfig))
	}
	if user := u.User.Username(); user != "" {
		pass, _ := u.User.Password()
		copts = append(copts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(user), gomail.WithPassword(pass))
	}
	c, err := gomail.NewClient(u.Hostname(), copts...)
	if err != nil {
		return nil, fmt.Errorf("mailer: smtp client for %s: %w", u.Host, err)
	}
	return &SMTP{client: c, from: from}, nil
}

// Send builds the MIME message (text/plain, with a text/html alternative
// when m.HTML is set) and delivers it.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("mailer: from %q: %w", s.from, err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("mailer: to %q: %w", m.To, err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	if err := s.client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("mailer: send %q to %s: %w", m.Subject, m.To, err)
	}
	return nil
}
