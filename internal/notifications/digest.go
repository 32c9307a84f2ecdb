package notifications

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/mailer"
)

// Digest defaults.
const (
	DefaultDigestHour   = 8
	DefaultDigestLatest = 5
	DefaultDigestBatch  = 500
	// digestFirstPeriod is what a member's first digest covers.
	digestFirstPeriod = 24 * time.Hour
	// digestMaxPeriod bounds a digest's period after a long gap (a worker
	// down for days, a preference off and on again).
	digestMaxPeriod = 7 * 24 * time.Hour
	// digestKeepDays is how long decisions are kept; only the latest one
	// matters (where the next period starts).
	digestKeepDays     = 60
	digestSnippetRunes = 160
	digestMaxApprovals = 10
)

// DigestOptions configures a Digester. Zero values take the defaults.
type DigestOptions struct {
	// AppURL is the app's address (PUBLIC_URL, as invites use), for the
	// links in the mail. Required.
	AppURL string
	// Hour is the local hour from which a day's digest is due, 1 to 23.
	// Default (and for any other value) DefaultDigestHour, 08:00.
	Hour int
	// Latest is how many of the latest replies the digest lists. Default
	// DefaultDigestLatest.
	Latest int
	// Batch is how many members one scan reads. Default DefaultDigestBatch.
	Batch int
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives a line per member whose digest failed. Default
	// slog.Default().
	Logger *slog.Logger
}

// Digester decides and sends daily digests.
type Digester struct {
	db   *database.DB
	mail mailer.Mailer
	opt  DigestOptions
}

