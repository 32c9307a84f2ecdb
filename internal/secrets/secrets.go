package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Sentinel errors returned (wrapped) by [Keyring.Decrypt] and friends.
// Callers branch with errors.Is; the messages never carry plaintext or key
// bytes, so they are safe to log.
var (
	// ErrMalformed means the string is not a ciphertext this package could
	// have produced: wrong shape, unknown version, bad base64 or too short.
	ErrMalformed = errors.New("secrets: malformed ciphertext")
	// ErrUnknownKey means the ciphertext names a key id the ring does not
	// hold, typically an old key removed before rotation finished.
	ErrUnknownKey = errors.New("secrets: unknown key id")
	// ErrDecrypt means authentication failed: the value was tampered with,
	// was encrypted for another row or column (different aad), or under a
	// different key that happens to share the id.
	ErrDecrypt = errors.New("secrets: decryption failed")
)

const (
	// version is the only format understood today. It is part of the
	// authenticated header so a future v2 cannot be downgraded to v1.
	version = "v1"
	// KeySize is the length in bytes of every key: AES-256.
	KeySize = 32
	// nonceSize and tagSize are GCM's standard sizes; their sum is the
	// shortest possible sealed payload (an empty plaintext).
	nonceSize = 12
	tagSize   = 16
)

// kidPattern keeps key ids short and free of '.', the field separator, and
// of anything that would need quoting in SQL LIKE patterns except '_'.
var kidPattern = regexp.MustCompile(`^[a-z0-9_-]{1,16}$`)

// payloadEncoding is strict so that every payload has exactly one textual
// form; a lenient decoder would accept variants differing in trailing bits.
var payloadEncoding = base64.RawURLEncoding.Strict()

// Keyring holds the keys a process may decrypt with and names the one it
// encrypts with. It is safe for concurrent use. It keeps only the expanded
// AEAD state, never the raw key bytes, and its String method lists key ids
// only, so printing a Keyring cannot leak key material.
type Keyring struct {
	aeads   map[string]cipher.AEAD
	current string
}

// NewKeyring builds a Keyring from keys (id to 32-byte key) that encrypts
// with current. The key bytes are copied into the cipher state, so the caller
// may zero its map afterwards.
func NewKeyring(keys map[string][]byte, current string) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("secrets: keyring needs at least one key")
	}
	aeads := make(map[string]cipher.AEAD, len(keys))
	for kid, key := range keys {
		if !kidPattern.MatchString(kid) {
			return nil, fmt.Errorf("secrets: key id %q must match %s", kid, kidPattern)
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("secrets: key %q is %d bytes, want %d", kid, len(key), KeySize)
		}
		aead, err := newAEAD(key)
		if err != nil {
			return nil, fmt.Errorf("secrets: key %q: %w", kid, err)
		}
		aeads[kid] = aead
	}
	if _, ok := aeads[current]; !ok {
		return nil, fmt.Errorf("secrets: current key id %q is not in the keyring", current)
	}
	return &Keyring{aeads: aeads, current: current}, nil
}

// newAEAD uses the standard library's random-nonce GCM, which draws the
// nonce itself and lays out nonce||ciphertext||tag exactly as the format
// wants, leaving no nonce handling in this package to get wrong. aes.NewCipher
// expands the key into its own schedule and keeps no reference to key, which
// is what lets NewKeyring promise the caller may wipe its copy.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// CurrentKeyID returns the id of the key new ciphertexts are sealed with.
func (k *Keyring) CurrentKeyID() string { return k.current }

// String lists the key ids, never the keys, so a Keyring that ends up in a
// log line or a panic message is harmless.
func (k *Keyring) String() string {
	kids := make([]string, 0, len(k.aeads))
	for kid := range k.aeads {
		kids = append(kids, kid)
	}
	sort.Strings(kids)
	return fmt.Sprintf("secrets.Keyring{current: %s, keys: [%s]}", k.current, strings.Join(kids, " "))
}

// GoString makes %#v as safe as %v; without it fmt would dump the fields.
func (k *Keyring) GoString() string { return k.String() }

// Encrypt seals plaintext with the current key. aad is the caller's context
// (see [AAD]) and must be passed again, byte for byte, to decrypt. The error
// is reserved for key backends that can fail; the in-memory ring cannot.
func (k *Keyring) Encrypt(plaintext, aad []byte) (string, error) {
	aead := k.aeads[k.current]
	header := version + "." + k.current + "."
	sealed := aead.Seal(nil, nil, plaintext, additionalData(header, aad))
	return header + payloadEncoding.EncodeToString(sealed), nil
}

