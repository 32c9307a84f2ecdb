package webhooks_test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api/webhooks"
)

const body = `{"id":"0193b0c2-1111-7000-8000-000000000001","type":"lead.created","timestamp":"2026-11-28T11:59:59.123456Z","object_type":"lead","object_id":"0193b0c2-2222-7000-8000-000000000002","data":{"email":"zoë@example.com"}}`

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func newSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 24)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return webhooks.SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// signed is what the reference implementation sends for payload, signed
// with secret at at.
func signed(t *testing.T, secret, payload string, at time.Time) http.Header {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	sig, err := wh.Sign("msg_2Kx", at, []byte(payload))
	require.NoError(t, err)
	h := http.Header{}
	h.Set(webhooks.HeaderID, "msg_2Kx")
	h.Set(webhooks.HeaderTimestamp, fmt.Sprint(at.Unix()))
	h.Set(webhooks.HeaderSignature, sig)
	return h
}

func TestVerify(t *testing.T) {
	t.Parallel()

	t.Run("AcceptsWhatTheReferenceSigns", func(t *testing.T) {
		t.Parallel()
		secret := newSecret(t)
		h := signed(t, secret, body, now)
		require.NoError(t, webhooks.Verify(secret, h, []byte(body), 0, now))
		// without the prefix the secret is the same key
		require.NoError(t, webhooks.Verify(strings.TrimPrefix(secret, "whsec_"), h, []byte(body), 0, now))
		// and what we accept, the reference accepts (signed now: it reads the clock)
		live := signed(t, secret, body, time.Now())
		require.NoError(t, webhooks.Verify(secret, live, []byte(body), 0, time.Time{}))
		wh, err := standardwebhooks.NewWebhook(secret)
		require.NoError(t, err)
		require.NoError(t, wh.Verify([]byte(body), live))
	})

	t.Run("AcceptsAnyOfSeveralSignaturesDuringRotation", func(t *testing.T) {
		t.Parallel()
		oldSecret, newSecret := newSecret(t), newSecret(t)
		a, b := signed(t, oldSecret, body, now), signed(t, newSecret, body, now)
		both := a.Clone()
		both.Set(webhooks.HeaderSignature, b.Get(webhooks.HeaderSignature)+" "+a.Get(webhooks.HeaderSignature))
		require.NoError(t, webhooks.Verify(oldSecret, both, []byte(body), 0, now))
		require.NoError(t, webhooks.Verify(newSecret, both, []byte(body), 0, now))
		// a receiver holding both secrets accepts either alone
		v, err := webhooks.NewVerifier(newSecret, oldSecret)
		require.NoError(t, err)
		v.Now = func() time.Time { return now }
		require.NoError(t, v.Verify(a, []byte(body)))
		require.NoError(t, v.Verify(b, []byte(body)))
		// unknown versions and junk entries are skipped
		noisy := a.Clone()
		noisy.Set(webhooks.HeaderSignature, "v2,abc junk "+a.Get(webhooks.HeaderSignature))
		require.NoError(t, webhooks.Verify(oldSecret, noisy, []byte(body), 0, now))
	})

	t.Run("DecodesTheEvent", func(t *testing.T) {
		t.Parallel()
		secret := newSecret(t)
		v, err := webhooks.NewVerifier(secret)
		require.NoError(t, err)
		v.Now = func() time.Time { return now }
		e, err := v.VerifyEvent(signed(t, secret, body, now), []byte(body))
		require.NoError(t, err)
		require.Equal(t, "lead.created", e.Type)
		require.Equal(t, "lead", e.ObjectType)
		require.Equal(t, "0193b0c2-2222-7000-8000-000000000002", *e.ObjectID)
		require.Equal(t, time.Date(2026, 11, 28, 11, 59, 59, 123456000, time.UTC), e.Timestamp)
		require.JSONEq(t, `{"email":"zoë@example.com"}`, string(e.Data))

		_, err = v.VerifyEvent(signed(t, secret, "not json", now), []byte("not json"))
		require.ErrorContains(t, err, "not an event")
	})
}

