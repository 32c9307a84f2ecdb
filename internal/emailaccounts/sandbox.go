package emailaccounts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"
	"time"

	_ "github.com/emersion/go-message/charset" // decode non-UTF-8 bodies
	gmmail "github.com/emersion/go-message/mail"
	"github.com/google/uuid"
	"github.com/uptrace/bun"
	gomail "github.com/wneessen/go-mail"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/pagination"
)

// Directions of a sandbox message (the table's CHECK).
const (
	Outbound = "outbound"
	Inbound  = "inbound"
)

// MaxSandboxMessageBytes bounds one captured message (the table's CHECK).
const MaxSandboxMessageBytes = 25 << 20

type sandboxRow struct {
	bun.BaseModel `bun:"table:sandbox_messages"`

	ID             uuid.UUID `bun:"id,pk,type:uuid"`
	OrgID          uuid.UUID `bun:"org_id,type:uuid"`
	EmailAccountID uuid.UUID `bun:"email_account_id,type:uuid"`
	Direction      string    `bun:"direction"`
	Raw            []byte    `bun:"raw"`
	FromAddress    string    `bun:"from_address"`
	ToAddresses    []string  `bun:"to_addresses,array"`
	Subject        string    `bun:"subject"`
	MessageID      *string   `bun:"message_id"`
	InReplyTo      *string   `bun:"in_reply_to"`
	CreatedAt      time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
}

func (r sandboxRow) key() uuid.UUID { return r.ID }

// SandboxMessage is a captured message as the API shows it. Message ids
// are without their angle brackets.
type SandboxMessage struct {
	ID             uuid.UUID
	EmailAccountID uuid.UUID
	Direction      string
	From           string
	To             []string
	Subject        string
	MessageID      *string
	InReplyTo      *string
	// Text is the first text/plain part ("" when there is none).
	Text string
	// Headers are the message's header fields as sent (List-Unsubscribe,
	// References, …), keys canonical, values in order.
	Headers   map[string][]string
	CreatedAt time.Time
	// Raw is the whole RFC 5322 message (what the inbox ingests of an
	// injected reply); not part of the API's resource.
	Raw []byte
}

// Resource is the message as the API returns it.
func (m SandboxMessage) Resource() api.SandboxMessage {
	to := m.To
	if to == nil {
		to = []string{}
	}
	return api.SandboxMessage{ID: m.ID, EmailAccountID: m.EmailAccountID, Direction: api.SandboxMessageDirection(m.Direction),
		From: m.From, To: to, Subject: m.Subject, MessageID: m.MessageID, InReplyTo: m.InReplyTo, Text: m.Text, Headers: m.Headers, CreatedAt: m.CreatedAt}
}

func (r sandboxRow) view() SandboxMessage {
	return SandboxMessage{ID: r.ID, EmailAccountID: r.EmailAccountID, Direction: r.Direction, From: r.FromAddress, To: r.ToAddresses,
		Subject: r.Subject, MessageID: r.MessageID, InReplyTo: r.InReplyTo, Text: bodyText(r.Raw), Headers: headersOf(r.Raw), CreatedAt: r.CreatedAt, Raw: r.Raw}
}

// ErrNotSandbox is wrapped by the faults of sandbox operations on an
// account of another provider.
var ErrNotSandbox = errors.New("emailaccounts: not a sandbox account")

func notSandbox(provider string) error {
	return fault.Conflict("not_sandbox", "this is a "+provider+" account; only sandbox accounts have a sandbox mailbox").WithCause(ErrNotSandbox)
}

// SandboxDeliver is how the sending engine "sends" from a sandbox account:
// raw (a complete RFC 5322 message) is stored as an outbound message of
// account accountID, in the caller's transaction tx (which must be a
// tenant transaction of org), so it exists if and only if the send is
// recorded. Its From, To/Cc/Bcc, Subject, Message-ID and In-Reply-To are
// read with net/mail. The daily counter is the engine's to keep, as for
// every provider.
func (s *Service) SandboxDeliver(ctx context.Context, tx bun.IDB, org, accountID uuid.UUID, raw []byte) error {
	r, err := load(ctx, tx, org, accountID, false)
	if err != nil {
		return err
	}
	if r.Provider != ProviderSandbox {
		return notSandbox(r.Provider)
	}
	row, err := parseRaw(raw)
	if err != nil {
		return err
	}
	row.ID, row.OrgID, row.EmailAccountID, row.Direction = uuid.Must(uuid.NewV7()), org, accountID, Outbound
	if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
		return fmt.Errorf("emailaccounts: sandbox deliver: %w", database.Interpret(err))
	}
	return nil
}

