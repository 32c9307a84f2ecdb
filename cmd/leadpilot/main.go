// Command leadpilot is the LeadPilot backend: one binary for the HTTP API,
// the background workers, migrations and seeding.
//
//	leadpilot serve                 the HTTP API
//	leadpilot worker                asynq workers and the periodic scheduler
//	leadpilot all                   both in one process
//	leadpilot migrate up|down|status|unlock
//	leadpilot seed                  system sequence templates
//	leadpilot reencrypt             re-encrypt stored credentials with the current key
//
// Configuration comes from environment variables; see .env.example.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // IANA zones in a distroless image

	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/leadpilot/leadpilot/internal/auth"
	"github.com/leadpilot/leadpilot/internal/campaigns"
	"github.com/leadpilot/leadpilot/internal/config"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/docs"
	"github.com/leadpilot/leadpilot/internal/egress"
	"github.com/leadpilot/leadpilot/internal/emailaccounts"
	"github.com/leadpilot/leadpilot/internal/emailsend"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/httpapi"
	"github.com/leadpilot/leadpilot/internal/idempotency"
	"github.com/leadpilot/leadpilot/internal/inbox"
	"github.com/leadpilot/leadpilot/internal/jobs"
	"github.com/leadpilot/leadpilot/internal/leadimports"
	"github.com/leadpilot/leadpilot/internal/leads"
	"github.com/leadpilot/leadpilot/internal/llm/llmfactory"
	"github.com/leadpilot/leadpilot/internal/llmsettings"
	"github.com/leadpilot/leadpilot/internal/mailer"
	"github.com/leadpilot/leadpilot/internal/notifications"
	"github.com/leadpilot/leadpilot/internal/orgs"
	"github.com/leadpilot/leadpilot/internal/ratelimit"
	"github.com/leadpilot/leadpilot/internal/secrets"
	"github.com/leadpilot/leadpilot/internal/sending"
	"github.com/leadpilot/leadpilot/internal/sequences"
	"github.com/leadpilot/leadpilot/internal/suppressions"
	"github.com/leadpilot/leadpilot/internal/templates"
	"github.com/leadpilot/leadpilot/internal/unsubscribe"
	"github.com/leadpilot/leadpilot/internal/webhookdelivery"
	"github.com/leadpilot/leadpilot/internal/webhooks"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "leadpilot:", err)
		os.Exit(1)
	}
}

const usage = `usage: leadpilot <command>

commands:
  serve                        run the HTTP API
  worker                       run background workers and the scheduler
  all                          run both in one process
  migrate up|down|status|unlock
  seed                         insert or update the system sequence templates
  reencrypt                    re-encrypt stored credentials with the current key`

// run is the whole program; main only wires the process to it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stdout, usage)
		return nil
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	slog.SetDefault(logger) // for the few places that log without a logger of their own
	for _, w := range cfg.Warnings {
		logger.Warn(w)
	}
	switch args[0] {
	case "migrate":
		sub := "up"
		if len(args) > 1 {
			sub = args[1]
		}
		return migrate(ctx, cfg, sub, stdout)
	case "seed":
		return seed(ctx, cfg, stdout)
	case "reencrypt":
		return reencrypt(ctx, cfg, stdout)
	case "serve", "worker", "all":
		return serve(ctx, cfg, logger, args[0])
	default:
		return fmt.Errorf("unknown command %q\n%s", args[0], usage)
	}
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(httpapi.LogHandler(h))
}

func openOwner(ctx context.Context, cfg *config.Config) (*database.DB, error) {
	return database.Open(ctx, database.Options{URL: cfg.MigrateDatabaseURL, MaxConns: 2})
}

