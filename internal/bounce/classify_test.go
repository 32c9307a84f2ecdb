package bounce

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIsHard(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name           string
		action, status string
		text           string
		hard           bool
	}{
		{"UserUnknownIsHard", "failed", "5.1.1", "550 5.1.1 user unknown", true},
		{"BadDomainIsHard", "failed", "5.1.2", "Host or domain name not found", true},
		{"DisabledMailboxIsHard", "failed", "5.2.1", "account disabled", true},
		{"MailboxFullIsSoft", "failed", "5.2.2", "552 5.2.2 mailbox full", false},
		{"FullWordingBeatsCode", "failed", "5.1.0", "Unknown address error 550-'5.2.2 Mailbox Full'", false},
		{"MessageTooLargeIsSoft", "failed", "5.3.4", "message too big for system", false},
		{"SpamBlockIsSoft", "failed", "5.7.1", "blocked using Spamhaus; see https://www.spamhaus.org", false},
		{"PolicyRefusalNamingUnknownUserIsHard", "failed", "5.7.1", "5.7.1 <x@y>: Recipient address rejected: Access denied, user unknown", true},
		{"DelayedIsSoft", "delayed", "4.4.1", "connection timed out", false},
		{"TransientClassIsSoft", "failed", "4.2.2", "over quota", false},
		{"GreylistWithoutCodeIsSoft", "failed", "", "Greylisted, please try again later", false},
		{"BasicCode550IsHard", "failed", "", "550 Requested action not taken: mailbox unavailable", true},
		{"BasicCode550PolicyIsSoft", "failed", "", "550 Message rejected as spam by Content Filtering", false},
		{"BasicCode421IsSoft", "failed", "", "421 Service not available", false},
		{"PhraseWithoutCodeIsHard", "failed", "", "The recipient name is not recognized", true},
		{"NothingKnownIsSoft", "failed", "", "Something went wrong", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, c.hard, isHard(c.action, c.status, c.text))
		})
	}
}

func TestRefineStatus(t *testing.T) {
	t.Parallel()
	require.Equal(t, "5.1.1", refineStatus("5.1.1", "550 5.7.1 whatever"))
	require.Equal(t, "5.1.0", refineStatus("5.0.0 (permanent failure)", "5.1.0 - Unknown address error 550-'5.2.2 full'"))
	require.Equal(t, "5.0.0", refineStatus("5.0.0", "550 4.2.2 odd"))
	require.Equal(t, "4.7.1", refineStatus("", "451 4.7.1 greylisted"))
	require.Equal(t, "", refineStatus("", "550 no code"))
	require.Equal(t, "5.1.10", refineStatus("5.1.10", ""))
}

func TestCleanAddress(t *testing.T) {
	t.Parallel()
	require.Equal(t, "a.b@c.example", cleanAddress("rfc822; <A.B@C.Example>"))
	require.Equal(t, "a@b.example", cleanAddress("RFC822;a@b.example"))
	require.Equal(t, "x@y.example", cleanAddress(`"X" <x@y.example> (comment)`))
	require.Equal(t, "", cleanAddress("rfc822; IMCEAEX-_O=ORG_OU=EXCHANGE@corp.example"))
	require.Equal(t, "", cleanAddress("undisclosed recipients"))
}

func TestDetectAcceptsCRLF(t *testing.T) {
	t.Parallel()
	for _, fx := range fixtures {
		raw := readFixture(t, fx.file)
		crlf := bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n"))
		lf, got := Detect(raw), Detect(crlf)
		require.NotNil(t, got, fx.file)
		require.Equal(t, lf.Kind, got.Kind, fx.file)
		require.Equal(t, lf.Format, got.Format, fx.file)
		require.Equal(t, len(lf.Recipients), len(got.Recipients), fx.file)
		for i := range lf.Recipients {
			require.Equal(t, lf.Recipients[i].Address, got.Recipients[i].Address, fx.file)
			require.Equal(t, lf.Recipients[i].Status, got.Recipients[i].Status, fx.file)
			require.Equal(t, lf.Recipients[i].Hard, got.Recipients[i].Hard, fx.file)
		}
		require.Equal(t, lf.OriginalMessageID, got.OriginalMessageID, fx.file)
	}
}

