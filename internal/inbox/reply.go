package inbox

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/emailsend"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/sending"
	"github.com/leadpilot/leadpilot/internal/suppressions"
)

// Limits of a reply composed in the inbox.
const (
	MaxReplyBody    = 20000 // characters
	MaxReplySubject = 998   // RFC 5322's line limit
	// maxReplyReferences caps the References header: the thread's first
	// message and the latest ones are kept (RFC 5322 §3.6.4 allows
	// trimming; the first and the last identify the thread).
	maxReplyReferences = 20
	replySnippetLen    = 200
)

// Delivery statuses of a reply composed in the inbox
// (inbox_messages.delivery_status).
const (
	DeliverySending = "sending"
	DeliverySent    = "sent"
	DeliveryFailed  = "failed"
)

// NewReply is a reply to compose in a thread.
type NewReply struct {
	BodyText string
	// Subject defaults to "Re: " and the thread's subject.
	Subject *string
}

// replyPlan is what the first transaction of a reply decided and stored.
type replyPlan struct {
	row     messageRow
	account uuid.UUID
	out     sending.Outgoing
}

// Reply sends a reply to the thread's lead from the thread's mailbox, in
// the same email thread, and returns it as stored.
//
// The reply is stored (delivery_status sending) and committed before it is
// handed to the mail server, and its outcome is recorded after, each in a
// transaction of its own, whatever becomes of the caller's (an API
// request's transaction rolls back on an error answer, but a reply that
// left, or failed, must stay on record). A send that may have been
// accepted (an uncertain outcome) stays sending with its delivery_error,
// and is never sent again; a refused or failed one is recorded failed and
// returned as a BadGateway fault naming the stored message.
//
// Refused before anything is stored: a lead that unsubscribed or is on the
// suppression list (409 lead_suppressed), a thread without an active
// mailbox or a lead without an address (422).
func (s *Service) Reply(ctx context.Context, a access.Actor, threadID uuid.UUID, in NewReply) (Message, error) {
	if err := checkReply(in); err != nil {
		return Message{}, err
	}
	if s.sender == nil {
		return Message{}, fault.Unavailable("reply_unavailable", "this server cannot send replies", 0)
	}
	own := database.Detach(ctx)
	var plan replyPlan
	err := s.db.InTenant(own, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		var err error
		plan, err = s.planReply(ctx, tx, a, threadID, in)
		return err
	})
	if err != nil {
		return Message{}, inboxNotFound(fmt.Errorf("inbox: reply to thread %s: %w", threadID, database.Interpret(err)), "thread")
	}

	o := s.sender.Deliver(own, a.OrgID, plan.account, plan.row.Channel, plan.out)

	r := plan.row
	var provider *string
	status, reason := DeliverySent, ""
	switch o.Result {
	case sending.Sent:
		if o.ProviderID != "" {
			provider = &o.ProviderID
		}
	case sending.Uncertain:
		// It may have gone: it stays sending, and is never sent again.
		status, reason = DeliverySending, "uncertain: "+o.Error
	default:
		status, reason = DeliveryFailed, cmp.Or(o.Error, "the send failed")
	}
	r.DeliveryStatus = &status
	if reason != "" {
		r.DeliveryError = &reason
	}
	// Recorded even if the caller has gone: the send happened.
	rec := context.WithoutCancel(own)
	err = s.db.InTenant(rec, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		_, err := tx.NewRaw(`UPDATE inbox_messages SET delivery_status = ?, delivery_error = ?, provider_message_id = ?, updated_at = ?
			WHERE org_id = ? AND id = ?`, r.DeliveryStatus, r.DeliveryError, provider, s.opts.Now(), a.OrgID, r.ID).Exec(ctx)
		return err
	})
	if err != nil {
		return Message{}, fmt.Errorf("inbox: record reply %s (%s): %w", r.ID, replyStr(r.DeliveryStatus), database.Interpret(err))
	}
	if status == DeliveryFailed {
		return Message{}, fault.BadGateway("reply_failed",
			fmt.Sprintf("the reply was not sent: %s (stored as failed: inbox message %s)", replyStr(r.DeliveryError), r.ID))
	}
	return r.view(), nil
}

func checkReply(in NewReply) error {
	var fs fault.Fields
	switch n := utf8.RuneCountInString(in.BodyText); {
	case strings.TrimSpace(in.BodyText) == "":
		fs.Add("/body_text", "required", "must not be empty")
	case n > MaxReplyBody:
		fs.Add("/body_text", "too_long", fmt.Sprintf("must be at most %d characters", MaxReplyBody))
	}
	if in.Subject != nil {
		switch {
		case strings.TrimSpace(*in.Subject) == "":
			fs.Add("/subject", "required", "must not be empty when given")
		case utf8.RuneCountInString(*in.Subject) > MaxReplySubject:
			fs.Add("/subject", "too_long", fmt.Sprintf("must be at most %d characters", MaxReplySubject))
		case strings.ContainsAny(*in.Subject, "\r\n"):
			fs.Add("/subject", "invalid_value", "must be one line")
		}
	}
	return fs.Err()
}

