package config_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/config"
	"github.com/leadpilot/leadpilot/internal/secrets"
)

// envMap is a getenv backed by a map. DATA_DIR defaults to a temporary
// folder shared by the package's tests, so development secrets are never
// written into the source tree.
type envMap map[string]string

func (e envMap) get(k string) string {
	if k == "DATA_DIR" && e[k] == "" {
		return testDataDir
	}
	return e[k]
}

var testDataDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "leadpilot-config-test-")
	if err != nil {
		panic(err)
	}
	testDataDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// key is a kid:base64 entry for ENCRYPTION_KEYS.
func key(kid string, fill byte) string {
	return kid + ":" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, 32))
}

const goodSecret = "0123456789abcdef0123456789abcdef" // exactly 32 characters

// production is a complete, valid production environment; tests change
// one thing at a time.
func production() envMap {
	return envMap{
		"LEADPILOT_ENV":   "production",
		"JWT_SECRET":      goodSecret,
		"ENCRYPTION_KEYS": key("k1", 1),
		"SYSTEM_SMTP_URL": "smtp://mailer:pw@smtp.example.com:587",
		"METRICS_TOKEN":   "metrics-token-0123456789",
	}
}

// problems loads env and returns the validation problems, failing unless
// Load returned a *config.Error.
func problems(t *testing.T, env envMap) []string {
	t.Helper()
	cfg, err := config.Load(env.get)
	require.Error(t, err)
	require.Nil(t, cfg)
	require.True(t, config.IsConfigError(err), "got %v", err)
	var ce *config.Error
	require.True(t, errors.As(err, &ce))
	require.NotEmpty(t, ce.Problems)
	return ce.Problems
}

