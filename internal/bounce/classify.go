package bounce

import (
	"regexp"
	"strings"
)

// enhancedRe matches an RFC 3463 enhanced status code.
var enhancedRe = regexp.MustCompile(`(?:^|[^0-9.])([245])\.(\d{1,3})\.(\d{1,3})(?:[^0-9.]|$)`)

// basicRe matches a basic SMTP reply code at a word start (550, 452-...).
var basicRe = regexp.MustCompile(`(?:^|[^0-9.#])([45][0-5][0-9])(?:[ -]|$)`)

// statusIn returns the most specific enhanced status code in s: the first
// that is not an x.0.0 catch-all, else the first found.
func statusIn(s string) string {
	ms := enhancedRe.FindAllStringSubmatch(s, 10)
	first := ""
	for _, m := range ms {
		code := m[1] + "." + m[2] + "." + m[3]
		if first == "" {
			first = code
		}
		if m[2] != "0" || m[3] != "0" {
			return code
		}
	}
	return first
}

// refineStatus takes the Status field of a DSN and the diagnostic text and
// returns the status to report: the field's code, or a more specific code
// of the same class from the text when the field is a catch-all (x.0.0) or
// missing.
func refineStatus(field, diag string) string {
	st := ""
	if m := enhancedRe.FindStringSubmatch(" " + field + " "); m != nil {
		st = m[1] + "." + m[2] + "." + m[3]
	}
	d := statusIn(diag)
	switch {
	case st == "":
		return d
	case d != "" && strings.HasSuffix(st, ".0.0") && d[0] == st[0] && !strings.HasSuffix(d, ".0.0"):
		return d
	}
	return st
}

// fullRe is wording for a full mailbox: soft whatever the code, because the
// remote server's words are more specific than the relaying MTA's code.
var fullRe = regexp.MustCompile(`(?i)(mailbox (is )?full|over ?quota|quota exceeded|exceeded.{0,30}quota|` +
	`insufficient (system )?storage|out of storage|mail ?box.{0,20}(is )?full|full mailbox|storage space)`)

// transientRe is wording for a passing condition.
var transientRe = regexp.MustCompile(`(?i)(greylist|graylist|try (again )?later|temporar(il)?y|` +
	`too many (connections|messages|recipients)|rate limit|throttl)`)

var hardPhraseRe = regexp.MustCompile(`(?i)(user unknown|unknown user|no such (user|recipient|mailbox|address|account)|` +
	`(mailbox|recipient|user|address|account)\s+(is\s+)?(unavailable|not found|unknown|invalid|disabled|inactive|does ?n[o']t exist|deactivated|suspended|unrouteable)|` +
	`does not exist|doesn't exist|does ?not have an? account|address rejected|recipient rejected|rejected.{0,20}recipient|` +
	`invalid (recipient|address|mailbox|user)|unknown (recipient|address|mailbox|local[- ]part)|not listed in|` +
	`recipient name is not recognized|not recognized|address not found|couldn't be found|could not be found|` +
	`no mailbox here|addressee unknown|unrouteable address|host unknown|domain (not found|does not exist)|` +
	`no longer (with|available|exists|active)|account (has been )?(disabled|closed|deleted)|recipnotfound)`)

// isHard decides whether a failure is permanent for the address. action is
// the RFC 3464 action, status the enhanced code (may be empty) and text the
// diagnostic and any surrounding explanation.
func isHard(action, status, text string) bool {
	if strings.EqualFold(action, "delayed") {
		return false
	}
	if status != "" && status[0] == '4' {
		return false
	}
	if fullRe.MatchString(text) {
		return false
	}
	if transientRe.MatchString(text) && !strings.HasPrefix(status, "5.1.") {
		return false
	}
	if status != "" && status[0] == '5' {
		switch {
		case status == "5.2.2", status == "5.2.3", status == "5.3.4":
			return false
		case strings.HasPrefix(status, "5.7."):
			return hardPhraseRe.MatchString(text)
		}
		return true
	}
	if status != "" && status[0] == '2' {
		return false
	}
	if m := basicRe.FindStringSubmatch(text); m != nil {
		if m[1][0] == '4' {
			return false
		}
		if policyRe.MatchString(text) {
			return hardPhraseRe.MatchString(text)
		}
		return true
	}
	return hardPhraseRe.MatchString(text)
}

var policyRe = regexp.MustCompile(`(?i)(spam|blocked|block ?list|black ?list|dnsbl|policy|reputation|dmarc|spf|dkim|not authorized|relay(ing)? (denied|not permitted))`)

// newRecipient builds a Recipient, deriving Status and Hard from the text
// when the report gives no structured fields.
func newRecipient(addr, action, status, diag, context string) Recipient {
	st := refineStatus(status, diag)
	if st == "" {
		st = statusIn(context)
	}
	text := diag
	if context != "" {
		text = diag + "\n" + context
	}
	return Recipient{
		Address:    addr,
		Action:     action,
		Status:     st,
		Diagnostic: diag,
		Hard:       isHard(action, st, text),
	}
}
