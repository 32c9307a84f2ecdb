package imapsync_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/imapsync"
	"github.com/leadpilot/leadpilot/internal/testcert"
)

const (
	testUser     = "alice@example.com"
	testPassword = "correct horse battery"
	testToken    = "ya29.valid-token"
)

// testCert is a self-signed certificate for 127.0.0.1 the test servers
// present and testRoots trusts.
var testCert, testRoots = testcert.New()

// server is a real IMAP server in-process: go-imap v2 imapserver over an
// imapmemserver user with an INBOX. Its sessions also take AUTHENTICATE
// XOAUTH2 with testToken. transcript, when recording, holds the client's
// command lines (tagged "T<n> ..."), not the message data.
type server struct {
	addr *net.TCPAddr
	user *imapmemserver.User

	mu         sync.Mutex
	recording  bool
	transcript []string
}

type serverOpts struct {
	security string // "none" (default), "tls" or "starttls"
	record   bool   // keep a transcript (from record() on)
	// noESearch leaves ESEARCH out of the capabilities: UID SEARCH then
	// answers one number per message instead of ranges.
	noESearch bool
	// secureOnly refuses LOGIN and AUTHENTICATE without TLS
	// (LOGINDISABLED), as servers do by default.
	secureOnly bool
}

func startServer(t testing.TB, o serverOpts) *server {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(testUser, testPassword)
	require.NoError(t, u.Create("INBOX", nil))
	mem.AddUser(u)
	s := &server{user: u}
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{testCert}}
	opts := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &xoauth2Session{Session: mem.NewSession()}, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapESearch: {}, imap.CapUIDPlus: {}},
		InsecureAuth: !o.secureOnly,
		Logger:       log.New(io.Discard, "", 0),
	}
	if o.noESearch {
		delete(opts.Caps, imap.CapESearch)
	}
	if o.record {
		opts.DebugWriter = s
	}
	var l net.Listener
	var err error
	switch o.security {
	case "tls":
		l, err = tls.Listen("tcp", "127.0.0.1:0", tlsCfg)
	case "starttls":
		opts.TLSConfig = tlsCfg
		l, err = net.Listen("tcp", "127.0.0.1:0")
	default:
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	require.NoError(t, err)
	srv := imapserver.New(opts)
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Log("imap server:", err)
		}
	}()
	t.Cleanup(func() { _ = srv.Close() })
	s.addr = l.Addr().(*net.TCPAddr)
	return s
}

var (
	commandLine = regexp.MustCompile(`(?m)^T[0-9]+ [^\r\n]*`)
	statusLine  = regexp.MustCompile(`^T[0-9]+ (OK|NO|BAD)\b`)
)

// Write records the client's command lines from the server's debug
// stream (both directions, message data included: only tagged lines are
// kept).
func (s *server) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.recording {
		for _, line := range commandLine.FindAllString(string(b), -1) {
			if !statusLine.MatchString(line) { // the server's tagged answers
				s.transcript = append(s.transcript, line)
			}
		}
	}
	return len(b), nil
}

// record starts keeping the transcript (the server needs serverOpts.record).
func (s *server) record() {
	s.mu.Lock()
	s.recording = true
	s.mu.Unlock()
}

func (s *server) commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.transcript...)
}

// config is a Config for this server as the test user.
func (s *server) config(security string) imapsync.Config {
	return imapsync.Config{
		Host: "127.0.0.1", Port: s.addr.Port, Security: security,
		Username: testUser, Password: testPassword,
		TLSConfig: &tls.Config{RootCAs: testRoots},
		Timeout:   5 * time.Second,
	}
}

// message is a small RFC 5322 message whose body names n.
func message(n int, pad int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Lead %d <lead%d@example.net>\r\nTo: %s\r\nSubject: Re: hello %d\r\nMessage-ID: <m%d@example.net>\r\n\r\nreply number %d\r\n", n, n, testUser, n, n, n)
	for b.Len() < pad {
		b.WriteString("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n")
	}
	return b.Bytes()
}

// add appends messages numbered from..to (inclusive) to the INBOX
// server-side, with INTERNALDATE at, and returns their UIDs.
func (s *server) add(t testing.TB, from, to int, at time.Time, pad int) []uint32 {
	t.Helper()
	var uids []uint32
	for n := from; n <= to; n++ {
		raw := message(n, pad)
		d, err := s.user.Append("INBOX", literal(raw), &imap.AppendOptions{Time: at})
		require.NoError(t, err)
		uids = append(uids, uint32(d.UID))
	}
	return uids
}

// recreateInbox deletes and creates the INBOX: a new UIDVALIDITY, UIDs
// from 1 again.
func (s *server) recreateInbox(t testing.TB) {
	t.Helper()
	require.NoError(t, s.user.Delete("INBOX"))
	require.NoError(t, s.user.Create("INBOX", nil))
}

