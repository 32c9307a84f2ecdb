package sequencelint

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/leadpilot/leadpilot/internal/llm"
)

// SpamPhrases are the phrases spam_phrase warns about, lower case. They are
// the ones that recur in SpamAssassin's rules and in mailbox providers'
// published advice: urgency, money, too-good-to-be-true promises, and
// claims that a message is not spam. Words that honest cold email uses
// every day ("free" on its own, "offer", "save") are left out, so a
// warning means something.
var SpamPhrases = []string{
	"100% free", "100% satisfied", "act now", "apply now", "as seen on", "buy now", "call now",
	"cash bonus", "click below", "click here", "congratulations", "dear friend", "don't delete",
	"double your", "earn extra cash", "earn money", "extra income", "free money", "get paid",
	"guaranteed", "incredible deal", "limited time offer", "lowest price", "make money",
	"miracle", "money back", "no catch", "no credit check", "no obligation", "no strings attached",
	"once in a lifetime", "order now", "risk free", "risk-free", "special promotion",
	"this is not spam", "this isn't spam", "urgent", "what are you waiting for",
	"while supplies last", "winner", "you have been selected", "you've been selected",
}

// OptOutPhrases are the wordings that count as telling the reader how to
// opt out, lower case, matched like SpamPhrases.
var OptOutPhrases = []string{
	"unsubscribe", "opt out", "opt-out", "optout", "reply stop", "text stop", "txt stop", "send stop",
	"stop to end", "stop to opt", "stop to unsubscribe", "stop to cancel", "no longer wish to",
	"no longer want to", "rather not hear",
}

// Shorteners are the public link shorteners link_shortener warns about.
var Shorteners = []string{
	"bit.ly", "bitly.com", "buff.ly", "cutt.ly", "goo.gl", "is.gd", "ow.ly", "rb.gy", "rebrand.ly",
	"shorturl.at", "t.co", "t.ly", "tiny.cc", "tinyurl.com", "v.gd",
}

// normalise lower-cases s, straightens apostrophes and turns every run of
// white space into one space, so phrases match however they are typed.
func normalise(s string) string {
	s = strings.ToLower(strings.NewReplacer("’", "'", "‘", "'").Replace(s))
	return strings.Join(strings.Fields(s), " ")
}

// phrasesIn returns each of phrases found in the normalised text on word
// boundaries: the characters either side are not letters or digits.
func phrasesIn(norm string, phrases []string) []string {
	var found []string
	for _, p := range phrases {
		for from := 0; from < len(norm); {
			i := strings.Index(norm[from:], p)
			if i < 0 {
				break
			}
			start, end := from+i, from+i+len(p)
			if boundaryBefore(norm, start) && boundaryAfter(norm, end) {
				found = append(found, p)
				break
			}
			from = start + 1
		}
	}
	return found
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func boundaryBefore(s string, i int) bool {
	r, size := utf8.DecodeLastRuneInString(s[:i])
	return size == 0 || !isWordRune(r)
}

func boundaryAfter(s string, i int) bool {
	for _, r := range s[i:] {
		return !isWordRune(r)
	}
	return true
}

func spamPhrasesIn(s string) []string { return phrasesIn(normalise(s), SpamPhrases) }

func hasOptOut(s string) bool { return len(phrasesIn(normalise(s), OptOutPhrases)) > 0 }

var linkPattern = regexp.MustCompile(`(?i)\bhttps?://[^\s<>"'()\[\]{}]+`)

// findLinks returns the http(s) URLs in s.
func findLinks(s string) []string { return linkPattern.FindAllString(s, -1) }

// shortenerHost returns the host of link when it is a public shortener.
func shortenerHost(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		return ""
	}
	host := strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	if slices.Contains(Shorteners, host) {
		return host
	}
	return ""
}

// word is a run of letters and digits in a text.
type word struct {
	start, end   int // byte span
	upper, lower int // cased letters
}

func (w word) caps() bool  { return w.lower == 0 && w.upper >= 2 }
func (w word) mixed() bool { return w.lower > 0 }

// words splits s into words, each with the text between it and the word
// before it.
func words(s string) (ws []word, gaps []string) {
	cur, in, prevEnd := word{}, false, 0
	flush := func(end int) {
		if in {
			cur.end = end
			gaps = append(gaps, s[prevEnd:cur.start])
			ws = append(ws, cur)
			prevEnd = end
			in = false
		}
	}
	for i, r := range s {
		if !isWordRune(r) {
			flush(i)
			continue
		}
		if !in {
			cur, in = word{start: i}, true
		}
		switch {
		case unicode.IsUpper(r):
			cur.upper++
		case unicode.IsLower(r):
			cur.lower++
		}
	}
	flush(len(s))
	return ws, gaps
}

// runJoins reports whether a gap between two words keeps a run of capitals
// going: spaces, tabs, hyphens, ampersands and exclamation marks do; a
// comma, a full stop, a line break (or a placeholder, which the copy text
// holds as a line break) does not.
func runJoins(gap string) bool {
	return strings.Trim(gap, " \t-–—&!") == ""
}

// capsRun returns the first run of CapsRunLen or more all-capital words.
// Words with fewer than two cased letters ("I", "50%") neither count nor
// end a run.
func capsRun(s string) (string, bool) {
	ws, gaps := words(s)
	n, start := 0, 0
	for i, w := range ws {
		if n > 0 && !runJoins(gaps[i]) {
			n = 0
		}
		switch {
		case w.caps():
			if n == 0 {
				start = w.start
			}
			n++
			if n >= CapsRunLen {
				end := w.end
				for j := i + 1; j < len(ws) && ws[j].caps() && runJoins(gaps[j]); j++ {
					end = ws[j].end
				}
				return s[start:end], true
			}
		case w.mixed():
			n = 0
		}
	}
	return "", false
}

// shoutingSubject reports whether a subject has no lower-case letter and is
// more than one acronym.
func shoutingSubject(s string) bool {
	ws, _ := words(s)
	capsWords := 0
	long := false
	for _, w := range ws {
		if w.mixed() {
			return false
		}
		if w.caps() {
			capsWords++
			long = long || w.upper > AcronymMaxLen
		}
	}
	return capsWords >= 2 || long
}

// firstNonGSM returns the first rune of s outside the GSM-7 alphabet (basic
// and extension tables), which makes the whole SMS go as UCS-2.
func firstNonGSM(s string) (rune, bool) {
	checked := map[rune]bool{}
	for _, r := range s {
		if checked[r] {
			continue
		}
		checked[r] = true
		if !isGSM(r) {
			return r, true
		}
	}
	return 0, false
}

// isGSM asks llm.SMSSegments, so the alphabet is written down once: 71
// copies of a GSM-7 character cost at most 142 septets and fit one
// segment, while 71 UCS-2 code units do not.
func isGSM(r rune) bool {
	return llm.SMSSegments(strings.Repeat(string(r), 71)) == 1
}
