package mailparse

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCleanText(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ text, want string }{
		"AttributionWrappedOverTwoLines": {
			"Yes, Tuesday works.\n\nOn Mon, Nov 23, 2026 at 10:14 AM Sarah Chen <\nsarah@x.io> wrote:\n\n> Hi\n",
			"Yes, Tuesday works.",
		},
		"FrenchAttribution": {
			"Merci, c'est noté.\n\nLe lun. 23 nov. 2026 à 10:14, Sarah Chen <sarah@x.io> a écrit :\n> Bonjour\n",
			"Merci, c'est noté.",
		},
		"FrenchAttributionWrapped": {
			"Merci.\n\nLe lun. 23 nov. 2026 à 10:14, Sarah Chen <sarah@x.io> a\nécrit :\n> Bonjour\n",
			"Merci.",
		},
		"GermanAttribution": {
			"Danke, passt.\n\nAm Mo., 23. Nov. 2026 um 10:14 Uhr schrieb Sarah Chen <\nsarah@x.io>:\n\n> Hallo\n",
			"Danke, passt.",
		},
		"SpanishAttribution": {
			"Gracias.\n\nEl lun, 23 nov 2026 a las 10:14, Sarah Chen (<sarah@x.io>) escribió:\n> Hola\n",
			"Gracias.",
		},
		"DutchAttribution": {
			"Prima.\n\nOp ma 23 nov 2026 om 10:14 schreef Sarah Chen <sarah@x.io>:\n> Hallo\n",
			"Prima.",
		},
		"AttributionWithoutQuotePrefix": {
			// Outlook mobile and Yahoo put the original under the line unquoted.
			"Sure.\n\nOn Monday, November 23, 2026, 10:14 AM, Sarah Chen <sarah@x.io> wrote:\n\nHi Tom, quick question\n",
			"Sure.",
		},
		"OutlookGermanHeaderBlock": {
			"Passt.\n\nVon: Sarah Chen <sarah@x.io>\nGesendet: Montag, 23. November 2026 10:14\nAn: Klaus\nBetreff: Termin\n\nHallo Klaus\n",
			"Passt.",
		},
		"OutlookFrenchHeaderBlock": {
			"OK.\n\nDe : Sarah Chen <sarah@x.io>\nEnvoyé : lundi 23 novembre 2026 10:14\nÀ : Julien\nObjet : Rendez-vous\n\nBonjour\n",
			"OK.",
		},
		"GmailBoldHeaderBlock": {
			"Forwarding.\n\n*From:* Sarah Chen <sarah@x.io>\n*Sent:* Monday, November 23, 2026 10:14 AM\n*To:* Tom\n*Subject:* Hi\n\nHi Tom\n",
			"Forwarding.",
		},
		"BottomPostedUnderAttribution": {
			"On Mon, Nov 23, 2026 at 10:14 AM Sarah Chen <sarah@x.io> wrote:\n> How big is the team?\n\nTwelve people.\n\n> Which CRM?\n\nHubSpot.\n",
			"Twelve people.\n\nHubSpot.",
		},
		"BottomPostedUnderWrappedAttribution": {
			"On Mon, Nov 23, 2026 at 10:14 AM Sarah Chen <\nsarah@x.io> wrote:\n\n> How big is the team?\n\nTwelve people.\n",
			"Twelve people.",
		},
		"FromLineAloneIsText": {
			// One "From:" line without the rest of a header block is prose.
			"From: the sales team, thanks for the call.\nWe will decide next week.",
			"From: the sales team, thanks for the call.\nWe will decide next week.",
		},
		"ThunderbirdOriginalMessage": {
			"See below.\n\n-------- Original Message --------\nSubject: Hi\nDate: 23.11.2026\n\nHello\n",
			"See below.",
		},
		"GermanOriginalMessage": {
			"Siehe unten.\n\n-----Ursprüngliche Nachricht-----\nVon: Sarah\n",
			"Siehe unten.",
		},
		"SignatureDashesWithoutSpace": {
			"Sounds good.\n--\nBob\n",
			"Sounds good.",
		},
		"SentFromMyPhoneGerman": {
			"Gerne.\n\nVon meinem iPhone gesendet\n\n> Am 23.11.2026 um 10:14 schrieb Sarah:\n",
			"Gerne.",
		},
		"GetOutlookForIOS": {
			"Yes.\n\nGet Outlook for iOS<https://aka.ms/o0ukef>\n________________________________\nFrom: Sarah\nSent: Monday\nTo: Tom\n",
			"Yes.",
		},
		"OnlyQuote": {
			"> quoted\n> more\n",
			"",
		},
		"ProseStartingWithOnIsKept": {
			"On Monday we signed with another vendor.\nThanks anyway.",
			"On Monday we signed with another vendor.\nThanks anyway.",
		},
		"BlankLinesLeftByQuotesCollapse": {
			"> q1\n\nA1\n\n\n> q2\n\n\nA2\n",
			"A1\n\nA2",
		},
		"CRLFAlreadyNormalised": {
			"Hello\n\n-- \nsig",
			"Hello",
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := cleanText(tc.text)
			require.Equal(t, tc.want, got)
			requireLinesSubsequence(t, got, tc.text)
		})
	}
}

