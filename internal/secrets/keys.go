package secrets

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// keyEncodings are tried in turn because operators produce keys with
// whatever tool is at hand (openssl rand -base64 32, Go's URL encoding,
// padding stripped by a config system); all of them mean the same 32 bytes.
var keyEncodings = []*base64.Encoding{
	base64.StdEncoding,
	base64.RawStdEncoding,
	base64.URLEncoding,
	base64.RawURLEncoding,
}

// ParseKeys reads a key list such as "k2024:BASE64,k2025:BASE64", the form
// keys take in an environment variable. Each key must decode (standard or
// URL base64, padded or not) to exactly 32 bytes, and each id must match
// ^[a-z0-9_-]{1,16}$ and appear once. Whitespace around entries is ignored.
// Errors name the offending entry or id but never echo key material, so they
// are safe to print at startup.
func ParseKeys(spec string) (map[string][]byte, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, errors.New("secrets: key list is empty")
	}
	keys := make(map[string][]byte)
	for i, entry := range strings.Split(spec, ",") {
		pos := i + 1
		entry = strings.TrimSpace(entry)
		if entry == "" {
			return nil, fmt.Errorf("secrets: key list entry %d is empty", pos)
		}
		kid, encoded, ok := strings.Cut(entry, ":")
		if !ok {
			// The entry may be a bare key, so it is not quoted.
			return nil, fmt.Errorf("secrets: key list entry %d: want kid:base64", pos)
		}
		kid = strings.TrimSpace(kid)
		encoded = strings.TrimSpace(encoded)
		if !kidPattern.MatchString(kid) {
			if len(kid) > 16 {
				// Likely a key pasted in the id position; do not print it.
				return nil, fmt.Errorf("secrets: key list entry %d: key id longer than 16 characters", pos)
			}
			return nil, fmt.Errorf("secrets: key list entry %d: key id %q must match %s", pos, kid, kidPattern)
		}
		if _, dup := keys[kid]; dup {
			return nil, fmt.Errorf("secrets: duplicate key id %q", kid)
		}
		key, err := decodeKey(encoded)
		if err != nil {
			return nil, fmt.Errorf("secrets: key %q: %w", kid, err)
		}
		keys[kid] = key
	}
	return keys, nil
}

// decodeKey returns errors that describe the problem without repeating any
// part of the input (base64's own errors are only offsets, but are dropped
// anyway so that stays true).
func decodeKey(encoded string) ([]byte, error) {
	if encoded == "" {
		return nil, errors.New("key is empty")
	}
	for _, enc := range keyEncodings {
		key, err := enc.DecodeString(encoded)
		if err != nil {
			continue
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("key decodes to %d bytes, want %d", len(key), KeySize)
		}
		return key, nil
	}
	return nil, errors.New("key is not valid base64")
}
