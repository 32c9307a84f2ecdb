package inbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/inbox"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

// readSide is an organisation with an owner, an API key, a campaign and a
// mailbox, and the inbox service over them. Ingest is not part of these
// tests: threads and messages are written straight into the tables, as
// ingest leaves them.
type readSide struct {
	t        *testing.T
	db       *database.DB
	owner    *database.DB
	svc      *inbox.Service
	org      uuid.UUID
	actor    access.Actor
	key      access.Actor
	campaign uuid.UUID
	account  uuid.UUID
	// base is the fixtures' clock: each thread is a minute after it.
	base time.Time
}

// setupReadSide builds the organisation; sender may be nil (no replies).
func setupReadSide(t *testing.T, sender inbox.Sender, smtpPort int) *readSide {
	t.Helper()
	b := &readSide{t: t, db: testkit.DB(t), owner: testkit.OwnerDB(t), base: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
	b.org = uuid.Must(uuid.NewV7())
	user := uuid.Must(uuid.NewV7())
	b.exec(`WITH o AS (INSERT INTO organizations (id, name, slug) VALUES ($1, 'Inbox Co', $3) RETURNING id),
		     u AS (INSERT INTO users (id, email, password_hash) VALUES ($2, $4, 'x') RETURNING id)
		INSERT INTO memberships (id, org_id, user_id, role) SELECT $5, o.id, u.id, 'owner' FROM o, u`,
		b.org, user, "inbox-"+b.org.String(), "inbox-"+user.String()+"@example.com", uuid.Must(uuid.NewV7()))
	b.actor = access.Actor{OrgID: b.org, UserID: user, Role: access.RoleOwner}
	b.key = access.Actor{OrgID: b.org, Role: access.RoleAdmin, APIKeyID: uuid.Must(uuid.NewV7())}
	b.campaign = uuid.Must(uuid.NewV7())
	b.exec(`INSERT INTO campaigns (id, org_id, name, source) VALUES ($1, $2, 'Spring', 'manual')`, b.campaign, b.org)
	b.account = b.mailbox("sam@send.test", smtpPort)
	b.svc = inbox.NewService(b.db, sender, nil, nil, inbox.Options{})
	return b
}

// mailbox adds a custom mailbox on a local SMTP port.
func (b *readSide) mailbox(address string, port int) uuid.UUID {
	b.t.Helper()
	id := uuid.Must(uuid.NewV7())
	if port == 0 {
		port = 587
	}
	b.exec(`INSERT INTO email_accounts (id, org_id, email_address, display_name, provider, smtp_host, smtp_port, warmup_enabled, connection_status)
		VALUES ($1, $2, $3, 'Sam Sender', 'custom', '127.0.0.1', $4, false, 'connected')`, id, b.org, address, port)
	return id
}

func (b *readSide) exec(sql string, args ...any) {
	b.t.Helper()
	_, err := b.owner.Pool.Exec(context.Background(), sql, args...)
	require.NoError(b.t, err)
}

func (b *readSide) count(sql string, args ...any) int {
	b.t.Helper()
	var n int
	require.NoError(b.t, b.owner.Pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// lead adds a lead of the campaign.
func (b *readSide) lead(email, first, last, company string) uuid.UUID {
	b.t.Helper()
	id := uuid.Must(uuid.NewV7())
	b.exec(`INSERT INTO leads (id, org_id, campaign_id, email, first_name, last_name, company, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'contacted')`,
		id, b.org, b.campaign, email, nullable(first), nullable(last), nullable(company))
	return id
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// threadSpec is a thread as ingest leaves it; zero values take defaults.
type threadSpec struct {
	lead           uuid.UUID
	account        *uuid.UUID // default the fixture's mailbox
	noAccount      bool
	campaign       *uuid.UUID // default the fixture's campaign
	subject        string
	classification string
	at             time.Time // last_message_at
	unread         int
	starred        bool
	archived       bool
}

func (b *readSide) thread(s threadSpec) uuid.UUID {
	b.t.Helper()
	id := uuid.Must(uuid.NewV7())
	acct, camp := &b.account, &b.campaign
	if s.account != nil {
		acct = s.account
	}
	if s.noAccount {
		acct = nil
	}
	if s.campaign != nil {
		camp = s.campaign
	}
	b.exec(`INSERT INTO inbox_threads (id, org_id, lead_id, campaign_id, email_account_id, channel, subject, snippet, classification,
		  message_count, inbound_count, unread_count, is_starred, is_archived, last_message_at, last_inbound_at)
		VALUES ($1, $2, $3, $4, $5, 'email', $6, 'snippet', $7, 0, 0, $8, $9, $10, $11, $11)`,
		id, b.org, s.lead, camp, acct, nullable(s.subject), nullable(s.classification), s.unread, s.starred, s.archived, s.at)
	return id
}

// msgSpec is an inbox message; zero values take defaults.
type msgSpec struct {
	thread     *uuid.UUID // nil: unmatched (the "other" view)
	lead       *uuid.UUID
	account    *uuid.UUID // default the fixture's mailbox
	direction  string     // default inbound
	kind       string     // default reply
	from       string
	subject    string
	body       string
	messageID  string
	references []string
	at         time.Time
	read       bool
}

func (b *readSide) message(s msgSpec) uuid.UUID {
	b.t.Helper()
	id := uuid.Must(uuid.NewV7())
	acct := &b.account
	if s.account != nil {
		acct = s.account
	}
	dir, kind, from := "inbound", "reply", s.from
	if s.direction != "" {
		dir = s.direction
	}
	if s.kind != "" {
		kind = s.kind
	}
	if from == "" {
		from = "someone@elsewhere.test"
	}
	refs := s.references
	if refs == nil {
		refs = []string{}
	}
	b.exec(`INSERT INTO inbox_messages (id, org_id, email_account_id, lead_id, campaign_id, inbox_thread_id, channel, direction, kind,
		  from_address, to_address, subject, body_text, snippet, message_id, message_references, is_read, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, 'email', $7, $8, $9, 'sam@send.test', $10, $11, left($11, 50), $12, $13, $14, $15)`,
		id, b.org, acct, s.lead, b.campaign, s.thread, dir, kind, from, nullable(s.subject), nullable(s.body), nullable(s.messageID), refs, s.read, s.at)
	if s.thread != nil {
		inbound := 0
		if dir == "inbound" {
			inbound = 1
		}
		unread := 0
		if dir == "inbound" && !s.read {
			unread = 1
		}
		b.exec(`UPDATE inbox_threads SET message_count = message_count + 1, inbound_count = inbound_count + $2, unread_count = unread_count + $3
			WHERE id = $1`, *s.thread, inbound, unread)
	}
	return id
}

// step adds a step of our sequence to the lead, in status (sent by
// default), sent at at with Message-ID messageID.
func (b *readSide) step(lead uuid.UUID, n int, subject, status, messageID string, at time.Time) uuid.UUID {
	b.t.Helper()
	id := uuid.Must(uuid.NewV7())
	if status == "" {
		status = "sent"
	}
	var sentAt any = at
	if status == "scheduled" {
		sentAt = nil
	}
	b.exec(`INSERT INTO messages (id, org_id, campaign_id, lead_id, channel, email_account_id, step, subject, body_text, message_id, status, sent_at, scheduled_for)
		VALUES ($1, $2, $3, $4, 'email', $5, $6, $7, $8, $9, $10, $11, $12)`,
		id, b.org, b.campaign, lead, b.account, n, nullable(subject), fmt.Sprintf("Step %d body", n), nullable(messageID), status, sentAt, at)
	return id
}

// minute is the fixture clock's i-th minute.
func (b *readSide) minute(i int) time.Time { return b.base.Add(time.Duration(i) * time.Minute) }

// ids are the threads' ids, in order.
func ids(ts []inbox.Thread) []uuid.UUID {
	out := make([]uuid.UUID, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}
