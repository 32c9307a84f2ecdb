package mailparse

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kinds of phrase that introduce a return date, in order of trust.
const (
	triggerBack  = iota // "back on X", "de retour le X": X itself
	triggerUntil        // "until X", "after X", "bis zum X", "1 - 5 December": the day after X
	triggerFrom         // "ab X wieder", "à partir du X … disponible": X, when a back word follows
)

var (
	// Words after which "from X" / "ab X" is a return date.
	reBackWord = regexp.MustCompile(`(back|wieder|zurück|retour|disponible|joignable|available|reachable|erreichbar|terug|weer|bereikbaar|vuelta|regres|volta|regress|rientr|ritorno|raggiungibile|in the office|im büro|au bureau|en la oficina|no escritório|in ufficio|op kantoor)`)

	reISODate     = regexp.MustCompile(`^(\d{4})-(\d{1,2})-(\d{1,2})(?:[^\d]|$)`)
	reNumericDate = regexp.MustCompile(`^(\d{1,2})([./-])(\d{1,2})(?:[./-](\d{4}|\d{2}))?\.?(?:[^\d:./-]|$)`)
	reDayMonth    = regexp.MustCompile(`^(\d{1,2})(?:st|nd|rd|th|er|re|e|º|°|ª|\.)?\s*(?:de\s+|of\s+)?(\p{L}+)\.?(?:,?\s*(?:de\s+)?(\d{4}))?`)
	reMonthDay    = regexp.MustCompile(`^(\p{L}+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:[^\d:]|$)(?:,?\s*(\d{4}))?`)
	reDayOnly     = regexp.MustCompile(`^(\d{1,2})(?:st|nd|rd|th|er|e)?(?:\.(?:\D|$)|[^\d:./\p{L}]|$)`)
	reWord        = regexp.MustCompile(`^[\p{L}][\p{L}'’-]*`)
)

var months = map[string]time.Month{}

func init() {
	for m, names := range [12]string{
		"january jan januar jänner janvier janv enero ene januari janeiro gennaio gen",
		"february feb februar février fevrier févr fevr febrero februari fevereiro fev febbraio",
		"march mar märz maerz mär mrz mars marzo maart mrt março marco",
		"april apr avril avr abril abr aprile",
		"may mai mayo mei maio maggio mag",
		"june jun juni juin junio junho giugno giu",
		"july jul juli juillet juil julio julho luglio lug",
		"august aug août aout agosto ago augustus",
		"september sep sept septembre septiembre setiembre setembro settembre set",
		"october oct oktober okt octobre octubre outubro ottobre ott",
		"november nov novembre noviembre novembro",
		"december dec dezember dez décembre decembre déc diciembre dic dezembro dicembre",
	} {
		for _, n := range strings.Fields(names) {
			months[n] = time.Month(m + 1)
		}
	}
	for d, names := range [7]string{
		"sunday sun sonntag dimanche domingo zondag domenica",
		"monday mon montag lundi lunes maandag segunda segunda-feira lunedì lunedi",
		"tuesday tue tues dienstag mardi martes dinsdag terça terca terça-feira terca-feira martedì martedi",
		"wednesday wed mittwoch mercredi miércoles miercoles woensdag quarta quarta-feira mercoledì mercoledi",
		"thursday thu thur thurs donnerstag jeudi jueves donderdag quinta quinta-feira giovedì giovedi",
		"friday fri freitag vendredi viernes vrijdag sexta sexta-feira venerdì venerdi",
		"saturday sat samstag sonnabend samedi sábado sabado zaterdag sabato",
	} {
		for _, n := range strings.Fields(names) {
			weekdays[n] = time.Weekday(d)
		}
	}
}

var weekdays = map[string]time.Weekday{}

// fillers are the words skipped between a trigger and its date: "back
// in the office on Monday, 8 December", "bis einschließlich Freitag, den
// 5. Dezember".
var fillers = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`the on at of in office work again my desk to be will i
		le la les el dem den der zum zur am um il lo o a de del al dal du au op em ao dia
		einschließlich einschliesslich inkl incl inclusive including and from ab à partir compter
		vanaf van wieder im büro bureau oficina escritório ufficio kantoor me ich je serai bin
		sono sarò estaré estarei ben sarà ritorno retour vuelta volta terug zurück dès`) {
		fillers[w] = true
	}
}

type dateCandidate struct {
	kind int
	pos  int
	day  time.Time
}

