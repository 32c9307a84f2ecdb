//go:build dovecot

package imapsync_test

// TestDovecot runs Sync against a real Dovecot, the one .ci/dovecot-compat
// (make dovecot-compat) installs from Debian's packages and runs
// privately: passwd-file auth, maildir, STARTTLS on the imap listener and
// implicit TLS on imaps, both with a self-signed certificate. It is behind
// the dovecot build tag, so `go test ./...` does not compile it. Settings
// come from the environment (the script sets them all):
//
//	LEADPILOT_DOVECOT           host:port of the imap listener (STARTTLS)
//	LEADPILOT_DOVECOT_IMAPS     host:port of the imaps listener (implicit TLS)
//	LEADPILOT_DOVECOT_USER      the user
//	LEADPILOT_DOVECOT_PASSWORD  its password
//	LEADPILOT_DOVECOT_CA        PEM file of the server's certificate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/imapsync"
)

type dovecotEnv struct {
	imap, imaps    *net.TCPAddr
	user, password string
	tls            *tls.Config
}

func dovecotFromEnv(t *testing.T) dovecotEnv {
	t.Helper()
	names := []string{"LEADPILOT_DOVECOT", "LEADPILOT_DOVECOT_IMAPS", "LEADPILOT_DOVECOT_USER", "LEADPILOT_DOVECOT_PASSWORD", "LEADPILOT_DOVECOT_CA"}
	var missing []string
	for _, n := range names {
		if os.Getenv(n) == "" {
			missing = append(missing, n)
		}
	}
	// Built only with -tags dovecot, which .ci/dovecot-compat passes with
	// the server it started: without one this test fails, it never skips.
	if len(missing) > 0 {
		t.Fatalf("no Dovecot to test against (%s unset): run make dovecot-compat, which starts one and sets them", strings.Join(missing, ", "))
	}
	pem, err := os.ReadFile(os.Getenv("LEADPILOT_DOVECOT_CA"))
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(pem), "LEADPILOT_DOVECOT_CA holds no certificate")
	addr := func(name string) *net.TCPAddr {
		a, err := net.ResolveTCPAddr("tcp", os.Getenv(name))
		require.NoError(t, err, name)
		return a
	}
	return dovecotEnv{
		imap: addr("LEADPILOT_DOVECOT"), imaps: addr("LEADPILOT_DOVECOT_IMAPS"),
		user: os.Getenv("LEADPILOT_DOVECOT_USER"), password: os.Getenv("LEADPILOT_DOVECOT_PASSWORD"),
		tls: &tls.Config{RootCAs: roots},
	}
}

func (e dovecotEnv) config(security, mailbox string) imapsync.Config {
	a := e.imap
	if security == "tls" {
		a = e.imaps
	}
	return imapsync.Config{
		Host: a.IP.String(), Port: a.Port, Security: security,
		Username: e.user, Password: e.password,
		TLSConfig: e.tls, Mailbox: mailbox, Timeout: 10 * time.Second,
	}
}

// client is a plain imapclient session (STARTTLS) for what imapsync does
// not do: creating and deleting mailboxes, reading flags.
func (e dovecotEnv) client(t *testing.T) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialStartTLS(e.imap.String(), &imapclient.Options{TLSConfig: e.tls})
	require.NoError(t, err)
	require.NoError(t, c.Login(e.user, e.password).Wait())
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (e dovecotEnv) flags(t *testing.T, mailbox string) map[uint32][]imap.Flag {
	t.Helper()
	c := e.client(t)
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	require.NoError(t, err)
	out := map[uint32][]imap.Flag{}
	if sel.NumMessages == 0 {
		return out
	}
	bufs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	require.NoError(t, err)
	for _, b := range bufs {
		out[uint32(b.UID)] = b.Flags
	}
	require.NoError(t, c.Logout().Wait())
	return out
}

// dovecotMessage is a message unique to this run (the mailbox outlives
// a test run only with KEEP=1, but the INBOX is shared by the subtests).
func dovecotMessage(run string, n int) []byte {
	return []byte(fmt.Sprintf("From: Lead %d <lead%d@example.net>\r\nTo: alice@dovecot-compat.test\r\nSubject: Re: run %s %d\r\nMessage-ID: <%s.%d@example.net>\r\nDate: Fri, 20 Nov 2026 09:30:00 +0000\r\n\r\nreply %d of run %s\r\n", n, n, run, n, run, n, n, run))
}

