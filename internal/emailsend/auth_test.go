package emailsend_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/emailsend"
)

// scriptedAuthServer accepts one connection, offers AUTH with mechs,
// answers the AUTH line and each line of the exchange after it with the
// next of replies, and returns on lines every line the client sent, once
// it hangs up.
func scriptedAuthServer(t *testing.T, mechs string, replies ...string) (emailsend.Account, <-chan []string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	lines := make(chan []string, 1)
	go func() {
		var got []string
		defer func() { lines <- got }()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		say := func(s string) { _, _ = c.Write([]byte(s + "\r\n")) }
		say("220 scripted ESMTP")
		authing := false
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			l = strings.TrimRight(l, "\r\n")
			got = append(got, l)
			switch {
			case strings.HasPrefix(l, "EHLO"):
				say("250-scripted\r\n250 AUTH " + mechs)
			case strings.HasPrefix(l, "QUIT"):
				say("221 bye")
				return
			case strings.HasPrefix(l, "AUTH") || authing:
				authing = true
				if len(replies) == 0 {
					say("500 5.5.2 unexpected")
					continue
				}
				say(replies[0])
				authing = strings.HasPrefix(replies[0], "334")
				replies = replies[1:]
			default:
				say("500 5.5.2 unexpected")
			}
		}
	}()
	addr := ln.Addr().(*net.TCPAddr)
	return emailsend.Account{
		ID: uuid.New(), Host: "127.0.0.1", Port: addr.Port, TLS: emailsend.TLSNone,
		Username: "ada", Password: "wrong",
	}, lines
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestAuthExchange pins what goes on the wire during AUTH. go-mail's
// Client.Auth sent "*" after the server's final 535, which Postfix logs as
// "warning: non-SMTP command" (seen with .ci/postfix-compat); "*" belongs
// only after a 334 challenge. A refused session ends with QUIT.
func TestAuthExchange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	send := func(t *testing.T, acc emailsend.Account) emailsend.Result {
		t.Helper()
		rs := newPool(t).Send(ctx, acc, []emailsend.Email{newEmail("grace@example.com")}, nil)
		require.Len(t, rs, 1)
		require.Equal(t, emailsend.Transient, rs[0].Outcome)
		require.ErrorIs(t, rs[0].Err, emailsend.ErrAuth)
		return rs[0]
	}

	t.Run("APlainRefusalIsNotFollowedByACancelLine", func(t *testing.T) {
		t.Parallel()
		acc, lines := scriptedAuthServer(t, "PLAIN LOGIN", "535 5.7.8 Error: authentication failed: authentication failure")
		r := send(t, acc)
		require.Equal(t, 535, r.Code)
		require.Equal(t, "5.7.8", r.Enhanced)
		require.Equal(t, []string{"EHLO localhost", "AUTH PLAIN " + b64("\x00ada\x00wrong"), "QUIT"}, <-lines)
	})

	t.Run("ALoginRefusalIsNotFollowedByACancelLine", func(t *testing.T) {
		t.Parallel()
		acc, lines := scriptedAuthServer(t, "LOGIN", "334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6", "535 5.7.8 Error: authentication failed: authentication failure")
		r := send(t, acc)
		require.Equal(t, 535, r.Code)
		require.Equal(t, []string{"EHLO localhost", "AUTH LOGIN", b64("ada"), b64("wrong"), "QUIT"}, <-lines)
	})

	t.Run("AChallengeTheMechanismCannotAnswerIsCancelled", func(t *testing.T) {
		t.Parallel()
		acc, lines := scriptedAuthServer(t, "LOGIN", "334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6", "334 QWdhaW4/", "501 5.7.0 Authentication aborted")
		r := send(t, acc)
		require.Zero(t, r.Code, "the client gave up, the server refused nothing")
		require.Equal(t, []string{"EHLO localhost", "AUTH LOGIN", b64("ada"), b64("wrong"), "*", "QUIT"}, <-lines)
	})

	t.Run("ANonBase64ChallengeIsCancelled", func(t *testing.T) {
		t.Parallel()
		acc, lines := scriptedAuthServer(t, "LOGIN", "334 Username:", "501 5.7.0 Authentication aborted")
		send(t, acc)
		require.Equal(t, []string{"EHLO localhost", "AUTH LOGIN", "*", "QUIT"}, <-lines)
	})
}
