package emailaddr

import (
	"strings"
	"unicode"
)

// CheckSyntax vets the shape of a canonical address: a dot-atom local part
// (RFC 5321/5322 atext, plus any non-ASCII letter or digit as RFC 6531
// allows; quoted local parts are refused, no real mailbox needs one) of at
// most 64 bytes, and a domain of at least two labels, each 1-63 bytes of
// letters, digits and inner hyphens, 253 bytes in all, whose last label is
// not all digits. Check (look-alikes) is a separate rule; Canonical comes
// first.
func CheckSyntax(addr string) (Problem, bool) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 || len(addr) > 320 {
		return Problem{Code: "invalid_email", Message: "must be an email address"}, false
	}
	local, domain := addr[:at], addr[at+1:]
	if len(local) > 64 {
		return Problem{Code: "invalid_email", Message: "the part before @ is longer than 64 bytes"}, false
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return Problem{Code: "invalid_email", Message: "the part before @ must not start or end with a dot or hold two in a row"}, false
	}
	for _, r := range local {
		if !atext(r) && r != '.' {
			return Problem{Code: "invalid_email", Message: "the part before @ holds a character addresses cannot (" + strings.ToValidUTF8(string(r), "?") + ")"}, false
		}
	}
	if p, ok := checkDomain(domain); !ok {
		return p, false
	}
	return Problem{}, true
}

// atext is RFC 5322 atext, widened to non-ASCII letters and digits (RFC 6531).
func atext(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	case strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r):
		return true
	case r > 127 && r != unicodeReplacement:
		return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
	}
	return false
}

const unicodeReplacement = '\uFFFD'

func checkDomain(domain string) (Problem, bool) {
	bad := func(msg string) (Problem, bool) {
		return Problem{Code: "invalid_email", Message: "the domain " + msg}, false
	}
	if len(domain) > 253 {
		return bad("is longer than 253 bytes")
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return bad("must have at least two labels, such as example.com")
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return bad("has an empty label or one longer than 63 bytes")
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return bad("has a label that starts or ends with a hyphen")
		}
		for _, r := range l {
			if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 127 && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r))) {
				return bad("holds a character domain names cannot")
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return bad("ends in a numeric label")
	}
	return Problem{}, true
}
