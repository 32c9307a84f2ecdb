package inbox

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/leadpilot/leadpilot/internal/bounce"
	"github.com/leadpilot/leadpilot/internal/mailparse"
)

// analysis is what ingest needs to know of one raw email: its headers and
// text (mailparse), whether it is an auto-reply, and whether it is a
// delivery report or complaint (bounce).
type analysis struct {
	MessageID, InReplyTo string
	References           []string
	From, FromName, To   string
	Subject              string
	Date                 time.Time
	Text, HTML, Clean    string
	Snippet              string
	Attachments          []Attachment

	Auto        bool
	AutoReason  string
	OutOfOffice bool
	ReturnDate  time.Time

	// report is the bounce or complaint report (nil: neither); Report is
	// what is stored of it.
	report *bounce.Report
	Report *BounceReport
}

// analyse reads raw. It never fails: what cannot be parsed is kept as far
// as it could be read (an unreadable message is still stored, from
// "unknown" if it must be, so nothing that arrived is lost).
func analyse(raw []byte) analysis {
	var a analysis
	m, err := mailparse.Parse(raw)
	if err == nil && m != nil {
		a.MessageID, a.InReplyTo, a.References = m.MessageID, m.InReplyTo, m.References
		a.From, a.FromName = strings.ToLower(m.From.Address), m.From.Name
		if len(m.To) > 0 {
			a.To = strings.ToLower(m.To[0].Address)
		}
		a.Subject, a.Date = m.Subject, m.Date
		a.Text, a.HTML, a.Clean, a.Snippet = m.Text, m.HTML, m.Clean, m.Snippet
		for _, at := range m.Attachments {
			a.Attachments = append(a.Attachments, Attachment{Filename: at.Filename, ContentType: at.ContentType, Size: at.Size})
		}
		a.Auto, a.AutoReason, a.OutOfOffice, a.ReturnDate = m.AutoReply.Is, m.AutoReply.Reason, m.AutoReply.OutOfOffice, m.AutoReply.ReturnDate
	}
	if r := bounce.Detect(raw); r != nil {
		a.report = r
		rep := &BounceReport{Format: r.Format, FeedbackType: r.FeedbackType, Recipients: []BounceRecipient{}}
		if r.OriginalMessageID != "" {
			id := r.OriginalMessageID
			rep.OriginalMessageID = &id
		}
		for _, rc := range r.Recipients {
			rep.Recipients = append(rep.Recipients, BounceRecipient{Address: rc.Address, Status: rc.Status, Action: rc.Action, Diagnostic: rc.Diagnostic, Hard: rc.Hard})
		}
		a.Report = rep
		// A report is not an out-of-office, whatever its text says.
		a.Auto, a.OutOfOffice, a.ReturnDate = false, false, time.Time{}
	}
	if !a.ReturnDate.IsZero() {
		a.ReturnDate = time.Date(a.ReturnDate.Year(), a.ReturnDate.Month(), a.ReturnDate.Day(), 0, 0, 0, 0, time.UTC)
	}
	a.storable()
	return a
}

// maxIDBytes bounds a Message-ID as stored: it is in a unique index,
// whose rows Postgres caps near 2.7 kB.
const maxIDBytes = 500

// storable makes every string Postgres can store: no NUL bytes (text and
// jsonb refuse them; "=00" in a quoted-printable body makes one), valid
// UTF-8, and ids short enough for their indexes (a longer one is replaced
// by its hash). One unstorable email must never stop its mailbox's sync.
func (a *analysis) storable() {
	for _, p := range []*string{&a.MessageID, &a.InReplyTo, &a.From, &a.FromName, &a.To, &a.Subject, &a.Text, &a.HTML, &a.Clean, &a.Snippet, &a.AutoReason} {
		*p = clean(*p)
	}
	for i := range a.References {
		a.References[i] = clean(a.References[i])
	}
	a.MessageID, a.InReplyTo = shortID(a.MessageID), shortID(a.InReplyTo)
	for i := range a.Attachments {
		a.Attachments[i].Filename, a.Attachments[i].ContentType = clean(a.Attachments[i].Filename), clean(a.Attachments[i].ContentType)
	}
	if r := a.Report; r != nil {
		r.Format, r.FeedbackType = clean(r.Format), clean(r.FeedbackType)
		if r.OriginalMessageID != nil {
			id := clean(*r.OriginalMessageID)
			r.OriginalMessageID = &id
		}
		for i := range r.Recipients {
			rc := &r.Recipients[i]
			rc.Address, rc.Status, rc.Action, rc.Diagnostic = clean(rc.Address), clean(rc.Status), clean(rc.Action), clean(rc.Diagnostic)
		}
	}
}

