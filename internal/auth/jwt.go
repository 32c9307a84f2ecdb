package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// AccessClaims are the claims of an access token. The role is informative:
// requests re-read the membership, so a changed role or a removal takes
// effect at once rather than when the token expires.
type AccessClaims struct {
	OrgID    string `json:"org_id"`
	Role     string `json:"role"`
	FamilyID string `json:"sid,omitempty"` // the refresh-token family (session)
	jwt.RegisteredClaims
}

// Tokens signs and verifies access tokens (HS256, algorithm pinned).
type Tokens struct {
	secret   []byte
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
	cache    *verifyCache // nil: every Verify does the full check
}

// TokensOption configures NewTokens.
type TokensOption func(*tokensConfig)

type tokensConfig struct {
	cacheSize int
}

// WithVerifyCache sets how many successfully verified tokens Verify
// remembers (default DefaultVerifyCacheSize); 0 or less turns the cache off.
func WithVerifyCache(maxEntries int) TokensOption {
	return func(c *tokensConfig) { c.cacheSize = maxEntries }
}

// NewTokens builds the signer. secret must have at least 32 bytes.
func NewTokens(secret, issuer, audience string, ttl time.Duration, opts ...TokensOption) *Tokens {
	cfg := tokensConfig{cacheSize: DefaultVerifyCacheSize}
	for _, o := range opts {
		o(&cfg)
	}
	return &Tokens{
		secret: []byte(secret), issuer: issuer, audience: audience, ttl: ttl, now: time.Now,
		cache: newVerifyCache(cfg.cacheSize),
	}
}

// TTL is the access-token lifetime.
func (t *Tokens) TTL() time.Duration { return t.ttl }

// Issue signs an access token for user in org.
func (t *Tokens) Issue(userID, orgID uuid.UUID, role string, family uuid.UUID) (string, error) {
	now := t.now()
	c := AccessClaims{
		OrgID: orgID.String(), Role: role, FamilyID: family.String(),
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Subject:   userID.String(),
			Audience:  jwt.ClaimStrings{t.audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
			ID:        uuid.NewString(),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.secret)
	if err != nil {
		return "", fmt.Errorf("auth: sign: %w", err)
	}
	return s, nil
}

// ErrTokenExpired distinguishes an expired token (the client should
// refresh) from an invalid one.
var ErrTokenExpired = errors.New("auth: access token expired")

// ErrTokenInvalid is any other verification failure.
var ErrTokenInvalid = errors.New("auth: access token invalid")

// leeway absorbs clock skew between the instances that issue and verify
// tokens, and the rounding of JWT times to whole seconds.
const leeway = 5 * time.Second

// Verify checks signature, algorithm, issuer, audience and times, and
// returns the user and organisation ids. A token must carry iat and exp,
// and may not live longer than the configured TTL: whoever holds the
// signing key cannot hand out a token that outlives it by years.
//
// Successful results are cached by token string until the token would stop
// verifying (see verifyCache), so a token costs one full check, not one per
// request. Only the signature and claims check is cached: revocation is the
// caller's per-request database check (Service.Check), which must stay.
// The returned claims are the caller's own copy.
func (t *Tokens) Verify(s string) (userID, orgID uuid.UUID, claims *AccessClaims, err error) {
	if t.cache == nil {
		return t.verify(s)
	}
	now := t.now()
	if v, ok := t.cache.get(s, now); ok {
		return v.userID, v.orgID, copyClaims(&v.claims), nil
	}
	if userID, orgID, claims, err = t.verify(s); err != nil {
		return userID, orgID, claims, err
	}
	// The window in which the full check passes again (as the jwt
	// validator computes it with our leeway): nbf and iat behind, exp ahead.
	from := claims.IssuedAt.Time
	if claims.NotBefore != nil && claims.NotBefore.After(from) {
		from = claims.NotBefore.Time
	}
	t.cache.put(s, verifiedToken{
		userID: userID, orgID: orgID, claims: *copyClaims(claims),
		validFrom: from.Add(-leeway), validUntil: claims.ExpiresAt.Add(leeway),
	}, now)
	return userID, orgID, claims, nil
}

// verify is the full, uncached check.
func (t *Tokens) verify(s string) (userID, orgID uuid.UUID, claims *AccessClaims, err error) {
	claims = &AccessClaims{}
	_, err = jwt.ParseWithClaims(s, claims, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(t.issuer),
		jwt.WithAudience(t.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(t.now),
		jwt.WithLeeway(leeway),
	)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return uuid.Nil, uuid.Nil, nil, ErrTokenExpired
		}
		return uuid.Nil, uuid.Nil, nil, fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	}
	if claims.IssuedAt == nil {
		return uuid.Nil, uuid.Nil, nil, fmt.Errorf("%w: no iat claim", ErrTokenInvalid)
	}
	if life := claims.ExpiresAt.Sub(claims.IssuedAt.Time); life > t.ttl+leeway {
		return uuid.Nil, uuid.Nil, nil, fmt.Errorf("%w: lifetime %s exceeds the access-token TTL %s", ErrTokenInvalid, life, t.ttl)
	}
	if userID, err = uuid.Parse(claims.Subject); err != nil {
		return uuid.Nil, uuid.Nil, nil, ErrTokenInvalid
	}
	if orgID, err = uuid.Parse(claims.OrgID); err != nil {
		return uuid.Nil, uuid.Nil, nil, ErrTokenInvalid
	}
	return userID, orgID, claims, nil
}
