package emailsend

import (
	"bufio"
	"bytes"
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
// goes on over the same connection. When the connection breaks, or the
// server closes it (421), before an email's final ".", that email is
// tried once more over a new connection; when it breaks after the final
// ".", the email is Uncertain and is not resent, and the following emails
// go over a new connection. With PIPELINING each email's content and
// final "." leave in one write with the next email's envelope (see
// sendOne). When ctx ends, the emails not yet attempted are Transient
// with ctx's error, and a connection with a transaction open is closed,
// never kept.
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
	// ahead: the envelope of pending[n] already went out on cn, after the
	// previous email's content, its replies not read yet.
	ahead := false
	for n, i := range pending {
		if err := ctx.Err(); err != nil {
			if ahead {
				// A transaction is open on cn: it cannot be kept.
				_ = cn.raw.Close()
				cn, ahead = nil, false
			}
			res[i] = Result{Outcome: Transient, Err: fmt.Errorf("emailsend: not attempted: %w", err)}
			continue
		}
		var next *Email
		if n+1 < len(pending) {
			next = &emails[pending[n+1]]
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
			r, broken, retry, nextAhead := p.sendOne(ctx, cn, emails[i], msgs[i], ahead, next)
			ahead = nextAhead
			if broken {
				_ = cn.raw.Close()
				cn, ahead = nil, false
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
//
// With PIPELINING, ahead says e's envelope already went out (after the
// previous email's content), and next, when not nil, is the email that
// follows on this connection: its envelope leaves in the same write as
// e's content and final "." (RFC 2920 allows message content as the
// first command of a group, DATA as its last), so each email costs one
// round trip, not two. nextAhead says next's envelope went out; its
// replies are read by next's own sendOne.
func (p *Pool) sendOne(ctx context.Context, cn *conn, e Email, msg []byte, ahead bool, next *Email) (r Result, broken, retry, nextAhead bool) {
	stop := cn.watch(ctx)
	defer stop()
	defer func() { cn.lastUsed = time.Now() }()
	if cn.pipelining {
		return p.sendPipelined(ctx, cn, e, msg, ahead, next)
	}
	r, broken, retry = p.sendInTurn(ctx, cn, e, msg)
	return r, broken, retry, false
}

// refused is the Result of a refused MAIL, RCPT or DATA (err a
// *textproto.Error) or of a connection that broke before any content
// went (any other err): the transaction ends (RSET) and the connection
// goes on, unless the server is closing it (421) or it broke; then the
// email may go again over a new connection (nothing of it was accepted).
func (p *Pool) refused(ctx context.Context, cn *conn, e Email, step string, err error) (r Result, broken, retry bool) {
	var tp *textproto.Error
	if !errors.As(err, &tp) {
		// No reply: the connection broke (or ctx ended) before the final
		// "."; nothing can have been accepted.
		return Result{Outcome: Transient, Err: fmt.Errorf("emailsend: %s %s: %w", step, e.MessageID, ctxErr(ctx, err))}, true, true
	}
	r = replyResult(tp)
	r.Err = fmt.Errorf("emailsend: %s %s: %w", step, e.MessageID, err)
	if tp.Code == 421 {
		// The server is closing the connection (often: so many messages
		// per connection). Nothing of this email was accepted: it goes
		// once more over a new connection.
		return r, true, true
	}
	cn.deadline(ctx, p.opts.CommandTimeout)
	if err := cn.c.Reset(); err != nil {
		return r, true, false
	}
	return r, false, false
}

// endOfData is the Result of the reply to the final "." (err from reading
// it, reply its text).
func endOfData(ctx context.Context, e Email, reply string, err error) (r Result, broken bool) {
	if err != nil {
		var tp *textproto.Error
		if errors.As(err, &tp) {
			r := replyResult(tp)
			r.Err = fmt.Errorf("emailsend: end of DATA %s: %w", e.MessageID, err)
			return r, tp.Code == 421
		}
		return Result{Outcome: Uncertain, Err: fmt.Errorf("emailsend: no reply to the end of DATA %s, the server may have accepted it: %w", e.MessageID, ctxErr(ctx, err))}, true
	}
	r = Result{Outcome: Sent, Code: 250}
	r.Enhanced, r.Message = splitEnhanced(reply)
	r.ProviderID = providerID(r.Message)
	return r, false
}

// sendPipelined is sendOne over a connection that offers PIPELINING.
func (p *Pool) sendPipelined(ctx context.Context, cn *conn, e Email, msg []byte, ahead bool, next *Email) (r Result, broken, retry, nextAhead bool) {
	to := p.opts.CommandTimeout
	tw := cn.c.Text.W
	if !ahead {
		cn.deadline(ctx, to)
		if err := cn.writeEnvelope(e); err != nil {
			return Result{Outcome: Permanent, Err: fmt.Errorf("%w: %w", ErrInvalidEmail, err)}, false, false, false
		}
		if err := tw.Flush(); err != nil {
			r, broken, retry := p.refused(ctx, cn, e, "MAIL FROM", err)
			return r, broken, retry, false
		}
	}
	if step, err := cn.readEnvelope(ctx, to); err != nil {
		r, broken, retry := p.refused(ctx, cn, e, step, err)
		return r, broken, retry, false
	}
	if err := ctx.Err(); err != nil {
		// Ended with the transaction open and no content written: the
		// connection goes (the server discards the transaction), the
		// email was not sent.
		return Result{Outcome: Transient, Err: fmt.Errorf("emailsend: not attempted: %w", err)}, true, false, false
	}
	cn.deadline(ctx, to)
	if err := dotStuff(tw, msg); err != nil {
		// The final "." was not written: the server must discard the message.
		return Result{Outcome: Transient, Err: fmt.Errorf("emailsend: DATA %s: %w", e.MessageID, ctxErr(ctx, err))}, true, true, false
	}
	if next != nil {
		// Addresses with CR or LF were refused by Build: nothing can fail
		// here but the write, which the flush reports.
		nextAhead = cn.writeEnvelope(*next) == nil
	}
	if err := tw.Flush(); err != nil {
		// The content and the final "." were handed over, maybe in part:
		// the server may have them.
		return Result{Outcome: Uncertain, Err: fmt.Errorf("emailsend: sending DATA %s, the server may have accepted it: %w", e.MessageID, ctxErr(ctx, err))}, true, false, false
	}
	cn.deadline(ctx, to)
	_, reply, err := cn.c.Text.ReadResponse(250)
	r, broken = endOfData(ctx, e, reply, err)
	return r, broken, false, nextAhead && !broken
}

// sendInTurn is sendOne over a connection without PIPELINING: each
// command waits for its reply.
func (p *Pool) sendInTurn(ctx context.Context, cn *conn, e Email, msg []byte) (r Result, broken, retry bool) {
	to := p.opts.CommandTimeout
	cn.deadline(ctx, to)
	if err := cn.c.Mail(e.From.Address); err != nil {
		return p.refused(ctx, cn, e, "MAIL FROM", err)
	}
	cn.deadline(ctx, to)
	if err := cn.c.Rcpt(e.To.Address); err != nil {
		return p.refused(ctx, cn, e, "RCPT TO", err)
	}
	cn.deadline(ctx, to)
	w, err := cn.c.Data()
	if err != nil {
		return p.refused(ctx, cn, e, "DATA", err)
	}
	cn.deadline(ctx, to)
	if _, err := w.Write(msg); err != nil {
		// The final "." was not written: the server must discard the message.
		return Result{Outcome: Transient, Err: fmt.Errorf("emailsend: DATA %s: %w", e.MessageID, ctxErr(ctx, err))}, true, true
	}
	cn.deadline(ctx, to)
	err = w.Close() // writes the final "." and reads the reply
	var reply string
	if dc, ok := w.(*smtp.DataCloser); ok && err == nil {
		reply = dc.ServerResponse()
	}
	r, broken = endOfData(ctx, e, reply, err)
	return r, broken, false
}

// writeEnvelope buffers MAIL FROM, RCPT TO and DATA for e, to leave in
// one write (PIPELINING, RFC 2920): the commands go-mail's Mail, Rcpt and
// Data send (BODY=8BITMIME and SMTPUTF8 as the server offers them). It
// refuses an address with CR or LF (nothing is buffered then).
func (cn *conn) writeEnvelope(e Email) error {
	for _, line := range []string{e.From.Address, e.To.Address} {
		if strings.ContainsAny(line, "\r\n") {
			return errors.New("smtp: A line must not contain CR or LF")
		}
	}
	tw := cn.c.Text.W
	_, _ = tw.WriteString("MAIL FROM:" + e.From.Address)
	if ok, _ := cn.c.Extension("8BITMIME"); ok {
		_, _ = tw.WriteString(" BODY=8BITMIME")
	}
	if ok, _ := cn.c.Extension("SMTPUTF8"); ok {
		_, _ = tw.WriteString(" SMTPUTF8")
	}
	_, _ = tw.WriteString("\r\nRCPT TO:" + e.To.Address + "\r\nDATA\r\n")
	return nil
}

// readEnvelope reads the replies to a pipelined MAIL FROM, RCPT TO and
// DATA, in order. Each is checked: the first refusal is the one returned
// (with the step it answered), as a *textproto.Error, after the other
// replies of the group were read; a DATA accepted after a refusal (which
// RFC 2920 forbids a server) is ended at once with an empty message, so
// the connection stays in step. An error that is not a *textproto.Error
// means no reply: the connection broke before any message content was
// written.
func (cn *conn) readEnvelope(ctx context.Context, to time.Duration) (string, error) {
	tw := cn.c.Text.W
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
			return s.step, err // no reply: broken before any content
		case tp.Code == 421:
			return s.step, err // closing: nothing more will come
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
					return firstStep, fmt.Errorf("%w (and the connection broke: %w)", first, err)
				}
			}
		}
	}
	return firstStep, first
}

// dotStuff buffers msg as DATA content (RFC 5321 4.5.2) and the final
// ".": every line ends in CRLF (a bare LF becomes one), a line that
// starts with "." gets another in front. It writes what textproto's
// DotWriter does, a line at a time rather than a byte, and does not
// flush: the final "." may share its write with the next envelope. An
// error means the content could not all be handed over (w flushed on its
// own when full and the write failed): the final "." was not written.
func dotStuff(w *bufio.Writer, msg []byte) error {
	for len(msg) > 0 {
		line, rest, _ := bytes.Cut(msg, []byte{'\n'})
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) > 0 && line[0] == '.' {
			if err := w.WriteByte('.'); err != nil {
				return err
			}
		}
		if _, err := w.Write(line); err != nil {
			return err
		}
		if _, err := w.WriteString("\r\n"); err != nil {
			return err
		}
		msg = rest
	}
	_, _ = w.WriteString(".\r\n") // a failure from here on shows in the flush: the "." may have gone
	return nil
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
