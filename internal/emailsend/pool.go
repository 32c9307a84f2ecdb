package emailsend

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/wneessen/go-mail/smtp"
)

// TLSMode is how a connection to the account's server is secured.
type TLSMode string

const (
	// TLSStartTLS connects in plain text (usually port 587) and requires
	// STARTTLS before authenticating; a server without it is refused.
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit speaks TLS from the first byte (usually port 465).
	TLSImplicit TLSMode = "tls"
	// TLSNone never encrypts, and lets PLAIN/LOGIN send the password in the
	// clear. Only for local or test relays.
	TLSNone TLSMode = "none"
)

// Account is one sending mailbox's SMTP settings.
type Account struct {
	// ID keys the pool's kept-open connections.
	ID   uuid.UUID
	Host string
	Port int
	TLS  TLSMode
	// Username is the login for PLAIN/LOGIN and the user for XOAUTH2.
	Username string
	// Password authenticates with PLAIN when the server offers it, else
	// LOGIN. Empty (and no Token) means no authentication.
	Password string
	// Token, when set, is called once per new connection for an OAuth2
	// access token and the connection authenticates with XOAUTH2 (Google,
	// Microsoft); Password is then ignored.
	Token func(ctx context.Context) (string, error)
	// HelloName is the EHLO name, ideally the sending domain's host name.
	// Default "localhost".
	HelloName string
	// TLSConfig overrides the TLS settings (tests pass a RootCAs pool).
	// Default: the system roots, ServerName = Host. A config without a
	// ServerName gets Host.
	TLSConfig *tls.Config
}

// fingerprint changes when the settings a kept-open connection was made
// with change, so a stale connection is not reused for a new setup.
func (a Account) fingerprint() string {
	return strings.Join([]string{a.Host, strconv.Itoa(a.Port), string(a.TLS), a.Username, a.HelloName, strconv.FormatBool(a.Token != nil)}, "\x00")
}

func (a Account) tlsConfig() *tls.Config {
	var c *tls.Config
	if a.TLSConfig != nil {
		c = a.TLSConfig.Clone()
	} else {
		c = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if c.ServerName == "" {
		c.ServerName = a.Host
	}
	return c
}

// PoolOptions configure NewPool.
type PoolOptions struct {
	// DialTimeout bounds connecting, the greeting, EHLO, STARTTLS and
	// authentication of a new connection. Default 15s.
	DialTimeout time.Duration
	// CommandTimeout bounds each SMTP command, including the wait for the
	// reply to the final "." of DATA (a timeout there is Uncertain).
	// Default 60s.
	CommandTimeout time.Duration
	// IdleTimeout closes kept-open connections unused for this long. Keep it
	// below the servers' own idle limit (often 60–300s). Default 50s.
	IdleTimeout time.Duration
	// MaxIdlePerAccount is how many connections per account stay open
	// between batches. Default 2.
	MaxIdlePerAccount int
	// Dialer opens TCP connections (the engine passes egress.NewDialer's).
	// Default a net.Dialer.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Pool keeps SMTP connections open per account between batches. It is
// safe for concurrent use; concurrent batches for one account use separate
// connections.
type Pool struct {
	opts PoolOptions

	mu     sync.Mutex
	idle   map[uuid.UUID][]*conn
	closed bool

	stop chan struct{}
	done chan struct{}
}

// NewPool returns a Pool; it starts one goroutine closing idle
// connections, stopped by Close.
func NewPool(opts PoolOptions) *Pool {
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 15 * time.Second
	}
	if opts.CommandTimeout <= 0 {
		opts.CommandTimeout = 60 * time.Second
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 50 * time.Second
	}
	if opts.MaxIdlePerAccount <= 0 {
		opts.MaxIdlePerAccount = 2
	}
	if opts.Dialer == nil {
		d := &net.Dialer{KeepAlive: 30 * time.Second}
		opts.Dialer = d.DialContext
	}
	p := &Pool{opts: opts, idle: map[uuid.UUID][]*conn{}, stop: make(chan struct{}), done: make(chan struct{})}
	go p.janitor()
	return p
}

// Close closes every idle connection (with QUIT) and stops the janitor.
// Batches still running finish; their connections are closed when they
// end, as are those of any Send after Close. Close always returns nil.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	var all []*conn
	for id, cs := range p.idle {
		all = append(all, cs...)
		delete(p.idle, id)
	}
	p.mu.Unlock()
	close(p.stop)
	<-p.done
	for _, c := range all {
		p.quit(c)
	}
	return nil
}

