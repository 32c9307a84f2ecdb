package bounce

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type wantRcpt struct {
	addr   string
	status string
	hard   bool
}

type fixture struct {
	file    string
	kind    Kind
	format  string
	rcpts   []wantRcpt
	msgID   string
	subject string // OriginalSubject, checked when set
	fbType  string // FeedbackType, checked when set
}

// fixtures covers every recognised producer. The expectations were read off
// the messages by hand, not produced by the code under test.
var fixtures = []fixture{
	// RFC 3464 multipart/report producers.
	{file: "postfix-dmarc.eml", kind: KindBounce, format: "postfix",
		rcpts: []wantRcpt{{"kijitora@google.example.com", "5.7.26", false}},
		msgID: "20201113004243.AF578C0196A@smtp.example.jp", subject: "TEST FOR DMARC #1"},
	{file: "postfix-userunknown.eml", kind: KindBounce, format: "postfix",
		rcpts: []wantRcpt{{"john.doe@acme-widgets.example", "5.1.1", true}},
		msgID: "lp-018fdcb1-7e2a-7c11-b3f4-0d9e8c7b6a51@leadpilot.example", subject: "John, a quick idea for Acme’s outbound"},
	{file: "postfix-delayed.eml", kind: KindDelay, format: "postfix",
		rcpts: []wantRcpt{{"ops@slowcorp.example", "4.4.1", false}},
		msgID: "lp-0190ba3c-1d2e-7f00-8a9b-c0d1e2f3a4b5@leadpilot.example"},
	{file: "sendmail-dsn.eml", kind: KindBounce, format: "sendmail",
		rcpts: []wantRcpt{{"userunknown@bouncehammer.jp", "5.1.1", true}},
		msgID: "E1C50F1B-1C83-4820-BC36-AC6FBFBE8568@example.org", subject: "バウンスメールのテスト(日本語)"},
	{file: "exchange2007-size.eml", kind: KindBounce, format: "exchange",
		rcpts: []wantRcpt{{"john.smith@eu.a.b.c", "5.2.3", false}},
		msgID: "20100629141825.BC9AC16586D3@server4.example.co.uk"},
	{file: "office365-notfound.eml", kind: KindBounce, format: "exchange",
		rcpts: []wantRcpt{{"nobody@contoso.example", "5.1.10", true}},
		msgID: "lp-0191e6f7-3a2b-7c4d-9e8f-0a1b2c3d4e5f@leadpilot.example"},
	{file: "office365-spamblock.eml", kind: KindBounce, format: "exchange",
		rcpts: []wantRcpt{{"jane.roe@hotmail.example", "5.7.1", false}},
		msgID: "lp-01920e4b-6c7d-7e8f-9a0b-1c2d3e4f5a6b@leadpilot.example"},
	{file: "gmail-dsn-notfound.eml", kind: KindBounce, format: "gmail",
		rcpts: []wantRcpt{{"no.such.person@gmail.com", "5.1.1", true}},
		msgID: "lp-0192af10-1b2c-7d3e-8f4a-5b6c7d8e9f01@leadpilot.example", subject: "Loved your talk at SaaStr"},
	{file: "gmail-dsn-delay.eml", kind: KindDelay, format: "gmail",
		rcpts: []wantRcpt{{"buyer@fragile-mx.example", "4.4.2", false}},
		msgID: "lp-0192b0aa-0c1d-7e2f-8a3b-4c5d6e7f8a90@leadpilot.example"},
	{file: "ses-mailboxfull.eml", kind: KindBounce, format: "ses",
		rcpts: []wantRcpt{{"kijitora@example.jp", "5.1.0", false}},
		msgID: "00000132d6ca0cd4-ff6d8ee5-29a0-4501-a68a-3ff8695254bb-000000@email.amazonses.com"},
	{file: "ses-userunknown.eml", kind: KindBounce, format: "ses",
		rcpts: []wantRcpt{{"ghost@vanished.example", "5.1.1", true}},
		msgID: "010001902b3c1a2b-3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f-000000@email.amazonses.com"},
	{file: "courier-rfc3464.eml", kind: KindBounce, format: "rfc3464",
		rcpts: []wantRcpt{{"kijitora@courier-host.example", "5.0.0", true}},
		msgID: "51694F49.8040203@example.org"},

	// Non-standard text bounces.
	{file: "qmail-userunknown.eml", kind: KindBounce, format: "qmail",
		rcpts: []wantRcpt{{"kijitora@example.ne.jp", "5.5.0", true}},
		msgID: "000000000.9999999999999.JavaMail.postmaster@mailhub"},
	{file: "qmail-mailboxfull.eml", kind: KindBounce, format: "qmail",
		rcpts: []wantRcpt{{"full.box@customer.example.org", "5.2.2", false}},
		msgID: "lp-0191f7a2-5c1e-7b3a-9d2e-8a1f0c3b4d5e@leadpilot.example"},
	{file: "yahoo-userunknown.eml", kind: KindBounce, format: "yahoo",
		rcpts: []wantRcpt{{"kijitora@example.org", "5.1.1", true}},
		msgID: "1405298043.98012.YahooMailNeo@web160104.mail.bf1.yahoo.com"},
	{file: "exim-userunknown.eml", kind: KindBounce, format: "exim",
		rcpts: []wantRcpt{{"kijitora@example.jp", "5.1.1", true}, {"sabatora@example.jp", "5.2.1", true}},
		msgID: "E1X58pB-0004bW-2s@marutamachi.example.org", subject: "test from Exim 1"},
	{file: "exim-quota.eml", kind: KindBounce, format: "exim",
		rcpts: []wantRcpt{{"office@smallbiz.example.co.uk", "", false}},
		msgID: "lp-018f76a1-2b3c-7d4e-8f90-a1b2c3d4e5f6@leadpilot.example"},
	{file: "exim-delay.eml", kind: KindDelay, format: "exim",
		rcpts: []wantRcpt{{"slow.user@laggy.example.org", "4.7.1", false}}},
	{file: "sendmail-old.eml", kind: KindBounce, format: "sendmail",
		rcpts: []wantRcpt{{"mikeneko@example.com", "", true}},
		msgID: "200403041512.KAA02815@legacy.example.com", subject: "Meeting next week"},
	{file: "postfix-text.eml", kind: KindBounce, format: "postfix",
		rcpts: []wantRcpt{{"kijitora@example.net", "5.1.1", true}},
		msgID: "20111110190504.5E2D81C0F1@mail.oldhost.example"},
	{file: "exchange2003-text.eml", kind: KindBounce, format: "exchange",
		rcpts: []wantRcpt{{"kijitora@example.jp", "", true}},
		msgID: "00000000000.ffffffffffff.ff@example.net"},
	{file: "exchange2010-text.eml", kind: KindBounce, format: "exchange",
		rcpts: []wantRcpt{{"hans.mueller@corp.example.com", "5.1.1", true}},
		msgID: "lp-0159c2d4-aa01-4b2c-8d3e-112233445566@leadpilot.example", subject: "Partnership idea"},
	{file: "gmail-legacy.eml", kind: KindBounce, format: "gmail",
		rcpts: []wantRcpt{{"kijitora@example.jp", "5.1.1", true}},
		msgID: "CAJtXvRm7mqHw=2Ab8HnN+gNgmH7DqF9KmLiD5xXQ4K3Pv2hPwA@mail.gmail.com"},
	{file: "domino-notlisted.eml", kind: KindBounce, format: "domino",
		rcpts: []wantRcpt{{"kijitora@example.jp", "", true}}},
	{file: "notes-failure.eml", kind: KindBounce, format: "notes",
		rcpts: []wantRcpt{{"kijitora@u1.example.co.jp", "", false}},
		msgID: "000000000.0000000000000.notes@example.co.jp"},
	{file: "xfailed-only.eml", kind: KindBounce, format: "x-failed-recipients",
		rcpts: []wantRcpt{{"left.company@provider-customer.example", "5.1.1", true}},
		msgID: "lp-018e2c3d-4e5f-7a6b-8c9d-0e1f2a3b4c5d@leadpilot.example"},
	{file: "heuristic-mdaemon.eml", kind: KindBounce, format: "heuristic",
		rcpts: []wantRcpt{{"former.employee@smallco.example", "5.1.1", true}},
		msgID: "lp-018d6a1b-2c3d-7e4f-8a9b-0c1d2e3f4a5b@leadpilot.example"},

	// ARF complaints.
	{file: "arf-terra.eml", kind: KindComplaint, format: "arf", fbType: "abuse",
		msgID: "f6fbba8a761ce682e1b00a323a21b372@example.net", subject: "Pronta Entrega"},
	{file: "arf-rfc5965.eml", kind: KindComplaint, format: "arf", fbType: "abuse",
		rcpts: []wantRcpt{{"complainer@example.com", "", false}, {"user@example.com", "", false}},
		msgID: "8787KJKJ3K4J3K4J3K4J3.mail@example.net"},
	{file: "arf-yahoo.eml", kind: KindComplaint, format: "arf", fbType: "abuse",
		rcpts: []wantRcpt{{"annoyed.prospect@yahoo.com", "", false}},
		msgID: "lp-0192d9f0-4a5b-7c6d-8e7f-901a2b3c4d5e@leadpilot.example"},
	{file: "arf-microsoft-jmrp.eml", kind: KindComplaint, format: "arf", fbType: "abuse",
		rcpts: []wantRcpt{{"pat.lee@outlook.example", "", false}},
		msgID: "lp-0192ff3a-5b6c-7d8e-9f0a-1b2c3d4e5f60@leadpilot.example", subject: "Can I steal 10 minutes?"},
	{file: "jmrp-microsoft.eml", kind: KindComplaint, format: "jmrp", fbType: "abuse",
		rcpts: []wantRcpt{{"chris.tan@hotmail.example", "", false}},
		msgID: "lp-01934d6e-7f80-7192-a3b4-c5d6e7f8091a@leadpilot.example", subject: "Chris, 3 ideas for your outbound"},
	{file: "ses-complaint.eml", kind: KindComplaint, format: "ses", fbType: "abuse",
		rcpts: []wantRcpt{{"reporter@isp.example", "", false}},
		msgID: "lp-019329a0-0a1b-7c2d-8e3f-4a5b6c7d8e9f@leadpilot.example"},
}