func TestVerifyRefuses(t *testing.T) {
	t.Parallel()

	// Each case changes what the reference signed; want is Verify's error.
	tests := []struct {
		name   string
		tamper func(h http.Header, body, secret string) (http.Header, string, string)
		want   error
	}{
		{"AChangedBody", func(h http.Header, b, s string) (http.Header, string, string) {
			return h, strings.Replace(b, "lead.created", "lead.deleted", 1), s
		}, webhooks.ErrNoMatchingSignature},
		{"ABodyWithOneMoreSpace", func(h http.Header, b, s string) (http.Header, string, string) { return h, b + " ", s }, webhooks.ErrNoMatchingSignature},
		{"AnotherID", func(h http.Header, b, s string) (http.Header, string, string) {
			h.Set(webhooks.HeaderID, "msg_other")
			return h, b, s
		}, webhooks.ErrNoMatchingSignature},
		{"AnotherTimestamp", func(h http.Header, b, s string) (http.Header, string, string) {
			h.Set(webhooks.HeaderTimestamp, fmt.Sprint(now.Unix()-1))
			return h, b, s
		}, webhooks.ErrNoMatchingSignature},
		{"AnotherSecret", func(h http.Header, b, _ string) (http.Header, string, string) {
			return h, b, webhooks.SecretPrefix + base64.StdEncoding.EncodeToString([]byte("another secret entirely"))
		}, webhooks.ErrNoMatchingSignature},
		{"AV2SignatureOnly", func(h http.Header, b, s string) (http.Header, string, string) {
			h.Set(webhooks.HeaderSignature, strings.Replace(h.Get(webhooks.HeaderSignature), "v1,", "v2,", 1))
			return h, b, s
		}, webhooks.ErrNoMatchingSignature},
		{"ATruncatedSignature", func(h http.Header, b, s string) (http.Header, string, string) {
			sig := h.Get(webhooks.HeaderSignature)
			h.Set(webhooks.HeaderSignature, sig[:len(sig)-2])
			return h, b, s
		}, webhooks.ErrNoMatchingSignature},
		{"AnEmptySignatureEntry", func(h http.Header, b, s string) (http.Header, string, string) {
			h.Set(webhooks.HeaderSignature, "v1,")
			return h, b, s
		}, webhooks.ErrNoMatchingSignature},
		{"AStaleTimestamp", func(_ http.Header, b, s string) (http.Header, string, string) {
			return nil, b, s // signed below at now-301s
		}, webhooks.ErrTooOld},
		{"AFutureTimestamp", func(_ http.Header, b, s string) (http.Header, string, string) {
			return nil, b, s // signed below at now+301s
		}, webhooks.ErrTooNew},
		{"NoID", func(h http.Header, b, s string) (http.Header, string, string) {
			h.Del(webhooks.HeaderID)
			return h, b, s
		}, webhooks.ErrMissingHeaders},
		{"NoTimestamp", func(h http.Header, b, s string) (http.Header, string, string) {
			h.Del(webhooks.HeaderTimestamp)
			return h, b, s
		}, webhooks.ErrMissingHeaders},
		{"NoSignature", func(h http.Header, b, s string) (http.Header, string, string) {
			h.Del(webhooks.HeaderSignature)
			return h, b, s
		}, webhooks.ErrMissingHeaders},
		{"AFractionalTimestamp", func(h http.Header, b, s string) (http.Header, string, string) {
			h.Set(webhooks.HeaderTimestamp, h.Get(webhooks.HeaderTimestamp)+".5")
			return h, b, s
		}, webhooks.ErrInvalidTimestamp},
		{"ANegativeTimestamp", func(h http.Header, b, s string) (http.Header, string, string) {
			h.Set(webhooks.HeaderTimestamp, "-"+h.Get(webhooks.HeaderTimestamp))
			return h, b, s
		}, webhooks.ErrInvalidTimestamp},
		{"ASecretThatIsNotBase64", func(h http.Header, b, _ string) (http.Header, string, string) {
			return h, b, "whsec_not base64!"
		}, webhooks.ErrInvalidSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			secret := newSecret(t)
			h, b, s := tt.tamper(signed(t, secret, body, now), body, secret)
			if h == nil {
				skew := 301 * time.Second
				if tt.want == webhooks.ErrTooOld {
					skew = -skew
				}
				h = signed(t, secret, body, now.Add(skew))
			}
			require.ErrorIs(t, webhooks.Verify(s, h, []byte(b), 0, now), tt.want)
		})
	}
}

func TestVerifyTolerance(t *testing.T) {
	t.Parallel()
	secret := newSecret(t)
	at := func(d time.Duration) http.Header { return signed(t, secret, body, now.Add(d)) }
	tests := []struct {
		name      string
		skew      time.Duration
		tolerance time.Duration
		want      error
	}{
		{"DefaultEdgeInThePast", -300 * time.Second, 0, nil},
		{"DefaultEdgeInTheFuture", 300 * time.Second, 0, nil},
		{"PastTheDefaultEdge", -301 * time.Second, 0, webhooks.ErrTooOld},
		{"BeyondTheDefaultEdge", 301 * time.Second, 0, webhooks.ErrTooNew},
		{"PastAShorterTolerance", -61 * time.Second, time.Minute, webhooks.ErrTooOld},
		{"WithinALongerTolerance", -time.Hour, 2 * time.Hour, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := webhooks.Verify(secret, at(tt.skew), []byte(body), tt.tolerance, now)
			if tt.want == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tt.want)
			}
		})
	}
}

func TestNewVerifierRefusesNoSecret(t *testing.T) {
	t.Parallel()
	_, err := webhooks.NewVerifier()
	require.ErrorIs(t, err, webhooks.ErrInvalidSecret)
	_, err = webhooks.NewVerifier("whsec_")
	require.ErrorIs(t, err, webhooks.ErrInvalidSecret)
}
