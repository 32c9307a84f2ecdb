// Package testkit gives tests real Postgres and Redis: a fresh database
// per test package, cloned from a template migrated once per set of
// migrations, and a dedicated Redis database number per package. A test
// that cannot reach either fails; it never skips.
package testkit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/migrations"
)

// AppRole is the RLS-bound role tests run the service as.
const AppRole = "leadpilot_app"

var (
	once    sync.Once
	dbURL   string // the package's database, as its owner
	onceErr error
	created string
)

// BaseURL is the owner's login on the server tests use
// (MIGRATE_DATABASE_URL, else DATABASE_URL, as `make test` sets them).
func BaseURL() string {
	if u := os.Getenv("MIGRATE_DATABASE_URL"); u != "" {
		return u
	}
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/leadpilot?sslmode=disable"
}

// appURL is the service's login (DATABASE_URL) when it differs from the
// owner's, as in `make test`; otherwise the owner's login, which then
// SET ROLEs to the app role.
func appURL() string {
	if u := os.Getenv("DATABASE_URL"); u != "" && os.Getenv("MIGRATE_DATABASE_URL") != "" {
		return u
	}
	return BaseURL()
}

func withDB(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	u.Path = "/" + name
	return u.String()
}

// migrationsHash names the template after the migration files, so a
// changed migration gets a fresh template.
func migrationsHash() string {
	h := sha256.New()
	var names []string
	_ = fs.WalkDir(migrations.Files, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	sort.Strings(names)
	for _, n := range names {
		b, _ := fs.ReadFile(migrations.Files, n)
		h.Write([]byte(n))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// Template databases are shared by every test process on the server (the
// packages of one `go test` run, other checkouts' runs) and left behind by
// none. Two advisory locks keep that safe:
//
//   - lockSetup (exclusive, held only while a process creates, clones or
//     drops a template) serialises all template work, so a template is
//     never dropped while it is being built or cloned;
//   - lockTemplate (shared, one per template name) is held by each process
//     that uses the template, from its setup until it exits.
//
// A process leaving takes lockSetup, drops its own share and tries the
// template's lock exclusively: if nobody else holds a share, it is the last
// user and drops the template. Setup also drops templates of other
// migration sets (earlier runs, crashed processes) that nobody holds. A
// package that starts after the last one left rebuilds the template, which
// takes about a second.
const (
	lockSetup    = 727274
	lockTemplate = 727275 // with hashtext(template name) as the second key
)

// tplConn holds this process's share of tplName's lock until Main ends.
var (
	tplConn *pgx.Conn
	tplName string
)

func setup() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, withDB(BaseURL(), "postgres"))
	if err != nil {
		return "", fmt.Errorf("testkit: Postgres unreachable at %s (run `make services`): %w", BaseURL(), err)
	}
	keep := false
	defer func() {
		if !keep {
			_ = admin.Close(context.WithoutCancel(ctx))
		}
	}()
	tpl := "leadpilot_tpl_" + migrationsHash()
	// One process at a time builds, clones or drops templates.
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockSetup); err != nil {
		return "", err
	}
	defer admin.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockSetup) //nolint:errcheck
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock_shared($1, hashtext($2))`, lockTemplate, tpl); err != nil {
		return "", err
	}
	dropUnusedTemplates(ctx, admin, tpl)
	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, tpl).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{tpl}.Sanitize()); err != nil {
			return "", fmt.Errorf("testkit: create template: %w", err)
		}
		owner, err := database.Open(ctx, database.Options{URL: withDB(BaseURL(), tpl)})
		if err != nil {
			return "", err
		}
		m, err := database.NewMigrator(owner.Bun)
		if err == nil {
			_, err = m.Up(ctx)
		}
		owner.Close()
		if err != nil {
			_, _ = admin.Exec(ctx, "DROP DATABASE "+pgx.Identifier{tpl}.Sanitize())
			return "", fmt.Errorf("testkit: migrate template: %w", err)
		}
	}
	name := fmt.Sprintf("leadpilot_test_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s",
		pgx.Identifier{name}.Sanitize(), pgx.Identifier{tpl}.Sanitize())); err != nil {
		return "", fmt.Errorf("testkit: clone template: %w", err)
	}
	created = name
	keep, tplConn, tplName = true, admin, tpl
	// The service's login role, as `leadpilot migrate up` creates it.
	owner, err := database.Open(ctx, database.Options{URL: withDB(BaseURL(), name), MaxConns: 2})
	if err != nil {
		return "", err
	}
	defer owner.Close()
	if _, err := owner.EnsureLoginRole(ctx, appURL(), AppRole); err != nil {
		return "", err
	}
	return withDB(BaseURL(), name), nil
}

// dropUnusedTemplates drops the templates other than keep that no process
// holds a share of. The caller holds lockSetup. Failures are ignored: a
// template left behind is dropped by a later run.
func dropUnusedTemplates(ctx context.Context, admin *pgx.Conn, keep string) {
	rows, err := admin.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'leadpilot\_tpl\_%' AND datname <> $1`, keep)
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, n := range names {
		dropTemplateIfUnused(ctx, admin, n)
	}
}

