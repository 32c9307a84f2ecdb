package orgs

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/emailaddr"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/mailer"
	"github.com/leadpilot/leadpilot/internal/pagination"
	"github.com/leadpilot/leadpilot/internal/token"
)

// ListMembers pages through the organisation's members, newest first.
// Every member may see who else is in the organisation.
func (s *Service) ListMembers(ctx context.Context, a access.Actor, p pagination.Page) (rows []Member, next *string, err error) {
	err = s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) (err error) {
		rows, next, err = pagination.Scan(ctx, selectMembers(tx).Where("m.org_id = ?", a.OrgID), "m.id", p, Member.key)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("orgs: list members: %w", err)
	}
	return rows, next, nil
}

// selectMembers reads memberships with the person's name and address.
func selectMembers(db bun.IDB) *bun.SelectQuery {
	return db.NewSelect().TableExpr("memberships AS m").
		Join("JOIN users AS u ON u.id = m.user_id").
		ColumnExpr("m.id AS membership_id, m.user_id, u.email, u.full_name, m.role, m.created_at AS joined_at")
}

func getMember(ctx context.Context, tx bun.IDB, orgID, userID uuid.UUID) (Member, error) {
	var m Member
	err := selectMembers(tx).Where("m.org_id = ? AND m.user_id = ?", orgID, userID).Scan(ctx, &m)
	if err = database.Interpret(err); errors.Is(err, database.ErrNotFound) {
		return m, fault.NotFound("member")
	}
	if err != nil {
		return m, fmt.Errorf("orgs: get member %s: %w", userID, err)
	}
	return m, nil
}

// actorRole re-reads the actor's own role under the owners' lock, so an
// actor demoted a moment ago cannot act with the role it had at the start
// of the request.
func actorRole(ctx context.Context, tx bun.IDB, a access.Actor) (access.Role, error) {
	if a.IsAPIKey() {
		return a.Role, nil
	}
	r, err := MemberRole(ctx, tx, a.OrgID, a.UserID)
	if err != nil {
		return "", err
	}
	return r, nil
}

// lockOwners locks the organisation's owner rows so two concurrent
// demotions or removals cannot leave it without an owner.
func lockOwners(ctx context.Context, tx bun.IDB, orgID uuid.UUID) (int, error) {
	var ids []uuid.UUID
	err := tx.NewSelect().Model((*membershipRow)(nil)).Column("user_id").
		Where("org_id = ? AND role = ?", orgID, access.RoleOwner).For("UPDATE").Scan(ctx, &ids)
	return len(ids), database.Interpret(err)
}

// UpdateMemberRole changes a member's role. Owners and admins may; only
// owners grant or take away ownership, and the last owner stays one.
func (s *Service) UpdateMemberRole(ctx context.Context, a access.Actor, userID uuid.UUID, role access.Role) (Member, error) {
	if err := a.RequireAdmin("change roles"); err != nil {
		return Member{}, err
	}
	if !role.Valid() {
		return Member{}, fault.Invalid(fault.FieldError{Field: "/role", Code: "invalid_role", Message: "must be owner, admin or member"})
	}
	var m Member
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		owners, err := lockOwners(ctx, tx, a.OrgID)
		if err != nil {
			return fmt.Errorf("orgs: lock owners: %w", err)
		}
		if a.Role, err = actorRole(ctx, tx, a); err != nil {
			return err
		}
		if err := a.RequireAdmin("change roles"); err != nil {
			return err
		}
		m, err = getMember(ctx, tx, a.OrgID, userID)
		if err != nil {
			return err
		}
		if m.Role == access.RoleOwner || role == access.RoleOwner {
			if err := a.RequireOwner("grant or take away the owner role"); err != nil {
				return err
			}
		}
		if m.Role == access.RoleOwner && role != access.RoleOwner && owners <= 1 {
			return fault.Conflict("last_owner", "the organisation's last owner cannot be demoted; make someone else an owner first")
		}
		if m.Role == role {
			return nil
		}
		if _, err := tx.NewUpdate().Model((*membershipRow)(nil)).Set("role = ?", role).
			Where("org_id = ? AND user_id = ?", a.OrgID, userID).Exec(ctx); err != nil {
			return fmt.Errorf("orgs: update role of %s: %w", userID, database.Interpret(err))
		}
		m.Role = role
		return recordMemberView(ctx, tx, a.OrgID, m, events.MemberUpdated)
	})
	return m, err
}

