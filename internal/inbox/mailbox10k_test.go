package inbox_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/bounce"
	"github.com/leadpilot/leadpilot/internal/campaigns"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/imaptest"
	"github.com/leadpilot/leadpilot/internal/inbox"
	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/llm/builtin"
	"github.com/leadpilot/leadpilot/internal/mailparse"
	"github.com/leadpilot/leadpilot/internal/sending"
	"github.com/leadpilot/leadpilot/internal/testkit"
	"github.com/leadpilot/leadpilot/internal/unsubscribe"
)

// A large mailbox for the 10,000-message sync test and the benchmarks:
// an organisation whose leads were all sent step 1 (rows written in bulk
// with SQL, as the engine leaves them: step 1 sent with its Message-ID,
// step 2 scheduled), and a mailbox that holds what such a campaign gets
// back: replies in the thread (In-Reply-To, or References only), replies
// written anew (matched by address), out-of-office auto-replies, bounces
// and complaints (real-world samples from ../bounce/testdata and
// ../mailparse/testdata with their addresses and ids replaced) and mail
// from strangers (some without a Message-ID).

// mixCategory is one kind of message in the mailbox.
type mixCategory string

const (
	mixThreaded  mixCategory = "threaded"   // a lead's reply naming our step 1
	mixByAddress mixCategory = "by-address" // a lead writing anew
	mixOOO       mixCategory = "ooo"        // a lead's out-of-office
	mixBounce    mixCategory = "bounce"     // a delivery failure about a lead
	mixComplaint mixCategory = "complaint"  // an abuse report about a lead
	mixStranger  mixCategory = "stranger"   // no lead's
)

// mixShare is how many of every 1,000 messages are of each category:
// with 20,000 leads sent step 1 (bulkLeads), about 0.75% of the sends
// bounce, under the deliverability guard's 5% (above it the guard
// deactivates the mailbox, and a deactivated mailbox is not synced).
var mixShare = []struct {
	cat   mixCategory
	share int
}{{mixThreaded, 400}, {mixByAddress, 200}, {mixOOO, 100}, {mixBounce, 15}, {mixComplaint, 3}, {mixStranger, 282}}

// bulkLeads is how many leads were sent step 1; bulkRepliers of them
// (the first) write back, half in the thread, half anew; out-of-office
// replies, bounces and complaints come from any of them.
const (
	bulkLeads    = 20000
	bulkRepliers = 2000
)

// kindOf is the inbox kind each category is stored as.
var kindOf = map[mixCategory]string{
	mixThreaded: inbox.KindReply, mixByAddress: inbox.KindReply, mixOOO: inbox.KindAutoReply,
	mixBounce: inbox.KindBounce, mixComplaint: inbox.KindComplaint, mixStranger: inbox.KindReply,
}

// corpus is the leads a campaign wrote to and the mail it got back.
type corpus struct {
	// Leads' addresses and the Message-ID of the step 1 each was sent.
	leads, sentIDs []string
	msgs           [][]byte
	cats           []mixCategory
}

// count is how many messages are of cats.
func (c *corpus) count(cats ...mixCategory) int {
	n := 0
	for _, x := range c.cats {
		for _, y := range cats {
			if x == y {
				n++
			}
		}
	}
	return n
}

// mailGen writes the mailbox's messages.
type mailGen struct {
	tb     testing.TB
	rnd    *rand.Rand
	token  string // makes every Message-ID of one generator unique
	seq    int
	at     time.Time
	mbox   string
	fix    map[string][]byte
	froms  map[string]string // fixture → its sender's address
	report map[string]*bounce.Report
}

