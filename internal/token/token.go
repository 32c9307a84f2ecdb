// Package token makes the opaque secrets LeadPilot hands out (refresh
// tokens, API keys, invite tokens) and the hashes it stores instead of
// them. The secrets carry 256 bits of randomness, so a plain SHA-256 is the
// right hash: a slow password hash would add cost and no safety.
package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// Prefixes make a leaked secret recognisable (and scannable) by kind.
const (
	PrefixAPIKey  = "lp_"
	PrefixRefresh = "lpr_"
	PrefixInvite  = "lpi_"
)

// New returns a fresh secret with prefix and its hash.
func New(prefix string) (secret string, hash []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	secret = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, Hash(secret)
}

// Hash is what is stored and looked up.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}
