package mailer_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/mailer"
	"github.com/leadpilot/leadpilot/internal/testcert"
)

// received is one message as the server got it.
type received struct {
	from, user string
	to         []string
	data       []byte
	tls        bool
}

// relay is a real SMTP server (emersion/go-smtp) on a loopback port.
type relay struct {
	addr string
	cert *x509.Certificate

	mu   sync.Mutex
	msgs []received
}

func (r *relay) got() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.msgs...)
}

type session struct {
	r    *relay
	conn *smtp.Conn
	cur  received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "mailer" || pass != "s3cret/pass" {
			return errors.New("invalid credentials")
		}
		s.cur.user = user
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error { s.cur.from = from; return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	_, s.cur.tls = s.conn.TLSConnectionState()
	s.r.mu.Lock()
	s.r.msgs = append(s.r.msgs, s.cur)
	s.r.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.cur = received{user: s.cur.user} }
func (s *session) Logout() error { return nil }

// startRelay serves SMTP on 127.0.0.1; with tlsOn it offers STARTTLS with
// a certificate made for the test.
func startRelay(t *testing.T, tlsOn bool) *relay {
	t.Helper()
	r := &relay{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{r: r, conn: c}, nil }))
	srv.Domain = "relay.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	if tlsOn {
		cert, _ := testcert.New()
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		r.cert = cert.Leaf
	} else {
		srv.AllowInsecureAuth = true
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	r.addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return r
}

func trusting(cert *x509.Certificate) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

const from = "LeadPilot <no-reply@leadpilot.test>"

func TestSMTP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("DeliversPlainTextAndHTMLOverSTARTTLSWithAuth", func(t *testing.T) {
		t.Parallel()
		r := startRelay(t, true)
		m, err := mailer.NewSMTP("smtp://mailer:s3cret%2Fpass@"+r.addr, from, mailer.WithTLSConfig(trusting(r.cert)))
		require.NoError(t, err)
		link := "https://app.leadpilot.test/verify-email?token=lpv_abc-DEF_123"
		err = m.Send(ctx, mailer.Message{
			To: "ada@example.com", Subject: "Confirm your email address — LeadPilot",
			Text: "Hello Ada,\n\nOpen this link:\n" + link + "\n", HTML: `<p>Open <a href="` + link + `">this link</a></p>`,
		})
		require.NoError(t, err)

		got := r.got()
		require.Len(t, got, 1)
		msg := got[0]
		require.True(t, msg.tls, "the message went over TLS")
		require.Equal(t, "mailer", msg.user, "the client authenticated")
		require.Equal(t, "no-reply@leadpilot.test", msg.from)
		require.Equal(t, []string{"ada@example.com"}, msg.to)

		parsed, err := mail.ReadMessage(bytes.NewReader(msg.data))
		require.NoError(t, err)
		dec := new(mime.WordDecoder)
		subject, err := dec.DecodeHeader(parsed.Header.Get("Subject"))
		require.NoError(t, err)
		require.Equal(t, "Confirm your email address — LeadPilot", subject)
		fromAddr, err := parsed.Header.AddressList("From")
		require.NoError(t, err)
		require.Equal(t, "no-reply@leadpilot.test", fromAddr[0].Address)
		require.Equal(t, "LeadPilot", fromAddr[0].Name)
		require.Equal(t, "<ada@example.com>", parsed.Header.Get("To"))
		require.NotEmpty(t, parsed.Header.Get("Message-Id"))
		require.NotEmpty(t, parsed.Header.Get("Date"))
		require.Equal(t, "1.0", parsed.Header.Get("Mime-Version"))

		mt, params, err := mime.ParseMediaType(parsed.Header.Get("Content-Type"))
		require.NoError(t, err)
		require.Equal(t, "multipart/alternative", mt)
		parts := map[string]string{}
		mr := multipart.NewReader(parsed.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			ct, _, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
			require.NoError(t, err)
			var body io.Reader = p // multipart.Reader decodes quoted-printable itself
			if enc := p.Header.Get("Content-Transfer-Encoding"); strings.EqualFold(enc, "base64") {
				t.Fatalf("unexpected base64 part for %s", ct)
			} else if strings.EqualFold(enc, "quoted-printable") {
				body = quotedprintable.NewReader(p)
			}
			b, err := io.ReadAll(body)
			require.NoError(t, err)
			parts[ct] = string(b)
		}
		require.Contains(t, parts["text/plain"], "Hello Ada,")
		require.Contains(t, parts["text/plain"], link, "the link survives the transfer encoding intact")
		require.Contains(t, parts["text/html"], `href="`+link+`"`)
	})

	t.Run("TextOnlyMessageIsASinglePlainPart", func(t *testing.T) {
		t.Parallel()
		r := startRelay(t, false)
		m, err := mailer.NewSMTP("smtp://"+r.addr+"?tls=none", from)
		require.NoError(t, err)
		require.NoError(t, m.Send(ctx, mailer.Message{To: "bob@example.com", Subject: "Hi", Text: "plain body\n"}))
		got := r.got()
		require.Len(t, got, 1)
		require.False(t, got[0].tls)
		parsed, err := mail.ReadMessage(bytes.NewReader(got[0].data))
		require.NoError(t, err)
		mt, _, err := mime.ParseMediaType(parsed.Header.Get("Content-Type"))
		require.NoError(t, err)
		require.Equal(t, "text/plain", mt)
		body, err := io.ReadAll(parsed.Body)
		require.NoError(t, err)
		require.Contains(t, string(body), "plain body")
	})

	t.Run("RefusesToSendInTheClearWhenTLSIsMandatory", func(t *testing.T) {
		t.Parallel()
		r := startRelay(t, false)
		m, err := mailer.NewSMTP("smtp://"+r.addr, from, mailer.WithTimeout(5*time.Second))
		require.NoError(t, err)
		require.Error(t, m.Send(ctx, mailer.Message{To: "bob@example.com", Subject: "Hi", Text: "x"}))
		require.Empty(t, r.got())
	})

	t.Run("WrongPasswordIsAnError", func(t *testing.T) {
		t.Parallel()
		r := startRelay(t, true)
		m, err := mailer.NewSMTP("smtp://mailer:wrong@"+r.addr, from, mailer.WithTLSConfig(trusting(r.cert)))
		require.NoError(t, err)
		require.Error(t, m.Send(ctx, mailer.Message{To: "bob@example.com", Subject: "Hi", Text: "x"}))
		require.Empty(t, r.got())
	})

	t.Run("RejectsBadConfiguration", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct{ url, from, want string }{
			{"http://mail.example.com", from, "scheme"},
			{"smtp://", from, "host"},
			{"smtp://mail.example.com?tls=maybe", from, "tls="},
			{"smtp://mail.example.com:99999", from, "port"},
			{"smtp://mail.example.com", "not an address", "sender"},
		} {
			_, err := mailer.NewSMTP(tc.url, tc.from)
			require.ErrorContains(t, err, tc.want, tc.url)
		}
	})

	t.Run("ErrorsNeverEchoThePassword", func(t *testing.T) {
		t.Parallel()
		_, err := mailer.NewSMTP("smtp://u:hunter2@mail.example.com:0x", from)
		require.Error(t, err)
		require.NotContains(t, err.Error(), "hunter2")
	})
}