func (p *Pool) janitor() {
	defer close(p.done)
	t := time.NewTicker(max(p.opts.IdleTimeout/4, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			var stale []*conn
			p.mu.Lock()
			for id, cs := range p.idle {
				kept := cs[:0]
				for _, c := range cs {
					if now.Sub(c.lastUsed) >= p.opts.IdleTimeout {
						stale = append(stale, c)
					} else {
						kept = append(kept, c)
					}
				}
				if len(kept) == 0 {
					delete(p.idle, id)
				} else {
					p.idle[id] = kept
				}
			}
			p.mu.Unlock()
			for _, c := range stale {
				p.quit(c)
			}
		}
	}
}

// conn is one authenticated SMTP session.
type conn struct {
	c        *smtp.Client
	raw      net.Conn // deadlines set here reach the TLS layer above it
	fp       string
	lastUsed time.Time
	// pipelining is whether the server offers PIPELINING (RFC 2920).
	pipelining bool

	mu        sync.Mutex
	cancelled bool // the batch's context ended: every deadline is in the past
}

// deadline bounds the next command by d and by ctx's deadline.
func (c *conn) deadline(ctx context.Context, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancelled {
		_ = c.raw.SetDeadline(time.Unix(1, 0))
		return
	}
	t := time.Now().Add(d)
	if dl, ok := ctx.Deadline(); ok && dl.Before(t) {
		t = dl
	}
	_ = c.raw.SetDeadline(t)
}

// watch interrupts whatever the connection is waiting for when ctx ends.
func (c *conn) watch(ctx context.Context) (stop func()) {
	c.mu.Lock()
	c.cancelled = false
	c.mu.Unlock()
	s := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.cancelled = true
		_ = c.raw.SetDeadline(time.Unix(1, 0))
		c.mu.Unlock()
	})
	return func() { s() }
}

// Send delivers emails for acc in order over one kept-open connection and
// returns one Result per email, in the same order. It never returns early
// without a Result for every email.
//
// A refusal (4xx/5xx) ends that email's transaction (RSET) and the batch
// goes on over the same connection. When the connection breaks before an
// email's final ".", that email is tried once more over a new connection;
// when it breaks after the final ".", the email is Uncertain and is not
// resent, and the following emails go over a new connection. When ctx ends,
// the emails not yet attempted are Transient with ctx's error.
//
// An email Build refuses is Permanent (Err wraps ErrInvalidEmail) and the
// others still go. When no session can be set up, the email at hand and all
// after it are Transient with an Err wrapping ErrConnect or ErrAuth.
//
// The whole message being handed to the connection is what counts as "the
// final . written": a failure while flushing it, or while waiting for the
// reply, is Uncertain even if the bytes may not all have left this host.
func (p *Pool) Send(ctx context.Context, acc Account, emails []Email, dk *DKIM) []Result {
	res := make([]Result, len(emails))
	msgs := make([][]byte, len(emails))
	pending := make([]int, 0, len(emails))
	for i, e := range emails {
		b, err := Build(e, dk)
		if err != nil {
			res[i] = Result{Outcome: Permanent, Err: err}
			continue
		}
		msgs[i] = b
		pending = append(pending, i)
	}
	var cn *conn
	defer func() {
		if cn != nil {
			p.put(acc.ID, cn)
		}
	}()
	for n, i := range pending {
		if err := ctx.Err(); err != nil {
			res[i] = Result{Outcome: Transient, Err: fmt.Errorf("emailsend: not attempted: %w", err)}
			continue
		}
		for attempt := 0; ; attempt++ {
			if cn == nil {
				var err error
				if cn, err = p.get(ctx, acc); err != nil {
					r := failedSetup(err)
					for _, j := range pending[n:] {
						res[j] = r
					}
					return res
				}
			}
			r, broken, retry := p.sendOne(ctx, cn, emails[i], msgs[i])
			if broken {
				_ = cn.raw.Close()
				cn = nil
			}
			if retry && attempt == 0 && ctx.Err() == nil {
				continue
			}
			res[i] = r
			break
		}
	}
	return res
}

// failedSetup is the Result for emails a connection could not be set up for.
func failedSetup(err error) Result {
	r := Result{Outcome: Transient, Err: err}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		r.Code = tp.Code
		r.Enhanced, r.Message = splitEnhanced(tp.Msg)
	}
	return r
}

