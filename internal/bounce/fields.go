package bounce

import (
	"bytes"
	"regexp"
	"strings"
)

// field is one "Name: value" line of a header block, unfolded.
type field struct {
	name  string // as written
	value string // unfolded, trimmed
}

// parseFields reads a header block tolerantly: it stops at the first empty
// line (or at the end), unfolds continuation lines, and skips lines that are
// not "Name: value" instead of failing on them. It returns the fields and
// what follows the blank line.
func parseFields(b []byte) ([]field, []byte) {
	var fields []field
	var cont []string // continuation lines of the last field, joined once
	flush := func() {
		if len(cont) > 0 {
			last := &fields[len(fields)-1]
			last.value = strings.TrimSpace(last.value + " " + strings.Join(cont, " "))
			cont = cont[:0]
		}
	}
	for len(b) > 0 {
		line, rest := cutLine(b)
		if len(bytes.TrimRight(line, " \t")) == 0 {
			flush()
			return fields, rest
		}
		b = rest
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			cont = append(cont, strings.TrimSpace(string(line)))
			continue
		}
		i := bytes.IndexByte(line, ':')
		if i <= 0 {
			continue
		}
		name := strings.TrimSpace(string(line[:i]))
		if name == "" || strings.ContainsAny(name, " \t") {
			continue
		}
		flush()
		fields = append(fields, field{name: name, value: strings.TrimSpace(string(line[i+1:]))})
	}
	flush()
	return fields, nil
}

// cutLine splits off the first line (without its CR LF or LF).
func cutLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return bytes.TrimRight(b, "\r"), nil
	}
	return bytes.TrimRight(b[:i], "\r"), b[i+1:]
}

// fieldSet is a header block looked up case-insensitively.
type fieldSet []field

func (fs fieldSet) get(name string) string {
	for _, f := range fs {
		if strings.EqualFold(f.name, name) {
			return f.value
		}
	}
	return ""
}

func (fs fieldSet) all(name string) []string {
	var out []string
	for _, f := range fs {
		if strings.EqualFold(f.name, name) {
			out = append(out, f.value)
		}
	}
	return out
}

// groups splits a message/delivery-status or message/feedback-report body
// into its blank-line-separated field groups.
func groups(b []byte) []fieldSet {
	var out []fieldSet
	for len(b) > 0 {
		// Skip leading blank lines.
		for len(b) > 0 {
			line, rest := cutLine(b)
			if len(bytes.TrimSpace(line)) != 0 {
				break
			}
			b = rest
		}
		if len(b) == 0 {
			break
		}
		fs, rest := parseFields(b)
		if len(fs) > 0 {
			out = append(out, fs)
		}
		if len(rest) >= len(b) { // no progress: defensive
			break
		}
		b = rest
		if len(out) > 1000 {
			break
		}
	}
	return out
}

var addrRe = regexp.MustCompile(`[A-Za-z0-9!#$%&'*+/=?^_{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+`)

// cleanAddress extracts a bare address from forms like "rfc822;
// <a@b.example>", "<a@b>", "Name <a@b>", "a@b (comment)". It returns "" when
// there is no address.
func cleanAddress(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, ';'); i >= 0 && i < 16 && !strings.Contains(s[:i], "@") {
		s = s[i+1:] // address-type prefix such as "rfc822;"
	}
	m := addrRe.FindString(s)
	if m == "" {
		return ""
	}
	m = strings.Trim(m, ".")
	if strings.HasPrefix(strings.ToUpper(m), "IMCEA") { // Exchange-internal encapsulation
		return ""
	}
	return strings.ToLower(m)
}

// cleanMessageID strips angle brackets and white space from a Message-ID.
func cleanMessageID(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '<'); i >= 0 {
		s = s[i+1:]
		if j := strings.IndexByte(s, '>'); j >= 0 {
			s = s[:j]
		}
	}
	if f := strings.Fields(s); len(f) > 0 {
		s = f[0]
	} else {
		return ""
	}
	return strings.Trim(strings.Map(func(r rune) rune {
		if r == '<' || r == '>' {
			return -1
		}
		return r
	}, s), " ")
}