// planReply checks that the thread can be answered, works out the
// threading headers and stores the reply as sending, in tx.
func (s *Service) planReply(ctx context.Context, tx bun.IDB, a access.Actor, threadID uuid.UUID, in NewReply) (replyPlan, error) {
	var t threadRow
	if err := tx.NewSelect().Model(&t).Where("org_id = ? AND id = ?", a.OrgID, threadID).For("UPDATE").Scan(ctx); err != nil {
		return replyPlan{}, err
	}
	if t.Channel != "email" {
		return replyPlan{}, &fault.Error{Kind: fault.KindInvalid, Code: "channel_unsupported",
			Detail: "replies from the inbox go by email; this thread is on " + t.Channel}
	}
	var lead struct {
		Email          *string    `bun:"email"`
		FullName       *string    `bun:"full_name"`
		Status         string     `bun:"status"`
		UnsubscribedAt *time.Time `bun:"unsubscribed_at"`
	}
	if err := tx.NewRaw(`SELECT email, NULLIF(full_name, '') AS full_name, status, unsubscribed_at FROM leads WHERE org_id = ? AND id = ?`,
		a.OrgID, t.LeadID).Scan(ctx, &lead); err != nil {
		return replyPlan{}, err
	}
	if lead.Email == nil || strings.TrimSpace(*lead.Email) == "" {
		return replyPlan{}, &fault.Error{Kind: fault.KindInvalid, Code: "lead_has_no_email", Detail: "the thread's lead has no email address"}
	}
	suppressed := fault.Conflict("lead_suppressed", "the lead unsubscribed or its address is on the suppression list; nothing was sent")
	if lead.Status == "unsubscribed" || lead.UnsubscribedAt != nil {
		return replyPlan{}, suppressed
	}
	hits, err := suppressions.Check(ctx, tx, []suppressions.Contact{{Email: strings.ToLower(strings.TrimSpace(*lead.Email))}})
	if err != nil {
		return replyPlan{}, err
	}
	if len(hits) > 0 {
		return replyPlan{}, suppressed
	}
	if t.EmailAccountID == nil {
		return replyPlan{}, &fault.Error{Kind: fault.KindInvalid, Code: "no_mailbox", Detail: "the thread has no mailbox to reply from"}
	}
	var acct struct {
		Address     string  `bun:"email_address"`
		DisplayName *string `bun:"display_name"`
		IsActive    bool    `bun:"is_active"`
	}
	if err := tx.NewRaw(`SELECT email_address, display_name, is_active FROM email_accounts WHERE org_id = ? AND id = ?`,
		a.OrgID, *t.EmailAccountID).Scan(ctx, &acct); err != nil {
		return replyPlan{}, err
	}
	if !acct.IsActive {
		return replyPlan{}, &fault.Error{Kind: fault.KindInvalid, Code: "mailbox_inactive", Detail: "the thread's mailbox is inactive; activate it to reply"}
	}

	parent, err := replyParent(ctx, tx, a.OrgID, t)
	if err != nil {
		return replyPlan{}, err
	}
	subject := replySubject(t.Subject, parent.Subject)
	if in.Subject != nil {
		subject = strings.TrimSpace(*in.Subject)
	}
	now := s.opts.Now()
	snippet, messageID, sendingStatus := replySnippet(in.BodyText), emailsend.NewMessageID(replyDomain(acct.Address)), DeliverySending
	r := messageRow{
		ID: uuid.Must(uuid.NewV7()), OrgID: a.OrgID, EmailAccountID: t.EmailAccountID, LeadID: &t.LeadID, CampaignID: t.CampaignID,
		ThreadID: &t.ID, Channel: t.Channel, Direction: "outbound", Kind: KindOutbound,
		FromAddress: acct.Address, FromName: acct.DisplayName, ToAddress: strings.TrimSpace(*lead.Email), ToName: lead.FullName,
		Subject: &subject, BodyText: &in.BodyText, CleanText: &in.BodyText, Snippet: &snippet,
		MessageID:  &messageID,
		References: []string{}, Attachments: []Attachment{}, IsRead: true, DeliveryStatus: &sendingStatus,
		CreatedAt: now, UpdatedAt: now,
	}
	if parent.MessageID != "" {
		r.InReplyTo = &parent.MessageID
		r.References = replyReferences(parent.References, parent.MessageID)
	}
	if a.UserID != uuid.Nil && !a.IsAPIKey() {
		r.SentBy = &a.UserID
	}
	if _, err := tx.NewInsert().Model(&r).Exec(ctx); err != nil {
		return replyPlan{}, err
	}
	if _, err := tx.NewUpdate().Model((*threadRow)(nil)).
		Set("message_count = message_count + 1").
		Set("last_message_at = greatest(last_message_at, ?)", now).
		Set("updated_at = ?", now).
		Where("org_id = ? AND id = ?", a.OrgID, t.ID).Exec(ctx); err != nil {
		return replyPlan{}, err
	}
	out := sending.Outgoing{
		ID: r.ID, LeadID: t.LeadID,
		From:    mail.Address{Name: replyStr(acct.DisplayName), Address: acct.Address},
		To:      mail.Address{Name: replyStr(lead.FullName), Address: r.ToAddress},
		Subject: subject, Text: in.BodyText,
		MessageID: *r.MessageID, InReplyTo: replyStr(r.InReplyTo), References: r.References,
	}
	return replyPlan{row: r, account: *t.EmailAccountID, out: out}, nil
}

