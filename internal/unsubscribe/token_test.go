package unsubscribe_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/unsubscribe"
)

var (
	secretA = []byte("0123456789abcdef0123456789abcdef-a")
	secretB = []byte("0123456789abcdef0123456789abcdef-b")
)

func setup(t *testing.T) (*unsubscribe.Signer, uuid.UUID, uuid.UUID) {
	t.Helper()
	s, err := unsubscribe.NewSigner(secretA)
	require.NoError(t, err)
	return s, uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
}

func TestToken(t *testing.T) {
	t.Parallel()

	t.Run("RoundTrips", func(t *testing.T) {
		t.Parallel()
		s, org, lead := setup(t)
		tok := s.Token(org, lead)
		require.Len(t, tok, unsubscribe.TokenLength)
		require.Equal(t, 66, unsubscribe.TokenLength)
		require.Equal(t, tok, url.PathEscape(tok), "a token needs no escaping")
		gotOrg, gotLead, err := s.Parse(tok)
		require.NoError(t, err)
		require.Equal(t, org, gotOrg)
		require.Equal(t, lead, gotLead)
		require.Equal(t, tok, s.Token(org, lead), "the same pair always gives the same token")
	})

	t.Run("LayoutIsVersionOrgLeadTag", func(t *testing.T) {
		t.Parallel()
		s, org, lead := setup(t)
		raw, err := base64.RawURLEncoding.DecodeString(s.Token(org, lead))
		require.NoError(t, err)
		require.Len(t, raw, 49)
		require.Equal(t, byte(1), raw[0])
		require.Equal(t, org[:], raw[1:17])
		require.Equal(t, lead[:], raw[17:33])
	})

	t.Run("DifferentLeadsAndOrgsDifferentTokens", func(t *testing.T) {
		t.Parallel()
		s, org, lead := setup(t)
		require.NotEqual(t, s.Token(org, lead), s.Token(lead, org))
		require.NotEqual(t, s.Token(org, lead), s.Token(org, uuid.Must(uuid.NewV7())))
	})

	t.Run("RejectsEveryTamperedCharacter", func(t *testing.T) {
		t.Parallel()
		s, org, lead := setup(t)
		tok := s.Token(org, lead)
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		for i := range len(tok) {
			for _, c := range []byte(alphabet) {
				if c == tok[i] {
					continue
				}
				bad := []byte(tok)
				bad[i] = c
				_, _, err := s.Parse(string(bad))
				require.Error(t, err, "character %d changed to %q", i, c)
			}
		}
	})

	t.Run("RejectsEveryTamperedByte", func(t *testing.T) {
		t.Parallel()
		s, org, lead := setup(t)
		raw, err := base64.RawURLEncoding.DecodeString(s.Token(org, lead))
		require.NoError(t, err)
		for i := range raw {
			for _, flip := range []byte{0x01, 0x80, 0xff} {
				bad := bytes.Clone(raw)
				bad[i] ^= flip
				_, _, err := s.Parse(base64.RawURLEncoding.EncodeToString(bad))
				require.Error(t, err, "byte %d xor %#x", i, flip)
				if i == 0 {
					require.ErrorIs(t, err, unsubscribe.ErrMalformed)
				} else {
					require.ErrorIs(t, err, unsubscribe.ErrForged)
				}
			}
		}
	})

	t.Run("SwappingTheLeadIsForged", func(t *testing.T) {
		t.Parallel()
		s, org, lead := setup(t)
		raw, _ := base64.RawURLEncoding.DecodeString(s.Token(org, lead))
		other := uuid.Must(uuid.NewV7())
		copy(raw[17:33], other[:])
		_, _, err := s.Parse(base64.RawURLEncoding.EncodeToString(raw))
		require.ErrorIs(t, err, unsubscribe.ErrForged)
	})

	t.Run("RejectsAnotherKeysToken", func(t *testing.T) {
		t.Parallel()
		s, org, lead := setup(t)
		other, err := unsubscribe.NewSigner(secretB)
		require.NoError(t, err)
		_, _, err = other.Parse(s.Token(org, lead))
		require.ErrorIs(t, err, unsubscribe.ErrForged)
	})

	t.Run("RetiredSecretsStillParseButDoNotSign", func(t *testing.T) {
		t.Parallel()
		old, org, lead := setup(t)
		rotated, err := unsubscribe.NewSigner(secretB, secretA)
		require.NoError(t, err)
		fresh, err := unsubscribe.NewSigner(secretB)
		require.NoError(t, err)

		gotOrg, gotLead, err := rotated.Parse(old.Token(org, lead))
		require.NoError(t, err)
		require.Equal(t, org, gotOrg)
		require.Equal(t, lead, gotLead)
		require.Equal(t, fresh.Token(org, lead), rotated.Token(org, lead))
		_, _, err = old.Parse(rotated.Token(org, lead))
		require.ErrorIs(t, err, unsubscribe.ErrForged)
	})

	t.Run("KeyIsDerivedNotTheSecretItself", func(t *testing.T) {
		t.Parallel()
		s, org, lead := setup(t)
		raw, _ := base64.RawURLEncoding.DecodeString(s.Token(org, lead))
		plain := hmacSHA256(secretA, raw[:33])
		require.NotEqual(t, plain[:16], raw[33:], "an HMAC with the raw master secret must not verify")
	})

	t.Run("RejectsMalformed", func(t *testing.T) {
		t.Parallel()
		s, org, lead := setup(t)
		tok := s.Token(org, lead)
		raw, _ := base64.RawURLEncoding.DecodeString(tok)
		cases := map[string]string{
			"Empty":           "",
			"Truncated":       tok[:65],
			"Extended":        tok + "A",
			"Padded":          base64.URLEncoding.EncodeToString(raw),
			"StdAlphabet":     strings.NewReplacer("-", "+", "_", "/").Replace(tok),
			"Whitespace":      " " + tok[1:],
			"Version2":        base64.RawURLEncoding.EncodeToString(append([]byte{2}, raw[1:]...)),
			"NonCanonicalEnd": tok[:65] + string(nonCanonicalLast(tok[65])),
		}
		for name, bad := range cases {
			if bad == tok {
				continue // StdAlphabet when the token has neither '-' nor '_'
			}
			_, _, err := s.Parse(bad)
			require.ErrorIs(t, err, unsubscribe.ErrMalformed, name)
			if len(bad) > 20 {
				require.NotContains(t, err.Error(), bad[10:20], "errors never echo the token")
			}
		}
	})

	t.Run("NewSignerWantsALongSecret", func(t *testing.T) {
		t.Parallel()
		_, err := unsubscribe.NewSigner([]byte("short"))
		require.Error(t, err)
		_, err = unsubscribe.NewSigner(nil)
		require.Error(t, err)
		_, err = unsubscribe.NewSigner(secretA, []byte("short"))
		require.ErrorContains(t, err, "retired secret 1")
	})

	t.Run("SignerPrintsNoKey", func(t *testing.T) {
		t.Parallel()
		s, _, _ := setup(t)
		require.Equal(t, "unsubscribe.Signer", fmt.Sprintf("%v %+v %#v", s, s, s)[:len("unsubscribe.Signer")])
		require.Equal(t, "unsubscribe.Signer unsubscribe.Signer unsubscribe.Signer", fmt.Sprintf("%v %+v %#v", s, s, s))
	})
}

