package emailsend_test

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/emailsend"
)

// scripted is a raw SMTP server that offers PIPELINING and answers a
// transaction's MAIL, RCPT and DATA only once it has read all three: a
// client that waited for each reply before the next command would hang.
type scripted struct {
	ln net.Listener
	// rcpt answers RCPT TO for a recipient; data answers DATA after it.
	rcpt, data func(to string) string
	// end, when set, answers the final "." (default 250 queued); a reply
	// starting with 421 closes the connection after it.
	end func(to string) string
	// envelope, when set, is called with the recipient of each MAIL,
	// RCPT and DATA group read, before it is answered; hold means never
	// answer it (the server reads on until the client closes).
	envelope func(to string) (hold bool)
	lines    chan string // every line the client sent, content included
	// grouped says, for each final "." read, whether the client's next
	// command was already on its way (it came within 300 ms, before the
	// reply to the "."): the end of data and the next envelope left
	// together.
	grouped chan bool
	dials   atomic.Int32
}

func startScripted(t *testing.T, rcpt, data func(to string) string) *scripted {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &scripted{ln: ln, rcpt: rcpt, data: data, lines: make(chan string, 1000), grouped: make(chan bool, 100)}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.dials.Add(1)
			go s.serve(c)
		}
	}()
	return s
}

func (s *scripted) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	r := textproto.NewReader(br)
	w := bufio.NewWriter(c)
	say := func(lines ...string) {
		for _, l := range lines {
			_, _ = w.WriteString(l + "\r\n")
		}
		_ = w.Flush()
	}
	read := func() (string, bool) {
		l, err := r.ReadLine()
		if err != nil {
			return "", false
		}
		s.lines <- l
		return l, true
	}
	say("220 scripted ESMTP")
	for {
		l, ok := read()
		if !ok {
			return
		}
		switch cmd := strings.ToUpper(l); {
		case strings.HasPrefix(cmd, "EHLO"):
			say("250-scripted", "250-PIPELINING", "250 8BITMIME")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			rcpt, ok1 := read()
			dataCmd, ok2 := read()
			if !ok1 || !ok2 || !strings.HasPrefix(rcpt, "RCPT TO:") || dataCmd != "DATA" {
				say("503 5.5.1 expected RCPT and DATA in the same group")
				return
			}
			to := strings.TrimPrefix(rcpt, "RCPT TO:")
			if s.envelope != nil && s.envelope(to) {
				for {
					if _, ok := read(); !ok {
						return
					}
				}
			}
			say("250 2.1.0 Ok", s.rcpt(to), s.data(to))
			if !strings.HasPrefix(s.data(to), "354") {
				continue
			}
			empty := true
			for {
				l, ok := read()
				if !ok {
					return
				}
				if l == "." {
					break
				}
				empty = false
			}
			if !empty {
				// Is the next command already here? Wait a little for it
				// before answering the ".".
				_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
				_, err := br.Peek(1)
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				s.grouped <- err == nil
			}
			switch {
			case empty || !strings.HasPrefix(s.rcpt(to), "250"):
				say("554 5.5.1 Error: no valid recipients")
			case s.end != nil && strings.HasPrefix(s.end(to), "421"):
				say(s.end(to))
				return
			case s.end != nil:
				say(s.end(to))
			default:
				say("250 2.0.0 Ok: queued as ABC123")
			}
		case cmd == "RSET", cmd == "NOOP":
			say("250 2.0.0 Ok")
		case cmd == "QUIT":
			say("221 2.0.0 Bye")
			return
		default:
			say("502 5.5.2 Error: command not recognized")
		}
	}
}

func (s *scripted) account() emailsend.Account {
	addr := s.ln.Addr().(*net.TCPAddr)
	return emailsend.Account{Host: "127.0.0.1", Port: addr.Port, TLS: emailsend.TLSNone}
}

// sent is every line the client has sent so far.
func (s *scripted) sent() []string {
	var out []string
	for {
		select {
		case l := <-s.lines:
			out = append(out, l)
		default:
			return out
		}
	}
}

