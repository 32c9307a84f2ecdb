// Package sequencelint checks the content of a sequence's steps before a
// person (or the autopilot) approves it. It is pure: it reads the steps and
// a Context and returns a Report; nothing is stored or sent.
//
// Every finding names its step, a JSON pointer to the field
// ("/steps/1/body": the index is the step's 0-based position in the slice,
// as templates.Validate and llm.ValidateSequence write it), a stable
// snake_case code, a severity and a message in plain words. An error blocks
// approval (Report.Blocking); a warning is shown to the approver; an info
// only explains.
//
// # Measuring
//
// Lengths (subject, SMS segments, WhatsApp body, an empty body) are measured
// on the text as it will be sent: rendered with the lead's values when
// Context.Lead is set, otherwise with templates.SampleLead, plus the
// business context's sender-side values; fallbacks included. A text that
// does not parse is measured as written. Copy checks (spam phrases, links,
// capitals, opt-out wording) read the text as written with placeholders
// taken out, so a lead's own data never counts against the copy.
//
// # Rules
//
// Placeholders, on every channel, through package placeholder (the one
// grammar) and templates.Values (the names the send-time renderer fills):
//   - placeholder_syntax (error): the text does not parse.
//   - unresolved_placeholder (error): a placeholder without a fallback
//     that nothing will fill: an unknown name, a sender-side name
//     (sender_name, cta, ...) the business context leaves blank, or a lead
//     field or custom.<key> that Context.Lead leaves blank.
//   - unknown_placeholder (warning): an unknown name with a fallback; it
//     always renders as the fallback, which should be written as text.
//   - send_time_placeholder (info): a lead field or custom.<key> without a
//     fallback when no lead is given; it is filled when sent, and a lead
//     without that value would get a hole ({{first_name|there}} avoids it).
//     With a fallback a placeholder is resolved and not reported.
//
// Bodies and subjects:
//   - unknown_channel (error): a channel other than email, whatsapp, sms.
//   - empty_body (error): the body is blank, or renders blank.
//   - subject_missing (error): an email step without a subject.
//   - subject_multiline (error): a subject with a line break (a header
//     injection risk, and no client shows it).
//   - subject_not_sent (warning): a subject on a whatsapp or sms step; those
//     channels have none, so it is dropped.
//   - subject_too_long: more than SubjectWarnLen (78) characters is a
//     warning (RFC 5322's recommended line length, and about where desktop
//     clients cut a subject off); more than llm.MaxEmailSubjectLen (120) is
//     an error, the limit the LLM layer enforces on generated and edited
//     steps, so the lint never passes what the validator rejects.
//   - all_caps (warning): an email subject with no lower-case letter (a
//     single word of at most AcronymMaxLen (4) letters, such as "ROI", is
//     an acronym and passes); or, in any subject or body, a run of
//     CapsRunLen (3) or more all-capital words of two or more letters
//     separated only by spaces, hyphens, "&" or "!" ("FREE GIFT INSIDE").
//     A comma, a full stop, a line break, a placeholder or a word with a
//     lower-case letter ends the run, so lists of acronyms ("IBM, SAP and
//     AWS") pass; a word with fewer than two capitals ("A", "50%")
//     neither counts nor ends it. One finding per field, quoting the
//     first run.
//
// SMS (3GPP TS 23.040, counted by llm.SMSSegments, the one implementation):
// a body that is all GSM-7 goes 160 septets in one segment or 153 per
// segment when split, extension characters (€ [ ] { } ^ ~ | \ and form
// feed) costing two; any other character (an emoji, most accented letters,
// curly quotes) sends the whole body as UCS-2, 70 UTF-16 units in one
// segment or 67 per segment, an emoji outside the BMP costing two.
//   - sms_encoding (info): the body goes as UCS-2; names the first
//     character that forces it.
//   - sms_segments: 2 segments is an info (billed as two messages), more
//     than SMSWarnSegments (2) a warning, more than llm.MaxSMSSegments (3)
//     an error, again the LLM layer's limit.
//
// WhatsApp:
//   - whatsapp_too_long (error): a body over llm.MaxWhatsAppBodyLen (1,024)
//     characters. WhatsApp allows 4,096 characters in a text message, but
//     only as a reply inside the 24-hour window the lead opened; outreach
//     is business-initiated, which WhatsApp allows only as an approved
//     message template, whose body is limited to 1,024 characters.
//
// Spam filters and carriers:
//   - spam_phrase (warning): a phrase from SpamPhrases, matched without
//     regard to case or spacing, on word boundaries ("winner" matches
//     "Winner!" but not "winners"). One finding per phrase and field.
//   - too_many_links (warning, error): more than LinksWarn (2) http(s) URLs
//     in one body is a warning, more than LinksError (5) an error. Counted
//     on every channel.
//   - link_shortener (warning): a link on a public shortener (bit.ly,
//     tinyurl.com, ...); spam filters distrust them and US carriers block
//     SMS that use them.
//
// The law, for commercial messages (Context.Transactional false, the zero
// value: outreach is commercial):
//   - missing_sender_name (error, every email step, commercial or not): the
//     business context has no sender name. CAN-SPAM (15 U.S.C. 7704(a)(1))
//     forbids misleading header information in commercial and transactional
//     mail, and the EU's ePrivacy directive (art. 13(4)) and the UK's PECR
//     (reg. 23) forbid disguising the sender of marketing; a From without
//     a person's name reads as both.
//   - missing_postal_address (every commercial email step): the org has no
//     postal address. CAN-SPAM (7704(a)(5)(A)(iii)) and Canada's CASL
//     require a valid postal address in every commercial message, so it is
//     an error when the recipient's country is US or CA; elsewhere, or when
//     the country is unknown, a warning (the EU's e-commerce directive,
//     art. 5, wants a geographic address too, but from the sender's site,
//     not in each message). The lint checks the org has an address to put
//     in the footer; it does not require it in the body, because the
//     sending engine appends the footer.
//   - missing_unsubscribe (warning, every commercial email step; the first
//     commercial sms step): no opt-out wording in the body ("unsubscribe",
//     "opt out", "reply STOP", ...; see OptOutPhrases). CAN-SPAM wants a
//     clear notice of how to opt out in each message, and US carriers want
//     STOP wording in the first SMS. Only a warning: every email also
//     carries a List-Unsubscribe header (RFC 8058) and the sending engine
//     may append an unsubscribe footer.
package sequencelint