// NewDigester returns a Digester that reads and records through db (the
// RLS-bound app role is enough: the cross-organisation scan is the
// SECURITY DEFINER maint_daily_digests_due) and mails through m.
func NewDigester(db *database.DB, m mailer.Mailer, o DigestOptions) *Digester {
	if m == nil {
		panic("notifications: NewDigester: mailer is nil")
	}
	if o.Hour <= 0 || o.Hour > 23 {
		o.Hour = DefaultDigestHour
	}
	if o.Latest <= 0 {
		o.Latest = DefaultDigestLatest
	}
	if o.Batch <= 0 {
		o.Batch = DefaultDigestBatch
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.AppURL = strings.TrimRight(o.AppURL, "/")
	return &Digester{db: db, mail: m, opt: o}
}

// DigestRun counts what a run did with the members it found due.
type DigestRun struct {
	// Due is how many members the scan found due.
	Due int
	// Sent digests were mailed and recorded.
	Sent int
	// Empty days had nothing to say: recorded, nothing sent.
	Empty int
	// Skipped members were decided by someone else first (another
	// worker), or turned the preference off meanwhile.
	Skipped int
	// Failed members' decisions rolled back (the mailer refused, the
	// database failed); the next run tries them again.
	Failed int
}

// Run decides the digest of every member of every organisation that is
// due now. It goes on past a member that fails and returns the failures
// joined, with the counts of everything it did.
func (d *Digester) Run(ctx context.Context) (DigestRun, error) {
	return d.run(ctx, uuid.Nil)
}

// RunOrg is Run for one organisation's members.
func (d *Digester) RunOrg(ctx context.Context, org uuid.UUID) (DigestRun, error) {
	if org == uuid.Nil {
		return DigestRun{}, errors.New("notifications: digest: no organisation")
	}
	return d.run(ctx, org)
}

type dueMember struct {
	OrgID    uuid.UUID `bun:"org_id,type:uuid"`
	UserID   uuid.UUID `bun:"user_id,type:uuid"`
	Timezone string    `bun:"timezone"`
	LocalDay time.Time `bun:"local_day"`
}

func (d *Digester) run(ctx context.Context, org uuid.UUID) (DigestRun, error) {
	var out DigestRun
	var errs []error
	now := d.opt.Now()
	var afterOrg, afterUser any // the keyset cursor; NULL at the start
	for {
		var due []dueMember
		err := d.db.Bun.NewRaw(`SELECT org_id, user_id, timezone, local_day FROM maint_daily_digests_due(?, ?, ?, ?, ?, ?)`,
			now, d.opt.Hour, nullID(org), afterOrg, afterUser, d.opt.Batch).Scan(ctx, &due)
		if err != nil {
			return out, errors.Join(append(errs, fmt.Errorf("notifications: digest: scan: %w", database.Interpret(err)))...)
		}
		for _, m := range due {
			out.Due++
			outcome, err := d.decide(ctx, m)
			switch {
			case err != nil:
				out.Failed++
				d.opt.Logger.WarnContext(ctx, "daily digest failed", slog.String("org_id", m.OrgID.String()),
					slog.String("user_id", m.UserID.String()), slog.Any("error", err))
				if len(errs) < 10 {
					errs = append(errs, err)
				}
			case outcome == outcomeSent:
				out.Sent++
			case outcome == outcomeEmpty:
				out.Empty++
			default:
				out.Skipped++
			}
			if ctx.Err() != nil {
				return out, errors.Join(append(errs, ctx.Err())...)
			}
		}
		if len(due) < d.opt.Batch {
			return out, errors.Join(errs...)
		}
		last := due[len(due)-1]
		afterOrg, afterUser = last.OrgID, last.UserID
	}
}

const (
	outcomeSent     = "sent"
	outcomeEmpty    = "empty"
	outcomeOptedOut = "opted_out"
	outcomeTaken    = "" // decided by another worker: no row of ours
)

// decide decides m's day in one transaction (see the package comment on
// digests) and returns the outcome.
func (d *Digester) decide(ctx context.Context, m dueMember) (string, error) {
	loc, err := time.LoadLocation(m.Timezone)
	if err != nil {
		loc = time.UTC
	}
	day := time.Date(m.LocalDay.Year(), m.LocalDay.Month(), m.LocalDay.Day(), 0, 0, 0, 0, loc)
	dayText := day.Format(time.DateOnly)
	outcome := outcomeTaken
	err = d.db.InTenant(ctx, database.Tenant{OrgID: m.OrgID}, func(ctx context.Context, tx bun.IDB) error {
		until := d.opt.Now()
		since := until.Add(-digestFirstPeriod)
		var prev []time.Time
		if err := tx.NewRaw(`SELECT period_end FROM daily_digests WHERE org_id = ? AND user_id = ? AND local_day < ?::date
			ORDER BY local_day DESC LIMIT 1`, m.OrgID, m.UserID, dayText).Scan(ctx, &prev); err != nil {
			return fmt.Errorf("previous digest: %w", err)
		}
		if len(prev) == 1 {
			since = prev[0]
			if floor := until.Add(-digestMaxPeriod); since.Before(floor) {
				since = floor
			}
		}
		if since.After(until) {
			since = until
		}
		// The guard: a concurrent decision of the same day waits here for
		// the other transaction, then finds its row (or, if it rolled
		// back, takes over).
		var claimed []bool
		if err := tx.NewRaw(`INSERT INTO daily_digests (org_id, user_id, local_day, period_start, period_end, outcome, created_at)
			VALUES (?, ?, ?::date, ?, ?, 'empty', ?) ON CONFLICT DO NOTHING RETURNING true`,
			m.OrgID, m.UserID, dayText, since, until, until).Scan(ctx, &claimed); err != nil {
			return fmt.Errorf("claim: %w", err)
		}
		if len(claimed) == 0 {
			return nil
		}
		if _, err := tx.NewRaw(`DELETE FROM daily_digests WHERE org_id = ? AND user_id = ? AND local_day < ?::date - ?::integer`,
			m.OrgID, m.UserID, dayText, digestKeepDays).Exec(ctx); err != nil {
			return fmt.Errorf("forget old digests: %w", err)
		}
		g, err := d.compose(ctx, tx, m.OrgID, m.UserID, since, until, loc)
		if err != nil {
			return err
		}
		g.Day = day
		if !g.HasNews() {
			outcome = outcomeEmpty
			return nil
		}
		ids, err := Notify(ctx, tx, m.OrgID, New{Type: TypeDailyDigest, Title: g.Title(), Message: g.Summary(),
			ActionURL: "/inbox", Users: []uuid.UUID{m.UserID}, At: until})
		if err != nil {
			return err
		}
		if len(ids) == 0 { // the preference went off since the scan
			outcome = outcomeOptedOut
			_, err := tx.NewRaw(`UPDATE daily_digests SET outcome = 'opted_out' WHERE org_id = ? AND user_id = ? AND local_day = ?::date`,
				m.OrgID, m.UserID, dayText).Exec(ctx)
			return err
		}
		if _, err := tx.NewRaw(`UPDATE daily_digests SET outcome = 'sent', notification_id = ? WHERE org_id = ? AND user_id = ? AND local_day = ?::date`,
			ids[0], m.OrgID, m.UserID, dayText).Exec(ctx); err != nil {
			return fmt.Errorf("record: %w", err)
		}
		if err := d.mail.Send(ctx, g.Message(d.opt.AppURL)); err != nil {
			return fmt.Errorf("mail: %w", err)
		}
		outcome = outcomeSent
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("notifications: digest of %s in %s for %s: %w", m.UserID, m.OrgID, dayText, database.Interpret(err))
	}
	return outcome, nil
}

// Digest is one member's summary of an organisation over [Since, Until).
type Digest struct {
	OrgID    uuid.UUID
	OrgName  string
	UserID   uuid.UUID
	UserName string
	Email    string
	// Day is the local day the digest is for (midnight in Location); zero
	// for a summary composed outside a run.
	Day      time.Time
	Location *time.Location
	Since    time.Time
	Until    time.Time

	// Replies are inbound replies and auto-replies matched to a lead;
	// PositiveReplies those of them classified interested.
	Replies         int
	PositiveReplies int
	// Bounces are the bounce reports that reached the inbox.
	Bounces int
	// MessagesSent are the messages that left (sent_at) in the period.
	MessagesSent int
	// LatestReplies are the newest replies, newest first (Latest of them).
	LatestReplies      []DigestReply
	CampaignsPaused    []DigestCampaign
	CampaignsCompleted []DigestCampaign
	// Approvals are the member's unread approval_needed notifications
	// (owners and admins get them), newest first; NewApprovals how many
	// of them were raised or refreshed in the period.
	Approvals    []DigestApproval
	NewApprovals int
	// UnreadNotifications counts the member's unread notifications, the
	// digests themselves apart.
	UnreadNotifications int
}

// DigestReply is one reply a digest lists.
type DigestReply struct {
	InboxMessageID uuid.UUID
	LeadID         uuid.UUID
	LeadName       string
	LeadAddress    string // the lead's email, else the sender's address
	// Classification is empty while unclassified.
	Classification string
	AutoReply      bool
	Snippet        string
	At             time.Time
}

// DigestCampaign is a campaign the engine paused or completed.
type DigestCampaign struct {
	CampaignID uuid.UUID
	Name       string
	// Reason is why it was paused (settings.pause_reason), if known.
	Reason string
	At     time.Time
}

// DigestApproval is a campaign waiting for the member's approval.
type DigestApproval struct {
	CampaignID uuid.UUID
	Title      string
	Message    string
	At         time.Time
}

// HasNews reports whether something happened in the period. Standing
// state alone (unread notifications, approvals already asked for) is not
// news: a digest repeating it every day would teach people to ignore it.
func (g Digest) HasNews() bool {
	return g.Replies+g.Bounces+g.MessagesSent+len(g.CampaignsPaused)+len(g.CampaignsCompleted)+g.NewApprovals > 0
}

// Compose returns userID's summary of org over [since, until), read in
// org's tenant context; loc (nil: UTC) is the zone its times are shown in.
func (d *Digester) Compose(ctx context.Context, org, userID uuid.UUID, since, until time.Time, loc *time.Location) (Digest, error) {
	var g Digest
	err := d.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) (err error) {
		g, err = d.compose(ctx, tx, org, userID, since, until, loc)
		return err
	})
	if err != nil {
		return Digest{}, fmt.Errorf("notifications: compose digest: %w", database.Interpret(err))
	}
	return g, nil
}

