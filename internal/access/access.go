// Package access says who is acting and what they may do: the Actor every
// domain service takes, the roles in an organisation and their order, and
// the checks a service makes before it touches anything. The checks return
// fault errors (403), so a service calls one line and returns its error.
//
// The rules, in one place:
//   - roles order owner > admin > member;
//   - an API key acts for its organisation with an admin's access to data
//     (auth gives it RoleAdmin), but it cannot manage who may access the
//     organisation (members, invites, keys, settings): those checks need a
//     signed-in user.
package access

import (
	"github.com/google/uuid"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/fault"
)

// Role is a member's role in an organisation.
type Role string

// Roles, from most to least powerful.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// rank orders the roles; an unknown role ranks below every known one.
func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	case RoleMember:
		return 1
	default:
		return 0
	}
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r.rank() > 0 }

// AtLeast reports whether r is min or more powerful. An unknown role is
// at least nothing.
func (r Role) AtLeast(min Role) bool { return r.Valid() && r.rank() >= min.rank() }

// AtLeastAdmin reports whether r may manage members, invites, keys and settings.
func (r Role) AtLeastAdmin() bool { return r.AtLeast(RoleAdmin) }

// Actor is who is acting in an organisation: a signed-in user with a role,
// or an API key (UserID uuid.Nil, APIKeyID set).
type Actor struct {
	OrgID    uuid.UUID
	UserID   uuid.UUID
	Role     Role
	APIKeyID uuid.UUID
}

// IsAPIKey reports whether an integrator's key is acting.
func (a Actor) IsAPIKey() bool { return a.APIKeyID != uuid.Nil }

// Tenant is the row-level security context the actor's work runs in.
func (a Actor) Tenant() database.Tenant { return database.Tenant{OrgID: a.OrgID, UserID: a.UserID} }

// RequireUser refuses API keys: what is about to happen needs a person
// (their own address, their own membership). what completes "API keys
// cannot …".
func (a Actor) RequireUser(what string) error {
	if a.IsAPIKey() || a.UserID == uuid.Nil {
		return fault.Forbidden("API keys cannot " + what + "; sign in as a user")
	}
	return nil
}

// RequireRole allows signed-in users whose role is min or more powerful.
// API keys are for data, not for managing who may access it, so they are
// refused whatever their role. what completes "only … can …".
func (a Actor) RequireRole(min Role, what string) error {
	if a.IsAPIKey() {
		return fault.Forbidden("API keys cannot " + what + "; sign in as " + who(min))
	}
	if !a.Role.AtLeast(min) {
		return fault.Forbidden("only " + plural(min) + " can " + what)
	}
	return nil
}

// RequireAdmin allows owners and admins signed in as users.
func (a Actor) RequireAdmin(what string) error { return a.RequireRole(RoleAdmin, what) }

// RequireOwner allows owners signed in as users.
func (a Actor) RequireOwner(what string) error { return a.RequireRole(RoleOwner, what) }

// who names the signed-in users a check lets through, for messages.
func who(min Role) string {
	switch min {
	case RoleOwner:
		return "an owner"
	case RoleAdmin:
		return "an owner or admin"
	default:
		return "a member"
	}
}

func plural(min Role) string {
	switch min {
	case RoleOwner:
		return "owners"
	case RoleAdmin:
		return "owners and admins"
	default:
		return "members"
	}
}

// RequireAdminOrKey allows owners, admins and API keys. It guards what an
// integration manages for itself, such as the webhook endpoints a REST
// Hooks client (Zapier) subscribes and unsubscribes with its key, and
// which members may not touch. what completes "only … can …".
func (a Actor) RequireAdminOrKey(what string) error {
	if a.IsAPIKey() || a.Role.AtLeastAdmin() {
		return nil
	}
	return fault.Forbidden("only owners, admins and API keys can " + what)
}
