// Package webhooks verifies the webhooks LeadPilot sends. They follow
// Standard Webhooks (https://www.standardwebhooks.com): the headers
// webhook-id, webhook-timestamp (Unix seconds) and webhook-signature, a
// space-separated list of "v1,<base64 HMAC-SHA256>" entries of
// id + "." + timestamp + "." + body keyed with the endpoint's secret
// (base64 after its "whsec_" prefix). While a secret is being rotated a
// webhook carries one signature per live secret; any match passes.
//
// It imports nothing outside the standard library, so receivers can use it
// without the rest of LeadPilot.
package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is how far a webhook's timestamp may be from the
// receiver's clock, either way, when no tolerance is given.
const DefaultTolerance = 5 * time.Minute

// SecretPrefix starts every LeadPilot webhook secret.
const SecretPrefix = "whsec_"

// Why a webhook is refused; Verify's errors wrap one of them.
var (
	ErrMissingHeaders      = errors.New("webhooks: webhook-id, webhook-timestamp and webhook-signature are required")
	ErrInvalidTimestamp    = errors.New("webhooks: webhook-timestamp is not Unix seconds")
	ErrTooOld              = errors.New("webhooks: webhook-timestamp is too old")
	ErrTooNew              = errors.New("webhooks: webhook-timestamp is in the future")
	ErrNoMatchingSignature = errors.New("webhooks: no webhook-signature matches the secret")
	ErrInvalidSecret       = errors.New("webhooks: the secret is not base64 after its whsec_ prefix")
)

// Event is a LeadPilot webhook body (and an item of GET /v1/events): Data
// is the object as the API returned it when the event happened.
type Event struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"` // lead.created, import.completed, …
	Timestamp  time.Time       `json:"timestamp"`
	ObjectType string          `json:"object_type"`
	ObjectID   *string         `json:"object_id"`
	Data       json.RawMessage `json:"data"`
}

// Verify checks body's signature with secret and that its timestamp is
// within tolerance of now (tolerance 0: DefaultTolerance; now zero: the
// clock). body must be exactly the bytes received.
func Verify(secret string, header http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	v, err := NewVerifier(secret)
	if err != nil {
		return err
	}
	v.Tolerance = tolerance
	if !now.IsZero() {
		v.Now = func() time.Time { return now }
	}
	return v.Verify(header, body)
}

// Verifier verifies webhooks signed with any of its secrets: give it the
// new and the old secret while rotating. The zero Tolerance means
// DefaultTolerance and a nil Now the clock.
type Verifier struct {
	keys      [][]byte
	Tolerance time.Duration
	Now       func() time.Time
}

// NewVerifier returns a Verifier for one or more "whsec_…" secrets (the
// prefix is optional).
func NewVerifier(secrets ...string) (*Verifier, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%w: no secret given", ErrInvalidSecret)
	}
	v := &Verifier{}
	for _, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
		if err != nil || len(key) == 0 {
			return nil, ErrInvalidSecret
		}
		v.keys = append(v.keys, key)
	}
	return v, nil
}

// Verify checks body's signature and timestamp; the error wraps one of
// the Err values.
func (v *Verifier) Verify(header http.Header, body []byte) error {
	id := header.Get(HeaderID)
	ts := header.Get(HeaderTimestamp)
	sigs := strings.Join(header.Values(HeaderSignature), " ")
	if id == "" || ts == "" || sigs == "" {
		return ErrMissingHeaders
	}
	if len(ts) > 15 || strings.TrimLeft(ts, "0123456789") != "" {
		return ErrInvalidTimestamp
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrInvalidTimestamp
	}
	tolerance := v.Tolerance
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	at := time.Unix(sec, 0)
	nowSec := time.Unix(now().Unix(), 0) // compare whole seconds, as the header has them
	switch {
	case at.Before(nowSec.Add(-tolerance)):
		return ErrTooOld
	case at.After(nowSec.Add(tolerance)):
		return ErrTooNew
	}

	ok := false
	for _, key := range v.keys {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + ts + "."))
		mac.Write(body)
		want := []byte(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		for _, entry := range strings.Split(sigs, " ") {
			version, sig, found := strings.Cut(entry, ",")
			// hmac.Equal is constant-time for equal lengths; no early exit.
			if found && version == "v1" && hmac.Equal([]byte(sig), want) {
				ok = true
			}
		}
	}
	if !ok {
		return ErrNoMatchingSignature
	}
	return nil
}

// VerifyEvent verifies body like Verify and returns it decoded.
func (v *Verifier) VerifyEvent(header http.Header, body []byte) (Event, error) {
	if err := v.Verify(header, body); err != nil {
		return Event{}, err
	}
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		return Event{}, fmt.Errorf("webhooks: the signed body is not an event: %w", err)
	}
	return e, nil
}
