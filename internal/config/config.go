// Package config reads the service configuration from environment
// variables (documented, with defaults, in .env.example) and validates it,
// reporting every problem at once.
package config

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/leadpilot/leadpilot/internal/egress"
	"github.com/leadpilot/leadpilot/internal/secrets"
)

// Config is the whole service configuration.
type Config struct {
	Env             string        `env:"LEADPILOT_ENV" envDefault:"development"` // development | production
	HTTPAddr        string        `env:"HTTP_ADDR" envDefault:":8080"`
	PublicURL       string        `env:"PUBLIC_URL" envDefault:"http://localhost:8080"`
	LogLevel        string        `env:"LOG_LEVEL" envDefault:"info"`  // debug | info | warn | error
	LogFormat       string        `env:"LOG_FORMAT" envDefault:"json"` // json | text
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"30s"`
	MaxBodyBytes    int64         `env:"MAX_BODY_BYTES" envDefault:"1048576"`
	// ImportMaxBytes caps a streamed file upload (a lead CSV).
	ImportMaxBytes    int64    `env:"IMPORT_MAX_BYTES" envDefault:"268435456"`
	TrustProxyHeaders bool     `env:"TRUST_PROXY_HEADERS" envDefault:"false"`
	CORSOrigins       []string `env:"CORS_ALLOWED_ORIGINS" envSeparator:","`

	// DatabaseURL is the service's login: a role bound by row-level
	// security (`migrate up` creates the one named here).
	DatabaseURL string `env:"DATABASE_URL" envDefault:"postgres://leadpilot_api@127.0.0.1:5432/leadpilot?sslmode=disable"`
	// MigrateDatabaseURL is the schema owner's login for migrate, seed and
	// reencrypt. Default: DATABASE_URL when that is set (one login that
	// SET ROLEs), else the local postgres superuser.
	MigrateDatabaseURL string `env:"MIGRATE_DATABASE_URL"`
	DatabaseAppRole    string `env:"DATABASE_APP_ROLE" envDefault:"leadpilot_app"`
	DatabaseMaxConns   int32  `env:"DATABASE_MAX_CONNS" envDefault:"20"`

	RedisURL string `env:"REDIS_URL" envDefault:"redis://127.0.0.1:6379/0"`

	JWTSecret       string        `env:"JWT_SECRET"`
	JWTIssuer       string        `env:"JWT_ISSUER" envDefault:"leadpilot"`
	JWTAudience     string        `env:"JWT_AUDIENCE" envDefault:"leadpilot-api"`
	AccessTokenTTL  time.Duration `env:"ACCESS_TOKEN_TTL" envDefault:"15m"`
	RefreshTokenTTL time.Duration `env:"REFRESH_TOKEN_TTL" envDefault:"720h"`
	InviteTTL       time.Duration `env:"INVITE_TTL" envDefault:"168h"`

	// SystemSMTPURL is the relay for the platform's own mail (invites,
	// email verification, password reset): smtp://user:pass@host:587
	// (STARTTLS required; ?tls=opportunistic|none to relax) or
	// smtps://user:pass@host:465. Required in production. Empty in
	// development: mail is caught in memory, logged, and listed at
	// GET /dev/mail.
	SystemSMTPURL string `env:"SYSTEM_SMTP_URL"`
	// SystemMailFrom is the sender of that mail.
	SystemMailFrom string `env:"SYSTEM_MAIL_FROM" envDefault:"LeadPilot <no-reply@localhost>"`

	// DataDir holds what a development install keeps for itself: the
	// JWT secret and encryption key made for it when JWT_SECRET and
	// ENCRYPTION_KEYS are unset. Default .data (git-ignored, next to the
	// private databases of `make run`). Unused in production.
	DataDir string `env:"DATA_DIR" envDefault:".data"`

	EncryptionKeys         string `env:"ENCRYPTION_KEYS"`
	EncryptionCurrentKeyID string `env:"ENCRYPTION_CURRENT_KEY_ID"`

	RateLimitOrgPerSecond       int `env:"RATE_LIMIT_ORG_PER_SECOND" envDefault:"100"`
	RateLimitOrgBurst           int `env:"RATE_LIMIT_ORG_BURST" envDefault:"200"`
	RateLimitKeyPerSecond       int `env:"RATE_LIMIT_KEY_PER_SECOND" envDefault:"100"`
	AuthRateLimitIPPerMinute    int `env:"AUTH_RATE_LIMIT_IP_PER_MINUTE" envDefault:"20"`
	AuthRateLimitEmailPerMinute int `env:"AUTH_RATE_LIMIT_EMAIL_PER_MINUTE" envDefault:"5"`
	// AuthRateLimitEmailFailuresPerHour caps wrong login passwords per email
	// across all IPs (default 100); past it only a correct password signs in.
	AuthRateLimitEmailFailuresPerHour int `env:"AUTH_RATE_LIMIT_EMAIL_FAILURES_PER_HOUR" envDefault:"100"`

	WorkerConcurrency int `env:"WORKER_CONCURRENCY" envDefault:"20"`
	// WorkerMemoryLimit is the Go runtime's soft memory limit for the
	// `worker` command, in bytes (0: none), unless GOMEMLIMIT sets one:
	// the garbage collector works harder near it instead of letting the
	// heap double between collections, so a 1M-row import stays under
	// ~150 MB of RSS. It never makes the process fail.
	WorkerMemoryLimit int64 `env:"WORKER_MEMORY_LIMIT" envDefault:"100663296"`

	// MetricsAddr, when set (e.g. 127.0.0.1:9090), serves /metrics on its
	// own listener and not on HTTP_ADDR. Default: on HTTP_ADDR, guarded by
	// MetricsToken.
	MetricsAddr string `env:"METRICS_ADDR"`
	// MetricsToken is the bearer token /metrics (and /dev/mail) on HTTP_ADDR
	// require. Default empty: only clients on this machine (loopback) may
	// read them. Production needs METRICS_TOKEN or METRICS_ADDR.
	MetricsToken string `env:"METRICS_TOKEN"`

	// Platform LLM keys and endpoint overrides (an org's own key wins).
	AnthropicAPIKey  string        `env:"ANTHROPIC_API_KEY"`
	OpenAIAPIKey     string        `env:"OPENAI_API_KEY"`
	GoogleAIAPIKey   string        `env:"GOOGLE_AI_API_KEY"`
	DeepSeekAPIKey   string        `env:"DEEPSEEK_API_KEY"`
	GroqAPIKey       string        `env:"GROQ_API_KEY"`
	AnthropicBaseURL string        `env:"ANTHROPIC_BASE_URL"`
	OpenAIBaseURL    string        `env:"OPENAI_BASE_URL"`
	GeminiBaseURL    string        `env:"GEMINI_BASE_URL"`
	DeepSeekBaseURL  string        `env:"DEEPSEEK_BASE_URL"`
	GroqBaseURL      string        `env:"GROQ_BASE_URL"`
	LLMTimeout       time.Duration `env:"LLM_TIMEOUT" envDefault:"60s"`

	// WebhookAllowCIDRs are address ranges webhook deliveries may reach
	// although they are not public (e.g. "127.0.0.0/8,::1/128" for a
	// receiver on this host). Default none: private, loopback, link-local,
	// CGNAT, metadata and other special addresses are refused at dial time.
	WebhookAllowCIDRs []string `env:"WEBHOOK_ALLOW_CIDRS" envSeparator:","`
	// WebhookConcurrency is how many endpoints one worker process
	// delivers to at once, on a pool of its own (default 32): a delivery
	// task may wait on a slow receiver for its whole time budget, and
	// must not hold the slots other jobs need.
	WebhookConcurrency int `env:"WEBHOOK_CONCURRENCY" envDefault:"32"`
	// GenerationConcurrency is how many sequence-generation calls to the
	// language model one organisation may have in flight in one worker
	// process (default 4): provider rate limits are per key.
	GenerationConcurrency int `env:"GENERATION_CONCURRENCY" envDefault:"4"`
	// WebhookAllowHTTP accepts http:// webhook endpoint URLs and delivers
	// to them (default false: https only). For local development against
	// a receiver on this machine; refused in production.
	WebhookAllowHTTP bool `env:"WEBHOOK_ALLOW_HTTP" envDefault:"false"`
	// WebhookTimeout bounds one delivery, answer included (default 15s);
	// WebhookConnectTimeout one connection attempt (default 5s).
	WebhookTimeout        time.Duration `env:"WEBHOOK_TIMEOUT" envDefault:"15s"`
	WebhookConnectTimeout time.Duration `env:"WEBHOOK_CONNECT_TIMEOUT" envDefault:"5s"`
	// WebhookDisableAfter: an endpoint whose every delivery has failed for
	// this long is disabled at its next failure (default 60h; the retry
	// schedule spans about 67h).
	WebhookDisableAfter time.Duration `env:"WEBHOOK_DISABLE_AFTER" envDefault:"60h"`
	// EventsRetention is how long events (and their webhook messages and
	// delivery log) are kept, and so how far back GET /v1/events and
	// webhook replays reach. Default 720h (30 days).
	EventsRetention time.Duration `env:"EVENTS_RETENTION" envDefault:"720h"`
	// WebhookAllow is WebhookAllowCIDRs parsed.
	WebhookAllow []netip.Prefix `env:"-"`

	// EmailAllowCIDRs are address ranges SMTP and IMAP connections (the
	// account test and sending) may reach although they are not public
	// (e.g. "127.0.0.0/8" for a mail server on this host). Default none.
	EmailAllowCIDRs []string `env:"EMAIL_ALLOW_CIDRS" envSeparator:","`
	// EmailAllow is EmailAllowCIDRs parsed.
	EmailAllow []netip.Prefix `env:"-"`
	// EmailConnectTimeout bounds one SMTP/IMAP connection attempt (default
	// 10s); EmailTestTimeout one protocol's connection test (default 30s).
	EmailConnectTimeout time.Duration `env:"EMAIL_CONNECT_TIMEOUT" envDefault:"10s"`
	EmailTestTimeout    time.Duration `env:"EMAIL_TEST_TIMEOUT" envDefault:"30s"`
	// EmailCustomMaxDailyLimit is the highest daily_send_limit a custom
	// SMTP account may have (default 5000; Google and Microsoft accounts
	// have their providers' published limits).
	EmailCustomMaxDailyLimit int `env:"EMAIL_CUSTOM_MAX_DAILY_LIMIT" envDefault:"5000"`

	// The sending engine (internal/sending). SendDispatchInterval is how
	// often the worker's dispatcher claims due messages (default 1s);
	// SendBatchSize how many one send task carries (default 200);
	// SendReapAfter how long a message may stay "sending" before it is
	// failed as uncertain (default 10m); SendMinGap and SendGapJitter space
	// the sends of one real mailbox (default 20s + up to 40s; "-1s": none);
	// SendRecipientDomainDaily caps the messages to one recipient domain
	// per day (default 50; -1: none); SendSendingDomainHourly and
	// SendCampaignNewLeadsDaily cap a sending domain per clock hour (UTC)
	// and a campaign's first steps per day (default 0: none);
	// SendBounceThreshold is the deliverability guard's hard-bounce rate
	// (default 0.05; negative: off). SendIgnoreCaps lifts every cap and gap
	// (load tests and benchmarks only; refused in production).
	SendDispatchInterval      time.Duration `env:"SENDING_DISPATCH_INTERVAL" envDefault:"1s"`
	SendBatchSize             int           `env:"SENDING_BATCH_SIZE" envDefault:"200"`
	SendReapAfter             time.Duration `env:"SENDING_REAP_AFTER" envDefault:"10m"`
	SendMinGap                time.Duration `env:"SENDING_MIN_GAP" envDefault:"20s"`
	SendGapJitter             time.Duration `env:"SENDING_GAP_JITTER" envDefault:"40s"`
	SendRecipientDomainDaily  int           `env:"SENDING_RECIPIENT_DOMAIN_DAILY" envDefault:"50"`
	SendSendingDomainHourly   int           `env:"SENDING_SENDING_DOMAIN_HOURLY" envDefault:"0"`
	SendCampaignNewLeadsDaily int           `env:"SENDING_CAMPAIGN_NEW_LEADS_DAILY" envDefault:"0"`
	SendBounceThreshold       float64       `env:"SENDING_BOUNCE_THRESHOLD" envDefault:"0.05"`
	SendIgnoreCaps            bool          `env:"SENDING_IGNORE_CAPS"`
	// DKIMKeys signs outgoing email per sending domain:
	// "domain:selector:/path/to/key.pem,…" (PKCS#8 or PKCS#1 RSA PEM);
	// publish the public key at selector._domainkey.domain. Empty: unsigned.
	DKIMKeys string `env:"DKIM_KEYS"`

	// The inbox (internal/inbox). InboxSyncInterval is the wait between
	// two reply syncs of a healthy mailbox; InboxBackfill how far back a
	// mailbox's first sync reads; InboxSyncPauseAfter how long reply sync
	// may fail before the mailbox stops sending (stop-on-reply must never
	// be silently off); InboxStopOnAutoReply makes auto-replies stop
	// sequences like a person's reply; InboxSoftBounceLimit is how many
	// soft bounces of one message count as a hard one.
	InboxSyncInterval    time.Duration `env:"INBOX_SYNC_INTERVAL" envDefault:"30s"`
	InboxBackfill        time.Duration `env:"INBOX_BACKFILL" envDefault:"336h"`
	InboxSyncPauseAfter  time.Duration `env:"INBOX_SYNC_PAUSE_AFTER" envDefault:"30m"`
	InboxStopOnAutoReply bool          `env:"INBOX_STOP_ON_AUTO_REPLY"`
	InboxSoftBounceLimit int           `env:"INBOX_SOFT_BOUNCE_LIMIT" envDefault:"3"`

	// OAuth clients for connecting Gmail and Outlook mailboxes. Empty
	// client ids: connecting that provider answers "not configured". The
	// endpoint URLs default to the providers' own; tests and proxies
	// override them.
	GoogleOAuthClientID        string `env:"GOOGLE_OAUTH_CLIENT_ID"`
	GoogleOAuthClientSecret    string `env:"GOOGLE_OAUTH_CLIENT_SECRET"`
	GoogleOAuthAuthURL         string `env:"GOOGLE_OAUTH_AUTH_URL" envDefault:"https://accounts.google.com/o/oauth2/v2/auth"`
	GoogleOAuthTokenURL        string `env:"GOOGLE_OAUTH_TOKEN_URL" envDefault:"https://oauth2.googleapis.com/token"`
	GoogleOAuthUserInfoURL     string `env:"GOOGLE_OAUTH_USERINFO_URL" envDefault:"https://openidconnect.googleapis.com/v1/userinfo"`
	MicrosoftOAuthClientID     string `env:"MICROSOFT_OAUTH_CLIENT_ID"`
	MicrosoftOAuthClientSecret string `env:"MICROSOFT_OAUTH_CLIENT_SECRET"`
	MicrosoftOAuthAuthURL      string `env:"MICROSOFT_OAUTH_AUTH_URL" envDefault:"https://login.microsoftonline.com/common/oauth2/v2.0/authorize"`
	MicrosoftOAuthTokenURL     string `env:"MICROSOFT_OAUTH_TOKEN_URL" envDefault:"https://login.microsoftonline.com/common/oauth2/v2.0/token"`
	MicrosoftOAuthUserInfoURL  string `env:"MICROSOFT_OAUTH_USERINFO_URL" envDefault:"https://graph.microsoft.com/v1.0/me"`

	// Warnings are non-fatal notes from Load (insecure dev defaults in use).
	Warnings []string `env:"-"`
	// Keyring is built from EncryptionKeys.
	Keyring *secrets.Keyring `env:"-"`

	databaseURLSet bool
}

// defaultOwnerURL is the local superuser, who owns the schema in development.
const defaultOwnerURL = "postgres://postgres@127.0.0.1:5432/leadpilot?sslmode=disable"

// Production reports whether the insecure defaults are forbidden.
func (c *Config) Production() bool { return c.Env == "production" }

// Load reads the environment through getenv and validates the result.
func Load(getenv func(string) string) (*Config, error) {
	var c Config
	environ := map[string]string{}
	for _, k := range envNames() {
		if v := getenv(k); v != "" {
			environ[k] = v
		}
	}
	// Type errors (a duration that is not one, a word where a number goes)
	// are reported with the variable's name, together with every rule the
	// other variables break.
	var parseProblems []string
	failed := map[string]bool{}
	if err := env.ParseWithOptions(&c, env.Options{Environment: environ}); err != nil {
		var agg env.AggregateError
		if !errors.As(err, &agg) {
			return nil, fmt.Errorf("config: %w", err)
		}
		for _, e := range agg.Errors {
			var pe env.ParseError
			if !errors.As(e, &pe) {
				parseProblems = append(parseProblems, e.Error())
				continue
			}
			name := envName(pe.Name)
			failed[name] = true
			parseProblems = append(parseProblems, fmt.Sprintf("%s: %q is not a valid %s", name, environ[name], pe.Type))
		}
	}
	c.databaseURLSet = environ["DATABASE_URL"] != ""
	err := c.validate()
	var ce *Error
	if err != nil && !errors.As(err, &ce) {
		return nil, err
	}
	if len(parseProblems) > 0 {
		all := parseProblems
		if ce != nil {
			for _, p := range ce.Problems {
				name, _, _ := strings.Cut(p, " ")
				if !failed[strings.TrimSuffix(name, ":")] {
					all = append(all, p)
				}
			}
		}
		return nil, &Error{Problems: all}
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// envName is the variable behind a Config field.
func envName(field string) string {
	f, ok := reflect.TypeOf(Config{}).FieldByName(field)
	if !ok {
		return field
	}
	name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
	return name
}

func (c *Config) validate() error {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	switch c.Env {
	case "development", "production":
	default:
		bad("LEADPILOT_ENV must be development or production, not %q", c.Env)
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("PUBLIC_URL must be an absolute http(s) URL, not %q", c.PublicURL)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("LOG_LEVEL must be debug, info, warn or error, not %q", c.LogLevel)
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		bad("LOG_FORMAT must be json or text, not %q", c.LogFormat)
	}
	if c.MaxBodyBytes < 1024 {
		bad("MAX_BODY_BYTES must be at least 1024")
	}
	if c.ImportMaxBytes < c.MaxBodyBytes {
		bad("IMPORT_MAX_BYTES must be at least MAX_BODY_BYTES")
	}
	if !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		bad("DATABASE_URL must be a postgres:// URL")
	}
	if c.MigrateDatabaseURL == "" {
		c.MigrateDatabaseURL = defaultOwnerURL
		if c.databaseURLSet {
			c.MigrateDatabaseURL = c.DatabaseURL
		}
	} else if !strings.HasPrefix(c.MigrateDatabaseURL, "postgres://") && !strings.HasPrefix(c.MigrateDatabaseURL, "postgresql://") {
		bad("MIGRATE_DATABASE_URL must be a postgres:// URL")
	}
	if !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		bad("REDIS_URL must be a redis:// or rediss:// URL")
	}
	switch {
	case c.JWTSecret == "" && c.Production():
		bad("JWT_SECRET is required in production (at least 32 random bytes, e.g. `openssl rand -base64 48`)")
	case c.JWTSecret == "":
		secret, err := devJWTSecret(c.DataDir)
		switch {
		case err != nil:
			bad("JWT_SECRET is not set and the development secret in DATA_DIR (%s) cannot be read or created: %v", c.DataDir, err)
		case len(secret) < 32:
			bad("JWT_SECRET is not set and %s holds fewer than 32 characters; delete it to get a new one", dataFile(c.DataDir, jwtSecretFile))
		default:
			c.JWTSecret = secret
			c.Warnings = append(c.Warnings, fmt.Sprintf("JWT_SECRET is not set: using this install's development secret from %s (set JWT_SECRET in production)", dataFile(c.DataDir, jwtSecretFile)))
		}
	case len(c.JWTSecret) < 32:
		bad("JWT_SECRET must be at least 32 characters")
	}
	if c.AccessTokenTTL < time.Minute || c.AccessTokenTTL > 24*time.Hour {
		bad("ACCESS_TOKEN_TTL must be between 1m and 24h")
	}
	if c.RefreshTokenTTL < c.AccessTokenTTL {
		bad("REFRESH_TOKEN_TTL must be longer than ACCESS_TOKEN_TTL")
	}
	if c.InviteTTL < time.Hour {
		bad("INVITE_TTL must be at least 1h")
	}
	if c.Production() && c.MetricsAddr == "" && c.MetricsToken == "" {
		bad("METRICS_TOKEN or METRICS_ADDR is required in production: /metrics on the public port needs a bearer token (or serve it on a private address)")
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		bad("METRICS_TOKEN must be at least 16 characters")
	}
	if c.SystemSMTPURL == "" && c.Production() {
		bad("SYSTEM_SMTP_URL is required in production: invites, email verification and password resets are mailed (smtp://user:password@host:587)")
	}
	keys, current, source := c.EncryptionKeys, c.EncryptionCurrentKeyID, "ENCRYPTION_KEYS"
	switch {
	case keys != "":
	case c.Production():
		bad("ENCRYPTION_KEYS is required in production (kid:base64 of 32 random bytes, e.g. k1:$(openssl rand -base64 32))")
	default:
		key, err := devEncryptionKey(c.DataDir)
		if err != nil {
			bad("ENCRYPTION_KEYS is not set and the development key in DATA_DIR (%s) cannot be read or created: %v", c.DataDir, err)
			break
		}
		// The install's own key encrypts; the old built-in one only
		// decrypts what was stored before this install had a key.
		kid, _, _ := strings.Cut(key, ":")
		keys, current = key+","+legacyDevEncryptionKey, kid
		source = dataFile(c.DataDir, encryptionKeyFile)
		c.Warnings = append(c.Warnings, fmt.Sprintf("ENCRYPTION_KEYS is not set: using this install's development key from %s (set ENCRYPTION_KEYS in production)", source))
	}
	if keys != "" {
		if parsed, err := secrets.ParseKeys(keys); err != nil {
			bad("%s: %v", source, err)
		} else {
			if current == "" {
				if len(parsed) != 1 {
					bad("ENCRYPTION_CURRENT_KEY_ID is required when ENCRYPTION_KEYS holds several keys")
				}
				for kid := range parsed {
					current = kid
				}
			}
			if kr, err := secrets.NewKeyring(parsed, current); err != nil {
				if current != "" || len(parsed) == 1 {
					bad("ENCRYPTION_CURRENT_KEY_ID: %v", err)
				}
			} else {
				c.Keyring = kr
			}
		}
	}
	for name, v := range map[string]int{
		"RATE_LIMIT_ORG_PER_SECOND": c.RateLimitOrgPerSecond, "RATE_LIMIT_ORG_BURST": c.RateLimitOrgBurst,
		"RATE_LIMIT_KEY_PER_SECOND": c.RateLimitKeyPerSecond, "AUTH_RATE_LIMIT_IP_PER_MINUTE": c.AuthRateLimitIPPerMinute,
		"AUTH_RATE_LIMIT_EMAIL_PER_MINUTE": c.AuthRateLimitEmailPerMinute, "WORKER_CONCURRENCY": c.WorkerConcurrency,
		"AUTH_RATE_LIMIT_EMAIL_FAILURES_PER_HOUR": c.AuthRateLimitEmailFailuresPerHour, "WEBHOOK_CONCURRENCY": c.WebhookConcurrency,
		"GENERATION_CONCURRENCY": c.GenerationConcurrency,
	} {
		if v < 1 {
			bad("%s must be at least 1", name)
		}
	}
	if c.WorkerMemoryLimit < 0 {
		bad("WORKER_MEMORY_LIMIT must be 0 (none) or a number of bytes")
	}
	if c.SendIgnoreCaps && c.Production() {
		bad("SENDING_IGNORE_CAPS must not be set in production: the caps protect real mailboxes")
	}
	if c.SendBatchSize < 1 || c.SendDispatchInterval <= 0 || c.SendReapAfter <= 0 {
		bad("SENDING_BATCH_SIZE, SENDING_DISPATCH_INTERVAL and SENDING_REAP_AFTER must be positive")
	}
	if c.WebhookAllowHTTP && c.Production() {
		bad("WEBHOOK_ALLOW_HTTP must not be set in production: webhook deliveries carry signed event data and need https")
	}
	if allow, err := egress.ParsePrefixes(c.WebhookAllowCIDRs); err != nil {
		bad("WEBHOOK_ALLOW_CIDRS: %v", err)
	} else {
		c.WebhookAllow = allow
	}
	if allow, err := egress.ParsePrefixes(c.EmailAllowCIDRs); err != nil {
		bad("EMAIL_ALLOW_CIDRS: %v", err)
	} else {
		c.EmailAllow = allow
	}
	if c.EmailConnectTimeout < 100*time.Millisecond || c.EmailConnectTimeout > c.EmailTestTimeout {
		bad("EMAIL_CONNECT_TIMEOUT must be at least 100ms and at most EMAIL_TEST_TIMEOUT")
	}
	if c.EmailTestTimeout > 5*time.Minute {
		bad("EMAIL_TEST_TIMEOUT must be at most 5m")
	}
	if c.EmailCustomMaxDailyLimit < 1 {
		bad("EMAIL_CUSTOM_MAX_DAILY_LIMIT must be at least 1")
	}
	for name, v := range map[string]string{"GOOGLE_OAUTH_AUTH_URL": c.GoogleOAuthAuthURL, "GOOGLE_OAUTH_TOKEN_URL": c.GoogleOAuthTokenURL,
		"GOOGLE_OAUTH_USERINFO_URL": c.GoogleOAuthUserInfoURL, "MICROSOFT_OAUTH_AUTH_URL": c.MicrosoftOAuthAuthURL,
		"MICROSOFT_OAUTH_TOKEN_URL": c.MicrosoftOAuthTokenURL, "MICROSOFT_OAUTH_USERINFO_URL": c.MicrosoftOAuthUserInfoURL} {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("%s must be an absolute http(s) URL, not %q", name, v)
		}
	}
	if (c.GoogleOAuthClientID == "") != (c.GoogleOAuthClientSecret == "") {
		bad("GOOGLE_OAUTH_CLIENT_ID and GOOGLE_OAUTH_CLIENT_SECRET go together")
	}
	if (c.MicrosoftOAuthClientID == "") != (c.MicrosoftOAuthClientSecret == "") {
		bad("MICROSOFT_OAUTH_CLIENT_ID and MICROSOFT_OAUTH_CLIENT_SECRET go together")
	}
	if c.WebhookTimeout < time.Second || c.WebhookTimeout > 5*time.Minute {
		bad("WEBHOOK_TIMEOUT must be between 1s and 5m")
	}
	if c.WebhookConnectTimeout < 100*time.Millisecond || c.WebhookConnectTimeout > c.WebhookTimeout {
		bad("WEBHOOK_CONNECT_TIMEOUT must be at least 100ms and at most WEBHOOK_TIMEOUT")
	}
	if c.WebhookDisableAfter < time.Hour {
		bad("WEBHOOK_DISABLE_AFTER must be at least 1h")
	}
	if c.EventsRetention < 24*time.Hour {
		bad("EVENTS_RETENTION must be at least 24h")
	}
	if c.DatabaseMaxConns < 2 {
		bad("DATABASE_MAX_CONNS must be at least 2")
	}
	if len(problems) > 0 {
		return &Error{Problems: problems}
	}
	return nil
}

// Error lists every configuration problem found.
type Error struct{ Problems []string }

func (e *Error) Error() string {
	return "invalid configuration:\n  - " + strings.Join(e.Problems, "\n  - ")
}

// IsConfigError reports whether err came from validation.
func IsConfigError(err error) bool {
	var ce *Error
	return errors.As(err, &ce)
}

// envNames lists every variable Config reads, so Load can take them from
// an injected getenv instead of the process environment.
func envNames() []string {
	var names []string
	params, _ := env.GetFieldParamsWithOptions(&Config{}, env.Options{})
	for _, p := range params {
		names = append(names, p.Key)
	}
	return names
}