// sendOne runs one mail transaction. broken means the connection cannot be
// used again; retry means nothing reached the server past the point of
// acceptance, so the email may go again over a fresh connection.
func (p *Pool) sendOne(ctx context.Context, cn *conn, e Email, msg []byte) (r Result, broken, retry bool) {
	stop := cn.watch(ctx)
	defer stop()
	defer func() { cn.lastUsed = time.Now() }()
	to := p.opts.CommandTimeout

	refused := func(step string, err error) (Result, bool, bool) {
		var tp *textproto.Error
		if !errors.As(err, &tp) {
			// No reply: the connection broke (or ctx ended) before the final
			// "."; nothing can have been accepted.
			return Result{Outcome: Transient, Err: fmt.Errorf("emailsend: %s %s: %w", step, e.MessageID, ctxErr(ctx, err))}, true, true
		}
		r := replyResult(tp)
		r.Err = fmt.Errorf("emailsend: %s %s: %w", step, e.MessageID, err)
		if tp.Code == 421 { // the server is closing the connection
			return r, true, false
		}
		cn.deadline(ctx, to)
		if err := cn.c.Reset(); err != nil {
			return r, true, false
		}
		return r, false, false
	}

	var w io.WriteCloser
	if cn.pipelining {
		var step string
		var err error
		if w, step, err = cn.envelope(ctx, to, e); err != nil {
			return refused(step, err)
		}
	} else {
		cn.deadline(ctx, to)
		if err := cn.c.Mail(e.From.Address); err != nil {
			return refused("MAIL FROM", err)
		}
		cn.deadline(ctx, to)
		if err := cn.c.Rcpt(e.To.Address); err != nil {
			return refused("RCPT TO", err)
		}
		cn.deadline(ctx, to)
		var err error
		if w, err = cn.c.Data(); err != nil {
			return refused("DATA", err)
		}
	}
	cn.deadline(ctx, to)
	if _, err := w.Write(msg); err != nil {
		// The final "." was not written: the server must discard the message.
		return Result{Outcome: Transient, Err: fmt.Errorf("emailsend: DATA %s: %w", e.MessageID, ctxErr(ctx, err))}, true, true
	}
	cn.deadline(ctx, to)
	if err := w.Close(); err != nil { // writes the final "." and reads the reply
		var tp *textproto.Error
		if errors.As(err, &tp) {
			r := replyResult(tp)
			r.Err = fmt.Errorf("emailsend: end of DATA %s: %w", e.MessageID, err)
			return r, tp.Code == 421, false
		}
		return Result{Outcome: Uncertain, Err: fmt.Errorf("emailsend: no reply to the end of DATA %s, the server may have accepted it: %w", e.MessageID, ctxErr(ctx, err))}, true, false
	}
	r = Result{Outcome: Sent, Code: 250}
	switch dc := w.(type) {
	case *smtp.DataCloser:
		r.Enhanced, r.Message = splitEnhanced(dc.ServerResponse())
	case *dataWriter:
		r.Enhanced, r.Message = splitEnhanced(dc.reply)
	}
	r.ProviderID = providerID(r.Message)
	return r, false, false
}

// envelope starts a mail transaction with PIPELINING (RFC 2920): MAIL
// FROM, RCPT TO and DATA leave in one write, and the three replies are
// read in order, so a message costs two round trips instead of four. The
// commands are those go-mail's Mail, Rcpt and Data send (BODY=8BITMIME and
// SMTPUTF8 as the server offers them). Each reply is checked: the first
// refusal is the one returned (with the step it answered), as a
// *textproto.Error, after the other replies of the group were read; a
// DATA accepted after a refusal (which RFC 2920 forbids a server) is
// ended at once with an empty message, so the connection stays in step.
// An error that is not a *textproto.Error means no reply: the connection
// broke before any message content was written.
func (cn *conn) envelope(ctx context.Context, to time.Duration, e Email) (io.WriteCloser, string, error) {
	for _, line := range []string{e.From.Address, e.To.Address} {
		if strings.ContainsAny(line, "\r\n") {
			return nil, "MAIL FROM", errors.New("smtp: A line must not contain CR or LF")
		}
	}
	mail := "MAIL FROM:" + e.From.Address
	if ok, _ := cn.c.Extension("8BITMIME"); ok {
		mail += " BODY=8BITMIME"
	}
	if ok, _ := cn.c.Extension("SMTPUTF8"); ok {
		mail += " SMTPUTF8"
	}
	cn.deadline(ctx, to)
	tw := cn.c.Text.W
	_, _ = tw.WriteString(mail + "\r\n")
	_, _ = tw.WriteString("RCPT TO:" + e.To.Address + "\r\n")
	_, _ = tw.WriteString("DATA\r\n")
	if err := tw.Flush(); err != nil {
		return nil, "MAIL FROM", err
	}
	var first error
	var firstStep string
	for _, s := range []struct {
		step string
		code int
	}{{"MAIL FROM", 250}, {"RCPT TO", 25}, {"DATA", 354}} {
		cn.deadline(ctx, to)
		code, _, err := cn.c.Text.ReadResponse(s.code)
		var tp *textproto.Error
		switch {
		case err == nil:
		case !errors.As(err, &tp):
			return nil, s.step, err // no reply: broken before any content
		case tp.Code == 421:
			return nil, s.step, err // closing: nothing more will come
		case first == nil:
			first, firstStep = err, s.step
		}
		if s.step == "DATA" && code == 354 && first != nil {
			// Accepted DATA with no valid transaction: end it empty.
			cn.deadline(ctx, to)
			_, _ = tw.WriteString(".\r\n")
			_ = tw.Flush() // a failure shows in the read below
			if _, _, err := cn.c.Text.ReadResponse(0); err != nil {
				var tp *textproto.Error
				if !errors.As(err, &tp) {
					return nil, firstStep, fmt.Errorf("%w (and the connection broke: %w)", first, err)
				}
			}
		}
	}
	if first != nil {
		return nil, firstStep, first
	}
	return &dataWriter{text: cn.c.Text, WriteCloser: cn.c.Text.DotWriter()}, "", nil
}

