package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/jobs"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

// dataDir is DATA_DIR for every run in these tests, so the development
// secrets they make stay out of the source tree.
var dataDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "leadpilot-cmd-test-")
	if err != nil {
		panic(err)
	}
	dataDir = dir
	testkit.Main(m, func() { _ = os.RemoveAll(dir) })
}

// env is a getenv over vars; DATA_DIR defaults to the tests' own folder.
func env(vars map[string]string) func(string) string {
	return func(k string) string {
		if k == "DATA_DIR" && vars[k] == "" {
			return dataDir
		}
		return vars[k]
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func TestConfigProblemsAreListedTogether(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"serve"}, env(map[string]string{
		"LEADPILOT_ENV": "production", "LOG_LEVEL": "loud", "REDIS_URL": "http://x",
	}), io.Discard, io.Discard)
	require.Error(t, err)
	for _, want := range []string{"JWT_SECRET is required", "ENCRYPTION_KEYS is required", "LOG_LEVEL", "REDIS_URL"} {
		require.Contains(t, err.Error(), want)
	}
}

func TestServeRefusesABehindSchema(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"serve"}, env(map[string]string{
		"DATABASE_URL": testkit.EmptyDatabase(t), "REDIS_URL": testkit.RedisURL(t, 4),
	}), io.Discard, io.Discard)
	require.ErrorContains(t, err, "leadpilot migrate up")
}

