package webhookdelivery_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/webhookdelivery"
)

func TestDeliver(t *testing.T) {
	t.Parallel()

	t.Run("SignsAfterStandardWebhooksWithTheEventsSnapshot", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{"ok":true}`))
		})
		org, _, _ := b.org()
		ep, secret := b.endpoint(org, rc.URL+"/hook", endpointOpts{})
		ids := b.record(org, 1)

		res, err := b.engine(webhookdelivery.Config{}).Deliver(t.Context(), org, ep)
		require.NoError(t, err)
		require.Equal(t, webhookdelivery.Result{Attempted: 1, Succeeded: 1}, res)

		got := rc.deliveries()
		require.Len(t, got, 1)
		d := got[0]
		wh, err := standardwebhooks.NewWebhook(secret)
		require.NoError(t, err)
		require.NoError(t, wh.Verify(d.body, d.header), "the reference library verifies the signature")
		require.Equal(t, ids[0].String(), d.header.Get("webhook-id"))
		require.Equal(t, "application/json", d.header.Get("Content-Type"))

		var ev events.Event
		require.NoError(t, json.Unmarshal(d.body, &ev))
		require.Equal(t, ids[0], ev.ID)
		require.Equal(t, string(events.LeadCreated), ev.Type)
		require.Contains(t, string(ev.Data), "lead0@example.com")

		m := b.message(ep, ids[0])
		require.Equal(t, "succeeded", m.Status)
		require.Equal(t, 1, m.Attempts)
		require.Equal(t, 200, *m.LastStatusCode)
		var snippet string
		var succeeded bool
		require.NoError(t, b.owner.Pool.QueryRow(t.Context(), `SELECT response_snippet, succeeded FROM webhook_attempts
			WHERE endpoint_id = $1 AND event_id = $2`, ep, ids[0]).Scan(&snippet, &succeeded))
		require.Equal(t, `{"ok":true}`, snippet)
		require.True(t, succeeded)

		// Nothing is due any more: a second call sends nothing.
		res, err = b.engine(webhookdelivery.Config{}).Deliver(t.Context(), org, ep)
		require.NoError(t, err)
		require.Zero(t, res.Attempted)
		require.Len(t, rc.deliveries(), 1)
	})

	t.Run("SignsWithBothSecretsDuringARotationAndWithTheNewOneAfter", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rc := newReceiver(t, nil)
		org, _, _ := b.org()
		old := newSecret(t)
		ep, current := b.endpoint(org, rc.URL, endpointOpts{previous: old, previousUntil: b.clock.Now().Add(24 * time.Hour)})
		eng := b.engine(webhookdelivery.Config{})
		oldWH, err := standardwebhooks.NewWebhook(old)
		require.NoError(t, err)
		newWH, err := standardwebhooks.NewWebhook(current)
		require.NoError(t, err)

		b.record(org, 1)
		_, err = eng.Deliver(t.Context(), org, ep)
		require.NoError(t, err)
		d := rc.deliveries()[0]
		require.Len(t, strings.Fields(d.header.Get("webhook-signature")), 2)
		require.NoError(t, newWH.Verify(d.body, d.header), "a receiver with the new secret verifies")
		require.NoError(t, oldWH.Verify(d.body, d.header), "a receiver still on the old secret verifies during the overlap")

		b.clock.Advance(24*time.Hour + time.Second)
		b.record(org, 1)
		_, err = eng.Deliver(t.Context(), org, ep)
		require.NoError(t, err)
		d = rc.deliveries()[1]
		require.Len(t, strings.Fields(d.header.Get("webhook-signature")), 1)
		// The clock is a day ahead of the verifier's: timestamps aside.
		require.NoError(t, newWH.VerifyIgnoringTimestamp(d.body, d.header))
		require.ErrorIs(t, oldWH.VerifyIgnoringTimestamp(d.body, d.header), standardwebhooks.ErrNoMatchingSignature,
			"the old secret no longer signs once it has expired")
	})

	t.Run("RetriesA500OnTheScheduleWithTheSameWebhookID", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n <= 2 {
				http.Error(w, "boom", http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusOK)
		})
		org, _, _ := b.org()
		ep, _ := b.endpoint(org, rc.URL, endpointOpts{})
		ev := b.record(org, 1)[0]
		eng := b.engine(webhookdelivery.Config{})

		_, err := eng.Deliver(t.Context(), org, ep)
		require.NoError(t, err)
		m := b.message(ep, ev)
		require.Equal(t, "pending", m.Status)
		require.Equal(t, 1, m.Attempts)
		require.Equal(t, 500, *m.LastStatusCode)
		require.Contains(t, *m.LastError, "HTTP 500")
		first := b.lastAttemptAt(ep, ev)
		require.WithinDuration(t, first.Add(5*time.Second), m.NextAttemptAt, time.Millisecond, "the first retry waits 5s")
		require.NotNil(t, b.failingSince(ep), "a failure after success sets failing_since")

		// Not due yet: nothing is sent.
		res, err := eng.Deliver(t.Context(), org, ep)
		require.NoError(t, err)
		require.Zero(t, res.Attempted)

		b.clock.Advance(5 * time.Second)
		_, err = eng.Deliver(t.Context(), org, ep)
		require.NoError(t, err)
		m = b.message(ep, ev)
		require.Equal(t, 2, m.Attempts)
		second := b.lastAttemptAt(ep, ev)
		require.WithinDuration(t, second.Add(5*time.Minute), m.NextAttemptAt, time.Millisecond, "the second retry waits 5m")

		b.clock.Advance(5 * time.Minute)
		_, err = eng.Deliver(t.Context(), org, ep)
		require.NoError(t, err)
		m = b.message(ep, ev)
		require.Equal(t, "succeeded", m.Status)
		require.Equal(t, 3, m.Attempts)
		require.Equal(t, []string{ev.String(), ev.String(), ev.String()}, rc.ids())
		require.Equal(t, 3, b.count(`SELECT count(*) FROM webhook_attempts WHERE endpoint_id = $1`, ep))
		require.Nil(t, b.failingSince(ep), "a success clears failing_since")
	})

	t.Run("RetriesTimeoutsAndRefusedConnections", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		slow := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
			select { // never answers before the client gives up
			case <-r.Context().Done():
			case <-release:
			}
		})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		closedURL := "http://" + ln.Addr().String()
		require.NoError(t, ln.Close())

		org, _, _ := b.org()
		slowEP, _ := b.endpoint(org, slow.URL, endpointOpts{})
		deadEP, _ := b.endpoint(org, closedURL, endpointOpts{})
		ev := b.record(org, 1)[0]
		eng := b.engine(webhookdelivery.Config{RequestTimeout: 300 * time.Millisecond})

		for _, ep := range []uuid.UUID{slowEP, deadEP} {
			res, err := eng.Deliver(t.Context(), org, ep)
			require.NoError(t, err)
			require.Equal(t, 1, res.Attempted)
		}
		m := b.message(slowEP, ev)
		require.Equal(t, "pending", m.Status)
		require.Equal(t, 1, m.Attempts)
		require.Nil(t, m.LastStatusCode)
		require.Contains(t, *m.LastError, "no answer within 300ms")
		m = b.message(deadEP, ev)
		require.Equal(t, "pending", m.Status)
		require.Nil(t, m.LastStatusCode)
		require.Contains(t, *m.LastError, "refused")
	})

	t.Run("HonoursRetryAfterOn429And503WhenLaterThanTheSchedule", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		httpDate := b.clock.Now().Add(2 * time.Hour).UTC().Format(http.TimeFormat)
		cases := []struct {
			name   string
			status int
			header string
			wait   time.Duration
			slack  time.Duration
		}{
			{"Seconds429", 429, "3600", time.Hour, 0},
			{"HTTPDate503", 503, httpDate, 2 * time.Hour, 2 * time.Second}, // an HTTP date has whole seconds
			{"ShorterThanTheScheduleKeepsTheSchedule", 429, "1", 5 * time.Second, 0},
			{"CappedAt24h", 503, "999999", 24 * time.Hour, 0},
			{"IgnoredOnA500", 500, "3600", 5 * time.Second, 0},
		}
		org, _, _ := b.org()
		eps := map[string]uuid.UUID{}
		for _, c := range cases {
			rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("Retry-After", c.header)
				w.WriteHeader(c.status)
			})
			eps[c.name], _ = b.endpoint(org, rc.URL, endpointOpts{})
		}
		ev := b.record(org, 1)[0]
		eng := b.engine(webhookdelivery.Config{})
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				ep := eps[c.name]
				_, err := eng.Deliver(t.Context(), org, ep)
				require.NoError(t, err)
				m := b.message(ep, ev)
				require.Equal(t, "pending", m.Status)
				require.WithinDuration(t, b.lastAttemptAt(ep, ev).Add(c.wait), m.NextAttemptAt, c.slack+time.Millisecond)
			})
		}
	})

	t.Run("FailsAMessageWhenItsRetriesAreExhausted", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) { w.WriteHeader(http.StatusBadGateway) })
		org, _, _ := b.org()
		ep, _ := b.endpoint(org, rc.URL, endpointOpts{})
		ev := b.record(org, 1)[0]
		eng := b.engine(webhookdelivery.Config{Schedule: []time.Duration{time.Second, time.Minute}})
		for range 3 {
			_, err := eng.Deliver(t.Context(), org, ep)
			require.NoError(t, err)
			b.clock.Advance(time.Minute)
		}
		m := b.message(ep, ev)
		require.Equal(t, "failed", m.Status)
		require.Equal(t, 3, m.Attempts)
		require.Contains(t, *m.LastError, "no retry left")
		require.Len(t, rc.deliveries(), 3)
		require.Equal(t, "enabled", b.endpointStatus(ep).status, "one exhausted message is not yet a reason to disable")
	})

	t.Run("DisablesAnEndpointFailingForDaysAndNotifiesOwnersAndAdmins", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
			http.Error(w, "down", http.StatusInternalServerError)
		})
		org, owner, admin := b.org()
		ep, _ := b.endpoint(org, rc.URL+"/secret-path?token=abc", endpointOpts{description: "CRM sync"})
		ev := b.record(org, 1)[0]
		eng := b.engine(webhookdelivery.Config{}) // DefaultSchedule, DisableAfter 60h

		var res webhookdelivery.Result
		for i := 0; i < 20 && !res.Disabled; i++ {
			var err error
			res, err = eng.Deliver(t.Context(), org, ep)
			require.NoError(t, err)
			m := b.message(ep, ev)
			if m.Status == "pending" {
				b.clock.Advance(m.NextAttemptAt.Sub(b.clock.Now()) + time.Millisecond)
			}
		}
		require.True(t, res.Disabled)
		require.Len(t, rc.deliveries(), len(webhookdelivery.DefaultSchedule)+1, "disabled at the last scheduled attempt, 67h35m after the first")

		st := b.endpointStatus(ep)
		require.Equal(t, "disabled", st.status)
		require.Equal(t, "failing", *st.reason)
		require.Contains(t, *st.message, "HTTP 500")
		require.NotNil(t, st.disabledAt)
		require.Equal(t, "failed", b.message(ep, ev).Status)

		rows, err := b.owner.Pool.Query(t.Context(), `SELECT user_id, type, title, message, action_url FROM notifications WHERE org_id = $1 ORDER BY user_id`, org)
		require.NoError(t, err)
		defer rows.Close()
		var users []uuid.UUID
		for rows.Next() {
			var u uuid.UUID
			var typ, title, msg, action string
			require.NoError(t, rows.Scan(&u, &typ, &title, &msg, &action))
			users = append(users, u)
			require.Equal(t, "system", typ)
			require.Equal(t, "/settings/webhooks/"+ep.String(), action)
			require.Contains(t, msg, "127.0.0.1")
			require.Contains(t, msg, "CRM sync")
			require.NotContains(t, msg, "token=abc", "the URL's path and query stay out of notifications")
		}
		require.NoError(t, rows.Err())
		require.ElementsMatch(t, []uuid.UUID{owner, admin}, users, "owners and admins, not members")

		// A disabled endpoint's later messages fail without a request.
		b.exec(`INSERT INTO webhook_messages (org_id, endpoint_id, event_id) VALUES ($1, $2, $3)`, org, ep, b.record(org, 1)[0])
		res, err = eng.Deliver(t.Context(), org, ep)
		require.NoError(t, err)
		require.Zero(t, res.Attempted)
		require.Zero(t, b.count(`SELECT count(*) FROM webhook_messages WHERE endpoint_id = $1 AND status <> 'failed'`, ep))
	})

	t.Run("ADisabledEndpointStillGetsTestEventsOnly", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rc := newReceiver(t, nil)
		org, _, _ := b.org()
		ep, secret := b.endpoint(org, rc.URL, endpointOpts{})
		lead := b.record(org, 1)[0]
		b.exec(`UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = 'manual', disabled_at = now() WHERE id = $1`, ep)
		var test uuid.UUID
		err := b.db.InTenant(t.Context(), database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
			var err error
			test, err = events.Record(ctx, tx, org, events.New{Type: events.WebhookTest, Data: map[string]any{"message": "hello"}, OnlyEndpoint: &ep})
			return err
		})
		require.NoError(t, err)

		res, err := b.engine(webhookdelivery.Config{}).Deliver(t.Context(), org, ep)
		require.NoError(t, err)
		require.Equal(t, 1, res.Succeeded)
		require.Equal(t, []string{test.String()}, rc.ids())
		wh, err := standardwebhooks.NewWebhook(secret)
		require.NoError(t, err)
		require.NoError(t, wh.Verify(rc.deliveries()[0].body, rc.deliveries()[0].header))
		m := b.message(ep, lead)
		require.Equal(t, "failed", m.Status)
		require.Equal(t, "the endpoint is disabled", *m.LastError)
		require.Zero(t, m.Attempts)
	})

	t.Run("A410GoneDisablesTheEndpointAtOnce", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) { w.WriteHeader(http.StatusGone) })
		org, _, _ := b.org()
		ep, _ := b.endpoint(org, rc.URL, endpointOpts{maxConcurrency: 1})
		evs := b.record(org, 3)
		eng := b.engine(webhookdelivery.Config{BatchSize: 1})
		res, err := eng.Deliver(t.Context(), org, ep)
		require.NoError(t, err)
		require.True(t, res.Disabled)
		require.Len(t, rc.deliveries(), 1)
		st := b.endpointStatus(ep)
		require.Equal(t, "disabled", st.status)
		require.Equal(t, "gone", *st.reason)
		require.Contains(t, *st.message, "410 Gone")
		for _, ev := range evs {
			require.Equal(t, "failed", b.message(ep, ev).Status)
		}
		require.Equal(t, 2, b.count(`SELECT count(*) FROM notifications WHERE org_id = $1 AND type = 'system'`, org))
	})

	t.Run("AnEndpointWhoseSecretCannotBeDecryptedIsDisabledNotRetriedForEver", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) { w.WriteHeader(http.StatusOK) })
		org, _, _ := b.org()
		ep, _ := b.endpoint(org, rc.URL, endpointOpts{maxConcurrency: 1})
		evs := b.record(org, 2)
		// As if its key were retired from the keyring.
		b.exec(`UPDATE webhook_endpoints SET secret_encrypted = 'v1:retired:AAAA' WHERE id = $1`, ep)
		_, err := b.engine(webhookdelivery.Config{}).Deliver(t.Context(), org, ep)
		require.NoError(t, err, "no error, so the dispatcher does not spin on it")
		require.Empty(t, rc.deliveries(), "nothing unsigned goes out")
		st := b.endpointStatus(ep)
		require.Equal(t, "disabled", st.status)
		require.Equal(t, "failing", *st.reason)
		require.Contains(t, *st.message, "cannot be decrypted")
		for _, ev := range evs {
			require.Equal(t, "failed", b.message(ep, ev).Status)
		}
		require.Equal(t, 2, b.count(`SELECT count(*) FROM notifications WHERE org_id = $1 AND type = 'system'`, org), "its owner and admin are told")
	})

	t.Run("KeepsEventOrderWithMaxConcurrencyOne", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var inflight, peak atomic.Int32
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
			cur := inflight.Add(1)
			defer inflight.Add(-1)
			for p := peak.Load(); cur > p && !peak.CompareAndSwap(p, cur); p = peak.Load() {
			}
			time.Sleep(time.Millisecond) // overlap, were there any
			w.WriteHeader(http.StatusOK)
		})
		org, _, _ := b.org()
		ep, _ := b.endpoint(org, rc.URL, endpointOpts{maxConcurrency: 1})
		ids := b.record(org, 30)
		_, err := b.engine(webhookdelivery.Config{BatchSize: 7}).Deliver(t.Context(), org, ep)
		require.NoError(t, err)
		require.Equal(t, strs(ids), rc.ids())
		require.EqualValues(t, 1, peak.Load())
	})

	t.Run("BoundsInFlightDeliveriesByMaxConcurrency", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var inflight, peak atomic.Int32
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
			cur := inflight.Add(1)
			defer inflight.Add(-1)
			for p := peak.Load(); cur > p && !peak.CompareAndSwap(p, cur); p = peak.Load() {
			}
			time.Sleep(2 * time.Millisecond)
			w.WriteHeader(http.StatusOK)
		})
		org, _, _ := b.org()
		ep, _ := b.endpoint(org, rc.URL, endpointOpts{maxConcurrency: 3})
		ids := b.record(org, 40)
		res, err := b.engine(webhookdelivery.Config{}).Deliver(t.Context(), org, ep)
		require.NoError(t, err)
		require.Equal(t, 40, res.Succeeded)
		require.ElementsMatch(t, strs(ids), rc.ids())
		require.LessOrEqual(t, peak.Load(), int32(3))
	})

	t.Run("ASlowEndpointDoesNotDelayAnother", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		release := make(chan struct{})
		var releaseOnce sync.Once
		t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) }) // never leave the receiver blocked
		arrived := make(chan struct{}, 1)
		slow := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
			select {
			case arrived <- struct{}{}:
			default:
			}
			<-release
			w.WriteHeader(http.StatusOK)
		})
		fast := newReceiver(t, nil)
		org, _, _ := b.org()
		slowEP, _ := b.endpoint(org, slow.URL, endpointOpts{maxConcurrency: 1})
		fastEP, _ := b.endpoint(org, fast.URL, endpointOpts{})
		ids := b.record(org, 5)
		eng := b.engine(webhookdelivery.Config{})

		done := make(chan error, 1)
		go func() {
			_, err := eng.Deliver(context.Background(), org, slowEP)
			done <- err
		}()
		<-arrived // the slow receiver holds its first request
		res, err := eng.Deliver(t.Context(), org, fastEP)
		require.NoError(t, err)
		require.Equal(t, 5, res.Succeeded, "the fast endpoint got everything while the slow one still holds its first request")
		require.ElementsMatch(t, strs(ids), fast.ids())
		releaseOnce.Do(func() { close(release) })
		require.NoError(t, <-done)
		require.Equal(t, strs(ids), slow.ids())
	})

	t.Run("AWorkerStoppedMidDeliveryLosesNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx, cancel := context.WithCancel(t.Context())
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 1 {
				cancel() // the worker stops after the receiver has the request
				<-r.Context().Done()
				return
			}
			w.WriteHeader(http.StatusOK)
		})
		org, _, _ := b.org()
		ep, _ := b.endpoint(org, rc.URL, endpointOpts{maxConcurrency: 1})
		ev := b.record(org, 1)[0]
		eng := b.engine(webhookdelivery.Config{})

		_, err := eng.Deliver(ctx, org, ep)
		require.ErrorIs(t, err, context.Canceled)
		m := b.message(ep, ev)
		require.Equal(t, "pending", m.Status, "released: no answer, so not an attempt")
		require.Zero(t, m.Attempts)

		_, err = eng.Deliver(t.Context(), org, ep)
		require.NoError(t, err)
		require.Equal(t, "succeeded", b.message(ep, ev).Status)
		require.Equal(t, []string{ev.String(), ev.String()}, rc.ids(), "delivered again with the same webhook-id")
	})

	t.Run("AWorkerKilledMidDeliveryLeavesALeaseThatIsReclaimed", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rc := newReceiver(t, nil)
		org, _, _ := b.org()
		ep, _ := b.endpoint(org, rc.URL, endpointOpts{})
		evs := b.record(org, 2)
		// What a dead worker leaves: claimed rows, leased for a while.
		lease := b.clock.Now().Add(time.Minute)
		b.exec(`UPDATE webhook_messages SET status = 'sending', locked_until = $2 WHERE endpoint_id = $1`, ep, lease)
		eng := b.engine(webhookdelivery.Config{})

		res, err := eng.Deliver(t.Context(), org, ep)
		require.NoError(t, err)
		require.Zero(t, res.Attempted, "a live lease is left alone")

		b.clock.Advance(time.Minute + time.Second)
		res, err = eng.Deliver(t.Context(), org, ep)
		require.NoError(t, err)
		require.Equal(t, 2, res.Succeeded)
		require.ElementsMatch(t, strs(evs), rc.ids())
		for _, ev := range evs {
			require.Equal(t, "succeeded", b.message(ep, ev).Status)
		}
	})

	t.Run("StopsClaimingAfterItsBudgetAndReleasesTheRest", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rc := newReceiver(t, nil)
		org, _, _ := b.org()
		ep, _ := b.endpoint(org, rc.URL, endpointOpts{maxConcurrency: 1})
		ids := b.record(org, 4)
		// A budget of 1ns is spent once the first message has started.
		eng := b.engine(webhookdelivery.Config{Budget: time.Nanosecond})
		res, err := eng.Deliver(t.Context(), org, ep)
		require.NoError(t, err)
		require.True(t, res.More)
		require.Equal(t, 1, res.Attempted)
		require.Equal(t, "succeeded", b.message(ep, ids[0]).Status)
		for _, ev := range ids[res.Attempted:] {
			m := b.message(ep, ev)
			require.Equal(t, "pending", m.Status)
			require.Zero(t, m.Attempts)
		}
	})

	t.Run("RefusesPlainHTTPUnlessAllowedAndSpeaksTLSWithInjectedRoots", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var hits atomic.Int32
		tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			w.WriteHeader(http.StatusOK)
		}))
		t.Cleanup(tlsSrv.Close)
		plain := newReceiver(t, nil)
		org, _, _ := b.org()
		tlsEP, _ := b.endpoint(org, tlsSrv.URL, endpointOpts{})
		plainEP, _ := b.endpoint(org, plain.URL, endpointOpts{})
		ev := b.record(org, 1)[0]
		roots := tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
		cfg := webhookdelivery.Config{Now: b.clock.Now, Jitter: -1, Logger: b.logger,
			HTTP: webhookdelivery.ClientConfig{AllowCIDRs: b.loopback(), RootCAs: roots}}
		eng := webhookdelivery.New(b.db, b.keyring, cfg) // AllowHTTP false
		_, err := eng.Deliver(t.Context(), org, tlsEP)
		require.NoError(t, err)
		require.Equal(t, "succeeded", b.message(tlsEP, ev).Status)
		require.EqualValues(t, 1, hits.Load())

		_, err = eng.Deliver(t.Context(), org, plainEP)
		require.NoError(t, err)
		m := b.message(plainEP, ev)
		require.Equal(t, "pending", m.Status)
		require.Contains(t, *m.LastError, "only https")
		require.Empty(t, plain.deliveries())
	})
}
