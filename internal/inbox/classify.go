package inbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/leads"
	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/notifications"
	"github.com/leadpilot/leadpilot/internal/sending"
)

// messageNotFoundAs names an inbox message in 404s.
const messageNotFoundAs = "inbox message"

// toClassify is what the classifier reads of an inbound message and of
// the message it answers: only these columns are loaded.
type toClassify struct {
	ID          uuid.UUID `bun:"id,type:uuid"`
	FromAddress string    `bun:"from_address"`
	Subject     *string   `bun:"subject"`
	BodyText    *string   `bun:"body_text"`
	CleanText   *string   `bun:"clean_text"`
	Snippet     *string   `bun:"snippet"`
	OrigSubject *string   `bun:"orig_subject"`
	OrigBody    *string   `bun:"orig_body"`
}

// lookupByID is one inbox message of the organisation (the second
// parameter) by the id v.id, as a LATERAL subquery over a list of ids.
// The LIMIT keeps the planner from turning the list into a join over the
// organisation's messages: right after an ingest the statistics still
// count the organisation's inbox as a row or two, and a plain
// "id = ANY(ids)" or a join on the ids read all of its messages (10,000
// rows, 10 ms, for 200 ids in BenchmarkClassify) where 200 index lookups
// (1 ms) do.
const lookupByID = `SELECT * FROM inbox_messages x WHERE x.org_id = ? AND x.id = v.id LIMIT 1`

// decision is a class for one message, by whom.
type decision struct {
	ID         uuid.UUID
	Class      string
	Confidence float64
	Reason     string
	Provider   string
	// User is who set it by hand (uuid.Nil: not by hand).
	User uuid.UUID
	// WasOutOfOffice: set by hand over an out_of_office class (which may
	// have resumed the lead: a person's class stops it again).
	WasOutOfOffice bool
}

// ClassifyResult counts what Classify did.
type ClassifyResult struct {
	Classified int
	// Provider and Model are the organisation's LLM's.
	Provider string
}

// Classify classifies org's inbound messages ids that are still
// unclassified with the organisation's LLM (the built-in offline
// provider by default): class, confidence and reason are stored, and the
// lead follows (interested, not_interested; unsubscribe suppresses and
// stops it; an out-of-office with a return date defers its next step).
// Messages classified meanwhile (by hand, or by another delivery of the
// task) are left alone, so it is idempotent.
//
// Up to Options.ClassifyWorkers provider calls run at once. A provider
// error stops the calls not yet started; the decisions already made are
// stored (in one transaction) and the call fails, so the task is retried
// for the rest.
func (s *Service) Classify(ctx context.Context, org uuid.UUID, ids []uuid.UUID) (ClassifyResult, error) {
	var res ClassifyResult
	if len(ids) == 0 {
		return res, nil
	}
	if s.providers == nil {
		return res, errors.New("inbox: no LLM provider to classify with")
	}
	var rows []toClassify
	err := s.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		// Each id is looked up by itself: see lookupByID.
		return tx.NewRaw(`SELECT i.id, i.from_address, i.subject, i.body_text, i.clean_text, i.snippet,
				m.subject AS orig_subject, m.body_text AS orig_body
			FROM unnest(?::uuid[]) AS v (id)
			CROSS JOIN LATERAL (`+lookupByID+`) i
			LEFT JOIN messages m ON m.org_id = i.org_id AND m.id = i.outbound_message_id
			WHERE i.direction = 'inbound' AND i.classification IS NULL
			ORDER BY i.id`, pgdialect.Array(ids), org).Scan(ctx, &rows)
	})
	if err = database.Interpret(err); err != nil && !errors.Is(err, database.ErrNotFound) {
		return res, fmt.Errorf("inbox: load to classify: %w", err)
	}
	if len(rows) == 0 {
		return res, nil
	}
	p, err := s.providers(ctx, org)
	if err != nil {
		return res, fmt.Errorf("inbox: LLM provider: %w", err)
	}
	res.Provider = p.Name()
	ds, cerr := s.decide(ctx, p, rows)
	if len(ds) > 0 {
		n, err := s.apply(ctx, org, ds)
		res.Classified += n
		if err != nil {
			return res, err
		}
	}
	return res, cerr
}