// digestCountsSQL counts the period's inbound mail: replies (people and
// auto-replies) matched to a lead, the interested ones, and bounce
// reports.
const digestCountsSQL = `SELECT
  count(*) FILTER (WHERE kind IN ('reply', 'auto_reply') AND lead_id IS NOT NULL) AS replies,
  count(*) FILTER (WHERE kind IN ('reply', 'auto_reply') AND lead_id IS NOT NULL AND classification = 'interested') AS positive,
  count(*) FILTER (WHERE kind = 'bounce') AS bounces,
  (SELECT count(*) FROM messages WHERE org_id = ?0 AND sent_at >= ?1 AND sent_at < ?2) AS sent
FROM inbox_messages
WHERE org_id = ?0 AND direction = 'inbound' AND created_at >= ?1 AND created_at < ?2`

// digestRepliesSQL lists the period's newest replies with their leads.
const digestRepliesSQL = `SELECT i.id, i.lead_id, l.full_name, coalesce(l.email, i.from_address) AS address,
       coalesce(i.classification, '') AS classification, i.kind = 'auto_reply' AS auto_reply,
       coalesce(nullif(i.snippet, ''), left(i.clean_text, 400), left(i.body_text, 400), '') AS snippet, i.created_at
  FROM inbox_messages i
  JOIN leads l ON l.org_id = i.org_id AND l.id = i.lead_id
 WHERE i.org_id = ?0 AND i.direction = 'inbound' AND i.kind IN ('reply', 'auto_reply')
   AND i.created_at >= ?1 AND i.created_at < ?2
 ORDER BY i.created_at DESC, i.id DESC
 LIMIT ?3`

