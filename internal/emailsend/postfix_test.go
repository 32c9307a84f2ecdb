//go:build postfix

package emailsend_test

// TestPostfix runs Pool.Send against a real Postfix, the one
// .ci/postfix-compat (make postfix-compat) installs from Debian's packages
// and configures as users run submission: STARTTLS required, Cyrus SASL
// auth, relay for authenticated clients only. It is behind the postfix
// build tag, so `go test ./...` does not compile it. Settings come from
// the environment (the script sets them all):
//
//	LEADPILOT_POSTFIX           host:port of the PLAIN+LOGIN submission listener
//	LEADPILOT_POSTFIX_LOGIN     host:port of a listener offering LOGIN only
//	LEADPILOT_POSTFIX_SMTPS     host:port of an implicit-TLS listener (smtpd_tls_wrappermode)
//	LEADPILOT_POSTFIX_USER      SASL user
//	LEADPILOT_POSTFIX_PASSWORD  its password
//	LEADPILOT_POSTFIX_CA        PEM file the server certificate chains to
//	LEADPILOT_POSTFIX_SINK      directory where the relay target (smtp-sink -d) writes each delivered message
//	LEADPILOT_POSTFIX_LOG       Postfix's maillog_file (delivery status, SASL method)
//	LEADPILOT_POSTFIX_REJECT    a recipient Postfix refuses with 550 at RCPT

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/emailsend"
)

type postfixEnv struct {
	addr, loginAddr string
	smtpsAddr       string
	user, password  string
	roots           *x509.CertPool
	sink, log       string
	reject          string
}

func postfixFromEnv(t *testing.T) postfixEnv {
	t.Helper()
	names := []string{"LEADPILOT_POSTFIX", "LEADPILOT_POSTFIX_LOGIN", "LEADPILOT_POSTFIX_SMTPS", "LEADPILOT_POSTFIX_USER", "LEADPILOT_POSTFIX_PASSWORD",
		"LEADPILOT_POSTFIX_CA", "LEADPILOT_POSTFIX_SINK", "LEADPILOT_POSTFIX_LOG", "LEADPILOT_POSTFIX_REJECT"}
	var missing []string
	for _, n := range names {
		if os.Getenv(n) == "" {
			missing = append(missing, n)
		}
	}
	// Built only with -tags postfix, which .ci/postfix-compat passes with
	// the server it started: without one this test fails, it never skips.
	if len(missing) > 0 {
		t.Fatalf("no Postfix to test against (%s unset): run make postfix-compat, which starts one and sets them", strings.Join(missing, ", "))
	}
	pem, err := os.ReadFile(os.Getenv("LEADPILOT_POSTFIX_CA"))
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(pem), "LEADPILOT_POSTFIX_CA holds no certificate")
	return postfixEnv{
		addr: os.Getenv("LEADPILOT_POSTFIX"), loginAddr: os.Getenv("LEADPILOT_POSTFIX_LOGIN"), smtpsAddr: os.Getenv("LEADPILOT_POSTFIX_SMTPS"),
		user: os.Getenv("LEADPILOT_POSTFIX_USER"), password: os.Getenv("LEADPILOT_POSTFIX_PASSWORD"),
		roots: roots, sink: os.Getenv("LEADPILOT_POSTFIX_SINK"), log: os.Getenv("LEADPILOT_POSTFIX_LOG"),
		reject: os.Getenv("LEADPILOT_POSTFIX_REJECT"),
	}
}

// account is a STARTTLS account on addr authenticating with password.
func (env postfixEnv) account(t *testing.T, addr, password string) emailsend.Account {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	n, err := strconv.Atoi(port)
	require.NoError(t, err)
	return emailsend.Account{
		ID: uuid.New(), Host: host, Port: n, TLS: emailsend.TLSStartTLS,
		Username: env.user, Password: password, HelloName: "sender.test",
		TLSConfig: &tls.Config{RootCAs: env.roots, MinVersion: tls.VersionTLS12},
	}
}

// countingPool is a Pool whose dials are counted, to see connection reuse.
func countingPool(t *testing.T) (*emailsend.Pool, *atomic.Int32) {
	t.Helper()
	var dials atomic.Int32
	d := &net.Dialer{}
	p := emailsend.NewPool(emailsend.PoolOptions{
		DialTimeout: 10 * time.Second, CommandTimeout: 30 * time.Second,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return d.DialContext(ctx, network, addr)
		},
	})
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	return p, &dials
}