func TestUnflow(t *testing.T) {
	t.Parallel()
	require.Equal(t, "one two three\nfour", unflow("one \ntwo \nthree\nfour", false))
	require.Equal(t, "onetwo", unflow("one \ntwo", true), "DelSp=yes drops the joining space")
	require.Equal(t, "> a b\n>> c", unflow("> a \n> b\n>> c", false), "quote depths do not join")
	require.Equal(t, "From me", unflow(" From me", false), "space-stuffing is undone")
	require.Equal(t, "text\n-- \nsig", unflow("text\n-- \nsig", false), "the signature separator is no soft break")
}

func TestSnippet(t *testing.T) {
	t.Parallel()
	require.Equal(t, "a b c", snippet("  a\n\n b\t c  "))
	long := strings.Repeat("word ", 100)
	s := snippet(long)
	require.LessOrEqual(t, len([]rune(s)), SnippetRunes)
	require.True(t, strings.HasSuffix(s, "word…"), s)
	one := strings.Repeat("é", 500) // no space to cut at
	require.Equal(t, SnippetRunes, len([]rune(snippet(one))))
}

func TestFindReturnDate(t *testing.T) {
	t.Parallel()
	// Monday 30 November 2026, 09:00 in Berlin.
	base := time.Date(2026, 11, 30, 9, 0, 0, 0, time.FixedZone("CET", 3600))
	for text, want := range map[string]string{
		"I will be back on Monday.":                            "2026-12-07", // the next Monday, not today
		"I'm back on Wednesday":                                "2026-12-02",
		"I am out of the office until 3 December.":             "2026-12-04",
		"out of the office till December 3rd, 2026":            "2026-12-04",
		"I'm away until Friday.":                               "2026-12-05", // the day after Friday 4th
		"returning 12/05/2026":                                 "2026-12-05", // month/day: the reading ahead of the notice
		"returning 05/12/2026":                                 "2026-12-05", // day/month
		"back 2026-12-09":                                      "2026-12-09",
		"back in the office on Tuesday, 8 December":            "2026-12-08",
		"I will return on Monday the 14th.":                    "2026-12-14",
		"on leave from 1 to 11 December":                       "2026-12-12",
		"Ich bin bis zum 3. Dezember nicht im Büro.":           "2026-12-04",
		"Ich bin bis 03.12.2026 nicht erreichbar.":             "2026-12-04",
		"Ab dem 7.12. bin ich wieder im Büro.":                 "2026-12-07",
		"Je suis absent jusqu'au 4 décembre.":                  "2026-12-05",
		"Je serai de retour le 7 décembre.":                    "2026-12-07",
		"Estoy fuera de la oficina hasta el 3 de diciembre.":   "2026-12-04",
		"Ik ben afwezig tot en met 4 december.":                "2026-12-05",
		"Estou de férias até 3 de dezembro.":                   "2026-12-04",
		"Sono fuori ufficio fino al 3 dicembre.":               "2026-12-04",
		"Rientro il 9 dicembre.":                               "2026-12-09",
		"I am on annual leave until 5 January.":                "2027-01-06", // next year: January is past
		"out until Friday 4 Dec, back Monday 7 Dec":            "2026-12-07", // "back" beats "until"
		"I am out of the office with limited access to email.": "",
		"Ab 1. Dezember bin ich im Urlaub.":                    "", // "ab" without "wieder" is the start
		"I am out of the office until further notice.":         "",
		"back on 31 February":                                  "",
		"I am out of the office until 3 December 2019":         "", // long past: a misreading
	} {
		got := findReturnDate(text, base)
		if want == "" {
			require.True(t, got.IsZero(), "%q: got %v", text, got)
			continue
		}
		require.Equal(t, want, got.Format(time.DateOnly), text)
		require.Equal(t, base.Location(), got.Location(), text)
	}
}

