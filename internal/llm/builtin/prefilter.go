package builtin

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
	"unicode/utf8"
)

// alternation is a regular expression of many alternatives ("a|b|c" at
// its top level) that first rules out, with substring checks, the
// alternatives that cannot match the text, and runs only the rest.
//
// Go's regexp simulates every alternative at every position of the text,
// so a pattern of forty phrases costs forty times one phrase on every
// reply, though a reply holds one or two of them at most. Each
// alternative here has a set of literals of which any match must
// contain one (worked out from its syntax tree); an alternative none of
// whose literals is in the text cannot match anywhere in it. Leaving it
// out changes no match: at every position the remaining alternatives
// are tried in the same order (leftmost-first), so Find, FindAll and
// Match answer exactly as the whole pattern does. The pattern of the
// alternatives left is compiled once per combination and cached.
//
// Submatch positions are not kept (groups are renumbered), so it offers
// only the calls that do not return them.
type alternation struct {
	full  *regexp.Regexp
	flags string // the leading flag group, e.g. "(?i)", applied to every alternative
	alts  []string
	need  [][]string // per alternative, literals one of which a match contains; nil: no such set
	// fold: the pattern is case-insensitive; literals are lower case and
	// are looked for in the lower-cased text, which is exact only for
	// ASCII text (Unicode folds "k" and "s" to non-ASCII runes too), so
	// other text runs the whole pattern.
	fold  bool
	cache sync.Map // string(mask) → *regexp.Regexp
	size  sync.Mutex
	n     int
}

// maxSubsets bounds the cache of compiled subsets per pattern; past it
// the whole pattern runs (same answer, slower).
const maxSubsets = 512

func mustAlternation(pattern string) *alternation {
	a := &alternation{full: regexp.MustCompile(pattern)}
	body := pattern
	if strings.HasPrefix(body, "(?") {
		if end := strings.IndexByte(body, ')'); end > 0 && !strings.ContainsAny(body[2:end], ":") {
			a.flags, body = body[:end+1], body[end+1:]
		}
	}
	a.fold = strings.Contains(a.flags, "i")
	a.alts = splitTop(body)
	a.need = make([][]string, len(a.alts))
	for i, alt := range a.alts {
		re, err := syntax.Parse(a.flags+alt, syntax.Perl)
		if err != nil {
			panic("builtin: alternative " + alt + ": " + err.Error())
		}
		need := required(re.Simplify(), a.fold)
		if a.fold {
			for j := range need {
				need[j] = strings.ToLower(need[j])
			}
		}
		a.need[i] = need
	}
	return a
}

// splitTop splits a pattern at the "|" outside any group or class.
func splitTop(p string) []string {
	var out []string
	depth, class, start := 0, false, 0
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\\':
			i++
		case class:
			if c == ']' {
				class = false
			}
		case c == '[':
			class = true
			if i+1 < len(p) && p[i+1] == ']' {
				i++
			} else if i+2 < len(p) && p[i+1] == '^' && p[i+2] == ']' {
				i += 2
			}
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == '|' && depth == 0:
			out = append(out, p[start:i])
			start = i + 1
		}
	}
	return append(out, p[start:])
}

// required returns literals one of which every match of re contains, or
// nil when it cannot tell.
// fold says literals are compared in lower case (a case-insensitive
// pattern); otherwise a case-folding literal tells nothing.
func required(re *syntax.Regexp, fold bool) []string {
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 || (re.Flags&syntax.FoldCase != 0 && !fold) {
			return nil
		}
		return []string{string(re.Rune)}
	case syntax.OpCapture:
		return required(re.Sub[0], fold)
	case syntax.OpPlus:
		return required(re.Sub[0], fold)
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0], fold)
		}
		return nil
	case syntax.OpConcat:
		// Any part's set will do; the one whose shortest literal is
		// longest rules out most.
		var best []string
		bestLen := 0
		for _, sub := range re.Sub {
			set := required(sub, fold)
			if set == nil {
				continue
			}
			shortest := len(set[0])
			for _, s := range set {
				shortest = min(shortest, len(s))
			}
			if shortest > bestLen {
				best, bestLen = set, shortest
			}
		}
		return best
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			set := required(sub, fold)
			if set == nil {
				return nil
			}
			all = append(all, set...)
		}
		return all
	}
	return nil
}

// pick returns the pattern to run on text: nil when no alternative can
// match, else the whole pattern or the subset that can.
func (a *alternation) pick(text string) *regexp.Regexp {
	hay := text
	if a.fold {
		for i := 0; i < len(text); i++ {
			if text[i] >= utf8.RuneSelf {
				return a.full
			}
		}
		hay = strings.ToLower(text)
	}
	var mask []byte
	count := 0
	for i, need := range a.need {
		ok := need == nil
		for _, lit := range need {
			if strings.Contains(hay, lit) {
				ok = true
				break
			}
		}
		if ok {
			if mask == nil {
				mask = make([]byte, (len(a.alts)+7)/8)
			}
			mask[i/8] |= 1 << (i % 8)
			count++
		}
	}
	switch count {
	case 0:
		return nil
	case len(a.alts):
		return a.full
	}
	key := string(mask)
	if re, ok := a.cache.Load(key); ok {
		return re.(*regexp.Regexp)
	}
	a.size.Lock()
	defer a.size.Unlock()
	if a.n >= maxSubsets {
		return a.full
	}
	var b strings.Builder
	b.WriteString(a.flags)
	sep := ""
	for i, alt := range a.alts {
		if mask[i/8]&(1<<(i%8)) != 0 {
			b.WriteString(sep)
			b.WriteString(alt)
			sep = "|"
		}
	}
	re := regexp.MustCompile(b.String())
	if prev, loaded := a.cache.LoadOrStore(key, re); loaded {
		return prev.(*regexp.Regexp)
	}
	a.n++
	return re
}

// MatchString is regexp.Regexp.MatchString.
func (a *alternation) MatchString(s string) bool {
	re := a.pick(s)
	return re != nil && re.MatchString(s)
}

// FindString is regexp.Regexp.FindString.
func (a *alternation) FindString(s string) string {
	if re := a.pick(s); re != nil {
		return re.FindString(s)
	}
	return ""
}

// FindAllStringIndex is regexp.Regexp.FindAllStringIndex.
func (a *alternation) FindAllStringIndex(s string, n int) [][]int {
	if re := a.pick(s); re != nil {
		return re.FindAllStringIndex(s, n)
	}
	return nil
}