func TestMigrateSeedAndServeEverything(t *testing.T) {
	t.Parallel()
	testkit.Redis(t, 4)
	addr := freeAddr(t)
	owner := testkit.EmptyDatabase(t)
	ou, err := url.Parse(owner)
	require.NoError(t, err)
	app := *ou
	app.User = url.User("leadpilot_api_cmdtest")
	vars := env(map[string]string{
		"MIGRATE_DATABASE_URL": owner, "DATABASE_URL": app.String(), "REDIS_URL": testkit.RedisURL(t, 4),
		"HTTP_ADDR": addr, "LOG_FORMAT": "text", "SHUTDOWN_TIMEOUT": "5s",
	})
	ctx := context.Background()
	var out bytes.Buffer
	require.NoError(t, run(ctx, []string{"migrate", "up"}, vars, &out, io.Discard))
	require.Contains(t, out.String(), "applied")
	require.Contains(t, out.String(), `logs in as "leadpilot_api_cmdtest"`, "migrate provisions the service's login role")
	out.Reset()
	require.NoError(t, run(ctx, []string{"migrate", "status"}, vars, &out, io.Discard))
	require.NotContains(t, out.String(), "pending")
	out.Reset()
	require.NoError(t, run(ctx, []string{"seed"}, vars, &out, io.Discard))
	require.NoError(t, run(ctx, []string{"seed"}, vars, &out, io.Discard), "seeding twice is fine")
	require.Contains(t, out.String(), "14 system templates")

	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	var logs syncBuffer
	go func() { done <- run(sctx, []string{"all"}, vars, io.Discard, &logs) }()

	base := "http://" + addr
	require.Eventually(t, func() bool {
		r, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == http.StatusOK
	}, 20*time.Second, 50*time.Millisecond)

	get := func(path string) (int, string) {
		r, err := http.Get(base + path)
		require.NoError(t, err)
		defer r.Body.Close()
		b, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		return r.StatusCode, string(b)
	}
	code, body := get("/docs")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "/openapi.yaml")
	code, body = get("/docs/redoc.standalone.js")
	require.Equal(t, http.StatusOK, code)
	require.Greater(t, len(body), 100_000)
	code, body = get("/metrics")
	require.Equal(t, http.StatusOK, code)
	require.True(t, strings.Contains(body, `leadpilot_http_request_duration_seconds_count{method="GET",route="/docs",status="200"}`), "request histogram")

	// Without SYSTEM_SMTP_URL, development catches mail: the sign-up's
	// verification link is in the log and at /dev/mail.
	sr, err := http.Post(base+"/v1/auth/signup", "application/json", strings.NewReader(
		`{"email":"dev@example.com","password":"long enough pw","full_name":"Dev","org_name":"Dev Co"}`))
	require.NoError(t, err)
	sr.Body.Close()
	require.Equal(t, http.StatusCreated, sr.StatusCode)
	code, body = get("/dev/mail")
	require.Equal(t, http.StatusOK, code)
	var caught struct {
		Data []struct {
			To    string   `json:"to"`
			Links []string `json:"links"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &caught))
	require.Len(t, caught.Data, 1)
	require.Equal(t, "dev@example.com", caught.Data[0].To)
	require.Len(t, caught.Data[0].Links, 1)
	require.True(t, strings.HasPrefix(caught.Data[0].Links[0], "http://localhost:8080/verify-email?token=lpv_"), caught.Data[0].Links[0])
	require.Contains(t, logs.String(), caught.Data[0].Links[0])

	// The worker half runs tasks: a purge enqueued now is processed, and
	// its queue shows up in the queue metrics.
	opt, err := asynq.ParseRedisURI(testkit.RedisURL(t, 4))
	require.NoError(t, err)
	enq := jobs.NewEnqueuer(opt)
	defer enq.Close()
	_, err = enq.Enqueue(ctx, jobs.NewPurgeTask())
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, body := get("/metrics")
		return strings.Contains(body, `asynq_tasks_processed_total{queue="maintenance"} 1`)
	}, 20*time.Second, 100*time.Millisecond, "the purge task is processed and counted")

	// Logged in as the role migrate made, the service has nothing to warn about.
	require.NotContains(t, logs.String(), "superuser or BYPASSRLS")

	stop()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("leadpilot all did not shut down")
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestServiceLoggedInAsOwnerIsRefusedInProduction(t *testing.T) {
	t.Parallel()
	owner := testkit.EmptyDatabase(t)
	vars := map[string]string{"DATABASE_URL": owner, "REDIS_URL": testkit.RedisURL(t, 4)}
	require.NoError(t, run(context.Background(), []string{"migrate", "up"}, env(vars), io.Discard, io.Discard))
	vars["LEADPILOT_ENV"] = "production"
	vars["JWT_SECRET"] = strings.Repeat("s", 40)
	vars["ENCRYPTION_KEYS"] = "k1:" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	vars["SYSTEM_SMTP_URL"] = "smtp://127.0.0.1:2525?tls=none"
	vars["METRICS_TOKEN"] = "metrics-token-0123456789"
	err := run(context.Background(), []string{"serve"}, env(vars), io.Discard, io.Discard)
	require.ErrorContains(t, err, "superuser or BYPASSRLS")
}

func TestDatabaseURLOfASuperuser(t *testing.T) {
	t.Parallel()
	// DATABASE_URL set by hand to the superuser, as people do: migrate
	// still makes the service's own login and says how to switch to it,
	// and serve says it again in its warning.
	owner := testkit.EmptyDatabase(t)
	vars := map[string]string{"DATABASE_URL": owner, "REDIS_URL": testkit.RedisURL(t, 4)}
	ctx := context.Background()
	var out bytes.Buffer
	require.NoError(t, run(ctx, []string{"migrate", "up"}, env(vars), &out, io.Discard))

	switchURL, err := url.Parse(owner)
	require.NoError(t, err)
	switchURL.User = url.User("leadpilot_api")
	hint := "set DATABASE_URL=" + switchURL.String()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := lines[len(lines)-1]
	require.Contains(t, last, "which row-level security does not bind")
	require.Contains(t, last, `made "leadpilot_api"`)
	require.True(t, strings.HasSuffix(last, hint), "one line says how to switch: %q", last)

	// The login it made is bound by row-level security and can run the service.
	admin := testkit.OwnerDB(t)
	var super, bypass, member bool
	require.NoError(t, admin.Pool.QueryRow(ctx, `
		SELECT rolsuper, rolbypassrls, pg_has_role('leadpilot_api', 'leadpilot_app', 'MEMBER')
		FROM pg_roles WHERE rolname = 'leadpilot_api'`).Scan(&super, &bypass, &member))
	require.False(t, super)
	require.False(t, bypass)
	require.True(t, member)

	t.Run("ServeWarnsWithTheSameHint", func(t *testing.T) {
		vars := map[string]string{
			"DATABASE_URL": owner, "REDIS_URL": testkit.RedisURL(t, 4),
			"HTTP_ADDR": freeAddr(t), "LOG_FORMAT": "text", "SHUTDOWN_TIMEOUT": "5s",
		}
		sctx, stop := context.WithCancel(ctx)
		var logs syncBuffer
		done := make(chan error, 1)
		go func() { done <- run(sctx, []string{"serve"}, env(vars), io.Discard, &logs) }()
		require.Eventually(t, func() bool { return strings.Contains(logs.String(), "http: listening") }, 20*time.Second, 50*time.Millisecond)
		stop()
		require.NoError(t, <-done)
		var warning string
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "superuser or BYPASSRLS") {
				warning = l
			}
		}
		require.Contains(t, warning, "level=WARN")
		require.Contains(t, warning, hint, "the warning says how to switch")
	})
	t.Run("ServeWithTheSuggestedURLHasNothingToWarnAbout", func(t *testing.T) {
		vars := map[string]string{
			"DATABASE_URL": switchURL.String(), "MIGRATE_DATABASE_URL": owner, "REDIS_URL": testkit.RedisURL(t, 4),
			"HTTP_ADDR": freeAddr(t), "LOG_FORMAT": "text", "SHUTDOWN_TIMEOUT": "5s",
		}
		sctx, stop := context.WithCancel(ctx)
		var logs syncBuffer
		done := make(chan error, 1)
		go func() { done <- run(sctx, []string{"serve"}, env(vars), io.Discard, &logs) }()
		require.Eventually(t, func() bool { return strings.Contains(logs.String(), "http: listening") }, 20*time.Second, 50*time.Millisecond)
		stop()
		require.NoError(t, <-done)
		require.NotContains(t, logs.String(), "superuser or BYPASSRLS")
	})
}

func TestDevelopmentSecretsPersistAcrossRuns(t *testing.T) {
	t.Parallel()
	// Without JWT_SECRET, a token issued by one run of the service is
	// accepted by the next (same install), and by no other install.
	owner := testkit.EmptyDatabase(t)
	ou, err := url.Parse(owner)
	require.NoError(t, err)
	app := *ou
	app.User = url.User("leadpilot_api_cmdtest")
	install := t.TempDir()
	vars := map[string]string{
		"MIGRATE_DATABASE_URL": owner, "DATABASE_URL": app.String(), "REDIS_URL": testkit.RedisURL(t, 4),
		"LOG_FORMAT": "text", "SHUTDOWN_TIMEOUT": "5s", "DATA_DIR": install,
	}
	ctx := context.Background()
	require.NoError(t, run(ctx, []string{"migrate", "up"}, env(vars), io.Discard, io.Discard))
	fi, err := os.Stat(install + "/jwt-secret")
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	// serve runs until stopped; each call is one run of the service.
	serve := func(t *testing.T, dataDir string, do func(base string)) {
		t.Helper()
		v := map[string]string{}
		for k, x := range vars {
			v[k] = x
		}
		v["DATA_DIR"] = dataDir
		v["HTTP_ADDR"] = freeAddr(t)
		sctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- run(sctx, []string{"serve"}, env(v), io.Discard, io.Discard) }()
		base := "http://" + v["HTTP_ADDR"]
		require.Eventually(t, func() bool {
			r, err := http.Get(base + "/readyz")
			if err != nil {
				return false
			}
			r.Body.Close()
			return r.StatusCode == http.StatusOK
		}, 20*time.Second, 50*time.Millisecond)
		do(base)
		stop()
		require.NoError(t, <-done)
	}
	status := func(base, token string) int {
		req, err := http.NewRequest(http.MethodGet, base+"/v1/me", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		r, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		r.Body.Close()
		return r.StatusCode
	}
	var token string
	serve(t, install, func(base string) {
		body := `{"email":"ada@example.com","password":"correct horse battery","full_name":"Ada","org_name":"Engines"}`
		r, err := http.Post(base+"/v1/auth/signup", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer r.Body.Close()
		require.Equal(t, http.StatusCreated, r.StatusCode)
		var got struct {
			AccessToken string `json:"access_token"`
		}
		require.NoError(t, json.NewDecoder(r.Body).Decode(&got))
		token = got.AccessToken
		require.Equal(t, http.StatusOK, status(base, token))
	})
	serve(t, install, func(base string) {
		require.Equal(t, http.StatusOK, status(base, token), "the next run of the same install accepts it")
	})
	serve(t, t.TempDir(), func(base string) {
		require.Equal(t, http.StatusUnauthorized, status(base, token), "another install does not")
	})
}