func TestDetectSurvivesBrokenInput(t *testing.T) {
	t.Parallel()
	t.Run("EmptyInputIsNil", func(t *testing.T) {
		t.Parallel()
		require.Nil(t, Detect(nil))
		require.Nil(t, Detect([]byte{}))
	})
	t.Run("MalformedHeaderStillReadsTextBounce", func(t *testing.T) {
		t.Parallel()
		raw := "From: MAILER-DAEMON@mx4.example.jp\n" +
			"this line is not a header\n" +
			"Subject: failure notice\n\n" +
			"Hi. This is the qmail-send program at mx4.example.jp.\n\n" +
			"<Gone@Example.NET>:\n550 5.1.1 no such user\n"
		rep := Detect([]byte(raw))
		require.NotNil(t, rep)
		require.Equal(t, "qmail", rep.Format)
		require.Equal(t, "gone@example.net", rep.Recipients[0].Address)
		require.True(t, rep.Recipients[0].Hard)
	})
	t.Run("TruncatedReportIsNotAPanic", func(t *testing.T) {
		t.Parallel()
		raw := readFixture(t, "postfix-userunknown.eml")
		for n := 0; n < len(raw); n += 97 {
			_ = Detect(raw[:n])
		}
	})
	t.Run("MixedFailedAndDelayedKeepsTheFailures", func(t *testing.T) {
		t.Parallel()
		raw := "From: MAILER-DAEMON@mx.example\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n" +
			"--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n" +
			"Final-Recipient: rfc822; Late@Example.org\nAction: delayed\nStatus: 4.4.7\n\n" +
			"Final-Recipient: rfc822; gone@example.org\nAction: failed\nStatus: 5.1.1\n--b--\n"
		rep := Detect([]byte(raw))
		require.NotNil(t, rep)
		require.Equal(t, KindBounce, rep.Kind)
		require.Len(t, rep.Recipients, 1)
		require.Equal(t, "gone@example.org", rep.Recipients[0].Address)
		require.Equal(t, "mx.example", rep.Reporter)
	})
}

func TestDetectStaysLinearOnPathologicalInput(t *testing.T) {
	t.Parallel()
	// Not a timing assertion: these inputs would take minutes if a parser
	// were quadratic in the number of lines, and the test would time out.
	var b bytes.Buffer
	b.WriteString("From: MAILER-DAEMON@x.example\nSubject: Undelivered Mail\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: message/delivery-status\n\nDiagnostic-Code: smtp;\n")
	for b.Len() < 900_000 {
		b.WriteString(" 550 5.1.1 a@b.example continued\n")
	}
	_ = Detect(b.Bytes())
	var c bytes.Buffer
	c.WriteString("From: MAILER-DAEMON@x.example\nSubject: Undelivered Mail\n\n")
	for c.Len() < 900_000 {
		c.WriteString("<a@b.example>: 550 5.1.1 x@y.example z@w.example\n")
	}
	_ = Detect(c.Bytes())
}