// decide asks p for each row's class, up to Options.ClassifyWorkers calls
// at once, and returns the decisions in the order of rows. On a provider
// error the calls not yet started are skipped: it returns the decisions
// made, in order, and the error of the first row that failed.
func (s *Service) decide(ctx context.Context, p llm.Provider, rows []toClassify) ([]decision, error) {
	out := make([]decision, len(rows))
	errs := make([]error, len(rows))
	var next atomic.Int64
	var failed atomic.Bool
	work := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= len(rows) || failed.Load() {
				return
			}
			r := &rows[i]
			reply := llm.Reply{From: r.FromAddress, Subject: deref(r.Subject), Body: replyText(r.CleanText, r.BodyText, r.Snippet)}
			var orig *llm.Original
			if r.OrigBody != nil {
				orig = &llm.Original{Subject: deref(r.OrigSubject), Body: *r.OrigBody}
			}
			got, err := p.ClassifyReply(ctx, reply, orig)
			if err != nil {
				errs[i] = fmt.Errorf("inbox: classify %s: %w", r.ID, err)
				failed.Store(true)
				return
			}
			class := string(got.Classification)
			if !slices.Contains(Classes, class) {
				class = ClassOther
			}
			out[i] = decision{ID: r.ID, Class: class, Confidence: clamp01(got.Confidence), Reason: got.Reason, Provider: p.Name()}
		}
	}
	workers := min(s.opts.ClassifyWorkers, len(rows))
	if workers <= 1 {
		work()
	} else {
		var wg sync.WaitGroup
		for range workers {
			wg.Go(work)
		}
		wg.Wait()
	}
	if !failed.Load() {
		return out, nil
	}
	// What was decided is kept; the rest (failed or not started) is
	// retried with the task.
	ds := make([]decision, 0, len(rows))
	var first error
	for i := range out {
		switch {
		case errs[i] != nil && first == nil:
			first = errs[i]
		case errs[i] == nil && out[i].ID != uuid.Nil:
			ds = append(ds, out[i])
		}
	}
	return ds, first
}

// replyText is what the classifier reads: what the sender wrote, without
// the quoted history when it could be cut.
func replyText(clean, body, snippet *string) string {
	switch {
	case clean != nil && strings.TrimSpace(*clean) != "":
		return *clean
	case body != nil:
		return *body
	}
	return deref(snippet)
}

// Reclassify sets an inbound message's class by hand. It is kept as the
// user's decision (classification_manual: the classifier never overwrites
// it), and the lead follows as it does for the classifier's, except that
// nothing is undone: an unsubscribe's suppression stays (remove it from
// the suppression list to write to the lead again). A person's class set
// over out_of_office on a message ingest took for a reply (interested, a
// question, …) stops the lead again as that reply did, since the
// out-of-office class may have resumed it.
func (s *Service) Reclassify(ctx context.Context, a access.Actor, id uuid.UUID, class string) (Message, error) {
	if !slices.Contains(Classes, class) {
		return Message{}, fault.Invalid(fault.FieldError{Field: "/classification", Code: "invalid_value", Message: "must be one of " + strings.Join(Classes, ", ")})
	}
	d := decision{ID: id, Class: class, Confidence: 1, Reason: "set by hand", Provider: ProviderUser, User: a.UserID}
	var out Message
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		var r []messageRow
		if err := tx.NewSelect().Model(&r).Where("org_id = ? AND id = ?", a.OrgID, id).For("NO KEY UPDATE").Scan(ctx); err != nil {
			return database.Interpret(err)
		}
		if len(r) == 0 {
			return database.ErrNotFound
		}
		if r[0].Direction != "inbound" {
			return fault.Conflict("not_inbound", "only messages that arrived can be classified; this one was sent from the inbox")
		}
		d.WasOutOfOffice = r[0].Classification != nil && *r[0].Classification == ClassOutOfOffice
		got, err := s.applyInTx(ctx, tx, a.OrgID, []decision{d})
		if err != nil {
			return err
		}
		if len(got) == 1 {
			out = got[0].view()
		}
		return nil
	})
	if errors.Is(err, database.ErrNotFound) {
		return Message{}, fault.NotFound(messageNotFoundAs).WithCause(err)
	}
	return out, err
}

// apply stores ds in a transaction of its own.
func (s *Service) apply(ctx context.Context, org uuid.UUID, ds []decision) (int, error) {
	select {
	case s.applying <- struct{}{}:
		defer func() { <-s.applying }()
	case <-ctx.Done():
		return 0, context.Cause(ctx)
	}
	var n int
	err := s.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		got, err := s.applyInTx(ctx, tx, org, ds)
		n = len(got)
		return err
	})
	return n, err
}