// RemoveMember takes someone out of the organisation. Owners and admins
// remove members, only owners remove owners, anyone may leave, and the last
// owner cannot go.
func (s *Service) RemoveMember(ctx context.Context, a access.Actor, userID uuid.UUID) error {
	self := !a.IsAPIKey() && a.UserID == userID
	if !self {
		if err := a.RequireAdmin("remove members"); err != nil {
			return err
		}
	}
	return s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		owners, err := lockOwners(ctx, tx, a.OrgID)
		if err != nil {
			return fmt.Errorf("orgs: lock owners: %w", err)
		}
		if a.Role, err = actorRole(ctx, tx, a); err != nil {
			return err
		}
		if !self {
			if err := a.RequireAdmin("remove members"); err != nil {
				return err
			}
		}
		m, err := getMember(ctx, tx, a.OrgID, userID)
		if err != nil {
			return err
		}
		if m.Role == access.RoleOwner && !self {
			if err := a.RequireOwner("remove an owner"); err != nil {
				return err
			}
		}
		if m.Role == access.RoleOwner && owners <= 1 {
			return fault.Conflict("last_owner", "the organisation's last owner cannot be removed")
		}
		if _, err := tx.NewDelete().Model((*membershipRow)(nil)).
			Where("org_id = ? AND user_id = ?", a.OrgID, userID).Exec(ctx); err != nil {
			return fmt.Errorf("orgs: remove member %s: %w", userID, database.Interpret(err))
		}
		if err := recordMemberView(ctx, tx, a.OrgID, m, events.MemberRemoved); err != nil {
			return err
		}
		// Sessions in this organisation end with the membership. The
		// remover cannot see the member's tokens under RLS, hence the
		// function (scoped to this tenant).
		if _, err := tx.ExecContext(ctx, `SELECT auth_end_member_sessions(?)`, userID); err != nil {
			return fmt.Errorf("orgs: end sessions of %s: %w", userID, database.Interpret(err))
		}
		return nil
	})
}

// CreatedInvite is a new invite; Token and AcceptURL are set only when
// the service exposes invite tokens (development).
type CreatedInvite struct {
	Invite
	Token     string
	AcceptURL string
}

// errEmailUnverified refuses what reaches beyond the account itself to a
// user whose address is unproven: mail sent in our name to third parties
// (invites) and credentials that would outlive a password reset by the
// address's real owner (API keys, and the memberships invites create).
var errEmailUnverified = &fault.Error{Kind: fault.KindForbidden, Code: "email_unverified",
	Detail: "verify your email address first (see the link we mailed you, or POST /v1/auth/resend-verification)"}

// requireVerified refuses a user actor whose address is not verified. API
// keys were created by a verified user and pass.
func requireVerified(ctx context.Context, tx bun.IDB, a access.Actor) error {
	if a.IsAPIKey() || a.UserID == uuid.Nil {
		return nil
	}
	verified, err := tx.NewSelect().Table("users").Where("id = ? AND email_verified_at IS NOT NULL", a.UserID).Exists(ctx)
	if err != nil {
		return fmt.Errorf("orgs: check %s verified: %w", a.UserID, database.Interpret(err))
	}
	if !verified {
		return errEmailUnverified
	}
	return nil
}