// triggers are the phrases that introduce a return date, by kind, keyed
// by their first word; longer phrases are tried first.
var triggers = map[string][][]string{}
var triggerKinds = map[string]int{}

func init() {
	for kind, phrases := range [...]string{
		triggerBack:  `back|return|returns|returning|zurück|zurueck|wieder im büro|wieder am|wieder|de retour|retour|de vuelta|regreso|regresaré|regresare|volveré|volvere|vuelvo|terug|weer|de volta|regresso|regressarei|retorno|retornarei|rientro|rientrerò|rientrero|di ritorno|ritorno|again`,
		triggerUntil: `until|till|til|through|thru|up to and including|bis zum|bis zur|bis einschließlich|bis einschliesslich|bis inkl|bis|jusqu'au|jusqu’au|jusqu'à|jusqu’à|hasta el|hasta|tot en met|t/m|tot|até ao|até o|até dia|até|fino al|fino a|sino al|sino a|after|nach dem|après le|après|después del|dopo il|após`,
		triggerFrom:  `ab dem|ab|à partir du|à partir de|a partir del|a partir de|à compter du|dès le|vanaf|a partire dal|a partire da|from|as of|starting`,
	} {
		for _, p := range strings.Split(phrases, "|") {
			words := strings.Fields(p)
			triggers[words[0]] = append(triggers[words[0]], words)
			triggerKinds[p] = kind
		}
	}
	for _, list := range triggers {
		sort.SliceStable(list, func(i, j int) bool { return len(list[i]) > len(list[j]) })
	}
}

// rangeWords separate the two dates of "from 1 to 5 December"; the
// second is an "until".
var rangeWords = setOf("to", "au", "al", "-", "–")

type word struct {
	s          string
	start, end int
}

// words splits lower-cased text into words (letters, digits and the
// apostrophes and slashes of "jusqu'au" and "t/m") and dashes.
func words(s string) []word {
	var out []word
	start := -1
	for i, r := range s {
		in := unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' || r == '’' || r == '/'
		if in {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			out = append(out, word{s[start:i], start, i})
			start = -1
		}
		if r == '-' || r == '–' {
			out = append(out, word{string(r), i, i + utf8.RuneLen(r)})
		}
	}
	if start >= 0 {
		out = append(out, word{s[start:], start, len(s)})
	}
	return out
}

// findReturnDate finds the day a notice says its sender is back,
// resolving dates without a year, weekdays and ambiguous numeric dates
// against base (the message's Date). Zero when none is stated. "Back"
// phrases are trusted over "until" ones, those over "from … again"; the
// first of the same kind wins.
func findReturnDate(text string, base time.Time) time.Time {
	low := strings.ToLower(text)
	if len(low) > 6000 {
		low = strings.ToValidUTF8(low[:6000], "")
	}
	ws := words(low)
	var best *dateCandidate
	consider := func(kind, pos, end int) {
		if best != nil && best.kind <= kind {
			return
		}
		day, ok := parseDateAt(low[end:min(len(low), end+120)], base)
		if !ok {
			return
		}
		if kind == triggerUntil {
			day = day.AddDate(0, 0, 1)
		}
		// A return date far from the notice is a misreading.
		if day.Before(base.AddDate(0, 0, -45)) || day.After(base.AddDate(1, 1, 0)) {
			return
		}
		best = &dateCandidate{kind: kind, pos: pos, day: day}
	}
	for i, w := range ws {
		if rangeWords[w.s] {
			if i > 0 && dayOrMonth(ws[i-1], low) {
				consider(triggerUntil, w.start, w.end)
			}
			continue
		}
	phrases:
		for _, p := range triggers[w.s] {
			if i+len(p) > len(ws) {
				continue
			}
			for k := 1; k < len(p); k++ {
				if ws[i+k].s != p[k] {
					continue phrases
				}
			}
			end := ws[i+len(p)-1].end
			kind := triggerKinds[strings.Join(p, " ")]
			if kind == triggerFrom && !reBackWord.MatchString(low[end:min(len(low), end+100)]) {
				break
			}
			consider(kind, w.start, end)
			break
		}
	}
	if best == nil {
		return time.Time{}
	}
	return best.day
}

// dayOrMonth: w, the word before a range separator, is a day number
// ("1", "1st", "1er", "1." but not part of "2026-12-09") or a month name.
func dayOrMonth(w word, low string) bool {
	if _, ok := months[w.s]; ok {
		return true
	}
	d := strings.TrimRight(w.s, "stndrhe")
	if len(d) == 0 || len(d) > 2 || strings.Trim(d, "0123456789") != "" {
		return false
	}
	return w.start == 0 || !strings.ContainsRune("-/.", rune(low[w.start-1]))
}

