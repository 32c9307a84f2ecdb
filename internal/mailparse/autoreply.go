package mailparse

import (
	"regexp"
	"strings"
	"time"
	"unicode"
)

// AutoReply is the verdict on whether a message was sent automatically,
// decided from headers, subject and wording, without an LLM.
type AutoReply struct {
	// Is is true for a message a machine sent on someone's behalf:
	// Auto-Submitted other than "no" (RFC 3834), X-Autoreply,
	// X-Autorespond, Precedence: auto_reply, an auto-reply subject prefix,
	// or out-of-office wording. Precedence bulk/junk alone is not enough
	// (it is noted in Reason), and neither are Exchange's
	// X-Auto-Response-Suppress or X-MS-Exchange-Inbox-Rules-Loop.
	Is bool
	// Reason lists the signals found, "; "-separated, e.g.
	// "Auto-Submitted: auto-replied; out-of-office phrasing".
	Reason string
	// OutOfOffice is true for an out-of-office / vacation notice: an
	// out-of-office subject or wording, with or without the headers.
	// Never true for a multipart/report (bounces, read receipts).
	OutOfOffice bool
	// ReturnDate is the day the text says the person is back (midnight in
	// the Date header's zone), zero when none is stated: the date itself
	// for "back on X", the day after X for "until X".
	ReturnDate time.Time
}

// Reason strings.
const (
	reasonXAutoreply   = "X-Autoreply header"
	reasonXAutorespond = "X-Autorespond header"
	reasonPhrasing     = "out-of-office phrasing"
)

var (
	// Subject prefixes of auto-replies. Exchange writes "Automatic reply:"
	// (and its translations), Gmail's vacation responder keeps the
	// original subject, many others write "Auto:" or "Out of Office:".
	reAutoSubject = regexp.MustCompile(`(?i)^\s*((automatic reply|auto[- ]?reply|autoreply|automatische antwort|abwesenheitsnotiz|réponse automatique|reponse automatique|respuesta automática|respuesta automatica|automatisch antwoord|resposta automática|resposta automatica|risposta automatica|autosvar|automatisk svar|automaattinen vastaus|out of (the )?office|fuera de la oficina)\b|(auto|ooo|absence|abwesend|afwezig|ausente|assente|ferie|urlaub|vacation)\s*(:|-|–|\(|\[|$))`)
)

// oooPhrases is the wording of out-of-office notices, matched on
// lower-cased text. Each expression runs only when its guard word is in
// the text, so a usual reply costs a few substring searches.
var oooPhrases = []struct {
	guards []string // the expression runs when one of these is in the text
	re     *regexp.Regexp
}{
	// English
	{[]string{"office"}, regexp.MustCompile(`\b(i am|i'm|i’m|i will be|i'll be|i’ll be|currently)\s+(currently\s+)?(out of (the )?office|away from (the )?office)|\bout of (the )?office (until|till|through|from|and|with|returning)`)},
	{[]string{"away", "out of town"}, regexp.MustCompile(`\b(i am|i'm|i’m|i will be|i'll be|i’ll be)\s+(currently\s+)?(away\b|out of town)`)},
	{[]string{"desk"}, regexp.MustCompile(`\b(i am|i'm|i’m|i will be|i'll be|i’ll be|currently)\s+(currently\s+)?away from my desk`)},
	{[]string{"leave"}, regexp.MustCompile(`\b(i am|i'm|i’m|i will be|i'll be|i’ll be|currently)\s+(currently\s+)?(on (annual |parental |maternity |paternity |sick )?leave|out on leave)|\b(on|from) annual leave\b`)},
	{[]string{"vacation"}, regexp.MustCompile(`\b(i am|i'm|i’m|i will be|i'll be|i’ll be|currently)\s+(currently\s+)?(on|out on) vacation`)},
	{[]string{"holiday"}, regexp.MustCompile(`\b(i am|i'm|i’m|i will be|i'll be|i’ll be|currently)\s+(currently\s+)?on (holiday|holidays)\b`)},
	{[]string{"pto"}, regexp.MustCompile(`\b(i am|i'm|i’m|i will be|i'll be|i’ll be|currently)\s+(currently\s+)?(on|out on) pto\b`)},
	{[]string{"travel"}, regexp.MustCompile(`\b(i am|i'm|i’m|i will be|i'll be|i’ll be|currently)\s+(currently\s+)?(on business travel|travell?ing (with|and have) limited)`)},
	{[]string{"access to"}, regexp.MustCompile(`\bwith (limited|no|restricted|intermittent) access to (my )?e-?mail`)},
	{[]string{"thank you for your"}, regexp.MustCompile(`\bthank you for your (e-?mail|message)[.,!]? i am (currently )?(out|away|on)\b`)},
	{[]string{"automatic reply"}, regexp.MustCompile(`\bautomatic reply\b.{0,40}\b(away|leave|absent|vacation|out)\b`)},
	// German
	{[]string{"ich bin"}, regexp.MustCompile(`\bich bin (vom .{1,30} )?(bis .{1,40} )?(nicht im (büro|hause|haus)|abwesend|im urlaub|außer haus|ausser haus|nicht erreichbar|auf dienstreise|in elternzeit)`)},
	{[]string{"bin ", "befinde mich"}, regexp.MustCompile(`\b(bin|befinde mich) (derzeit |zurzeit |aktuell )?(im urlaub|nicht im büro|außer haus|abwesend)`)},
	{[]string{"abwesenheitsnotiz"}, regexp.MustCompile(`\babwesenheitsnotiz\b`)},
	// French
	{[]string{"je suis", "je serai"}, regexp.MustCompile(`\bje suis (actuellement )?(absente?|en congés?|en vacances|en déplacement|hors du bureau)|\bje serai (absente?|en congés?|en vacances)`)},
	// Spanish
	{[]string{"estoy", "estaré"}, regexp.MustCompile(`\bestoy (actualmente )?(fuera de la oficina|de vacaciones|ausente|fuera de oficina)|\bestaré (fuera de la oficina|de vacaciones|ausente)`)},
	// Dutch
	{[]string{"ik ben"}, regexp.MustCompile(`\bik ben (momenteel |tot .{1,30} )?(afwezig|met vakantie|op vakantie|niet op kantoor|niet aanwezig)`)},
	// Portuguese
	{[]string{"estou", "estarei"}, regexp.MustCompile(`\b(estou|estarei) (atualmente |actualmente )?(fora do escritório|de férias|ausente|em férias)`)},
	// Italian
	{[]string{"sono ", "sarò "}, regexp.MustCompile(`\bsono (attualmente )?(fuori ufficio|in ferie|assente|in vacanza)|\bsarò (fuori ufficio|in ferie|assente)`)},
}

