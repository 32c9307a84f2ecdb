package emailsend_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/emailsend"
)

func newPool(t testing.TB) *emailsend.Pool {
	t.Helper()
	p := emailsend.NewPool(emailsend.PoolOptions{DialTimeout: 5 * time.Second, CommandTimeout: 5 * time.Second})
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	return p
}

func outcomes(rs []emailsend.Result) []emailsend.Outcome {
	out := make([]emailsend.Outcome, len(rs))
	for i, r := range rs {
		out[i] = r.Outcome
	}
	return out
}

func batch(n int, prefix string) []emailsend.Email {
	es := make([]emailsend.Email, n)
	for i := range es {
		es[i] = newEmail(fmt.Sprintf("%s%d@example.com", prefix, i))
	}
	return es
}

// requireDelivered checks that exactly emails arrived, in order, each once.
func requireDelivered(t *testing.T, got []received, emails []emailsend.Email) {
	t.Helper()
	require.Len(t, got, len(emails))
	for i, e := range emails {
		require.Equal(t, e.To.Address, got[i].to)
		require.Equal(t, e.From.Address, got[i].from)
		require.Equal(t, "<"+e.MessageID+">", parse(t, got[i].data).Header.Get("Message-Id"))
	}
}

func TestPool(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("DeliversOverSTARTTLSWithAuthPlain", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, serverOptions{tls: emailsend.TLSStartTLS, mechs: []string{"PLAIN", "LOGIN"}})
		p := newPool(t)
		e := newEmail("grace@example.com", func(e *emailsend.Email) {
			e.HTML = "<p>Hi Grace</p>"
			e.Text = "Hi Grace,\n.\nA line with only a dot above.\n"
		})
		rs := p.Send(ctx, s.account(), []emailsend.Email{e}, nil)
		require.Len(t, rs, 1)
		r := rs[0]
		require.NoError(t, r.Err)
		require.Equal(t, emailsend.Sent, r.Outcome)
		require.Equal(t, 250, r.Code)
		require.Equal(t, "2.0.0", r.Enhanced)
		require.Equal(t, "Ok: queued as Q000001", r.Message)
		require.Equal(t, "Q000001", r.ProviderID)

		got := s.got()
		require.Len(t, got, 1)
		require.True(t, got[0].tls, "sent after STARTTLS")
		require.Equal(t, testUser, got[0].user)
		require.Equal(t, "PLAIN", got[0].mech)
		requireDelivered(t, got, []emailsend.Email{e})
		_, parts := bodyParts(t, parse(t, got[0].data))
		require.Equal(t, e.Text, strings.ReplaceAll(parts["text/plain"], "\r\n", "\n"), "dot-stuffing is undone by the server")
		require.Equal(t, e.HTML, parts["text/html"])
	})

	t.Run("DeliversOverImplicitTLS", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, serverOptions{tls: emailsend.TLSImplicit, mechs: []string{"PLAIN"}})
		es := batch(3, "tls")
		rs := newPool(t).Send(ctx, s.account(), es, nil)
		require.Equal(t, []emailsend.Outcome{emailsend.Sent, emailsend.Sent, emailsend.Sent}, outcomes(rs))
		got := s.got()
		requireDelivered(t, got, es)
		require.True(t, got[0].tls)
		require.Equal(t, testUser, got[0].user)
	})

	t.Run("AuthenticatesWithLOGINWhenPLAINIsNotOffered", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, serverOptions{tls: emailsend.TLSStartTLS, mechs: []string{"LOGIN"}})
		rs := newPool(t).Send(ctx, s.account(), batch(1, "login"), nil)
		require.NoError(t, rs[0].Err)
		require.Equal(t, "LOGIN", s.got()[0].mech)
		require.Equal(t, testUser, s.got()[0].user)
	})

	t.Run("AuthenticatesWithXOAUTH2WhenATokenSourceIsSet", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, serverOptions{tls: emailsend.TLSStartTLS, mechs: []string{"PLAIN", "XOAUTH2"}})
		acc := s.account()
		acc.Password = ""
		calls := 0
		acc.Token = func(context.Context) (string, error) { calls++; return testToken, nil }
		p := newPool(t)
		rs := p.Send(ctx, acc, batch(2, "oauth"), nil)
		require.Equal(t, []emailsend.Outcome{emailsend.Sent, emailsend.Sent}, outcomes(rs))
		rs = p.Send(ctx, acc, batch(1, "oauth-again"), nil)
		require.Equal(t, emailsend.Sent, rs[0].Outcome)
		require.Equal(t, "XOAUTH2", s.got()[0].mech)
		require.Equal(t, testUser, s.got()[0].user)
		require.Equal(t, 1, calls, "one token per new connection")
	})

	t.Run("SendsWithoutAuthToAPlainRelay", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, serverOptions{})
		acc := s.account()
		require.Equal(t, emailsend.TLSNone, acc.TLS)
		es := batch(2, "relay")
		rs := newPool(t).Send(ctx, acc, es, nil)
		require.Equal(t, []emailsend.Outcome{emailsend.Sent, emailsend.Sent}, outcomes(rs))
		got := s.got()
		requireDelivered(t, got, es)
		require.False(t, got[0].tls)
		require.Empty(t, got[0].user)
	})

	t.Run("BadCredentialsFailTheAccountNotTheRecipients", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, serverOptions{tls: emailsend.TLSStartTLS, mechs: []string{"PLAIN"}})
		acc := s.account()
		acc.Password = "wrong"
		rs := newPool(t).Send(ctx, acc, batch(3, "auth"), nil)
		for _, r := range rs {
			require.Equal(t, emailsend.Transient, r.Outcome)
			require.ErrorIs(t, r.Err, emailsend.ErrAuth)
			require.Equal(t, 535, r.Code)
			require.Equal(t, "5.7.8", r.Enhanced)
		}
		require.Empty(t, s.got())
	})

	t.Run("RefusesAServerWithoutSTARTTLS", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, serverOptions{mechs: []string{"PLAIN"}})
		acc := s.account()
		acc.TLS = emailsend.TLSStartTLS
		rs := newPool(t).Send(ctx, acc, batch(2, "nostarttls"), nil)
		for _, r := range rs {
			require.Equal(t, emailsend.Transient, r.Outcome)
			require.ErrorIs(t, r.Err, emailsend.ErrConnect)
			require.ErrorContains(t, r.Err, "STARTTLS")
		}
		require.Empty(t, s.got())
	})

	t.Run("ReusesOneConnectionAcrossBatches", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, serverOptions{tls: emailsend.TLSStartTLS, mechs: []string{"PLAIN"}})
		p := newPool(t)
		acc := s.account()
		var all []emailsend.Email
		for b := range 4 {
			es := batch(25, fmt.Sprintf("b%d-", b))
			rs := p.Send(ctx, acc, es, nil)
			for i, r := range rs {
				require.Equal(t, emailsend.Sent, r.Outcome, "batch %d email %d: %v", b, i, r.Err)
				require.Equal(t, fmt.Sprintf("Q%06d", len(all)+i+1), r.ProviderID)
			}
			all = append(all, es...)
		}
		requireDelivered(t, s.got(), all)
		require.Equal(t, 1, s.sessionCount(), "100 emails over one connection")
	})

	t.Run("ClassifiesRefusalsAndGoesOnOverTheSameConnection", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, serverOptions{
			rcpt: func(_ *smtp.Conn, to string) error {
				switch {
				case strings.HasPrefix(to, "softrcpt"):
					return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: "Mailbox busy, try later"}
				case strings.HasPrefix(to, "hardrcpt"):
					return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
				}
				return nil
			},
			data: func(_ *smtp.Conn, to string) error {
				switch {
				case strings.HasPrefix(to, "softdata"):
					return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 3, 1}, Message: "Insufficient system storage"}
				case strings.HasPrefix(to, "harddata"):
					return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Message rejected as spam"}
				}
				return nil
			},
		})
		es := []emailsend.Email{
			newEmail("ok1@example.com"), newEmail("softrcpt@example.com"), newEmail("hardrcpt@example.com"),
			newEmail("ok2@example.com"), newEmail("softdata@example.com"), newEmail("harddata@example.com"),
			newEmail("bad@example.com", func(e *emailsend.Email) { e.Subject = "x\r\nBcc: y@z" }),
			newEmail("ok3@example.com"),
		}
		rs := newPool(t).Send(ctx, s.account(), es, nil)
		require.Equal(t, []emailsend.Outcome{
			emailsend.Sent, emailsend.Transient, emailsend.Permanent,
			emailsend.Sent, emailsend.Transient, emailsend.Permanent,
			emailsend.Permanent, emailsend.Sent,
		}, outcomes(rs))
		for i, want := range []struct {
			code     int
			enhanced string
		}{{250, "2.0.0"}, {451, "4.2.0"}, {550, "5.1.1"}, {250, "2.0.0"}, {452, "4.3.1"}, {554, "5.7.1"}, {0, ""}, {250, "2.0.0"}} {
			require.Equal(t, want.code, rs[i].Code, i)
			require.Equal(t, want.enhanced, rs[i].Enhanced, i)
		}
		require.Equal(t, "No such user", rs[2].Message)
		require.Empty(t, rs[2].ProviderID)
		require.ErrorIs(t, rs[6].Err, emailsend.ErrInvalidEmail)

		// The server stored the DATA-refused messages before refusing them;
		// the RCPT-refused and invalid ones never reached DATA.
		var tos []string
		for _, g := range s.got() {
			tos = append(tos, g.to)
		}
		require.Equal(t, []string{"ok1@example.com", "ok2@example.com", "softdata@example.com", "harddata@example.com", "ok3@example.com"}, tos)
		require.Equal(t, 1, s.sessionCount(), "a refusal does not cost the connection")
	})

	t.Run("A421ClosesTheConnectionTheEmailIsTriedOnceMoreAndTheRestGoOverANewOne", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, serverOptions{rcpt: func(_ *smtp.Conn, to string) error {
			if strings.HasPrefix(to, "closing") {
				return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many messages, closing connection"}
			}
			return nil
		}})
		es := []emailsend.Email{newEmail("ok1@example.com"), newEmail("closing@example.com"), newEmail("ok2@example.com")}
		rs := newPool(t).Send(ctx, s.account(), es, nil)
		require.Equal(t, []emailsend.Outcome{emailsend.Sent, emailsend.Transient, emailsend.Sent}, outcomes(rs))
		require.Equal(t, 421, rs[1].Code, "refused again over the new connection")
		require.Equal(t, "4.7.0", rs[1].Enhanced)
		got := s.got()
		require.Len(t, got, 2)
		require.Equal(t, []int{1, 3}, []int{got[0].session, got[1].session},
			"closing@ was refused on the first connection and once more on a second; ok2 went over a third")
		require.Equal(t, 3, s.sessionCount())
	})

	t.Run("AConnectionCutAfterDataIsUncertainAndNeverResent", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, serverOptions{data: func(c *smtp.Conn, to string) error {
			if strings.HasPrefix(to, "cut") {
				_ = c.Conn().Close() // the message is stored, the reply never goes out
				return errors.New("connection closed")
			}
			return nil
		}})
		es := []emailsend.Email{newEmail("ok1@example.com"), newEmail("cut@example.com"), newEmail("ok2@example.com"), newEmail("ok3@example.com")}
		rs := newPool(t).Send(ctx, s.account(), es, nil)
		require.Equal(t, []emailsend.Outcome{emailsend.Sent, emailsend.Uncertain, emailsend.Sent, emailsend.Sent}, outcomes(rs))
		require.Error(t, rs[1].Err)
		require.Zero(t, rs[1].Code)

		got := s.got()
		requireDelivered(t, got, es) // the cut email arrived exactly once
		require.Equal(t, []int{1, 1, 2, 2}, []int{got[0].session, got[1].session, got[2].session, got[3].session},
			"the rest of the batch went over a new connection")
	})

	t.Run("AConnectionCutBeforeDataIsRetriedOnANewConnection", func(t *testing.T) {
		t.Parallel()
		var once sync.Once
		s := startServer(t, serverOptions{rcpt: func(c *smtp.Conn, to string) error {
			if strings.HasPrefix(to, "drop") {
				cut := false
				once.Do(func() { cut = true })
				if cut {
					_ = c.Conn().Close()
					return errors.New("connection closed")
				}
			}
			return nil
		}})
		es := []emailsend.Email{newEmail("ok1@example.com"), newEmail("drop@example.com"), newEmail("ok2@example.com")}
		rs := newPool(t).Send(ctx, s.account(), es, nil)
		require.Equal(t, []emailsend.Outcome{emailsend.Sent, emailsend.Sent, emailsend.Sent}, outcomes(rs))
		got := s.got()
		requireDelivered(t, got, es)
		require.Equal(t, []int{1, 2, 2}, []int{got[0].session, got[1].session, got[2].session})
	})

	t.Run("RedialsWhenTheServerClosedAnIdleConnection", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, serverOptions{tls: emailsend.TLSStartTLS, mechs: []string{"PLAIN"}})
		p := newPool(t)
		acc := s.account()
		first := batch(2, "first")
		require.Equal(t, []emailsend.Outcome{emailsend.Sent, emailsend.Sent}, outcomes(p.Send(ctx, acc, first, nil)))
		s.cutAll()
		time.Sleep(50 * time.Millisecond)

		second := batch(3, "second")
		rs := p.Send(ctx, acc, second, nil)
		for _, r := range rs {
			require.Equal(t, emailsend.Sent, r.Outcome, "%v", r.Err)
		}
		got := s.got()
		requireDelivered(t, got, append(first, second...))
		require.Equal(t, 2, s.sessionCount())
		for _, g := range got[2:] {
			require.Equal(t, 2, g.session, "the whole second batch went over the new connection")
		}
	})

	t.Run("IdleConnectionsAreClosedAfterIdleTimeout", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, serverOptions{})
		p := emailsend.NewPool(emailsend.PoolOptions{IdleTimeout: 200 * time.Millisecond})
		t.Cleanup(func() { _ = p.Close() })
		acc := s.account()
		require.Equal(t, emailsend.Sent, p.Send(ctx, acc, batch(1, "a"), nil)[0].Outcome)
		time.Sleep(500 * time.Millisecond)
		require.Equal(t, emailsend.Sent, p.Send(ctx, acc, batch(1, "b"), nil)[0].Outcome)
		require.Equal(t, 2, s.sessionCount())
	})

	t.Run("ADoneContextLeavesTheRestUnattempted", func(t *testing.T) {
		t.Parallel()
		cctx, cancel := context.WithCancel(ctx)
		s := startServer(t, serverOptions{data: func(_ *smtp.Conn, to string) error {
			if strings.HasPrefix(to, "last") {
				cancel()
			}
			return nil
		}})
		es := []emailsend.Email{newEmail("ok@example.com"), newEmail("last@example.com"), newEmail("never1@example.com"), newEmail("never2@example.com")}
		rs := newPool(t).Send(cctx, s.account(), es, nil)
		require.Equal(t, emailsend.Sent, rs[0].Outcome)
		require.Contains(t, []emailsend.Outcome{emailsend.Sent, emailsend.Uncertain}, rs[1].Outcome, "cancelled while waiting for the reply")
		require.Equal(t, []emailsend.Outcome{emailsend.Transient, emailsend.Transient}, outcomes(rs[2:]))
		require.ErrorIs(t, rs[2].Err, context.Canceled)
		require.Len(t, s.got(), 2)
	})

	t.Run("ACannotConnectIsTransientForTheWholeBatch", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().(*net.TCPAddr)
		require.NoError(t, l.Close())
		rs := newPool(t).Send(ctx, emailsend.Account{Host: "127.0.0.1", Port: addr.Port, TLS: emailsend.TLSNone}, batch(2, "x"), nil)
		for _, r := range rs {
			require.Equal(t, emailsend.Transient, r.Outcome)
			require.ErrorIs(t, r.Err, emailsend.ErrConnect)
		}
	})

	t.Run("UsesTheGivenDialer", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, serverOptions{tls: emailsend.TLSImplicit})
		var dialed []string
		var mu sync.Mutex
		p := emailsend.NewPool(emailsend.PoolOptions{Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			dialed = append(dialed, network+" "+addr)
			mu.Unlock()
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}})
		t.Cleanup(func() { _ = p.Close() })
		acc := s.account()
		require.Equal(t, emailsend.Sent, p.Send(ctx, acc, batch(1, "d"), nil)[0].Outcome)
		require.Equal(t, []string{fmt.Sprintf("tcp %s:%d", s.host, s.port)}, dialed)
		require.True(t, s.got()[0].tls, "implicit TLS is layered over the custom dialer's connection")
	})

	t.Run("DKIMSignedMailVerifiesAsReceived", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, serverOptions{tls: emailsend.TLSStartTLS, mechs: []string{"PLAIN"}})
		_, key, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		es := []emailsend.Email{
			newEmail("grace@example.com", func(e *emailsend.Email) { e.HTML = "<p>Hi</p>"; e.Text = "Hi\n.\n..\nend\n" }),
			newEmail("jose@example.com", func(e *emailsend.Email) {
				e.Subject = "Re: Grüße"
				e.InReplyTo = emailsend.NewMessageID("sender.test")
				e.References = []string{e.InReplyTo}
			}),
		}
		rs := newPool(t).Send(ctx, s.account(), es, &emailsend.DKIM{Domain: "sender.test", Selector: "lp1", Signer: key})
		require.Equal(t, []emailsend.Outcome{emailsend.Sent, emailsend.Sent}, outcomes(rs))
		for _, g := range s.got() {
			vs := verifyDKIM(t, g.data, "lp1._domainkey.sender.test", key.Public())
			require.Len(t, vs, 1)
			require.NoError(t, vs[0].Err)
		}
	})
}
