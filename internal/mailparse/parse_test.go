package mailparse

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return raw
}

// fixture is what a sample message must parse to. Zero fields of the
// auto-reply verdict are asserted too (a reply is not an auto-reply).
type fixture struct {
	file       string
	messageID  string
	inReplyTo  string
	references []string
	from       Address
	to         []Address
	cc         []Address
	subject    string
	date       string // RFC 3339, "" for zero
	textHas    []string
	htmlHas    string // "" when the message has no HTML part
	clean      string
	snippet    string
	atts       []Attachment
	auto       AutoReply
	returnDate string // 2006-01-02, "" for none
	report     bool
}

var sarah = Address{Name: "Sarah Chen", Address: "sarah.chen@leadpilot-demo.io"}

var fixtures = []fixture{
	{
		file:      "gmail_reply.eml",
		messageID: "CAJ7tM3xq+Yw2bq3Fz8oK1mV0r9cH5n2T4bLwQ8e=Xk@mail.gmail.com",
		inReplyTo: "lp.7f3c2a10-91aa-4c1e-b2f4-2d7e9a1c0b33@leadpilot-demo.io",
		references: []string{
			"0102019a5b7e3f1a-5c3f1b2e-8c1d-4e55-9f0e-6f1b2c3d4e5f-000000@eu-west-1.amazonses.com",
			"lp.7f3c2a10-91aa-4c1e-b2f4-2d7e9a1c0b33@leadpilot-demo.io",
		},
		from:    Address{Name: "Tom Baker", Address: "tom.baker@northwind-example.com"},
		to:      []Address{sarah},
		cc:      []Address{{Address: "ops@northwind-example.com"}},
		subject: "Re: Quick question about Northwind's outreach",
		date:    "2026-11-23T11:30:52+01:00",
		textHas: []string{"> I noticed Northwind is hiring", "Head of Operations, Northwind"},
		htmlHas: `<div class="gmail_quote gmail_quote_container">`,
		clean: "Hi Sarah,\n\nThanks for reaching out — yes, we'd be interested in a demo next week.\n" +
			"Tuesday or Wednesday afternoon works best for us.",
		snippet: "Hi Sarah, Thanks for reaching out — yes, we'd be interested in a demo next week. Tuesday or Wednesday afternoon works best for us.",
	},
	{
		file:       "outlook_reply.eml",
		messageID:  "AM9PR02MB75540C1D2E3F4A5B6C7D8E9FA0B1C2D3E4F5A@AM9PR02MB7554.eurprd02.prod.outlook.com",
		inReplyTo:  "lp.a1b2c3d4-0000-4000-8000-000000000001@leadpilot-demo.io",
		references: []string{"lp.a1b2c3d4-0000-4000-8000-000000000001@leadpilot-demo.io"},
		from:       Address{Name: "Jürgen Müller", Address: "j.mueller@firma-example.de"},
		to:         []Address{sarah},
		subject:    "RE: Pricing for the team plan",
		date:       "2026-11-23T10:02:09Z",
		textHas:    []string{"From: Sarah Chen <sarah.chen@leadpilot-demo.io>\nSent: Monday, November 23, 2026 10:14 AM"},
		htmlHas:    `<div id="divRplyFwdMsg"`,
		clean: "Hello Sarah,\n\nThat’s fine for us – the budget is € 4,500 per quarter. Jürgen will join the call.\n\n" +
			"Best regards / Grüße\nJürgen Müller",
		snippet: "Hello Sarah, That’s fine for us – the budget is € 4,500 per quarter. Jürgen will join the call. Best regards / Grüße Jürgen Müller",
	},
	{
		file:      "outlook_classic_latin1.eml",
		messageID: "000001db3e5f$7a8b9c00$6f9ed400$@dubois-example.fr",
		from:      Address{Name: "Dubois, René", Address: "rene.dubois@dubois-example.fr"},
		to:        []Address{{Address: "sarah.chen@leadpilot-demo.io"}},
		subject:   "RE: Next steps à prévoir",
		date:      "2026-11-24T10:05:00+01:00",
		textHas:   []string{"-----Original Message-----\nFrom: Sarah Chen [mailto:sarah.chen@leadpilot-demo.io]", "Hi René, are we good to go?"},
		clean:     "Hi Sarah,\n\nplease send me the contract draft, we are ready to sign. Ciao, René",
		snippet:   "Hi Sarah, please send me the contract draft, we are ready to sign. Ciao, René",
	},
	{
		file:       "apple_mail_reply.eml",
		messageID:  "4F1B7A3C-9D2E-4C5B-8A61-0E2F3D4C5B6A@studio-example.se",
		inReplyTo:  "lp.0b7c2f9e-6d1a-4f7e-9a43-1c2d3e4f5a6b@leadpilot-demo.io",
		references: []string{"lp.0b7c2f9e-6d1a-4f7e-9a43-1c2d3e4f5a6b@leadpilot-demo.io"},
		from:       Address{Name: "Anna Lindqvist", Address: "anna@studio-example.se"},
		to:         []Address{sarah},
		cc:         []Address{{Name: "Erik", Address: "erik@studio-example.se"}},
		subject:    "Re: Quick call this week?",
		date:       "2026-11-24T08:12:33+01:00",
		textHas:    []string{"> On 23 Nov 2026, at 18:40, Sarah Chen <sarah.chen@leadpilot-demo.io> wrote:"},
		clean:      "Sounds good, Thursday at 3pm works. I'll bring our CTO.\n\nAnna",
		snippet:    "Sounds good, Thursday at 3pm works. I'll bring our CTO. Anna",
	},
	{
		file:       "ios_reply.eml",
		messageID:  "8E2A6C91-3B7D-4F0A-9C1E-5D6F7A8B9C0D@oduya-example.com",
		inReplyTo:  "lp.11111111-2222-4333-8444-555555555555@leadpilot-demo.io",
		references: []string{"lp.11111111-2222-4333-8444-555555555555@leadpilot-demo.io"},
		from:       Address{Name: "Mark Oduya", Address: "mark@oduya-example.com"},
		to:         []Address{sarah},
		subject:    "Re: Quick question",
		date:       "2026-11-23T19:02:41-05:00",
		textHas:    []string{"Sent from my iPhone"},
		clean:      "Not interested, please remove me from your list.",
		snippet:    "Not interested, please remove me from your list.",
	},
	{
		file:       "thunderbird_flowed.eml",
		messageID:  "b3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d@kn-example.pl",
		inReplyTo:  "lp.22222222-3333-4444-8555-666666666666@leadpilot-demo.io",
		references: []string{"lp.22222222-3333-4444-8555-666666666666@leadpilot-demo.io"},
		from:       Address{Name: "Piotr Nowak", Address: "piotr@kn-example.pl"},
		to:         []Address{sarah},
		subject:    "Re: Automation trial",
		date:       "2026-11-23T12:47:05+01:00",
		// format=flowed undone: soft breaks joined, quoted ones too.
		textHas: []string{
			"> Hi Piotr, would your team like a trial of the automation features? It takes five minutes to set up.\n",
			"-- \nPiotr Nowak",
		},
		clean: "Hi Sarah,\n\nThanks, this looks good. We would like to schedule a call next week to discuss pricing " +
			"for the team plan, ideally with our finance lead present.\n\nCheers,\nPiotr",
		snippet: "Hi Sarah, Thanks, this looks good. We would like to schedule a call next week to discuss pricing for the team plan, ideally with our finance lead present. Cheers, Piotr",
	},
	{
		file:       "exchange_ooo.eml",
		messageID:  "6b1e8f52c0a94e5b9d3c2a1f0e9d8c7b@CO1PR11MB5089.namprd11.prod.outlook.com",
		inReplyTo:  "lp.33333333-4444-4555-8666-777777777777@leadpilot-demo.io",
		references: []string{"lp.33333333-4444-4555-8666-777777777777@leadpilot-demo.io"},
		from:       Address{Name: "David Miller", Address: "david.miller@contoso-example.com"},
		to:         []Address{sarah},
		subject:    "Automatic reply: Quick question about Contoso's pipeline",
		date:       "2026-11-30T09:15:02Z",
		htmlHas:    "I am out of the office until Friday",
		clean: "Thank you for your email. I am out of the office until Friday, 4 December 2026 with limited access to email.\n\n" +
			"For urgent matters please contact my colleague Lisa Park (lisa.park@contoso-example.com).\n\nKind regards,\nDavid Miller",
		snippet: "Thank you for your email. I am out of the office until Friday, 4 December 2026 with limited access to email. For urgent matters please contact my colleague Lisa Park (lisa.park@contoso-example.com).…",
		auto: AutoReply{Is: true, OutOfOffice: true,
			Reason: "Auto-Submitted: auto-generated; subject: Automatic reply; out-of-office phrasing"},
		returnDate: "2026-12-05", // the day after "until Friday, 4 December"
	},
	{
		file:       "gmail_vacation.eml",
		messageID:  "CAMv8q3Tz0Yx+autoreply.5Rp@mail.gmail.com",
		inReplyTo:  "lp.44444444-5555-4666-8777-888888888888@leadpilot-demo.io",
		references: []string{"lp.44444444-5555-4666-8777-888888888888@leadpilot-demo.io"},
		from:       Address{Name: "Priya Raman", Address: "priya@brightline-example.com"},
		to:         []Address{{Address: "sarah.chen@leadpilot-demo.io"}},
		subject:    "Re: Brightline + LeadPilot",
		date:       "2026-12-02T14:03:11+05:30",
		htmlHas:    "I'm on vacation",
		clean:      "Hi there,\n\nI'm on vacation with no access to email and will be back on Monday. If it's urgent, please call the office.\n\nPriya",
		snippet:    "Hi there, I'm on vacation with no access to email and will be back on Monday. If it's urgent, please call the office. Priya",
		auto:       AutoReply{Is: true, OutOfOffice: true, Reason: "Auto-Submitted: auto-replied; out-of-office phrasing"},
		returnDate: "2026-12-07", // the Monday after Wednesday 2 December
	},
	{
		file:      "german_ooo.eml",
		messageID: "vacation.1795676504.1234@mx.mueller-example.de",
		inReplyTo: "lp.55555555-6666-4777-8888-999999999999@leadpilot-demo.io",
		from:      Address{Name: "Klaus Weber", Address: "k.weber@mueller-example.de"},
		to:        []Address{{Address: "sarah.chen@leadpilot-demo.io"}},
		subject:   "Abwesenheitsnotiz: Rückfrage zu Ihrem Vertrieb",
		date:      "2026-11-26T08:01:44+01:00",
		clean: "Sehr geehrte Damen und Herren,\n\nvielen Dank für Ihre Nachricht. Ich bin bis zum 3. Dezember nicht im Büro und habe keinen Zugriff auf meine E-Mails.\n" +
			"Ab dem 4. Dezember bin ich wieder für Sie erreichbar.\n\nIn dringenden Fällen wenden Sie sich bitte an zentrale@mueller-example.de.\n\nMit freundlichen Grüßen\nKlaus Weber",
		snippet: "Sehr geehrte Damen und Herren, vielen Dank für Ihre Nachricht. Ich bin bis zum 3. Dezember nicht im Büro und habe keinen Zugriff auf meine E-Mails. Ab dem 4. Dezember bin ich wieder für Sie…",
		auto: AutoReply{Is: true, OutOfOffice: true,
			Reason: "Auto-Submitted: auto-replied; X-Autoreply header; Precedence: bulk; subject: Abwesenheitsnotiz; out-of-office phrasing"},
		returnDate: "2026-12-04",
	},
	{
		file:      "french_ooo.eml",
		messageID: "ooo-7781@societe-example.fr",
		from:      Address{Name: "Julien Martin", Address: "julien.martin@societe-example.fr"},
		to:        []Address{{Address: "sarah.chen@leadpilot-demo.io"}},
		subject:   "Réponse automatique : Votre prospection",
		date:      "2026-11-27T16:20:00+01:00",
		clean: "Bonjour,\n\nJe suis absent jusqu'au 3 décembre inclus, avec un accès limité à mes e-mails. Je serai de retour le lundi 7 décembre.\n\n" +
			"Cordialement,\nJulien Martin",
		snippet: "Bonjour, Je suis absent jusqu'au 3 décembre inclus, avec un accès limité à mes e-mails. Je serai de retour le lundi 7 décembre. Cordialement, Julien Martin",
		auto: AutoReply{Is: true, OutOfOffice: true,
			Reason: "Auto-Submitted: auto-replied; subject: Réponse automatique; out-of-office phrasing"},
		returnDate: "2026-12-07", // "de retour le lundi 7" beats "jusqu'au 3"
	},
	{
		file:       "spanish_ooo.eml",
		messageID:  "es-ooo-1@empresa-example.es",
		from:       Address{Name: "Lucía Fernández", Address: "lucia@empresa-example.es"},
		to:         []Address{{Address: "sarah.chen@leadpilot-demo.io"}},
		subject:    "Respuesta automática: Su consulta",
		date:       "2026-12-01T09:00:00+01:00",
		clean:      "Hola,\n\nEstoy fuera de la oficina hasta el 10 de diciembre de 2026. Para asuntos urgentes escriba a soporte@empresa-example.es.\n\nSaludos,\nLucía Fernández",
		snippet:    "Hola, Estoy fuera de la oficina hasta el 10 de diciembre de 2026. Para asuntos urgentes escriba a soporte@empresa-example.es. Saludos, Lucía Fernández",
		auto:       AutoReply{Is: true, OutOfOffice: true, Reason: "subject: Respuesta automática; out-of-office phrasing"},
		returnDate: "2026-12-11",
	},
	{
		file:       "attachments.eml",
		messageID:  "CAP4x=9t8Zq2@mail.gmail.com",
		inReplyTo:  "lp.66666666-7777-4888-8999-aaaaaaaaaaaa@leadpilot-demo.io",
		references: []string{"lp.66666666-7777-4888-8999-aaaaaaaaaaaa@leadpilot-demo.io"},
		from:       Address{Name: "Maria Rossi", Address: "maria.rossi@rossi-example.it"},
		to:         []Address{sarah},
		subject:    "Re: Angebot für März – unterschrieben ✅",
		date:       "2026-11-25T15:44:10+01:00",
		htmlHas:    `<img src="cid:ii_lz3k9f0a1"`,
		clean:      "Hi Sarah,\n\nAttached is our signed offer and a screenshot of the dashboard.\n\nThanks,\nMaria",
		snippet:    "Hi Sarah, Attached is our signed offer and a screenshot of the dashboard. Thanks, Maria",
		atts: []Attachment{
			{Filename: "dash.png", ContentType: "image/png", Size: 1234, ContentID: "ii_lz3k9f0a1", Inline: true},
			{Filename: "Angebot März.pdf", ContentType: "application/pdf", Size: 3016},
		},
	},
	{
		file:      "no_message_id.eml",
		inReplyTo: "lp.77777777-8888-4999-8aaa-bbbbbbbbbbbb@leadpilot-demo.io", // no brackets in the header
		from:      Address{Address: "info@smallshop-example.com"},
		// "Bob Q. Public" is not valid RFC 5322 (an unquoted dot); kept anyway.
		to:      []Address{{Name: "Chen, Sarah", Address: "sarah.chen@leadpilot-demo.io"}, {Name: "Bob Q. Public", Address: "bob@leadpilot-demo.io"}},
		subject: "Re: Your offer",
		date:    "2026-11-24T17:05:00+01:00",
		clean:   "Yes please, send me more information about pricing.",
		snippet: "Yes please, send me more information about pricing.",
	},
	{
		file:      "html_only_outlook.eml",
		messageID: "DB7PR08MB3001AB12CD34EF56@DB7PR08MB3001.eurprd08.prod.outlook.com",
		from:      Address{Name: "Olga Petrova", Address: "olga@petrova-example.com"},
		to:        []Address{sarah},
		subject:   "RE: Intro",
		date:      "2026-11-24T12:30:00Z",
		// Text derived from the HTML keeps the Outlook header block as
		// lines, which is where Clean cuts.
		textHas: []string{"________________________________\n\nFrom: Sarah Chen <sarah.chen@leadpilot-demo.io>\nSent: Tuesday, November 24, 2026 11:00"},
		htmlHas: `<div id="divRplyFwdMsg"`,
		clean:   "Hi Sarah,\n\nwe already use a competitor, thanks anyway.\n\nOlga",
		snippet: "Hi Sarah, we already use a competitor, thanks anyway. Olga",
	},
	{
		file:      "html_only_gmail.eml",
		messageID: "CAH2=vogel01@mail.gmail.com",
		from:      Address{Name: "Lena Vogel", Address: "lena@vogel-example.de"},
		to:        []Address{sarah},
		subject:   "Re: LeadPilot",
		date:      "2026-11-24T10:11:12+01:00",
		// The gmail_quote (attribution and blockquote) is dropped from the
		// derived text; the signature gets its "-- " separator.
		textHas: []string{"Can you send a case study from a company our size?\n\nThanks!\n\n-- \nLena Vogel\nCMO, Vogel GmbH"},
		htmlHas: `<blockquote class="gmail_quote"`,
		clean:   "Can you send a case study from a company our size?\n\nThanks!",
		snippet: "Can you send a case study from a company our size? Thanks!",
	},
	{
		file:      "gmail_forward.eml",
		messageID: "CAJ7tM3fwd01@mail.gmail.com",
		from:      Address{Name: "Tom Baker", Address: "tom.baker@northwind-example.com"},
		to:        []Address{sarah},
		subject:   "Fwd: Procurement contact",
		date:      "2026-11-25T09:30:00+01:00",
		textHas:   []string{"---------- Forwarded message ---------\nFrom: Ines Costa"},
		clean:     "Sarah, looping in our procurement lead, see below.",
		snippet:   "Sarah, looping in our procurement lead, see below.",
	},
	{
		file:      "apple_forward.eml",
		messageID: "A1B2C3D4-E5F6-4A5B-9C8D-7E6F5A4B3C2D@studio-example.se",
		from:      Address{Name: "Anna Lindqvist", Address: "anna@studio-example.se"},
		to:        []Address{sarah},
		subject:   "Fwd: Budget",
		date:      "2026-11-25T09:30:00+01:00",
		textHas:   []string{"Begin forwarded message:"},
		clean:     "FYI - our budget owner.",
		snippet:   "FYI - our budget owner.",
	},
	{
		file:      "interleaved.eml",
		messageID: "interleaved-1@lee-example.com",
		from:      Address{Name: "Sam Lee", Address: "sam@lee-example.com"},
		to:        []Address{sarah},
		subject:   "Re: A few questions",
		date:      "2026-11-26T11:00:00-08:00",
		// The answers between the quotes are kept, the quotes and their
		// attribution dropped.
		clean:   "Twelve, soon fifteen.\n\nHubSpot.",
		snippet: "Twelve, soon fifteen. HubSpot.",
	},
	{
		file:      "quote_only.eml",
		messageID: "quote-only-1@lee-example.com",
		from:      Address{Name: "Sam Lee", Address: "sam@lee-example.com"},
		to:        []Address{sarah},
		subject:   "Re: Demo",
		date:      "2026-11-26T11:00:00-08:00",
		clean:     "",
		// Nothing of the sender's own: the snippet falls back to Text.
		snippet: "On Thu, Nov 26, 2026 at 9:00 AM Sarah Chen <sarah.chen@leadpilot-demo.io> wrote: > Would you like a demo?",
	},
	{
		file:      "dsn_report.eml",
		messageID: "20261127100000.ABC123@mx.leadpilot-demo.io",
		from:      Address{Name: "Mail Delivery System", Address: "mailer-daemon@mx.leadpilot-demo.io"},
		to:        []Address{{Address: "sarah.chen@leadpilot-demo.io"}},
		subject:   "Undelivered Mail Returned to Sender (out of office)",
		date:      "2026-11-27T10:00:00Z",
		clean:     "I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients. I am out of the office until Monday.",
		snippet:   "I'm sorry to have to inform you that your message could not be delivered to one or more recipients. I am out of the office until Monday.",
		atts:      []Attachment{{ContentType: "message/delivery-status", Size: 116}},
		// A report is never an out-of-office, whatever its text says.
		auto:   AutoReply{Is: true, Reason: "Auto-Submitted: auto-replied"},
		report: true,
	},
	{
		file:      "bulk_newsletter.eml",
		messageID: "nl-2026-11@acme-example.com",
		from:      Address{Name: "Acme News", Address: "news@acme-example.com"},
		to:        []Address{{Address: "sarah.chen@leadpilot-demo.io"}},
		subject:   "Our November product update",
		date:      "2026-11-27T10:00:00Z",
		clean:     "New this month: faster exports and a vacation planner for your team.",
		snippet:   "New this month: faster exports and a vacation planner for your team.",
		// Precedence: bulk is noted, but is no auto-reply on its own.
		auto: AutoReply{Reason: "Precedence: bulk"},
	},
	{
		file:      "human_vacation_mention.eml",
		messageID: "human-1@park-example.com",
		from:      Address{Name: "Jo Park", Address: "jo@park-example.com"},
		to:        []Address{sarah},
		subject:   "Re: Follow-up",
		date:      "2026-11-27T10:00:00Z",
		clean:     "Sorry for the slow answer, I was on holiday last week. Yes, let's talk on Tuesday.",
		snippet:   "Sorry for the slow answer, I was on holiday last week. Yes, let's talk on Tuesday.",
		// Exchange's loop and suppress headers are no auto-reply signal.
	},
}

