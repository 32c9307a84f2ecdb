// Package emailaccounts manages the mailboxes an organisation sends from
// (table email_accounts): custom SMTP + IMAP accounts, Gmail and Outlook
// mailboxes connected with OAuth 2.0, and sandbox mailboxes that capture
// what is sent and take injected replies (table sandbox_messages).
//
// Providers. `sandbox` is a provider of its own (migration
// 20261129100001) rather than a flag on another provider: a sandbox
// mailbox has no server, credentials or OAuth tokens, so it shares none of
// the other providers' fields, and the API filters by provider. The older
// sandbox column is kept equal to provider = 'sandbox' by a CHECK.
//
// Secrets. A custom account's password is credentials_encrypted, OAuth
// tokens are oauth_access_token_encrypted and oauth_refresh_token_encrypted,
// each sealed with the service keyring under secrets.AAD(table, column,
// id) — the same AAD `leadpilot reencrypt` uses. Views never carry them:
// an Account says only whether they are set.
//
// Who may do what: every member and API keys read; owners, admins and API
// keys create, change, test and delete; only a signed-in owner or admin
// starts an OAuth connection (a person consents in a browser).
//
// The sending engine uses Transport (how to send from an account, today's
// cap) and SandboxDeliver; the inbox reads sandbox_messages.
package emailaccounts

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"
	openapi_types "github.com/oapi-codegen/runtime/types"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/egress"
	"github.com/leadpilot/leadpilot/internal/emailaddr"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/orgs"
	"github.com/leadpilot/leadpilot/internal/pagination"
	"github.com/leadpilot/leadpilot/internal/secrets"
)

// Providers (the table's CHECK).
const (
	ProviderGmail   = "gmail"
	ProviderOutlook = "outlook"
	ProviderCustom  = "custom"
	ProviderSandbox = "sandbox"
)

// TLS modes of an SMTP or IMAP connection (the table's CHECKs).
const (
	// TLSStartTLS connects in plain text and upgrades with STARTTLS, which
	// must succeed (submission on 587, IMAP on 143).
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (SMTPS 465, IMAPS 993).
	TLSImplicit = "tls"
	// TLSNone never encrypts: for local test servers only.
	TLSNone = "none"
)

// Connection statuses (the table's CHECK).
const (
	StatusPending   = "pending"
	StatusConnected = "connected"
	StatusError     = "error"
	StatusDisabled  = "disabled"
)

// DefaultDailySendLimit is the limit of a new account unless one is given
// (the column default).
const DefaultDailySendLimit = 50

// Column AADs: every reader and writer (and `leadpilot reencrypt`) agrees.
func passwordAAD(id uuid.UUID) []byte {
	return secrets.AAD("email_accounts", "credentials_encrypted", id.String())
}
func accessTokenAAD(id uuid.UUID) []byte {
	return secrets.AAD("email_accounts", "oauth_access_token_encrypted", id.String())
}
func refreshTokenAAD(id uuid.UUID) []byte {
	return secrets.AAD("email_accounts", "oauth_refresh_token_encrypted", id.String())
}

