package emailsend_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/emailsend"
)

// sendThroughSink sends n emails of about 2 KB each to s, spread over
// accounts sending concurrently (one kept-open connection each) in
// batches of batchSize, and fails tb unless every one is Sent.
func sendThroughSink(tb testing.TB, p *emailsend.Pool, s *server, n, accounts, batchSize int) {
	tb.Helper()
	body := strings.Repeat("Hello Grace, this line pads the body to about two kilobytes. \n", 28)
	var wg sync.WaitGroup
	errs := make(chan error, accounts)
	for a := range accounts {
		acc := s.account()
		share := n / accounts
		if a == 0 {
			share += n % accounts
		}
		wg.Go(func() {
			for sent := 0; sent < share; sent += batchSize {
				es := make([]emailsend.Email, min(batchSize, share-sent))
				for i := range es {
					es[i] = newEmail(fmt.Sprintf("lead%d-%d@example.com", a, sent+i), func(e *emailsend.Email) { e.Text = body })
				}
				for i, r := range p.Send(context.Background(), acc, es, nil) {
					if r.Outcome != emailsend.Sent {
						errs <- fmt.Errorf("account %d email %d: %s: %w", a, sent+i, r.Outcome, r.Err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(tb, err)
	}
}

func TestSendThroughSink(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{discard: true})
	p := newPool(t)
	sendThroughSink(t, p, s, 403, 4, 50)
	require.Equal(t, 403, s.messageCount())
	require.Equal(t, 4, s.sessionCount(), "one kept-open connection per account")
}

// BenchmarkPoolSend sends 10,000 emails of about 2 KB per iteration to an
// in-process go-smtp sink over four accounts' kept-open connections, in
// batches of 100, and reports msgs/s. Run it briefly:
//
//	go test ./internal/emailsend -run '^$' -bench PoolSend -benchtime 1x
func BenchmarkPoolSend(b *testing.B) {
	s := startServer(b, serverOptions{discard: true})
	p := emailsend.NewPool(emailsend.PoolOptions{})
	b.Cleanup(func() { _ = p.Close() })
	const n = 10_000
	iterations := 0
	start := time.Now()
	for b.Loop() {
		sendThroughSink(b, p, s, n, 4, 100)
		iterations++
	}
	b.ReportMetric(float64(n*iterations)/time.Since(start).Seconds(), "msgs/s")
}