func TestDetectSmallShapes(t *testing.T) {
	t.Parallel()
	t.Run("GmailLegacyDelayIsADelay", func(t *testing.T) {
		t.Parallel()
		raw := "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\nTo: me@leadpilot.example\n" +
			"Subject: Delivery Status Notification (Delay)\nContent-Type: text/plain; charset=ISO-8859-1\n\n" +
			"This is an automatically generated Delivery Status Notification\n\n" +
			"THIS IS A WARNING MESSAGE ONLY.\n\nYOU DO NOT NEED TO RESEND YOUR MESSAGE.\n\n" +
			"Delivery to the following recipient has been delayed:\n\n     Slow@Example.org\n\n" +
			"Message will be retried for 2 more day(s)\n\nTechnical details of temporary failure:\n" +
			"The recipient server did not accept our requests to connect.\n"
		rep := Detect([]byte(raw))
		require.NotNil(t, rep)
		require.Equal(t, KindDelay, rep.Kind)
		require.Equal(t, "gmail", rep.Format)
		require.Equal(t, "slow@example.org", rep.Recipients[0].Address)
		require.Equal(t, "delayed", rep.Recipients[0].Action)
		require.False(t, rep.Recipients[0].Hard)
	})
	t.Run("GmailDSNWithoutReturnedPartUsesXOriginalMessageID", func(t *testing.T) {
		t.Parallel()
		raw := "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n" +
			"Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n" +
			"--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; googlemail.com\n" +
			"X-Original-Message-ID: <abc@leadpilot.example>\n\n" +
			"Final-Recipient: rfc822; gone@example.org\nAction: failed\nStatus: 5.1.1\n--b--\n"
		rep := Detect([]byte(raw))
		require.NotNil(t, rep)
		require.Equal(t, "abc@leadpilot.example", rep.OriginalMessageID)
	})
	t.Run("AutoReplyFromPersonIsNotABounce", func(t *testing.T) {
		t.Parallel()
		raw := "From: Pat <pat@example.org>\nAuto-Submitted: auto-replied\nSubject: Undeliverable: I am away\n\n" +
			"I am away. If urgent write to boss@example.org, error 550 5.1.1 is not mine.\n"
		require.Nil(t, Detect([]byte(raw)))
	})
}

func TestExchangeTextIgnoresAddressesInProse(t *testing.T) {
	t.Parallel()
	raw := "From: System Administrator <postmaster@corp.example>\nSubject: Undeliverable: hello\n\n" +
		"Delivery has failed to these recipients or groups:\n\n" +
		"Gone Person (gone@corp.example)\n" +
		"The e-mail address you entered couldn't be found. Contact help@corp.example for help.\n\n" +
		"Diagnostic information for administrators:\n\nGenerating server: ex1.corp.example\n\n" +
		"gone@corp.example\n#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##\n"
	rep := Detect([]byte(raw))
	require.NotNil(t, rep)
	require.Len(t, rep.Recipients, 1)
	require.Equal(t, "gone@corp.example", rep.Recipients[0].Address)
	require.Equal(t, "5.1.1", rep.Recipients[0].Status)
	require.True(t, rep.Recipients[0].Hard)
}

func TestDSNFormatNamesTheGeneratingMTA(t *testing.T) {
	t.Parallel()
	// A Postfix DSN quoting an Office 365 rejection is a Postfix DSN.
	raw := "From: MAILER-DAEMON@mail.leadpilot.example (Mail Delivery System)\n" +
		"Subject: Undelivered Mail Returned to Sender\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n" +
		"--b\nContent-Type: text/plain\n\nThis is the mail system at host mail.leadpilot.example.\n\n" +
		"<x@contoso.example>: host contoso-example.mail.protection.outlook.com said: 550 5.1.10\n" +
		"    RESOLVER.ADR.RecipientNotFound; Recipient not found (Microsoft Exchange)\n" +
		"--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mail.leadpilot.example\n" +
		"X-Postfix-Queue-ID: 4Abc\n\nFinal-Recipient: rfc822; x@contoso.example\nAction: failed\nStatus: 5.1.10\n" +
		"Remote-MTA: dns; contoso-example.mail.protection.outlook.com\n" +
		"Diagnostic-Code: smtp; 550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found\n--b--\n"
	rep := Detect([]byte(raw))
	require.NotNil(t, rep)
	require.Equal(t, "postfix", rep.Format)
	require.True(t, rep.Recipients[0].Hard)
}
