package bounce

import (
	"strings"
)

// isOriginalPart reports whether a MIME type carries the returned message or
// its headers.
func isOriginalPart(mt string) bool {
	switch mt {
	case "message/rfc822", "text/rfc822-headers", "message/rfc822-headers",
		"message/global", "message/global-headers", "text/rfc822":
		return true
	}
	return false
}

// detectDSN reads an RFC 3464 multipart/report (report-type=delivery-status,
// or a report without report-type that carries a message/delivery-status).
// decided is false when the report has no usable delivery-status part, so
// the caller may try the text parsers; when it is true a nil Report is final
// (e.g. a positive "delivered" DSN).
func detectDSN(env *envelope, parts []part) (rep *Report, decided bool) {
	var dsn *part
	var orig original
	var texts []string
	for i := range parts {
		p := &parts[i]
		switch {
		case p.mediaType == "message/delivery-status" || p.mediaType == "message/global-delivery-status":
			if dsn == nil {
				dsn = p
			}
		case isOriginalPart(p.mediaType):
			if orig.empty() {
				orig = readOriginal(p.body)
			}
		case strings.HasPrefix(p.mediaType, "text/"):
			texts = append(texts, string(p.body))
		}
	}
	if dsn == nil {
		return nil, false
	}
	gs := groups(dsn.body)
	if len(gs) == 0 {
		return nil, false
	}
	rep = &Report{}
	// The first group is per-message; RFC 3464 requires it, but some
	// producers omit it, so only treat it as such when it has no recipient.
	perRcpt := gs
	if gs[0].get("Final-Recipient") == "" && gs[0].get("Original-Recipient") == "" {
		rep.Reporter = stripType(gs[0].get("Reporting-MTA"))
		perRcpt = gs[1:]
	}
	humanText := strings.Join(texts, "\n")
	var failed, delayed, other int
	for _, g := range perRcpt {
		addr := cleanAddress(g.get("Original-Recipient"))
		if addr == "" {
			addr = cleanAddress(g.get("Final-Recipient"))
		}
		if addr == "" {
			addr = cleanAddress(g.get("X-Actual-Recipient"))
		}
		if addr == "" {
			continue
		}
		action := strings.ToLower(strings.TrimSpace(g.get("Action")))
		if i := strings.IndexAny(action, " ("); i > 0 {
			action = action[:i]
		}
		diag := stripType(g.get("Diagnostic-Code"))
		rc := newRecipient(addr, action, g.get("Status"), diag, "")
		if rc.Status == "" {
			// No code in the machine part: the human part may have one
			// next to the address.
			rc = newRecipient(addr, action, "", diag, lineAbout(humanText, addr))
		}
		if rep.Reporter == "" {
			rep.Reporter = stripType(g.get("Reporting-MTA"))
		}
		switch {
		case action == "failed" || (action == "" && strings.HasPrefix(rc.Status, "5.")):
			failed++
		case action == "delayed" || (action == "" && strings.HasPrefix(rc.Status, "4.")):
			delayed++
		case action == "delivered" || action == "relayed" || action == "expanded":
			other++
			continue // success notices are not failures
		default:
			failed++
		}
		if rc.Action == "" {
			rc.Action = action
		}
		rep.Recipients = append(rep.Recipients, rc)
	}
	switch {
	case failed > 0:
		rep.Kind = KindBounce
	case delayed > 0:
		rep.Kind = KindDelay
	case other > 0:
		return nil, true // a positive DSN (delivered/relayed/expanded)
	default:
		// Groups without recipients: a malformed report. Treat as a bounce
		// only if the text parsers can make sense of it.
		return nil, false
	}
	if rep.Kind == KindBounce && delayed > 0 {
		// Mixed report: the delayed recipients are still being retried.
		kept := rep.Recipients[:0]
		for _, rc := range rep.Recipients {
			if rc.Action != "delayed" {
				kept = append(kept, rc)
			}
		}
		rep.Recipients = kept
	}
	if rep.Reporter == "" {
		rep.Reporter = env.from
	}
	rep.setOriginal(orig)
	if rep.OriginalMessageID == "" {
		rep.OriginalMessageID = messageIDInText(humanText)
	}
	if rep.OriginalMessageID == "" {
		// Gmail names it in the per-message group.
		rep.OriginalMessageID = gs[0].get("X-Original-Message-ID")
	}
	if rep.OriginalMessageID == "" {
		// Exchange, Office 365 and Gmail thread their DSNs under the
		// original message.
		rep.OriginalMessageID = env.header.Get("In-Reply-To")
	}
	rep.Format = dsnFormat(env, gs, humanText)
	return rep, true
}

// stripType removes an RFC 3464 type prefix ("dns;", "smtp;", "rfc822;").
func stripType(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, ';'); i >= 0 && i < 12 && !strings.ContainsAny(s[:i], " @") {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}

// lineAbout returns the paragraph of text that mentions addr, for status
// codes and wording near the address.
func lineAbout(text, addr string) string {
	low := strings.ToLower(text)
	i := strings.Index(low, addr)
	if i < 0 {
		return ""
	}
	end := i + 600
	if end > len(text) {
		end = len(text)
	}
	return text[i:end]
}