func TestLoad(t *testing.T) {
	t.Parallel()

	t.Run("EmptyEnvironmentGivesDevelopmentDefaults", func(t *testing.T) {
		t.Parallel()
		cfg, err := config.Load(envMap{}.get)
		require.NoError(t, err)
		require.Equal(t, "development", cfg.Env)
		require.False(t, cfg.Production())
		require.Equal(t, ":8080", cfg.HTTPAddr)
		require.Equal(t, "http://localhost:8080", cfg.PublicURL)
		require.Equal(t, "info", cfg.LogLevel)
		require.Equal(t, "json", cfg.LogFormat)
		require.Equal(t, 30*time.Second, cfg.ShutdownTimeout)
		require.Equal(t, int64(1048576), cfg.MaxBodyBytes)
		require.Equal(t, 100, cfg.RateLimitOrgPerSecond)
		require.Equal(t, 200, cfg.RateLimitOrgBurst)
		require.Equal(t, 15*time.Minute, cfg.AccessTokenTTL)
		require.Equal(t, 720*time.Hour, cfg.RefreshTokenTTL)
		require.Equal(t, 168*time.Hour, cfg.InviteTTL)
		require.Equal(t, int32(20), cfg.DatabaseMaxConns)
		require.False(t, cfg.WebhookAllowHTTP, "webhook URLs are https only")
		require.Equal(t, 30*24*time.Hour, cfg.EventsRetention)
		require.True(t, strings.HasPrefix(cfg.DatabaseURL, "postgres://"), cfg.DatabaseURL)
		// The service logs in as the RLS-bound role; the superuser migrates.
		require.Contains(t, cfg.DatabaseURL, "//leadpilot_api@")
		require.Contains(t, cfg.MigrateDatabaseURL, "//postgres@")
		require.True(t, strings.HasPrefix(cfg.RedisURL, "redis://"), cfg.RedisURL)
		require.GreaterOrEqual(t, len(cfg.JWTSecret), 32)
		require.NotNil(t, cfg.Keyring)
		require.NotEmpty(t, cfg.Keyring.CurrentKeyID())
		require.Len(t, cfg.Warnings, 2)
		require.Contains(t, cfg.Warnings[0], "JWT_SECRET")
		require.Contains(t, cfg.Warnings[1], "ENCRYPTION_KEYS")
	})
	t.Run("DevelopmentKeyringEncryptsAndDecrypts", func(t *testing.T) {
		t.Parallel()
		cfg, err := config.Load(envMap{}.get)
		require.NoError(t, err)
		ct, err := cfg.Keyring.EncryptString("hello", []byte("aad"))
		require.NoError(t, err)
		pt, err := cfg.Keyring.DecryptString(ct, []byte("aad"))
		require.NoError(t, err)
		require.Equal(t, "hello", pt)
	})
	t.Run("CompleteProductionEnvironmentLoadsWithoutWarnings", func(t *testing.T) {
		t.Parallel()
		cfg, err := config.Load(production().get)
		require.NoError(t, err)
		require.True(t, cfg.Production())
		require.Empty(t, cfg.Warnings)
		require.Equal(t, goodSecret, cfg.JWTSecret)
		require.NotNil(t, cfg.Keyring)
		require.Equal(t, "k1", cfg.Keyring.CurrentKeyID())
	})
	t.Run("ProductionWithNothingSetListsBothSecretsInOneError", func(t *testing.T) {
		t.Parallel()
		got := problems(t, envMap{"LEADPILOT_ENV": "production"})
		require.Len(t, got, 4, "%q", got)
		require.True(t, strings.HasPrefix(got[0], "JWT_SECRET is required in production"), got[0])
		require.True(t, strings.HasPrefix(got[1], "METRICS_TOKEN or METRICS_ADDR is required in production"), got[1])
		require.True(t, strings.HasPrefix(got[2], "SYSTEM_SMTP_URL is required in production"), got[2])
		require.True(t, strings.HasPrefix(got[3], "ENCRYPTION_KEYS is required in production"), got[3])
	})
	t.Run("ErrorMessageListsEveryProblem", func(t *testing.T) {
		t.Parallel()
		_, err := config.Load(envMap{"LEADPILOT_ENV": "production"}.get)
		require.Error(t, err)
		require.Contains(t, err.Error(), "JWT_SECRET")
		require.Contains(t, err.Error(), "ENCRYPTION_KEYS")
	})
	t.Run("SeveralInvalidValuesAreReportedTogether", func(t *testing.T) {
		t.Parallel()
		got := problems(t, envMap{"LOG_LEVEL": "loud", "LOG_FORMAT": "xml", "REDIS_URL": "http://cache:6379"})
		require.Len(t, got, 3, "%q", got)
		joined := strings.Join(got, "\n")
		require.Contains(t, joined, "LOG_LEVEL")
		require.Contains(t, joined, "LOG_FORMAT")
		require.Contains(t, joined, "REDIS_URL")
	})
	t.Run("MigrateDatabaseURLIsKeptWhenSet", func(t *testing.T) {
		t.Parallel()
		cfg, err := config.Load(envMap{
			"DATABASE_URL":         "postgres://app@db:5432/leadpilot",
			"MIGRATE_DATABASE_URL": "postgres://owner@db:5432/leadpilot",
		}.get)
		require.NoError(t, err)
		require.Equal(t, "postgres://app@db:5432/leadpilot", cfg.DatabaseURL)
		require.Equal(t, "postgres://owner@db:5432/leadpilot", cfg.MigrateDatabaseURL)
	})
	t.Run("MigrateDatabaseURLDefaultsToASetDatabaseURL", func(t *testing.T) {
		t.Parallel()
		cfg, err := config.Load(envMap{"DATABASE_URL": "postgresql://app@db/leadpilot"}.get)
		require.NoError(t, err)
		require.Equal(t, "postgresql://app@db/leadpilot", cfg.MigrateDatabaseURL)
	})
	t.Run("SeveralKeysWithoutACurrentIDIsAnError", func(t *testing.T) {
		t.Parallel()
		env := production()
		env["ENCRYPTION_KEYS"] = key("k1", 1) + "," + key("k2", 2)
		got := problems(t, env)
		require.Len(t, got, 1, "%q", got)
		require.Contains(t, got[0], "ENCRYPTION_CURRENT_KEY_ID")
	})
	t.Run("CurrentIDChoosesTheEncryptingKey", func(t *testing.T) {
		t.Parallel()
		for _, current := range []string{"k1", "k2"} {
			env := production()
			env["ENCRYPTION_KEYS"] = key("k1", 1) + "," + key("k2", 2)
			env["ENCRYPTION_CURRENT_KEY_ID"] = current
			cfg, err := config.Load(env.get)
			require.NoError(t, err)
			require.Equal(t, current, cfg.Keyring.CurrentKeyID())
			ct, err := cfg.Keyring.EncryptString("x", nil)
			require.NoError(t, err)
			kid, err := secrets.KeyID(ct)
			require.NoError(t, err)
			require.Equal(t, current, kid)
		}
	})
	t.Run("CurrentIDWithOneKeyMustMatchIt", func(t *testing.T) {
		t.Parallel()
		env := production()
		env["ENCRYPTION_CURRENT_KEY_ID"] = "k1"
		cfg, err := config.Load(env.get)
		require.NoError(t, err)
		require.Equal(t, "k1", cfg.Keyring.CurrentKeyID())

		env["ENCRYPTION_CURRENT_KEY_ID"] = "k9"
		got := problems(t, env)
		require.Len(t, got, 1, "%q", got)
		require.Contains(t, got[0], "ENCRYPTION_CURRENT_KEY_ID")
	})
	t.Run("ListSeparatedValuesAreSplit", func(t *testing.T) {
		t.Parallel()
		cfg, err := config.Load(envMap{"CORS_ALLOWED_ORIGINS": "https://a.example,https://b.example"}.get)
		require.NoError(t, err)
		require.Equal(t, []string{"https://a.example", "https://b.example"}, cfg.CORSOrigins)
	})
	t.Run("GetenvIsAskedForEveryVariable", func(t *testing.T) {
		t.Parallel()
		asked := map[string]bool{}
		_, err := config.Load(func(k string) string { asked[k] = true; return envMap{}.get(k) })
		require.NoError(t, err)
		for _, name := range []string{
			"LEADPILOT_ENV", "HTTP_ADDR", "DATABASE_URL", "MIGRATE_DATABASE_URL", "REDIS_URL",
			"JWT_SECRET", "ENCRYPTION_KEYS", "ENCRYPTION_CURRENT_KEY_ID", "RATE_LIMIT_ORG_PER_SECOND",
			"ACCESS_TOKEN_TTL", "CORS_ALLOWED_ORIGINS", "ANTHROPIC_API_KEY", "LLM_TIMEOUT", "DATA_DIR",
		} {
			require.True(t, asked[name], "getenv was not asked for %s", name)
		}
	})
}