func TestPipelining(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ok := func(string) string { return "250 2.1.5 Ok" }
	go354 := func(string) string { return "354 End data with <CR><LF>.<CR><LF>" }

	t.Run("SendsMailRcptAndDataInOneGroupWhenTheServerOffersIt", func(t *testing.T) {
		t.Parallel()
		s := startScripted(t, ok, go354)
		es := batch(3, "lead")
		rs := newPool(t).Send(ctx, s.account(), es, nil)
		require.Equal(t, []emailsend.Outcome{emailsend.Sent, emailsend.Sent, emailsend.Sent}, outcomes(rs))
		for _, r := range rs {
			require.Equal(t, 250, r.Code)
			require.Equal(t, "2.0.0", r.Enhanced)
			require.Equal(t, "ABC123", r.ProviderID)
		}
		var mails []string
		for _, l := range s.sent() {
			if strings.HasPrefix(l, "MAIL FROM:") {
				mails = append(mails, l)
			}
		}
		require.Len(t, mails, 3)
		require.Equal(t, "MAIL FROM:"+es[0].From.Address+" BODY=8BITMIME", mails[0])
	})

	t.Run("TheFinalDotAndTheNextEnvelopeLeaveTogether", func(t *testing.T) {
		t.Parallel()
		s := startScripted(t, ok, go354)
		rs := newPool(t).Send(ctx, s.account(), batch(3, "lead"), nil)
		require.Equal(t, []emailsend.Outcome{emailsend.Sent, emailsend.Sent, emailsend.Sent}, outcomes(rs))
		got := []bool{<-s.grouped, <-s.grouped, <-s.grouped}
		require.Equal(t, []bool{true, true, false}, got,
			"each email's end of data leaves with the next one's MAIL, RCPT and DATA; the last one's alone")
		require.EqualValues(t, 1, s.dials.Load())
	})

	t.Run("AServerClosingAtTheEndOfDataLeavesTheNextEmailForANewConnection", func(t *testing.T) {
		t.Parallel()
		s := startScripted(t, ok, go354)
		s.end = func(to string) string {
			if strings.HasPrefix(to, "closing") {
				return "421 4.3.2 Shutting down"
			}
			return "250 2.0.0 Ok: queued as ABC123"
		}
		es := []emailsend.Email{newEmail("closing@example.com"), newEmail("next@example.com")}
		rs := newPool(t).Send(ctx, s.account(), es, nil)
		require.Equal(t, []emailsend.Outcome{emailsend.Transient, emailsend.Sent}, outcomes(rs))
		require.Equal(t, 421, rs[0].Code)
		require.EqualValues(t, 2, s.dials.Load(), "the next email's envelope went to a closing server: it goes again over a new connection")
	})

	t.Run("ABatchCancelledWithTheNextEnvelopeOutDoesNotKeepTheConnection", func(t *testing.T) {
		t.Parallel()
		s := startScripted(t, ok, go354)
		bctx, cancel := context.WithCancel(ctx)
		defer cancel()
		// queued closes once the client has read the first email's 250
		// off the wire: its outcome is settled, nothing more of it is read.
		queued := make(chan struct{})
		var once sync.Once
		p := emailsend.NewPool(emailsend.PoolOptions{DialTimeout: 5 * time.Second, CommandTimeout: 5 * time.Second,
			Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				return watchedConn{Conn: c, seen: func(b []byte) {
					if bytes.Contains(b, []byte("queued as")) {
						once.Do(func() { close(queued) })
					}
				}}, err
			}})
		t.Cleanup(func() { require.NoError(t, p.Close()) })
		s.envelope = func(to string) bool {
			if !strings.HasPrefix(to, "second") {
				return false
			}
			// The batch ends while the second email's envelope, sent with
			// the first one's ".", waits for its replies (held back).
			select {
			case <-queued:
			case <-time.After(5 * time.Second):
			}
			cancel()
			return true
		}
		rs := p.Send(bctx, s.account(), []emailsend.Email{newEmail("first@example.com"), newEmail("second@example.com")}, nil)
		require.Equal(t, []emailsend.Outcome{emailsend.Sent, emailsend.Transient}, outcomes(rs))
		require.ErrorIs(t, rs[1].Err, context.Canceled)
		// The connection had a transaction open (MAIL, RCPT, DATA sent,
		// no content): it was closed, not kept. The next batch dials.
		rs = p.Send(ctx, s.account(), []emailsend.Email{newEmail("third@example.com")}, nil)
		require.Equal(t, []emailsend.Outcome{emailsend.Sent}, outcomes(rs))
		require.EqualValues(t, 2, s.dials.Load())
	})

	t.Run("ARefusedRecipientIsItsOwnOutcomeAndTheConnectionStaysInStep", func(t *testing.T) {
		t.Parallel()
		// This server breaks RFC 2920 and accepts DATA after refusing the
		// only recipient: the client ends that DATA with an empty message.
		s := startScripted(t, func(to string) string {
			switch {
			case strings.HasPrefix(to, "hard"):
				return "550 5.1.1 No such user"
			case strings.HasPrefix(to, "soft"):
				return "451 4.2.0 Mailbox busy"
			}
			return "250 2.1.5 Ok"
		}, go354)
		es := []emailsend.Email{newEmail("ok1@example.com"), newEmail("hard@example.com"), newEmail("soft@example.com"), newEmail("ok2@example.com")}
		rs := newPool(t).Send(ctx, s.account(), es, nil)
		require.Equal(t, []emailsend.Outcome{emailsend.Sent, emailsend.Permanent, emailsend.Transient, emailsend.Sent}, outcomes(rs))
		require.Equal(t, 550, rs[1].Code)
		require.Equal(t, "5.1.1", rs[1].Enhanced)
		require.Equal(t, "No such user", rs[1].Message)
		require.Equal(t, 451, rs[2].Code)
		require.Equal(t, "ABC123", rs[3].ProviderID, "the last reply read is the last email's")
		var empties int
		lines := s.sent()
		for i, l := range lines {
			if l == "DATA" && i+1 < len(lines) && lines[i+1] == "." {
				empties++
			}
		}
		require.Equal(t, 2, empties, "the refused recipients' DATA was ended with no content")
	})

	t.Run("ARefusedDataGoesOnOverTheSameConnection", func(t *testing.T) {
		t.Parallel()
		s := startScripted(t, ok, func(to string) string {
			if strings.HasPrefix(to, "nodata") {
				return "554 5.5.1 Error: no valid recipients"
			}
			return "354 go ahead"
		})
		es := []emailsend.Email{newEmail("nodata@example.com"), newEmail("ok@example.com")}
		rs := newPool(t).Send(ctx, s.account(), es, nil)
		require.Equal(t, []emailsend.Outcome{emailsend.Permanent, emailsend.Sent}, outcomes(rs))
		require.Equal(t, 554, rs[0].Code)
		require.Contains(t, s.sent(), "RSET")
	})
}

// watchedConn shows seen every byte read from the connection.
type watchedConn struct {
	net.Conn
	seen func([]byte)
}

func (c watchedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.seen(b[:n])
	return n, err
}