var queueIDRe = regexp.MustCompile(`^[0-9A-Za-z]+$`)

// requireQueued checks a Sent result carrying Postfix's queue id.
func requireQueued(t *testing.T, r emailsend.Result) {
	t.Helper()
	require.NoError(t, r.Err)
	require.Equal(t, emailsend.Sent, r.Outcome)
	require.Equal(t, 250, r.Code)
	require.Equal(t, "2.0.0", r.Enhanced)
	require.Regexp(t, queueIDRe, r.ProviderID)
	require.Equal(t, "Ok: queued as "+r.ProviderID, r.Message)
}

// waitLog waits until Postfix's log has a line matching re.
func (env postfixEnv) waitLog(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, err := os.ReadFile(env.log)
		require.NoError(t, err)
		if m := re.Find(b); m != nil {
			return string(m)
		}
		if time.Now().After(deadline) {
			t.Fatalf("Postfix log %s has no line matching %s after 60s; it ends:\n%s", env.log, re, tail(b, 3000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// delivered waits until Postfix reports queue id relayed (status=sent) to
// the sink for rcpt, and returns the message the sink received, in CRLF
// form, with the sink's own leading fields (X-Client-Addr, X-Mail-Args…,
// its Received) kept: they are header fields and change nothing we check.
func (env postfixEnv) delivered(t *testing.T, queueID, rcpt, messageID string) []byte {
	t.Helper()
	env.waitLog(t, regexp.MustCompile(`(?m)\b`+regexp.QuoteMeta(queueID)+`: to=<`+regexp.QuoteMeta(rcpt)+`>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+,.* status=sent .*$`))
	needle := []byte("Message-ID: <" + messageID + ">")
	deadline := time.Now().Add(10 * time.Second)
	for {
		files, err := filepath.Glob(filepath.Join(env.sink, "*"))
		require.NoError(t, err)
		for _, f := range files {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			if bytes.Contains(b, needle) {
				// smtp-sink stores lines with LF and ends each message with
				// one empty line of its own (checked against smtp-sink
				// alone): undo both.
				b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
				b, ok := bytes.CutSuffix(b, []byte("\n\n"))
				require.True(t, ok, "smtp-sink's dump %s ends with an empty line", f)
				return bytes.ReplaceAll(append(b, '\n'), []byte("\n"), []byte("\r\n"))
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Postfix relayed %s (%s) but no file under %s holds %s", queueID, rcpt, env.sink, needle)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rawField returns the unfolded-as-sent text of the first field called
// name in the header of raw (folding kept), or "".
func rawField(raw []byte, name string) string {
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	lines := strings.Split(string(head), "\r\n")
	for i := 0; i < len(lines); i++ {
		k, _, ok := strings.Cut(lines[i], ":")
		if !ok || !strings.EqualFold(k, name) {
			continue
		}
		f := lines[i]
		for i+1 < len(lines) && (strings.HasPrefix(lines[i+1], " ") || strings.HasPrefix(lines[i+1], "\t")) {
			i++
			f += "\r\n" + lines[i]
		}
		return f
	}
	return ""
}

// requireIntact checks that the delivered copy of e carries, byte for byte,
// the header fields Build wrote, and the same body.
func requireIntact(t *testing.T, e emailsend.Email, dk *emailsend.DKIM, got []byte) {
	t.Helper()
	want, err := emailsend.Build(e, dk)
	require.NoError(t, err)
	for _, f := range []string{"Message-ID", "In-Reply-To", "References", "List-Unsubscribe", "List-Unsubscribe-Post",
		"From", "To", "Subject", "MIME-Version", "X-LeadPilot-Message-Id"} {
		require.Equal(t, rawField(want, f), rawField(got, f), "field %s as Postfix relayed it", f)
	}
	m := parse(t, got)
	require.Equal(t, "<"+e.MessageID+">", m.Header.Get("Message-Id"))
	if e.InReplyTo != "" {
		require.Equal(t, "<"+e.InReplyTo+">", m.Header.Get("In-Reply-To"))
		refs := make([]string, len(e.References))
		for i, r := range e.References {
			refs[i] = "<" + r + ">"
		}
		require.Equal(t, strings.Join(refs, " "), m.Header.Get("References"))
	}
	require.Equal(t, "<"+e.ListUnsubscribeURL+">, <"+e.ListUnsubscribeMailto+">", m.Header.Get("List-Unsubscribe"))
	require.Equal(t, "List-Unsubscribe=One-Click", m.Header.Get("List-Unsubscribe-Post"))
	require.Equal(t, e.Subject, decodeHeader(t, m.Header.Get("Subject")))
	_, parts := bodyParts(t, m)
	require.Equal(t, strings.ReplaceAll(e.Text, "\n", "\r\n"), parts["text/plain"])
	if e.HTML != "" {
		require.Equal(t, e.HTML, parts["text/html"])
	}
	// Postfix's own trace field says the submission was encrypted and
	// authenticated.
	var postfix string
	for _, v := range m.Header["Received"] {
		if strings.Contains(v, "(Postfix)") {
			postfix = v
		}
	}
	require.Contains(t, postfix, "(using TLSv1.", "Postfix's Received field")
	require.Contains(t, postfix, "(Authenticated sender: ", "Postfix's Received field")
}

func TestPostfix(t *testing.T) {
	env := postfixFromEnv(t)
	ctx := context.Background()
	_, dkKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	dk := &emailsend.DKIM{Domain: "sender.test", Selector: "lp1", Signer: dkKey}

	t.Run("DeliversABatchOverOneSTARTTLSConnectionWithAuthPlain", func(t *testing.T) {
		p, dials := countingPool(t)
		acc := env.account(t, env.addr, env.password)
		first := newEmail("grace@example.com")
		followUp := newEmail("grace@example.com", func(e *emailsend.Email) {
			e.Subject = "Re: Quick question about your roadmap"
			e.Text = "Hi Grace,\n\nJust bumping this.\n.\nA line with only a dot above, and a long line that quoted-printable must soft-break because it goes well past seventy-six characters.\n"
			e.InReplyTo = first.MessageID
			e.References = []string{first.MessageID}
		})
		third := newEmail("linus@example.org", func(e *emailsend.Email) {
			e.To = mail.Address{Name: "Łukasz Gröning", Address: "linus@example.org"}
			e.Subject = "Café meeting — 10 minutes?"
			e.HTML = "<p>Hi Łukasz,</p><p>Coffee?</p>"
			e.Text = "Hi Łukasz,\n\nCoffee?\n"
		})
		emails := []emailsend.Email{first, followUp, third}
		rs := p.Send(ctx, acc, emails, dk)
		require.Len(t, rs, 3)
		for _, r := range rs {
			requireQueued(t, r)
		}
		require.EqualValues(t, 1, dials.Load(), "one connection for the batch")

		// The next batch reuses the kept-open connection (NOOP check on
		// Postfix, then a new transaction).
		fourth := newEmail("ada@example.net")
		rs2 := p.Send(ctx, acc, []emailsend.Email{fourth}, dk)
		requireQueued(t, rs2[0])
		require.EqualValues(t, 1, dials.Load(), "the second batch reuses the connection")
		emails, rs = append(emails, fourth), append(rs, rs2[0])

		for i, e := range emails {
			got := env.delivered(t, rs[i].ProviderID, e.To.Address, e.MessageID)
			requireIntact(t, e, dk, got)
			vs := verifyDKIM(t, got, "lp1._domainkey.sender.test", dkKey.Public())
			require.Len(t, vs, 1)
			require.NoError(t, vs[0].Err, "the DKIM signature survives Postfix")
		}
		// Postfix logs the SASL method per queue id.
		env.waitLog(t, regexp.MustCompile(`\b`+regexp.QuoteMeta(rs[0].ProviderID)+`: client=\S+, sasl_method=PLAIN, sasl_username=`+regexp.QuoteMeta(env.user)+`\b`))
	})

	t.Run("AuthenticatesWithLoginWhenOnlyLoginIsOffered", func(t *testing.T) {
		p, dials := countingPool(t)
		acc := env.account(t, env.loginAddr, env.password)
		emails := []emailsend.Email{newEmail("grace@example.com"), newEmail("alan@example.com")}
		rs := p.Send(ctx, acc, emails, nil)
		for _, r := range rs {
			requireQueued(t, r)
		}
		require.EqualValues(t, 1, dials.Load())
		env.waitLog(t, regexp.MustCompile(`\b`+regexp.QuoteMeta(rs[0].ProviderID)+`: client=\S+, sasl_method=LOGIN, sasl_username=`+regexp.QuoteMeta(env.user)+`\b`))
		for i, e := range emails {
			requireIntact(t, e, nil, env.delivered(t, rs[i].ProviderID, e.To.Address, e.MessageID))
		}
	})

	t.Run("DeliversOverImplicitTLS", func(t *testing.T) {
		p, dials := countingPool(t)
		acc := env.account(t, env.smtpsAddr, env.password)
		acc.TLS = emailsend.TLSImplicit
		emails := []emailsend.Email{newEmail("grace@example.com"), newEmail("alan@example.com")}
		rs := p.Send(ctx, acc, emails, dk)
		for _, r := range rs {
			requireQueued(t, r)
		}
		require.EqualValues(t, 1, dials.Load())
		env.waitLog(t, regexp.MustCompile(`postfix/submissions/smtpd\[\d+\]: `+regexp.QuoteMeta(rs[0].ProviderID)+`: client=\S+, sasl_method=PLAIN, sasl_username=`+regexp.QuoteMeta(env.user)+`\b`))
		for i, e := range emails {
			got := env.delivered(t, rs[i].ProviderID, e.To.Address, e.MessageID)
			requireIntact(t, e, dk, got)
			vs := verifyDKIM(t, got, "lp1._domainkey.sender.test", dkKey.Public())
			require.Len(t, vs, 1)
			require.NoError(t, vs[0].Err)
		}
	})

	t.Run("AWrongPasswordIsTransientWithErrAuth", func(t *testing.T) {
		for _, addr := range []string{env.addr, env.loginAddr} {
			p, _ := countingPool(t)
			rs := p.Send(ctx, env.account(t, addr, env.password+"-wrong"), []emailsend.Email{newEmail("grace@example.com"), newEmail("alan@example.com")}, nil)
			require.Len(t, rs, 2)
			for _, r := range rs {
				require.Equal(t, emailsend.Transient, r.Outcome, addr)
				require.ErrorIs(t, r.Err, emailsend.ErrAuth, addr)
				require.Equal(t, 535, r.Code, addr)
				require.Equal(t, "5.7.8", r.Enhanced, addr)
				require.Empty(t, r.ProviderID)
			}
		}
		// The refused sessions end with QUIT: no "*" after the 535 (go-mail's
		// Client.Auth sent one, which Postfix logs as a non-SMTP command)
		// and no "lost connection after AUTH".
		for _, name := range []string{"submission", "submission-login"} {
			l := env.waitLog(t, regexp.MustCompile(`postfix/`+name+`/smtpd\[\d+\]: disconnect from \S+ ehlo=2 starttls=1 auth=0/1 .*`))
			require.Regexp(t, ` auth=0/1 quit=1 commands=4/5$`, l)
		}
		log, err := os.ReadFile(env.log)
		require.NoError(t, err)
		require.NotContains(t, string(log), "non-SMTP command")
		require.NotContains(t, string(log), "lost connection after AUTH")
	})

	t.Run("ARecipientPostfixRefusesIsPermanentAndTheBatchGoesOn", func(t *testing.T) {
		p, dials := countingPool(t)
		acc := env.account(t, env.addr, env.password)
		emails := []emailsend.Email{newEmail("grace@example.com"), newEmail(env.reject), newEmail("alan@example.com")}
		rs := p.Send(ctx, acc, emails, nil)
		require.Len(t, rs, 3)
		requireQueued(t, rs[0])
		requireQueued(t, rs[2])
		r := rs[1]
		require.Equal(t, emailsend.Permanent, r.Outcome)
		require.Equal(t, 550, r.Code)
		require.Equal(t, "5.1.1", r.Enhanced)
		require.Contains(t, r.Message, env.reject)
		require.ErrorContains(t, r.Err, "RCPT TO")
		require.Empty(t, r.ProviderID)
		require.EqualValues(t, 1, dials.Load(), "RSET after the refusal keeps the connection")
		for _, i := range []int{0, 2} {
			requireIntact(t, emails[i], nil, env.delivered(t, rs[i].ProviderID, emails[i].To.Address, emails[i].MessageID))
		}
	})

	// Every batch above pipelined each email's end of data with the next
	// one's MAIL, RCPT and DATA: Postfix took it as RFC 2920 allows, with
	// no complaint in its log.
	log, err := os.ReadFile(env.log)
	require.NoError(t, err)
	require.NotContains(t, string(log), "improper command pipelining")
}
