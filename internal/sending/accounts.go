package sending

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/emailaccounts"
	"github.com/leadpilot/leadpilot/internal/emailsend"
)

// AccountTransports are the email accounts service as the email channel
// needs it: each account's SMTP settings (credentials decrypted, an OAuth
// token source that refreshes) or its sandbox mailbox.
type AccountTransports struct {
	DB       *database.DB
	Accounts *emailaccounts.Service
	// DKIM signs the mail of a sending domain (by lower-case domain); a
	// domain without a key sends unsigned.
	DKIM map[string]*emailsend.DKIM
}

// EmailTransport implements EmailTransports.
func (a AccountTransports) EmailTransport(ctx context.Context, org, account uuid.UUID) (EmailTransport, error) {
	t, err := a.Accounts.Transport(ctx, org, account)
	if err != nil {
		return EmailTransport{}, err
	}
	dkim := a.DKIM[strings.ToLower(domainOf(t.From))]
	if t.Kind == emailaccounts.KindSandbox {
		return EmailTransport{Sandbox: true, DKIM: dkim}, nil
	}
	return EmailTransport{DKIM: dkim, SMTP: emailsend.Account{
		ID: account, Host: t.Host, Port: t.Port, TLS: emailsend.TLSMode(t.TLSMode), Username: t.Username, Password: t.Password(),
		Token: t.OAuthToken, HelloName: domainOf(t.From), TLSConfig: t.TLSConfig,
	}}, nil
}

// SandboxDeliver implements EmailTransports: the message is stored in the
// account's sandbox mailbox.
func (a AccountTransports) SandboxDeliver(ctx context.Context, org, account uuid.UUID, raw []byte) error {
	return a.DB.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		return a.Accounts.SandboxDeliver(ctx, tx, org, account, raw)
	})
}
