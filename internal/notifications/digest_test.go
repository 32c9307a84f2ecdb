package notifications_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // zones resolve even where the OS has no zoneinfo

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/mailer"
	"github.com/leadpilot/leadpilot/internal/notifications"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

const appURL = "https://app.leadpilot.test"

// digestFixture inserts rows as the owner (row-level security does not
// bind it) into one organisation.
type digestFixture struct {
	t     *testing.T
	owner *database.DB
	org   uuid.UUID
	camp  uuid.UUID
	name  string
}

func (f digestFixture) exec(sql string, args ...any) {
	f.t.Helper()
	_, err := f.owner.Pool.Exec(context.Background(), sql, args...)
	require.NoError(f.t, err)
}

func (f digestFixture) count(sql string, args ...any) int {
	f.t.Helper()
	var n int
	require.NoError(f.t, f.owner.Pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// newOrg makes an organisation in time zone tz with a campaign.
func newOrg(t *testing.T, tz string) digestFixture {
	t.Helper()
	f := digestFixture{t: t, owner: testkit.OwnerDB(t), org: uuid.Must(uuid.NewV7()), camp: uuid.Must(uuid.NewV7())}
	f.name = "Org " + f.org.String()[24:] // the random end of a UUIDv7
	f.exec(`INSERT INTO organizations (id, name, slug, settings) VALUES ($1, $2, $3, jsonb_build_object('timezone', $4::text))`,
		f.org, f.name, "d-"+f.org.String(), tz)
	f.exec(`INSERT INTO campaigns (id, org_id, name, source) VALUES ($1, $2, 'Spring outreach', 'manual')`, f.camp, f.org)
	return f
}

type memberOpt struct {
	role       string
	digestOff  bool
	unverified bool
}

// member adds a new user to the organisation and returns its id and
// address.
func (f digestFixture) member(o memberOpt) (uuid.UUID, string) {
	f.t.Helper()
	id := uuid.Must(uuid.NewV7())
	email := "d-" + id.String() + "@example.com"
	if o.role == "" {
		o.role = "member"
	}
	prefs := `{"daily_digest": true, "email_replies": true}`
	if o.digestOff {
		prefs = `{"daily_digest": false}`
	}
	verified := any(time.Now())
	if o.unverified {
		verified = nil
	}
	f.exec(`INSERT INTO users (id, email, password_hash, full_name, notification_preferences, email_verified_at) VALUES ($1, $2, 'x', 'Ann Example', $3, $4)`,
		id, email, prefs, verified)
	f.join(id, o.role)
	return id, email
}

func (f digestFixture) join(user uuid.UUID, role string) {
	f.t.Helper()
	f.exec(`INSERT INTO memberships (id, org_id, user_id, role) VALUES ($1, $2, $3, $4)`, uuid.Must(uuid.NewV7()), f.org, user, role)
}

func (f digestFixture) lead(first, last, email string) uuid.UUID {
	f.t.Helper()
	id := uuid.Must(uuid.NewV7())
	f.exec(`INSERT INTO leads (id, org_id, campaign_id, email, first_name, last_name) VALUES ($1, $2, $3, $4, $5, $6)`, id, f.org, f.camp, email, first, last)
	return id
}

type inbound struct {
	lead           uuid.UUID // uuid.Nil: unmatched
	kind           string
	classification string
	snippet        string
	at             time.Time
	direction      string
}

func (f digestFixture) inbox(m inbound) uuid.UUID {
	f.t.Helper()
	id := uuid.Must(uuid.NewV7())
	if m.direction == "" {
		m.direction = "inbound"
	}
	var class, lead any
	if m.classification != "" {
		class = m.classification
	}
	if m.lead != uuid.Nil {
		lead = m.lead
	}
	f.exec(`INSERT INTO inbox_messages (id, org_id, lead_id, channel, direction, from_address, to_address, snippet, kind, classification, received_at, created_at)
		VALUES ($1, $2, $3, 'email', $4, 'someone@example.net', 'us@example.com', $5, $6, $7, $8, $8)`,
		id, f.org, lead, m.direction, m.snippet, m.kind, class, m.at)
	return id
}

func (f digestFixture) sent(lead uuid.UUID, step int, at *time.Time) {
	f.t.Helper()
	status := "scheduled"
	if at != nil {
		status = "sent"
	}
	f.exec(`INSERT INTO messages (id, org_id, campaign_id, lead_id, channel, step, body_text, status, sent_at)
		VALUES ($1, $2, $3, $4, 'email', $5, 'Hi', $6, $7)`, uuid.Must(uuid.NewV7()), f.org, f.camp, lead, step, status, at)
}

func (f digestFixture) event(typ string, data string, at time.Time) {
	f.t.Helper()
	f.exec(`INSERT INTO events (id, org_id, type, object_type, object_id, data, occurred_at) VALUES ($1, $2, $3, 'campaign', $4, $5, $6)`,
		uuid.Must(uuid.NewV7()), f.org, typ, f.camp, data, at)
}

func (f digestFixture) notification(user *uuid.UUID, typ, title string, read bool, at time.Time) {
	f.t.Helper()
	var camp any
	if typ == notifications.TypeApprovalNeeded {
		camp = f.camp
	}
	f.exec(`INSERT INTO notifications (id, org_id, user_id, type, title, message, campaign_id, is_read, created_at) VALUES ($1, $2, $3, $4, $5, 'm', $6, $7, $8)`,
		uuid.Must(uuid.NewV7()), f.org, user, typ, title, camp, read, at)
}

// digests returns the user's daily_digests rows' outcomes, oldest first.
func (f digestFixture) outcomes(user uuid.UUID) []string {
	f.t.Helper()
	rows, err := f.owner.Pool.Query(context.Background(), `SELECT outcome FROM daily_digests WHERE org_id = $1 AND user_id = $2 ORDER BY local_day`, f.org, user)
	require.NoError(f.t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(f.t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(f.t, rows.Err())
	return out
}

func (f digestFixture) digestNotifications(user uuid.UUID) int {
	return f.count(`SELECT count(*) FROM notifications WHERE org_id = $1 AND user_id = $2 AND type = 'daily_digest'`, f.org, user)
}

// to returns the caught mails to address.
func to(c *mailer.Catcher, address string) []mailer.Caught {
	var out []mailer.Caught
	for _, m := range c.Messages() {
		if m.To == address {
			out = append(out, m)
		}
	}
	return out
}

func newDigester(t *testing.T, m mailer.Mailer, c *testkit.Clock, latest int) *notifications.Digester {
	t.Helper()
	return notifications.NewDigester(testkit.DB(t), m, notifications.DigestOptions{AppURL: appURL + "/", Now: c.Now, Latest: latest})
}

// failingMailer refuses every mail.
type failingMailer struct{}

func (failingMailer) Send(context.Context, mailer.Message) error { return errors.New("relay down") }

// slowMailer holds each mail for a while before the catcher takes it, so
// the deciding transaction stays open while others try the same day.
type slowMailer struct{ *mailer.Catcher }

func (s slowMailer) Send(ctx context.Context, m mailer.Message) error {
	time.Sleep(150 * time.Millisecond)
	return s.Catcher.Send(ctx, m)
}

func TestDigest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// 10 March 2031, a Monday; UTC organisations are due from 08:00.
	day := time.Date(2031, 3, 10, 0, 0, 0, 0, time.UTC)

	t.Run("AMemberWithThePreferenceOffGetsNothing", func(t *testing.T) {
		t.Parallel()
		f := newOrg(t, "UTC")
		on, onAddr := f.member(memberOpt{})
		off, offAddr := f.member(memberOpt{digestOff: true})
		_, unverifiedAddr := f.member(memberOpt{unverified: true})
		l := f.lead("Jane", "Doe", "jane@example.org")
		f.inbox(inbound{lead: l, kind: "reply", classification: "interested", snippet: "Yes please", at: day.Add(7 * time.Hour)})

		c := testkit.NewClock(day.Add(9 * time.Hour))
		catcher := mailer.NewCatcher(100, nil)
		run, err := newDigester(t, catcher, c, 0).RunOrg(ctx, f.org)
		require.NoError(t, err)
		require.Equal(t, notifications.DigestRun{Due: 1, Sent: 1}, run, "only the member who wants it, with a verified address, is due")
		require.Len(t, to(catcher, onAddr), 1)
		require.Empty(t, to(catcher, offAddr))
		require.Empty(t, to(catcher, unverifiedAddr))
		require.Equal(t, []string{"sent"}, f.outcomes(on))
		require.Empty(t, f.outcomes(off))
		require.Zero(t, f.digestNotifications(off))
		require.Equal(t, 1, f.digestNotifications(on))
	})

	t.Run("OncePerLocalDayEvenWhenRunTwiceOrConcurrently", func(t *testing.T) {
		t.Parallel()
		f := newOrg(t, "UTC")
		user, addr := f.member(memberOpt{})
		l := f.lead("Jane", "Doe", "jane@example.org")
		f.inbox(inbound{lead: l, kind: "reply", classification: "question", snippet: "How much?", at: day.Add(3 * time.Hour)})

		c := testkit.NewClock(day.Add(8*time.Hour + 5*time.Minute))
		catcher := mailer.NewCatcher(100, nil)
		slow := slowMailer{catcher}
		var wg sync.WaitGroup
		runs := make([]notifications.DigestRun, 4)
		errs := make([]error, 4)
		for i := range runs {
			wg.Go(func() { runs[i], errs[i] = newDigester(t, slow, c, 0).RunOrg(ctx, f.org) })
		}
		wg.Wait()
		var sent int
		for i := range runs {
			require.NoError(t, errs[i])
			sent += runs[i].Sent
			require.Zero(t, runs[i].Failed)
		}
		require.Equal(t, 1, sent)
		require.Len(t, to(catcher, addr), 1)

		// Later the same day: decided already, not even due.
		c.Set(day.Add(20 * time.Hour))
		f.inbox(inbound{lead: l, kind: "reply", classification: "interested", snippet: "Let's talk", at: day.Add(19 * time.Hour)})
		run, err := newDigester(t, catcher, c, 0).RunOrg(ctx, f.org)
		require.NoError(t, err)
		require.Zero(t, run.Due)
		require.Len(t, to(catcher, addr), 1)
		require.Equal(t, 1, f.digestNotifications(user))

		// The next day's digest starts where the first one ended: the
		// afternoon reply is in it, the morning one is not.
		c.Set(day.Add(24*time.Hour + 9*time.Hour))
		run, err = newDigester(t, catcher, c, 0).RunOrg(ctx, f.org)
		require.NoError(t, err)
		require.Equal(t, 1, run.Sent)
		mails := to(catcher, addr)
		require.Len(t, mails, 2)
		require.Contains(t, mails[0].Text, "Replies received: 1 (1 positive)")
		require.Contains(t, mails[0].Text, "Since Monday 10 March, 08:05 UTC")
		require.Equal(t, []string{"sent", "sent"}, f.outcomes(user))
		require.Equal(t, 2, f.digestNotifications(user))
	})

	t.Run("TheFiguresAddUpAgainstTheRows", func(t *testing.T) {
		t.Parallel()
		f := newOrg(t, "UTC")
		user, addr := f.member(memberOpt{role: "admin"})
		other, _ := f.member(memberOpt{})
		now := day.Add(9 * time.Hour)
		in := func(d time.Duration) time.Time { return now.Add(-d) } // d before now
		jane := f.lead("Jane", "Doe", "jane@example.org")
		bob := f.lead("Bob", "", "bob@example.org")
		// Counted: 3 replies (2 interested), 1 auto-reply, 2 bounces.
		f.inbox(inbound{lead: jane, kind: "reply", classification: "interested", snippet: "Yes, let's talk", at: in(5 * time.Hour)})
		f.inbox(inbound{lead: bob, kind: "reply", classification: "interested", snippet: "Sounds   good\nCall me", at: in(4 * time.Hour)})
		f.inbox(inbound{lead: jane, kind: "reply", classification: "question", snippet: "What does it cost?", at: in(3 * time.Hour)})
		f.inbox(inbound{lead: bob, kind: "auto_reply", classification: "out_of_office", snippet: "Away until Monday", at: in(2 * time.Hour)})
		f.inbox(inbound{lead: jane, kind: "bounce", classification: "bounce", at: in(time.Hour)})
		f.inbox(inbound{kind: "bounce", at: in(30 * time.Minute)})
		// Not counted: before the period, at its end, unmatched, ours.
		f.inbox(inbound{lead: jane, kind: "reply", classification: "interested", snippet: "old", at: in(25 * time.Hour)})
		f.inbox(inbound{lead: jane, kind: "reply", classification: "interested", snippet: "future", at: now})
		f.inbox(inbound{kind: "reply", snippet: "who are you", at: in(time.Hour)})
		f.inbox(inbound{lead: jane, kind: "outbound", direction: "outbound", snippet: "our answer", at: in(time.Hour)})
		// 4 sent in the period; one before it, one not sent.
		for i, d := range []time.Duration{20 * time.Hour, 10 * time.Hour, 2 * time.Hour, time.Minute} {
			at := in(d)
			f.sent(jane, i+1, &at)
		}
		old := in(30 * time.Hour)
		f.sent(bob, 1, &old)
		f.sent(bob, 2, nil)
		f.event("campaign.paused", `{"name": "Spring outreach", "settings": {"pause_reason": "bounce_rate"}}`, in(6*time.Hour))
		f.event("campaign.completed", `{}`, in(time.Hour))
		f.event("campaign.paused", `{}`, in(48*time.Hour))
		f.event("campaign.status_changed", `{"status": "paused"}`, in(time.Hour))
		// Unread: 2 of the user's own, 1 broadcast, 1 approval request;
		// not: a read one, another member's, an earlier digest.
		f.notification(&user, notifications.TypeSystem, "a", false, in(40*time.Hour))
		f.notification(&user, notifications.TypeReplyReceived, "b", false, in(time.Hour))
		f.notification(nil, notifications.TypeSystem, "c", false, in(time.Hour))
		f.notification(&user, notifications.TypeApprovalNeeded, "Approval needed: Spring outreach", false, in(2*time.Hour))
		f.notification(&user, notifications.TypeSystem, "read", true, in(time.Hour))
		f.notification(&other, notifications.TypeSystem, "theirs", false, in(time.Hour))
		f.notification(&user, notifications.TypeDailyDigest, "yesterday", false, in(25*time.Hour))

		c := testkit.NewClock(now)
		catcher := mailer.NewCatcher(100, nil)
		d := newDigester(t, catcher, c, 3)
		g, err := d.Compose(ctx, f.org, user, now.Add(-24*time.Hour), now, time.UTC)
		require.NoError(t, err)
		require.Equal(t, 4, g.Replies)
		require.Equal(t, 2, g.PositiveReplies)
		require.Equal(t, 2, g.Bounces)
		require.Equal(t, 4, g.MessagesSent)
		require.Len(t, g.CampaignsPaused, 1)
		require.Equal(t, notifications.DigestCampaign{CampaignID: f.camp, Name: "Spring outreach", Reason: "bounce_rate", At: g.CampaignsPaused[0].At}, g.CampaignsPaused[0])
		require.Len(t, g.CampaignsCompleted, 1)
		require.Len(t, g.Approvals, 1)
		require.Equal(t, 1, g.NewApprovals)
		require.Equal(t, 4, g.UnreadNotifications)
		require.Equal(t, f.name, g.OrgName)
		require.Equal(t, addr, g.Email)
		// The 3 latest replies, newest first, with their leads.
		require.Len(t, g.LatestReplies, 3)
		require.Equal(t, "Bob", g.LatestReplies[0].LeadName)
		require.True(t, g.LatestReplies[0].AutoReply)
		require.Equal(t, "out_of_office", g.LatestReplies[0].Classification)
		require.Equal(t, "Jane Doe", g.LatestReplies[1].LeadName)
		require.Equal(t, "jane@example.org", g.LatestReplies[1].LeadAddress)
		require.Equal(t, "question", g.LatestReplies[1].Classification)
		require.Equal(t, "What does it cost?", g.LatestReplies[1].Snippet)
		require.Equal(t, "Sounds good Call me", g.LatestReplies[2].Snippet, "snippets are folded onto one line")
		require.Equal(t, "Daily digest: 4 replies (2 positive), 2 bounces, 4 messages sent, 1 campaign paused, 1 campaign completed, 1 approval request", g.Title())

		// The run mails the same figures, with a link to the app, and keeps
		// the summary as the in-app copy.
		run, err := d.RunOrg(ctx, f.org)
		require.NoError(t, err)
		require.Equal(t, 2, run.Due)
		require.Equal(t, 2, run.Sent, "the other member gets the organisation's figures too")
		mails := to(catcher, addr)
		require.Len(t, mails, 1)
		m := mails[0]
		require.Equal(t, g.OrgName+": "+g.Title()+" (10 March 2031)", m.Subject)
		for _, want := range []string{
			"Hello Ann Example,", "Replies received: 4 (2 positive)", "Bounces: 2", "Messages sent: 4",
			"Campaigns paused: 1\n  - Spring outreach (bounce rate)", "Campaigns completed: 1",
			"Awaiting your approval: 1 campaign\n  - Spring outreach: m", "Unread notifications: 4",
			"  - Bob <bob@example.org>: auto-reply, out of office\n    \"Away until Monday\"",
			"  - Jane Doe <jane@example.org>: question",
		} {
			require.Contains(t, m.Text, want)
		}
		require.Equal(t, []string{appURL + "/inbox", appURL + "/settings/notifications"}, m.Links)
		var msg string
		require.NoError(t, f.owner.Pool.QueryRow(ctx, `SELECT message FROM notifications WHERE org_id = $1 AND user_id = $2 AND type = 'daily_digest' AND title <> 'yesterday'`,
			f.org, user).Scan(&msg))
		require.Contains(t, msg, "Replies received: 4 (2 positive)")
		require.NotContains(t, msg, "http", "the in-app copy has no links")
	})

	t.Run("AnOrganisationInAnotherZoneGetsItAtItsLocalEight", func(t *testing.T) {
		t.Parallel()
		f := newOrg(t, "Asia/Tokyo") // UTC+9, no daylight saving
		user, addr := f.member(memberOpt{})
		l := f.lead("Jane", "Doe", "jane@example.org")
		// 10 March 22:59 UTC is 11 March 07:59 in Tokyo.
		f.inbox(inbound{lead: l, kind: "reply", classification: "interested", at: day.Add(20 * time.Hour)})
		c := testkit.NewClock(day.Add(22*time.Hour + 59*time.Minute))
		catcher := mailer.NewCatcher(100, nil)
		d := newDigester(t, catcher, c, 0)
		run, err := d.RunOrg(ctx, f.org)
		require.NoError(t, err)
		require.Zero(t, run.Due, "07:59 in Tokyo, though 22:59 is long past 08:00 in UTC")

		c.Set(day.Add(23 * time.Hour))
		run, err = d.RunOrg(ctx, f.org)
		require.NoError(t, err)
		require.Equal(t, 1, run.Sent)
		var local string
		require.NoError(t, f.owner.Pool.QueryRow(ctx, `SELECT local_day::text FROM daily_digests WHERE org_id = $1 AND user_id = $2`, f.org, user).Scan(&local))
		require.Equal(t, "2031-03-11", local, "the Tokyo day, a day ahead of UTC's")
		mails := to(catcher, addr)
		require.Len(t, mails, 1)
		require.Contains(t, mails[0].Subject, "(11 March 2031)")
		require.Contains(t, mails[0].Text, "Since Monday 10 March, 08:00 JST")

		// An organisation in UTC at the same moment: 23:00 there is past 08:00.
		u := newOrg(t, "UTC")
		_, uAddr := u.member(memberOpt{})
		u.inbox(inbound{lead: u.lead("A", "B", "ab@example.org"), kind: "reply", at: day.Add(20 * time.Hour)})
		c.Set(day.Add(7*time.Hour + 59*time.Minute))
		run, err = d.RunOrg(ctx, u.org)
		require.NoError(t, err)
		require.Zero(t, run.Due, "07:59 in UTC")
		c.Set(day.Add(23 * time.Hour))
		run, err = d.RunOrg(ctx, u.org)
		require.NoError(t, err)
		require.Equal(t, 1, run.Sent)
		require.Len(t, to(catcher, uAddr), 1)
	})

	t.Run("AZoneNobodyKnowsCountsAsUTC", func(t *testing.T) {
		t.Parallel()
		f := newOrg(t, "Mars/Olympus_Mons") // settings are validated when written; this one went stale
		_, addr := f.member(memberOpt{})
		f.inbox(inbound{lead: f.lead("Jane", "Doe", "jane@example.org"), kind: "reply", at: day.Add(6 * time.Hour)})
		c := testkit.NewClock(day.Add(7*time.Hour + 59*time.Minute))
		catcher := mailer.NewCatcher(100, nil)
		d := newDigester(t, catcher, c, 0)
		run, err := d.RunOrg(ctx, f.org)
		require.NoError(t, err)
		require.Zero(t, run.Due)
		c.Set(day.Add(8 * time.Hour))
		run, err = d.RunOrg(ctx, f.org)
		require.NoError(t, err)
		require.Equal(t, 1, run.Sent)
		require.Contains(t, to(catcher, addr)[0].Text, "Since Sunday 9 March, 08:00 UTC")
	})

	t.Run("NothingToSayNothingSent", func(t *testing.T) {
		t.Parallel()
		f := newOrg(t, "UTC")
		user, addr := f.member(memberOpt{role: "owner"})
		now := day.Add(10 * time.Hour)
		// Standing state only: unread notifications and an approval asked
		// for before the period.
		f.notification(&user, notifications.TypeSystem, "old", false, now.Add(-72*time.Hour))
		f.notification(&user, notifications.TypeApprovalNeeded, "Approval needed: Spring outreach", false, now.Add(-30*time.Hour))
		c := testkit.NewClock(now)
		catcher := mailer.NewCatcher(100, nil)
		d := newDigester(t, catcher, c, 0)
		run, err := d.RunOrg(ctx, f.org)
		require.NoError(t, err)
		require.Equal(t, notifications.DigestRun{Due: 1, Empty: 1}, run)
		require.Empty(t, to(catcher, addr))
		require.Zero(t, f.digestNotifications(user))
		require.Equal(t, []string{"empty"}, f.outcomes(user))
		run, err = d.RunOrg(ctx, f.org)
		require.NoError(t, err)
		require.Zero(t, run.Due, "the day is decided")

		// The next day's digest covers the quiet day's evening too.
		f.inbox(inbound{lead: f.lead("Jane", "Doe", "jane@example.org"), kind: "reply", at: now.Add(2 * time.Hour)})
		c.Set(now.Add(23 * time.Hour))
		run, err = d.RunOrg(ctx, f.org)
		require.NoError(t, err)
		require.Equal(t, 1, run.Sent)
		mails := to(catcher, addr)
		require.Len(t, mails, 1)
		require.Contains(t, mails[0].Text, "Since Monday 10 March, 10:00 UTC")
		require.Contains(t, mails[0].Text, "Replies received: 1 (0 positive)")
		require.Contains(t, mails[0].Text, "Awaiting your approval: 1 campaign")
		require.Contains(t, mails[0].Text, "  - Jane Doe <jane@example.org>: not classified yet")
	})

	t.Run("AMailTheRelayRefusesIsTriedAgainLater", func(t *testing.T) {
		t.Parallel()
		f := newOrg(t, "UTC")
		user, addr := f.member(memberOpt{})
		f.inbox(inbound{lead: f.lead("Jane", "Doe", "jane@example.org"), kind: "reply", at: day.Add(7 * time.Hour)})
		c := testkit.NewClock(day.Add(8 * time.Hour))
		run, err := newDigester(t, failingMailer{}, c, 0).RunOrg(ctx, f.org)
		require.ErrorContains(t, err, "relay down")
		require.Equal(t, notifications.DigestRun{Due: 1, Failed: 1}, run)
		require.Empty(t, f.outcomes(user), "the decision rolled back")
		require.Zero(t, f.digestNotifications(user))

		c.Set(day.Add(9 * time.Hour))
		catcher := mailer.NewCatcher(100, nil)
		run, err = newDigester(t, catcher, c, 0).RunOrg(ctx, f.org)
		require.NoError(t, err)
		require.Equal(t, 1, run.Sent)
		require.Len(t, to(catcher, addr), 1)
	})
}

// TestDigestRunKeepsOrganisationsApart runs the sweep over every
// organisation. It is not parallel: Run sees every organisation in the
// package's database, and the parallel tests' organisations (each driven
// by RunOrg at its own clock) must not exist yet when it runs.
func TestDigestRunKeepsOrganisationsApart(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2031, 4, 1, 12, 0, 0, 0, time.UTC)
	a, b := newOrg(t, "UTC"), newOrg(t, "Europe/Berlin")
	aUser, aAddr := a.member(memberOpt{})
	bUser, bAddr := b.member(memberOpt{})
	// A person in both organisations gets one digest from each.
	both, bothAddr := a.member(memberOpt{})
	b.join(both, "member")
	for i := range 3 {
		a.inbox(inbound{lead: a.lead("A", fmt.Sprint(i), fmt.Sprintf("a%d@example.org", i)), kind: "reply", classification: "interested", at: now.Add(-time.Hour)})
	}
	bl := b.lead("Bea", "Berlin", "bea@example.de")
	b.inbox(inbound{lead: bl, kind: "bounce", at: now.Add(-time.Hour)})
	at := now.Add(-2 * time.Hour)
	b.sent(bl, 1, &at)

	c := testkit.NewClock(now)
	catcher := mailer.NewCatcher(100, nil)
	d := newDigester(t, catcher, c, 0)
	run, err := d.Run(ctx)
	require.NoError(t, err)
	// At least these four members (a repeated run of the package, -count,
	// leaves earlier organisations in the database, due too).
	require.GreaterOrEqual(t, run.Sent, 4)
	require.Zero(t, run.Failed)

	check := func(addr, org string, want, not []string) {
		t.Helper()
		var got *mailer.Caught
		for _, m := range to(catcher, addr) {
			if strings.HasPrefix(m.Subject, org+":") {
				got = &m
			}
		}
		require.NotNil(t, got, "%s's digest of %s", addr, org)
		for _, w := range want {
			require.Contains(t, got.Text, w)
		}
		for _, n := range not {
			require.NotContains(t, got.Text, n)
		}
	}
	aName, bName := a.name, b.name
	aFigures := []string{"Replies received: 3 (3 positive)", "Bounces: 0", "Messages sent: 0"}
	bFigures := []string{"Replies received: 0", "Bounces: 1", "Messages sent: 1"}
	check(aAddr, aName, aFigures, []string{"bea@example.de", "Bounces: 1"})
	check(bAddr, bName, bFigures, []string{"a0@example.org", "Replies received: 3"})
	check(bothAddr, aName, aFigures, []string{"bea@example.de"})
	check(bothAddr, bName, bFigures, []string{"a0@example.org"})
	require.Len(t, to(catcher, aAddr), 1)
	require.Len(t, to(catcher, bAddr), 1)
	require.Len(t, to(catcher, bothAddr), 2)

	// Composing another organisation's member's digest finds no member:
	// the tenant context hides them.
	_, err = d.Compose(ctx, a.org, bUser, now.Add(-24*time.Hour), now, nil)
	require.ErrorIs(t, err, database.ErrNotFound)
	// And the in-app copies stay in their organisations.
	require.Equal(t, 1, a.digestNotifications(aUser))
	require.Zero(t, a.count(`SELECT count(*) FROM notifications WHERE org_id = $1 AND user_id = $2`, a.org, bUser))
	require.Equal(t, 1, b.digestNotifications(both))

	run, err = d.Run(ctx)
	require.NoError(t, err)
	require.Zero(t, run.Due, "every member's day is decided")
	require.Len(t, to(catcher, bothAddr), 2)
}
