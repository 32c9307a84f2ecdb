package secrets_test

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/secrets"
)

// newKey returns a fresh random AES-256 key.
func newKey(t testing.TB) []byte {
	t.Helper()
	key := make([]byte, secrets.KeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)
	return key
}

// testBundle carries the keys behind a ring so tests can build related
// rings (same keys, different current key or a key removed).
type testBundle struct {
	oldKey, newKey []byte
}

// setup returns a ring {old, new} encrypting with "old", and the keys.
func setup(t testing.TB) (*secrets.Keyring, testBundle) {
	t.Helper()
	b := testBundle{oldKey: newKey(t), newKey: newKey(t)}
	k, err := secrets.NewKeyring(map[string][]byte{"old": b.oldKey, "new": b.newKey}, "old")
	require.NoError(t, err)
	return k, b
}

func mustRing(t testing.TB, keys map[string][]byte, current string) *secrets.Keyring {
	t.Helper()
	k, err := secrets.NewKeyring(keys, current)
	require.NoError(t, err)
	return k
}

// splitCiphertext returns the "v1.<kid>." header and the decoded payload.
func splitCiphertext(t testing.TB, ct string) (string, []byte) {
	t.Helper()
	i := strings.LastIndexByte(ct, '.')
	require.Positive(t, i)
	payload, err := base64.RawURLEncoding.DecodeString(ct[i+1:])
	require.NoError(t, err)
	return ct[:i+1], payload
}

func joinCiphertext(header string, payload []byte) string {
	return header + base64.RawURLEncoding.EncodeToString(payload)
}

var aad = secrets.AAD("email_accounts", "credentials_encrypted", "0190a5f6-0000-7000-8000-000000000001")