// parseRaw reads the headers a sandbox row keeps.
func parseRaw(raw []byte) (sandboxRow, error) {
	if len(raw) == 0 || len(raw) > MaxSandboxMessageBytes {
		return sandboxRow{}, fault.Invalid(fault.FieldError{Field: "/raw", Code: "invalid_size", Message: "a message must have 1 byte to 25 MiB"})
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return sandboxRow{}, fault.Invalid(fault.FieldError{Field: "/raw", Code: "invalid_message", Message: "not an RFC 5322 message: " + err.Error()})
	}
	row := sandboxRow{Raw: raw, Subject: decodeHeader(m.Header.Get("Subject"))}
	if from, err := mail.ParseAddress(m.Header.Get("From")); err == nil {
		row.FromAddress = strings.ToLower(from.Address)
	} else {
		return sandboxRow{}, fault.Invalid(fault.FieldError{Field: "/raw", Code: "invalid_from", Message: "the message has no valid From address"})
	}
	row.ToAddresses = []string{}
	for _, h := range []string{"To", "Cc", "Bcc"} {
		if list, err := m.Header.AddressList(h); err == nil {
			for _, a := range list {
				row.ToAddresses = append(row.ToAddresses, strings.ToLower(a.Address))
			}
		}
	}
	row.MessageID = messageID(m.Header.Get("Message-Id"))
	row.InReplyTo = messageID(m.Header.Get("In-Reply-To"))
	return row, nil
}

func decodeHeader(v string) string {
	d, err := new(mime.WordDecoder).DecodeHeader(v)
	if err != nil {
		return v
	}
	return d
}

// messageID is the first <id> of a header, without brackets; nil if none.
func messageID(v string) *string {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			v = v[i+1 : i+j]
		}
	}
	v = strings.Trim(v, "<> ")
	if v == "" {
		return nil
	}
	return &v
}

// bodyText is the first text/plain part of raw, decoded to UTF-8.
func bodyText(raw []byte) string {
	r, err := gmmail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	for {
		p, err := r.NextPart()
		if err != nil {
			return ""
		}
		if h, ok := p.Header.(*gmmail.InlineHeader); ok {
			if ct, _, _ := h.ContentType(); ct == "" || ct == "text/plain" {
				b, _ := io.ReadAll(io.LimitReader(p.Body, 1<<20))
				return string(b)
			}
		}
	}
}

// Sandbox loads account id of the actor's organisation and checks that it
// is a sandbox.
func sandboxAccount(ctx context.Context, tx bun.IDB, a access.Actor, id uuid.UUID) (accountRow, error) {
	r, err := load(ctx, tx, a.OrgID, id, false)
	if err != nil {
		return r, err
	}
	if r.Provider != ProviderSandbox {
		return r, notSandbox(r.Provider)
	}
	return r, nil
}