func detectAutoReply(m *Message) AutoReply {
	var a AutoReply
	var reasons []string
	note := func(r string) { reasons = append(reasons, r) }

	if v := headerToken(m.header.Get("Auto-Submitted")); v != "" && v != "no" {
		a.Is = true
		note("Auto-Submitted: " + v)
	}
	if m.header.Has("X-Autoreply") && !isNo(m.header.Get("X-Autoreply")) {
		a.Is = true
		note(reasonXAutoreply)
	}
	if m.header.Has("X-Autorespond") && !isNo(m.header.Get("X-Autorespond")) {
		a.Is = true
		note(reasonXAutorespond)
	}
	bulk := false
	switch p := headerToken(m.header.Get("Precedence")); p {
	case "auto_reply", "auto-reply":
		a.Is = true
		note("Precedence: " + p)
	case "bulk", "junk":
		bulk = true
		note("Precedence: " + p)
	}
	subjectAuto := reAutoSubject.FindStringSubmatch(m.Subject)
	if subjectAuto != nil {
		a.Is = true
		note("subject: " + strings.TrimRight(strings.TrimSpace(subjectAuto[1]), ":-–([ "))
	}
	if m.IsReport {
		// A delivery status or read receipt: the bounce parser's, never
		// an out-of-office.
		a.Reason = strings.Join(reasons, "; ")
		return a
	}

	body := m.Clean
	if body == "" {
		body = m.Text
	}
	if len(body) > 4000 {
		body = body[:4000]
	}
	phrased := oooPhrased(body) || oooPhrased(m.Subject)
	switch {
	case phrased:
		a.Is, a.OutOfOffice = true, true
		note(reasonPhrasing)
	case (a.Is || bulk) && oooSubject(m.Subject):
		// "Automatic reply: Out of Office" and the like, with the headers
		// or the prefix saying a machine wrote it.
		a.Is, a.OutOfOffice = true, true
	}
	a.Reason = strings.Join(reasons, "; ")
	if a.OutOfOffice {
		base := m.Date
		if base.IsZero() {
			base = time.Now()
		}
		a.ReturnDate = findReturnDate(m.Subject+"\n"+body, base)
	}
	return a
}

// headerToken is a structured header's first token, lower-cased, without
// parameters or comments: "auto-replied; owner-email=..." is
// "auto-replied".
func headerToken(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if i := strings.IndexAny(v, ";( \t"); i >= 0 {
		v = v[:i]
	}
	return v
}

func isNo(v string) bool {
	t := headerToken(v)
	return t == "no" || t == "false" || t == "0"
}

// oooPhrased reports whether s has out-of-office wording.
func oooPhrased(s string) bool {
	low := strings.ToLower(s)
	for _, p := range oooPhrases {
		if containsAny(low, p.guards) && p.re.MatchString(low) {
			return true
		}
	}
	return false
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// oooSubjectWords make an auto-reply's subject an out-of-office one. The
// first row are Exchange's subject prefixes for its Automatic Replies
// (Outlook's name for out-of-office) in the languages it ships.
var oooSubjectWords = []string{
	"automatic reply", "automatische antwort", "réponse automatique", "respuesta automática",
	"risposta automatica", "resposta automática", "automatisch antwoord", "autosvar", "automatisk svar",
	"out of office", "out of the office", "abwesenheit", "abwesend", "nicht im büro", "urlaub",
	"absence", "absent", "congé", "conges", "vacances", "fuera de la oficina", "ausente", "vacaciones",
	"afwezig", "vakantie", "ausência", "ausencia", "férias", "assente", "assenza", "ferie",
	"fuori ufficio", "vacation", "annual leave", "holiday",
}

func oooSubject(subject string) bool {
	low := strings.ToLower(subject)
	if containsAny(low, oooSubjectWords) {
		return true
	}
	for _, w := range strings.FieldsFunc(low, func(r rune) bool { return !unicode.IsLetter(r) }) {
		if w == "ooo" {
			return true
		}
	}
	return false
}