func TestParseFixtures(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*.eml")
	require.NoError(t, err)
	require.Len(t, files, len(fixtures), "every fixture has expectations")

	for _, f := range fixtures {
		t.Run(f.file, func(t *testing.T) {
			t.Parallel()
			m, err := Parse(readFixture(t, f.file))
			require.NoError(t, err)
			require.Equal(t, f.messageID, m.MessageID)
			require.Equal(t, f.inReplyTo, m.InReplyTo)
			require.Equal(t, f.references, m.References)
			require.Equal(t, f.from, m.From)
			require.Equal(t, f.to, m.To)
			require.Equal(t, f.cc, m.Cc)
			require.Equal(t, f.subject, m.Subject)
			if f.date == "" {
				require.True(t, m.Date.IsZero())
			} else {
				require.Equal(t, f.date, m.Date.Format(time.RFC3339))
			}
			for _, s := range f.textHas {
				require.Contains(t, m.Text, s)
			}
			if f.htmlHas == "" {
				require.Empty(t, m.HTML)
			} else {
				require.Contains(t, m.HTML, f.htmlHas)
			}
			require.Equal(t, f.clean, m.Clean)
			require.Equal(t, f.snippet, m.Snippet)
			require.Equal(t, f.atts, m.Attachments)
			require.Equal(t, f.report, m.IsReport)

			got := m.AutoReply
			if f.returnDate == "" {
				require.True(t, got.ReturnDate.IsZero(), "return date %v", got.ReturnDate)
			} else {
				require.Equal(t, f.returnDate, got.ReturnDate.Format(time.DateOnly))
				// Midnight in the zone of the notice's Date.
				require.Equal(t, m.Date.Location(), got.ReturnDate.Location())
				require.Zero(t, got.ReturnDate.Hour())
			}
			got.ReturnDate = time.Time{}
			require.Equal(t, f.auto, got)
			requireInvariants(t, m)
		})
	}
}

