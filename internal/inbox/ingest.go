package inbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/leads"
	"github.com/leadpilot/leadpilot/internal/notifications"
	"github.com/leadpilot/leadpilot/internal/sending"
)

// Incoming is one email that arrived in a mailbox, as fetched.
type Incoming struct {
	Raw []byte
	// UIDValidity and UID say where IMAP sync found it (zero: not IMAP,
	// e.g. a reply injected into the sandbox).
	UIDValidity, UID uint32
	// ReceivedAt is the server's INTERNALDATE (zero: the Date header, or
	// now).
	ReceivedAt time.Time
}

// IngestResult counts what one Ingest did.
type IngestResult struct {
	// Stored is how many were new; Duplicates were stored before (same
	// Message-ID in the mailbox, or same UID); Own were our own messages
	// (a copy of something we sent), not stored.
	Stored, Duplicates, Own int
	// Of the stored: matched to a lead, and each kind.
	Matched, Replies, AutoReplies, Bounces, Complaints int
	// IDs of the stored messages, in input order; ToClassify are those
	// the LLM classifies (a person's replies).
	IDs        []uuid.UUID
	ToClassify []uuid.UUID
}

// outbound is one of our sent messages a reply or report can name.
type outbound struct {
	ID         uuid.UUID  `bun:"id,type:uuid"`
	MessageID  string     `bun:"message_id"`
	LeadID     uuid.UUID  `bun:"lead_id,type:uuid"`
	CampaignID *uuid.UUID `bun:"campaign_id,type:uuid"`
	AccountID  *uuid.UUID `bun:"email_account_id,type:uuid"`
	Subject    *string    `bun:"subject"`
}

// leadMatch is a lead found by address.
type leadMatch struct {
	ID         uuid.UUID  `bun:"id,type:uuid"`
	Email      string     `bun:"email"`
	CampaignID *uuid.UUID `bun:"campaign_id,type:uuid"`
	// Last is the lead's latest message that left us (for bounces and
	// complaints matched by address).
	Last *uuid.UUID `bun:"last,type:uuid"`
}

// item is one incoming message on its way in.
type item struct {
	in   Incoming
	a    analysis
	row  messageRow
	out  *outbound // our message it answers (headers)
	lead *leadMatch
	// bounceOf is, for a bounce or complaint, our message it is about.
	bounceOf uuid.UUID
}

