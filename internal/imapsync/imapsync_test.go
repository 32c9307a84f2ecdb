package imapsync_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/imapsync"
)

var day = time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)

func TestSync(t *testing.T) {
	t.Parallel()

	t.Run("FirstSyncDeliversEveryMessageInBatchesOfBatchSize", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, serverOpts{})
		uids := srv.add(t, 1, 25, day, 0)
		var c collector
		res, err := imapsync.Sync(context.Background(), srv.config("none"), imapsync.State{}, imapsync.Options{BatchSize: 10}, c.sink)
		require.NoError(t, err)

		require.Len(t, c.batches, 3)
		require.Equal(t, []int{10, 10, 5}, []int{len(c.batches[0].Messages), len(c.batches[1].Messages), len(c.batches[2].Messages)})
		require.True(t, c.batches[0].Reset, "the first batch of a first sync is a reset")
		require.False(t, c.batches[1].Reset)
		require.False(t, c.batches[2].Reset)
		require.Equal(t, uids, c.uids())
		for i, b := range c.batches {
			require.Equal(t, b.Messages[len(b.Messages)-1].UID, b.State.LastUID, "batch %d's state ends at its last UID", i)
			require.NotZero(t, b.State.UIDValidity)
		}
		for i, m := range c.batches[0].Messages {
			want := message(i+1, 0)
			require.Equal(t, want, m.Raw, "the raw message as stored")
			require.Equal(t, int64(len(want)), m.Size)
			require.True(t, m.InternalDate.Equal(day), "INTERNALDATE %s", m.InternalDate)
		}
		require.Equal(t, imapsync.Result{State: c.batches[2].State, Fetched: 25, Reset: true, Exists: 25}, res)
	})

	t.Run("IncrementalSyncFetchesOnlyNewMailAndThenNothing", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, serverOpts{})
		srv.add(t, 1, 5, day, 0)
		cfg := srv.config("none")
		var first collector
		res, err := imapsync.Sync(context.Background(), cfg, imapsync.State{}, imapsync.Options{}, first.sink)
		require.NoError(t, err)
		require.Equal(t, seq(1, 5), first.uids())

		newUIDs := srv.add(t, 6, 8, day.Add(time.Hour), 0)
		var second collector
		res2, err := imapsync.Sync(context.Background(), cfg, res.State, imapsync.Options{}, second.sink)
		require.NoError(t, err)
		require.Equal(t, newUIDs, second.uids())
		require.Len(t, second.batches, 1)
		require.False(t, second.batches[0].Reset)
		require.Equal(t, string(message(6, 0)), string(second.batches[0].Messages[0].Raw))
		require.Equal(t, imapsync.Result{State: imapsync.State{UIDValidity: res.State.UIDValidity, LastUID: 8}, Fetched: 3, Exists: 8}, res2)

		// Nothing new: "UID 9:*" answers the last message (UID 8) on
		// this server as the RFC says; it is filtered, and no batch is
		// delivered.
		var third collector
		res3, err := imapsync.Sync(context.Background(), cfg, res2.State, imapsync.Options{}, third.sink)
		require.NoError(t, err)
		require.Zero(t, third.calls)
		require.Equal(t, imapsync.Result{State: res2.State, Exists: 8}, res3)
	})

	t.Run("ExaminesAndPeeksSoFlagsStayAsTheyWere", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, serverOpts{record: true})
		srv.add(t, 1, 4, day, 0)
		srv.storeSeen(t, 2) // read by the user in their own client
		before := srv.flags(t)
		require.True(t, hasSeen(before[2]))
		require.False(t, hasSeen(before[1]))
		srv.record()

		var c collector
		_, err := imapsync.Sync(context.Background(), srv.config("none"), imapsync.State{}, imapsync.Options{BatchSize: 3}, c.sink)
		require.NoError(t, err)
		require.Equal(t, seq(1, 4), c.uids())
		require.Equal(t, before, srv.flags(t), "FETCH FLAGS after the sync: nothing set, nothing cleared")

		// The sync's own commands (the flags checks above also EXAMINE
		// and FETCH, but never BODY): EXAMINE, never SELECT, STORE,
		// EXPUNGE, MOVE, COPY; bodies only with BODY.PEEK[].
		var syncCmds []string
		for _, line := range srv.commands() {
			if strings.Contains(line, "BODY") || strings.Contains(line, "SEARCH") {
				syncCmds = append(syncCmds, line)
			}
		}
		require.NotEmpty(t, syncCmds)
		var sawExamine, sawPeek, sawLogout bool
		for _, line := range srv.commands() {
			word := strings.ToUpper(strings.SplitN(line, " ", 3)[1])
			require.NotContains(t, []string{"SELECT", "STORE", "EXPUNGE", "MOVE", "COPY", "CLOSE"}, word, "command %q", line)
			sawExamine = sawExamine || word == "EXAMINE"
			sawLogout = sawLogout || word == "LOGOUT"
			if strings.Contains(line, "BODY") {
				require.Contains(t, line, "BODY.PEEK[]", "command %q", line)
				sawPeek = true
			}
		}
		require.True(t, sawExamine && sawPeek && sawLogout, "commands: %q", srv.commands())
		require.Len(t, syncCmds, 3, "one UID SEARCH and two UID FETCH ranges: %q", syncCmds)
		require.Contains(t, syncCmds[0], "UID SEARCH RETURN (ALL) UID 1:*", "ranges, not a number per message, when the server has ESEARCH")
		require.Contains(t, syncCmds[1], "UID FETCH 1:3 ")
		require.Contains(t, syncCmds[2], "UID FETCH 4 ")
	})

	t.Run("UIDValidityChangeResetsAndResyncsSinceOptionsSince", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, serverOpts{})
		srv.add(t, 1, 6, day, 0)
		cfg := srv.config("none")
		opts := imapsync.Options{Since: day.AddDate(0, 0, -1), BatchSize: 4}
		var first collector
		res, err := imapsync.Sync(context.Background(), cfg, imapsync.State{}, opts, first.sink)
		require.NoError(t, err)
		require.Equal(t, seq(1, 6), first.uids())

		// The mailbox is recreated (a server migration, a restore): a new
		// UIDVALIDITY and UIDs from 1 again, two old messages and three
		// since opts.Since.
		srv.recreateInbox(t)
		srv.add(t, 100, 101, day.AddDate(0, 0, -10), 0)
		srv.add(t, 102, 104, day, 0)
		var second collector
		res2, err := imapsync.Sync(context.Background(), cfg, res.State, opts, second.sink)
		require.NoError(t, err)
		require.True(t, res2.Reset)
		require.NotEqual(t, res.State.UIDValidity, res2.State.UIDValidity)
		require.Equal(t, []uint32{3, 4, 5}, second.uids(), "only the messages since Since, under their new UIDs")
		require.True(t, second.batches[0].Reset)
		require.Equal(t, string(message(102, 0)), string(second.batches[0].Messages[0].Raw))
		require.Equal(t, imapsync.State{UIDValidity: res2.State.UIDValidity, LastUID: 5}, res2.State)
		require.Equal(t, 3, res2.Fetched)

		// And it is incremental again from there.
		srv.add(t, 105, 105, day, 0)
		var third collector
		res3, err := imapsync.Sync(context.Background(), cfg, res2.State, opts, third.sink)
		require.NoError(t, err)
		require.False(t, res3.Reset)
		require.Equal(t, []uint32{6}, third.uids())
	})

	t.Run("ResetWithNothingSinceDeliversOneEmptyBatchAndOldMailStaysOld", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, serverOpts{})
		srv.add(t, 1, 3, day.AddDate(0, -2, 0), 0)
		cfg := srv.config("none")
		opts := imapsync.Options{Since: day}
		var c collector
		res, err := imapsync.Sync(context.Background(), cfg, imapsync.State{}, opts, c.sink)
		require.NoError(t, err)
		require.Len(t, c.batches, 1, "the new state is delivered so the caller stores it")
		require.True(t, c.batches[0].Reset)
		require.Empty(t, c.batches[0].Messages)
		require.Equal(t, uint32(3), c.batches[0].State.LastUID, "the old messages are behind the state, not pending")
		require.Equal(t, imapsync.Result{State: c.batches[0].State, Reset: true, Exists: 3}, res)

		// The next sync is incremental: the three old messages do not
		// come back as new; a new one does.
		srv.add(t, 4, 4, day, 0)
		var next collector
		_, err = imapsync.Sync(context.Background(), cfg, res.State, opts, next.sink)
		require.NoError(t, err)
		require.Equal(t, []uint32{4}, next.uids())
	})

	t.Run("SinceLimitsTheFirstSyncToMessagesOnOrAfterThatDay", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, serverOpts{})
		srv.add(t, 1, 3, day.AddDate(0, 0, -3), 0)
		srv.add(t, 4, 5, time.Date(2026, 11, 20, 0, 0, 1, 0, time.UTC), 0) // the same day, before Since's time of day
		srv.add(t, 6, 7, day.AddDate(0, 0, 1), 0)
		var c collector
		res, err := imapsync.Sync(context.Background(), srv.config("none"), imapsync.State{}, imapsync.Options{Since: day}, c.sink)
		require.NoError(t, err)
		require.Equal(t, seq(4, 7), c.uids())
		require.Equal(t, uint32(7), res.State.LastUID)
		require.Equal(t, uint32(7), res.Exists)
	})

	t.Run("MaxMessagesBoundsARunAndTheNextContinues", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, serverOpts{})
		srv.add(t, 1, 23, day, 0)
		cfg := srv.config("none")
		opts := imapsync.Options{BatchSize: 4, MaxMessages: 10}
		st := imapsync.State{}
		var all []uint32
		var runs []imapsync.Result
		for i := 0; i < 4; i++ {
			var c collector
			res, err := imapsync.Sync(context.Background(), cfg, st, opts, c.sink)
			require.NoError(t, err)
			all = append(all, c.uids()...)
			runs = append(runs, res)
			st = res.State
			if !res.More {
				break
			}
		}
		require.Len(t, runs, 3)
		require.Equal(t, []int{10, 10, 3}, []int{runs[0].Fetched, runs[1].Fetched, runs[2].Fetched})
		require.Equal(t, []bool{true, true, false}, []bool{runs[0].More, runs[1].More, runs[2].More})
		require.Equal(t, []bool{true, false, false}, []bool{runs[0].Reset, runs[1].Reset, runs[2].Reset})
		require.Equal(t, seq(1, 23), all)
		require.Equal(t, uint32(10), runs[0].State.LastUID)
	})

	t.Run("WrongPasswordIsErrAuth", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, serverOpts{})
		srv.add(t, 1, 1, day, 0)
		for name, mod := range map[string]func(*imapsync.Config){
			"password": func(c *imapsync.Config) { c.Password = "wrong" },
			"user":     func(c *imapsync.Config) { c.Username = "mallory@example.com" },
		} {
			cfg := srv.config("none")
			mod(&cfg)
			var c collector
			res, err := imapsync.Sync(context.Background(), cfg, imapsync.State{UIDValidity: 7, LastUID: 3}, imapsync.Options{}, c.sink)
			require.ErrorIs(t, err, imapsync.ErrAuth, name)
			var ie *imap.Error
			require.ErrorAs(t, err, &ie, "the server's answer stays reachable")
			require.Zero(t, c.calls)
			require.Equal(t, imapsync.State{UIDValidity: 7, LastUID: 3}, res.State)
		}
	})

	t.Run("OtherFailuresAreNotErrAuth", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, serverOpts{})
		cfg := srv.config("none")
		cfg.Mailbox = "Archive" // no such mailbox
		_, err := imapsync.Sync(context.Background(), cfg, imapsync.State{}, imapsync.Options{}, (&collector{}).sink)
		require.Error(t, err)
		require.NotErrorIs(t, err, imapsync.ErrAuth)
		require.Contains(t, err.Error(), "examine Archive")

		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port := l.Addr().(*net.TCPAddr).Port
		require.NoError(t, l.Close())
		cfg = srv.config("none")
		cfg.Port = port // nothing listens
		_, err = imapsync.Sync(context.Background(), cfg, imapsync.State{}, imapsync.Options{}, (&collector{}).sink)
		require.Error(t, err)
		require.NotErrorIs(t, err, imapsync.ErrAuth)
		var op *net.OpError
		require.ErrorAs(t, err, &op)

		cfg = srv.config("bogus")
		_, err = imapsync.Sync(context.Background(), cfg, imapsync.State{}, imapsync.Options{}, (&collector{}).sink)
		require.ErrorContains(t, err, `unknown security "bogus"`)
	})

	t.Run("ASinkErrorStopsAndTheNextSyncRedoesOnlyTheFailedBatch", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, serverOpts{})
		srv.add(t, 1, 12, day, 0)
		cfg := srv.config("none")
		opts := imapsync.Options{BatchSize: 5}

		// The caller's store: a batch and its state commit together.
		var stored imapsync.State
		var ingested []uint32
		commit := func(c *collector) func(context.Context, imapsync.Batch) error {
			return func(ctx context.Context, b imapsync.Batch) error {
				if err := c.sink(ctx, b); err != nil {
					return err // rolled back: neither messages nor state
				}
				for _, m := range b.Messages {
					ingested = append(ingested, m.UID)
				}
				stored = b.State
				return nil
			}
		}
		failing := &collector{failAt: 2}
		res, err := imapsync.Sync(context.Background(), cfg, stored, opts, commit(failing))
		require.ErrorIs(t, err, errSink)
		require.Equal(t, 2, failing.calls, "no batch after the failed one")
		require.Equal(t, seq(1, 5), ingested)
		require.Equal(t, uint32(5), stored.LastUID)
		require.Equal(t, stored, res.State, "Result.State is the last accepted batch's")

		retry := &collector{}
		res, err = imapsync.Sync(context.Background(), cfg, stored, opts, commit(retry))
		require.NoError(t, err)
		require.Equal(t, seq(6, 12), retry.uids(), "from the failed batch on, nothing twice")
		require.False(t, retry.batches[0].Reset)
		require.Equal(t, seq(1, 12), ingested)
		require.Equal(t, uint32(12), res.State.LastUID)
	})

	t.Run("ASilentServerFailsPromptlyOnTimeoutAndOnContext", func(t *testing.T) {
		t.Parallel()
		addr := silentServer(t)
		cfg := imapsync.Config{Host: "127.0.0.1", Port: addr.Port, Security: "none", Username: testUser, Password: testPassword, Timeout: 300 * time.Millisecond}
		start := time.Now()
		_, err := imapsync.Sync(context.Background(), cfg, imapsync.State{}, imapsync.Options{}, (&collector{}).sink)
		require.Error(t, err)
		require.Less(t, time.Since(start), 1500*time.Millisecond)
		var ne net.Error
		require.ErrorAs(t, err, &ne)
		require.True(t, ne.Timeout(), "%v", err)
		require.NotErrorIs(t, err, imapsync.ErrAuth)

		// Implicit TLS: the handshake waits for a server hello that never comes.
		cfg.Security, cfg.Timeout = "tls", 0 // the 30 s default: ctx decides
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start = time.Now()
		_, err = imapsync.Sync(ctx, cfg, imapsync.State{}, imapsync.Options{}, (&collector{}).sink)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Less(t, time.Since(start), 1500*time.Millisecond)

		cfg.Security = "none"
		ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start = time.Now()
		err = imapsync.Append(ctx, cfg, message(1, 0), day)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Less(t, time.Since(start), 1500*time.Millisecond)
	})

	t.Run("AServerThatStopsAnsweringMidSyncFailsTheCommandPromptly", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, serverOpts{})
		srv.add(t, 1, 6, day, 0)
		proxy := startFreezingProxy(t, srv.addr)
		cfg := srv.config("none")
		cfg.Port = proxy.addr.Port
		cfg.Timeout = 300 * time.Millisecond
		calls := 0
		start := time.Now()
		res, err := imapsync.Sync(context.Background(), cfg, imapsync.State{}, imapsync.Options{BatchSize: 2}, func(ctx context.Context, b imapsync.Batch) error {
			calls++
			proxy.freeze() // the next UID FETCH gets no answer
			return nil
		})
		require.Error(t, err)
		require.Less(t, time.Since(start), 1500*time.Millisecond)
		var ne net.Error
		require.ErrorAs(t, err, &ne)
		require.True(t, ne.Timeout(), "%v", err)
		require.Contains(t, err.Error(), "fetch UID 3:4")
		require.Equal(t, 1, calls)
		require.Equal(t, uint32(2), res.State.LastUID, "the state of the batch the sink accepted")
	})

	t.Run("ASlowSinkDoesNotCountAgainstTheTimeout", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, serverOpts{})
		srv.add(t, 1, 6, day, 0)
		cfg := srv.config("none")
		cfg.Timeout = 150 * time.Millisecond
		c := &collector{delay: 400 * time.Millisecond}
		res, err := imapsync.Sync(context.Background(), cfg, imapsync.State{}, imapsync.Options{BatchSize: 2}, c.sink)
		require.NoError(t, err)
		require.Equal(t, seq(1, 6), c.uids())
		require.Equal(t, 6, res.Fetched)
	})

	t.Run("ContextCancelledInTheSinkStopsTheSync", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, serverOpts{})
		srv.add(t, 1, 6, day, 0)
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		res, err := imapsync.Sync(ctx, srv.config("none"), imapsync.State{}, imapsync.Options{BatchSize: 2}, func(ctx context.Context, b imapsync.Batch) error {
			calls++
			cancel()
			return nil // committed; the next fetch finds the connection closed
		})
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, 1, calls)
		require.Equal(t, uint32(2), res.State.LastUID)
	})

	t.Run("XOAUTH2LogsInWithTheTokenAndARefusedTokenIsErrAuth", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, serverOpts{record: true})
		srv.record()
		srv.add(t, 1, 3, day, 0)
		cfg := srv.config("none")
		cfg.Password = "" // never used with a token
		var asked int
		cfg.OAuthToken = func(ctx context.Context) (string, error) { asked++; return testToken, nil }
		var c collector
		_, err := imapsync.Sync(context.Background(), cfg, imapsync.State{}, imapsync.Options{}, c.sink)
		require.NoError(t, err)
		require.Equal(t, seq(1, 3), c.uids())
		require.Equal(t, 1, asked)
		var sawAuth bool
		for _, line := range srv.commands() {
			require.NotContains(t, line, " LOGIN ")
			sawAuth = sawAuth || strings.Contains(line, "AUTHENTICATE XOAUTH2")
		}
		require.True(t, sawAuth, "commands: %q", srv.commands())

		cfg.OAuthToken = func(ctx context.Context) (string, error) { return "ya29.revoked", nil }
		_, err = imapsync.Sync(context.Background(), cfg, imapsync.State{}, imapsync.Options{}, (&collector{}).sink)
		require.ErrorIs(t, err, imapsync.ErrAuth)

		// A token that cannot be had is the token source's error, not a
		// refused login, and no connection is opened for it.
		errRefresh := errors.New("oauth: refresh token revoked")
		cfg.OAuthToken = func(ctx context.Context) (string, error) { return "", errRefresh }
		_, err = imapsync.Sync(context.Background(), cfg, imapsync.State{}, imapsync.Options{}, (&collector{}).sink)
		require.ErrorIs(t, err, errRefresh)
		require.NotErrorIs(t, err, imapsync.ErrAuth)
	})

	t.Run("ImplicitTLSAndSTARTTLSWithTheCallersDialer", func(t *testing.T) {
		t.Parallel()
		for _, mode := range []string{"tls", "starttls"} {
			srv := startServer(t, serverOpts{security: mode, secureOnly: true})
			srv.add(t, 1, 2, day, 0)
			cfg := srv.config(mode)
			var dialed []string
			cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
				dialed = append(dialed, addr)
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			}
			var c collector
			_, err := imapsync.Sync(context.Background(), cfg, imapsync.State{}, imapsync.Options{}, c.sink)
			require.NoError(t, err, mode)
			require.Equal(t, seq(1, 2), c.uids(), mode)
			require.Equal(t, []string{srv.addr.String()}, dialed, mode)

			// An untrusted certificate fails the connection, not the login.
			cfg.TLSConfig = nil
			_, err = imapsync.Sync(context.Background(), cfg, imapsync.State{}, imapsync.Options{}, (&collector{}).sink)
			require.Error(t, err, mode)
			require.NotErrorIs(t, err, imapsync.ErrAuth)
			require.ErrorContains(t, err, "certificate", mode)
		}

		// A server that takes logins only over TLS, asked without: a
		// configuration error to report, not a wrong password.
		srv := startServer(t, serverOpts{security: "starttls", secureOnly: true})
		_, err := imapsync.Sync(context.Background(), srv.config("none"), imapsync.State{}, imapsync.Options{}, (&collector{}).sink)
		require.ErrorContains(t, err, "disables LOGIN")
		require.NotErrorIs(t, err, imapsync.ErrAuth)
	})

	t.Run("AppendStoresAnUnseenMessageWithItsDate", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, serverOpts{})
		cfg := srv.config("none")
		require.NoError(t, imapsync.Append(context.Background(), cfg, message(1, 0), day))
		require.NoError(t, imapsync.Append(context.Background(), cfg, message(2, 0), time.Time{}))
		var c collector
		_, err := imapsync.Sync(context.Background(), cfg, imapsync.State{}, imapsync.Options{}, c.sink)
		require.NoError(t, err)
		require.Equal(t, seq(1, 2), c.uids())
		require.True(t, c.batches[0].Messages[0].InternalDate.Equal(day))
		require.WithinDuration(t, time.Now(), c.batches[0].Messages[1].InternalDate, time.Minute)
		for uid, f := range srv.flags(t) {
			require.False(t, hasSeen(f), "UID %d", uid)
		}
		cfg.Password = "wrong"
		require.ErrorIs(t, imapsync.Append(context.Background(), cfg, message(3, 0), day), imapsync.ErrAuth)
	})
}