// accountRow is the table as bun sees it; it never leaves the package.
type accountRow struct {
	bun.BaseModel `bun:"table:email_accounts"`

	ID                 uuid.UUID  `bun:"id,pk,type:uuid"`
	OrgID              uuid.UUID  `bun:"org_id,type:uuid"`
	UserID             *uuid.UUID `bun:"user_id,type:uuid"`
	EmailAddress       string     `bun:"email_address"`
	DisplayName        *string    `bun:"display_name"`
	Provider           string     `bun:"provider"`
	AccessTokenCipher  *string    `bun:"oauth_access_token_encrypted"`
	RefreshTokenCipher *string    `bun:"oauth_refresh_token_encrypted"`
	TokenExpiresAt     *time.Time `bun:"oauth_token_expires_at"`
	IMAPHost           *string    `bun:"imap_host"`
	IMAPPort           int        `bun:"imap_port"`
	IMAPTLSMode        string     `bun:"imap_tls_mode"`
	SMTPHost           *string    `bun:"smtp_host"`
	SMTPPort           int        `bun:"smtp_port"`
	SMTPTLSMode        string     `bun:"smtp_tls_mode"`
	Username           *string    `bun:"username"`
	PasswordCipher     *string    `bun:"credentials_encrypted"`
	DailySendLimit     int        `bun:"daily_send_limit"`
	EmailsSentToday    int        `bun:"emails_sent_today"`
	SentTodayDate      *time.Time `bun:"sent_today_date,type:date"`
	WarmupEnabled      bool       `bun:"warmup_enabled"`
	WarmupStartedAt    *time.Time `bun:"warmup_started_at"`
	Sandbox            bool       `bun:"sandbox"`
	IsActive           bool       `bun:"is_active"`
	ConnectionStatus   string     `bun:"connection_status"`
	LastError          *string    `bun:"last_error"`
	// ErrorSource is which side the connection error came from: "smtp",
	// "imap", or nil (both, or not known); see the column's migration.
	ErrorSource  *string    `bun:"error_source"`
	LastTestedAt *time.Time `bun:"last_tested_at"`
	// Reply sync (IMAP) state, written by the inbox's sync; read here for
	// the view.
	IMAPUIDValidity     *int64     `bun:"imap_uidvalidity"`
	IMAPLastUID         *int64     `bun:"imap_last_uid"`
	IMAPLastSuccessAt   *time.Time `bun:"imap_last_success_at"`
	IMAPLastAttemptAt   *time.Time `bun:"imap_last_attempt_at"`
	IMAPLastError       *string    `bun:"imap_last_error"`
	IMAPFailures        int        `bun:"imap_failures"`
	IMAPFailingSince    *time.Time `bun:"imap_failing_since"`
	IMAPNextSyncAt      *time.Time `bun:"imap_next_sync_at"`
	IMAPMessagesSynced  int64      `bun:"imap_messages_synced"`
	SendingPausedReason *string    `bun:"sending_paused_reason"`
	CreatedAt           time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt           time.Time  `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

func (r accountRow) key() uuid.UUID { return r.ID }

// Account is an email account as the API shows it: never a credential.
type Account struct {
	ID             uuid.UUID
	EmailAddress   string
	DisplayName    *string
	Provider       string
	SMTPHost       *string
	SMTPPort       int
	SMTPTLSMode    string
	IMAPHost       *string
	IMAPPort       int
	IMAPTLSMode    string
	Username       *string
	CredentialsSet bool // a custom account's password is stored (never shown)
	OAuthConnected bool
	TokenExpiresAt *time.Time
	DailySendLimit int
	// MaxDailySendLimit is the provider's hard maximum (MaxDailyLimit).
	MaxDailySendLimit int
	// CurrentDailyCap is what may be sent today (DailyCap).
	CurrentDailyCap int
	// SentToday counts today's sends in the organisation's time zone.
	SentToday        int
	Warmup           Warmup
	IsActive         bool
	ConnectionStatus string
	LastError        *string
	LastTestedAt     *time.Time
	// Sync is the mailbox's reply sync state.
	Sync      Sync
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Sync is a mailbox's reply sync (IMAP) as the API shows it.
type Sync struct {
	LastSuccessAt, LastAttemptAt, FailingSince, NextSyncAt *time.Time
	LastError                                              *string
	Failures                                               int
	UIDValidity, LastUID                                   *int64
	MessagesSynced                                         int64
	// Lag is the time since the last success (nil: never succeeded).
	Lag *time.Duration
	// SendingPausedReason is why sending from the mailbox is paused
	// (reply_sync_broken), nil when it is not.
	SendingPausedReason *string
}

// Resource is the account as the API returns it (and as events carry it).
func (a Account) Resource() api.EmailAccount {
	out := api.EmailAccount{
		ID: a.ID, EmailAddress: a.EmailAddress, DisplayName: a.DisplayName, Provider: api.EmailProvider(a.Provider),
		SMTPHost: a.SMTPHost, SMTPPort: a.SMTPPort, SMTPTLSMode: api.EmailTLSMode(a.SMTPTLSMode),
		ImapHost: a.IMAPHost, ImapPort: a.IMAPPort, ImapTLSMode: api.EmailTLSMode(a.IMAPTLSMode),
		Username: a.Username, PasswordSet: a.CredentialsSet, OauthConnected: a.OAuthConnected, OauthTokenExpiresAt: a.TokenExpiresAt,
		DailySendLimit: a.DailySendLimit, MaxDailySendLimit: a.MaxDailySendLimit, CurrentDailyCap: a.CurrentDailyCap,
		SentToday: a.SentToday, IsActive: a.IsActive, ConnectionStatus: api.EmailConnectionStatus(a.ConnectionStatus),
		LastError: a.LastError, LastTestedAt: a.LastTestedAt, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
		Warmup: api.EmailAccountWarmup{Enabled: a.Warmup.Enabled, Day: a.Warmup.Day, Complete: a.Warmup.Complete},
		Sync: api.EmailAccountSync{LastSuccessAt: a.Sync.LastSuccessAt, LastAttemptAt: a.Sync.LastAttemptAt, LastError: a.Sync.LastError,
			Failures: a.Sync.Failures, FailingSince: a.Sync.FailingSince, NextSyncAt: a.Sync.NextSyncAt, Uidvalidity: a.Sync.UIDValidity,
			LastUID: a.Sync.LastUID, MessagesSynced: a.Sync.MessagesSynced},
	}
	if a.Sync.Lag != nil {
		secs := int64(a.Sync.Lag.Seconds())
		out.Sync.LagSeconds = &secs
	}
	if a.Sync.SendingPausedReason != nil {
		r := api.EmailAccountSyncSendingPausedReason(*a.Sync.SendingPausedReason)
		out.Sync.SendingPausedReason = &r
	}
	if a.Warmup.StartedOn != nil {
		d := openapi_types.Date{Time: a.Warmup.StartedOn.In(time.UTC)}
		out.Warmup.StartedOn = &d
	}
	return out
}

// Options configure a Service.
type Options struct {
	// AllowCIDRs are the non-public address ranges the connection test
	// (and the engine, through Dial) may reach (EMAIL_ALLOW_CIDRS, e.g.
	// 127.0.0.0/8 for a local test server). Default none.
	AllowCIDRs []netip.Prefix
	// ConnectTimeout bounds one TCP connection; TestTimeout a whole
	// protocol's test (EMAIL_CONNECT_TIMEOUT 10s, EMAIL_TEST_TIMEOUT 30s).
	ConnectTimeout time.Duration
	TestTimeout    time.Duration
	// Resolver resolves server names (default net.DefaultResolver).
	Resolver egress.Resolver
	// CustomMaxDailyLimit is the hard maximum of a custom account
	// (EMAIL_CUSTOM_MAX_DAILY_LIMIT, default DefaultCustomMaxDailyLimit).
	CustomMaxDailyLimit int
	// Google and Microsoft are the OAuth clients; an empty ClientID means
	// not configured.
	Google    OAuthProvider
	Microsoft OAuthProvider
	// HTTPClient reaches the OAuth token and userinfo endpoints (default
	// a client with a 15s timeout).
	HTTPClient *http.Client
	// RootCAs, when set, are the roots trusted for SMTP and IMAP TLS
	// (tests trust their own certificate); default the system's.
	RootCAs *x509.CertPool
	// Clock is the time (default time.Now); tests move it to expire
	// states and tokens and to change days.
	Clock func() time.Time
}

// Service manages email accounts.
type Service struct {
	db      *database.DB
	keyring *secrets.Keyring
	o       Options
	dial    func(ctx context.Context, network, address string) (net.Conn, error)
	now     func() time.Time
}

// NewService returns a Service on db that seals credentials with keyring.
func NewService(db *database.DB, keyring *secrets.Keyring, o Options) *Service {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.TestTimeout <= 0 {
		o.TestTimeout = 30 * time.Second
	}
	if o.CustomMaxDailyLimit <= 0 {
		o.CustomMaxDailyLimit = DefaultCustomMaxDailyLimit
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	s := &Service{db: db, keyring: keyring, o: o, now: o.Clock}
	s.dial = egress.NewDialer(egress.DialerOptions{Allow: o.AllowCIDRs, Resolver: o.Resolver, Timeout: o.ConnectTimeout})
	return s
}

const manageWhat = "manage email accounts"

// New is a custom or sandbox account to create (gmail and outlook
// accounts come from the OAuth callback).
type New struct {
	Provider       string
	EmailAddress   string
	DisplayName    *string
	DailySendLimit *int
	WarmupEnabled  *bool
	Server
}

// Server is a custom account's server settings; nil fields take their
// defaults on create (587/starttls, 993/tls) and stay as they are on update.
type Server struct {
	SMTPHost    *string
	SMTPPort    *int
	SMTPTLSMode *string
	IMAPHost    *string
	IMAPPort    *int
	IMAPTLSMode *string
	Username    *string
	Password    *string
}

func (v Server) any() bool { return len(v.fields()) > 0 }

// fields names the settings v carries, as JSON pointers.
func (v Server) fields() []string {
	var out []string
	for _, f := range []struct {
		set  bool
		name string
	}{
		{v.SMTPHost != nil, "/smtp_host"}, {v.SMTPPort != nil, "/smtp_port"}, {v.SMTPTLSMode != nil, "/smtp_tls_mode"},
		{v.IMAPHost != nil, "/imap_host"}, {v.IMAPPort != nil, "/imap_port"}, {v.IMAPTLSMode != nil, "/imap_tls_mode"},
		{v.Username != nil, "/username"}, {v.Password != nil, "/password"},
	} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}

// Create adds a custom or sandbox account and records email_account.created.
func (s *Service) Create(ctx context.Context, a access.Actor, n New) (Account, error) {
	if err := a.RequireAdminOrKey(manageWhat); err != nil {
		return Account{}, err
	}
	var f fault.Fields
	addr := checkAddress(&f, "/email_address", n.EmailAddress)
	r := accountRow{
		ID: uuid.Must(uuid.NewV7()), OrgID: a.OrgID, EmailAddress: addr, Provider: n.Provider,
		SMTPPort: 587, SMTPTLSMode: TLSStartTLS, IMAPPort: 993, IMAPTLSMode: TLSImplicit,
		DailySendLimit: DefaultDailySendLimit, WarmupEnabled: true, IsActive: true, ConnectionStatus: StatusPending,
	}
	if a.UserID != uuid.Nil {
		u := a.UserID
		r.UserID = &u
	}
	r.DisplayName = checkDisplayName(&f, "/display_name", n.DisplayName)
	if n.WarmupEnabled != nil {
		r.WarmupEnabled = *n.WarmupEnabled
	}
	switch n.Provider {
	case ProviderCustom:
		applyServer(&f, &r, n.Server)
		if r.SMTPHost == nil {
			f.Add("/smtp_host", "required", "a custom account needs its SMTP server's host name")
		}
		if r.IMAPHost == nil {
			f.Add("/imap_host", "required", "a custom account needs its IMAP server's host name")
		}
		if r.Username == nil {
			f.Add("/username", "required", "a custom account needs the user name it logs in with")
		}
		if n.Password == nil {
			f.Add("/password", "required", "a custom account needs the password it logs in with")
		}
	case ProviderSandbox:
		r.Sandbox = true
		// A sandbox has nothing to connect to: it is connected from the start.
		r.ConnectionStatus = StatusConnected
		for _, field := range n.Server.fields() {
			f.Add(field, "not_applicable", "a sandbox account has no servers or credentials: send only email_address, display_name and limits")
		}
	case ProviderGmail, ProviderOutlook:
		f.Add("/provider", "oauth_only", "gmail and outlook accounts are connected with OAuth: GET /v1/email-accounts/oauth/"+n.Provider+"/authorize")
	default:
		f.Add("/provider", "invalid", "must be custom or sandbox")
	}
	if n.DailySendLimit != nil {
		r.DailySendLimit = s.checkLimit(&f, "/daily_send_limit", n.Provider, *n.DailySendLimit)
	}
	if err := f.Err(); err != nil {
		return Account{}, err
	}
	if n.Provider == ProviderCustom {
		c, err := s.keyring.EncryptString(*n.Password, passwordAAD(r.ID))
		if err != nil {
			return Account{}, fmt.Errorf("emailaccounts: encrypt password: %w", err)
		}
		r.PasswordCipher = &c
	}
	var out Account
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) (err error) {
		out, err = s.insert(ctx, tx, &r)
		return err
	})
	return out, err
}

// insert writes a new row, starting its warm-up today in the org's zone,
// and records email_account.created.
func (s *Service) insert(ctx context.Context, tx bun.IDB, r *accountRow) (Account, error) {
	if r.WarmupEnabled {
		now := s.now()
		r.WarmupStartedAt = &now
	}
	if _, err := tx.NewInsert().Model(r).Returning("created_at, updated_at").Exec(ctx); err != nil {
		err = database.Interpret(err)
		if errors.Is(err, database.ErrConflict) {
			return Account{}, fault.Conflict("email_account_exists", "the organisation already has an account for "+r.EmailAddress)
		}
		return Account{}, fmt.Errorf("emailaccounts: create: %w", err)
	}
	return s.record(ctx, tx, events.EmailAccountCreated, *r)
}

// record writes the event of a change and returns the account's view.
func (s *Service) record(ctx context.Context, tx bun.IDB, t events.Type, r accountRow) (Account, error) {
	loc, err := orgLocation(ctx, tx, r.OrgID)
	if err != nil {
		return Account{}, err
	}
	v := s.view(r, loc)
	if _, err := events.Record(ctx, tx, r.OrgID, events.New{Type: t, ObjectID: r.ID, Data: v.Resource()}); err != nil {
		return Account{}, fmt.Errorf("emailaccounts: %w", err)
	}
	return v, nil
}

// Filter narrows List; zero values do not filter.
type Filter struct {
	Provider string
	Status   string
	IsActive *bool
}

// List pages through the organisation's accounts, newest first.
func (s *Service) List(ctx context.Context, a access.Actor, flt Filter, p pagination.Page) ([]Account, *string, error) {
	var rows []accountRow
	var next *string
	var loc *time.Location
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) (err error) {
		q := tx.NewSelect().Model((*accountRow)(nil)).Where("org_id = ?", a.OrgID)
		if flt.Provider != "" {
			q = q.Where("provider = ?", flt.Provider)
		}
		if flt.Status != "" {
			q = q.Where("connection_status = ?", flt.Status)
		}
		if flt.IsActive != nil {
			q = q.Where("is_active = ?", *flt.IsActive)
		}
		if rows, next, err = pagination.Scan(ctx, q, "id", p, accountRow.key); err != nil {
			return err
		}
		loc, err = orgLocation(ctx, tx, a.OrgID)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("emailaccounts: list: %w", err)
	}
	out := make([]Account, len(rows))
	for i, r := range rows {
		out[i] = s.view(r, loc)
	}
	return out, next, nil
}

// load reads account id of org, locked for update when lock is set; a 404
// fault when there is none.
func load(ctx context.Context, tx bun.IDB, org, id uuid.UUID, lock bool) (accountRow, error) {
	var r accountRow
	q := tx.NewSelect().Model(&r).Where("org_id = ? AND id = ?", org, id)
	if lock {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		if err = database.Interpret(err); errors.Is(err, database.ErrNotFound) {
			return r, fault.NotFound("email account")
		}
		return r, fmt.Errorf("emailaccounts: load %s: %w", id, err)
	}
	return r, nil
}

// Get returns one account.
func (s *Service) Get(ctx context.Context, a access.Actor, id uuid.UUID) (Account, error) {
	var out Account
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		r, err := load(ctx, tx, a.OrgID, id, false)
		if err != nil {
			return err
		}
		loc, err := orgLocation(ctx, tx, a.OrgID)
		out = s.view(r, loc)
		return err
	})
	return out, err
}

// Patch changes an account; nil fields stay as they are.
type Patch struct {
	DisplayName    *string
	DailySendLimit *int
	WarmupEnabled  *bool
	IsActive       *bool
	Server
}

// Update applies p and records email_account.updated.
func (s *Service) Update(ctx context.Context, a access.Actor, id uuid.UUID, p Patch) (Account, error) {
	if err := a.RequireAdminOrKey(manageWhat); err != nil {
		return Account{}, err
	}
	var out Account
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		r, err := load(ctx, tx, a.OrgID, id, true)
		if err != nil {
			return err
		}
		var f fault.Fields
		if p.DisplayName != nil {
			r.DisplayName = checkDisplayName(&f, "/display_name", p.DisplayName)
		}
		if p.DailySendLimit != nil {
			r.DailySendLimit = s.checkLimit(&f, "/daily_send_limit", r.Provider, *p.DailySendLimit)
		}
		if p.WarmupEnabled != nil && *p.WarmupEnabled != r.WarmupEnabled {
			r.WarmupEnabled = *p.WarmupEnabled
			if r.WarmupEnabled {
				now := s.now()
				r.WarmupStartedAt = &now // the ramp starts again today
			}
		}
		if p.IsActive != nil && *p.IsActive != r.IsActive {
			// A deactivated account is disabled; reactivated, it is
			// pending until tested again.
			r.IsActive = *p.IsActive
			r.ConnectionStatus = StatusDisabled
			if r.IsActive {
				r.ConnectionStatus = StatusPending
				if r.Provider == ProviderSandbox {
					r.ConnectionStatus = StatusConnected
				}
			}
		}
		if p.Server.any() {
			if r.Provider != ProviderCustom {
				for _, field := range p.Server.fields() {
					f.Add(field, "not_applicable", "server settings and passwords belong to custom accounts; a "+r.Provider+" account has none")
				}
			} else {
				applyServer(&f, &r, p.Server)
				r.ConnectionStatus, r.LastError, r.ErrorSource = StatusPending, nil, nil
			}
		}
		if err := f.Err(); err != nil {
			return err
		}
		if p.Password != nil && r.Provider == ProviderCustom {
			c, err := s.keyring.EncryptString(*p.Password, passwordAAD(r.ID))
			if err != nil {
				return fmt.Errorf("emailaccounts: encrypt password: %w", err)
			}
			r.PasswordCipher = &c
		}
		_, err = tx.NewUpdate().Model(&r).
			Column("display_name", "daily_send_limit", "warmup_enabled", "warmup_started_at", "is_active",
				"smtp_host", "smtp_port", "smtp_tls_mode", "imap_host", "imap_port", "imap_tls_mode", "username",
				"credentials_encrypted", "connection_status", "last_error", "error_source").
			Where("org_id = ? AND id = ?", a.OrgID, id).Returning("updated_at").Exec(ctx)
		if err != nil {
			return fmt.Errorf("emailaccounts: update %s: %w", id, database.Interpret(err))
		}
		out, err = s.record(ctx, tx, events.EmailAccountUpdated, r)
		return err
	})
	return out, err
}

// Delete removes an account (and a sandbox's captured messages) and
// records email_account.deleted. An account that messages were sent from
// or replies received in is refused with a 409 (the messages and
// inbox_messages foreign keys): deactivate it instead.
func (s *Service) Delete(ctx context.Context, a access.Actor, id uuid.UUID) error {
	if err := a.RequireAdminOrKey(manageWhat); err != nil {
		return err
	}
	return s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		r, err := load(ctx, tx, a.OrgID, id, true)
		if err != nil {
			return err
		}
		// The event is written before the row goes, with the account as it
		// was; a refused delete rolls both back.
		if _, err := s.record(ctx, tx, events.EmailAccountDeleted, r); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*accountRow)(nil)).Where("org_id = ? AND id = ?", a.OrgID, id).Exec(ctx); err != nil {
			if err = database.Interpret(err); errors.Is(err, database.ErrReference) {
				return fault.Conflict("email_account_in_use",
					"messages were sent from this account or replies received in it, and they keep pointing at it; deactivate it (is_active: false) instead")
			}
			return fmt.Errorf("emailaccounts: delete %s: %w", id, err)
		}
		return nil
	})
}

// view turns a row into what the API shows, with today's cap and count in
// the organisation's time zone loc.
func (s *Service) view(r accountRow, loc *time.Location) Account {
	today := Today(s.now(), loc)
	v := Account{
		ID: r.ID, EmailAddress: r.EmailAddress, DisplayName: r.DisplayName, Provider: r.Provider,
		SMTPHost: r.SMTPHost, SMTPPort: r.SMTPPort, SMTPTLSMode: r.SMTPTLSMode,
		IMAPHost: r.IMAPHost, IMAPPort: r.IMAPPort, IMAPTLSMode: r.IMAPTLSMode, Username: r.Username,
		CredentialsSet: r.PasswordCipher != nil, OAuthConnected: r.RefreshTokenCipher != nil || r.AccessTokenCipher != nil,
		TokenExpiresAt: r.TokenExpiresAt, DailySendLimit: r.DailySendLimit, MaxDailySendLimit: s.MaxDailyLimit(r.Provider),
		IsActive: r.IsActive, ConnectionStatus: r.ConnectionStatus, LastError: r.LastError, LastTestedAt: r.LastTestedAt,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if r.SentTodayDate != nil && civilOf(*r.SentTodayDate) == today {
		v.SentToday = r.EmailsSentToday
	}
	v.Sync = Sync{LastSuccessAt: r.IMAPLastSuccessAt, LastAttemptAt: r.IMAPLastAttemptAt, FailingSince: r.IMAPFailingSince,
		NextSyncAt: r.IMAPNextSyncAt, LastError: r.IMAPLastError, Failures: r.IMAPFailures, UIDValidity: r.IMAPUIDValidity,
		LastUID: r.IMAPLastUID, MessagesSynced: r.IMAPMessagesSynced, SendingPausedReason: r.SendingPausedReason}
	if r.IMAPLastSuccessAt != nil {
		lag := max(s.now().Sub(*r.IMAPLastSuccessAt), 0)
		v.Sync.Lag = &lag
	}
	v.Warmup = warmupOf(r, loc, today)
	v.CurrentDailyCap = DailyCap(r.DailySendLimit, r.WarmupEnabled, v.Warmup.started, today)
	v.Warmup.Complete = !r.WarmupEnabled || v.CurrentDailyCap >= r.DailySendLimit
	if !r.IsActive {
		v.CurrentDailyCap = 0
	}
	return v
}

// orgLocation is the organisation's time zone (settings.timezone), UTC
// when unset or unknown.
func orgLocation(ctx context.Context, tx bun.IDB, org uuid.UUID) (*time.Location, error) {
	return orgs.Location(ctx, tx, org)
}

func checkAddress(f *fault.Fields, field, s string) string {
	addr := emailaddr.Canonical(s)
	if p, ok := emailaddr.Check(addr); !ok {
		f.Add(field, p.Code, p.Message)
		return ""
	}
	if len(addr) < 3 || len(addr) > 320 {
		f.Add(field, "invalid_email", "must be an email address of at most 320 characters")
	}
	return addr
}

func checkDisplayName(f *fault.Fields, field string, s *string) *string {
	if s == nil {
		return nil
	}
	v := strings.TrimSpace(*s)
	if strings.ContainsAny(v, "\r\n") {
		f.Add(field, "invalid", "must be one line")
	}
	if len(v) > 200 {
		f.Add(field, "too_long", "must be at most 200 bytes")
	}
	if v == "" {
		return nil
	}
	return &v
}

// applyServer validates and applies a custom account's server settings.
func applyServer(f *fault.Fields, r *accountRow, v Server) {
	host := func(field string, s *string, dst **string) {
		if s == nil {
			return
		}
		h := strings.ToLower(strings.TrimSpace(*s))
		if h == "" || len(h) > 253 || strings.ContainsAny(h, " /:@\t\r\n") {
			f.Add(field, "invalid_host", "must be a host name or IP address, without scheme or port")
			return
		}
		*dst = &h
	}
	port := func(field string, p *int, dst *int) {
		if p == nil {
			return
		}
		if *p < 1 || *p > 65535 {
			f.Add(field, "out_of_range", "must be a port between 1 and 65535")
			return
		}
		*dst = *p
	}
	mode := func(field string, m *string, dst *string) {
		if m == nil {
			return
		}
		switch *m {
		case TLSStartTLS, TLSImplicit, TLSNone:
			*dst = *m
		default:
			f.Add(field, "invalid", "must be starttls, tls or none")
		}
	}
	host("/smtp_host", v.SMTPHost, &r.SMTPHost)
	port("/smtp_port", v.SMTPPort, &r.SMTPPort)
	mode("/smtp_tls_mode", v.SMTPTLSMode, &r.SMTPTLSMode)
	host("/imap_host", v.IMAPHost, &r.IMAPHost)
	port("/imap_port", v.IMAPPort, &r.IMAPPort)
	mode("/imap_tls_mode", v.IMAPTLSMode, &r.IMAPTLSMode)
	if v.Username != nil {
		u := strings.TrimSpace(*v.Username)
		if u == "" || len(u) > 320 || strings.ContainsAny(u, "\r\n") {
			f.Add("/username", "invalid", "must be one line of 1 to 320 bytes")
		} else {
			r.Username = &u
		}
	}
	if v.Password != nil && (*v.Password == "" || len(*v.Password) > 1024 || strings.ContainsAny(*v.Password, "\r\n")) {
		f.Add("/password", "invalid", "must be one line of 1 to 1024 bytes")
	}
}
