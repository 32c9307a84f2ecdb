package webhookdelivery_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/secrets"
	"github.com/leadpilot/leadpilot/internal/testkit"
	"github.com/leadpilot/leadpilot/internal/webhookdelivery"
)

// BenchmarkDelivery measures deliveries per second to a local receiver
// (an httptest server answering 204) against a baseline from the same
// run: the same number of plain HTTP POSTs of a body of the same size,
// from a Go loop with the same concurrency, to the same receiver, with no
// database. One op is one delivery. Engine claims, signs, sends and
// records (one attempt row and one message update each), with the
// endpoint's max_concurrency as the concurrency. `make bench-webhooks`
// (.ci/bench-webhooks, part of `make bench`) runs it 5 times and prints
// the medians of both and their ratio; the goal is 1,000 deliveries/s.
func BenchmarkDelivery(b *testing.B) {
	var hits atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	const conc = 32
	body := []byte(fmt.Sprintf(`{"id":"%s","type":"lead.created","timestamp":"2026-11-29T00:00:00Z","object_type":"lead","object_id":"%s","data":{"email":"lead@example.com","first_name":"Ada","last_name":"Lovelace","company":"Analytical Engines"}}`,
		uuid.New(), uuid.New()))

	b.Run(fmt.Sprintf("Engine/concurrency=%d", conc), func(b *testing.B) {
		bb := benchSetup(b)
		org := bb.org()
		ep := bb.endpoint(org, recv.URL, conc)
		eng := webhookdelivery.New(bb.db, bb.keyring, webhookdelivery.Config{
			AllowHTTP: true, Jitter: -1, Budget: time.Hour, Logger: slog.New(slog.DiscardHandler),
			HTTP: webhookdelivery.ClientConfig{AllowCIDRs: loopbackPrefixes()},
		})
		bb.record(org, b.N)
		before := hits.Load()
		b.ResetTimer()
		start := time.Now()
		for {
			res, err := eng.Deliver(context.Background(), org, ep)
			if err != nil {
				b.Fatal(err)
			}
			if res.Attempted == 0 {
				break
			}
		}
		elapsed := time.Since(start)
		b.StopTimer()
		if got := hits.Load() - before; got != int64(b.N) {
			b.Fatalf("the receiver got %d deliveries, want %d", got, b.N)
		}
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
	})

	b.Run(fmt.Sprintf("PlainPOST/concurrency=%d", conc), func(b *testing.B) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}}
		var next atomic.Int64
		var wg sync.WaitGroup
		b.ResetTimer()
		start := time.Now()
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(b.N) {
					req, _ := http.NewRequest(http.MethodPost, recv.URL, bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.StopTimer()
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
	})
}

type benchBundle struct {
	b       *testing.B
	db      *database.DB
	owner   *database.DB
	keyring *secrets.Keyring
}

func benchSetup(b *testing.B) *benchBundle {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	kr, err := secrets.NewKeyring(map[string][]byte{"k1": key}, "k1")
	require.NoError(b, err)
	return &benchBundle{b: b, db: testkit.DB(b), owner: testkit.OwnerDB(b), keyring: kr}
}

func (bb *benchBundle) org() uuid.UUID {
	org := uuid.Must(uuid.NewV7())
	_, err := bb.owner.Pool.Exec(context.Background(), `INSERT INTO organizations (id, name, slug) VALUES ($1, 'Bench', $2)`, org, "bench-"+org.String())
	require.NoError(bb.b, err)
	return org
}

func (bb *benchBundle) endpoint(org uuid.UUID, url string, conc int) uuid.UUID {
	id := uuid.Must(uuid.NewV7())
	enc, err := bb.keyring.EncryptString(webhookdelivery.SecretPrefix+"c2VjcmV0LXNlY3JldC1zZWNyZXQ=", secrets.AAD("webhook_endpoints", "secret_encrypted", id.String()))
	require.NoError(bb.b, err)
	_, err = bb.owner.Pool.Exec(context.Background(), `INSERT INTO webhook_endpoints (id, org_id, url, event_types, secret_encrypted, max_concurrency)
		VALUES ($1, $2, $3, '{*}', $4, $5)`, id, org, url, enc, conc)
	require.NoError(bb.b, err)
	return id
}

// record writes n events for org, 1,000 per statement.
func (bb *benchBundle) record(org uuid.UUID, n int) {
	for n > 0 {
		k := min(n, 1000)
		ns := make([]events.New, k)
		for i := range ns {
			obj := uuid.Must(uuid.NewV7())
			ns[i] = events.New{Type: events.LeadCreated, ObjectID: obj, Data: map[string]any{
				"id": obj, "email": "lead@example.com", "first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Engines"}}
		}
		err := bb.db.InTenant(context.Background(), database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
			_, err := events.RecordBatch(ctx, tx, org, ns)
			return err
		})
		require.NoError(bb.b, err)
		n -= k
	}
}