func TestDovecot(t *testing.T) {
	env := dovecotFromEnv(t)
	ctx := context.Background()
	run := strconv.FormatInt(time.Now().UnixNano(), 36)

	t.Run("FirstSyncIncrementalNothingNewAndSeenUntouched", func(t *testing.T) {
		cfg := env.config("starttls", "")
		old := time.Now().AddDate(0, 0, -30)
		since := time.Now().AddDate(0, 0, -1)
		for n := 1; n <= 3; n++ {
			require.NoError(t, imapsync.Append(ctx, cfg, dovecotMessage(run, n), old))
		}
		for n := 4; n <= 15; n++ {
			require.NoError(t, imapsync.Append(ctx, cfg, dovecotMessage(run, n), time.Time{}))
		}
		before := env.flags(t, "INBOX")
		require.Len(t, before, 15)
		for uid, f := range before {
			require.False(t, hasSeen(f), "UID %d is new mail", uid)
		}

		var first collector
		opts := imapsync.Options{Since: since, BatchSize: 5}
		res, err := imapsync.Sync(ctx, cfg, imapsync.State{}, opts, first.sink)
		require.NoError(t, err)
		require.True(t, res.Reset)
		require.Equal(t, 12, res.Fetched, "the 12 messages since yesterday, not the 3 of last month")
		require.Len(t, first.batches, 3)
		require.True(t, first.batches[0].Reset)
		require.Equal(t, uint32(15), res.Exists)
		require.NotZero(t, res.State.UIDValidity)
		var got []string
		for _, b := range first.batches {
			for _, m := range b.Messages {
				got = append(got, string(m.Raw))
				require.Equal(t, int64(len(m.Raw)), m.Size)
				require.WithinDuration(t, time.Now(), m.InternalDate, time.Hour)
			}
		}
		require.Equal(t, string(dovecotMessage(run, 4)), got[0], "the message byte for byte")
		require.Equal(t, string(dovecotMessage(run, 15)), got[11])
		require.Equal(t, before, env.flags(t, "INBOX"), "FETCH FLAGS after the sync: no \\Seen set")

		// Incremental: only the new ones, over implicit TLS this time.
		for n := 16; n <= 18; n++ {
			require.NoError(t, imapsync.Append(ctx, cfg, dovecotMessage(run, n), time.Time{}))
		}
		var second collector
		res2, err := imapsync.Sync(ctx, env.config("tls", ""), res.State, opts, second.sink)
		require.NoError(t, err)
		require.False(t, res2.Reset)
		require.Equal(t, 3, res2.Fetched)
		require.Len(t, second.batches, 1)
		require.Equal(t, string(dovecotMessage(run, 16)), string(second.batches[0].Messages[0].Raw))
		require.Equal(t, res.State.LastUID+3, res2.State.LastUID)

		// Nothing new: Dovecot answers "UID n:*" with the last message;
		// no batch.
		var third collector
		res3, err := imapsync.Sync(ctx, cfg, res2.State, opts, third.sink)
		require.NoError(t, err)
		require.Zero(t, third.calls)
		require.Equal(t, res2.State, res3.State)

		for uid, f := range env.flags(t, "INBOX") {
			require.False(t, hasSeen(f), "UID %d after three syncs", uid)
		}
	})

	t.Run("MaxMessagesAndASinkErrorResumeFromTheCommittedState", func(t *testing.T) {
		box := "Replies-" + run
		c := env.client(t)
		require.NoError(t, c.Create(box, nil).Wait())
		cfg := env.config("starttls", box)
		for n := 1; n <= 9; n++ {
			require.NoError(t, imapsync.Append(ctx, cfg, dovecotMessage(run, 100+n), time.Time{}))
		}
		failing := &collector{failAt: 2}
		res, err := imapsync.Sync(ctx, cfg, imapsync.State{}, imapsync.Options{BatchSize: 3, MaxMessages: 8}, failing.sink)
		require.ErrorIs(t, err, errSink)
		require.Equal(t, uint32(3), res.State.LastUID)
		var rest collector
		res, err = imapsync.Sync(ctx, cfg, res.State, imapsync.Options{BatchSize: 3, MaxMessages: 4}, rest.sink)
		require.NoError(t, err)
		require.True(t, res.More)
		require.Equal(t, seq(4, 7), rest.uids())
		var last collector
		res, err = imapsync.Sync(ctx, cfg, res.State, imapsync.Options{BatchSize: 3, MaxMessages: 4}, last.sink)
		require.NoError(t, err)
		require.False(t, res.More)
		require.Equal(t, seq(8, 9), last.uids())

		// The mailbox deleted and created again: a new UIDVALIDITY, a reset.
		require.NoError(t, c.Delete(box).Wait())
		require.NoError(t, c.Create(box, nil).Wait())
		require.NoError(t, imapsync.Append(ctx, cfg, dovecotMessage(run, 200), time.Time{}))
		var again collector
		res2, err := imapsync.Sync(ctx, cfg, res.State, imapsync.Options{}, again.sink)
		require.NoError(t, err)
		require.True(t, res2.Reset)
		require.NotEqual(t, res.State.UIDValidity, res2.State.UIDValidity)
		require.Equal(t, []uint32{1}, again.uids())
		require.Equal(t, string(dovecotMessage(run, 200)), string(again.batches[0].Messages[0].Raw))
		require.NoError(t, c.Delete(box).Wait())
	})

	t.Run("WrongPasswordIsErrAuth", func(t *testing.T) {
		for _, security := range []string{"starttls", "tls"} {
			cfg := env.config(security, "")
			cfg.Password = "not-the-password"
			_, err := imapsync.Sync(ctx, cfg, imapsync.State{}, imapsync.Options{}, (&collector{}).sink)
			require.ErrorIs(t, err, imapsync.ErrAuth, security)
			t.Logf("%s: %v", security, err)
		}
	})
}