var (
	replyFixtures     = []string{"gmail_reply", "outlook_reply", "apple_mail_reply", "ios_reply", "thunderbird_flowed", "html_only_gmail", "html_only_outlook", "outlook_classic_latin1", "interleaved", "attachments"}
	oooFixtures       = []string{"exchange_ooo", "gmail_vacation", "french_ooo", "german_ooo", "spanish_ooo"}
	bounceFixtures    = []string{"postfix-userunknown", "gmail-dsn-notfound", "exim-userunknown", "office365-notfound", "qmail-userunknown", "sendmail-dsn", "ses-userunknown", "yahoo-userunknown", "courier-rfc3464", "ses-mailboxfull", "exim-quota", "qmail-mailboxfull"}
	complaintFixtures = []string{"arf-rfc5965", "arf-yahoo", "arf-microsoft-jmrp", "ses-complaint"}
	strangerFixtures  = []string{"bulk_newsletter", "gmail_forward", "apple_forward", "gmail_reply", "outlook_reply"}
	replyBodies       = []string{
		"Yes, I'm interested! Let's set up a call next week.",
		"Not interested, thanks. We already have a solution.",
		"How much does it cost for a team of twenty?",
		"Please remove me from your list.",
		"Sounds good, send me more details and a few times that work for you.",
		"I'm forwarding this to my colleague who handles invoicing.",
		"We are happy with what we have. No thanks.",
		"Can you tell me whether it works with SAP?",
		"Interesting. Could we talk on Thursday at 3pm?",
		"Stop emailing me.",
	}
)

func newMailGen(tb testing.TB, seed uint64, at time.Time, mbox string) *mailGen {
	g := &mailGen{tb: tb, rnd: rand.New(rand.NewPCG(seed, 11)), token: uuid.NewString()[:8], at: at, mbox: mbox,
		fix: map[string][]byte{}, froms: map[string]string{}, report: map[string]*bounce.Report{}}
	load := func(dir string, names []string) {
		for _, n := range names {
			raw, err := os.ReadFile(filepath.Join(dir, n+".eml"))
			require.NoError(tb, err)
			g.fix[n] = raw
			m, err := mailparse.Parse(raw)
			require.NoError(tb, err, n)
			g.froms[n] = m.From.Address
			if r := bounce.Detect(raw); r != nil {
				g.report[n] = r
			}
		}
	}
	load("../mailparse/testdata", append(append(append([]string{}, replyFixtures...), oooFixtures...), strangerFixtures...))
	load("../bounce/testdata", append(append([]string{}, bounceFixtures...), complaintFixtures...))
	for _, n := range append(append([]string{}, bounceFixtures...), complaintFixtures...) {
		require.NotNil(tb, g.report[n], "%s is a report", n)
		require.NotEmpty(tb, g.report[n].Recipients, "%s names its recipient", n)
	}
	return g
}

// nextID is a new Message-ID (no angle brackets).
func (g *mailGen) nextID() string {
	g.seq++
	return fmt.Sprintf("%s.%d@mail.test", g.token, g.seq)
}

// corpus writes n messages to leads (addresses) that were sent sentIDs,
// mixed as mixShare says, in a shuffled order.
func (g *mailGen) corpus(n int, leads, sentIDs []string) *corpus {
	return g.corpusOf(n, leads, sentIDs, nil)
}

// corpusOf is corpus with only the categories only (nil: all).
func (g *mailGen) corpusOf(n int, leads, sentIDs []string, only []mixCategory) *corpus {
	c := &corpus{leads: leads, sentIDs: sentIDs}
	var cats []mixCategory
	for len(cats) < n {
		for _, s := range mixShare {
			if only != nil && !slices.Contains(only, s.cat) {
				continue
			}
			for range s.share {
				cats = append(cats, s.cat)
			}
		}
	}
	g.rnd.Shuffle(len(cats), func(i, j int) { cats[i], cats[j] = cats[j], cats[i] })
	cats = cats[:n]
	for _, cat := range cats {
		c.msgs = append(c.msgs, g.message(cat, leads, sentIDs))
		c.cats = append(c.cats, cat)
	}
	return c
}