// applyInTx stores the decisions ds and what follows from them, in tx: a
// classifier's decision only for a message still unclassified, a
// person's always. It returns the messages it changed.
func (s *Service) applyInTx(ctx context.Context, tx bun.IDB, org uuid.UUID, ds []decision) ([]messageRow, error) {
	n := len(ds)
	ids, classes, confs, reasons, providers, users := make([]uuid.UUID, n), make([]string, n), make([]float64, n), make([]string, n), make([]string, n), make([]string, n)
	manual := false
	wasAway := map[uuid.UUID]bool{}
	for i, d := range ds {
		wasAway[d.ID] = d.WasOutOfOffice
		ids[i], classes[i], confs[i], reasons[i], providers[i] = d.ID, d.Class, d.Confidence, d.Reason, d.Provider
		if d.User != uuid.Nil {
			users[i], manual = d.User.String(), true
		}
	}
	guard := "i.classification IS NULL AND NOT i.classification_manual"
	if manual {
		guard = "true"
	}
	// The rows are locked first, in id order (two batches never wait on
	// each other in a cycle), and then updated by their tuple id (ctid),
	// which the lock keeps from changing until the transaction ends: so
	// the update finds its 200 rows by 200 index lookups whatever the
	// statistics say (see lookupByID).
	locked := slices.Clone(ids)
	slices.SortFunc(locked, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM unnest(?::uuid[]) WITH ORDINALITY AS v (id, n)
		CROSS JOIN LATERAL (`+lookupByID+` FOR NO KEY UPDATE) i ORDER BY v.n`, pgdialect.Array(locked), org); err != nil {
		return nil, fmt.Errorf("inbox: lock to classify: %w", database.Interpret(err))
	}
	var rows []messageRow
	if err := tx.NewRaw(`UPDATE inbox_messages i SET classification = v.class, classification_confidence = v.conf,
			classification_reason = v.reason, classification_provider = v.provider, classified_at = now(),
			classification_manual = v.provider = 'user', classified_by = nullif(v.by, '')::uuid, updated_at = now()
		FROM unnest(?::uuid[], ?::text[], ?::float8[], ?::text[], ?::text[], ?::text[]) AS v (id, class, conf, reason, provider, by)
		CROSS JOIN LATERAL (`+strings.Replace(lookupByID, "SELECT *", "SELECT ctid AS tid", 1)+`) t
		WHERE i.ctid = t.tid AND i.org_id = ? AND i.direction = 'inbound' AND `+guard+`
		RETURNING i.*`, pgdialect.Array(ids), pgdialect.Array(classes), pgdialect.Array(confs), pgdialect.Array(reasons),
		pgdialect.Array(providers), pgdialect.Array(users), org, org).Scan(ctx, &rows); err != nil && database.Interpret(err) != database.ErrNotFound {
		return nil, fmt.Errorf("inbox: store classes: %w", database.Interpret(err))
	}
	if len(rows) == 0 {
		return nil, nil
	}
	// The leads are locked next, once, in id order: what follows (the
	// unsubscribes, then the status changes) locks them in two sets, and
	// two batches classified at once (the worker runs several tasks)
	// would otherwise each hold a lead of the other's second set.
	var leadIDs []uuid.UUID
	for _, r := range rows {
		if r.LeadID != nil {
			leadIDs = append(leadIDs, *r.LeadID)
		}
	}
	if len(leadIDs) > 0 {
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM leads WHERE org_id = ? AND id = ANY(?::uuid[]) ORDER BY id FOR NO KEY UPDATE`,
			org, pgdialect.Array(leadIDs)); err != nil {
			return nil, fmt.Errorf("inbox: lock leads: %w", database.Interpret(err))
		}
	}
	// The threads show their latest classified inbound message's class;
	// their update also says when each lead last wrote. A lead's status
	// follows its latest reply: the classifier's verdict on an older one
	// (its task retried late) does not undo a newer one. A person's class
	// set by hand always applies.
	var threads []uuid.UUID
	for _, r := range rows {
		if r.ThreadID != nil {
			threads = append(threads, *r.ThreadID)
		}
	}
	lastReply := map[uuid.UUID]time.Time{}
	if len(threads) > 0 {
		var ts []struct {
			LeadID      uuid.UUID  `bun:"lead_id,type:uuid"`
			LastReplyAt *time.Time `bun:"last_reply_at"`
		}
		if err := tx.NewRaw(`UPDATE inbox_threads t SET classification = (
				SELECT i.classification FROM inbox_messages i WHERE i.org_id = t.org_id AND i.inbox_thread_id = t.id
				AND i.direction = 'inbound' AND i.classification IS NOT NULL ORDER BY i.received_at DESC, i.id DESC LIMIT 1), updated_at = now()
			WHERE t.org_id = ? AND t.id = ANY(?::uuid[]) RETURNING t.lead_id, t.last_reply_at`, org, pgdialect.Array(threads)).Scan(ctx, &ts); err != nil &&
			database.Interpret(err) != database.ErrNotFound {
			return nil, fmt.Errorf("inbox: thread classes: %w", database.Interpret(err))
		}
		for _, t := range ts {
			if t.LastReplyAt != nil {
				lastReply[t.LeadID] = *t.LastReplyAt
			}
		}
	}
	latestReply := func(r messageRow) bool {
		at, ok := lastReply[*r.LeadID]
		return !ok || r.ReceivedAt == nil || !r.ReceivedAt.Before(at)
	}
	var (
		evs     []events.New
		notes   []notifications.New
		changes []leads.StatusChange
		unsubs  []uuid.UUID
		defers  []sending.Deferral
		away    []uuid.UUID // leads of replies that were out-of-office notices
		// restop: leads a person's class says replied, and the messages
		// those replies answered.
		restop, restopAnswered []uuid.UUID
	)
	for _, r := range rows {
		evs = append(evs, events.New{Type: events.ReplyClassified, ObjectID: r.ID, Data: r.view()})
		if r.LeadID == nil || r.Classification == nil {
			continue
		}
		lead := *r.LeadID
		if r.Manual && wasAway[r.ID] && r.Kind == KindReply && !slices.Contains([]string{ClassOutOfOffice, ClassUnsubscribe, ClassBounce}, *r.Classification) {
			// A person says a message classified out_of_office (which may
			// have resumed the lead) is a person's reply after all: it
			// stops the lead as ingest's reply did. A class below
			// (interested, …) comes after, and a lead's last change is the
			// one it takes.
			changes = append(changes, leads.StatusChange{Lead: lead, To: "replied", Reason: leads.ReasonReply})
			restop = append(restop, lead)
			if r.OutboundMessageID != nil {
				restopAnswered = append(restopAnswered, *r.OutboundMessageID)
			}
		}
		switch *r.Classification {
		case ClassInterested, ClassNotInterested:
			if r.Manual || latestReply(r) {
				changes = append(changes, leads.StatusChange{Lead: lead, To: *r.Classification, Reason: leads.ReasonClassification})
				if *r.Classification == ClassInterested && !r.Manual {
					notes = append(notes, replyNote(r, notifications.TypePositiveReply))
				}
			}
		case ClassUnsubscribe:
			unsubs = append(unsubs, lead)
		case ClassOutOfOffice:
			if r.ReturnDate != nil {
				defers = append(defers, sending.Deferral{Lead: lead, Until: *r.ReturnDate})
			}
			// Ingest took it for a person's reply (its rules did not see an
			// auto-reply): what that reply did is undone below, unless
			// auto-replies stop sequences here anyway.
			if r.Kind == KindReply && !s.opts.StopOnAutoReply {
				away = append(away, lead)
			}
		}
	}
	if s.sender != nil {
		// One statement per step for the whole batch. An unsubscribe
		// goes first: a lead that also sent an out-of-office stays
		// stopped, its cancelled messages are not deferred.
		if err := s.sender.UnsubscribeManyInTx(ctx, tx, org, unsubs, "classification"); err != nil {
			return nil, err
		}
		if _, err := s.sender.RepliedInTx(ctx, tx, org, restop, restopAnswered); err != nil {
			return nil, err
		}
		undone, err := s.undoReplies(ctx, tx, org, away)
		if err != nil {
			return nil, err
		}
		changes = append(changes, undone...)
		if _, err := s.sender.DeferManyInTx(ctx, tx, org, defers); err != nil {
			return nil, err
		}
	}
	if _, err := events.RecordBatch(ctx, tx, org, evs); err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	if _, err := notifications.NotifyAdminsEach(ctx, tx, org, notes); err != nil {
		return nil, err
	}
	if _, err := leads.ChangeStatus(ctx, tx, org, changes); err != nil {
		return nil, err
	}
	return rows, nil
}

