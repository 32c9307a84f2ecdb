package inbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

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
)

// messageNotFoundAs names an inbox message in 404s.
const messageNotFoundAs = "inbox message"

// toClassify is an inbound message with the message it answers.
type toClassify struct {
	messageRow
	OrigSubject *string `bun:"orig_subject"`
	OrigBody    *string `bun:"orig_body"`
}

// decision is a class for one message, by whom.
type decision struct {
	ID         uuid.UUID
	Class      string
	Confidence float64
	Reason     string
	Provider   string
	// User is who set it by hand (uuid.Nil: not by hand).
	User uuid.UUID
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
// task) are left alone, so it is idempotent. A provider error fails the
// call with nothing stored for the messages not yet classified; the task
// is retried.
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
		return tx.NewRaw(`SELECT i.*, m.subject AS orig_subject, m.body_text AS orig_body FROM inbox_messages i
			LEFT JOIN messages m ON m.org_id = i.org_id AND m.id = i.outbound_message_id
			WHERE i.org_id = ? AND i.id = ANY(?::uuid[]) AND i.direction = 'inbound' AND i.classification IS NULL
			ORDER BY i.id`, org, pgdialect.Array(ids)).Scan(ctx, &rows)
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
	ds := make([]decision, 0, len(rows))
	for _, r := range rows {
		reply := llm.Reply{From: r.FromAddress, Subject: deref(r.Subject), Body: replyText(r.messageRow)}
		var orig *llm.Original
		if r.OrigBody != nil {
			orig = &llm.Original{Subject: deref(r.OrigSubject), Body: *r.OrigBody}
		}
		out, err := p.ClassifyReply(ctx, reply, orig)
		if err != nil {
			// What is decided so far is kept; the rest is retried.
			if len(ds) > 0 {
				if _, aerr := s.apply(ctx, org, ds); aerr != nil {
					return res, aerr
				}
				res.Classified += len(ds)
			}
			return res, fmt.Errorf("inbox: classify %s: %w", r.ID, err)
		}
		class := string(out.Classification)
		if !slices.Contains(Classes, class) {
			class = ClassOther
		}
		ds = append(ds, decision{ID: r.ID, Class: class, Confidence: clamp01(out.Confidence), Reason: out.Reason, Provider: p.Name()})
	}
	n, err := s.apply(ctx, org, ds)
	res.Classified += n
	return res, err
}

// replyText is what the classifier reads: what the sender wrote, without
// the quoted history when it could be cut.
func replyText(r messageRow) string {
	switch {
	case r.CleanText != nil && strings.TrimSpace(*r.CleanText) != "":
		return *r.CleanText
	case r.BodyText != nil:
		return *r.BodyText
	}
	return deref(r.Snippet)
}

// Reclassify sets an inbound message's class by hand. It is kept as the
// user's decision (classification_manual: the classifier never overwrites
// it), and the lead follows as it does for the classifier's, except that
// nothing is undone: an unsubscribe's suppression stays (remove it from
// the suppression list to write to the lead again).
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
	for i, d := range ds {
		ids[i], classes[i], confs[i], reasons[i], providers[i] = d.ID, d.Class, d.Confidence, d.Reason, d.Provider
		if d.User != uuid.Nil {
			users[i], manual = d.User.String(), true
		}
	}
	guard := "i.classification IS NULL AND NOT i.classification_manual"
	if manual {
		guard = "true"
	}
	var rows []messageRow
	if err := tx.NewRaw(`UPDATE inbox_messages i SET classification = v.class, classification_confidence = v.conf,
			classification_reason = v.reason, classification_provider = v.provider, classified_at = now(),
			classification_manual = v.provider = 'user', classified_by = nullif(v.by, '')::uuid, updated_at = now()
		FROM unnest(?::uuid[], ?::text[], ?::float8[], ?::text[], ?::text[], ?::text[]) AS v (id, class, conf, reason, provider, by)
		WHERE i.org_id = ? AND i.id = v.id AND i.direction = 'inbound' AND `+guard+`
		RETURNING i.*`, pgdialect.Array(ids), pgdialect.Array(classes), pgdialect.Array(confs), pgdialect.Array(reasons),
		pgdialect.Array(providers), pgdialect.Array(users), org).Scan(ctx, &rows); err != nil && database.Interpret(err) != database.ErrNotFound {
		return nil, fmt.Errorf("inbox: store classes: %w", database.Interpret(err))
	}
	if len(rows) == 0 {
		return nil, nil
	}
	var (
		evs     []events.New
		notes   []notifications.New
		changes []leads.StatusChange
		threads []uuid.UUID
	)
	for _, r := range rows {
		evs = append(evs, events.New{Type: events.ReplyClassified, ObjectID: r.ID, Data: r.view()})
		if r.ThreadID != nil {
			threads = append(threads, *r.ThreadID)
		}
		if r.LeadID == nil || r.Classification == nil {
			continue
		}
		lead := *r.LeadID
		switch *r.Classification {
		case ClassInterested, ClassNotInterested:
			changes = append(changes, leads.StatusChange{Lead: lead, To: *r.Classification, Reason: leads.ReasonClassification})
			if *r.Classification == ClassInterested && !r.Manual {
				notes = append(notes, replyNote(r, notifications.TypePositiveReply))
			}
		case ClassUnsubscribe:
			if s.sender != nil {
				if err := s.sender.UnsubscribeInTx(ctx, tx, org, lead, "classification"); err != nil {
					return nil, err
				}
			}
		case ClassOutOfOffice:
			if r.ReturnDate != nil && s.sender != nil {
				if _, err := s.sender.DeferInTx(ctx, tx, org, lead, *r.ReturnDate); err != nil {
					return nil, err
				}
			}
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
	if len(threads) > 0 {
		// A thread shows its latest classified inbound message's class.
		if _, err := tx.ExecContext(ctx, `UPDATE inbox_threads t SET classification = (
				SELECT i.classification FROM inbox_messages i WHERE i.org_id = t.org_id AND i.inbox_thread_id = t.id
				AND i.direction = 'inbound' AND i.classification IS NOT NULL ORDER BY i.received_at DESC, i.id DESC LIMIT 1), updated_at = now()
			WHERE t.org_id = ? AND t.id = ANY(?::uuid[])`, org, pgdialect.Array(threads)); err != nil {
			return nil, fmt.Errorf("inbox: thread classes: %w", database.Interpret(err))
		}
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