var daemonLocals = map[string]bool{
	"mailer-daemon": true, "mailerdaemon": true, "mail-daemon": true, "maildaemon": true,
	"postmaster": true, "mdaemon": true, "mail.delivery.system": true, "mailer_daemon": true,
	"nobody": false,
}

// isDaemon reports whether a sender looks like a mail system rather than a
// person.
func isDaemon(addr, name string) bool {
	local := addr
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		local = addr[:i]
	}
	if daemonLocals[local] {
		return true
	}
	for _, n := range []string{"mail delivery", "mailer-daemon", "mailer daemon", "postmaster",
		"mail administrator", "system administrator", "delivery status notification",
		"microsoft outlook", "mail system"} {
		if strings.Contains(name, n) {
			return true
		}
	}
	return false
}

// isFeedbackSender reports whether a sender is a known feedback loop.
func isFeedbackSender(addr string) bool {
	if strings.HasSuffix(addr, "amazonses.com") && strings.HasPrefix(addr, "complaints@") {
		return true
	}
	switch addr {
	case "staff@hotmail.com", "feedbackloop@feedback.terra.com", "scomp@aol.net":
		return true
	}
	return strings.HasPrefix(addr, "fbl@") || strings.HasPrefix(addr, "feedbackloop@") ||
		strings.HasPrefix(addr, "abuse-report@") || strings.HasPrefix(addr, "arf@")
}

var replyPrefixRe = regexp.MustCompile(`(?i)^\s*(re|fw|fwd|aw|wg|tr|sv|vs|antw|rif)\s*(\[\d+\])?\s*:`)

func isReplyOrForward(subject string) bool { return replyPrefixRe.MatchString(subject) }

var bounceSubjectRe = regexp.MustCompile(`(?i)(undeliver|undelivered|delivery status notification|failure notice|returned mail|` +
	`mail delivery failed|delivery failure|non[- ]?delivery|could not be delivered|delivery has failed|` +
	`not delivered|delivery notification|mail system error|returned to sender|delivery problem|` +
	`nondeliverable|rejected|failed delivery|delayed mail|delivery delayed|warning: could not send)`)

func bounceSubject(s string) bool { return bounceSubjectRe.MatchString(s) }

// original is what a report shows of the message that bounced.
type original struct {
	messageID, from, to, subject string
	headers                      fieldSet
}

// readOriginal reads the header block of a returned message (or of its
// headers only). Leading blank lines and an mbox "From " line are skipped.
func readOriginal(b []byte) original {
	b = bytes.TrimLeft(b, " \t\r\n")
	if bytes.HasPrefix(b, []byte("From ")) {
		_, b = cutLine(b)
	}
	fs, _ := parseFields(b)
	return originalFromFields(fs)
}

func originalFromFields(fs fieldSet) original {
	o := original{headers: fs}
	o.messageID = fs.get("Message-ID")
	o.from = decodeWords(fs.get("From"))
	o.to = decodeWords(fs.get("To"))
	o.subject = decodeWords(fs.get("Subject"))
	return o
}

func (o original) empty() bool {
	return o.messageID == "" && o.from == "" && o.to == "" && o.subject == ""
}

func (r *Report) setOriginal(o original) {
	if r.OriginalMessageID == "" {
		r.OriginalMessageID = o.messageID
	}
	if r.OriginalFrom == "" {
		r.OriginalFrom = o.from
	}
	if r.OriginalTo == "" {
		r.OriginalTo = o.to
	}
	if r.OriginalSubject == "" {
		r.OriginalSubject = o.subject
	}
}

// messageIDLineRe finds a Message-ID (or an X-...-Message-ID style) header
// line quoted in a body.
var messageIDLineRe = regexp.MustCompile(`(?im)^[ \t>]*((?:x-[a-z0-9-]*)?message-id|x-[a-z0-9-]*msg-?id)[ \t]*:[ \t]*(<[^>\r\n]+>|[^\s<>]+@[^\s<>]+)`)

// messageIDInText returns the first Message-ID line found in text, preferring
// a plain Message-ID over X- variants.
func messageIDInText(text string) string {
	ms := messageIDLineRe.FindAllStringSubmatch(text, 8)
	for _, m := range ms {
		if strings.EqualFold(m[1], "message-id") {
			return m[2]
		}
	}
	if len(ms) > 0 {
		return ms[0][2]
	}
	return ""
}