func TestEncryptDecrypt(t *testing.T) {
	t.Parallel()

	t.Run("RoundTripsPlaintext", func(t *testing.T) {
		t.Parallel()
		k, _ := setup(t)
		ct, err := k.Encrypt([]byte("hunter2"), aad)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(ct, "v1.old."), ct)
		require.NotContains(t, ct, "hunter2")

		pt, err := k.Decrypt(ct, aad)
		require.NoError(t, err)
		require.Equal(t, []byte("hunter2"), pt)
	})

	t.Run("RoundTripsStrings", func(t *testing.T) {
		t.Parallel()
		k, _ := setup(t)
		ct, err := k.EncryptString("smtp-password", aad)
		require.NoError(t, err)
		pt, err := k.DecryptString(ct, aad)
		require.NoError(t, err)
		require.Equal(t, "smtp-password", pt)
	})

	t.Run("TwoEncryptionsOfTheSamePlaintextDiffer", func(t *testing.T) {
		t.Parallel()
		k, _ := setup(t)
		a, err := k.Encrypt([]byte("same"), aad)
		require.NoError(t, err)
		b, err := k.Encrypt([]byte("same"), aad)
		require.NoError(t, err)
		require.NotEqual(t, a, b)

		_, pa := splitCiphertext(t, a)
		_, pb := splitCiphertext(t, b)
		require.NotEqual(t, pa[:12], pb[:12], "nonces must differ")
	})

	t.Run("EmptyPlaintextRoundTrips", func(t *testing.T) {
		t.Parallel()
		k, _ := setup(t)
		ct, err := k.Encrypt(nil, aad)
		require.NoError(t, err)
		_, payload := splitCiphertext(t, ct)
		require.Len(t, payload, 12+16)

		pt, err := k.Decrypt(ct, aad)
		require.NoError(t, err)
		require.NotNil(t, pt)
		require.Empty(t, pt)
	})

	t.Run("EmptyAADRoundTrips", func(t *testing.T) {
		t.Parallel()
		k, _ := setup(t)
		ct, err := k.Encrypt([]byte("x"), nil)
		require.NoError(t, err)
		pt, err := k.Decrypt(ct, []byte{})
		require.NoError(t, err)
		require.Equal(t, []byte("x"), pt)
	})

	t.Run("CallerKeyBytesAreCopied", func(t *testing.T) {
		t.Parallel()
		key := newKey(t)
		keys := map[string][]byte{"k1": key}
		k := mustRing(t, keys, "k1")
		ct, err := k.Encrypt([]byte("x"), aad)
		require.NoError(t, err)

		clear(key)
		pt, err := k.Decrypt(ct, aad)
		require.NoError(t, err)
		require.Equal(t, []byte("x"), pt)
	})

	t.Run("PrintingTheRingShowsOnlyKeyIDs", func(t *testing.T) {
		t.Parallel()
		k, b := setup(t)
		for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%+v", k), fmt.Sprintf("%#v", k)} {
			require.Equal(t, "secrets.Keyring{current: old, keys: [new old]}", s)
			require.NotContains(t, s, base64.StdEncoding.EncodeToString(b.oldKey))
		}
	})

	t.Run("IsSafeForConcurrentUse", func(t *testing.T) {
		t.Parallel()
		k, _ := setup(t)
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 16 {
			wg.Go(func() {
				want := fmt.Sprintf("secret-%d", i)
				for range 50 {
					ct, err := k.EncryptString(want, aad)
					if err != nil {
						errs <- err
						return
					}
					got, err := k.DecryptString(ct, aad)
					if err != nil {
						errs <- err
						return
					}
					if got != want {
						errs <- fmt.Errorf("got %q, want %q", got, want)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
	})
}

func TestDecryptRejects(t *testing.T) {
	t.Parallel()

	// flip returns ct with one bit of payload byte i flipped; negative i
	// counts from the end.
	flip := func(t *testing.T, ct string, i int) string {
		t.Helper()
		header, payload := splitCiphertext(t, ct)
		if i < 0 {
			i += len(payload)
		}
		payload[i] ^= 0x01
		return joinCiphertext(header, payload)
	}

	tampering := []struct {
		name string
		edit func(t *testing.T, ct string) string
	}{
		{"TamperedCiphertextByteFailsAuthentication", func(t *testing.T, ct string) string { return flip(t, ct, 12) }},
		{"TamperedNonceFailsAuthentication", func(t *testing.T, ct string) string { return flip(t, ct, 0) }},
		{"TamperedTagFailsAuthentication", func(t *testing.T, ct string) string { return flip(t, ct, -1) }},
		{"TruncatedPayloadFailsAuthentication", func(t *testing.T, ct string) string {
			header, payload := splitCiphertext(t, ct)
			return joinCiphertext(header, payload[:len(payload)-1])
		}},
	}
	for _, tc := range tampering {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k, _ := setup(t)
			ct, err := k.EncryptString("a credential", aad)
			require.NoError(t, err)

			pt, err := k.Decrypt(tc.edit(t, ct), aad)
			require.ErrorIs(t, err, secrets.ErrDecrypt)
			require.Nil(t, pt)
			require.NotContains(t, err.Error(), "a credential")
		})
	}

	t.Run("SwappedKeyIDFailsAuthentication", func(t *testing.T) {
		t.Parallel()
		k, _ := setup(t)
		ct, err := k.EncryptString("x", aad)
		require.NoError(t, err)
		swapped := strings.Replace(ct, "v1.old.", "v1.new.", 1)

		_, err = k.Decrypt(swapped, aad)
		require.ErrorIs(t, err, secrets.ErrDecrypt)
	})

	t.Run("SwappedKeyIDFailsEvenWhenBothIDsHoldTheSameKey", func(t *testing.T) {
		t.Parallel()
		// Only the header binding can catch this: the key itself matches.
		key := newKey(t)
		k := mustRing(t, map[string][]byte{"a": key, "b": key}, "a")
		ct, err := k.EncryptString("x", aad)
		require.NoError(t, err)

		_, err = k.Decrypt(strings.Replace(ct, "v1.a.", "v1.b.", 1), aad)
		require.ErrorIs(t, err, secrets.ErrDecrypt)
	})

	t.Run("UnknownKeyIDIsReported", func(t *testing.T) {
		t.Parallel()
		k, _ := setup(t)
		ct, err := k.EncryptString("x", aad)
		require.NoError(t, err)

		_, err = k.Decrypt(strings.Replace(ct, "v1.old.", "v1.gone.", 1), aad)
		require.ErrorIs(t, err, secrets.ErrUnknownKey)
		require.Contains(t, err.Error(), `"gone"`)
	})

	t.Run("WrongAADFailsAuthentication", func(t *testing.T) {
		t.Parallel()
		k, _ := setup(t)
		ct, err := k.EncryptString("x", aad)
		require.NoError(t, err)

		for _, other := range [][]byte{
			secrets.AAD("email_accounts", "credentials_encrypted", "0190a5f6-0000-7000-8000-000000000002"),
			secrets.AAD("email_accounts", "oauth_refresh_token", "0190a5f6-0000-7000-8000-000000000001"),
			nil,
		} {
			_, err = k.Decrypt(ct, other)
			require.ErrorIs(t, err, secrets.ErrDecrypt, "aad %q", other)
		}
	})

	t.Run("MalformedInputsAreReported", func(t *testing.T) {
		t.Parallel()
		k, _ := setup(t)
		valid, err := k.EncryptString("x", aad)
		require.NoError(t, err)
		_, payload := splitCiphertext(t, valid)
		body := base64.RawURLEncoding.EncodeToString(payload)

		cases := []struct{ name, in string }{
			{"empty", ""},
			{"version only", "v1"},
			{"no payload separator", "v1.old"},
			{"bad version", "v2.old." + body},
			{"uppercase version", "V1.old." + body},
			{"empty key id", "v1.." + body},
			{"invalid key id", "v1.OLD." + body},
			{"key id too long", "v1.abcdefghijklmnopq." + body},
			{"empty payload", "v1.old."},
			{"bad base64", "v1.old.!!!!"},
			{"padded base64", "v1.old." + base64.URLEncoding.EncodeToString(payload)},
			{"standard alphabet", "v1.old.+/" + body[2:]},
			{"extra field", valid + ".x"},
			{"too short", "v1.old." + base64.RawURLEncoding.EncodeToString(payload[:27])},
			{"whitespace", " " + valid},
		}
		for _, tc := range cases {
			_, err := k.Decrypt(tc.in, aad)
			require.ErrorIs(t, err, secrets.ErrMalformed, tc.name)
			_, err = secrets.KeyID(tc.in)
			require.ErrorIs(t, err, secrets.ErrMalformed, tc.name)
		}
	})
}

func TestRotation(t *testing.T) {
	t.Parallel()

	t.Run("NewCurrentKeyReadsOldCiphertexts", func(t *testing.T) {
		t.Parallel()
		oldRing, b := setup(t)
		ct, err := oldRing.EncryptString("imap-password", aad)
		require.NoError(t, err)
		kid, err := secrets.KeyID(ct)
		require.NoError(t, err)
		require.Equal(t, "old", kid)

		newRing := mustRing(t, map[string][]byte{"old": b.oldKey, "new": b.newKey}, "new")
		require.Equal(t, "new", newRing.CurrentKeyID())
		pt, err := newRing.DecryptString(ct, aad)
		require.NoError(t, err)
		require.Equal(t, "imap-password", pt)
		require.True(t, newRing.NeedsRotation(ct))
		require.False(t, oldRing.NeedsRotation(ct))
	})

	t.Run("ReencryptMovesToTheCurrentKey", func(t *testing.T) {
		t.Parallel()
		oldRing, b := setup(t)
		ct, err := oldRing.EncryptString("imap-password", aad)
		require.NoError(t, err)

		newRing := mustRing(t, map[string][]byte{"old": b.oldKey, "new": b.newKey}, "new")
		fresh, changed, err := newRing.Reencrypt(ct, aad)
		require.NoError(t, err)
		require.True(t, changed)
		kid, err := secrets.KeyID(fresh)
		require.NoError(t, err)
		require.Equal(t, "new", kid)
		require.False(t, newRing.NeedsRotation(fresh))

		onlyNew := mustRing(t, map[string][]byte{"new": b.newKey}, "new")
		pt, err := onlyNew.DecryptString(fresh, aad)
		require.NoError(t, err)
		require.Equal(t, "imap-password", pt)

		again, changed, err := newRing.Reencrypt(fresh, aad)
		require.NoError(t, err)
		require.False(t, changed)
		require.Equal(t, fresh, again)
	})

	t.Run("ReencryptRefusesAValueItCannotRead", func(t *testing.T) {
		t.Parallel()
		k, _ := setup(t)
		ct, err := k.EncryptString("x", aad)
		require.NoError(t, err)

		out, changed, err := k.Reencrypt(ct, []byte("elsewhere"))
		require.ErrorIs(t, err, secrets.ErrDecrypt)
		require.False(t, changed)
		require.Empty(t, out)
	})

	t.Run("RingWithoutTheOldKeyReportsUnknownKey", func(t *testing.T) {
		t.Parallel()
		oldRing, b := setup(t)
		ct, err := oldRing.EncryptString("x", aad)
		require.NoError(t, err)

		onlyNew := mustRing(t, map[string][]byte{"new": b.newKey}, "new")
		_, err = onlyNew.Decrypt(ct, aad)
		require.ErrorIs(t, err, secrets.ErrUnknownKey)
		_, _, err = onlyNew.Reencrypt(ct, aad)
		require.ErrorIs(t, err, secrets.ErrUnknownKey)
	})

	t.Run("MalformedValuesNeedRotation", func(t *testing.T) {
		t.Parallel()
		k, _ := setup(t)
		require.True(t, k.NeedsRotation("plaintext-from-before-encryption"))
	})
}

func TestNewKeyring(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name    string
		keys    map[string][]byte
		current string
		want    string
	}{
		{"NoKeysIsAnError", nil, "k1", "at least one key"},
		{"MissingCurrentKeyIsAnError", map[string][]byte{"k1": make([]byte, 32)}, "k2", `current key id "k2"`},
		{"ShortKeyIsAnError", map[string][]byte{"k1": make([]byte, 16)}, "k1", `key "k1" is 16 bytes`},
		{"InvalidKeyIDIsAnError", map[string][]byte{"K.1": make([]byte, 32)}, "K.1", `key id "K.1"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k, err := secrets.NewKeyring(tc.keys, tc.current)
			require.ErrorContains(t, err, tc.want)
			require.Nil(t, k)
		})
	}
}

// FuzzDecrypt checks that no input string makes Decrypt or KeyID panic, and
// that every failure is one of the three documented sentinels.
func FuzzDecrypt(f *testing.F) {
	k, _ := setup(f)
	valid, err := k.EncryptString("seed", aad)
	require.NoError(f, err)
	empty, err := k.Encrypt(nil, nil)
	require.NoError(f, err)

	for _, seed := range []string{
		valid, empty, "", ".", "..", "v1", "v1.", "v1..", "v1.old.", "v1.old.AAAA",
		"v2.old.AAAA", "v1.gone." + strings.Repeat("A", 40), valid + "=", valid[:len(valid)-1],
		strings.Replace(valid, "v1.old.", "v1.new.", 1), "v1.old.\x00\xff", "v1.ölд.AAAA",
	} {
		f.Add(seed, []byte(aad))
	}
	f.Fuzz(func(t *testing.T, ct string, ad []byte) {
		pt, err := k.Decrypt(ct, ad)
		if err == nil {
			// Only an authentic value can decrypt; the fuzzer may rediscover
			// a seed with its own aad but cannot forge a new one.
			switch {
			case ct == valid && string(ad) == string(aad):
				require.Equal(t, []byte("seed"), pt)
			case ct == empty && len(ad) == 0:
				require.Empty(t, pt)
			default:
				t.Fatalf("forged ciphertext %q decrypted", ct)
			}
			return
		}
		require.Nil(t, pt)
		require.True(t,
			errors.Is(err, secrets.ErrMalformed) || errors.Is(err, secrets.ErrUnknownKey) || errors.Is(err, secrets.ErrDecrypt),
			"unexpected error %v", err)
		_, _ = secrets.KeyID(ct)
		_ = k.NeedsRotation(ct)
	})
}
