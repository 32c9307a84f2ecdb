package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// tamperPayload re-signs nothing: it changes the role in s's payload and keeps
// s's signature.
func tamperPayload(t *testing.T, s string) string {
	t.Helper()
	parts := strings.Split(s, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var payload map[string]any
	require.NoError(t, json.Unmarshal(raw, &payload))
	payload["role"] = "owner"
	raw, err = json.Marshal(payload)
	require.NoError(t, err)
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

// tamperSignature flips one bit of s's signature.
func tamperSignature(t *testing.T, s string) string {
	t.Helper()
	parts := strings.Split(s, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	require.NoError(t, err)
	sig[len(sig)-1] ^= 0x80
	parts[2] = base64.RawURLEncoding.EncodeToString(sig)
	return strings.Join(parts, ".")
}

// verdict is Verify's outcome reduced to what callers branch on.
func verdict(tk *Tokens, s string) string {
	user, org, claims, err := tk.Verify(s)
	switch {
	case err == nil:
		return fmt.Sprintf("ok %s %s %s %s", user, org, claims.Role, claims.FamilyID)
	case errors.Is(err, ErrTokenExpired):
		return "expired"
	case errors.Is(err, ErrTokenInvalid):
		return "invalid"
	default:
		return "other: " + err.Error()
	}
}

func TestTokensVerifyCache(t *testing.T) {
	t.Parallel()

	t.Run("AVerifiedTokenIsCachedAndTheCacheIsUsed", func(t *testing.T) {
		t.Parallel()
		tk, b := setupTokens(t)
		s, err := tk.Issue(b.user, b.org, "admin", b.family)
		require.NoError(t, err)
		require.Equal(t, 0, tk.cache.len())
		_, _, _, err = tk.Verify(s)
		require.NoError(t, err)
		require.Equal(t, 1, tk.cache.len())

		// With the key changed, only a cache hit can still accept s.
		tk.secret = []byte("another-secret-another-secret-another")
		user, org, claims, err := tk.Verify(s)
		require.NoError(t, err)
		require.Equal(t, b.user, user)
		require.Equal(t, b.org, org)
		require.Equal(t, b.family.String(), claims.FamilyID)
		require.Equal(t, 1, tk.cache.len())
	})
	t.Run("FailedVerificationsAreNotCached", func(t *testing.T) {
		t.Parallel()
		tk, b := setupTokens(t)
		s, err := tk.Issue(b.user, b.org, "admin", b.family)
		require.NoError(t, err)
		requireTokenInvalid(t, tk, tamperSignature(t, s))
		requireTokenInvalid(t, tk, "a.b.c")
		require.Equal(t, 0, tk.cache.len())
	})
	t.Run("ACachedTokenIsNotUsedAtOrAfterItsExpiry", func(t *testing.T) {
		t.Parallel()
		tk, b := setupTokens(t)
		s, err := tk.Issue(b.user, b.org, "admin", b.family)
		require.NoError(t, err)
		_, _, _, err = tk.Verify(s)
		require.NoError(t, err)
		// Swap the key: a hit still accepts s, the full check refuses it.
		tk.secret = []byte("another-secret-another-secret-another")
		b.clock.Advance(jwtTestTTL + leeway - time.Nanosecond)
		_, _, _, err = tk.Verify(s)
		require.NoError(t, err, "the last instant before exp+leeway is still a hit")
		b.clock.Advance(time.Nanosecond)
		requireTokenInvalid(t, tk, s) // went to the full check
	})
	t.Run("ACachedTokenIsRefusedAsExpiredOnceItsTimeIsUp", func(t *testing.T) {
		t.Parallel()
		tk, b := setupTokens(t)
		s, err := tk.Issue(b.user, b.org, "admin", b.family)
		require.NoError(t, err)
		_, _, _, err = tk.Verify(s)
		require.NoError(t, err)
		b.clock.Advance(jwtTestTTL + leeway)
		user, org, claims, err := tk.Verify(s)
		require.ErrorIs(t, err, ErrTokenExpired)
		require.NotErrorIs(t, err, ErrTokenInvalid)
		require.Equal(t, uuid.Nil, user)
		require.Equal(t, uuid.Nil, org)
		require.Nil(t, claims)
		b.clock.Advance(time.Hour)
		require.Equal(t, "expired", verdict(tk, s))
	})
	t.Run("CachedAndUncachedAgreeAtEveryInstantAroundTheWindow", func(t *testing.T) {
		t.Parallel()
		tk, b := setupTokens(t)
		plain := newTestTokens(jwtTestSecret, jwtTestIssuer, jwtTestAudience, b.clock)
		plain.cache = nil
		c := jwtValidClaims(b)
		// nbf later than iat, so the start of the window is nbf's.
		c.NotBefore = jwt.NewNumericDate(b.clock.Now().Add(2 * time.Second))
		s := signClaims(t, jwt.SigningMethodHS256, c, []byte(jwtTestSecret))
		b.clock.Advance(3 * time.Second)
		require.Equal(t, verdict(plain, s), verdict(tk, s))
		require.Equal(t, 1, tk.cache.len())
		start := b.clock.Now()
		offsets := []time.Duration{
			-time.Hour, -leeway - 2*time.Second, -leeway - time.Second - time.Nanosecond, -leeway - time.Second,
			0, time.Minute, jwtTestTTL, jwtTestTTL + leeway - 3*time.Second - time.Nanosecond,
			jwtTestTTL + leeway - 3*time.Second, jwtTestTTL + time.Hour,
		}
		seen := map[string]bool{}
		for _, off := range offsets {
			b.clock.Advance(start.Add(off).Sub(b.clock.Now()))
			want := verdict(plain, s)
			require.Equal(t, want, verdict(tk, s), "at %s", off)
			seen[strings.Fields(want)[0]] = true
		}
		// The instants cover each answer, so the comparison means something.
		require.Equal(t, map[string]bool{"ok": true, "invalid": true, "expired": true}, seen)
	})
	t.Run("TamperedTokensAreRefusedWhileTheGenuineOneIsCached", func(t *testing.T) {
		t.Parallel()
		tk, b := setupTokens(t)
		s, err := tk.Issue(b.user, b.org, "member", b.family)
		require.NoError(t, err)
		_, _, claims, err := tk.Verify(s)
		require.NoError(t, err)
		require.Equal(t, "member", claims.Role)
		requireTokenInvalid(t, tk, tamperSignature(t, s))
		requireTokenInvalid(t, tk, tamperPayload(t, s))
		requireTokenInvalid(t, tk, s+"x")
		requireTokenInvalid(t, tk, s[:len(s)-1])
		// Each case again, now that the genuine one has been hit in between.
		_, _, _, err = tk.Verify(s)
		require.NoError(t, err)
		requireTokenInvalid(t, tk, tamperSignature(t, s))
		requireTokenInvalid(t, tk, tamperPayload(t, s))
		require.Equal(t, 1, tk.cache.len())
	})
	t.Run("ReturnedClaimsAreTheCallersOwnCopy", func(t *testing.T) {
		t.Parallel()
		tk, b := setupTokens(t)
		s, err := tk.Issue(b.user, b.org, "member", b.family)
		require.NoError(t, err)
		for range 3 { // the miss that fills the cache, then hits after a caller changed what it got
			_, _, claims, err := tk.Verify(s)
			require.NoError(t, err)
			require.Equal(t, "member", claims.Role)
			require.Equal(t, jwt.ClaimStrings{jwtTestAudience}, claims.Audience)
			require.Equal(t, b.clock.Now().Add(jwtTestTTL), claims.ExpiresAt.UTC())
			claims.Role = "owner"
			claims.Audience[0] = "elsewhere"
			claims.ExpiresAt.Time = claims.ExpiresAt.Add(time.Hour)
		}
	})
	t.Run("TheCacheNeverGrowsBeyondItsBound", func(t *testing.T) {
		t.Parallel()
		for _, bound := range []int{1, 5, 31, 32, 100, 1000} {
			tk, b := setupTokens(t)
			tk.cache = newVerifyCache(bound)
			for i := range 3 * bound {
				s, err := tk.Issue(b.user, b.org, "admin", b.family)
				require.NoError(t, err)
				_, _, _, err = tk.Verify(s)
				require.NoError(t, err)
				require.LessOrEqual(t, tk.cache.len(), bound, "bound %d after %d tokens", bound, i+1)
			}
			// Most of the room is used: eviction drops one entry, not a shard.
			require.GreaterOrEqual(t, tk.cache.len(), bound*3/4, "bound %d", bound)
		}
	})
	t.Run("ExpiredEntriesAreEvictedFirst", func(t *testing.T) {
		t.Parallel()
		tk, b := setupTokens(t)
		tk.cache = newVerifyCache(4) // one shard of 4
		var old []string
		for range 3 {
			s, err := tk.Issue(b.user, b.org, "admin", b.family)
			require.NoError(t, err)
			_, _, _, err = tk.Verify(s)
			require.NoError(t, err)
			old = append(old, s)
		}
		b.clock.Advance(10 * time.Minute)
		fresh, err := tk.Issue(b.user, b.org, "admin", b.family)
		require.NoError(t, err)
		_, _, _, err = tk.Verify(fresh)
		require.NoError(t, err)
		b.clock.Advance(6 * time.Minute) // the three old ones are past exp+leeway
		newer, err := tk.Issue(b.user, b.org, "admin", b.family)
		require.NoError(t, err)
		_, _, _, err = tk.Verify(newer)
		require.NoError(t, err)
		sh := &tk.cache.shards[0]
		require.Contains(t, sh.m, fresh)
		require.Contains(t, sh.m, newer)
		for _, s := range old {
			require.NotContains(t, sh.m, s)
		}
	})
	t.Run("ACacheOfZeroTurnsCachingOff", func(t *testing.T) {
		t.Parallel()
		tk := NewTokens(jwtTestSecret, jwtTestIssuer, jwtTestAudience, jwtTestTTL, WithVerifyCache(0))
		require.Nil(t, tk.cache)
		s, err := tk.Issue(uuid.New(), uuid.New(), "admin", uuid.New())
		require.NoError(t, err)
		_, _, _, err = tk.Verify(s)
		require.NoError(t, err)
		require.Nil(t, NewTokens(jwtTestSecret, jwtTestIssuer, jwtTestAudience, jwtTestTTL, WithVerifyCache(-1)).cache)
		require.NotNil(t, NewTokens(jwtTestSecret, jwtTestIssuer, jwtTestAudience, jwtTestTTL).cache)
	})
	t.Run("ConcurrentVerifiesGiveEachTokenItsOwnAnswer", func(t *testing.T) {
		t.Parallel()
		tk, b := setupTokens(t)
		tk.cache = newVerifyCache(40) // smaller than the working set: evictions race with hits
		type tok struct {
			s          string
			user, org  uuid.UUID
			role       string
			tampered   string
			tamperedPl string
		}
		toks := make([]tok, 64)
		for i := range toks {
			user, org := uuid.New(), uuid.New()
			role := []string{"member", "admin", "owner"}[i%3]
			s, err := tk.Issue(user, org, role, b.family)
			require.NoError(t, err)
			toks[i] = tok{s: s, user: user, org: org, role: role, tampered: tamperSignature(t, s), tamperedPl: tamperPayload(t, s)}
		}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Go(func() {
				for i := range 2000 {
					k := toks[(i*7+g*13)%len(toks)]
					user, org, claims, err := tk.Verify(k.s)
					if err != nil || user != k.user || org != k.org || claims.Role != k.role {
						errs <- fmt.Errorf("genuine token %d: %v %s %s", i, err, user, org)
						return
					}
					if i%5 == 0 {
						if _, _, _, err := tk.Verify(k.tampered); !errors.Is(err, ErrTokenInvalid) {
							errs <- fmt.Errorf("tampered signature accepted: %v", err)
							return
						}
						if _, _, _, err := tk.Verify(k.tamperedPl); !errors.Is(err, ErrTokenInvalid) {
							errs <- fmt.Errorf("tampered payload accepted: %v", err)
							return
						}
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.LessOrEqual(t, tk.cache.len(), 40)
	})
}

// BenchmarkVerify measures a full (cold) verification and a cache hit in the
// same run, and reports both and their ratio:
// cold-ns/op, cached-ns/op and cold/cached. (The built-in ns/op is their sum.)
func BenchmarkVerify(b *testing.B) {
	user, org, family := uuid.New(), uuid.New(), uuid.New()
	cold := NewTokens(jwtTestSecret, jwtTestIssuer, jwtTestAudience, jwtTestTTL, WithVerifyCache(0))
	cached := NewTokens(jwtTestSecret, jwtTestIssuer, jwtTestAudience, jwtTestTTL)
	s, err := cached.Issue(user, org, "admin", family)
	if err != nil {
		b.Fatal(err)
	}
	if _, _, _, err := cached.Verify(s); err != nil { // fill the cache
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	t0 := time.Now()
	for range b.N {
		if _, _, _, err := cold.Verify(s); err != nil {
			b.Fatal(err)
		}
	}
	t1 := time.Now()
	for range b.N {
		if _, _, _, err := cached.Verify(s); err != nil {
			b.Fatal(err)
		}
	}
	t2 := time.Now()
	coldNs := float64(t1.Sub(t0).Nanoseconds()) / float64(b.N)
	cachedNs := float64(t2.Sub(t1).Nanoseconds()) / float64(b.N)
	b.ReportMetric(coldNs, "cold-ns/op")
	b.ReportMetric(cachedNs, "cached-ns/op")
	b.ReportMetric(coldNs/cachedNs, "cold/cached")
}

// BenchmarkVerifyCachedParallel is the hot path under concurrency: many
// requests with a few tokens, which meet on the same shards.
func BenchmarkVerifyCachedParallel(b *testing.B) {
	tk := NewTokens(jwtTestSecret, jwtTestIssuer, jwtTestAudience, jwtTestTTL)
	toks := make([]string, 16)
	for i := range toks {
		s, err := tk.Issue(uuid.New(), uuid.New(), "admin", uuid.New())
		if err != nil {
			b.Fatal(err)
		}
		toks[i] = s
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, _, _, err := tk.Verify(toks[i%len(toks)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