// dataWriter is the message content of a pipelined transaction: Close
// writes the final "." and reads the reply, as go-mail's DataCloser does.
type dataWriter struct {
	io.WriteCloser
	text  *textproto.Conn
	reply string
}

func (d *dataWriter) Close() error {
	if err := d.WriteCloser.Close(); err != nil {
		return err
	}
	_, msg, err := d.text.ReadResponse(250)
	d.reply = msg
	return err
}

// ctxErr prefers the context's error over the I/O error it caused.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}

// get returns a live connection for acc: a kept-open one that answers NOOP,
// or a new one.
func (p *Pool) get(ctx context.Context, acc Account) (*conn, error) {
	fp := acc.fingerprint()
	for {
		p.mu.Lock()
		cs := p.idle[acc.ID]
		if len(cs) == 0 {
			p.mu.Unlock()
			break
		}
		c := cs[len(cs)-1]
		p.idle[acc.ID] = cs[:len(cs)-1]
		p.mu.Unlock()
		if c.fp != fp || time.Since(c.lastUsed) >= p.opts.IdleTimeout {
			p.quit(c)
			continue
		}
		c.deadline(ctx, min(p.opts.CommandTimeout, 10*time.Second))
		if err := c.c.Noop(); err != nil {
			_ = c.raw.Close() // the server closed it while idle
			continue
		}
		return c, nil
	}
	return p.dial(ctx, acc)
}