func TestLoadRejects(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		set  envMap
		want string // a substring of the single problem reported
	}{
		"UnknownEnvironment":          {set: envMap{"LEADPILOT_ENV": "staging"}, want: "LEADPILOT_ENV"},
		"ShortJWTSecret":              {set: envMap{"JWT_SECRET": goodSecret[:31]}, want: "JWT_SECRET must be at least 32 characters"},
		"NonHTTPPublicURL":            {set: envMap{"PUBLIC_URL": "ftp://example.com"}, want: "PUBLIC_URL"},
		"UnknownLogLevel":             {set: envMap{"LOG_LEVEL": "trace"}, want: "LOG_LEVEL"},
		"UnknownLogFormat":            {set: envMap{"LOG_FORMAT": "logfmt"}, want: "LOG_FORMAT"},
		"TinyMaxBodyBytes":            {set: envMap{"MAX_BODY_BYTES": "1023"}, want: "MAX_BODY_BYTES"},
		"MySQLDatabaseURL":            {set: envMap{"DATABASE_URL": "mysql://root@db/leadpilot"}, want: "DATABASE_URL"},
		"DatabaseURLWithoutScheme":    {set: envMap{"DATABASE_URL": "host=db user=app"}, want: "DATABASE_URL"},
		"HTTPRedisURL":                {set: envMap{"REDIS_URL": "http://cache:6379"}, want: "REDIS_URL"},
		"RedisURLWithoutScheme":       {set: envMap{"REDIS_URL": "cache:6379"}, want: "REDIS_URL"},
		"AccessTokenTTLUnderAMinute":  {set: envMap{"ACCESS_TOKEN_TTL": "59s"}, want: "ACCESS_TOKEN_TTL"},
		"AccessTokenTTLOverADay":      {set: envMap{"ACCESS_TOKEN_TTL": "25h", "REFRESH_TOKEN_TTL": "48h"}, want: "ACCESS_TOKEN_TTL"},
		"RefreshShorterThanAccess":    {set: envMap{"ACCESS_TOKEN_TTL": "1h", "REFRESH_TOKEN_TTL": "30m"}, want: "REFRESH_TOKEN_TTL"},
		"InviteTTLUnderAnHour":        {set: envMap{"INVITE_TTL": "59m"}, want: "INVITE_TTL"},
		"ZeroRateLimit":               {set: envMap{"RATE_LIMIT_ORG_PER_SECOND": "0"}, want: "RATE_LIMIT_ORG_PER_SECOND"},
		"NegativeWorkerConcurrency":   {set: envMap{"WORKER_CONCURRENCY": "-1"}, want: "WORKER_CONCURRENCY"},
		"OneDatabaseConnection":       {set: envMap{"DATABASE_MAX_CONNS": "1"}, want: "DATABASE_MAX_CONNS"},
		"EncryptionKeyOfWrongLength":  {set: envMap{"ENCRYPTION_KEYS": "k1:" + base64.StdEncoding.EncodeToString(make([]byte, 16))}, want: "ENCRYPTION_KEYS"},
		"EncryptionKeyWithoutID":      {set: envMap{"ENCRYPTION_KEYS": base64.StdEncoding.EncodeToString(make([]byte, 32))}, want: "ENCRYPTION_KEYS"},
		"DuplicateEncryptionKeyIDs":   {set: envMap{"ENCRYPTION_KEYS": key("k1", 1) + "," + key("k1", 2)}, want: "ENCRYPTION_KEYS"},
		"EncryptionKeyNotBase64":      {set: envMap{"ENCRYPTION_KEYS": "k1:not base64 at all!"}, want: "ENCRYPTION_KEYS"},
		"ProductionWithoutJWTSecret":  {set: envMap{"LEADPILOT_ENV": "production", "ENCRYPTION_KEYS": key("k1", 1), "SYSTEM_SMTP_URL": "smtp://mailer:pw@smtp.example.com:587", "METRICS_ADDR": "127.0.0.1:9090"}, want: "JWT_SECRET is required in production"},
		"ProductionWithoutKeys":       {set: envMap{"LEADPILOT_ENV": "production", "JWT_SECRET": goodSecret, "SYSTEM_SMTP_URL": "smtp://mailer:pw@smtp.example.com:587", "METRICS_ADDR": "127.0.0.1:9090"}, want: "ENCRYPTION_KEYS is required in production"},
		"ProductionWithShortSecret":   {set: envMap{"LEADPILOT_ENV": "production", "JWT_SECRET": "short", "ENCRYPTION_KEYS": key("k1", 1), "SYSTEM_SMTP_URL": "smtp://mailer:pw@smtp.example.com:587", "METRICS_ADDR": "127.0.0.1:9090"}, want: "JWT_SECRET must be at least 32 characters"},
		"ProductionWithoutSMTPURL":    {set: envMap{"LEADPILOT_ENV": "production", "JWT_SECRET": goodSecret, "ENCRYPTION_KEYS": key("k1", 1), "METRICS_ADDR": "127.0.0.1:9090"}, want: "SYSTEM_SMTP_URL is required in production"},
		"ProductionWithPublicMetrics": {set: envMap{"LEADPILOT_ENV": "production", "JWT_SECRET": goodSecret, "ENCRYPTION_KEYS": key("k1", 1), "SYSTEM_SMTP_URL": "smtp://mailer:pw@smtp.example.com:587"}, want: "METRICS_TOKEN or METRICS_ADDR is required in production"},
		"ShortMetricsToken":           {set: envMap{"METRICS_TOKEN": "short"}, want: "METRICS_TOKEN must be at least 16 characters"},
		"UnknownCurrentKeyIDWithKeys": {set: envMap{"ENCRYPTION_KEYS": key("k1", 1) + "," + key("k2", 2), "ENCRYPTION_CURRENT_KEY_ID": "k3"}, want: "ENCRYPTION_CURRENT_KEY_ID"},
		"EventsRetentionUnderADay":    {set: envMap{"EVENTS_RETENTION": "23h"}, want: "EVENTS_RETENTION must be at least 24h"},
		"ProductionWithHTTPWebhooks": {set: envMap{"LEADPILOT_ENV": "production", "JWT_SECRET": goodSecret, "ENCRYPTION_KEYS": key("k1", 1), "SYSTEM_SMTP_URL": "smtp://mailer:pw@smtp.example.com:587", "METRICS_ADDR": "127.0.0.1:9090",
			"WEBHOOK_ALLOW_HTTP": "true"}, want: "WEBHOOK_ALLOW_HTTP must not be set in production"},
		"WebhookAllowCIDRsNotCIDRs":  {set: envMap{"WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8,localhost"}, want: "WEBHOOK_ALLOW_CIDRS"},
		"WebhookTimeoutUnderASecond": {set: envMap{"WEBHOOK_TIMEOUT": "500ms", "WEBHOOK_CONNECT_TIMEOUT": "200ms"}, want: "WEBHOOK_TIMEOUT"},
		"ConnectLongerThanTimeout":   {set: envMap{"WEBHOOK_TIMEOUT": "5s", "WEBHOOK_CONNECT_TIMEOUT": "10s"}, want: "WEBHOOK_CONNECT_TIMEOUT"},
		"DisableAfterUnderAnHour":    {set: envMap{"WEBHOOK_DISABLE_AFTER": "30m"}, want: "WEBHOOK_DISABLE_AFTER"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := problems(t, tc.set)
			require.Len(t, got, 1, "%q", got)
			require.Contains(t, got[0], tc.want)
		})
	}
}