// mail builds a small message with the given header lines and body.
func mail(headers, body string) []byte {
	return []byte("From: A <a@example.com>\r\nTo: b@example.com\r\nDate: Mon, 30 Nov 2026 09:00:00 +0000\r\n" +
		strings.ReplaceAll(headers, "\n", "\r\n") + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body)
}

func TestAutoReply(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		headers, body string
		want          AutoReply
	}{
		"AutoSubmittedNo": {
			"Auto-Submitted: no\nSubject: Re: hi\n", "Sounds good.",
			AutoReply{},
		},
		"AutoGeneratedWithoutOOO": {
			"Auto-Submitted: auto-generated\nSubject: Your ticket #123\n", "We received your request.",
			AutoReply{Is: true, Reason: "Auto-Submitted: auto-generated"},
		},
		"XAutorespond": {
			"X-Autorespond: yes\nSubject: Re: hi\n", "Thanks for writing, we will get back to you.",
			AutoReply{Is: true, Reason: "X-Autorespond header"},
		},
		"PrecedenceAutoReply": {
			"Precedence: auto_reply\nSubject: Re: hi\n", "Thanks for writing.",
			AutoReply{Is: true, Reason: "Precedence: auto_reply"},
		},
		"PrecedenceJunkWithOOO": {
			"Precedence: junk\nSubject: Out of Office\n", "Thanks for writing.",
			AutoReply{Is: true, OutOfOffice: true, Reason: "Precedence: junk; subject: Out of Office"},
		},
		"PrecedenceBulkWithPhrasing": {
			"Precedence: bulk\nSubject: Re: hi\n", "I am currently out of the office.",
			AutoReply{Is: true, OutOfOffice: true, Reason: "Precedence: bulk; out-of-office phrasing"},
		},
		"SubjectAutoPrefix": {
			"Subject: Auto: Re: hi\n", "I'm out of the office.",
			AutoReply{Is: true, OutOfOffice: true, Reason: "subject: Auto; out-of-office phrasing"},
		},
		"SubjectAutosvar": {
			"Subject: Autosvar: hi\n", "Tack för ditt mejl.",
			AutoReply{Is: true, OutOfOffice: true, Reason: "subject: Autosvar"}, // Outlook's OOF prefix
		},
		"ExchangeHeadersAlone": {
			"X-Auto-Response-Suppress: All\nX-MS-Exchange-Inbox-Rules-Loop: a@example.com\nSubject: RE: hi\n", "Fine by me.",
			AutoReply{},
		},
		"PhrasingAloneDutch": {
			"Subject: Re: hi\n", "Ik ben momenteel afwezig.",
			AutoReply{Is: true, OutOfOffice: true, Reason: "out-of-office phrasing"},
		},
		"PhrasingAlonePortuguese": {
			"Subject: Re: hi\n", "Estou de férias.",
			AutoReply{Is: true, OutOfOffice: true, Reason: "out-of-office phrasing"},
		},
		"PhrasingAloneItalian": {
			"Subject: Re: hi\n", "Sono fuori ufficio.",
			AutoReply{Is: true, OutOfOffice: true, Reason: "out-of-office phrasing"},
		},
		"PhrasingInQuoteDoesNotCount": {
			"Subject: Re: hi\n", "Great, let's talk.\n\n> I am out of the office until Monday.\n",
			AutoReply{},
		},
		"AutomaticReplyWithoutPhrasing": {
			"Auto-Submitted: auto-generated\nSubject: Automatic reply: hi\n", "Thanks, I will get back to you after 7 December.",
			AutoReply{Is: true, OutOfOffice: true, Reason: "Auto-Submitted: auto-generated; subject: Automatic reply"},
		},
		"ImAway": {
			"Subject: Re: hi\n", "I'm away until next week.",
			AutoReply{Is: true, OutOfOffice: true, Reason: "out-of-office phrasing"},
		},
		"LimitedAccess": {
			"Subject: Re: hi\n", "Travelling this week with limited access to email.",
			AutoReply{Is: true, OutOfOffice: true, Reason: "out-of-office phrasing"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m, err := Parse(mail(tc.headers, tc.body))
			require.NoError(t, err)
			got := m.AutoReply
			got.ReturnDate = time.Time{}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestReturnDateWithoutDateHeaderIsRelativeToNow(t *testing.T) {
	t.Parallel()
	m, err := Parse([]byte("From: a@example.com\r\nSubject: Out of Office\r\nAuto-Submitted: auto-replied\r\n\r\nI am out of the office until Monday."))
	require.NoError(t, err)
	require.True(t, m.Date.IsZero())
	require.True(t, m.AutoReply.OutOfOffice)
	rd := m.AutoReply.ReturnDate
	require.Equal(t, time.Tuesday, rd.Weekday(), "the day after the coming Monday")
	require.True(t, rd.After(time.Now()) && rd.Before(time.Now().AddDate(0, 0, 9)), "%v", rd)
}

func TestHeader(t *testing.T) {
	t.Parallel()
	m, err := Parse(readFixture(t, "german_ooo.eml"))
	require.NoError(t, err)
	require.Equal(t, "Abwesenheitsnotiz: Rückfrage zu Ihrem Vertrieb", m.Header("subject"))
	require.Equal(t, "auto-replied (vacation)", m.Header("Auto-Submitted"))
	require.Equal(t, "", m.Header("X-Missing"))
	require.Equal(t, []string{"Klaus Weber <k.weber@mueller-example.de>"}, m.HeaderValues("From"))

	m, err = Parse(readFixture(t, "gmail_reply.eml"))
	require.NoError(t, err)
	recv := m.HeaderValues("Received")
	require.Len(t, recv, 1)
	require.True(t, strings.HasPrefix(recv[0], "by 2002:a05:6a10:9e8f"), "folded value unfolded: %q", recv[0])
}

func TestParseMalformed(t *testing.T) {
	t.Parallel()
	t.Run("NoHeaderAtAll", func(t *testing.T) {
		t.Parallel()
		_, err := Parse([]byte("this is not a header\r\nnor this\r\n\r\nbody"))
		require.Error(t, err)
	})
	t.Run("EmptyInputIsAnEmptyMessage", func(t *testing.T) {
		t.Parallel()
		m, err := Parse(nil)
		require.NoError(t, err)
		require.Equal(t, "", m.Text)
	})
	t.Run("TruncatedMultipartKeepsTheTextRead", func(t *testing.T) {
		t.Parallel()
		raw := "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nStill here.\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLj"
		m, err := Parse([]byte(raw))
		require.NoError(t, err)
		require.Equal(t, "Still here.", m.Clean)
	})
	t.Run("UnknownCharsetAndEncoding", func(t *testing.T) {
		t.Parallel()
		raw := "From: a@example.com\r\nSubject: =?x-unknown?Q?caf=E9?=\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nplain caf\xe9\r\n--b\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n<p>hi</p>\r\n--b--\r\n"
		m, err := Parse([]byte(raw))
		require.NoError(t, err)
		require.Equal(t, "plain café", m.Clean, "undeclared bytes read as Windows-1252")
		require.Equal(t, "=?x-unknown?Q?caf=E9?=", m.Subject, "an undecodable word is kept as it is")
		requireInvariants(t, m)
	})
	t.Run("MultipartWithoutBoundaryIsText", func(t *testing.T) {
		t.Parallel()
		m, err := Parse([]byte("From: a@example.com\r\nContent-Type: multipart/mixed\r\n\r\nhello"))
		require.NoError(t, err)
		require.Equal(t, "hello", m.Text)
	})
	t.Run("BrokenBase64CountsWhatDecoded", func(t *testing.T) {
		t.Parallel()
		raw := "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA!!!!\r\n--b--\r\n"
		m, err := Parse([]byte(raw))
		require.NoError(t, err)
		require.Len(t, m.Attachments, 1)
		require.Equal(t, int64(3), m.Attachments[0].Size)
	})
	t.Run("TextAttachmentIsNoBody", func(t *testing.T) {
		t.Parallel()
		raw := "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nbody\r\n--b\r\nContent-Type: text/plain; name=notes.txt\r\nContent-Disposition: attachment; filename=notes.txt\r\n\r\nnotes\r\n--b\r\nContent-Type: text/calendar; method=REQUEST\r\n\r\nBEGIN:VCALENDAR\r\n--b--\r\n"
		m, err := Parse([]byte(raw))
		require.NoError(t, err)
		require.Equal(t, "body", m.Text)
		require.Equal(t, []Attachment{
			{Filename: "notes.txt", ContentType: "text/plain", Size: 5},
			{ContentType: "text/calendar", Size: 15},
		}, m.Attachments)
	})
	t.Run("AngleBracketsMissingAndExtra", func(t *testing.T) {
		t.Parallel()
		m, err := Parse([]byte("Message-ID: abc@x\r\nReferences: <a@x> <b@x>\r\n\t<c@x>\r\nIn-Reply-To: <c@x> (Sarah's message)\r\n\r\n"))
		require.NoError(t, err)
		require.Equal(t, "abc@x", m.MessageID)
		require.Equal(t, []string{"a@x", "b@x", "c@x"}, m.References)
		require.Equal(t, "c@x", m.InReplyTo)
	})
}

func TestInvalidUTF8(t *testing.T) {
	t.Parallel()
	require.Equal(t, "café", latin1Fallback("caf\xe9"), "no UTF-8 at all: Windows-1252")
	require.Equal(t, "“quoted” €", latin1Fallback("\x93quoted\x94 \x80"))
	require.Equal(t, "Grüße \uFFFD", latin1Fallback("Grüße \xff"), "UTF-8 with a stray byte stays UTF-8")
}

func TestHTMLToText(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ html, text, clean string }{
		"AppleMailBlockquote": {
			`<html><body style="overflow-wrap: break-word;">Works for me.<br><div><br><blockquote type="cite"><div>On 23 Nov 2026, at 18:40, Sarah Chen &lt;sarah@x.io&gt; wrote:</div><br><div>Hi</div></blockquote></div></body></html>`,
			"Works for me.",
			"Works for me.",
		},
		"AppleMailAttributionOutsideQuote": {
			`<div>Works for me.</div><div><br><div>On 23 Nov 2026, at 18:40, Sarah Chen &lt;sarah@x.io&gt; wrote:</div><br><blockquote type="cite">Hi</blockquote></div>`,
			"Works for me.\n\nOn 23 Nov 2026, at 18:40, Sarah Chen <sarah@x.io> wrote:",
			"Works for me.",
		},
		"OutlookDesktopWordHTML": {
			`<div class=WordSection1><p class=MsoNormal>Thanks, not now.<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p>` +
				`<div style='border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0in 0in 0in'><p class=MsoNormal><b>From:</b> Sarah Chen &lt;sarah@x.io&gt; <br><b>Sent:</b> Monday, November 23, 2026 10:14 AM<br><b>To:</b> Bo<br><b>Subject:</b> Hi<o:p></o:p></p></div>` +
				`<p class=MsoNormal>Hi Bo<o:p></o:p></p></div>`,
			"Thanks, not now.\n\nFrom: Sarah Chen <sarah@x.io>\nSent: Monday, November 23, 2026 10:14 AM\nTo: Bo\nSubject: Hi\n\nHi Bo",
			"Thanks, not now.",
		},
		"ThunderbirdCitePrefix": {
			`<p>Yes.</p><div class="moz-cite-prefix">On 23/11/2026 10:14, Sarah Chen wrote:<br></div><blockquote type="cite" cite="mid:x@y">Hi</blockquote><pre class="moz-signature" cols="72">Piotr</pre>`,
			"Yes.\n\n-- \nPiotr",
			"Yes.",
		},
		"ScriptStyleAndEntities": {
			`<style>p{color:red}</style><script>alert(1)</script><p>Fish &amp; chips&nbsp;&lt;3</p><ul><li>one</li><li>two</li></ul>`,
			"Fish & chips <3\n\n- one\n- two",
			"Fish & chips <3\n\n- one\n- two",
		},
		"PreKeepsInnerSpacing": {
			"<pre>a  b\n  c</pre>",
			"a  b\nc",
			"a  b\nc",
		},
		"UnclosedQuoteDropsTheRest": {
			`<div>Top</div><blockquote><div>quoted<div>`,
			"Top",
			"Top",
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			text := htmlToText(tc.html)
			require.Equal(t, tc.text, text)
			require.Equal(t, tc.clean, cleanText(text))
		})
	}
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Mon, 23 Nov 2026 10:02:09 +0000":       "2026-11-23T10:02:09Z",
		"Mon, 23 Nov 2026 10:02:09 +0000 (UTC)": "2026-11-23T10:02:09Z",
		"Mon,  3 Nov 2026 10:02:09 +0100":       "2026-11-03T10:02:09+01:00",
		"23 Nov 2026 17:05:00 +0100":            "2026-11-23T17:05:00+01:00",
		"Mon, 23 Nov 2026 10:02 -0500":          "2026-11-23T10:02:00-05:00",
		"Mon Nov 23 10:02:09 2026":              "2026-11-23T10:02:09Z",
		"Mon,23 Nov 2026 10:02:09 +0000":        "2026-11-23T10:02:09Z",
		"2026-11-23T10:02:09+02:00":             "2026-11-23T10:02:09+02:00",
		"yesterday":                             "",
		"":                                      "",
	} {
		got := parseDate(in)
		if want == "" {
			require.True(t, got.IsZero(), in)
			continue
		}
		require.Equal(t, want, got.Format(time.RFC3339), in)
	}
}