// requireInvariants are the promises Parse keeps for any input.
func requireInvariants(t testing.TB, m *Message) {
	t.Helper()
	for name, s := range map[string]string{
		"MessageID": m.MessageID, "InReplyTo": m.InReplyTo, "Subject": m.Subject, "Text": m.Text,
		"HTML": m.HTML, "Clean": m.Clean, "Snippet": m.Snippet, "From": m.From.Name + m.From.Address,
		"Reason": m.AutoReply.Reason,
	} {
		require.True(t, utf8.ValidString(s), "%s is not UTF-8: %q", name, s)
	}
	for _, l := range [][]Address{m.To, m.Cc, m.ReplyTo} {
		for _, a := range l {
			require.True(t, utf8.ValidString(a.Name+a.Address))
			require.Equal(t, strings.ToLower(a.Address), a.Address)
		}
	}
	for _, id := range m.References {
		require.True(t, utf8.ValidString(id))
		require.NotContains(t, id, "<")
	}
	for _, a := range m.Attachments {
		require.True(t, utf8.ValidString(a.Filename+a.ContentType+a.ContentID))
		require.GreaterOrEqual(t, a.Size, int64(0))
	}
	require.LessOrEqual(t, utf8.RuneCountInString(m.Snippet), SnippetRunes)
	require.False(t, m.AutoReply.OutOfOffice && !m.AutoReply.Is, "an out-of-office is an auto-reply")
	require.False(t, m.IsReport && m.AutoReply.OutOfOffice, "a report is never an out-of-office")
	// Clean is made of Text's lines, in order (quotes between them removed).
	requireLinesSubsequence(t, m.Clean, m.Text)
}

func requireLinesSubsequence(t testing.TB, clean, text string) {
	t.Helper()
	if clean == "" {
		return
	}
	tl := strings.Split(text, "\n")
	j := 0
	for _, l := range strings.Split(clean, "\n") {
		for j < len(tl) && tl[j] != l {
			j++
		}
		require.Less(t, j, len(tl), "Clean line %q is not a line of Text in order", l)
		j++
	}
}