func clean(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

func shortID(id string) string {
	if len(id) <= maxIDBytes {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "sha256-" + hex.EncodeToString(sum[:16]) + "@long-message-id.invalid"
}

// kind is what the message is.
func (a analysis) kind() string {
	switch {
	case a.report != nil && a.report.Kind == bounce.KindComplaint:
		return KindComplaint
	case a.report != nil && a.report.Kind == bounce.KindBounce:
		return KindBounce
	case a.report != nil, a.Auto:
		// A delay warning is an automatic message, not a failure.
		return KindAutoReply
	}
	return KindReply
}

// candidates are the Message-IDs that can name our message: In-Reply-To,
// then References newest first, then a report's original message.
func (a analysis) candidates() []string {
	var out []string
	add := func(id string) {
		if id = shortID(clean(strings.Trim(strings.TrimSpace(id), "<>"))); id != "" {
			out = append(out, id)
		}
	}
	add(a.InReplyTo)
	for i := len(a.References) - 1; i >= 0; i-- {
		add(a.References[i])
	}
	if a.report != nil {
		add(a.report.OriginalMessageID)
	}
	return out
}

// addresses are the addresses that can name the lead: a report's failed
// recipients (or the complained-about recipient), else the sender.
func (a analysis) addresses() []string {
	if a.report != nil {
		var out []string
		for _, r := range a.report.Recipients {
			out = append(out, clean(strings.ToLower(r.Address)))
		}
		if a.report.OriginalTo != "" {
			out = append(out, clean(strings.ToLower(a.report.OriginalTo)))
		}
		return out
	}
	if a.From == "" {
		return nil
	}
	return []string{a.From}
}

// rules classifies what needs no LLM: reports and auto-replies. An empty
// class leaves the message to the LLM.
func (a analysis) rules() (class string, confidence float64, reason string) {
	switch {
	case a.report != nil && a.report.Kind == bounce.KindComplaint:
		ft := a.report.FeedbackType
		if ft == "" {
			ft = "abuse"
		}
		return ClassUnsubscribe, 1, fmt.Sprintf("abuse complaint (%s report, feedback type %s): the recipient marked our email as spam", a.report.Format, ft)
	case a.report != nil && a.report.Kind == bounce.KindBounce:
		return ClassBounce, 1, "delivery failed: " + a.bounceWords()
	case a.report != nil:
		return ClassOther, 0.9, "delivery delayed (a warning, not a failure): " + a.bounceWords()
	case a.OutOfOffice:
		reason := "out-of-office auto-reply (" + a.AutoReason + ")"
		if !a.ReturnDate.IsZero() {
			reason += "; back on " + a.ReturnDate.Format(time.DateOnly)
		}
		return ClassOutOfOffice, 0.95, reason
	case a.Auto:
		return ClassOther, 0.9, "automatic reply (" + a.AutoReason + ")"
	}
	return "", 0, ""
}

// bounceWords says which recipients failed and why.
func (a analysis) bounceWords() string {
	var parts []string
	for _, r := range a.report.Recipients {
		p := r.Address
		if r.Status != "" {
			p += " " + r.Status
		}
		if r.Hard {
			p += " (permanent)"
		} else {
			p += " (temporary)"
		}
		if d := strings.TrimSpace(r.Diagnostic); d != "" {
			if r := []rune(d); len(r) > 200 {
				d = string(r[:200]) + "…"
			}
			p += ": " + d
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return a.report.Format + " report without a recipient"
	}
	return strings.Join(parts, "; ")
}
