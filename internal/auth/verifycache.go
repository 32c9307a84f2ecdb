package auth

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// DefaultVerifyCacheSize is how many verified access tokens a Tokens keeps
// unless WithVerifyCache says otherwise. An entry holds the token string and
// its claims, well under 1 KiB, so the default bounds the cache to a few MB.
const DefaultVerifyCacheSize = 10_000

// verifyCacheShards spreads entries over independently locked maps, so that
// concurrent requests with different tokens rarely meet on one lock.
const verifyCacheShards = 32

// evictionSample is how many entries an insertion into a full shard looks
// at: the expired ones among them are dropped, and if none is, the first.
// Go randomises where a map iteration starts, so that one is a random entry.
const evictionSample = 8

// verifyCache remembers successful verifications, keyed by the whole token
// string: a tampered token is another string, so it misses and goes through
// the full check. Failures are never stored.
//
// It only saves the parsing and the HMAC. It is NOT a revocation check and
// must never become one: Service.Check still reads the membership and the
// session from the database on every request, which is what makes a logout
// or a member's removal take effect at once. Do not skip that check because
// a token was found here.
type verifyCache struct {
	seed   maphash.Seed
	perCap int // entries per shard; perCap * len(shards) <= the configured maximum
	shards []verifyShard
}

type verifyShard struct {
	mu sync.RWMutex
	m  map[string]verifiedToken
	_  [64]byte // keep neighbouring shards' locks off one cache line
}

// verifiedToken is the outcome of a successful Verify and the window in
// which Verify would succeed again: [validFrom, validUntil). Outside it the
// cache is not used and the token goes through the full check, so expiry
// (token_expired) and not-yet-valid answers are exactly the uncached ones.
type verifiedToken struct {
	userID, orgID uuid.UUID
	claims        AccessClaims
	validFrom     time.Time
	validUntil    time.Time
}

// newVerifyCache returns a cache of at most maxEntries entries, or nil (no
// caching) when maxEntries <= 0.
func newVerifyCache(maxEntries int) *verifyCache {
	if maxEntries <= 0 {
		return nil
	}
	n := verifyCacheShards
	if maxEntries < n {
		n = 1
	}
	c := &verifyCache{seed: maphash.MakeSeed(), perCap: maxEntries / n, shards: make([]verifyShard, n)}
	for i := range c.shards {
		c.shards[i].m = make(map[string]verifiedToken)
	}
	return c
}

func (c *verifyCache) shard(s string) *verifyShard {
	return &c.shards[maphash.String(c.seed, s)%uint64(len(c.shards))]
}

// get returns the cached result for s if it is usable at now.
func (c *verifyCache) get(s string, now time.Time) (verifiedToken, bool) {
	sh := c.shard(s)
	sh.mu.RLock()
	v, ok := sh.m[s]
	sh.mu.RUnlock()
	if !ok || now.Before(v.validFrom) || !now.Before(v.validUntil) {
		return verifiedToken{}, false
	}
	return v, true
}

// put stores a successful verification, evicting to stay within bounds.
func (c *verifyCache) put(s string, v verifiedToken, now time.Time) {
	sh := c.shard(s)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[s]; !ok && len(sh.m) >= c.perCap {
		var first string
		seen, dropped := 0, false
		for k, e := range sh.m {
			if seen == 0 {
				first = k
			}
			if !now.Before(e.validUntil) {
				delete(sh.m, k)
				dropped = true
			}
			if seen++; seen == evictionSample {
				break
			}
		}
		if !dropped {
			delete(sh.m, first)
		}
	}
	sh.m[s] = v
}

// len counts the entries (for tests).
func (c *verifyCache) len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}

// claimsCopy lets copyClaims make its copy in one allocation: the claims,
// the dates they point at and room for a one-entry audience.
type claimsCopy struct {
	claims        AccessClaims
	exp, nbf, iat jwt.NumericDate
	aud           [1]string
}

// copyClaims returns a deep copy, so a caller that changes the claims it was
// given cannot change what the cache hands to the next request.
func copyClaims(c *AccessClaims) *AccessClaims {
	box := &claimsCopy{claims: *c}
	out := &box.claims
	if len(c.Audience) == 1 {
		box.aud[0] = c.Audience[0]
		out.Audience = box.aud[:]
	} else if c.Audience != nil {
		out.Audience = append(jwt.ClaimStrings(nil), c.Audience...)
	}
	out.ExpiresAt = copyDate(c.ExpiresAt, &box.exp)
	out.NotBefore = copyDate(c.NotBefore, &box.nbf)
	out.IssuedAt = copyDate(c.IssuedAt, &box.iat)
	return out
}

func copyDate(d, into *jwt.NumericDate) *jwt.NumericDate {
	if d == nil {
		return nil
	}
	*into = *d
	return into
}