// flags returns the flags of every message in the INBOX by UID, read
// with a FETCH FLAGS of our own (imapclient, EXAMINE).
func (s *server) flags(t testing.TB) map[uint32][]imap.Flag {
	t.Helper()
	c, err := imapclient.DialInsecure(s.addr.String(), nil)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Login(testUser, testPassword).Wait())
	_, err = c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	require.NoError(t, err)
	bufs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	require.NoError(t, err)
	out := map[uint32][]imap.Flag{}
	for _, b := range bufs {
		out[uint32(b.UID)] = b.Flags
	}
	require.NoError(t, c.Logout().Wait())
	return out
}

// storeSeen marks uid \Seen (as a user reading it in their mail client).
func (s *server) storeSeen(t testing.TB, uid uint32) {
	t.Helper()
	c, err := imapclient.DialInsecure(s.addr.String(), nil)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Login(testUser, testPassword).Wait())
	_, err = c.Select("INBOX", nil).Wait()
	require.NoError(t, err)
	require.NoError(t, c.Store(imap.UIDSetNum(imap.UID(uid)), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close())
	require.NoError(t, c.Logout().Wait())
}

type literalReader struct {
	*bytes.Reader
	n int64
}

func (l literalReader) Size() int64 { return l.n }

func literal(b []byte) imap.LiteralReader { return literalReader{bytes.NewReader(b), int64(len(b))} }

// xoauth2Session adds AUTHENTICATE XOAUTH2 to an imapmemserver session:
// the bearer testToken for testUser logs in; anything else gets the JSON
// challenge and then NO [AUTHENTICATIONFAILED], as Gmail answers.
type xoauth2Session struct {
	imapserver.Session
}

func (s *xoauth2Session) AuthenticateMechanisms() []string { return []string{"XOAUTH2"} }

func (s *xoauth2Session) Authenticate(mech string) (sasl.Server, error) {
	if mech != "XOAUTH2" {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "SASL mechanism not supported"}
	}
	return &xoauth2Server{s: s}, nil
}

type xoauth2Server struct {
	s      *xoauth2Session
	failed bool
}

func (x *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if x.failed {
		return nil, true, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed, Text: "Invalid credentials (Failure)"}
	}
	if string(resp) != "user="+testUser+"\x01auth=Bearer "+testToken+"\x01\x01" {
		x.failed = true
		return []byte(`{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}`), false, nil
	}
	return nil, true, x.s.Session.Login(testUser, testPassword)
}

// silentServer accepts TCP connections and never says a word.
func silentServer(t testing.TB) *net.TCPAddr {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().(*net.TCPAddr)
}

// collector is a sink that keeps every batch (without the raw bytes
// beyond a check) and can be told to fail.
type collector struct {
	batches []imapsync.Batch
	failAt  int // 1-based batch number that fails; 0 never
	calls   int
	delay   time.Duration
}

var errSink = errors.New("sink: database unavailable")

func (c *collector) sink(ctx context.Context, b imapsync.Batch) error {
	c.calls++
	if c.delay > 0 {
		time.Sleep(c.delay)
	}
	if c.calls == c.failAt {
		return errSink
	}
	c.batches = append(c.batches, b)
	return nil
}

func (c *collector) uids() []uint32 {
	var out []uint32
	for _, b := range c.batches {
		for _, m := range b.Messages {
			out = append(out, m.UID)
		}
	}
	return out
}

func seq(from, to uint32) []uint32 {
	var out []uint32
	for u := from; u <= to; u++ {
		out = append(out, u)
	}
	return out
}

func hasSeen(flags []imap.Flag) bool {
	for _, f := range flags {
		if strings.EqualFold(string(f), string(imap.FlagSeen)) {
			return true
		}
	}
	return false
}

// freezingProxy forwards TCP to target until freeze is called; from then
// on it forwards nothing in either direction and keeps the connections
// open: a server that stops answering in the middle of a session.
type freezingProxy struct {
	addr   *net.TCPAddr
	mu     sync.Mutex
	frozen bool
}

func startFreezingProxy(t testing.TB, target *net.TCPAddr) *freezingProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &freezingProxy{addr: l.Addr().(*net.TCPAddr)}
	var mu sync.Mutex
	var conns []net.Conn
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if err != nil {
				return
			}
			p.mu.Lock()
			frozen := p.frozen
			p.mu.Unlock()
			if frozen {
				continue // swallowed
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target.String())
			if err != nil {
				_ = c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, up)
			mu.Unlock()
			go pipe(up, c)
			go pipe(c, up)
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return p
}

func (p *freezingProxy) freeze() {
	p.mu.Lock()
	p.frozen = true
	p.mu.Unlock()
}