// TestSyncTenThousandMessagesIncrementally reads a 10,000-message mailbox
// in runs of at most 3,000 (four runs), mail arriving between runs, and
// checks every UID is delivered exactly once and in order.
func TestSyncTenThousandMessagesIncrementally(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOpts{noESearch: true}) // 9,000 numbers in one SEARCH answer
	srv.add(t, 1, 9000, day, 200)
	cfg := srv.config("none")
	opts := imapsync.Options{MaxMessages: 3000}
	seen := make(map[uint32]int)
	var order []uint32
	st := imapsync.State{}
	runs := 0
	for {
		runs++
		require.LessOrEqual(t, runs, 4)
		res, err := imapsync.Sync(context.Background(), cfg, st, opts, func(ctx context.Context, b imapsync.Batch) error {
			require.LessOrEqual(t, len(b.Messages), 200)
			for _, m := range b.Messages {
				seen[m.UID]++
				order = append(order, m.UID)
				require.Contains(t, string(m.Raw), "reply number ")
			}
			return nil
		})
		require.NoError(t, err)
		require.LessOrEqual(t, res.Fetched, 3000)
		st = res.State
		if runs == 2 {
			srv.add(t, 9001, 10000, day, 200) // new mail between runs
		}
		if !res.More {
			break
		}
	}
	require.Equal(t, 4, runs)
	require.Len(t, seen, 10000)
	for uid, n := range seen {
		require.Equal(t, 1, n, "UID %d delivered %d times", uid, n)
	}
	require.Equal(t, seq(1, 10000), order)
	require.Equal(t, uint32(10000), st.LastUID)
}
