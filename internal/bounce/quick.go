package bounce

import "bytes"

// quickCandidate scans the raw top-level header, without allocating, for
// any sign that the message may be machine-generated. It is a superset of
// envelope.candidate: when it says no, the full parse would say no too, so
// ordinary replies are rejected for the cost of one pass over their header.
func quickCandidate(raw []byte) bool {
	b := raw
	var cur []byte // name of the field whose continuation lines we are in
	for len(b) > 0 {
		line, rest := cutLine(b)
		b = rest
		if len(line) == 0 {
			return false // end of header (a line of blanks is a continuation)
		}
		var value []byte
		if line[0] == ' ' || line[0] == '\t' {
			if cur == nil {
				continue
			}
			value = line
		} else {
			i := bytes.IndexByte(line, ':')
			if i <= 0 {
				cur = nil
				continue
			}
			cur = bytes.TrimSpace(line[:i])
			value = line[i+1:]
		}
		switch {
		case bytes.EqualFold(cur, []byte("Content-Type")):
			if containsFold(value, "multipart/report") {
				return true
			}
		case bytes.EqualFold(cur, []byte("X-Failed-Recipients")):
			return true
		case bytes.EqualFold(cur, []byte("Return-Path")):
			if bytes.Contains(value, []byte("<>")) {
				return true
			}
		case bytes.EqualFold(cur, []byte("Auto-Submitted")):
			if v := bytes.TrimSpace(value); len(v) > 0 && !bytes.EqualFold(v, []byte("no")) {
				return true
			}
		case bytes.EqualFold(cur, []byte("From")):
			if bytes.Contains(value, []byte("=?")) {
				return true // encoded display name: decide after decoding
			}
			for _, n := range quickFromNeedles {
				if containsFold(value, n) {
					return true
				}
			}
		}
	}
	return false
}

// quickFromNeedles cover daemonLocals, the display names isDaemon knows and
// the feedback-loop senders of isFeedbackSender.
var quickFromNeedles = []string{
	"daemon", "postmaster", "mail.delivery.system", "mail delivery", "mail administrator",
	"system administrator", "delivery status notification", "microsoft outlook", "mail system",
	"staff@hotmail.com", "amazonses.com", "feedbackloop@", "fbl@", "abuse-report@", "arf@", "scomp@",
}

// containsFold reports whether b contains the lower-case ASCII needle,
// ignoring ASCII case in b.
func containsFold(b []byte, needle string) bool {
	n := len(needle)
	for i := 0; i+n <= len(b); i++ {
		j := 0
		for ; j < n; j++ {
			c := b[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != needle[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}
