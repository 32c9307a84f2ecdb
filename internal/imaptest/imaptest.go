// Package imaptest runs a real IMAP server (go-imap v2 imapserver over
// imapmemserver) on a loopback port for tests: one user with an INBOX, no
// TLS, LOGIN allowed. A test appends messages server-side (as mail
// arriving), recreates the INBOX (a new UIDVALIDITY), and reads the
// flags the messages carry. It is test support, imported only by tests.
package imaptest

import (
	"bytes"
	"errors"
	"io"
	"log"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// Server is a running IMAP server.
type Server struct {
	Host           string
	Port           int
	User, Password string
	user           *imapmemserver.User
}

// Start runs a server until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	mem := imapmemserver.New()
	s := &Server{User: "inbox@imap.test", Password: "imap-secret"}
	s.user = imapmemserver.NewUser(s.User, s.Password)
	if err := s.user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(s.user)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapESearch: {}, imap.CapUIDPlus: {}},
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Log("imaptest:", err)
		}
	}()
	t.Cleanup(func() { _ = srv.Close() })
	addr := l.Addr().(*net.TCPAddr)
	s.Host, s.Port = addr.IP.String(), addr.Port
	return s
}

// Append delivers raw to the INBOX with INTERNALDATE at and returns its
// UID.
func (s *Server) Append(t testing.TB, raw []byte, at time.Time) uint32 {
	t.Helper()
	d, err := s.user.Append("INBOX", literal{bytes.NewReader(raw), int64(len(raw))}, &imap.AppendOptions{Time: at})
	if err != nil {
		t.Fatal(err)
	}
	return uint32(d.UID)
}

// RecreateInbox deletes and creates the INBOX: a new UIDVALIDITY, UIDs
// from 1 again, nothing in it.
func (s *Server) RecreateInbox(t testing.TB) {
	t.Helper()
	if err := s.user.Delete("INBOX"); err != nil {
		t.Fatal(err)
	}
	if err := s.user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
}

// Seen returns, by UID, whether each message of the INBOX has \Seen,
// read with a read-only FETCH FLAGS.
func (s *Server) Seen(t testing.TB) map[uint32]bool {
	t.Helper()
	c, err := imapclient.DialInsecure(net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(s.User, s.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	bufs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint32]bool{}
	for _, b := range bufs {
		seen := false
		for _, f := range b.Flags {
			seen = seen || f == imap.FlagSeen
		}
		out[uint32(b.UID)] = seen
	}
	_ = c.Logout().Wait()
	return out
}

type literal struct {
	*bytes.Reader
	n int64
}

func (l literal) Size() int64 { return l.n }