// digestCampaignsSQL lists the campaigns the engine paused or completed in
// the period, by their events, with the campaign's current name (or the
// one the event recorded, if it is gone).
const digestCampaignsSQL = `SELECT e.type, e.object_id, coalesce(c.name, e.data->>'name', '') AS name,
       coalesce(e.data->'settings'->>'pause_reason', '') AS reason, e.occurred_at
  FROM events e
  LEFT JOIN campaigns c ON c.org_id = e.org_id AND c.id = e.object_id
 WHERE e.org_id = ?0 AND e.type IN ('campaign.paused', 'campaign.completed')
   AND e.occurred_at >= ?1 AND e.occurred_at < ?2
 ORDER BY e.occurred_at, e.id`

func (d *Digester) compose(ctx context.Context, tx bun.IDB, org, userID uuid.UUID, since, until time.Time, loc *time.Location) (Digest, error) {
	if loc == nil {
		loc = time.UTC
	}
	g := Digest{OrgID: org, UserID: userID, Location: loc, Since: since, Until: until}
	if err := tx.NewRaw(`SELECT o.name, u.full_name, u.email FROM organizations o
		JOIN memberships m ON m.org_id = o.id JOIN users u ON u.id = m.user_id
		WHERE o.id = ? AND m.user_id = ?`, org, userID).Scan(ctx, &g.OrgName, &g.UserName, &g.Email); err != nil {
		return Digest{}, fmt.Errorf("member %s: %w", userID, err)
	}
	if err := tx.NewRaw(digestCountsSQL, org, since, until).Scan(ctx, &g.Replies, &g.PositiveReplies, &g.Bounces, &g.MessagesSent); err != nil {
		return Digest{}, fmt.Errorf("counts: %w", err)
	}
	var replies []struct {
		ID             uuid.UUID `bun:"id,type:uuid"`
		LeadID         uuid.UUID `bun:"lead_id,type:uuid"`
		FullName       string    `bun:"full_name"`
		Address        string    `bun:"address"`
		Classification string    `bun:"classification"`
		AutoReply      bool      `bun:"auto_reply"`
		Snippet        string    `bun:"snippet"`
		CreatedAt      time.Time `bun:"created_at"`
	}
	if err := tx.NewRaw(digestRepliesSQL, org, since, until, d.opt.Latest).Scan(ctx, &replies); err != nil {
		return Digest{}, fmt.Errorf("latest replies: %w", err)
	}
	for _, r := range replies {
		g.LatestReplies = append(g.LatestReplies, DigestReply{InboxMessageID: r.ID, LeadID: r.LeadID, LeadName: strings.TrimSpace(r.FullName),
			LeadAddress: r.Address, Classification: r.Classification, AutoReply: r.AutoReply, Snippet: oneLine(r.Snippet, digestSnippetRunes), At: r.CreatedAt})
	}
	var camps []struct {
		Type       string    `bun:"type"`
		ObjectID   uuid.UUID `bun:"object_id,type:uuid"`
		Name       string    `bun:"name"`
		Reason     string    `bun:"reason"`
		OccurredAt time.Time `bun:"occurred_at"`
	}
	if err := tx.NewRaw(digestCampaignsSQL, org, since, until).Scan(ctx, &camps); err != nil {
		return Digest{}, fmt.Errorf("campaigns: %w", err)
	}
	for _, c := range camps {
		dc := DigestCampaign{CampaignID: c.ObjectID, Name: c.Name, Reason: c.Reason, At: c.OccurredAt}
		if c.Type == "campaign.paused" {
			g.CampaignsPaused = append(g.CampaignsPaused, dc)
		} else {
			g.CampaignsCompleted = append(g.CampaignsCompleted, dc)
		}
	}
	var approvals []struct {
		CampaignID uuid.UUID `bun:"campaign_id,type:uuid"`
		Title      string    `bun:"title"`
		Message    string    `bun:"message"`
		CreatedAt  time.Time `bun:"created_at"`
	}
	if err := tx.NewRaw(`SELECT campaign_id, title, coalesce(message, '') AS message, created_at FROM notifications
		WHERE org_id = ? AND user_id = ? AND type = 'approval_needed' AND NOT is_read AND created_at < ?
		ORDER BY created_at DESC, id DESC LIMIT ?`, org, userID, until, digestMaxApprovals).Scan(ctx, &approvals); err != nil {
		return Digest{}, fmt.Errorf("approvals: %w", err)
	}
	for _, a := range approvals {
		g.Approvals = append(g.Approvals, DigestApproval{CampaignID: a.CampaignID, Title: a.Title, Message: a.Message, At: a.CreatedAt})
		if !a.CreatedAt.Before(since) {
			g.NewApprovals++
		}
	}
	unread, err := visible(tx, access.Actor{OrgID: org, UserID: userID}, (*row)(nil)).
		Where("NOT is_read AND type <> ?", TypeDailyDigest).Count(ctx)
	if err != nil {
		return Digest{}, fmt.Errorf("unread: %w", err)
	}
	g.UnreadNotifications = int(unread)
	return g, nil
}

