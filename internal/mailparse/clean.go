package mailparse

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SnippetRunes is the most runes a Snippet has.
const SnippetRunes = 200

// The markers below are matched on one line, case-insensitively, in the
// languages the product's users write in: English, German, French,
// Spanish, Dutch, Portuguese, Italian, and the Scandinavian ones mail
// clients localise the most.
var (
	// "-----Original Message-----" (Outlook), "-------- Original Message --------"
	// (Thunderbird), "---------- Forwarded message ---------" (Gmail).
	reSeparator = regexp.MustCompile(`(?i)^\s*-{2,}\s*(original message|forwarded message|ursprüngliche nachricht|weitergeleitete nachricht|nachricht im original|message d'origine|message d’origine|message original|message transféré|mensaje original|mensaje reenviado|oorspronkelijk bericht|doorgestuurd bericht|messaggio originale|messaggio inoltrato|mensagem original|mensagem encaminhada|mensagem reencaminhada|ursprungligt meddelande|vidarebefordrat meddelande|oprindelig meddelelse|videresendt meddelelse|opprinnelig melding|videresendt melding)\s*-{2,}\s*$`)
	// Apple Mail and iOS: "Begin forwarded message:".
	reBeginForward = regexp.MustCompile(`(?i)^\s*(begin forwarded message|anfang der weitergeleiteten (e-mail|nachricht)|début du message (réexpédié|transféré)|inicio del mensaje reenviado|begin doorgestuurd bericht|inizio messaggio inoltrato|início da mensagem (reencaminhada|encaminhada)|vidarebefordrat brev|videresendt besked)\s*:\s*$`)
	// Outlook's separator line before its header block.
	reUnderscores = regexp.MustCompile(`^\s*_{20,}\s*$`)
	// The first field of an Outlook/Gmail "From: … Sent: … To: … Subject:"
	// block; "*From:*" is Gmail's plain rendering of a bold label.
	reFromField = regexp.MustCompile(`(?i)^\s*\*?(from|von|de|van|da|från|fra|od)\s?:\*?\s*\S`)
	reHeadField = regexp.MustCompile(`(?i)^\s*\*?(sent|date|to|cc|subject|gesendet|datum|an|betreff|envoyé|date d'envoi|à|a|objet|enviado|enviado el|fecha|para|asunto|verzonden|aan|onderwerp|inviato|data|oggetto|enviada|enviada em|assunto|skickat|till|ämne|sendt|til|emne)\s?:`)
	// Attribution lines: "On Mon, 3 Nov 2026 at 10:00, Ann <a@x> wrote:",
	// "Le lun. 3 nov. 2026 à 10:00, Ann a écrit :", "Am 03.11.2026 um
	// 10:00 schrieb Ann:", "El lun, 3 nov 2026, Ann escribió:", …
	reAttribution      = regexp.MustCompile(`(?i)^\s*(on|le|am|el|op|em|il|den|dne|w dniu|på)\s.{3,300}\s(wrote|a écrit|a ecrit|schrieb|escribió|escribio|schreef|escreveu|ha scritto|skrev|napsal|napisał)(\s.{0,160})?\s?:\s*$`)
	reAttributionStart = regexp.MustCompile(`(?i)^\s*(on|le|am|el|op|em|il|den|dne|w dniu|på)\s`)
	// A looser attribution ("Ann <a@x> wrote:", "Ann schrieb:") only
	// counts when quoted lines or nothing follow it.
	reLooseAttribution = regexp.MustCompile(`(?i)(wrote|a écrit|a ecrit|schrieb|escribió|escribio|schreef|escreveu|ha scritto|skrev)(\s.{0,160})?\s?:\s*$`)
	// Trailers mobile clients add under the reply.
	reMobileTrailer = regexp.MustCompile(`(?i)^\s*(sent from my|sent from (mail|outlook|yahoo)|sent via|get outlook for|von meinem .{1,40} gesendet|gesendet von meinem|envoyé de mon|envoyé depuis mon|enviado desde mi|enviado do meu|enviado de meu|verzonden vanaf mijn|verstuurd vanaf mijn|inviato da|inviato dal mio|skickat från min)\b`)
)