// Ingest stores what arrived in account of org and acts on it, in one
// transaction: every message is parsed, recognised (a person's reply, an
// auto-reply, a bounce or complaint report), matched (our message by
// In-Reply-To/References, then the lead by sender address), stored once
// (by Message-ID per mailbox, and by UID), threaded per lead, classified
// by rules where no LLM is needed, and acted on (the sequence stops, the
// lead's status follows, bounces and complaints suppress, an
// out-of-office defers the next step, people are notified, events are
// written). commit, when not nil, runs last in the same transaction (IMAP
// sync stores its new UID there, so a batch is ingested exactly once).
// What the LLM should classify is queued after the commit.
func (s *Service) Ingest(ctx context.Context, org, account uuid.UUID, in []Incoming, commit func(context.Context, bun.IDB) error) (IngestResult, error) {
	var res IngestResult
	now := s.opts.Now()
	items := make([]*item, 0, len(in))
	seen := map[string]bool{}
	for _, m := range in {
		it := &item{in: m, a: analyse(m.Raw)}
		if it.a.MessageID == "" {
			// Without a Message-ID the content names it: the same
			// message synced twice is still one row.
			sum := sha256.Sum256(m.Raw)
			it.a.MessageID = "sha256-" + hex.EncodeToString(sum[:16]) + "@no-message-id.invalid"
		}
		if seen[it.a.MessageID] {
			res.Duplicates++
			continue
		}
		seen[it.a.MessageID] = true
		items = append(items, it)
	}
	err := s.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		var mailbox []string
		// The mailbox's row is locked first, as the sending engine locks it
		// before the leads it records: a sync and a send of one mailbox
		// take their locks in the same order.
		if err := tx.NewRaw(`SELECT lower(email_address) FROM email_accounts WHERE org_id = ? AND id = ? FOR NO KEY UPDATE`, org, account).Scan(ctx, &mailbox); err != nil || len(mailbox) == 0 {
			if err == nil {
				err = database.ErrNotFound
			}
			return fmt.Errorf("inbox: mailbox %s: %w", account, database.Interpret(err))
		}
		var err error
		if items, err = s.dropOwn(ctx, tx, org, items, &res); err != nil {
			return err
		}
		if err := s.match(ctx, tx, org, items); err != nil {
			return err
		}
		if err := lockLeads(ctx, tx, org, items); err != nil {
			return err
		}
		for _, it := range items {
			it.row = s.rowOf(org, account, mailbox[0], it, now)
		}
		stored, err := s.store(ctx, tx, items)
		if err != nil {
			return err
		}
		res.Duplicates += len(items) - len(stored)
		res.Stored = len(stored)
		if len(stored) > 0 {
			if err := s.thread(ctx, tx, org, stored); err != nil {
				return err
			}
			if err := s.act(ctx, tx, org, stored, &res); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE email_accounts SET imap_messages_synced = imap_messages_synced + ? WHERE org_id = ? AND id = ?`,
				len(stored), org, account); err != nil {
				return fmt.Errorf("inbox: count synced: %w", database.Interpret(err))
			}
		}
		if commit != nil {
			return commit(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return IngestResult{Duplicates: res.Duplicates}, err
	}
	if len(res.ToClassify) > 0 && s.enq != nil {
		// Once committed (inside an API request, when the request's
		// transaction commits: a task must not look for rows it cannot
		// see yet). A lost enqueue is not lost work: the classification
		// sweep finds what stayed unclassified.
		ids := res.ToClassify
		database.AfterCommit(ctx, func(ctx context.Context) { _ = s.enq.EnqueueClassify(ctx, org, ids) })
	}
	return res, nil
}

// dropOwn removes messages that are ours (a copy of what we sent, or of a
// reply composed in the inbox): they are not replies.
func (s *Service) dropOwn(ctx context.Context, tx bun.IDB, org uuid.UUID, items []*item, res *IngestResult) ([]*item, error) {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.a.MessageID
	}
	var own []string
	if err := tx.NewRaw(`SELECT message_id FROM messages WHERE org_id = ? AND message_id = ANY(?::text[]) AND `+sending.WentOut+`
		UNION SELECT message_id FROM inbox_messages WHERE org_id = ? AND direction = 'outbound' AND message_id = ANY(?::text[])`,
		org, pgdialect.Array(ids), org, pgdialect.Array(ids)).Scan(ctx, &own); err != nil && database.Interpret(err) != database.ErrNotFound {
		return nil, fmt.Errorf("inbox: own messages: %w", database.Interpret(err))
	}
	if len(own) == 0 {
		return items, nil
	}
	mine := map[string]bool{}
	for _, id := range own {
		mine[id] = true
	}
	res.Own = len(own)
	return slices.DeleteFunc(items, func(it *item) bool { return mine[it.a.MessageID] }), nil
}

// match finds, for each item, our message it answers (by In-Reply-To,
// then References newest first, then a report's original Message-ID) and
// failing that its lead by address: the sender's, or for a report the
// failed recipient's. A lead is never guessed: an address that is no
// lead's leaves the message unmatched.
func (s *Service) match(ctx context.Context, tx bun.IDB, org uuid.UUID, items []*item) error {
	var ids []string
	for _, it := range items {
		ids = append(ids, it.a.candidates()...)
	}
	byID := map[string]*outbound{}
	if len(ids) > 0 {
		var outs []outbound
		// Our sequence steps, and the replies composed in the inbox (their
		// thread names the lead).
		if err := tx.NewRaw(`SELECT id, message_id, lead_id, campaign_id, email_account_id, subject FROM messages
			WHERE org_id = ? AND message_id = ANY(?::text[]) AND `+sending.WentOut+`
			UNION ALL
			SELECT NULL::uuid, i.message_id, t.lead_id, t.campaign_id, i.email_account_id, i.subject FROM inbox_messages i
			JOIN inbox_threads t ON t.org_id = i.org_id AND t.id = i.inbox_thread_id
			WHERE i.org_id = ? AND i.direction = 'outbound' AND i.message_id = ANY(?::text[])`,
			org, pgdialect.Array(ids), org, pgdialect.Array(ids)).Scan(ctx, &outs); err != nil && database.Interpret(err) != database.ErrNotFound {
			return fmt.Errorf("inbox: match by headers: %w", database.Interpret(err))
		}
		for i := range outs {
			byID[outs[i].MessageID] = &outs[i]
		}
	}
	var addrs []string
	for _, it := range items {
		for _, id := range it.a.candidates() {
			if o := byID[id]; o != nil {
				it.out = o
				break
			}
		}
		if it.out == nil {
			addrs = append(addrs, it.a.addresses()...)
		}
	}
	byAddr := map[string]*leadMatch{}
	if len(addrs) > 0 {
		var ls []leadMatch
		// The most recently contacted lead of the address (an address can
		// be a lead in two campaigns), with its latest message that left.
		if err := tx.NewRaw(`SELECT DISTINCT ON (lower(l.email)) l.id, lower(l.email) AS email, l.campaign_id,
				(SELECT m.id FROM messages m WHERE m.org_id = l.org_id AND m.lead_id = l.id AND m.sent_at IS NOT NULL ORDER BY m.sent_at DESC LIMIT 1) AS last
			FROM leads l WHERE l.org_id = ? AND lower(l.email) = ANY(?::text[])
			ORDER BY lower(l.email), l.last_contacted_at DESC NULLS LAST, l.id`, org, pgdialect.Array(addrs)).Scan(ctx, &ls); err != nil &&
			database.Interpret(err) != database.ErrNotFound {
			return fmt.Errorf("inbox: match by address: %w", database.Interpret(err))
		}
		for i := range ls {
			byAddr[ls[i].Email] = &ls[i]
		}
	}
	for _, it := range items {
		if it.out != nil {
			it.lead = &leadMatch{ID: it.out.LeadID, CampaignID: it.out.CampaignID}
			if it.out.ID != uuid.Nil {
				it.bounceOf = it.out.ID
			}
			continue
		}
		for _, a := range it.a.addresses() {
			if l := byAddr[a]; l != nil {
				it.lead = l
				if l.Last != nil {
					it.bounceOf = *l.Last
				}
				break
			}
		}
	}
	return nil
}

// lockLeads locks the leads items matched, once, in id order, before
// anything else of theirs is written (their threads, then stop on reply,
// bounces, complaints, statuses, each locking a set of them): two
// mailboxes of one organisation synced at once, or a sync and a
// classification, never each hold a lead the other waits for.
func lockLeads(ctx context.Context, tx bun.IDB, org uuid.UUID, items []*item) error {
	var ids []uuid.UUID
	for _, it := range items {
		if it.lead != nil {
			ids = append(ids, it.lead.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM leads WHERE org_id = ? AND id = ANY(?::uuid[]) ORDER BY id FOR NO KEY UPDATE`,
		org, pgdialect.Array(ids)); err != nil {
		return fmt.Errorf("inbox: lock leads: %w", database.Interpret(err))
	}
	return nil
}