// oneLine folds s onto one line and cuts it to n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

// Title is the digest's headline: the notification's title and the mail's
// subject after the organisation's name.
func (g Digest) Title() string {
	var parts []string
	if g.Replies > 0 {
		p := plural(g.Replies, "reply", "replies")
		if g.PositiveReplies > 0 {
			p += fmt.Sprintf(" (%d positive)", g.PositiveReplies)
		}
		parts = append(parts, p)
	}
	if g.Bounces > 0 {
		parts = append(parts, plural(g.Bounces, "bounce", "bounces"))
	}
	if g.MessagesSent > 0 {
		parts = append(parts, plural(g.MessagesSent, "message", "messages")+" sent")
	}
	if n := len(g.CampaignsPaused); n > 0 {
		parts = append(parts, plural(n, "campaign", "campaigns")+" paused")
	}
	if n := len(g.CampaignsCompleted); n > 0 {
		parts = append(parts, plural(n, "campaign", "campaigns")+" completed")
	}
	if g.NewApprovals > 0 {
		parts = append(parts, plural(g.NewApprovals, "approval request", "approval requests"))
	}
	if len(parts) == 0 {
		return "Daily digest: nothing new"
	}
	return "Daily digest: " + strings.Join(parts, ", ")
}

// Summary is the digest as plain text without greeting or links: the
// notification's message, and the heart of the mail.
func (g Digest) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Since %s:\n\n", g.Since.In(g.Location).Format("Monday 2 January, 15:04 MST"))
	fmt.Fprintf(&b, "Replies received: %d", g.Replies)
	if g.Replies > 0 {
		fmt.Fprintf(&b, " (%d positive)", g.PositiveReplies)
	}
	fmt.Fprintf(&b, "\nBounces: %d\nMessages sent: %d\n", g.Bounces, g.MessagesSent)
	campaigns := func(what string, cs []DigestCampaign) {
		if len(cs) == 0 {
			return
		}
		fmt.Fprintf(&b, "Campaigns %s: %d\n", what, len(cs))
		for _, c := range cs {
			fmt.Fprintf(&b, "  - %s", c.Name)
			if c.Reason != "" {
				fmt.Fprintf(&b, " (%s)", strings.ReplaceAll(c.Reason, "_", " "))
			}
			b.WriteString("\n")
		}
	}
	campaigns("paused", g.CampaignsPaused)
	campaigns("completed", g.CampaignsCompleted)
	if len(g.Approvals) > 0 {
		fmt.Fprintf(&b, "Awaiting your approval: %d %s\n", len(g.Approvals), pluralWord(len(g.Approvals), "campaign", "campaigns"))
		for _, a := range g.Approvals {
			fmt.Fprintf(&b, "  - %s: %s\n", strings.TrimPrefix(a.Title, "Approval needed: "), a.Message)
		}
	}
	fmt.Fprintf(&b, "Unread notifications: %d\n", g.UnreadNotifications)
	if len(g.LatestReplies) > 0 {
		b.WriteString("\nLatest replies:\n")
		for _, r := range g.LatestReplies {
			who := r.LeadAddress
			if r.LeadName != "" {
				who = r.LeadName + " <" + r.LeadAddress + ">"
			}
			class := r.Classification
			if class == "" {
				class = "not classified yet"
			}
			class = strings.ReplaceAll(class, "_", " ")
			if r.AutoReply {
				class = "auto-reply, " + class
			}
			fmt.Fprintf(&b, "  - %s: %s\n", who, class)
			if r.Snippet != "" {
				fmt.Fprintf(&b, "    %q\n", r.Snippet)
			}
		}
	}
	return b.String()
}

// Message is the digest as a mail to the member, with links into the app
// at appURL.
func (g Digest) Message(appURL string) mailer.Message {
	appURL = strings.TrimRight(appURL, "/")
	hello := "Hello,"
	if name := strings.TrimSpace(g.UserName); name != "" {
		hello = "Hello " + name + ","
	}
	day := g.Until.In(g.Location)
	if !g.Day.IsZero() {
		day = g.Day
	}
	return mailer.Message{
		To:      g.Email,
		Subject: fmt.Sprintf("%s: %s (%s)", g.OrgName, g.Title(), day.Format("2 January 2006")),
		Text: hello + "\n\n" +
			"Here is your LeadPilot digest for " + g.OrgName + ". " + g.Summary() + "\n" +
			"Open your inbox: " + appURL + "/inbox\n\n" +
			"You get this digest once a day because it is on in your notification settings;\n" +
			"turn it off there: " + appURL + "/settings/notifications\n",
	}
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
