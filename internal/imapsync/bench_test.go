package imapsync_test

import (
	"context"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/imapsync"
)

const benchMessages = 10000

// BenchmarkSync reads a 10,000-message mailbox (about 2 KB a message)
// from scratch per iteration against the in-process server, in batches of
// 200, and reports msgs/s. BenchmarkFetchBaseline is the same mailbox read
// by imapclient alone in one UID FETCH 1:* (UID INTERNALDATE RFC822.SIZE
// BODY.PEEK[]): the floor of what the server and the client library cost.
func BenchmarkSync(b *testing.B) {
	srv := startServer(b, serverOpts{})
	srv.add(b, 1, benchMessages, day, 2048)
	cfg := srv.config("none")
	b.ResetTimer()
	start := time.Now()
	var bytes int64
	for i := 0; i < b.N; i++ {
		n := 0
		res, err := imapsync.Sync(context.Background(), cfg, imapsync.State{}, imapsync.Options{}, func(ctx context.Context, bt imapsync.Batch) error {
			n += len(bt.Messages)
			for _, m := range bt.Messages {
				bytes += int64(len(m.Raw))
			}
			return nil
		})
		require.NoError(b, err)
		require.Equal(b, benchMessages, n)
		require.Equal(b, uint32(benchMessages), res.State.LastUID)
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(benchMessages*b.N)/el, "msgs/s")
	b.ReportMetric(float64(bytes)/el/1e6, "MB/s")
}

func BenchmarkFetchBaseline(b *testing.B) {
	srv := startServer(b, serverOpts{})
	srv.add(b, 1, benchMessages, day, 2048)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		c, err := imapclient.DialInsecure(srv.addr.String(), nil)
		require.NoError(b, err)
		require.NoError(b, c.Login(testUser, testPassword).Wait())
		_, err = c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
		require.NoError(b, err)
		bufs, err := c.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, &imap.FetchOptions{
			UID: true, InternalDate: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}},
		}).Collect()
		require.NoError(b, err)
		require.Len(b, bufs, benchMessages)
		require.NoError(b, c.Logout().Wait())
		require.NoError(b, c.Close())
	}
	b.ReportMetric(float64(benchMessages*b.N)/time.Since(start).Seconds(), "msgs/s")
}