// parseDateAt reads the date expression at the start of s, skipping
// filler words and a weekday name.
func parseDateAt(s string, base time.Time) (time.Time, bool) {
	loc := base.Location()
	today := time.Date(base.Year(), base.Month(), base.Day(), 0, 0, 0, 0, loc)
	wd, haveWD := time.Weekday(0), false
	for step := 0; step < 8; step++ {
		s = strings.TrimLeft(s, " \t\n,;:.()–-'’\"")
		if d, ok := parseDate0(s, today); ok {
			return d, true
		}
		w := reWord.FindString(s)
		if w == "" {
			break
		}
		key := strings.TrimRight(w, "'’-")
		key = strings.TrimSuffix(key, ".")
		if d, ok := weekdays[key]; ok {
			wd, haveWD = d, true
			s = strings.TrimPrefix(s[len(w):], ".")
			continue
		}
		if !fillers[key] {
			break
		}
		s = s[len(w):]
	}
	if !haveWD {
		return time.Time{}, false
	}
	s = strings.TrimLeft(s, " \t,")
	s = strings.TrimPrefix(s, "the ")
	// "Monday the 8th": the next 8th after today.
	if m := reDayOnly.FindStringSubmatch(s); m != nil {
		day, _ := strconv.Atoi(m[1])
		for d := today.AddDate(0, 0, 1); d.Before(today.AddDate(0, 2, 0)); d = d.AddDate(0, 0, 1) {
			if d.Day() == day {
				return d, true
			}
		}
	}
	// "back on Monday": the next Monday after the notice.
	d := today.AddDate(0, 0, 1)
	for d.Weekday() != wd {
		d = d.AddDate(0, 0, 1)
	}
	return d, true
}

// parseDate0 reads a date with a month at the start of s.
func parseDate0(s string, today time.Time) (time.Time, bool) {
	if m := reISODate.FindStringSubmatch(s); m != nil {
		return mkDate(atoi(m[1]), atoi(m[2]), atoi(m[3]), today)
	}
	if m := reNumericDate.FindStringSubmatch(s); m != nil {
		a, b, y := atoi(m[1]), atoi(m[3]), -1
		if m[4] != "" {
			y = atoi(m[4])
			if y < 100 {
				y += 2000
			}
		}
		if m[2] == "." {
			return mkDate(y, b, a, today)
		}
		// "12/05/2026": day/month or month/day, whichever is the nearer
		// day from the notice on (an absence ends after it is announced).
		dm, okDM := mkDate(y, b, a, today)
		md, okMD := mkDate(y, a, b, today)
		switch {
		case okDM && okMD:
			return nearerAhead(dm, md, today), true
		case okDM:
			return dm, true
		case okMD:
			return md, true
		}
		return time.Time{}, false
	}
	if m := reDayMonth.FindStringSubmatch(s); m != nil {
		if mon, ok := months[m[2]]; ok {
			y := -1
			if m[3] != "" {
				y = atoi(m[3])
			}
			return mkDate(y, int(mon), atoi(m[1]), today)
		}
	}
	if m := reMonthDay.FindStringSubmatch(s); m != nil {
		if mon, ok := months[m[1]]; ok {
			y := -1
			if m[3] != "" {
				y = atoi(m[3])
			}
			return mkDate(y, int(mon), atoi(m[2]), today)
		}
	}
	return time.Time{}, false
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// mkDate builds a date, y < 0 meaning "the next such day": this year's,
// or next year's when this year's was more than 45 days ago.
func mkDate(y, m, d int, today time.Time) (time.Time, bool) {
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	guess := y < 0
	if guess {
		y = today.Year()
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, today.Location())
	if t.Day() != d {
		return time.Time{}, false // 31 April
	}
	if guess && t.Before(today.AddDate(0, 0, -45)) {
		t = t.AddDate(1, 0, 0)
	}
	return t, true
}

// nearerAhead picks, of two readings, the first on or after today, or
// the later one when both are past.
func nearerAhead(a, b, today time.Time) time.Time {
	aOK, bOK := !a.Before(today), !b.Before(today)
	switch {
	case aOK && bOK:
		if a.Before(b) {
			return a
		}
		return b
	case aOK:
		return a
	case bOK:
		return b
	case a.After(b):
		return a
	}
	return b
}
