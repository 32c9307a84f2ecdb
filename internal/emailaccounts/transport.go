package emailaccounts

import (
	"context"
	"crypto/tls"
	"net"
	"time"

	"cloud.google.com/go/civil"
	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
)

// Transport kinds.
const (
	// KindSMTP sends over SMTP (custom, gmail and outlook accounts).
	KindSMTP = "smtp"
	// KindSandbox "sends" with SandboxDeliver.
	KindSandbox = "sandbox"
)

// Minimum gap between two sends from one mailbox, plus a random jitter of
// up to MinSendJitter, so a mailbox never sends in bursts (receivers score
// bursts as bulk mail). The engine waits MinSendGap + rand[0, MinSendJitter)
// after each send from a real mailbox; a sandbox has no gap.
const (
	MinSendGap    = 20 * time.Second
	MinSendJitter = 40 * time.Second
)

// Transport says how to send from one account, as the engine needs it.
type Transport struct {
	AccountID uuid.UUID
	Provider  string
	// Kind is KindSMTP or KindSandbox.
	Kind string
	// From and DisplayName make the From header.
	From        string
	DisplayName string

	// SMTP (Kind smtp): the server, its TLS mode (TLSStartTLS, TLSImplicit
	// or TLSNone) and the login: Password() for custom accounts, OAuthToken
	// (XOAUTH2, NewXOAuth2Client) for gmail and outlook.
	Host     string
	Port     int
	TLSMode  string
	Username string
	// password is unexported so that a Transport that is logged or
	// marshalled carries no secret; Password returns it.
	password string
	// OAuthToken returns a valid access token, refreshing (and storing) it
	// first when it is about to expire; nil for custom accounts.
	OAuthToken func(ctx context.Context) (string, error)
	// Dial connects through the SSRF-safe egress dialer with the
	// operator's EMAIL_ALLOW_CIDRS; TLSConfig is what to verify the server
	// with (ServerName set).
	Dial      func(ctx context.Context, network, address string) (net.Conn, error)
	TLSConfig *tls.Config

	// Limits, for today in the organisation's time zone.
	Active     bool
	DailyLimit int
	// DailyCap is what may be sent today (the limit, or the warm-up
	// ramp's value; 0 when inactive); SentToday what emails_sent_today
	// counted today.
	DailyCap  int
	SentToday int
	Today     civil.Date
	// MinGap and MaxJitter space the sends (zero for a sandbox).
	MinGap    time.Duration
	MaxJitter time.Duration
}

// Password is a custom account's SMTP password ("" for OAuth accounts).
func (t Transport) Password() string { return t.password }

// Transport returns how to send from account accountID of org. It reads
// the account in a tenant transaction of its own; credentials are
// decrypted here and live only in the returned value.
func (s *Service) Transport(ctx context.Context, org, accountID uuid.UUID) (Transport, error) {
	var r accountRow
	var loc *time.Location
	err := s.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) (err error) {
		if r, err = load(ctx, tx, org, accountID, false); err != nil {
			return err
		}
		loc, err = orgLocation(ctx, tx, org)
		return err
	})
	if err != nil {
		return Transport{}, err
	}
	v := s.view(r, loc)
	t := Transport{
		AccountID: r.ID, Provider: r.Provider, Kind: KindSMTP, From: r.EmailAddress, DisplayName: deref(r.DisplayName),
		Active: r.IsActive, DailyLimit: r.DailySendLimit, DailyCap: v.CurrentDailyCap, SentToday: v.SentToday,
		Today: Today(s.now(), loc), MinGap: MinSendGap, MaxJitter: MinSendJitter,
	}
	if r.Provider == ProviderSandbox {
		t.Kind, t.MinGap, t.MaxJitter = KindSandbox, 0, 0
		return t, nil
	}
	cred, err := s.credentials(r)
	if err != nil {
		return Transport{}, err
	}
	t.Host, t.Port, t.TLSMode = deref(r.SMTPHost), r.SMTPPort, r.SMTPTLSMode
	t.Username, t.password, t.OAuthToken = cred.username, cred.password, cred.token
	t.Dial, t.TLSConfig = s.dial, s.tlsConfig(t.Host)
	return t, nil
}
