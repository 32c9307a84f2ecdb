// Package bounce recognises delivery-failure notifications (bounces, NDRs,
// DSNs), delivery-delay warnings and abuse complaints (ARF feedback reports)
// among synced inbound emails.
//
// It is an adapter-level, pure package: Detect takes the raw RFC 5322 bytes
// of one message and returns a Report, or nil for anything else (ordinary
// replies, out-of-office answers, read receipts). It imports no domain
// package and does no I/O.
//
// # How a message is recognised
//
// Detect reads the top-level header first and gives up at once unless the
// message looks machine-generated: a multipart/report, an X-Failed-Recipients
// header, a null Return-Path, an Auto-Submitted value other than "no", a
// daemon-like sender (MAILER-DAEMON, postmaster, "Mail Delivery System"...),
// a known feedback-loop sender, or a bounce-like subject. Ordinary replies
// therefore cost one header parse. Candidates are then walked with
// go-message:
//
//   - multipart/report; report-type=delivery-status (RFC 3464): the
//     per-recipient groups of the message/delivery-status part are read
//     field by field (Go has no DSN parser; the groups are parsed here by a
//     tolerant header reader because real DSNs often carry lines that
//     net/textproto rejects). The producer (Postfix, Sendmail, Exchange,
//     Gmail, SES, Yahoo...) is named in Report.Format when it can be told.
//   - multipart/report; report-type=feedback-report (RFC 5965 ARF) and the
//     Microsoft JMRP variant whose complained-about address is only in
//     X-HmXmrOriginalRecipient (Format "jmrp" when the report has no
//     message/feedback-report part, only the stamped original).
//   - non-standard text bounces with well-known wording: qmail, Yahoo,
//     Exim, old Sendmail, old Postfix, Exchange 2003-2019 text NDRs, Gmail
//     non-DSN notices, Lotus Domino/Notes; then the X-Failed-Recipients
//     header; then a heuristic that needs a daemon-like sender, a bounce
//     subject and an address next to an SMTP status in the text.
//
// A report-type=disposition-notification (read receipt) is never a bounce.
//
// # Hard or soft
//
// Recipient.Hard says whether the failure is permanent for the address, i.e.
// whether suppressing the address is right. The rules, from RFC 3463 and
// common practice (what large senders such as SES and Postmark suppress on):
//
//   - 4.x.x is soft (transient by definition), and so are "Action: delayed"
//     recipients.
//   - Wording that means "full or busy" is soft whatever the code: mailbox
//     full, over quota, insufficient storage, greylisted, try again later.
//   - 5.2.2 (mailbox full), 5.2.3 and 5.3.4 (message too large) are soft: the
//     address exists and a later, smaller message may be delivered.
//   - 5.7.x (policy: spam blocks, blocklists, DMARC/SPF/DKIM, relaying
//     denied) is soft unless the text says the user does not exist: the
//     refusal is about the sender or the content, not the address, and
//     suppressing the lead would lose a real person. Such failures still
//     matter (they are reported as bounces) but should pause or alert rather
//     than suppress.
//   - Every other 5.x.x is hard (5.1.1 user unknown, 5.1.2 bad domain,
//     5.2.1 disabled mailbox, 5.4.x routing, 5.5.x ...).
//   - With no enhanced code, a basic SMTP reply code decides (5xx hard, 4xx
//     soft), then known permanent phrasing ("user unknown", "no such user",
//     "mailbox unavailable", "does not exist", "address rejected" ...).
//     A failure with neither code nor phrasing is soft: without evidence we
//     do not suppress.
package bounce