func clamp01(f float64) float64 {
	switch {
	case f < 0:
		return 0
	case f > 1:
		return 1
	}
	return f
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// undoReplies undoes what ingest did for a reply that was an
// out-of-office notice, for each lead of away that is still "replied"
// because of such a notice and nothing else: ingest moved it for one
// (moved_lead_to_replied) and nothing has written the lead since (its
// updated_at is still that ingest's transaction time, the notice's
// created_at), so a lead a person set to replied, or touched at all, or
// one a real reply moved, is left alone; and it has no reply of a person
// (one not classified out_of_office, or not classified yet):
// the message it answered is no longer replied, and the messages its
// "reply" cancelled (lead_replied) are scheduled again
// (Sender.UndoReplyInTx). Notices classified in any order end the same.
// It returns the leads' status changes (back to contacted), for the
// caller's one ChangeStatus.
func (s *Service) undoReplies(ctx context.Context, tx bun.IDB, org uuid.UUID, away []uuid.UUID) ([]leads.StatusChange, error) {
	if len(away) == 0 {
		return nil, nil
	}
	var rows []struct {
		Lead uuid.UUID `bun:"lead,type:uuid"`
	}
	if err := tx.NewRaw(`SELECT DISTINCT v.lead FROM unnest(?::uuid[]) AS v (lead)
		JOIN leads l ON l.org_id = ? AND l.id = v.lead AND l.status = 'replied'
		WHERE EXISTS (SELECT 1 FROM inbox_messages m WHERE m.org_id = ? AND m.lead_id = v.lead AND m.direction = 'inbound'
		              AND m.kind = 'reply' AND m.moved_lead_to_replied AND m.classification = 'out_of_office'
		              AND m.created_at = l.updated_at)
		  AND NOT EXISTS (SELECT 1 FROM inbox_messages i WHERE i.org_id = ? AND i.lead_id = v.lead AND i.direction = 'inbound'
		                  AND i.kind = 'reply' AND i.classification IS DISTINCT FROM 'out_of_office')`,
		pgdialect.Array(away), org, org, org).Scan(ctx, &rows); err != nil &&
		database.Interpret(err) != database.ErrNotFound {
		return nil, fmt.Errorf("inbox: replies that were out of office: %w", database.Interpret(err))
	}
	if len(rows) == 0 {
		return nil, nil
	}
	ls := make([]uuid.UUID, len(rows)) // distinct (SELECT DISTINCT)
	changes := make([]leads.StatusChange, len(rows))
	for i, r := range rows {
		ls[i] = r.Lead
		changes[i] = leads.StatusChange{Lead: r.Lead, To: "contacted", Reason: leads.ReasonClassification}
	}
	// The messages all their notices answered (not only this batch's),
	// and the notices' marks cleared: the move they made is undone, and a
	// later "replied" (a person's, say) is not theirs to undo again.
	if _, err := tx.ExecContext(ctx, `UPDATE inbox_messages SET moved_lead_to_replied = false, updated_at = now()
		WHERE org_id = ? AND lead_id = ANY(?::uuid[]) AND direction = 'inbound' AND kind = 'reply' AND moved_lead_to_replied`,
		org, pgdialect.Array(ls)); err != nil {
		return nil, fmt.Errorf("inbox: clear the notices' marks: %w", database.Interpret(err))
	}
	var answered []uuid.UUID
	if err := tx.NewRaw(`SELECT DISTINCT outbound_message_id FROM inbox_messages WHERE org_id = ? AND lead_id = ANY(?::uuid[])
		AND direction = 'inbound' AND kind = 'reply' AND classification = 'out_of_office' AND outbound_message_id IS NOT NULL`,
		org, pgdialect.Array(ls)).Scan(ctx, &answered); err != nil && database.Interpret(err) != database.ErrNotFound {
		return nil, fmt.Errorf("inbox: messages the notices answered: %w", database.Interpret(err))
	}
	if _, err := s.sender.UndoReplyInTx(ctx, tx, org, ls, answered); err != nil {
		return nil, err
	}
	return changes, nil
}