// message is one message of cat.
func (g *mailGen) message(cat mixCategory, leads, sentIDs []string) []byte {
	half := min(bulkRepliers, len(leads)) / 2
	pick := func(lo, hi int) int { return lo + g.rnd.IntN(hi-lo) }
	body := replyBodies[g.rnd.IntN(len(replyBodies))]
	switch cat {
	case mixThreaded:
		// The first half of the leads answer in the thread.
		i := pick(0, half)
		if g.rnd.IntN(4) == 0 {
			name := replyFixtures[g.rnd.IntN(len(replyFixtures))]
			return g.fixture(name, map[string]string{g.froms[name]: leads[i]}, g.nextID(), sentIDs[i])
		}
		return g.reply(leads[i], sentIDs[i], g.rnd.IntN(5) == 0, "Re: Quick idea for Globex",
			body+"\n\nOn Tue, 1 Dec 2026, Sam Sender wrote:\n> Hi Ana,\n> Invoices in a minute. Worth a call?")
	case mixByAddress:
		// The other half write anew, without threading headers.
		i := pick(half, 2*half)
		return g.reply(leads[i], "", false, "About your email", body)
	case mixOOO:
		i := pick(0, len(leads))
		name := oooFixtures[g.rnd.IntN(len(oooFixtures))]
		inReplyTo := ""
		if g.rnd.IntN(2) == 0 {
			inReplyTo = sentIDs[i]
		}
		return g.fixture(name, map[string]string{g.froms[name]: leads[i]}, g.nextID(), inReplyTo)
	case mixBounce, mixComplaint:
		names := bounceFixtures
		if cat == mixComplaint {
			names = complaintFixtures
		}
		i := pick(0, len(leads))
		name := names[g.rnd.IntN(len(names))]
		r := g.report[name]
		repl := map[string]string{}
		for _, rc := range r.Recipients {
			repl[rc.Address] = leads[i]
		}
		if r.OriginalTo != "" {
			repl[r.OriginalTo] = leads[i]
		}
		if r.OriginalMessageID != "" && g.rnd.IntN(2) == 0 {
			// Half name our message; the rest are matched by address.
			repl[r.OriginalMessageID] = sentIDs[i]
		}
		return g.fixture(name, repl, g.nextID(), "-")
	}
	switch k := g.rnd.IntN(20); {
	case k == 0:
		// No Message-ID: its content names it.
		var b strings.Builder
		fmt.Fprintf(&b, "From: Someone <someone%d@elsewhere.test>\r\nTo: %s\r\nSubject: Hello %d\r\nDate: %s\r\n", g.seq, g.mbox, g.seq, g.at.Format(time.RFC1123Z))
		fmt.Fprintf(&b, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDo you sell printers? Ticket %s-%d.\r\n", g.token, g.seq)
		g.seq++
		return []byte(b.String())
	case k < 6:
		name := strangerFixtures[g.rnd.IntN(len(strangerFixtures))]
		return g.fixture(name, nil, g.nextID(), "-")
	}
	return g.reply(fmt.Sprintf("person%d@elsewhere%d.test", g.rnd.IntN(5000), g.rnd.IntN(50)), "", false, "Question", body)
}

// reply is a plain reply from from; inReplyTo (when set) is named by
// In-Reply-To and References, or by References only.
func (g *mailGen) reply(from, inReplyTo string, refsOnly bool, subject, body string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Lead <%s>\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s>\r\n", from, g.mbox, subject, g.at.Format(time.RFC1123Z), g.nextID())
	switch {
	case inReplyTo != "" && refsOnly:
		fmt.Fprintf(&b, "References: <%s@elsewhere.test> <%s>\r\n", uuid.NewString(), inReplyTo)
	case inReplyTo != "":
		fmt.Fprintf(&b, "In-Reply-To: <%s>\r\nReferences: <%s>\r\n", inReplyTo, inReplyTo)
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	b.WriteString("\r\n")
	return []byte(b.String())
}

// fixture is a sample with the strings of repl replaced (case
// insensitively), its own Message-ID set to id, and In-Reply-To and
// References naming inReplyTo ("" removes them, "-" leaves them).
func (g *mailGen) fixture(name string, repl map[string]string, id, inReplyTo string) []byte {
	raw := g.fix[name]
	for from, to := range repl {
		if from == "" {
			continue
		}
		raw = regexp.MustCompile(`(?i)`+regexp.QuoteMeta(from)).ReplaceAllLiteral(raw, []byte(to))
	}
	raw = setHeader(raw, "Message-ID", "<"+id+">")
	if inReplyTo != "-" {
		raw = setHeader(raw, "In-Reply-To", "")
		raw = setHeader(raw, "References", "")
		if inReplyTo != "" {
			raw = setHeader(raw, "In-Reply-To", "<"+inReplyTo+">")
			raw = setHeader(raw, "References", "<"+inReplyTo+">")
		}
	}
	return raw
}

// setHeader removes every name field (with its folded lines) from raw's
// top-level header and, when value is not empty, puts one first.
func setHeader(raw []byte, name, value string) []byte {
	nl := []byte("\r\n")
	if !bytes.Contains(raw[:min(len(raw), 200)], nl) {
		nl = []byte("\n")
	}
	end := bytes.Index(raw, append(append([]byte{}, nl...), nl...))
	if end < 0 {
		end = len(raw)
	}
	head, rest := raw[:end+len(nl)], raw[end+len(nl):]
	var out bytes.Buffer
	if value != "" {
		out.WriteString(name + ": " + value)
		out.Write(nl)
	}
	skipping := false
	for _, line := range bytes.SplitAfter(head, nl) {
		if len(line) == 0 {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !skipping {
				out.Write(line)
			}
			continue
		}
		colon := bytes.IndexByte(line, ':')
		skipping = colon > 0 && strings.EqualFold(strings.TrimSpace(string(line[:colon])), name)
		if !skipping {
			out.Write(line)
		}
	}
	out.Write(rest)
	return out.Bytes()
}

// bulk is an organisation with one mailbox on an IMAP server, a campaign,
// and leads that were all sent step 1.
type bulk struct {
	db, owner *database.DB
	boxes     *mailboxes
	clock     *testkit.Clock
	classify  *classifyTasks
	inbox     *inbox.Service
	actor     access.Actor
	account   uuid.UUID
	campaign  uuid.UUID
}

// bulkAt is when the mail arrives (and the clock of the inbox).
var bulkAt = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

// newBulk sets up an organisation reading srv with the leads of c, in db
// (owner: its owner login).
func newBulk(tb testing.TB, db, owner *database.DB, srv *imaptest.Server, leads, sentIDs []string) *bulk {
	tb.Helper()
	ctx := context.Background()
	w := &bulk{db: db, owner: owner, boxes: &mailboxes{srv: srv, password: srv.Password}, clock: testkit.NewClock(bulkAt), classify: &classifyTasks{}}
	exec := func(sql string, args ...any) {
		tb.Helper()
		_, err := owner.Pool.Exec(ctx, sql, args...)
		require.NoError(tb, err)
	}
	org, user := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	exec(`WITH o AS (INSERT INTO organizations (id, name, slug, business_context) VALUES ($1, 'Bulk Co', $3,
			'{"sender_name": "Sam Sender", "postal_address": "1 Market St, Springfield", "company_name": "Bulk Co"}') RETURNING id),
		     u AS (INSERT INTO users (id, email, password_hash) VALUES ($2, $4, 'x') RETURNING id)
		INSERT INTO memberships (id, org_id, user_id, role) SELECT $5, o.id, u.id, 'owner' FROM o, u`,
		org, user, "bulk-"+org.String(), "bulk-"+org.String()+"@example.com", uuid.Must(uuid.NewV7()))
	w.actor = access.Actor{OrgID: org, UserID: user, Role: access.RoleOwner}
	w.account = uuid.Must(uuid.NewV7())
	exec(`INSERT INTO email_accounts (id, org_id, email_address, display_name, provider, smtp_host, smtp_port, imap_host, imap_port, imap_tls_mode,
			daily_send_limit, warmup_enabled, connection_status)
		VALUES ($1, $2, 'sam@send.test', 'Sam Sender', 'custom', '127.0.0.1', 25, $3, $4, 'none', 1000, false, 'connected')`,
		w.account, org, srv.Host, srv.Port)
	signer, err := unsubscribe.NewSigner([]byte(strings.Repeat("k", 32)))
	require.NoError(tb, err)
	eng := sending.New(db, map[string]sending.Channel{}, &sendTasks{}, signer, sending.Options{Now: w.clock.Now, UnsubscribeBase: "https://app.test/u"})
	bi := builtin.New()
	w.inbox = inbox.NewService(db, eng, func(context.Context, uuid.UUID) (llm.Provider, error) { return bi, nil }, w.classify, inbox.Options{Now: w.clock.Now})
	all := []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
	ptr := func(s string) *string { return &s }
	three := 3
	camp, err := campaigns.NewService(db).Create(ctx, w.actor, campaigns.Create{Name: "Winter", Source: "manual", Settings: campaigns.SettingsPatch{
		SequenceLength: &three, DelayBetweenStepsDays: &[]int{0, 2, 3}, SendWindowStart: ptr("00:00"), SendWindowEnd: ptr("23:59"),
		SendDays: &all, Timezone: ptr("UTC")}})
	require.NoError(tb, err)
	w.campaign = camp.ID
	exec(`UPDATE campaigns SET status = 'active' WHERE id = $1`, camp.ID)
	exec(`INSERT INTO campaign_email_accounts (org_id, campaign_id, email_account_id) VALUES ($1, $2, $3)`, org, camp.ID, w.account)
	// The leads, step 1 sent a day ago with its Message-ID, step 2 due
	// in two days: what the engine leaves after sending step 1.
	sentAt := bulkAt.Add(-24 * time.Hour)
	exec(`INSERT INTO leads (id, org_id, campaign_id, email, first_name, company, is_approved, status, last_contacted_at)
		SELECT gen_random_uuid(), $1, $2, e, 'Ana', 'Globex', true, 'contacted', $4 FROM unnest($3::text[]) AS e`, org, camp.ID, leads, sentAt)
	exec(`INSERT INTO messages (id, org_id, campaign_id, lead_id, channel, email_account_id, step, subject, body_text, message_id, status, scheduled_for, sent_at)
		SELECT gen_random_uuid(), l.org_id, l.campaign_id, l.id, 'email', $2, 1, 'Quick idea for Globex',
			'Hi Ana,'||chr(10)||chr(10)||'Invoices in a minute. Worth a call?', v.mid, 'sent', $5, $5
		FROM unnest($3::text[], $4::text[]) AS v (email, mid) JOIN leads l ON l.org_id = $1 AND l.email = v.email`,
		org, w.account, leads, sentIDs, sentAt)
	exec(`INSERT INTO messages (id, org_id, campaign_id, lead_id, channel, email_account_id, step, subject, body_text, message_id, in_reply_to, status, scheduled_for)
		SELECT gen_random_uuid(), org_id, campaign_id, lead_id, 'email', email_account_id, 2, 'Re: Quick idea for Globex', 'Any thoughts, Ana?',
			gen_random_uuid()::text || '@send.test', message_id, 'scheduled', $2
		FROM messages WHERE org_id = $1 AND step = 1`, org, bulkAt.Add(48*time.Hour))
	exec(`ANALYZE leads; ANALYZE messages`)
	return w
}

// leadSet is n lead addresses and the Message-IDs of their step 1.
func leadSet(n int) (leads, sentIDs []string) {
	for i := range n {
		leads = append(leads, fmt.Sprintf("lead%d@globex%d.test", i, i%97))
		sentIDs = append(sentIDs, uuid.Must(uuid.NewV7()).String()+"@send.test")
	}
	return leads, sentIDs
}

// appendAll delivers msgs to srv's INBOX.
func appendAll(tb testing.TB, srv *imaptest.Server, msgs [][]byte, at time.Time) {
	tb.Helper()
	for _, m := range msgs {
		srv.Append(tb, m, at)
	}
}