// notBounces must all return nil.
var notBounces = []string{
	"not-reply-quoting-undelivered.eml",
	"not-out-of-office.eml",
	"not-human-user-unknown.eml",
	"not-read-receipt.eml",
	"not-delivered-dsn.eml",
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func TestDetect(t *testing.T) {
	t.Parallel()
	for _, fx := range fixtures {
		t.Run(strings.TrimSuffix(fx.file, ".eml"), func(t *testing.T) {
			t.Parallel()
			rep := Detect(readFixture(t, fx.file))
			require.NotNil(t, rep, "expected a report")
			require.Equal(t, fx.kind, rep.Kind)
			require.Equal(t, fx.format, rep.Format)
			require.Len(t, rep.Recipients, len(fx.rcpts), "recipients: %+v", rep.Recipients)
			for i, w := range fx.rcpts {
				got := rep.Recipients[i]
				require.Equal(t, w.addr, got.Address)
				require.Equal(t, w.status, got.Status, "status of %s (diag %q)", w.addr, got.Diagnostic)
				require.Equal(t, w.hard, got.Hard, "hard of %s (status %s, diag %q)", w.addr, got.Status, got.Diagnostic)
				require.LessOrEqual(t, len(got.Diagnostic), maxDiagnostic)
				if fx.kind == KindBounce {
					require.NotEmpty(t, got.Action)
				}
			}
			require.Equal(t, fx.msgID, rep.OriginalMessageID)
			if fx.subject != "" {
				require.Equal(t, fx.subject, rep.OriginalSubject)
			}
			if fx.fbType != "" {
				require.Equal(t, fx.fbType, rep.FeedbackType)
			}
			require.NotEmpty(t, rep.Reporter)
		})
	}
}

func TestDetectRejectsOrdinaryMail(t *testing.T) {
	t.Parallel()
	for _, name := range notBounces {
		t.Run(strings.TrimSuffix(name, ".eml"), func(t *testing.T) {
			t.Parallel()
			require.Nil(t, Detect(readFixture(t, name)))
		})
	}
}

func TestFixturesCoverEnoughProducers(t *testing.T) {
	t.Parallel()
	formats := map[string]bool{}
	for _, fx := range fixtures {
		formats[fx.format] = true
	}
	require.GreaterOrEqual(t, len(fixtures), 25)
	require.GreaterOrEqual(t, len(formats), 9)
	// Every file in testdata is in one of the two tables.
	listed := map[string]bool{}
	for _, fx := range fixtures {
		listed[fx.file] = true
	}
	for _, n := range notBounces {
		listed[n] = true
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.eml"))
	require.NoError(t, err)
	for _, f := range files {
		require.True(t, listed[filepath.Base(f)], "fixture %s is not asserted", f)
	}
}