// cleanText returns the lines of text the sender wrote: it cuts at the
// first original-message or forwarded block, signature separator, strict
// attribution line or mobile trailer, then drops quoted (">") lines and
// the attribution line introducing them from what is left, which keeps
// the answers of an interleaved reply. Lines are kept as they are, so
// every line of the result is a line of text.
func cleanText(text string) string {
	if strings.TrimSpace(text) == "" {
		return ""
	}
	lines := strings.Split(text, "\n")
	lines = lines[:cutIndex(lines)]

	keep := make([]bool, len(lines))
	for i, l := range lines {
		keep[i] = !isQuoted(l)
	}
	// Drop an attribution line (one or wrapped over two) whose next
	// non-blank line is quoted or which ends the text.
	for i := range lines {
		if !keep[i] || !strings.HasSuffix(strings.TrimSpace(lines[i]), ":") {
			continue
		}
		j := i + 1
		for j < len(lines) && strings.TrimSpace(lines[j]) == "" {
			j++
		}
		if j < len(lines) && !isQuoted(lines[j]) {
			continue
		}
		// The attribution on this line, or wrapped from the line before
		// ("… Sarah Chen <" / "sarah@x.io> wrote:", "… a" / "écrit :").
		wrapped := i > 0 && keep[i-1] && reAttributionStart.MatchString(lines[i-1]) &&
			!reAttribution.MatchString(strings.TrimSpace(lines[i])) &&
			reAttribution.MatchString(strings.TrimSpace(lines[i-1])+" "+strings.TrimSpace(lines[i]))
		if !wrapped && !reLooseAttribution.MatchString(lines[i]) {
			continue
		}
		keep[i] = false
		if wrapped {
			keep[i-1] = false
		}
	}
	out := make([]string, 0, len(lines))
	for i, l := range lines {
		if keep[i] {
			out = append(out, l)
		}
	}
	// Trim blank lines at both ends, and collapse the blank lines left
	// where quotes were removed.
	for len(out) > 0 && strings.TrimSpace(out[0]) == "" {
		out = out[1:]
	}
	for len(out) > 0 && strings.TrimSpace(out[len(out)-1]) == "" {
		out = out[:len(out)-1]
	}
	res := out[:0]
	for i, l := range out {
		if i > 0 && strings.TrimSpace(l) == "" && strings.TrimSpace(out[i-1]) == "" {
			continue
		}
		res = append(res, l)
	}
	return strings.Join(res, "\n")
}

// First words of the lines reMobileTrailer and reAttributionStart match.
var (
	trailerWords     = setOf("sent", "get", "von", "gesendet", "envoyé", "enviado", "verzonden", "verstuurd", "inviato", "skickat")
	attributionWords = setOf("on", "le", "am", "el", "op", "em", "il", "den", "dne", "w", "på")
)

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

func firstWord(t string) string {
	if i := strings.IndexAny(t, " \t"); i >= 0 {
		return t[:i]
	}
	return t
}

// hasEarlyColon: a header field name ("*Enviado el:*") ends within the
// first bytes of the line.
func hasEarlyColon(t string) bool {
	i := strings.IndexByte(t, ':')
	return i > 0 && i < 16
}

func isQuoted(l string) bool {
	return strings.HasPrefix(strings.TrimLeft(l, " \t"), ">")
}

// cutIndex is the index of the first line that starts what is not the
// sender's own text in this message, len(lines) when there is none.
func cutIndex(lines []string) int {
	// Each line that passes a cheap test costs a regular expression or
	// two; a text made of thousands of such lines (no mail a person
	// writes) is not searched further than this.
	budget := 2000
	spend := func() bool { budget--; return budget >= 0 }
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		if t == "--" || strings.TrimRight(l, "\r") == "-- " {
			return i
		}
		if len(t) > 400 || isQuoted(t) {
			continue
		}
		// Cheap tests first: the regular expressions run only on lines
		// that could match them.
		colon := strings.HasSuffix(t, ":")
		fw := strings.ToLower(firstWord(t))
		switch {
		case strings.HasPrefix(t, "--") && spend() && reSeparator.MatchString(t):
			return i
		case colon && spend() && reBeginForward.MatchString(t):
			return i
		case strings.HasPrefix(t, "____") && spend() && reUnderscores.MatchString(t) && headerBlockFollows(lines, i+1):
			return i
		case hasEarlyColon(t) && spend() && reFromField.MatchString(t) && headerBlockAt(lines, i):
			return i
		case trailerWords[fw] && spend() && utf8.RuneCountInString(t) < 100 && reMobileTrailer.MatchString(t):
			return i
		case attributionWords[fw] && spend() && isStrictAttribution(lines, i):
			return i
		}
	}
	return len(lines)
}

