// Package database opens the Postgres pool shared by bun and pgx, runs
// tenant-scoped transactions under row-level security, applies migrations
// and turns driver errors into the sentinels domain packages branch on.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// Sentinel errors callers branch on with errors.Is; no caller imports pgx.
var (
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("conflict")  // unique violation
	ErrReference = errors.New("reference") // foreign-key violation
	ErrCheck     = errors.New("check")     // check or not-null violation
	ErrNoTenant  = errors.New("no tenant") // a tenant transaction without an org id

	// ErrInvalidValue is Postgres refusing a value itself (SQLSTATE class
	// 22: a NUL character in text, a number out of range, bad encoding).
	// Such a value came from the client, so the edge answers 422, not 500.
	ErrInvalidValue = errors.New("invalid value")
)

// DB is the pool and the bun handle over it.
type DB struct {
	Pool *pgxpool.Pool
	Bun  *bun.DB
}

// Options configure Open.
type Options struct {
	URL      string
	Role     string // SET ROLE on every connection; "" keeps the login role
	MaxConns int32  // 0: pgx default
}

// Open connects and checks the connection. When Role is set every pooled
// connection runs as that role, so row-level security binds it even when the
// login user owns the tables.
func Open(ctx context.Context, o Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(o.URL)
	if err != nil {
		return nil, fmt.Errorf("database: parse url: %w", err)
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	// bun writes the values into the SQL text, so nearly every statement
	// is new, and pgx prepares and caches each one: 512 per connection by
	// default, which grew the sending engine's worker to 250 MB (its
	// batch statements are large). A small cache keeps what repeats (the
	// fixed statements of direct pool users) and lets the rest go. (Exec
	// mode would skip the prepare too, but it leaves parameter types to the
	// server, and code passing []uuid.UUID and JSON to the pool relies on
	// pgx knowing them.) A URL's statement_cache_capacity wins.
	if !strings.Contains(o.URL, "statement_cache_capacity") {
		cfg.ConnConfig.StatementCacheCapacity = 32
	}
	if o.Role != "" {
		role := o.Role
		cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
			_, err := c.Exec(ctx, "SET ROLE "+pgx.Identifier{role}.Sanitize())
			return err
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Message, "role ") && strings.Contains(pgErr.Message, "does not exist") {
			// A fresh cluster: migrations create the app role and the
			// service's login role.
			return nil, fmt.Errorf("database: %s yet: run `leadpilot migrate up` (or `make migrate`) first: %w", pgErr.Message, err)
		}
		return nil, fmt.Errorf("database: ping: %w", err)
	}
	sqldb := stdlib.OpenDBFromPool(pool)
	// database/sql keeps its own pool on top of pgxpool, with room for only
	// 2 idle connections by default: under concurrency every other request
	// would hand its connection back to pgxpool and take another, resetting
	// it each time. Let it keep nearly as many as pgxpool holds — but not
	// all: connections database/sql keeps idle are acquired from pgxpool,
	// so code that uses the pool directly (a LISTEN, COPY, the sweeps)
	// would wait for ever once a burst had left every one in database/sql.
	// A quarter (at least two) stays for those.
	n := int(cfg.MaxConns) - max(2, int(cfg.MaxConns)/4)
	n = max(n, 1)
	sqldb.SetMaxOpenConns(n)
	sqldb.SetMaxIdleConns(n)
	return &DB{Pool: pool, Bun: bun.NewDB(sqldb, pgdialect.New())}, nil
}

// Close closes bun's handle and the pool.
func (db *DB) Close() {
	_ = db.Bun.Close()
	db.Pool.Close()
}

// ErrPrivilegedLogin says the service logs in as a role that bypasses
// row-level security, even though its queries run as the app role: one
// RESET ROLE away from every tenant's data.
var ErrPrivilegedLogin = errors.New("database: the service logs in as a superuser or BYPASSRLS role")

// CheckRole refuses to run the service as a role that row-level security
// does not bind (a superuser, or one with BYPASSRLS). When only the login
// (session) role is privileged it returns ErrPrivilegedLogin, which the
// caller treats as fatal in production and as a warning in development.
func (db *DB) CheckRole(ctx context.Context) error {
	var cur, sess string
	var curPriv, sessPriv bool
	err := db.Pool.QueryRow(ctx, `
		SELECT current_user, (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user),
		       session_user, (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = session_user)`).
		Scan(&cur, &curPriv, &sess, &sessPriv)
	if err != nil {
		return fmt.Errorf("database: check role: %w", err)
	}
	if curPriv {
		return fmt.Errorf("database: the service runs as role %q, which bypasses row-level security; set DATABASE_APP_ROLE (default leadpilot_app) or log in as a role without SUPERUSER/BYPASSRLS", cur)
	}
	if sessPriv {
		return fmt.Errorf("%w (%q); give DATABASE_URL a login role that is a member of %q, e.g. the one `leadpilot migrate up` creates for it", ErrPrivilegedLogin, sess, cur)
	}
	return nil
}