func TestLoadAccepts(t *testing.T) {
	t.Parallel()
	for name, set := range map[string]envMap{
		"JWTSecretOfExactly32Characters": {"JWT_SECRET": goodSecret},
		"PostgresqlScheme":               {"DATABASE_URL": "postgresql://app@db:5432/leadpilot"},
		"TLSRedisScheme":                 {"REDIS_URL": "rediss://:pw@cache:6380/2"},
		"HTTPSPublicURL":                 {"PUBLIC_URL": "https://app.leadpilot.example"},
		"AccessTokenTTLAtTheBounds":      {"ACCESS_TOKEN_TTL": "1m", "REFRESH_TOKEN_TTL": "1m"},
		"AccessTokenTTLOfADay":           {"ACCESS_TOKEN_TTL": "24h"},
		"URLSafeUnpaddedKey":             {"ENCRYPTION_KEYS": "k1:" + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32))},
		"TextLogsAtDebug":                {"LOG_FORMAT": "text", "LOG_LEVEL": "debug"},
		"HTTPWebhooksInDevelopment":      {"WEBHOOK_ALLOW_HTTP": "true", "EVENTS_RETENTION": "24h"},
		"WebhookAllowCIDRsAndAddresses":  {"WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8,::1/128,10.1.2.3"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg, err := config.Load(set.get)
			require.NoError(t, err)
			require.NotNil(t, cfg)
		})
	}
}

