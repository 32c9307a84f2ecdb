package auth

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

const (
	jwtTestSecret   = "0123456789abcdef0123456789abcdef-test"
	jwtTestIssuer   = "leadpilot"
	jwtTestAudience = "leadpilot-api"
	jwtTestTTL      = 15 * time.Minute
)

// jwtClock is a settable time source for Tokens.now.
type jwtClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *jwtClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *jwtClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type tokensBundle struct {
	clock  *jwtClock
	user   uuid.UUID
	org    uuid.UUID
	family uuid.UUID
}

// newTestTokens builds a signer on the shared jwtClock.
func newTestTokens(secret, issuer, audience string, c *jwtClock) *Tokens {
	tk := NewTokens(secret, issuer, audience, jwtTestTTL)
	tk.now = c.Now
	return tk
}

func setupTokens(t *testing.T) (*Tokens, *tokensBundle) {
	t.Helper()
	// Whole seconds, since JWT times are NumericDates in seconds.
	c := &jwtClock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	b := &tokensBundle{clock: c, user: uuid.New(), org: uuid.New(), family: uuid.New()}
	return newTestTokens(jwtTestSecret, jwtTestIssuer, jwtTestAudience, c), b
}

// sign signs claims with our secret (or another) and method, bypassing Issue.
func signClaims(t *testing.T, method jwt.SigningMethod, claims jwt.Claims, key any) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	require.NoError(t, err)
	return s
}

// jwtValidClaims are what Issue would produce at now.
func jwtValidClaims(b *tokensBundle) AccessClaims {
	now := b.clock.Now()
	return AccessClaims{
		OrgID: b.org.String(), Role: "admin", FamilyID: b.family.String(),
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    jwtTestIssuer,
			Subject:   b.user.String(),
			Audience:  jwt.ClaimStrings{jwtTestAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(jwtTestTTL)),
			ID:        uuid.NewString(),
		},
	}
}

// requireTokenInvalid asserts Verify refused s as invalid (not expired) and
// returned zero values.
func requireTokenInvalid(t *testing.T, tk *Tokens, s string) {
	t.Helper()
	user, org, claims, err := tk.Verify(s)
	require.ErrorIs(t, err, ErrTokenInvalid)
	require.NotErrorIs(t, err, ErrTokenExpired)
	require.Equal(t, uuid.Nil, user)
	require.Equal(t, uuid.Nil, org)
	require.Nil(t, claims)
}