// CreateInvite invites email with role. Only owners invite owners. An
// address with an open invite gets a conflict; one already a member too.
func (s *Service) CreateInvite(ctx context.Context, a access.Actor, email string, role access.Role) (CreatedInvite, error) {
	if err := a.RequireAdmin("invite members"); err != nil {
		return CreatedInvite{}, err
	}
	if role == "" {
		role = access.RoleMember
	}
	if !role.Valid() {
		return CreatedInvite{}, fault.Invalid(fault.FieldError{Field: "/role", Code: "invalid_role", Message: "must be owner, admin or member"})
	}
	if role == access.RoleOwner {
		if err := a.RequireOwner("invite owners"); err != nil {
			return CreatedInvite{}, err
		}
	}
	email = emailaddr.Canonical(email)
	if p, ok := emailaddr.Check(email); !ok {
		return CreatedInvite{}, fault.Invalid(fault.FieldError{Field: "/email", Code: p.Code, Message: p.Message})
	}
	secret, hash := token.New(token.PrefixInvite)
	inv := inviteRow{
		ID: uuid.Must(uuid.NewV7()), OrgID: a.OrgID, Email: email, Role: role, TokenHash: hash,
		ExpiresAt: s.now().Add(s.inviteTTL).UTC().Truncate(1e3),
	}
	if a.UserID != uuid.Nil {
		inv.InvitedBy = &a.UserID
	}
	acceptURL := s.publicURL + "/accept-invite?token=" + url.QueryEscape(secret)
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		if err := requireVerified(ctx, tx, a); err != nil {
			return err
		}
		exists, err := tx.NewSelect().TableExpr("memberships AS m").Join("JOIN users AS u ON u.id = m.user_id").
			Where("m.org_id = ? AND u.email = ?", a.OrgID, email).Exists(ctx)
		if err != nil {
			return fmt.Errorf("orgs: check member: %w", database.Interpret(err))
		}
		if exists {
			return fault.Conflict("already_member", "this address already belongs to a member")
		}
		// An expired open invite would block the new one: retire it.
		if _, err := tx.NewUpdate().Model((*inviteRow)(nil)).Set("revoked_at = now()").
			Where("org_id = ? AND email = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at <= now()", a.OrgID, email).
			Exec(ctx); err != nil {
			return fmt.Errorf("orgs: retire expired invites: %w", database.Interpret(err))
		}
		if _, err := tx.NewInsert().Model(&inv).Returning("created_at, updated_at").Exec(ctx); err != nil {
			if err = database.Interpret(err); errors.Is(err, database.ErrConflict) {
				return fault.Conflict("invite_pending", "this address already has an open invite; revoke it to send a new one")
			}
			return fmt.Errorf("orgs: create invite: %w", err)
		}
		// Mailed before commit: a mail that cannot be handed over rolls
		// the invite back (no invite nobody was told about, and a retry
		// does not hit invite_pending). A commit failing after the send
		// leaves a link whose token matches nothing.
		org, err := GetOrganization(ctx, tx, a.OrgID)
		if err != nil {
			return err
		}
		var inviter string
		if a.UserID != uuid.Nil {
			if err := tx.NewSelect().Table("users").Column("full_name").Where("id = ?", a.UserID).Scan(ctx, &inviter); err != nil {
				return fmt.Errorf("orgs: inviter %s: %w", a.UserID, database.Interpret(err))
			}
		}
		if err := s.mail.Send(ctx, inviteMessage(email, inviter, org.Name, role, acceptURL, inv.ExpiresAt)); err != nil {
			return (&fault.Error{Kind: fault.KindUnavailable, Code: "mail_unavailable",
				Detail: "the invite mail could not be sent, so no invite was created; try again later"}).WithCause(err)
		}
		return nil
	})
	if err != nil {
		return CreatedInvite{}, err
	}
	out := CreatedInvite{Invite: inv.view()}
	if s.expose {
		out.Token, out.AcceptURL = secret, acceptURL
	}
	return out, nil
}

func inviteMessage(to, inviter, org string, role access.Role, acceptURL string, expires time.Time) mailer.Message {
	who := "You have been invited"
	if name := strings.TrimSpace(inviter); name != "" {
		who = name + " has invited you"
	}
	return mailer.Message{
		To:      to,
		Subject: "You are invited to join " + org + " on LeadPilot",
		Text: who + " to join " + org + " on LeadPilot as " + string(role) + ".\n\n" +
			"To accept, open this link:\n\n" +
			acceptURL + "\n\n" +
			"The link works once, until " + expires.UTC().Format("2 January 2006 15:04 MST") + ".\n" +
			"If you did not expect this invitation, ignore this mail.\n",
	}
}