// SandboxMessages pages through a sandbox account's messages, newest first.
func (s *Service) SandboxMessages(ctx context.Context, a access.Actor, id uuid.UUID, p pagination.Page) ([]SandboxMessage, *string, error) {
	var rows []sandboxRow
	var next *string
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) (err error) {
		if _, err = sandboxAccount(ctx, tx, a, id); err != nil {
			return err
		}
		q := tx.NewSelect().Model((*sandboxRow)(nil)).Where("org_id = ? AND email_account_id = ?", a.OrgID, id)
		rows, next, err = pagination.Scan(ctx, q, "id", p, sandboxRow.key)
		if err != nil {
			return fmt.Errorf("emailaccounts: sandbox messages: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	out := make([]SandboxMessage, len(rows))
	for i, r := range rows {
		out[i] = r.view()
	}
	return out, next, nil
}

// Reply is a reply a person injects into a sandbox mailbox.
type Reply struct {
	From     string
	FromName string
	// Subject "" is "Re: " and the subject of the message replied to.
	Subject string
	Text    string
	// InReplyTo is a Message-ID (with or without brackets), or "".
	InReplyTo string
}

// InjectReply stores a reply as an inbound RFC 5322 message (built with
// go-mail) in a sandbox account, threaded under InReplyTo when given.
func (s *Service) InjectReply(ctx context.Context, a access.Actor, id uuid.UUID, rp Reply) (SandboxMessage, error) {
	if err := a.RequireAdminOrKey(manageWhat); err != nil {
		return SandboxMessage{}, err
	}
	var f fault.Fields
	from := checkAddress(&f, "/from", rp.From)
	if strings.ContainsAny(rp.FromName, "\r\n") {
		f.Add("/from_name", "invalid", "must be one line")
	}
	if strings.ContainsAny(rp.Subject, "\r\n") {
		f.Add("/subject", "invalid", "must be one line")
	}
	if strings.TrimSpace(rp.Text) == "" {
		f.Add("/text", "required", "must not be empty")
	}
	inReplyTo := messageID(rp.InReplyTo)
	if rp.InReplyTo != "" && (inReplyTo == nil || strings.ContainsAny(*inReplyTo, " \r\n<>")) {
		f.Add("/in_reply_to", "invalid", "must be one Message-ID")
	}
	if err := f.Err(); err != nil {
		return SandboxMessage{}, err
	}
	var out SandboxMessage
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		acc, err := sandboxAccount(ctx, tx, a, id)
		if err != nil {
			return err
		}
		subject := rp.Subject
		var references []string
		if inReplyTo != nil {
			var orig sandboxRow
			err := tx.NewSelect().Model(&orig).Where("org_id = ? AND email_account_id = ? AND message_id = ?", a.OrgID, id, *inReplyTo).
				OrderExpr("id DESC").Limit(1).Scan(ctx)
			switch err = database.Interpret(err); {
			case err == nil:
				if subject == "" {
					subject = orig.Subject
					if !strings.HasPrefix(strings.ToLower(subject), "re:") {
						subject = "Re: " + subject
					}
				}
				if m, perr := mail.ReadMessage(bytes.NewReader(orig.Raw)); perr == nil {
					references = strings.Fields(m.Header.Get("References"))
				}
			case !errors.Is(err, database.ErrNotFound):
				return fmt.Errorf("emailaccounts: inject reply: %w", err)
			}
			references = append(references, "<"+*inReplyTo+">")
		}
		if subject == "" {
			subject = "Re:"
		}
		raw, err := buildReply(from, rp.FromName, acc, subject, rp.Text, inReplyTo, references, s.now())
		if err != nil {
			return err
		}
		row, err := parseRaw(raw)
		if err != nil {
			return err
		}
		row.ID, row.OrgID, row.EmailAccountID, row.Direction = uuid.Must(uuid.NewV7()), a.OrgID, id, Inbound
		if _, err := tx.NewInsert().Model(&row).Returning("created_at").Exec(ctx); err != nil {
			return fmt.Errorf("emailaccounts: inject reply: %w", database.Interpret(err))
		}
		out = row.view()
		return nil
	})
	return out, err
}

func buildReply(from, fromName string, acc accountRow, subject, text string, inReplyTo *string, references []string, now time.Time) ([]byte, error) {
	m := gomail.NewMsg()
	if err := m.FromFormat(fromName, from); err != nil {
		return nil, fault.Invalid(fault.FieldError{Field: "/from", Code: "invalid_email", Message: "must be an email address"})
	}
	if err := m.AddToFormat(deref(acc.DisplayName), acc.EmailAddress); err != nil {
		return nil, fmt.Errorf("emailaccounts: reply to %s: %w", acc.EmailAddress, err)
	}
	m.Subject(subject)
	m.SetDateWithValue(now)
	m.SetMessageID()
	if inReplyTo != nil {
		m.SetGenHeader(gomail.HeaderInReplyTo, "<"+*inReplyTo+">")
		m.SetGenHeader(gomail.HeaderReferences, strings.Join(references, " "))
	}
	m.SetBodyString(gomail.TypeTextPlain, text)
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("emailaccounts: build reply: %w", err)
	}
	return buf.Bytes(), nil
}

// headersOf is raw's header, or an empty map when it does not parse.
func headersOf(raw []byte) map[string][]string {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return map[string][]string{}
	}
	return msg.Header
}