// rowOf is the row it is stored as.
func (s *Service) rowOf(org, account uuid.UUID, mailbox string, it *item, now time.Time) messageRow {
	a := it.a
	r := messageRow{
		ID: uuid.Must(uuid.NewV7()), OrgID: org, EmailAccountID: &account, Channel: "email", Direction: "inbound",
		Kind: a.kind(), FromAddress: a.From, ToAddress: a.To, MessageID: &a.MessageID,
		References: a.References, Attachments: a.Attachments, Bounce: a.Report,
		FromName: nonEmpty(a.FromName), Subject: nonEmpty(a.Subject), BodyText: nonEmpty(a.Text), BodyHTML: nonEmpty(a.HTML),
		CleanText: nonEmpty(a.Clean), Snippet: nonEmpty(a.Snippet), InReplyTo: nonEmpty(a.InReplyTo),
	}
	if r.ToAddress == "" {
		r.ToAddress = mailbox
	}
	if r.FromAddress == "" {
		r.FromAddress = "unknown"
	}
	if r.References == nil {
		r.References = []string{}
	}
	if r.Attachments == nil {
		r.Attachments = []Attachment{}
	}
	received := it.in.ReceivedAt
	if received.IsZero() {
		received = a.Date
	}
	if received.IsZero() || received.After(now) {
		received = now
	}
	r.ReceivedAt = &received
	if it.in.UID != 0 && it.in.UIDValidity != 0 {
		v, u := int64(it.in.UIDValidity), int64(it.in.UID)
		r.IMAPUIDValidity, r.IMAPUID = &v, &u
	}
	if it.lead != nil {
		r.LeadID, r.CampaignID = &it.lead.ID, it.lead.CampaignID
	}
	if it.out != nil && it.out.ID != uuid.Nil {
		r.OutboundMessageID = &it.out.ID
	} else if it.bounceOf != uuid.Nil && (r.Kind == KindBounce || r.Kind == KindComplaint) {
		r.OutboundMessageID = &it.bounceOf
	}
	if !a.ReturnDate.IsZero() {
		d := a.ReturnDate
		r.ReturnDate = &d
	}
	// Rules decide what needs no LLM: reports and auto-replies.
	if class, conf, reason := a.rules(); class != "" {
		r.Classification, r.Confidence, r.Reason = &class, &conf, &reason
		provider := ProviderRules
		r.ClassifiedBy, r.ClassifiedAt = &provider, &now
	}
	return r
}

