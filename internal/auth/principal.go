package auth

import (
	"context"

	"github.com/google/uuid"

	"github.com/leadpilot/leadpilot/internal/access"
)

// PrincipalType says how the caller authenticated.
type PrincipalType string

// Principal types.
const (
	PrincipalUser   PrincipalType = "user"
	PrincipalAPIKey PrincipalType = "api_key"
)

// Principal is the authenticated caller of a request.
type Principal struct {
	Type     PrincipalType
	OrgID    uuid.UUID
	UserID   uuid.UUID   // uuid.Nil for API keys
	APIKeyID uuid.UUID   // uuid.Nil for users
	Role     access.Role // an API key acts with RoleAdmin's data access but cannot manage access
}

// Actor is the principal as domain services see it.
func (p Principal) Actor() access.Actor {
	return access.Actor{OrgID: p.OrgID, UserID: p.UserID, Role: p.Role, APIKeyID: p.APIKeyID}
}

// ID names the principal for scoping (idempotency keys, rate limits).
func (p Principal) ID() string {
	if p.Type == PrincipalAPIKey {
		return "api_key:" + p.APIKeyID.String()
	}
	return "user:" + p.UserID.String()
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the request's principal, if authenticated.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
