package emailaccounts

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/imapsync"
)

// ErrNoIMAP says an account has no mailbox to read replies from: a
// sandbox (its replies are injected through the API), or a custom
// account without an IMAP server.
var ErrNoIMAP = errors.New("emailaccounts: the account has no IMAP mailbox")

// Mailboxes reads accounts' IMAP settings for reply sync, credentials
// decrypted. It is a type of its own, made with NewMailboxes, and not a
// method of Service: the API's handlers reach Service, and must never be
// handed a password.
type Mailboxes struct{ s *Service }

// NewMailboxes returns the reply sync's view of s's accounts.
func NewMailboxes(s *Service) Mailboxes { return Mailboxes{s: s} }

// IMAP returns how to read account's mailbox of org for reply sync:
// the server, its TLS mode, the login (the password decrypted here, or
// XOAUTH2 with a token that refreshes itself for gmail and outlook), and
// the SSRF-safe egress dialer.
func (m Mailboxes) IMAP(ctx context.Context, org, id uuid.UUID) (imapsync.Config, error) {
	s := m.s
	var r accountRow
	err := s.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) (err error) {
		r, err = load(ctx, tx, org, id, false)
		return err
	})
	if err != nil {
		return imapsync.Config{}, err
	}
	host := deref(r.IMAPHost)
	if r.Provider == ProviderSandbox || host == "" {
		return imapsync.Config{}, ErrNoIMAP
	}
	cred, err := s.credentials(r)
	if err != nil {
		return imapsync.Config{}, err
	}
	return imapsync.Config{
		Host: host, Port: r.IMAPPort, Security: r.IMAPTLSMode,
		Username: cred.username, Password: cred.password, OAuthToken: cred.token,
		Dial: s.dial, TLSConfig: s.tlsConfig(host),
	}, nil
}

// RecordUpdated writes email_account.updated for account id of org in tx,
// with the account as it now is: reply sync changed what it shows (its
// connection status, or sending paused or resumed for broken sync).
func (m Mailboxes) RecordUpdated(ctx context.Context, tx bun.IDB, org, id uuid.UUID) error {
	r, err := load(ctx, tx, org, id, false)
	if err != nil {
		return err
	}
	_, err = m.s.record(ctx, tx, events.EmailAccountUpdated, r)
	return err
}