func TestLoadParseErrors(t *testing.T) {
	t.Parallel()
	// A value of the wrong type is named by its variable, in the same
	// *config.Error as every other problem.
	for name, tc := range map[string]struct {
		set  envMap
		want []string
	}{
		"DurationWithoutUnit":    {set: envMap{"SHUTDOWN_TIMEOUT": "30"}, want: []string{"SHUTDOWN_TIMEOUT", `"30"`}},
		"DurationThatIsAWord":    {set: envMap{"ACCESS_TOKEN_TTL": "soon"}, want: []string{"ACCESS_TOKEN_TTL", `"soon"`}},
		"NonNumericInt":          {set: envMap{"RATE_LIMIT_ORG_PER_SECOND": "lots"}, want: []string{"RATE_LIMIT_ORG_PER_SECOND", `"lots"`}},
		"FractionalInt":          {set: envMap{"WORKER_CONCURRENCY": "2.5"}, want: []string{"WORKER_CONCURRENCY", `"2.5"`}},
		"Int32Overflow":          {set: envMap{"DATABASE_MAX_CONNS": "4294967296"}, want: []string{"DATABASE_MAX_CONNS", `"4294967296"`}},
		"NonNumericInt64":        {set: envMap{"MAX_BODY_BYTES": "1MB"}, want: []string{"MAX_BODY_BYTES", `"1MB"`}},
		"NonBooleanBool":         {set: envMap{"TRUST_PROXY_HEADERS": "maybe"}, want: []string{"TRUST_PROXY_HEADERS", `"maybe"`}},
		"SeveralBadValuesAtOnce": {set: envMap{"LLM_TIMEOUT": "forever", "WORKER_CONCURRENCY": "many"}, want: []string{"LLM_TIMEOUT", `"forever"`, "WORKER_CONCURRENCY", `"many"`}},
		"WithRuleBreaksToo":      {set: envMap{"LLM_TIMEOUT": "forever", "LOG_LEVEL": "loud"}, want: []string{"LLM_TIMEOUT", "LOG_LEVEL"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg, err := config.Load(tc.set.get)
			require.Error(t, err)
			require.Nil(t, cfg)
			require.True(t, config.IsConfigError(err))
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
			// A field that failed to parse is not also reported as out of range.
			require.NotContains(t, err.Error(), "WORKER_CONCURRENCY must be at least 1")
		})
	}
}

