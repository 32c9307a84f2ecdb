package secrets_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/secrets"
)

func TestParseKeys(t *testing.T) {
	t.Parallel()

	// Bytes chosen so the standard and URL alphabets differ ('+/' vs '-_').
	k1 := bytes.Repeat([]byte{0xfb, 0xef, 0xbe}, 11)[:32]
	k2 := bytes.Repeat([]byte{0x01}, 32)

	t.Run("AcceptsEveryBase64Flavour", func(t *testing.T) {
		t.Parallel()
		spec := "std:" + base64.StdEncoding.EncodeToString(k1) +
			", rawstd:" + base64.RawStdEncoding.EncodeToString(k1) +
			",url:" + base64.URLEncoding.EncodeToString(k1) +
			" ,rawurl:" + base64.RawURLEncoding.EncodeToString(k1) +
			",k_2-b:" + base64.StdEncoding.EncodeToString(k2)
		keys, err := secrets.ParseKeys(spec)
		require.NoError(t, err)
		require.Equal(t, map[string][]byte{"std": k1, "rawstd": k1, "url": k1, "rawurl": k1, "k_2-b": k2}, keys)

		// The result feeds NewKeyring directly.
		_, err = secrets.NewKeyring(keys, "k_2-b")
		require.NoError(t, err)
	})

	secret := base64.StdEncoding.EncodeToString(k1)
	cases := []struct {
		name string
		spec string
		want string
	}{
		{"RejectsAnEmptySpec", "", "empty"},
		{"RejectsABlankSpec", "  ", "empty"},
		{"RejectsAnEmptyEntry", "k1:" + secret + ",", "entry 2 is empty"},
		{"RejectsAnEntryWithoutAKeyID", secret, "entry 1: want kid:base64"},
		{"RejectsBadBase64", "k1:" + strings.Repeat("*", 44), `key "k1": key is not valid base64`},
		{"RejectsAnEmptyKey", "k1:", `key "k1": key is empty`},
		{"RejectsAShortKey", "k1:" + base64.StdEncoding.EncodeToString(k1[:16]), `key "k1": key decodes to 16 bytes, want 32`},
		{"RejectsALongKey", "k1:" + base64.StdEncoding.EncodeToString(append(k1, 0)), `key "k1": key decodes to 33 bytes, want 32`},
		{"RejectsAnUppercaseKeyID", "Prod:" + secret, `key id "Prod" must match`},
		{"RejectsAKeyIDWithADot", "a.b:" + secret, `key id "a.b" must match`},
		{"RejectsAnOverlongKeyIDWithoutPrintingIt", "abcdefghijklmnopq:" + secret, "longer than 16"},
		{"RejectsADuplicateKeyID", "k1:" + secret + ",k1:" + base64.StdEncoding.EncodeToString(k2), `duplicate key id "k1"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			keys, err := secrets.ParseKeys(tc.spec)
			require.ErrorContains(t, err, tc.want)
			require.Nil(t, keys)
			require.NotContains(t, err.Error(), secret, "error must not echo key material")
			require.NotContains(t, err.Error(), secret[:8], "error must not echo key material")
		})
	}

	t.Run("KeyPastedAsKeyIDIsNotPrinted", func(t *testing.T) {
		t.Parallel()
		_, err := secrets.ParseKeys(secret + ":k1")
		require.Error(t, err)
		require.NotContains(t, err.Error(), secret[:16])
	})
}
