// Package smtptest runs a real SMTP server (emersion/go-smtp) on a
// loopback port for tests: it records every message it accepts, and lets
// a test decide the reply to RCPT TO and to the end of DATA (a 451, a
// 550, a cut connection). It is test support, imported only by tests.
package smtptest

import (
	"fmt"
	"io"
	"net"
	"net/mail"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one message as the server accepted it.
type Message struct {
	From, To string
	Data     []byte
}

// Header parses the message's header.
func (m Message) Header() mail.Header {
	msg, err := mail.ReadMessage(bytesReader(m.Data))
	if err != nil {
		return mail.Header{}
	}
	return msg.Header
}

// Options shape a server; the zero value accepts everything.
type Options struct {
	// Rcpt, when set, decides the reply to RCPT TO (nil: accepted).
	Rcpt func(to string) error
	// Data, when set, decides the reply to the end of DATA (nil:
	// accepted); it runs after the message is recorded.
	Data func(c *smtp.Conn, to string) error
	// Discard counts messages without keeping them (a benchmark sink).
	Discard bool
}

// Server is a running test server.
type Server struct {
	Addr  string
	Host  string
	Port  int
	opts  Options
	mu    sync.Mutex
	msgs  []Message
	count int
	conns int
}

// Start starts a server that stops when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{opts: opts}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		s.mu.Lock()
		s.conns++
		s.mu.Unlock()
		return &session{s: s, conn: c}, nil
	}))
	srv.Domain = "sink.test"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 100
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	a := l.Addr().(*net.TCPAddr)
	s.Addr, s.Host, s.Port = a.String(), "127.0.0.1", a.Port
	return s
}

// Messages returns the messages accepted so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Count is how many messages the server accepted (also with Discard).
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Connections is how many connections the server has seen.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

type session struct {
	s        *Server
	conn     *smtp.Conn
	from, to string
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error { ss.from = from; return nil }

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.s.opts.Rcpt != nil {
		if err := ss.s.opts.Rcpt(to); err != nil {
			return err
		}
	}
	ss.to = to
	return nil
}

func (ss *session) Data(r io.Reader) error {
	var b []byte
	var err error
	if ss.s.opts.Discard {
		_, err = io.Copy(io.Discard, r)
	} else {
		b, err = io.ReadAll(r)
	}
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.count++
	n := ss.s.count
	if !ss.s.opts.Discard {
		ss.s.msgs = append(ss.s.msgs, Message{From: ss.from, To: ss.to, Data: b})
	}
	ss.s.mu.Unlock()
	if ss.s.opts.Data != nil {
		if err := ss.s.opts.Data(ss.conn, ss.to); err != nil {
			return err
		}
	}
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: fmt.Sprintf("Ok: queued as Q%06d", n)}
}

func (ss *session) Reset()        { ss.from, ss.to = "", "" }
func (ss *session) Logout() error { return nil }