// dsnFormat names the producer of a DSN from its envelope and fields. Only
// marks of the generating MTA count (its headers, its Reporting-MTA, its own
// wording), never the remote server's reply it quotes: a Postfix DSN about
// an Exchange rejection is a Postfix DSN.
func dsnFormat(env *envelope, gs []fieldSet, text string) string {
	h := env.header
	from := env.from
	first := gs[0]
	mta := strings.ToLower(stripType(first.get("Reporting-MTA")))
	low := strings.ToLower(text)
	switch {
	case strings.Contains(from, "amazonses.com") || strings.Contains(mta, "amazonses.com") || h.Has("X-Ses-Outgoing"):
		return "ses"
	case first.get("X-Postfix-Queue-ID") != "" || first.get("X-Postfix-Sender") != "" ||
		strings.Contains(low, "this is the mail system at host") || strings.Contains(low, "this is the postfix program"):
		return "postfix"
	case strings.HasSuffix(from, "@googlemail.com") || strings.HasSuffix(from, "@google.com") ||
		strings.Contains(mta, "google.com") || strings.Contains(mta, "googlemail.com"):
		return "gmail"
	case h.Has("X-MS-Exchange-Message-Is-Ndr") || strings.Contains(mta, "outlook.com") ||
		h.Has("X-MS-Exchange-Organization-Network-Message-Id") ||
		strings.Contains(low, "diagnostic information for administrators") ||
		strings.Contains(low, "sent by microsoft exchange server"):
		return "exchange"
	case strings.Contains(mta, "yahoo") || strings.Contains(from, "yahoo"):
		return "yahoo"
	case strings.HasPrefix(strings.ToLower(env.subject), "returned mail:") ||
		strings.Contains(low, "----- the following addresses had") || strings.Contains(low, "----- transcript of session follows -----"):
		return "sendmail"
	case strings.Contains(low, "this message was created automatically by mail delivery software"):
		return "exim"
	}
	return "rfc3464"
}

// detectARF reads an RFC 5965 multipart/report; report-type=feedback-report.
func detectARF(env *envelope, parts []part) *Report {
	var fb fieldSet
	var orig original
	found := false
	for _, p := range parts {
		switch {
		case p.mediaType == "message/feedback-report":
			if !found {
				for _, g := range groups(p.body) {
					fb = append(fb, g...)
				}
				found = true
			}
		case isOriginalPart(p.mediaType):
			if orig.empty() {
				orig = readOriginal(p.body)
			}
		}
	}
	if !found {
		// Microsoft's JMRP sends a feedback-report whose only part is the
		// original message, stamped with X-HmXmrOriginalRecipient.
		return jmrpReport(env, parts)
	}
	rep := &Report{Kind: KindComplaint, Format: "arf"}
	rep.FeedbackType = fb.get("Feedback-Type")
	if rep.FeedbackType == "" {
		rep.FeedbackType = "abuse"
	}
	rep.Reporter = stripType(fb.get("Reporting-MTA"))
	if rep.Reporter == "" {
		rep.Reporter = env.from
	}
	for _, v := range append(fb.all("Original-Rcpt-To"), fb.all("Removal-Recipient")...) {
		if a := cleanAddress(v); a != "" {
			rep.Recipients = append(rep.Recipients, Recipient{Address: a})
		}
	}
	complainers(rep, orig)
	rep.setOriginal(orig)
	if strings.Contains(env.from, "amazonses.com") || strings.Contains(strings.ToLower(fb.get("User-Agent")), "amazon ses") {
		rep.Format = "ses"
	}
	return rep
}

// complainers fills the recipients of a complaint from the returned message
// when the feedback fields did not name them: Microsoft's JMRP puts the
// address only in X-HmXmrOriginalRecipient; others leave the original To.
func complainers(rep *Report, orig original) {
	if len(rep.Recipients) > 0 {
		return
	}
	for _, v := range orig.headers.all("X-HmXmrOriginalRecipient") {
		if a := cleanAddress(v); a != "" {
			rep.Recipients = append(rep.Recipients, Recipient{Address: a})
		}
	}
	if len(rep.Recipients) > 0 {
		return
	}
	for _, m := range addrRe.FindAllString(orig.to, 10) {
		if a := cleanAddress(m); a != "" && !strings.Contains(a, "redacted") {
			rep.Recipients = append(rep.Recipients, Recipient{Address: a})
		}
	}
}

// detectJMRP recognises Microsoft junk-mail reports that are not ARF: a
// message from a Hotmail/Outlook feedback address (or SES complaint
// forwarder) that carries the complained-about message.
func detectJMRP(env *envelope, parts []part) *Report {
	if !isFeedbackSender(env.from) {
		return nil
	}
	return jmrpReport(env, parts)
}

// jmrpReport builds a complaint from the first returned message stamped
// with X-HmXmrOriginalRecipient (or any returned message, for SES).
func jmrpReport(env *envelope, parts []part) *Report {
	ses := strings.Contains(env.from, "amazonses.com")
	for _, p := range parts {
		if !isOriginalPart(p.mediaType) {
			continue
		}
		orig := readOriginal(p.body)
		if orig.headers.get("X-HmXmrOriginalRecipient") == "" && !ses {
			continue
		}
		rep := &Report{Kind: KindComplaint, Format: "jmrp", FeedbackType: "abuse", Reporter: env.from}
		if ses {
			rep.Format = "ses"
		}
		complainers(rep, orig)
		rep.setOriginal(orig)
		return rep
	}
	return nil
}
