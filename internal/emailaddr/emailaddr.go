// Package emailaddr is how LeadPilot stores, compares and vets the email
// addresses people sign up and are invited with.
//
// Canonical folds the forms Unicode considers the same (NFKC: a
// full-width "ａ" is an "a"), trims and lower-cases, so one person cannot
// hold two accounts under two spellings of one address. Check refuses
// look-alikes that folding cannot catch: a label of the domain (or the
// local part) that mixes scripts, such as "exаmple" with a Cyrillic "а"
// among Latin letters, is how look-alike accounts are made, and no real
// mailbox needs one. Single-script internationalised names (пример.рф,
// 例え.jp) stay allowed: their users have them legitimately, and a whole
// label in another script does not pass for a Latin one at a glance.
package emailaddr

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Canonical is the stored and compared form of s.
func Canonical(s string) string {
	return strings.ToLower(norm.NFKC.String(strings.TrimSpace(s)))
}

// Problem says why an address is refused.
type Problem struct {
	Code    string // stable, e.g. "mixed_script"
	Message string
}

// Check vets a canonical address; ok is false with the reason when it is
// refused.
func Check(addr string) (Problem, bool) {
	local, domain, found := strings.Cut(addr, "@")
	if !found || local == "" || domain == "" || strings.Contains(domain, "@") {
		return Problem{Code: "invalid_email", Message: "must be an email address"}, false
	}
	for _, r := range addr {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == unicode.ReplacementChar {
			return Problem{Code: "invalid_email", Message: "must not contain spaces or control characters"}, false
		}
	}
	if mixedScript(local) {
		return Problem{Code: "mixed_script", Message: "the part before @ mixes alphabets (for example Latin and Cyrillic letters); such addresses imitate others and are refused"}, false
	}
	for _, label := range strings.Split(domain, ".") {
		if mixedScript(label) {
			return Problem{Code: "mixed_script", Message: "the domain mixes alphabets within a name (for example Latin and Cyrillic letters); such domains imitate others and are refused"}, false
		}
	}
	return Problem{}, true
}

// scripts that letters are sorted into; digits and punctuation (Common)
// and combining marks (Inherited) go with anything.
var scripts = []*unicode.RangeTable{
	unicode.Latin, unicode.Cyrillic, unicode.Greek, unicode.Armenian, unicode.Hebrew, unicode.Arabic,
	unicode.Devanagari, unicode.Bengali, unicode.Thai, unicode.Georgian, unicode.Hangul,
	unicode.Hiragana, unicode.Katakana, unicode.Han, unicode.Cherokee,
}

// mixedScript reports whether s holds letters of more than one script.
// Han, Hiragana and Katakana together are one writing system (Japanese), as
// are Han and Hangul (Korean).
func mixedScript(s string) bool {
	seen := map[*unicode.RangeTable]bool{}
	for _, r := range s {
		if !unicode.IsLetter(r) {
			continue
		}
		found := false
		for _, sc := range scripts {
			if unicode.Is(sc, r) {
				seen[sc] = true
				found = true
				break
			}
		}
		if !found {
			seen[nil] = true // a letter of a script not listed counts as its own
		}
	}
	delete(seen, unicode.Han)
	if seen[unicode.Hiragana] || seen[unicode.Katakana] {
		delete(seen, unicode.Hiragana)
		delete(seen, unicode.Katakana)
		seen[unicode.Han] = true
	}
	if seen[unicode.Hangul] {
		delete(seen, unicode.Hangul)
		seen[unicode.Han] = true
	}
	return len(seen) > 1
}