// dropTemplateIfUnused drops template tpl when nobody holds a share of its
// lock. The caller holds lockSetup and no share of tpl's lock itself.
func dropTemplateIfUnused(ctx context.Context, admin *pgx.Conn, tpl string) {
	var free bool
	if err := admin.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, lockTemplate, tpl).Scan(&free); err != nil || !free {
		return
	}
	_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{tpl}.Sanitize())
	_, _ = admin.Exec(ctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, lockTemplate, tpl)
}

// Main runs a package's tests, then drops its database, drops the template
// when no other process still uses it, and runs after (the caller's own
// cleanups). Use it from TestMain in every package that calls DB, OwnerDB
// or EmptyDatabase.
func Main(m *testing.M, after ...func()) {
	code := m.Run()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	if created != "" {
		if admin, err := pgx.Connect(ctx, withDB(BaseURL(), "postgres")); err == nil {
			_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{created}.Sanitize()+" WITH (FORCE)")
			_ = admin.Close(ctx)
		}
	}
	if tplConn != nil {
		// The last one out drops the template (see lockSetup).
		if _, err := tplConn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockSetup); err == nil {
			if _, err := tplConn.Exec(ctx, `SELECT pg_advisory_unlock_shared($1, hashtext($2))`, lockTemplate, tplName); err == nil {
				dropTemplateIfUnused(ctx, tplConn, tplName)
			}
		}
		// Ending the session releases whatever it still holds.
		_ = tplConn.Close(ctx)
	}
	cancel()
	for _, f := range after {
		f()
	}
	os.Exit(code)
}

// URL is the package database's URL (owner login).
func URL(t testing.TB) string {
	t.Helper()
	once.Do(func() { dbURL, onceErr = setup() })
	if onceErr != nil {
		t.Fatal(onceErr)
	}
	return dbURL
}

// DB opens the package database as the service does: logged in as the
// service's role (DATABASE_URL's user), running as the RLS-bound app role.
func DB(t testing.TB) *database.DB {
	t.Helper()
	u, err := url.Parse(URL(t))
	if err != nil {
		t.Fatal(err)
	}
	db, err := database.Open(context.Background(), database.Options{
		URL: withDB(appURL(), strings.TrimPrefix(u.Path, "/")), Role: AppRole, MaxConns: 8,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// AppURL is the package database's URL with the service's login.
func AppURL(t testing.TB) string {
	t.Helper()
	u, err := url.Parse(URL(t))
	if err != nil {
		t.Fatal(err)
	}
	return withDB(appURL(), strings.TrimPrefix(u.Path, "/"))
}

// OwnerDB opens the package database as the owner, whom row-level security
// does not bind: for fixtures and for checking what really is stored.
func OwnerDB(t testing.TB) *database.DB {
	t.Helper()
	return open(t, "")
}

func open(t testing.TB, role string) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), database.Options{URL: URL(t), Role: role, MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// flushes holds one *sync.Once per Redis database number, so concurrent
// callers wait until the first one's FLUSHDB is done.
var flushes sync.Map

// RedisURL is REDIS_URL (as `make test` sets it) with the database number
// replaced by n. Give each package its own n: asynq's key names are fixed.
func RedisURL(t testing.TB, n int) string {
	t.Helper()
	raw := os.Getenv("REDIS_URL")
	if raw == "" {
		raw = "redis://127.0.0.1:6379/0"
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = fmt.Sprintf("/%d", n)
	return u.String()
}

// Redis returns a client on database n, flushed the first time the package
// asks for it.
func Redis(t testing.TB, n int) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(RedisURL(t, n))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("testkit: Redis unreachable (REDIS_URL; run `make services`): %v", err)
	}
	o, _ := flushes.LoadOrStore(n, new(sync.Once))
	var ferr error
	o.(*sync.Once).Do(func() { ferr = c.FlushDB(ctx).Err() })
	if ferr != nil {
		t.Fatal(ferr)
	}
	return c
}

// EmptyDatabase creates an empty database (no migrations) and returns its
// URL; it is dropped when the test ends. For migration tests.
func EmptyDatabase(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, withDB(BaseURL(), "postgres"))
	if err != nil {
		t.Fatalf("testkit: Postgres unreachable at %s: %v", BaseURL(), err)
	}
	defer admin.Close(ctx)
	name := fmt.Sprintf("leadpilot_empty_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), withDB(BaseURL(), "postgres"))
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
			_ = c.Close(context.Background())
		}
	})
	return withDB(BaseURL(), name)
}