// Tenant says whom a transaction acts for. UserID is uuid.Nil for API keys
// and system work.
type Tenant struct {
	OrgID  uuid.UUID
	UserID uuid.UUID
}

// InTenant runs fn in a transaction whose row-level security context is t:
// every tenant table shows and accepts only t.OrgID's rows. Settings are
// transaction-local (set_config(..., true)), so nothing leaks to the next
// user of the pooled connection. When ctx carries a request transaction for
// t (BeginRequest), fn runs inside it and commits with the request.
func (db *DB) InTenant(ctx context.Context, t Tenant, fn func(ctx context.Context, tx bun.IDB) error) error {
	if t.OrgID == uuid.Nil {
		return ErrNoTenant
	}
	if ok, err := joined(ctx, t, fn); ok {
		return err
	}
	ctx = Detach(ctx) // a nested call for another tenant must not join the outer request
	return db.Bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := setTenant(ctx, tx, t); err != nil {
			return err
		}
		return fn(ctx, tx)
	})
}

// Interpret maps driver errors to the package sentinels, keeping the
// original in the chain for logs. Callers wrap it with their operation.
// Every store read and write returns its error through Interpret, so
// callers branch with errors.Is on the sentinels and never on pgx or bun
// errors. Interpreting twice changes nothing.
func Interpret(err error) error {
	if err == nil {
		return nil
	}
	for _, s := range []error{ErrNotFound, ErrConflict, ErrReference, ErrCheck, ErrInvalidValue} {
		if errors.Is(err, s) {
			return err
		}
	}
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return &ConstraintError{Kind: ErrConflict, Constraint: pgErr.ConstraintName, err: err}
		case "23503":
			return &ConstraintError{Kind: ErrReference, Constraint: pgErr.ConstraintName, err: err}
		case "23514", "23502":
			return &ConstraintError{Kind: ErrCheck, Constraint: pgErr.ConstraintName, err: err}
		}
		if strings.HasPrefix(pgErr.Code, "22") {
			return fmt.Errorf("%w: %w", ErrInvalidValue, err)
		}
	}
	return err
}

// ConstraintError names the constraint a write broke.
type ConstraintError struct {
	Kind       error
	Constraint string
	err        error
}

func (e *ConstraintError) Error() string {
	return fmt.Sprintf("%v (%s): %v", e.Kind, e.Constraint, e.err)
}

// Unwrap exposes both the sentinel and the driver error.
func (e *ConstraintError) Unwrap() []error { return []error{e.Kind, e.err} }

// IsConstraint reports whether err broke the named constraint.
func IsConstraint(err error, name string) bool {
	var ce *ConstraintError
	return errors.As(Interpret(err), &ce) && ce.Constraint == name
}

// EnsureLoginRole makes sure the service's login role named in appURL
// exists and is a member of appRole, so the service never needs the
// owner's login. It runs as the owner (with CREATEROLE) after migrations.
// When appURL logs in as the owner itself there is nothing to do: the
// service then relies on SET ROLE. A password in appURL becomes the
// role's password when the role is created.
func (db *DB) EnsureLoginRole(ctx context.Context, appURL, appRole string) (string, error) {
	cfg, err := pgx.ParseConfig(appURL)
	if err != nil {
		return "", fmt.Errorf("database: parse app url: %w", err)
	}
	user := cfg.User
	var owner string
	if err := db.Pool.QueryRow(ctx, `SELECT session_user`).Scan(&owner); err != nil {
		return "", fmt.Errorf("database: who am I: %w", err)
	}
	if user == "" || user == owner {
		return "", nil
	}
	var exists bool
	if err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, user).Scan(&exists); err != nil {
		return "", fmt.Errorf("database: look up role %s: %w", user, err)
	}
	if !exists {
		stmt := "CREATE ROLE " + pgx.Identifier{user}.Sanitize() + " LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
		if cfg.Password != "" {
			// DDL takes no bind parameters; quote the literal ourselves.
			stmt += " PASSWORD '" + strings.ReplaceAll(cfg.Password, "'", "''") + "'"
		}
		// Two processes creating the role at once: the loser sees
		// duplicate_object, or a unique violation on pg_authid when both
		// passed the catalogue check before either committed.
		var pgErr *pgconn.PgError
		if _, err := db.Pool.Exec(ctx, stmt); err != nil && !(errors.As(err, &pgErr) && (pgErr.Code == "42710" || pgErr.Code == "23505")) {
			return "", fmt.Errorf("database: create role %s: %w", user, err)
		}
	}
	if _, err := db.Pool.Exec(ctx, "GRANT "+pgx.Identifier{appRole}.Sanitize()+" TO "+pgx.Identifier{user}.Sanitize()); err != nil {
		return "", fmt.Errorf("database: grant %s to %s: %w", appRole, user, err)
	}
	return user, nil
}

// IsLockTimeout reports whether err is Postgres giving up on a lock wait
// (lock_timeout, SQLSTATE 55P03).
func IsLockTimeout(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "55P03"
}
