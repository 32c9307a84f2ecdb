package webhookdelivery

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every signing secret: `whsec_` followed by the
// base64 of the key bytes (Standard Webhooks).
const SecretPrefix = "whsec_"

// ErrBadSecret is returned for a secret that is not `whsec_<base64>`.
var ErrBadSecret = errors.New("webhookdelivery: signing secret is not whsec_<base64>")

// secretKey is the HMAC key of a `whsec_…` secret: the base64 after the
// prefix, decoded.
func secretKey(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, ErrBadSecret
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) == 0 {
		return nil, ErrBadSecret
	}
	return key, nil
}

// Signature is the value of the webhook-signature header for one
// delivery: `v1,<base64 HMAC-SHA256(key, id.timestamp.body)>` for each key,
// separated by spaces (the current secret first, then, during a rotation,
// the previous one). keys are the decoded secrets.
func Signature(keys [][]byte, id string, ts time.Time, body []byte) string {
	unix := strconv.FormatInt(ts.Unix(), 10)
	var sb strings.Builder
	for i, key := range keys {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id))
		mac.Write([]byte{'.'})
		mac.Write([]byte(unix))
		mac.Write([]byte{'.'})
		mac.Write(body)
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString("v1,")
		sb.WriteString(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return sb.String()
}

// Sign returns the webhook-signature header for body signed with the
// given `whsec_…` secrets, in order.
func Sign(secrets []string, id string, ts time.Time, body []byte) (string, error) {
	keys := make([][]byte, 0, len(secrets))
	for _, s := range secrets {
		k, err := secretKey(s)
		if err != nil {
			return "", err
		}
		keys = append(keys, k)
	}
	return Signature(keys, id, ts, body), nil
}
