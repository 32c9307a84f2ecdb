package database

import (
	"context"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
)

// DefaultServiceLogin is the login role the service uses out of the box
// (DATABASE_URL's user in .env.example): bound by row-level security,
// a member of the app role, nothing more.
const DefaultServiceLogin = "leadpilot_api"

// ServiceLogin says which login role EnsureServiceLogin made sure of.
type ServiceLogin struct {
	// Role is the login role that exists and is a member of the app role:
	// DATABASE_URL's user, or DefaultServiceLogin when that user is
	// privileged; "" when there was nothing to do.
	Role string
	// Privileged is DATABASE_URL's user when row-level security cannot
	// hold it (a superuser, a BYPASSRLS role, or the schema owner): the
	// service should switch to SwitchURL.
	Privileged string
	// SwitchURL is DATABASE_URL with Role as its user and no password.
	SwitchURL string
	// NeedsPassword says DATABASE_URL carried a password, so the server
	// probably asks for one: Role (made without) needs one before
	// SwitchURL works.
	NeedsPassword bool
}

// EnsureServiceLogin is EnsureLoginRole for DATABASE_URL (appURL), except
// that when appURL logs in as the owner, a superuser or a BYPASSRLS role
// (as a DATABASE_URL set by hand often does) it still makes the default
// service login, DefaultServiceLogin, and says how to switch to it, so the
// safe login exists whichever URL the service was started with. Run it as
// the owner after migrations.
func (db *DB) EnsureServiceLogin(ctx context.Context, appURL, appRole string) (ServiceLogin, error) {
	cfg, err := pgx.ParseConfig(appURL)
	if err != nil {
		return ServiceLogin{}, fmt.Errorf("database: parse app url: %w", err)
	}
	var privileged bool
	if err := db.Pool.QueryRow(ctx, `
		SELECT $1 = session_user
		    OR COALESCE((SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = $1), false)`,
		cfg.User).Scan(&privileged); err != nil {
		return ServiceLogin{}, fmt.Errorf("database: check login %s: %w", cfg.User, err)
	}
	if !privileged {
		role, err := db.EnsureLoginRole(ctx, appURL, appRole)
		return ServiceLogin{Role: role}, err
	}
	switchURL, hadPassword, err := withServiceLogin(appURL)
	if err != nil {
		return ServiceLogin{}, err
	}
	role, err := db.EnsureLoginRole(ctx, switchURL, appRole)
	if err != nil {
		return ServiceLogin{}, err
	}
	if role == "" {
		// The owner is DefaultServiceLogin itself: nothing safer to offer.
		return ServiceLogin{Privileged: cfg.User}, nil
	}
	return ServiceLogin{Role: role, Privileged: cfg.User, SwitchURL: switchURL, NeedsPassword: hadPassword}, nil
}

// withServiceLogin is appURL logging in as DefaultServiceLogin, without
// the password (in the user info or a password parameter), and whether
// there was one.
func withServiceLogin(appURL string) (string, bool, error) {
	u, err := url.Parse(appURL)
	if err != nil {
		return "", false, fmt.Errorf("database: parse app url: %w", err)
	}
	_, hadPassword := u.User.Password()
	q := u.Query()
	if q.Has("password") {
		hadPassword = true
		q.Del("password")
		u.RawQuery = q.Encode()
	}
	u.User = url.User(DefaultServiceLogin)
	return u.String(), hadPassword, nil
}

// SwitchHint says in one line how to stop logging the service in as a
// privileged role: "set DATABASE_URL=" and appURL with DefaultServiceLogin
// as its user (EnsureServiceLogin makes that role).
func SwitchHint(appURL string) string {
	switchURL, hadPassword, err := withServiceLogin(appURL)
	if err != nil {
		return "set DATABASE_URL to a login role without SUPERUSER or BYPASSRLS"
	}
	hint := "set DATABASE_URL=" + switchURL
	if hadPassword {
		hint += " after giving " + DefaultServiceLogin + " a password (ALTER ROLE " + DefaultServiceLogin + " PASSWORD '...')"
	}
	return hint
}