// Decrypt opens a ciphertext produced by Encrypt under any key in the ring.
// Errors wrap [ErrMalformed], [ErrUnknownKey] or [ErrDecrypt].
func (k *Keyring) Decrypt(ciphertext string, aad []byte) ([]byte, error) {
	kid, payload, err := parse(ciphertext)
	if err != nil {
		return nil, err
	}
	aead, ok := k.aeads[kid]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, kid)
	}
	header := version + "." + kid + "."
	plaintext, err := aead.Open(nil, nil, payload, additionalData(header, aad))
	if err != nil {
		// The cipher's own error says nothing more useful and is dropped so
		// no future implementation detail can leak through it.
		return nil, fmt.Errorf("%w (key %q)", ErrDecrypt, kid)
	}
	if plaintext == nil {
		// Normalise so callers can tell "decrypted to empty" from nil.
		plaintext = []byte{}
	}
	return plaintext, nil
}

// EncryptString is Encrypt for the common case of a string credential.
func (k *Keyring) EncryptString(plaintext string, aad []byte) (string, error) {
	return k.Encrypt([]byte(plaintext), aad)
}

// DecryptString is Decrypt for the common case of a string credential.
func (k *Keyring) DecryptString(ciphertext string, aad []byte) (string, error) {
	b, err := k.Decrypt(ciphertext, aad)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// KeyID returns the key id a ciphertext names, without decrypting it, so
// callers can report which keys are still in use. It checks the whole format
// and wraps [ErrMalformed] on failure.
func KeyID(ciphertext string) (string, error) {
	kid, _, err := parse(ciphertext)
	return kid, err
}

// NeedsRotation reports whether ciphertext is not sealed under the current
// key. A malformed value also reports true: it needs attention, and passing
// it to [Keyring.Reencrypt] surfaces the actual error.
func (k *Keyring) NeedsRotation(ciphertext string) bool {
	kid, err := KeyID(ciphertext)
	return err != nil || kid != k.current
}

// Reencrypt opens ciphertext with whichever key it names and seals it again
// under the current key. When it already uses the current key it returns the
// same string and false, but only after decrypting it, so success always means
// the value is readable with this aad.
func (k *Keyring) Reencrypt(ciphertext string, aad []byte) (string, bool, error) {
	plaintext, err := k.Decrypt(ciphertext, aad)
	if err != nil {
		return "", false, err
	}
	defer clear(plaintext)
	kid, _ := KeyID(ciphertext) // cannot fail: Decrypt parsed it
	if kid == k.current {
		return ciphertext, false, nil
	}
	out, err := k.Encrypt(plaintext, aad)
	if err != nil {
		return "", false, err
	}
	return out, true, nil
}

// parse splits "v1.<kid>.<payload>" and decodes the payload. It never looks
// up the key so [KeyID] can share it.
func parse(ciphertext string) (kid string, payload []byte, err error) {
	ver, rest, ok := strings.Cut(ciphertext, ".")
	if !ok {
		return "", nil, fmt.Errorf("%w: missing version", ErrMalformed)
	}
	if ver != version {
		return "", nil, fmt.Errorf("%w: unsupported version", ErrMalformed)
	}
	kid, encoded, ok := strings.Cut(rest, ".")
	if !ok {
		return "", nil, fmt.Errorf("%w: missing key id", ErrMalformed)
	}
	if !kidPattern.MatchString(kid) {
		return "", nil, fmt.Errorf("%w: invalid key id", ErrMalformed)
	}
	payload, err = payloadEncoding.DecodeString(encoded)
	if err != nil {
		return "", nil, fmt.Errorf("%w: payload is not base64url", ErrMalformed)
	}
	if len(payload) < nonceSize+tagSize {
		return "", nil, fmt.Errorf("%w: payload too short", ErrMalformed)
	}
	return kid, payload, nil
}

// additionalData binds the header to the caller's aad. The header ends in
// '.', and key ids cannot contain one, so header and aad cannot be shifted
// into each other to forge a different pair with the same bytes.
func additionalData(header string, aad []byte) []byte {
	ad := make([]byte, 0, len(header)+len(aad))
	ad = append(ad, header...)
	return append(ad, aad...)
}