func migrate(ctx context.Context, cfg *config.Config, sub string, out io.Writer) error {
	db, err := openOwner(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	m, err := database.NewMigrator(db.Bun)
	if err != nil {
		return err
	}
	switch sub {
	case "up":
		names, err := m.Up(ctx)
		if err != nil {
			return err
		}
		if len(names) == 0 {
			fmt.Fprintln(out, "migrate: schema is up to date")
		}
		for _, n := range names {
			fmt.Fprintln(out, "migrate: applied", n)
		}
		if err := ensureServiceLogin(ctx, db, cfg, out); err != nil {
			return err
		}
	case "down":
		names, err := m.Down(ctx)
		if err != nil {
			return err
		}
		if len(names) == 0 {
			fmt.Fprintln(out, "migrate: nothing to roll back")
		}
		for _, n := range names {
			fmt.Fprintln(out, "migrate: rolled back", n)
		}
	case "status":
		applied, pending, err := m.Status(ctx)
		if err != nil {
			return err
		}
		for _, n := range applied {
			fmt.Fprintln(out, "applied ", n)
		}
		for _, n := range pending {
			fmt.Fprintln(out, "pending ", n)
		}
	case "unlock":
		if err := m.Unlock(ctx); err != nil {
			return err
		}
		fmt.Fprintln(out, "migrate: lock cleared")
	default:
		return fmt.Errorf("migrate: unknown subcommand %q (up, down, status, unlock)", sub)
	}
	return nil
}

// ensureServiceLogin makes the login role the service should use and says
// which it is; when DATABASE_URL names a privileged login it makes the
// default one anyway and says in one line how to switch.
func ensureServiceLogin(ctx context.Context, db *database.DB, cfg *config.Config, out io.Writer) error {
	login, err := db.EnsureServiceLogin(ctx, cfg.DatabaseURL, cfg.DatabaseAppRole)
	if err != nil {
		return err
	}
	switch {
	case login.SwitchURL != "":
		fmt.Fprintf(out, "migrate: DATABASE_URL logs in as %q, which row-level security does not bind; made %q (a member of %q) for the service: %s\n",
			login.Privileged, login.Role, cfg.DatabaseAppRole, database.SwitchHint(cfg.DatabaseURL))
	case login.Privileged != "":
		fmt.Fprintf(out, "migrate: DATABASE_URL logs in as %q, which row-level security does not bind\n", login.Privileged)
	case login.Role != "":
		fmt.Fprintf(out, "migrate: the service logs in as %q, a member of %q\n", login.Role, cfg.DatabaseAppRole)
	}
	return nil
}

func seed(ctx context.Context, cfg *config.Config, out io.Writer) error {
	db, err := openOwner(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := database.SchemaCurrent(ctx, db.Bun); err != nil {
		return err
	}
	n, err := templates.Seed(ctx, db.Bun)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "seed: %d system templates up to date\n", n)
	return nil
}

// encryptedColumns are every column holding secrets.Keyring ciphertext.
var encryptedColumns = []secrets.Column{
	{Table: "organizations", IDColumn: "id", Column: "llm_api_key_encrypted"},
	{Table: "email_accounts", IDColumn: "id", Column: "oauth_access_token_encrypted"},
	{Table: "email_accounts", IDColumn: "id", Column: "oauth_refresh_token_encrypted"},
	{Table: "email_accounts", IDColumn: "id", Column: "credentials_encrypted"},
	{Table: "messaging_accounts", IDColumn: "id", Column: "account_sid_encrypted"},
	{Table: "messaging_accounts", IDColumn: "id", Column: "auth_token_encrypted"},
	{Table: "webhook_endpoints", IDColumn: "id", Column: "secret_encrypted"},
	{Table: "webhook_endpoints", IDColumn: "id", Column: "previous_secret_encrypted"},
}

func reencrypt(ctx context.Context, cfg *config.Config, out io.Writer) error {
	db, err := openOwner(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := secrets.Rotate(ctx, db.Bun, cfg.Keyring, encryptedColumns, 200)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "reencrypt: %d values now under key %q\n", n, cfg.Keyring.CurrentKeyID())
	return nil
}

func serve(ctx context.Context, cfg *config.Config, logger *slog.Logger, mode string) error {
	db, err := database.Open(ctx, database.Options{URL: cfg.DatabaseURL, Role: cfg.DatabaseAppRole, MaxConns: cfg.DatabaseMaxConns})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := database.SchemaCurrent(ctx, db.Bun); err != nil {
		return err
	}
	if err := db.CheckRole(ctx); err != nil {
		if !errors.Is(err, database.ErrPrivilegedLogin) {
			return err
		}
		err = fmt.Errorf("%w; to switch, %s (`leadpilot migrate up` makes that login)", err, database.SwitchHint(cfg.DatabaseURL))
		if cfg.Production() {
			return err
		}
		logger.Warn(err.Error())
	}
	redisOpt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(redisOpt)
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	asynqOpt := asynq.RedisClientOpt{Addr: redisOpt.Addr, Username: redisOpt.Username, Password: redisOpt.Password, DB: redisOpt.DB, TLSConfig: redisOpt.TLSConfig}

	// Background work the API starts (lead imports) is enqueued here.
	enqueuer := jobs.NewEnqueuer(asynqOpt)
	defer enqueuer.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	inspector := asynq.NewInspector(asynqOpt)
	defer inspector.Close()
	reg.MustRegister(jobs.QueueMetrics(inspector))

	// One half failing stops the other.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	running := 0
	if mode == "serve" || mode == "all" {
		srv, err := newHTTPServer(cfg, logger, db, rdb, reg, enqueuer)
		if err != nil {
			return err
		}
		running++
		go func() {
			logger.Info("http: listening", "addr", cfg.HTTPAddr, "docs", strings.TrimRight(cfg.PublicURL, "/")+"/docs")
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("http: %w", err)
				return
			}
			errc <- nil
		}()
		go func() {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
			defer cancel()
			logger.Info("http: shutting down")
			_ = srv.Shutdown(sctx)
		}()
	}
	if cfg.MetricsAddr != "" && (mode == "serve" || mode == "all") {
		msrv := &http.Server{Addr: cfg.MetricsAddr, Handler: metricsHandler(reg), ReadHeaderTimeout: 10 * time.Second}
		running++
		go func() {
			logger.Info("metrics: listening", "addr", cfg.MetricsAddr)
			if err := msrv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("metrics: %w", err)
				return
			}
			errc <- nil
		}()
		go func() {
			<-ctx.Done()
			_ = msrv.Close()
		}()
	}
	if mode == "worker" && cfg.WorkerMemoryLimit > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(cfg.WorkerMemoryLimit)
	}
	if mode == "worker" || mode == "all" {
		running++
		go func() {
			errc <- runWorker(ctx, cfg, logger, db, asynqOpt)
		}()
	}
	var first error
	for range running {
		if err := <-errc; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

func newHTTPServer(cfg *config.Config, logger *slog.Logger, db *database.DB, rdb *redis.Client, reg *prometheus.Registry, enqueuer *jobs.Enqueuer) (*http.Server, error) {
	tokens := auth.NewTokens(cfg.JWTSecret, cfg.JWTIssuer, cfg.JWTAudience, cfg.AccessTokenTTL)
	docsHandler := echo.WrapHandler(docs.Handler("/openapi.yaml"))
	mail, catcher, err := newMailer(cfg, logger)
	if err != nil {
		return nil, err
	}
	llmSettings := llmsettings.NewService(db, cfg.Keyring, llmPlatform(cfg), logger)
	// The one-click unsubscribe links are signed with a key derived from
	// JWT_SECRET (see internal/unsubscribe). The API process schedules
	// (activating a campaign) and unsubscribes, but never sends: no
	// channels and no enqueuer.
	signer, err := unsubscribe.NewSigner([]byte(cfg.JWTSecret))
	if err != nil {
		return nil, err
	}
	engine := sending.New(db, nil, nil, signer, sendingOptions(cfg, logger))
	camps := campaigns.NewService(db)
	camps.OnTransition(engine.OnTransition)
	// Replies composed in the inbox leave at once, from the API process:
	// an engine with the email channel that only ever Delivers (no
	// enqueuer: it never dispatches steps). Its connections close when the
	// server shuts down.
	replies, closeReplies, err := newSendingEngine(cfg, logger, db, nil)
	if err != nil {
		return nil, err
	}
	e, err := httpapi.New(httpapi.Deps{
		Auth:        auth.NewService(db, tokens, cfg.RefreshTokenTTL, auth.Mail{Mailer: mail, PublicURL: cfg.PublicURL, Logger: logger}),
		Orgs:        orgs.NewService(db, cfg.InviteTTL, cfg.PublicURL, mail, !cfg.Production()),
		LLM:         llmSettings,
		Campaigns:   camps,
		Sequences:   sequences.NewService(db),
		Templates:   templates.NewService(db),
		Idempotency: idempotency.NewStore(db, cfg.Keyring),
		Limiter:     ratelimit.New(rdb, "leadpilot:rl:", ratelimit.Options{Logger: logger, Registerer: reg}),
		Limits: httpapi.Limits{
			OrgPerSecond: cfg.RateLimitOrgPerSecond, OrgBurst: cfg.RateLimitOrgBurst,
			KeyPerSecond: cfg.RateLimitKeyPerSecond, AuthIPPerMinute: cfg.AuthRateLimitIPPerMinute,
			AuthEmailPerMinute: cfg.AuthRateLimitEmailPerMinute, AuthEmailFailuresPerHour: cfg.AuthRateLimitEmailFailuresPerHour,
		},
		Logger:   logger,
		Registry: reg,
		Ready: func(ctx context.Context) error {
			if err := db.Pool.Ping(ctx); err != nil {
				return fmt.Errorf("postgres unreachable")
			}
			if err := rdb.Ping(ctx).Err(); err != nil {
				return fmt.Errorf("redis unreachable")
			}
			return database.SchemaCurrent(ctx, db.Bun)
		},
		Extra: func(e *echo.Echo) {
			if cfg.MetricsAddr == "" {
				e.GET("/metrics", echo.WrapHandler(metricsHandler(reg)), httpapi.OperatorOnly(cfg.MetricsToken))
			}
			e.GET("/docs", docsHandler)
			e.GET("/docs/*", docsHandler)
			e.HEAD("/docs", docsHandler)
			e.HEAD("/docs/*", docsHandler)
			if catcher != nil {
				// Development only, and only for this machine or the metrics
				// token: the caught mail holds live secrets.
				e.GET("/dev/mail", echo.WrapHandler(catcher), httpapi.OperatorOnly(cfg.MetricsToken))
			}
		},
		MaxBodyBytes:      cfg.MaxBodyBytes,
		MaxUploadBytes:    cfg.ImportMaxBytes,
		TrustProxyHeaders: cfg.TrustProxyHeaders,
		CORSOrigins:       cfg.CORSOrigins,
		Suppressions:      suppressions.NewService(db),
		Leads:             leads.NewService(db),
		LeadImports:       leadimports.NewService(db, enqueuer).WithMaxFileBytes(cfg.ImportMaxBytes),
		Events:            events.NewService(db),
		Webhooks:          webhooks.NewService(db, cfg.Keyring, webhooks.Options{AllowHTTP: cfg.WebhookAllowHTTP, Retention: cfg.EventsRetention}),
		Notifications:     notifications.NewService(db),
		EmailAccounts:     emailaccounts.NewService(db, cfg.Keyring, emailAccountOptions(cfg)),
		Generation: sequences.NewGenerator(db, sequences.ProvidersFrom(llmSettings), enqueuer,
			sequences.GeneratorOptions{Concurrency: cfg.GenerationConcurrency, Logger: logger}),
		Sending:     engine,
		Unsubscribe: signer,
		Inbox:       newInbox(cfg, db, replies, llmSettings, enqueuer),
	})
	if err != nil {
		closeReplies()
		return nil, err
	}
	srv := &http.Server{
		Addr:              cfg.HTTPAddr,
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	srv.RegisterOnShutdown(closeReplies)
	return srv, nil
}

// emailAccountOptions are the email accounts' settings from cfg: where
// SMTP/IMAP may connect, the custom maximum, and the OAuth clients with
// their redirect URIs under PUBLIC_URL.
func emailAccountOptions(cfg *config.Config) emailaccounts.Options {
	redirect := func(p string) string {
		return strings.TrimRight(cfg.PublicURL, "/") + "/v1/email-accounts/oauth/" + p + "/callback"
	}
	google, microsoft := emailaccounts.GoogleEndpoints, emailaccounts.MicrosoftEndpoints
	google.ClientID, google.ClientSecret, google.RedirectURL = cfg.GoogleOAuthClientID, cfg.GoogleOAuthClientSecret, redirect(emailaccounts.ProviderGmail)
	google.AuthURL, google.TokenURL, google.UserInfoURL = cfg.GoogleOAuthAuthURL, cfg.GoogleOAuthTokenURL, cfg.GoogleOAuthUserInfoURL
	microsoft.ClientID, microsoft.ClientSecret, microsoft.RedirectURL = cfg.MicrosoftOAuthClientID, cfg.MicrosoftOAuthClientSecret, redirect(emailaccounts.ProviderOutlook)
	microsoft.AuthURL, microsoft.TokenURL, microsoft.UserInfoURL = cfg.MicrosoftOAuthAuthURL, cfg.MicrosoftOAuthTokenURL, cfg.MicrosoftOAuthUserInfoURL
	return emailaccounts.Options{
		AllowCIDRs: cfg.EmailAllow, ConnectTimeout: cfg.EmailConnectTimeout, TestTimeout: cfg.EmailTestTimeout,
		CustomMaxDailyLimit: cfg.EmailCustomMaxDailyLimit, Google: google, Microsoft: microsoft,
	}
}

// newMailer is the platform's mail: SMTP to SYSTEM_SMTP_URL, or in
// development without one a catcher (returned too, for GET /dev/mail).
// Production without SYSTEM_SMTP_URL is refused by config.
func newMailer(cfg *config.Config, logger *slog.Logger) (mailer.Mailer, *mailer.Catcher, error) {
	if cfg.SystemSMTPURL != "" {
		m, err := mailer.NewSMTP(cfg.SystemSMTPURL, cfg.SystemMailFrom)
		return m, nil, err
	}
	logger.Warn("SYSTEM_SMTP_URL is not set: mail is not sent but logged and listed at GET /dev/mail")
	c := mailer.NewCatcher(100, logger)
	return c, c, nil
}

// runWorker runs the asynq server and the periodic scheduler until ctx ends.
func runWorker(ctx context.Context, cfg *config.Config, logger *slog.Logger, db *database.DB, redisOpt asynq.RedisConnOpt) error {
	srv := jobs.NewServer(redisOpt, jobs.Config{
		Concurrency: cfg.WorkerConcurrency, ShutdownTimeout: cfg.ShutdownTimeout, Logger: logger,
		Queues: jobs.QueuesExcept(jobs.QueueWebhooks),
	})
	// Webhook delivery has a pool of its own: its tasks wait on other
	// people's servers, and must not hold the slots sending needs.
	hooks := jobs.NewServer(redisOpt, jobs.Config{
		Concurrency: cfg.WebhookConcurrency, ShutdownTimeout: cfg.ShutdownTimeout, Logger: logger,
		Queues: map[string]int{jobs.QueueWebhooks: 1},
	})
	// The worker enqueues too: the import sweep re-enqueues imports whose
	// enqueue was lost.
	enqueuer := jobs.NewEnqueuer(redisOpt)
	defer func() { _ = enqueuer.Close() }()
	webhooks := webhookdelivery.New(db, cfg.Keyring, webhookdelivery.Config{
		HTTP:           webhookdelivery.ClientConfig{AllowCIDRs: cfg.WebhookAllow, ConnectTimeout: cfg.WebhookConnectTimeout},
		AllowHTTP:      cfg.WebhookAllowHTTP,
		RequestTimeout: cfg.WebhookTimeout,
		DisableAfter:   cfg.WebhookDisableAfter,
		Logger:         logger,
	})
	engine, closeEngine, err := newSendingEngine(cfg, logger, db, enqueuer)
	if err != nil {
		return err
	}
	defer closeEngine()
	llmSettings := llmsettings.NewService(db, cfg.Keyring, llmPlatform(cfg), logger)
	inboxWork := inbox.Worker{
		Service: newInbox(cfg, db, engine, llmSettings, enqueuer),
		// Reply sync reads mailboxes through the same accounts service
		// (credentials, OAuth refresh, the egress dialer) as sending.
		Mailboxes: emailaccounts.NewMailboxes(emailaccounts.NewService(db, cfg.Keyring, emailAccountOptions(cfg))),
		Sync:      inbox.SyncOptions{Interval: cfg.InboxSyncInterval, Backfill: cfg.InboxBackfill, PauseAfter: cfg.InboxSyncPauseAfter},
	}
	// The daily digest mails through the platform mailer, as invites do
	// (a catcher that logs the mail in development).
	mail, _, err := newMailer(cfg, logger)
	if err != nil {
		return err
	}
	mux := jobs.NewMux(&jobs.Handlers{
		Purge:          jobs.NewPurgeHandler(db, jobs.PurgeConfig{Logger: logger}),
		LeadImport:     jobs.NewLeadImportHandler(leadimports.NewService(db, nil).WithMaxFileBytes(cfg.ImportMaxBytes)),
		RowRunSweep:    jobs.NewRowRunSweepHandler(db, enqueuer, jobs.RowRunSweepConfig{Logger: logger}),
		WebhookDeliver: jobs.NewWebhookDeliverHandler(webhooks),
		EventsPrune:    jobs.NewEventsPruneHandler(db, jobs.EventsPruneConfig{Retention: cfg.EventsRetention, Logger: logger}),
		SequenceGeneration: jobs.NewSequenceGenerationHandler(sequences.NewGenerator(db,
			sequences.ProvidersFrom(llmSettings), nil,
			sequences.GeneratorOptions{Concurrency: cfg.GenerationConcurrency, Logger: logger})),
		Send:  jobs.NewSendHandler(engine),
		Inbox: jobs.NewInboxHandler(inboxWork, enqueuer, logger),
		DailyDigest: jobs.NewDailyDigestHandler(notifications.NewDigester(db, mail,
			notifications.DigestOptions{AppURL: cfg.PublicURL, Logger: logger}), logger),
	}, logger)
	sched, err := jobs.NewScheduler(redisOpt, logger, time.UTC)
	if err != nil {
		return err
	}
	// The webhook dispatcher turns NOTIFYs and due retries into delivery
	// tasks; it stops with the worker.
	dispatcher := webhookdelivery.NewDispatcher(db, enqueuer, webhookdelivery.DispatcherConfig{Logger: logger})
	dctx, stopDispatcher := context.WithCancel(ctx)
	dispatched := make(chan struct{})
	go func() {
		defer close(dispatched)
		_ = dispatcher.Run(dctx)
	}()
	// The sending dispatcher claims due messages and enqueues their send
	// tasks, requeues lost ones and reaps dead sends.
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		engine.Run(dctx, cfg.SendDispatchInterval)
	}()
	defer func() {
		stopDispatcher()
		<-dispatched
		<-sent
	}()
	if err := hooks.Start(mux); err != nil {
		return fmt.Errorf("jobs: start webhook server: %w", err)
	}
	defer hooks.Shutdown()
	logger.Info("worker: started", "concurrency", cfg.WorkerConcurrency, "queues", jobs.QueuesExcept(jobs.QueueWebhooks),
		"webhook_concurrency", cfg.WebhookConcurrency)
	return jobs.Run(ctx, srv, mux, sched)
}

// sendingOptions are the engine's settings from the configuration.
func sendingOptions(cfg *config.Config, logger *slog.Logger) sending.Options {
	recipientDaily := cfg.SendRecipientDomainDaily
	if recipientDaily == 0 {
		recipientDaily = -1 // the configuration's 0 is "none"; the engine's is its default
	}
	return sending.Options{
		BatchSize: cfg.SendBatchSize, ReapAfter: cfg.SendReapAfter, MinGap: cfg.SendMinGap, GapJitter: cfg.SendGapJitter,
		RecipientDomainDaily: recipientDaily, SendingDomainHourly: cfg.SendSendingDomainHourly,
		CampaignNewLeadsDaily: cfg.SendCampaignNewLeadsDaily, BounceThreshold: cfg.SendBounceThreshold, IgnoreCaps: cfg.SendIgnoreCaps,
		UnsubscribeBase: strings.TrimRight(cfg.PublicURL, "/") + "/u", Logger: logger,
	}
}

// newInbox is the inbox service: the engine applies what arrives and
// sends replies composed in the inbox, the organisation's LLM (metered)
// classifies, enq queues classifications.
func newInbox(cfg *config.Config, db *database.DB, engine *sending.Engine, llm *llmsettings.Service, enq inbox.Enqueuer) *inbox.Service {
	return inbox.NewService(db, engine, inbox.ProviderFor(sequences.ProvidersFrom(llm)), enq, inbox.Options{
		StopOnAutoReply: cfg.InboxStopOnAutoReply, SoftBounceLimit: cfg.InboxSoftBounceLimit,
	})
}

// newSendingEngine is the worker's engine: the email channel over kept-open
// SMTP connections (dialled through the SSRF-safe egress dialer with
// EMAIL_ALLOW_CIDRS) or the sandbox mailbox, the one-click unsubscribe
// signer, and enq for the dispatcher's send tasks. The returned func
// closes the connections.
func newSendingEngine(cfg *config.Config, logger *slog.Logger, db *database.DB, enq sending.Enqueuer) (*sending.Engine, func(), error) {
	signer, err := unsubscribe.NewSigner([]byte(cfg.JWTSecret))
	if err != nil {
		return nil, nil, err
	}
	pool := emailsend.NewPool(emailsend.PoolOptions{
		DialTimeout: cfg.EmailConnectTimeout,
		Dialer:      egress.NewDialer(egress.DialerOptions{Allow: cfg.EmailAllow, Timeout: cfg.EmailConnectTimeout}),
	})
	accounts := emailaccounts.NewService(db, cfg.Keyring, emailAccountOptions(cfg))
	dkim, err := emailsend.ParseDKIMKeys(cfg.DKIMKeys)
	if err != nil {
		return nil, nil, err
	}
	channels := map[string]sending.Channel{"email": sending.EmailChannel{Pool: pool, Transports: sending.AccountTransports{DB: db, Accounts: accounts, DKIM: dkim}}}
	opts := sendingOptions(cfg, logger)
	opts.Accounts = emailaccounts.NewMailboxes(accounts) // email_account.updated when a send changes a mailbox's connection status
	return sending.New(db, channels, enq, signer, opts), func() { _ = pool.Close() }, nil
}

// llmPlatform is the deployment's LLM configuration: platform keys and
// endpoint overrides per provider.
func llmPlatform(cfg *config.Config) llmfactory.Platform {
	return llmfactory.Platform{
		Keys: map[string]string{
			llmfactory.Anthropic: cfg.AnthropicAPIKey, llmfactory.OpenAI: cfg.OpenAIAPIKey,
			llmfactory.Gemini: cfg.GoogleAIAPIKey, llmfactory.DeepSeek: cfg.DeepSeekAPIKey, llmfactory.Groq: cfg.GroqAPIKey,
		},
		BaseURLs: map[string]string{
			llmfactory.Anthropic: cfg.AnthropicBaseURL, llmfactory.OpenAI: cfg.OpenAIBaseURL,
			llmfactory.Gemini: cfg.GeminiBaseURL, llmfactory.DeepSeek: cfg.DeepSeekBaseURL, llmfactory.Groq: cfg.GroqBaseURL,
		},
		Timeout: cfg.LLMTimeout,
	}
}

// metricsHandler serves the Prometheus registry.
func metricsHandler(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return mux
}
