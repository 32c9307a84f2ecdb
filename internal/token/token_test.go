package token_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/token"
)

// body is 32 random bytes in unpadded base64url.
var body = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

func TestNew(t *testing.T) {
	t.Parallel()
	for name, prefix := range map[string]string{
		"APIKeyCarriesItsPrefix":       token.PrefixAPIKey,
		"RefreshTokenCarriesItsPrefix": token.PrefixRefresh,
		"InviteTokenCarriesItsPrefix":  token.PrefixInvite,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			secret, hash := token.New(prefix)
			require.True(t, strings.HasPrefix(secret, prefix), secret)
			rest := strings.TrimPrefix(secret, prefix)
			require.Regexp(t, body, rest)
			raw, err := base64.RawURLEncoding.DecodeString(rest)
			require.NoError(t, err)
			require.Len(t, raw, 32)
			require.Equal(t, token.Hash(secret), hash)
		})
	}
	t.Run("PrefixesAreDistinct", func(t *testing.T) {
		t.Parallel()
		// No prefix may start another, or a key could be taken for another kind.
		ps := []string{token.PrefixAPIKey, token.PrefixRefresh, token.PrefixInvite}
		for i, a := range ps {
			for j, b := range ps {
				if i != j {
					require.False(t, strings.HasPrefix(a, b), "%q starts with %q", a, b)
				}
			}
		}
	})
	t.Run("SecretsAreDistinct", func(t *testing.T) {
		t.Parallel()
		seen := map[string]bool{}
		hashes := map[string]bool{}
		for range 1000 {
			s, h := token.New(token.PrefixAPIKey)
			require.False(t, seen[s], "repeated secret %s", s)
			require.False(t, hashes[string(h)], "repeated hash")
			seen[s], hashes[string(h)] = true, true
		}
	})
	t.Run("EmptyPrefixGivesTheBareBody", func(t *testing.T) {
		t.Parallel()
		secret, _ := token.New("")
		require.Regexp(t, body, secret)
	})
}

func TestHash(t *testing.T) {
	t.Parallel()

	t.Run("IsDeterministic", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, token.Hash("lp_abc"), token.Hash("lp_abc"))
	})
	t.Run("Is32Bytes", func(t *testing.T) {
		t.Parallel()
		for _, s := range []string{"", "lp_x", strings.Repeat("z", 10_000)} {
			require.Len(t, token.Hash(s), 32)
		}
	})
	t.Run("DiffersAcrossSecrets", func(t *testing.T) {
		t.Parallel()
		require.NotEqual(t, token.Hash("lp_abc"), token.Hash("lp_abd"))
		require.NotEqual(t, token.Hash("lp_abc"), token.Hash("lpr_abc"), "the prefix is part of what is hashed")
	})
	t.Run("IsSHA256OfTheWholeSecret", func(t *testing.T) {
		t.Parallel()
		want, err := hex.DecodeString("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
		require.NoError(t, err)
		require.Equal(t, want, token.Hash(""))
		sum := sha256.Sum256([]byte("lpi_secret"))
		require.Equal(t, sum[:], token.Hash("lpi_secret"))
	})
	t.Run("ReturnsAFreshSliceEachCall", func(t *testing.T) {
		t.Parallel()
		a := token.Hash("lp_abc")
		a[0] ^= 0xff
		require.NotEqual(t, a, token.Hash("lp_abc"))
	})
}