// nonCanonicalLast returns a character decoding to the same final 2 bits
// as c but with some of the 4 unused trailing bits set.
func nonCanonicalLast(c byte) byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	return alphabet[strings.IndexByte(alphabet, c)|0x01]
}

func TestLinks(t *testing.T) {
	t.Parallel()
	s, org, lead := setup(t)
	tok := s.Token(org, lead)

	t.Run("URLAppendsTheToken", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, "https://app.example.com/u/"+tok, unsubscribe.URL("https://app.example.com/u", tok))
		require.Equal(t, "https://app.example.com/u/"+tok, unsubscribe.URL("https://app.example.com/u/", tok))
		u, err := url.Parse(unsubscribe.URL("https://app.example.com/u", tok))
		require.NoError(t, err)
		require.Equal(t, "/u/"+tok, u.Path)
	})

	t.Run("MailtoCarriesTheTokenInTheSubject", func(t *testing.T) {
		t.Parallel()
		m := unsubscribe.Mailto("unsubscribe+acme@mail.example.com", tok)
		require.Equal(t, "mailto:unsubscribe+acme@mail.example.com?subject=unsubscribe%20"+tok, m)
		u, err := url.Parse(m)
		require.NoError(t, err)
		require.Equal(t, "mailto", u.Scheme)
		require.Equal(t, "unsubscribe+acme@mail.example.com", u.Opaque)
		subject := u.Query().Get("subject")
		got, ok := unsubscribe.TokenFromSubject(subject)
		require.True(t, ok)
		require.Equal(t, tok, got)
	})

	t.Run("MailtoEscapesAnAwkwardAddress", func(t *testing.T) {
		t.Parallel()
		m := unsubscribe.Mailto("odd?name%@example.com", tok)
		require.True(t, strings.HasPrefix(m, "mailto:odd%3Fname%25@example.com?subject="), m)
	})

	t.Run("TokenFromSubjectSurvivesReplyPrefixes", func(t *testing.T) {
		t.Parallel()
		got, ok := unsubscribe.TokenFromSubject("Re: UNSUBSCRIBE " + tok)
		require.True(t, ok)
		require.Equal(t, tok, got)
		_, ok = unsubscribe.TokenFromSubject("unsubscribe me please")
		require.False(t, ok)
		_, ok = unsubscribe.TokenFromSubject("unsubscribe " + tok[:40] + "!" + tok[41:])
		require.False(t, ok)
	})
}

func FuzzParse(f *testing.F) {
	s, err := unsubscribe.NewSigner(secretA)
	require.NoError(f, err)
	tok := s.Token(uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()))
	f.Add(tok)
	f.Add("")
	f.Add(tok[:65] + "=")
	f.Add(strings.Repeat("A", unsubscribe.TokenLength))
	f.Fuzz(func(t *testing.T, in string) {
		org, lead, err := s.Parse(in)
		if err != nil {
			require.True(t, errors.Is(err, unsubscribe.ErrMalformed) || errors.Is(err, unsubscribe.ErrForged), "%v", err)
			require.Equal(t, uuid.Nil, org)
			require.Equal(t, uuid.Nil, lead)
			return
		}
		// Only a token this signer made parses, and it is canonical.
		require.Equal(t, in, s.Token(org, lead))
	})
}

func hmacSHA256(key, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return m.Sum(nil)
}
