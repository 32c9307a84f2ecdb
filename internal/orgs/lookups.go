package orgs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
)

// The functions below are how other packages (auth) read and write this
// package's tables inside their own transactions. They return views and
// database sentinels; the caller decides what a miss means to its client.

// ErrInviteClosed says an invite was accepted, revoked or expired before
// it could be accepted.
var ErrInviteClosed = errors.New("orgs: the invite is no longer open")

// LookupInvite finds an invite by its token's hash before any tenant is
// known (database function auth_invite). A token that matches nothing is
// database.ErrNotFound.
func LookupInvite(ctx context.Context, db bun.IDB, tokenHash []byte) (Invite, error) {
	var r struct {
		ID         uuid.UUID   `bun:"id"`
		OrgID      uuid.UUID   `bun:"org_id"`
		Email      string      `bun:"email"`
		Role       access.Role `bun:"role"`
		ExpiresAt  time.Time   `bun:"expires_at"`
		AcceptedAt *time.Time  `bun:"accepted_at"`
		RevokedAt  *time.Time  `bun:"revoked_at"`
	}
	err := db.NewRaw(`SELECT id, org_id, email, role, expires_at, accepted_at, revoked_at FROM auth_invite(?)`, tokenHash).Scan(ctx, &r)
	if err != nil {
		return Invite{}, fmt.Errorf("orgs: look up invite: %w", database.Interpret(err))
	}
	return Invite{ID: r.ID, OrgID: r.OrgID, Email: r.Email, Role: r.Role, ExpiresAt: r.ExpiresAt, AcceptedAt: r.AcceptedAt, RevokedAt: r.RevokedAt}, nil
}

// MarkInviteAccepted records that userID accepted invite id, in the
// invite's tenant. An invite no longer open (accepted a moment ago,
// revoked, expired) is ErrInviteClosed.
func MarkInviteAccepted(ctx context.Context, db bun.IDB, id, userID uuid.UUID) error {
	res, err := db.NewUpdate().Model((*inviteRow)(nil)).
		Set("accepted_at = now(), accepted_by = ?", userID).
		Where("id = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("orgs: accept invite %s: %w", id, database.Interpret(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("orgs: accept invite %s: %w", id, database.Interpret(err))
	} else if n == 0 {
		return fmt.Errorf("orgs: accept invite %s: %w", id, ErrInviteClosed)
	}
	return nil
}

// LookupAPIKey finds a key by its secret's hash before any tenant is
// known (database function auth_api_key). A secret that matches nothing
// is database.ErrNotFound; a revoked key is returned with RevokedAt set.
func LookupAPIKey(ctx context.Context, db bun.IDB, keyHash []byte) (APIKey, error) {
	var r struct {
		ID         uuid.UUID  `bun:"id"`
		OrgID      uuid.UUID  `bun:"org_id"`
		RevokedAt  *time.Time `bun:"revoked_at"`
		LastUsedAt *time.Time `bun:"last_used_at"`
	}
	err := db.NewRaw(`SELECT id, org_id, revoked_at, last_used_at FROM auth_api_key(?)`, keyHash).Scan(ctx, &r)
	if err != nil {
		return APIKey{}, fmt.Errorf("orgs: look up api key: %w", database.Interpret(err))
	}
	return APIKey{ID: r.ID, OrgID: r.OrgID, RevokedAt: r.RevokedAt, LastUsedAt: r.LastUsedAt}, nil
}

// GetAPIKey reads one key of the tenant's organisation.
func GetAPIKey(ctx context.Context, db bun.IDB, id uuid.UUID) (APIKey, error) {
	var r apiKeyRow
	if err := db.NewSelect().Model(&r).Where("id = ?", id).Scan(ctx); err != nil {
		return APIKey{}, fmt.Errorf("orgs: get api key %s: %w", id, database.Interpret(err))
	}
	return r.view(), nil
}

// TouchAPIKey records that key id was used now.
func TouchAPIKey(ctx context.Context, db bun.IDB, id uuid.UUID) error {
	if _, err := db.NewUpdate().Model((*apiKeyRow)(nil)).Set("last_used_at = now()").Where("id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("orgs: touch api key %s: %w", id, database.Interpret(err))
	}
	return nil
}