func TestTokens(t *testing.T) {
	t.Parallel()

	t.Run("IssuedTokenVerifiesToItsIdsAndClaims", func(t *testing.T) {
		t.Parallel()
		tk, b := setupTokens(t)
		s, err := tk.Issue(b.user, b.org, "admin", b.family)
		require.NoError(t, err)

		user, org, claims, err := tk.Verify(s)
		require.NoError(t, err)
		require.Equal(t, b.user, user)
		require.Equal(t, b.org, org)
		require.Equal(t, "admin", claims.Role)
		require.Equal(t, b.org.String(), claims.OrgID)
		require.Equal(t, b.family.String(), claims.FamilyID)
		require.Equal(t, jwtTestIssuer, claims.Issuer)
		require.Equal(t, jwt.ClaimStrings{jwtTestAudience}, claims.Audience)
		require.Equal(t, b.clock.Now(), claims.IssuedAt.UTC())
		require.Equal(t, b.clock.Now().Add(jwtTestTTL), claims.ExpiresAt.UTC())
		require.NotEmpty(t, claims.ID)
		require.Equal(t, jwtTestTTL, tk.TTL())
	})
	t.Run("EachTokenHasItsOwnID", func(t *testing.T) {
		t.Parallel()
		tk, b := setupTokens(t)
		s1, err := tk.Issue(b.user, b.org, "member", b.family)
		require.NoError(t, err)
		s2, err := tk.Issue(b.user, b.org, "member", b.family)
		require.NoError(t, err)
		_, _, c1, err := tk.Verify(s1)
		require.NoError(t, err)
		_, _, c2, err := tk.Verify(s2)
		require.NoError(t, err)
		require.NotEqual(t, c1.ID, c2.ID)
	})
	t.Run("HeaderPinsHS256", func(t *testing.T) {
		t.Parallel()
		tk, b := setupTokens(t)
		s, err := tk.Issue(b.user, b.org, "owner", b.family)
		require.NoError(t, err)
		raw, err := base64.RawURLEncoding.DecodeString(strings.Split(s, ".")[0])
		require.NoError(t, err)
		var header map[string]any
		require.NoError(t, json.Unmarshal(raw, &header))
		require.Equal(t, "HS256", header["alg"])
	})
	t.Run("TokenIsValidWithinTheLeeway", func(t *testing.T) {
		t.Parallel()
		tk, b := setupTokens(t)
		s, err := tk.Issue(b.user, b.org, "admin", b.family)
		require.NoError(t, err)
		b.clock.Advance(jwtTestTTL + 4*time.Second)
		_, _, _, err = tk.Verify(s)
		require.NoError(t, err)
	})
	t.Run("TokenPastTTLAndLeewayIsExpired", func(t *testing.T) {
		t.Parallel()
		tk, b := setupTokens(t)
		s, err := tk.Issue(b.user, b.org, "admin", b.family)
		require.NoError(t, err)
		b.clock.Advance(jwtTestTTL + 6*time.Second)
		user, org, claims, err := tk.Verify(s)
		require.ErrorIs(t, err, ErrTokenExpired)
		require.NotErrorIs(t, err, ErrTokenInvalid)
		require.Equal(t, uuid.Nil, user)
		require.Equal(t, uuid.Nil, org)
		require.Nil(t, claims)
	})
	t.Run("ExpiredTokenWithAForeignSignatureIsInvalidNotExpired", func(t *testing.T) {
		t.Parallel()
		tk, b := setupTokens(t)
		other := newTestTokens("another-secret-another-secret-another", jwtTestIssuer, jwtTestAudience, b.clock)
		s, err := other.Issue(b.user, b.org, "admin", b.family)
		require.NoError(t, err)
		b.clock.Advance(time.Hour)
		requireTokenInvalid(t, tk, s)
	})
	t.Run("TokenFromAnotherSecretIsInvalid", func(t *testing.T) {
		t.Parallel()
		tk, b := setupTokens(t)
		other := newTestTokens("another-secret-another-secret-another", jwtTestIssuer, jwtTestAudience, b.clock)
		s, err := other.Issue(b.user, b.org, "admin", b.family)
		require.NoError(t, err)
		requireTokenInvalid(t, tk, s)
	})
	t.Run("TokenFromAnotherIssuerIsInvalid", func(t *testing.T) {
		t.Parallel()
		tk, b := setupTokens(t)
		other := newTestTokens(jwtTestSecret, "someone-else", jwtTestAudience, b.clock)
		s, err := other.Issue(b.user, b.org, "admin", b.family)
		require.NoError(t, err)
		requireTokenInvalid(t, tk, s)
	})
	t.Run("TokenForAnotherAudienceIsInvalid", func(t *testing.T) {
		t.Parallel()
		tk, b := setupTokens(t)
		other := newTestTokens(jwtTestSecret, jwtTestIssuer, "another-api", b.clock)
		s, err := other.Issue(b.user, b.org, "admin", b.family)
		require.NoError(t, err)
		requireTokenInvalid(t, tk, s)
	})
	t.Run("TamperedPayloadIsInvalid", func(t *testing.T) {
		t.Parallel()
		tk, b := setupTokens(t)
		s, err := tk.Issue(b.user, b.org, "member", b.family)
		require.NoError(t, err)
		parts := strings.Split(s, ".")
		raw, err := base64.RawURLEncoding.DecodeString(parts[1])
		require.NoError(t, err)
		var payload map[string]any
		require.NoError(t, json.Unmarshal(raw, &payload))
		payload["role"] = "owner"
		raw, err = json.Marshal(payload)
		require.NoError(t, err)
		parts[1] = base64.RawURLEncoding.EncodeToString(raw)
		requireTokenInvalid(t, tk, strings.Join(parts, "."))
	})
	t.Run("TamperedSignatureIsInvalid", func(t *testing.T) {
		t.Parallel()
		tk, b := setupTokens(t)
		s, err := tk.Issue(b.user, b.org, "member", b.family)
		require.NoError(t, err)
		parts := strings.Split(s, ".")
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		require.NoError(t, err)
		sig[0] ^= 0x01
		parts[2] = base64.RawURLEncoding.EncodeToString(sig)
		requireTokenInvalid(t, tk, strings.Join(parts, "."))
	})
	t.Run("GarbageIsInvalid", func(t *testing.T) {
		t.Parallel()
		tk, _ := setupTokens(t)
		for _, s := range []string{"", "not-a-token", "a.b.c", "a.b"} {
			requireTokenInvalid(t, tk, s)
		}
	})
	t.Run("UnsignedAlgNoneTokenIsInvalid", func(t *testing.T) {
		t.Parallel()
		tk, b := setupTokens(t)
		s := signClaims(t, jwt.SigningMethodNone, jwtValidClaims(b), jwt.UnsafeAllowNoneSignatureType)
		requireTokenInvalid(t, tk, s)
		// Also with the signature stripped from a genuine token's shape.
		parts := strings.Split(s, ".")
		requireTokenInvalid(t, tk, parts[0]+"."+parts[1]+".")
	})
	t.Run("OtherHMACAlgorithmsWithTheSameSecretAreInvalid", func(t *testing.T) {
		t.Parallel()
		tk, b := setupTokens(t)
		for _, m := range []jwt.SigningMethod{jwt.SigningMethodHS384, jwt.SigningMethodHS512} {
			s := signClaims(t, m, jwtValidClaims(b), []byte(jwtTestSecret))
			requireTokenInvalid(t, tk, s)
		}
	})
	t.Run("LifetimeWithinTTLAndLeewayVerifies", func(t *testing.T) {
		t.Parallel()
		// The cap on exp - iat leaves room for rounding and skew.
		tk, b := setupTokens(t)
		c := jwtValidClaims(b)
		c.ExpiresAt = jwt.NewNumericDate(b.clock.Now().Add(jwtTestTTL + 4*time.Second))
		_, _, _, err := tk.Verify(signClaims(t, jwt.SigningMethodHS256, c, []byte(jwtTestSecret)))
		require.NoError(t, err)
	})
	t.Run("SelfSignedHS256ClaimsVerify", func(t *testing.T) {
		t.Parallel()
		// Control for the forged-claims cases below: the helper's claims are
		// accepted, so each rejection is down to the one change made.
		tk, b := setupTokens(t)
		user, org, _, err := tk.Verify(signClaims(t, jwt.SigningMethodHS256, jwtValidClaims(b), []byte(jwtTestSecret)))
		require.NoError(t, err)
		require.Equal(t, b.user, user)
		require.Equal(t, b.org, org)
	})

	for name, mutate := range map[string]func(c *AccessClaims, now time.Time){
		"SubjectThatIsNotAUUIDIsInvalid": func(c *AccessClaims, _ time.Time) { c.Subject = "alice@example.com" },
		"MissingSubjectIsInvalid":        func(c *AccessClaims, _ time.Time) { c.Subject = "" },
		"OrgIDThatIsNotAUUIDIsInvalid":   func(c *AccessClaims, _ time.Time) { c.OrgID = "acme" },
		"MissingOrgIDIsInvalid":          func(c *AccessClaims, _ time.Time) { c.OrgID = "" },
		"MissingExpiryIsInvalid":         func(c *AccessClaims, _ time.Time) { c.ExpiresAt = nil },
		"MissingIssuedAtIsInvalid":       func(c *AccessClaims, _ time.Time) { c.IssuedAt = nil },
		"TenYearLifetimeIsInvalid": func(c *AccessClaims, now time.Time) {
			c.ExpiresAt = jwt.NewNumericDate(now.AddDate(10, 0, 0))
		},
		"LifetimeJustOverTTLAndLeewayIsInvalid": func(c *AccessClaims, now time.Time) {
			c.ExpiresAt = jwt.NewNumericDate(now.Add(jwtTestTTL + 6*time.Second))
		},
		"BackdatedIssueWithALongLifetimeIsInvalid": func(c *AccessClaims, now time.Time) {
			// Still unexpired now, but minted to last a day.
			c.IssuedAt = jwt.NewNumericDate(now.Add(-time.Hour))
			c.NotBefore = c.IssuedAt
			c.ExpiresAt = jwt.NewNumericDate(now.Add(23 * time.Hour))
		},
		"MissingIssuerIsInvalid":   func(c *AccessClaims, _ time.Time) { c.Issuer = "" },
		"MissingAudienceIsInvalid": func(c *AccessClaims, _ time.Time) { c.Audience = nil },
		"IssuedInTheFutureIsInvalid": func(c *AccessClaims, now time.Time) {
			c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour))
		},
		"NotYetValidIsInvalid": func(c *AccessClaims, now time.Time) {
			c.NotBefore = jwt.NewNumericDate(now.Add(time.Hour))
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tk, b := setupTokens(t)
			c := jwtValidClaims(b)
			mutate(&c, b.clock.Now())
			requireTokenInvalid(t, tk, signClaims(t, jwt.SigningMethodHS256, c, []byte(jwtTestSecret)))
		})
	}
}