// store inserts items' rows, skipping those stored before (the mailbox's
// Message-ID, or the UID under its UIDVALIDITY), and returns the new ones.
func (s *Service) store(ctx context.Context, tx bun.IDB, items []*item) ([]*item, error) {
	if len(items) == 0 {
		return nil, nil
	}
	rows := make([]messageRow, len(items))
	for i, it := range items {
		rows[i] = it.row
	}
	var got []uuid.UUID
	if err := tx.NewInsert().Model(&rows).On("CONFLICT DO NOTHING").Returning("id").Scan(ctx, &got); err != nil &&
		database.Interpret(err) != database.ErrNotFound {
		return nil, fmt.Errorf("inbox: store: %w", database.Interpret(err))
	}
	isNew := make(map[uuid.UUID]bool, len(got))
	for _, id := range got {
		isNew[id] = true
	}
	var out []*item
	for _, it := range items {
		if isNew[it.row.ID] {
			out = append(out, it)
		}
	}
	return out, nil
}

// thread adds the matched items to their leads' threads (one per lead,
// created on its first message) and links them.
func (s *Service) thread(ctx context.Context, tx bun.IDB, org uuid.UUID, items []*item) error {
	type agg struct {
		row     threadRow
		msgs    []uuid.UUID
		lastAt  time.Time
		snippet *string
		class   *string
	}
	byLead := map[uuid.UUID]*agg{}
	var order []uuid.UUID
	for _, it := range items {
		if it.row.LeadID == nil {
			continue
		}
		g := byLead[*it.row.LeadID]
		if g == nil {
			g = &agg{row: threadRow{ID: uuid.Must(uuid.NewV7()), OrgID: org, LeadID: *it.row.LeadID, CampaignID: it.row.CampaignID,
				EmailAccountID: it.row.EmailAccountID, Channel: it.row.Channel, Subject: threadSubject(it)}}
			byLead[*it.row.LeadID] = g
			order = append(order, *it.row.LeadID)
		}
		g.msgs = append(g.msgs, it.row.ID)
		if it.row.Kind == KindReply && (g.row.LastReplyAt == nil || it.row.ReceivedAt.After(*g.row.LastReplyAt)) {
			at := *it.row.ReceivedAt
			g.row.LastReplyAt = &at
		}
		if at := *it.row.ReceivedAt; !at.Before(g.lastAt) {
			g.lastAt, g.snippet = at, it.row.Snippet
			if it.row.Classification != nil {
				g.class = it.row.Classification
			}
		}
	}
	if len(order) == 0 {
		return nil
	}
	rows := make([]threadRow, len(order))
	for i, lead := range order {
		g := byLead[lead]
		g.row.MessageCount, g.row.InboundCount, g.row.UnreadCount = len(g.msgs), len(g.msgs), len(g.msgs)
		g.row.LastMessageAt, g.row.LastInboundAt, g.row.Snippet, g.row.Classification = g.lastAt, &g.lastAt, g.snippet, g.class
		rows[i] = g.row
	}
	var ids []struct {
		ID     uuid.UUID `bun:"id,type:uuid"`
		LeadID uuid.UUID `bun:"lead_id,type:uuid"`
	}
	// A new message un-archives its thread: it needs reading.
	if err := tx.NewInsert().Model(&rows).On(`CONFLICT (org_id, lead_id) DO UPDATE SET
			message_count = inbox_threads.message_count + excluded.message_count,
			inbound_count = inbox_threads.inbound_count + excluded.inbound_count,
			unread_count = inbox_threads.unread_count + excluded.unread_count,
			snippet = CASE WHEN excluded.last_message_at >= inbox_threads.last_message_at THEN excluded.snippet ELSE inbox_threads.snippet END,
			classification = CASE WHEN excluded.last_message_at >= inbox_threads.last_message_at AND excluded.classification IS NOT NULL
				THEN excluded.classification ELSE inbox_threads.classification END,
			last_message_at = greatest(inbox_threads.last_message_at, excluded.last_message_at),
			last_inbound_at = greatest(inbox_threads.last_inbound_at, excluded.last_inbound_at),
			last_reply_at = greatest(inbox_threads.last_reply_at, excluded.last_reply_at),
			subject = coalesce(inbox_threads.subject, excluded.subject),
			email_account_id = coalesce(inbox_threads.email_account_id, excluded.email_account_id),
			campaign_id = coalesce(inbox_threads.campaign_id, excluded.campaign_id),
			is_archived = false, updated_at = now()`).Returning("id, lead_id").Scan(ctx, &ids); err != nil {
		return fmt.Errorf("inbox: threads: %w", database.Interpret(err))
	}
	msgIDs, threadIDs := []uuid.UUID{}, []uuid.UUID{}
	for _, t := range ids {
		for _, m := range byLead[t.LeadID].msgs {
			msgIDs, threadIDs = append(msgIDs, m), append(threadIDs, t.ID)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE inbox_messages i SET inbox_thread_id = v.thread
		FROM unnest(?::uuid[], ?::uuid[]) AS v (id, thread) WHERE i.org_id = ? AND i.id = v.id`,
		pgdialect.Array(msgIDs), pgdialect.Array(threadIDs), org); err != nil {
		return fmt.Errorf("inbox: link threads: %w", database.Interpret(err))
	}
	threadOf := map[uuid.UUID]uuid.UUID{}
	for i, m := range msgIDs {
		threadOf[m] = threadIDs[i]
	}
	for _, it := range items {
		if t, ok := threadOf[it.row.ID]; ok {
			it.row.ThreadID = &t
		}
	}
	return nil
}

// threadSubject is the thread's subject: our message's, else the reply's
// without its Re: prefixes.
func threadSubject(it *item) *string {
	if it.out != nil && it.out.Subject != nil {
		return it.out.Subject
	}
	return nonEmpty(StripReplyPrefix(it.a.Subject))
}

// StripReplyPrefix removes leading "Re:", "Fwd:", "AW:", "SV:" … from a
// subject.
func StripReplyPrefix(s string) string {
	for {
		t := strings.TrimSpace(s)
		i := strings.IndexByte(t, ':')
		if i <= 0 || i > 4 {
			return t
		}
		switch strings.ToLower(t[:i]) {
		case "re", "fw", "fwd", "aw", "sv", "vs", "wg", "tr", "rif", "ref", "antw":
			s = t[i+1:]
		default:
			return t
		}
	}
}

// act applies what the stored items mean, set-based where it can be.
func (s *Service) act(ctx context.Context, tx bun.IDB, org uuid.UUID, items []*item, res *IngestResult) error {
	var (
		evs                  []events.New
		notes                []notifications.New
		replied, answered    []uuid.UUID
		statusChanges        []leads.StatusChange
		bounces              []sending.Bounce
		bouncedByCampaign    = map[uuid.UUID]int{}
		hardBounced, retried int
	)
	for _, it := range items {
		r := it.row
		res.IDs = append(res.IDs, r.ID)
		view := r.view()
		evs = append(evs, events.New{Type: events.ReplyReceived, ObjectID: r.ID, Data: view})
		if r.Classification != nil {
			evs = append(evs, events.New{Type: events.ReplyClassified, ObjectID: r.ID, Data: view})
		}
		if r.LeadID != nil {
			res.Matched++
		}
		switch r.Kind {
		case KindReply:
			res.Replies++
			res.ToClassify = append(res.ToClassify, r.ID)
			if r.LeadID != nil {
				replied = append(replied, *r.LeadID)
				statusChanges = append(statusChanges, leads.StatusChange{Lead: *r.LeadID, To: "replied", Reason: leads.ReasonReply})
				if r.OutboundMessageID != nil {
					answered = append(answered, *r.OutboundMessageID)
				}
				notes = append(notes, replyNote(r, notifications.TypeReplyReceived))
			}
		case KindAutoReply:
			res.AutoReplies++
			if r.LeadID == nil {
				continue
			}
			if s.opts.StopOnAutoReply {
				replied = append(replied, *r.LeadID)
			}
			if r.ReturnDate != nil && s.sender != nil {
				if _, err := s.sender.DeferInTx(ctx, tx, org, *r.LeadID, *r.ReturnDate); err != nil {
					return err
				}
			}
		case KindBounce:
			res.Bounces++
			if r.OutboundMessageID == nil || r.Bounce == nil {
				continue
			}
			hard, diag := false, ""
			for _, rc := range r.Bounce.Recipients {
				hard = hard || rc.Hard
				if diag == "" {
					diag = strings.TrimSpace(rc.Status + " " + rc.Diagnostic)
				}
			}
			bounces = append(bounces, sending.Bounce{Message: *r.OutboundMessageID, Hard: hard, Diagnostic: diag})
			if r.CampaignID != nil {
				bouncedByCampaign[*r.CampaignID]++
			}
		case KindComplaint:
			res.Complaints++
			if r.LeadID != nil && s.sender != nil {
				var msg uuid.UUID
				if r.OutboundMessageID != nil {
					msg = *r.OutboundMessageID
				}
				if err := s.sender.ComplaintInTx(ctx, tx, org, msg, *r.LeadID); err != nil {
					return err
				}
			}
		}
	}
	if _, err := events.RecordBatch(ctx, tx, org, evs); err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	// One statement for the batch's replies, not two a reply.
	if _, err := notifications.NotifyAdminsEach(ctx, tx, org, notes); err != nil {
		return err
	}
	changed, err := leads.ChangeStatus(ctx, tx, org, statusChanges)
	if err != nil {
		return err
	}
	// Which replies moved their lead to replied: an out-of-office
	// classification of one of them may undo that (undoReplies), and only
	// that.
	moved := map[uuid.UUID]bool{}
	for _, c := range changed {
		if c.To == "replied" {
			moved[c.Lead] = true
		}
	}
	var movedBy []uuid.UUID
	for _, it := range items {
		if it.row.Kind == KindReply && it.row.LeadID != nil && moved[*it.row.LeadID] {
			movedBy = append(movedBy, it.row.ID)
		}
	}
	if len(movedBy) > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE inbox_messages SET moved_lead_to_replied = true WHERE org_id = ? AND id = ANY(?::uuid[])`,
			org, pgdialect.Array(movedBy)); err != nil {
			return fmt.Errorf("inbox: mark replies that moved their lead: %w", database.Interpret(err))
		}
	}
	if s.sender != nil {
		if _, err := s.sender.RepliedInTx(ctx, tx, org, replied, answered); err != nil {
			return err
		}
		br, err := s.sender.BouncesInTx(ctx, tx, org, bounces, s.opts.SoftBounceLimit, s.opts.SoftBounceRetry)
		if err != nil {
			return err
		}
		hardBounced, retried = len(br.Bounced), len(br.Retried)
	}
	if hardBounced > 0 {
		msg := fmt.Sprintf("%d of your emails bounced for good: their leads are marked bounced and their addresses suppressed.", hardBounced)
		if retried > 0 {
			msg += fmt.Sprintf(" %d more bounced softly and will be retried.", retried)
		}
		n := notifications.New{Type: notifications.TypeBounce, Title: "Emails bounced", Message: msg, ActionURL: "/inbox?classification=bounce"}
		if len(bouncedByCampaign) == 1 {
			for c := range bouncedByCampaign {
				n.CampaignID = c
			}
		}
		if _, err := notifications.NotifyAdmins(ctx, tx, org, n); err != nil {
			return err
		}
	}
	return nil
}

// replyNote is the notification that tells the organisation's owners
// and admins about r (as their reply preferences allow).
func replyNote(r messageRow, typ string) notifications.New {
	who := r.FromAddress
	if r.FromName != nil {
		who = *r.FromName + " <" + r.FromAddress + ">"
	}
	title := "New reply from " + who
	if typ == notifications.TypePositiveReply {
		title = "Interested: " + who
	}
	n := notifications.New{Type: typ, Title: title, InboxMessageID: r.ID, Channel: r.Channel}
	if r.Snippet != nil {
		n.Message = *r.Snippet
	}
	if r.LeadID != nil {
		n.LeadID = *r.LeadID
	}
	if r.CampaignID != nil {
		n.CampaignID = *r.CampaignID
	}
	if r.ThreadID != nil {
		n.ActionURL = "/inbox/threads/" + r.ThreadID.String()
	}
	return n
}

func nonEmpty(s string) *string {
	if s = strings.TrimSpace(s); s == "" {
		return nil
	}
	return &s
}