// put keeps c for the next batch of account id, or closes it.
func (p *Pool) put(id uuid.UUID, c *conn) {
	p.mu.Lock()
	if !p.closed && len(p.idle[id]) < p.opts.MaxIdlePerAccount {
		c.lastUsed = time.Now()
		p.idle[id] = append(p.idle[id], c)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.quit(c)
}

// quit ends a session politely, without waiting long for the server.
func (p *Pool) quit(c *conn) {
	_ = c.raw.SetDeadline(time.Now().Add(min(p.opts.CommandTimeout, 2*time.Second)))
	_ = c.c.Quit()
	_ = c.raw.Close()
}

// dial opens, secures and authenticates a new session for acc.
func (p *Pool) dial(ctx context.Context, acc Account) (*conn, error) {
	var token string
	if acc.Token != nil {
		var err error
		if token, err = acc.Token(ctx); err != nil {
			return nil, fmt.Errorf("%w: %s: access token: %w", ErrAuth, acc.Host, err)
		}
	}
	dctx, cancel := context.WithTimeout(ctx, p.opts.DialTimeout)
	defer cancel()
	addr := net.JoinHostPort(acc.Host, strconv.Itoa(acc.Port))
	raw, err := p.opts.Dialer(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w: dial %s: %w", ErrConnect, addr, err)
	}
	dl, _ := dctx.Deadline()
	_ = raw.SetDeadline(dl)
	stop := context.AfterFunc(dctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, err := p.session(dctx, acc, raw, token)
	if err != nil {
		_ = raw.Close()
		return nil, err
	}
	pipelining, _ := c.Extension("PIPELINING")
	return &conn{c: c, raw: raw, fp: acc.fingerprint(), lastUsed: time.Now(), pipelining: pipelining}, nil
}

func (p *Pool) session(ctx context.Context, acc Account, raw net.Conn, token string) (*smtp.Client, error) {
	addr := net.JoinHostPort(acc.Host, strconv.Itoa(acc.Port))
	fail := func(step string, err error) error {
		return fmt.Errorf("%w: %s: %s: %w", ErrConnect, addr, step, ctxErr(ctx, err))
	}
	var nc net.Conn = raw
	switch acc.TLS {
	case TLSImplicit:
		tc := tls.Client(raw, acc.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fail("TLS handshake", err)
		}
		nc = tc
	case TLSStartTLS, TLSNone:
	default:
		return nil, fmt.Errorf("%w: %s: TLS mode %q: want starttls, tls or none", ErrConnect, addr, acc.TLS)
	}
	c, err := smtp.NewClient(nc, acc.Host)
	if err != nil {
		return nil, fail("greeting", err)
	}
	helo := acc.HelloName
	if helo == "" {
		helo = "localhost"
	}
	if err := c.Hello(helo); err != nil {
		return nil, fail("EHLO", err)
	}
	if acc.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return nil, fmt.Errorf("%w: %s: the server does not offer STARTTLS", ErrConnect, addr)
		}
		if err := c.StartTLS(acc.tlsConfig()); err != nil {
			return nil, fail("STARTTLS", err)
		}
	}
	var auth smtp.Auth
	allowPlain := acc.TLS == TLSNone
	switch {
	case acc.Token != nil:
		auth = smtp.XOAuth2Auth(acc.Username, token)
	case acc.Password != "":
		_, mechs := c.Extension("AUTH")
		offered := strings.Fields(strings.ToUpper(mechs))
		switch {
		case slices.Contains(offered, "PLAIN"):
			auth = smtp.PlainAuth("", acc.Username, acc.Password, acc.Host, allowPlain)
		case slices.Contains(offered, "LOGIN"):
			auth = smtp.LoginAuth(acc.Username, acc.Password, acc.Host, allowPlain)
		default:
			return nil, fmt.Errorf("%w: %s: the server offers neither PLAIN nor LOGIN (AUTH %q)", ErrAuth, addr, mechs)
		}
	}
	if auth != nil {
		if err := authenticate(c, auth, acc.Host); err != nil {
			if isIO(err) {
				return nil, fail("AUTH", err)
			}
			_ = c.Quit() // the session is intact: leave it politely, not as "lost connection after AUTH"
			return nil, fmt.Errorf("%w: %s as %s: %w", ErrAuth, addr, acc.Username, err)
		}
	}
	return c, nil
}

// authenticate runs the SASL exchange of a on c (after EHLO). It stands in
// for go-mail's Client.Auth, which answers a final refusal (535 bad
// credentials, 454) with a "*" line before quitting. RFC 4954 allows "*"
// only as the answer to a 334 challenge; after a final reply it is a
// command, and Postfix logs it as "warning: non-SMTP command from …: *" —
// what password-guessing bots look like to log watchers such as fail2ban
// (found by .ci/postfix-compat). Here a refusal ends the exchange with
// nothing more sent, and "*" only cancels at a challenge the mechanism
// cannot answer. host is the name the mechanism checks (PLAIN and LOGIN
// refuse to send a password to another host).
func authenticate(c *smtp.Client, a smtp.Auth, host string) error {
	_, mechs := c.Extension("AUTH")
	_, isTLS := c.TLSConnectionState()
	mech, resp, err := a.Start(&smtp.ServerInfo{Name: host, TLS: isTLS, Auth: strings.Fields(mechs)})
	if err != nil {
		return err
	}
	enc := base64.StdEncoding
	line := strings.TrimSpace("AUTH " + mech + " " + enc.EncodeToString(resp))
	for {
		code, msg, err := command(c, line)
		if err != nil {
			return err
		}
		switch code {
		case 235:
			return nil
		case 334:
		default:
			return &textproto.Error{Code: code, Msg: msg}
		}
		challenge, err := enc.DecodeString(msg)
		if err == nil {
			resp, err = a.Next(challenge, true)
		}
		if err != nil {
			_, _, _ = command(c, "*") // cancels the exchange; the server answers 501
			return err
		}
		line = enc.EncodeToString(resp)
	}
}

// command sends one line on c and reads the whole reply, whatever its code.
func command(c *smtp.Client, line string) (int, string, error) {
	id, err := c.Text.Cmd("%s", line)
	if err != nil {
		return 0, "", err
	}
	c.Text.StartResponse(id)
	defer c.Text.EndResponse(id)
	return c.Text.ReadResponse(0)
}

// isIO reports a transport failure rather than a server's answer.
func isIO(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}