// isStrictAttribution: an attribution line (or one wrapped over two
// lines) that carries a date, a time or an address, and is not followed
// by ">" lines: the original under it is unquoted (Outlook mobile, Yahoo),
// so everything from it on is history. One followed by a quote is left
// to the quote removal, which keeps answers written under the quote.
func isStrictAttribution(lines []string, i int) bool {
	t := strings.TrimSpace(lines[i])
	if !reAttributionStart.MatchString(t) {
		return false
	}
	cand, next := t, i+1
	if !reAttribution.MatchString(cand) {
		if i+1 >= len(lines) {
			return false
		}
		cand, next = t+" "+strings.TrimSpace(lines[i+1]), i+2
		if len(cand) > 500 || !reAttribution.MatchString(cand) {
			return false
		}
	}
	if !strings.ContainsAny(cand, "0123456789@") {
		return false
	}
	for next < len(lines) && strings.TrimSpace(lines[next]) == "" {
		next++
	}
	return next >= len(lines) || !isQuoted(lines[next])
}

// headerBlockAt: lines[i] is a From: field followed, within the next
// lines, by at least two more header fields (Sent/Date, To, Subject).
func headerBlockAt(lines []string, i int) bool {
	n, seen := 0, 0
	for j := i + 1; j < len(lines) && seen < 6; j++ {
		t := strings.TrimSpace(lines[j])
		if t == "" {
			continue
		}
		seen++
		if reHeadField.MatchString(t) {
			n++
			if n >= 2 {
				return true
			}
		}
	}
	return false
}

// headerBlockFollows: the first non-blank lines from i are a From: block.
func headerBlockFollows(lines []string, i int) bool {
	for j := i; j < len(lines) && j < i+3; j++ {
		t := strings.TrimSpace(lines[j])
		if t == "" {
			continue
		}
		return reFromField.MatchString(t) || reHeadField.MatchString(t)
	}
	return false
}

// unflow undoes format=flowed (RFC 3676): a line ending in a space is
// joined to the next line of the same quote depth, space-stuffing is
// removed, and with DelSp=yes the joining space is dropped.
func unflow(s string, delsp bool) string {
	lines := strings.Split(s, "\n")
	out := make([]string, 0, len(lines))
	var cur strings.Builder
	depth, open := 0, false
	flush := func() {
		if open {
			out = append(out, quotePrefix(depth)+cur.String())
			cur.Reset()
			open = false
		}
	}
	for _, l := range lines {
		d := 0
		for d < len(l) && l[d] == '>' {
			d++
		}
		c := strings.TrimPrefix(l[d:], " ")
		if open && d != depth {
			flush()
		}
		if c == "-- " {
			flush()
			out = append(out, quotePrefix(d)+c)
			continue
		}
		soft := strings.HasSuffix(c, " ")
		if soft && delsp {
			c = c[:len(c)-1]
		}
		cur.WriteString(c)
		depth, open = d, true
		if !soft {
			flush()
		}
	}
	flush()
	return strings.Join(out, "\n")
}

func quotePrefix(d int) string {
	if d == 0 {
		return ""
	}
	return strings.Repeat(">", d) + " "
}

// snippet is the start of s with whitespace collapsed, at most
// SnippetRunes runes; a cut text ends at a word boundary with "…".
func snippet(s string) string {
	var b strings.Builder
	n, space := 0, false
	truncated := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = n > 0
			continue
		}
		if n >= SnippetRunes {
			truncated = true
			break
		}
		if space {
			if n+1 >= SnippetRunes {
				truncated = true
				break
			}
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
	}
	if !truncated {
		return b.String()
	}
	rs := []rune(b.String())
	rs = rs[:min(len(rs), SnippetRunes-1)]
	for k := len(rs) - 1; k > len(rs)-40 && k > 0; k-- {
		if rs[k] == ' ' {
			rs = rs[:k]
			break
		}
	}
	return strings.TrimRight(string(rs), " ") + "…"
}