// replyThreadParent is the message a reply answers.
type replyThreadParent struct {
	MessageID  string
	References []string
	Subject    *string
}

// replyParent is the thread's latest inbound message that has a
// Message-ID or, when there is none, our latest sent step to the lead
// that has one (zero when neither exists).
func replyParent(ctx context.Context, tx bun.IDB, org uuid.UUID, t threadRow) (replyThreadParent, error) {
	var p struct {
		MessageID  string   `bun:"message_id"`
		References []string `bun:"message_references,array"`
		Subject    *string  `bun:"subject"`
	}
	err := tx.NewRaw(`SELECT message_id, message_references, subject FROM inbox_messages
		 WHERE org_id = ? AND inbox_thread_id = ? AND direction = 'inbound' AND message_id IS NOT NULL AND message_id <> ''
		 ORDER BY coalesce(received_at, created_at) DESC, id DESC LIMIT 1`, org, t.ID).Scan(ctx, &p)
	if errors.Is(database.Interpret(err), database.ErrNotFound) {
		err = tx.NewRaw(`SELECT message_id, message_references, subject FROM messages
			 WHERE org_id = ? AND lead_id = ? AND status IN (?) AND message_id IS NOT NULL AND message_id <> ''
			 ORDER BY sent_at DESC NULLS LAST, id DESC LIMIT 1`, org, t.LeadID, bun.In(stepSentStatuses)).Scan(ctx, &p)
		if errors.Is(database.Interpret(err), database.ErrNotFound) {
			return replyThreadParent{}, nil
		}
	}
	if err != nil {
		return replyThreadParent{}, err
	}
	return replyThreadParent{MessageID: bareMessageID(p.MessageID), References: p.References, Subject: p.Subject}, nil
}

// replyReferences is the References of a reply to a message with id and
// references refs: refs then id, without angle brackets, each once (the
// first occurrence kept), at most maxReplyReferences (the first and the
// latest kept).
func replyReferences(refs []string, id string) []string {
	out := make([]string, 0, len(refs)+1)
	seen := map[string]bool{}
	for _, r := range append(append([]string(nil), refs...), id) {
		r = bareMessageID(r)
		if r == "" || seen[r] {
			continue
		}
		seen[r] = true
		out = append(out, r)
	}
	if len(out) > maxReplyReferences {
		out = append(out[:1], out[len(out)-maxReplyReferences+1:]...)
	}
	return out
}

// bareMessageID is a Message-ID without its angle brackets and spaces.
func bareMessageID(id string) string { return strings.Trim(strings.TrimSpace(id), "<>") }

// replySubject is "Re: " and the thread's subject (else the parent's),
// without the "Re:" prefixes it already had.
func replySubject(thread, parent *string) string {
	base := strings.TrimSpace(replyStr(thread))
	if base == "" {
		base = strings.TrimSpace(replyStr(parent))
	}
strip:
	for {
		l := strings.ToLower(base)
		switch {
		case strings.HasPrefix(l, "re:"):
			base = strings.TrimSpace(base[len("re:"):])
		case strings.HasPrefix(l, "re :"):
			base = strings.TrimSpace(base[len("re :"):])
		default:
			break strip
		}
	}
	if base == "" {
		return "Re:"
	}
	return "Re: " + base
}

// replySnippet is the start of a reply's text, on one line.
func replySnippet(text string) string {
	s := strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(s) <= replySnippetLen {
		return s
	}
	return string([]rune(s)[:replySnippetLen]) + "…"
}

// replyDomain is the domain of an address ("localhost" without one), for
// Message-IDs as the sending engine makes them.
func replyDomain(address string) string {
	if at := strings.LastIndexByte(address, '@'); at >= 0 && at < len(address)-1 {
		return address[at+1:]
	}
	return "localhost"
}

// replyStr is *p, or "" for nil.
func replyStr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
