package unsubscribe

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/uuid"
)

// Errors from [Signer.Parse]. Callers should treat both alike (the link is
// not valid); they are separate so logs can tell a truncated link from a
// forged one.
var (
	ErrMalformed = errors.New("unsubscribe: malformed token")
	ErrForged    = errors.New("unsubscribe: token signature does not match")
)

const (
	version1 = 0x01
	tagSize  = 16 // 128 bits of HMAC-SHA256
	bodySize = 1 + 16 + 16
	rawSize  = bodySize + tagSize
	// TokenLength is the length of every token in characters.
	TokenLength = (rawSize*8 + 5) / 6

	// MinSecretSize is the shortest master secret NewSigner accepts,
	// matching the config's rule for JWT_SECRET.
	MinSecretSize = 32

	hkdfInfo = "leadpilot unsubscribe token v1"
)

// encoding is strict so that every token has exactly one textual form.
var encoding = base64.RawURLEncoding.Strict()

// Signer makes and checks unsubscribe tokens. It is safe for concurrent
// use and keeps only derived keys, never the master secrets.
type Signer struct {
	current []byte
	accept  [][]byte // current first, then retired
}

// NewSigner derives the token key from master (HKDF-SHA256, see the
// package doc for which secret to pass) and, for tokens made before a
// rotation, from each retired master. New tokens use master only; Parse
// accepts any of them. Every secret must be at least MinSecretSize bytes.
func NewSigner(master []byte, retired ...[]byte) (*Signer, error) {
	s := &Signer{}
	for i, secret := range append([][]byte{master}, retired...) {
		if len(secret) < MinSecretSize {
			if i == 0 {
				return nil, fmt.Errorf("unsubscribe: secret is %d bytes, want at least %d", len(secret), MinSecretSize)
			}
			return nil, fmt.Errorf("unsubscribe: retired secret %d is %d bytes, want at least %d", i, len(secret), MinSecretSize)
		}
		key, err := hkdf.Key(sha256.New, secret, nil, hkdfInfo, sha256.Size)
		if err != nil {
			return nil, fmt.Errorf("unsubscribe: derive key: %w", err)
		}
		s.accept = append(s.accept, key)
	}
	s.current = s.accept[0]
	return s, nil
}

// String names the type only, so a Signer in a log line leaks nothing.
func (s *Signer) String() string { return "unsubscribe.Signer" }

// GoString makes %#v as safe as %v.
func (s *Signer) GoString() string { return s.String() }

// Token returns the unsubscribe token for a lead of an organisation.
// The same pair always gives the same token.
func (s *Signer) Token(org, lead uuid.UUID) string {
	raw := make([]byte, 0, rawSize)
	raw = append(raw, version1)
	raw = append(raw, org[:]...)
	raw = append(raw, lead[:]...)
	raw = append(raw, tag(s.current, raw)...)
	return encoding.EncodeToString(raw)
}

// Parse checks token and returns the organisation and lead it names.
// Errors wrap [ErrMalformed] or [ErrForged] and never echo the token.
func (s *Signer) Parse(token string) (org, lead uuid.UUID, err error) {
	if len(token) != TokenLength {
		return uuid.Nil, uuid.Nil, fmt.Errorf("%w: %d characters, want %d", ErrMalformed, len(token), TokenLength)
	}
	raw, err := encoding.DecodeString(token)
	if err != nil || len(raw) != rawSize {
		return uuid.Nil, uuid.Nil, fmt.Errorf("%w: not base64url", ErrMalformed)
	}
	if raw[0] != version1 {
		return uuid.Nil, uuid.Nil, fmt.Errorf("%w: unknown version %d", ErrMalformed, raw[0])
	}
	body, got := raw[:bodySize], raw[bodySize:]
	ok := false
	for _, key := range s.accept {
		// Every key is tried so the time taken does not say which matched.
		ok = hmac.Equal(tag(key, body), got) || ok
	}
	if !ok {
		return uuid.Nil, uuid.Nil, ErrForged
	}
	copy(org[:], body[1:17])
	copy(lead[:], body[17:33])
	return org, lead, nil
}

func tag(key, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return m.Sum(nil)[:tagSize]
}

// URL is the https link for the List-Unsubscribe header and the page:
// base with the token appended as the last path segment (base is e.g.
// PUBLIC_URL + "/u", served for GET and POST). The token needs no escaping.
func URL(base, token string) string {
	return strings.TrimRight(base, "/") + "/" + token
}

// mailtoSubjectPrefix starts the subject of a mailto unsubscribe.
const mailtoSubjectPrefix = "unsubscribe "

// Mailto is the mailto link for the List-Unsubscribe header, for mail
// clients without one-click support: a message to address whose subject is
// "unsubscribe <token>" (RFC 6068). The token does not go into the local
// part as a +tag because 66 characters exceed the 64 a local part allows.
// [TokenFromSubject] reads it back from the message that arrives.
func Mailto(address, token string) string {
	return "mailto:" + url.PathEscape(address) + "?subject=" + url.PathEscape(mailtoSubjectPrefix+token)
}

// TokenFromSubject finds the token in the subject of a message sent
// through a [Mailto] link (mail clients may add "Re:" or change case
// around it). It only finds a token-shaped word; Signer.Parse decides
// whether it is valid.
func TokenFromSubject(subject string) (string, bool) {
	for _, word := range strings.Fields(subject) {
		if len(word) == TokenLength && isBase64URL(word) {
			return word, true
		}
	}
	return "", false
}

func isBase64URL(s string) bool {
	for i := range len(s) {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