func TestMultipartEdgeCases(t *testing.T) {
	t.Parallel()
	t.Run("MultipartWithoutAnyBoundaryLineIsText", func(t *testing.T) {
		t.Parallel()
		m, err := Parse([]byte("Content-Type: multipart/alternative; boundary=zzz\r\n\r\nJust text, no parts.\r\n"))
		require.NoError(t, err)
		require.Equal(t, "Just text, no parts.", m.Clean)
	})
	t.Run("UnclosedLastPartIsKept", func(t *testing.T) {
		t.Parallel()
		m, err := Parse([]byte("Content-Type: multipart/alternative; boundary=zzz\r\n\r\npreamble\r\n--zzz\r\nContent-Type: text/plain\r\n\r\nin part, no close"))
		require.NoError(t, err)
		require.Equal(t, "in part, no close", m.Text)
	})
	t.Run("TooDeepIsSkipped", func(t *testing.T) {
		t.Parallel()
		var b strings.Builder
		b.WriteString("Content-Type: multipart/mixed; boundary=b0\r\n\r\n")
		for i := 1; i <= 40; i++ {
			b.WriteString("--b" + strconv.Itoa(i-1) + "\r\nContent-Type: multipart/mixed; boundary=b" + strconv.Itoa(i) + "\r\n\r\n")
		}
		b.WriteString("--b40\r\nContent-Type: text/plain\r\n\r\ndeep\r\n")
		m, err := Parse([]byte(b.String()))
		require.NoError(t, err)
		require.Equal(t, "", m.Text, "nothing of the too-deep parts, boundaries included, becomes text")
	})
}

func TestHeaderOrder(t *testing.T) {
	t.Parallel()
	m, err := Parse([]byte("Received: first\r\nReceived: second\r\nX-Tag: =?utf-8?q?caf=C3=A9?=\r\n\r\nbody"))
	require.NoError(t, err)
	require.Equal(t, "first", m.Header("received"), "the first field in message order")
	require.Equal(t, []string{"first", "second"}, m.HeaderValues("Received"))
	require.Equal(t, "café", m.Header("X-Tag"))
	require.Nil(t, m.HeaderValues("X-None"))
}