// legacyDevKeyring is the keyring of the built-in development key that
// installs used before each got its own (kid "dev").
func legacyDevKeyring(t *testing.T) *secrets.Keyring {
	t.Helper()
	keys, err := secrets.ParseKeys("dev:bGVhZHBpbG90LWRldi1rZXktMzItYnl0ZXMtbG9uZyE=")
	require.NoError(t, err)
	kr, err := secrets.NewKeyring(keys, "dev")
	require.NoError(t, err)
	return kr
}

func TestDevelopmentSecrets(t *testing.T) {
	t.Parallel()

	// setup is a fresh install: an empty DATA_DIR.
	setup := func(t *testing.T) (envMap, string) {
		t.Helper()
		dir := filepath.Join(t.TempDir(), "data")
		return envMap{"DATA_DIR": dir}, dir
	}

	t.Run("FirstStartMakesPrivateRandomSecretFiles", func(t *testing.T) {
		t.Parallel()
		env, dir := setup(t)
		cfg, err := config.Load(env.get)
		require.NoError(t, err)
		require.GreaterOrEqual(t, len(cfg.JWTSecret), 32)
		for _, name := range []string{"jwt-secret", "encryption-key"} {
			fi, err := os.Stat(filepath.Join(dir, name))
			require.NoError(t, err, name)
			require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), name)
		}
		b, err := os.ReadFile(filepath.Join(dir, "jwt-secret"))
		require.NoError(t, err)
		require.Equal(t, cfg.JWTSecret, strings.TrimSpace(string(b)))
		require.Equal(t, "local", cfg.Keyring.CurrentKeyID())
		require.Contains(t, cfg.Warnings[0], filepath.Join(dir, "jwt-secret"))
		require.Contains(t, cfg.Warnings[1], filepath.Join(dir, "encryption-key"))
		require.NotContains(t, cfg.JWTSecret, "leadpilot-development", "no constant secret")
	})
	t.Run("RestartReusesTheInstallsSecrets", func(t *testing.T) {
		t.Parallel()
		env, _ := setup(t)
		first, err := config.Load(env.get)
		require.NoError(t, err)
		ct, err := first.Keyring.EncryptString("sk-org-key", []byte("aad"))
		require.NoError(t, err)

		second, err := config.Load(env.get)
		require.NoError(t, err)
		require.Equal(t, first.JWTSecret, second.JWTSecret)
		pt, err := second.Keyring.DecryptString(ct, []byte("aad"))
		require.NoError(t, err)
		require.Equal(t, "sk-org-key", pt)
	})
	t.Run("EachInstallGetsItsOwnSecrets", func(t *testing.T) {
		t.Parallel()
		envA, _ := setup(t)
		envB, _ := setup(t)
		a, err := config.Load(envA.get)
		require.NoError(t, err)
		b, err := config.Load(envB.get)
		require.NoError(t, err)
		require.NotEqual(t, a.JWTSecret, b.JWTSecret)
		ct, err := a.Keyring.EncryptString("x", nil)
		require.NoError(t, err)
		_, err = b.Keyring.DecryptString(ct, nil)
		require.Error(t, err, "another install's key does not decrypt")
	})
	t.Run("DataEncryptedWithTheOldBuiltInKeyStillDecrypts", func(t *testing.T) {
		t.Parallel()
		env, _ := setup(t)
		cfg, err := config.Load(env.get)
		require.NoError(t, err)
		old, err := legacyDevKeyring(t).EncryptString("stored before", []byte("aad"))
		require.NoError(t, err)
		pt, err := cfg.Keyring.DecryptString(old, []byte("aad"))
		require.NoError(t, err)
		require.Equal(t, "stored before", pt)
		require.True(t, cfg.Keyring.NeedsRotation(old), "reencrypt moves it to the install's key")

		ct, err := cfg.Keyring.EncryptString("new", nil)
		require.NoError(t, err)
		kid, err := secrets.KeyID(ct)
		require.NoError(t, err)
		require.Equal(t, "local", kid, "the old key never encrypts")
		_, err = legacyDevKeyring(t).DecryptString(ct, nil)
		require.Error(t, err)
	})
	t.Run("ConcurrentFirstStartsAgreeOnOneSecret", func(t *testing.T) {
		t.Parallel()
		env, _ := setup(t)
		got := make([]string, 8)
		var wg sync.WaitGroup
		for i := range got {
			wg.Go(func() {
				cfg, err := config.Load(env.get)
				if err == nil {
					got[i] = cfg.JWTSecret
				}
			})
		}
		wg.Wait()
		for _, s := range got {
			require.NotEmpty(t, s)
			require.Equal(t, got[0], s)
		}
	})
	t.Run("SetSecretsWriteNothing", func(t *testing.T) {
		t.Parallel()
		env, dir := setup(t)
		env["JWT_SECRET"] = goodSecret
		env["ENCRYPTION_KEYS"] = key("k1", 1)
		cfg, err := config.Load(env.get)
		require.NoError(t, err)
		require.Empty(t, cfg.Warnings)
		_, err = os.Stat(dir)
		require.ErrorIs(t, err, os.ErrNotExist)
	})
	t.Run("ProductionNeverFallsBackToFiles", func(t *testing.T) {
		t.Parallel()
		env, dir := setup(t)
		require.NoError(t, os.MkdirAll(dir, 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "jwt-secret"), []byte(goodSecret+goodSecret), 0o600))
		env["LEADPILOT_ENV"] = "production"
		got := strings.Join(problems(t, env), "\n")
		require.Contains(t, got, "JWT_SECRET is required in production")
		require.Contains(t, got, "ENCRYPTION_KEYS is required in production")
	})
	t.Run("UnusableDataDirIsAProblem", func(t *testing.T) {
		t.Parallel()
		file := filepath.Join(t.TempDir(), "a-file")
		require.NoError(t, os.WriteFile(file, nil, 0o600))
		got := problems(t, envMap{"DATA_DIR": filepath.Join(file, "data")})
		require.Len(t, got, 2, "%q", got)
		require.Contains(t, got[0], "JWT_SECRET is not set and the development secret")
		require.Contains(t, got[1], "ENCRYPTION_KEYS is not set and the development key")
	})
	t.Run("ShortSecretFileIsAProblem", func(t *testing.T) {
		t.Parallel()
		env, dir := setup(t)
		require.NoError(t, os.MkdirAll(dir, 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "jwt-secret"), []byte("short\n"), 0o600))
		got := problems(t, env)
		require.Len(t, got, 1, "%q", got)
		require.Contains(t, got[0], "fewer than 32 characters")
	})
}

func TestWebhookAllowCIDRsAreParsed(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(envMap{"WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8, ::1/128,10.1.2.3"}.get)
	require.NoError(t, err)
	require.Equal(t, []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("10.1.2.3/32"),
	}, cfg.WebhookAllow)
	cfg, err = config.Load(envMap{}.get)
	require.NoError(t, err)
	require.Empty(t, cfg.WebhookAllow, "nothing non-public is allowed by default")
	require.False(t, cfg.WebhookAllowHTTP)
}