// ListInvites pages through invites, newest first.
func (s *Service) ListInvites(ctx context.Context, a access.Actor, p pagination.Page) ([]Invite, *string, error) {
	if err := a.RequireAdmin("see invites"); err != nil {
		return nil, nil, err
	}
	var rows []inviteRow
	var next *string
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) (err error) {
		q := tx.NewSelect().Model((*inviteRow)(nil)).Where("org_id = ?", a.OrgID)
		rows, next, err = pagination.Scan(ctx, q, "id", p, inviteRow.key)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("orgs: list invites: %w", err)
	}
	return views(rows, inviteRow.view), next, nil
}

// RevokeInvite withdraws an invite; revoking twice is fine, an accepted
// invite cannot be revoked (remove the member instead).
func (s *Service) RevokeInvite(ctx context.Context, a access.Actor, id uuid.UUID) error {
	if err := a.RequireAdmin("revoke invites"); err != nil {
		return err
	}
	return s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		var inv inviteRow
		if err := tx.NewSelect().Model(&inv).Where("org_id = ? AND id = ?", a.OrgID, id).For("UPDATE").Scan(ctx); err != nil {
			if err = database.Interpret(err); errors.Is(err, database.ErrNotFound) {
				return fault.NotFound("invite")
			}
			return fmt.Errorf("orgs: get invite %s: %w", id, err)
		}
		if inv.AcceptedAt != nil {
			return fault.Conflict("invite_accepted", "the invite was already accepted; remove the member instead")
		}
		if inv.RevokedAt != nil {
			return nil
		}
		if _, err := tx.NewUpdate().Model((*inviteRow)(nil)).Set("revoked_at = now()").Where("id = ?", id).Exec(ctx); err != nil {
			return fmt.Errorf("orgs: revoke invite %s: %w", id, database.Interpret(err))
		}
		return nil
	})
}

// CreatedAPIKey is a new key with its secret, shown once.
type CreatedAPIKey struct {
	APIKey
	Secret string
}

// CreateAPIKey makes a key for integrators.
func (s *Service) CreateAPIKey(ctx context.Context, a access.Actor, name string) (CreatedAPIKey, error) {
	if err := a.RequireAdmin("manage API keys"); err != nil {
		return CreatedAPIKey{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return CreatedAPIKey{}, fault.Invalid(fault.FieldError{Field: "/name", Code: "required", Message: "must not be blank"})
	}
	secret, hash := token.New(token.PrefixAPIKey)
	k := apiKeyRow{ID: uuid.Must(uuid.NewV7()), OrgID: a.OrgID, Name: name, Prefix: secret[:len(token.PrefixAPIKey)+8], KeyHash: hash}
	if a.UserID != uuid.Nil {
		k.CreatedBy = &a.UserID
	}
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		if err := requireVerified(ctx, tx, a); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(&k).Returning("created_at, updated_at").Exec(ctx); err != nil {
			return fmt.Errorf("orgs: create api key: %w", database.Interpret(err))
		}
		return nil
	})
	if err != nil {
		return CreatedAPIKey{}, err
	}
	return CreatedAPIKey{APIKey: k.view(), Secret: secret}, nil
}

// ListAPIKeys pages through keys, newest first (never their secrets).
func (s *Service) ListAPIKeys(ctx context.Context, a access.Actor, p pagination.Page) ([]APIKey, *string, error) {
	if err := a.RequireAdmin("manage API keys"); err != nil {
		return nil, nil, err
	}
	var rows []apiKeyRow
	var next *string
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) (err error) {
		q := tx.NewSelect().Model((*apiKeyRow)(nil)).Where("org_id = ?", a.OrgID)
		rows, next, err = pagination.Scan(ctx, q, "id", p, apiKeyRow.key)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("orgs: list api keys: %w", err)
	}
	return views(rows, apiKeyRow.view), next, nil
}

// RevokeAPIKey disables a key at once; revoking twice is fine.
func (s *Service) RevokeAPIKey(ctx context.Context, a access.Actor, id uuid.UUID) error {
	if err := a.RequireAdmin("manage API keys"); err != nil {
		return err
	}
	return s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		res, err := tx.NewUpdate().Model((*apiKeyRow)(nil)).Set("revoked_at = COALESCE(revoked_at, now())").
			Where("org_id = ? AND id = ?", a.OrgID, id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("orgs: revoke api key %s: %w", id, database.Interpret(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.NotFound("API key")
		}
		return nil
	})
}
