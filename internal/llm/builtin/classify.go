package builtin

import (
	"context"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/leadpilot/leadpilot/internal/llm"
)

// ClassifyReply labels a reply with rules, in this order: bounce,
// out_of_office, unsubscribe, not_interested, interested, question, other.
// The order is the order of how sure and how consequential each signal is:
// a delivery report or an auto-reply header is machine-written and
// certain; an unsubscribe request must never be missed; an objection
// beats a polite "happy to chat" in the same message.
//
// Bounce rules read the whole message, quoted parts included, because a
// delivery report puts its evidence where a person would quote. Every
// other rule reads the reply with quoted text, the "On ... wrote:" and
// Outlook header blocks, the original outreach and the signature removed,
// so words from our own email do not count as the lead's.
//
// Only the start of a body is read (maxTextChars), so a huge body costs
// no more than a long reply; sender, subject and headers are read whole.
func (p *Provider) ClassifyReply(ctx context.Context, reply llm.Reply, original *llm.Original) (llm.ClassifyResult, error) {
	if err := ctx.Err(); err != nil {
		return llm.ClassifyResult{}, err
	}
	v := classify(reply, original)
	return llm.ClassifyResult{
		Meta:           meta(words(reply.Subject, reply.Body), words(v.reason)+1),
		Classification: v.class,
		Confidence:     v.confidence,
		Reason:         v.reason,
	}, nil
}

type verdict struct {
	class      llm.Classification
	confidence float64
	reason     string
}

// Limits on how much of a body the rules read. A reply's own words come
// first, and so does a delivery report's evidence, so the rest of a huge
// body (a forwarded thread, an attachment pasted inline) only costs time.
// Headers, sender and subject are always read in full.
const (
	// maxTextChars is how much of the reply's own text, after quoted
	// text is removed, the intent rules read; and how much of the raw body
	// the bounce rule reads. It counts bytes, cut on a rune boundary, so
	// it is at most as many characters. Every rule's regular expressions
	// run in time linear in what they read (Go's RE2 engine), so this
	// bounds the cost of a reply.
	maxTextChars = 20_000
	// maxStripBytes is how much of the raw body quote stripping walks to
	// find the reply's own text.
	maxStripBytes = 256 << 10
)

// truncate returns at most n bytes of s, cut on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func classify(reply llm.Reply, original *llm.Original) verdict {
	h := lowerHeaders(reply.Headers)
	if v, ok := bounceRule(reply, h); ok {
		return v
	}
	text := normalise(truncate(stripQuoted(truncate(reply.Body, maxStripBytes), original), maxTextChars))
	subject := normalise(reply.Subject)

	intent, intentOK := intentRules(text)
	if v, ok := autoReplyRule(h, subject, text, intentOK); ok {
		return v
	}
	if intentOK {
		return intent
	}
	if v, ok := questionRule(text); ok {
		return v
	}
	if strings.TrimSpace(text) == "" {
		return verdict{llm.Other, 0.5, "other: the reply has no text of its own once quoted text is removed"}
	}
	return verdict{llm.Other, 0.5, "other: no rule matched"}
}

// intentRules runs the rules a person's own words decide, in order:
// unsubscribe, not_interested, interested.
func intentRules(text string) (verdict, bool) {
	o := readOwn(text)
	if v, ok := unsubscribeRule(o); ok {
		return v, true
	}
	if v, ok := notInterestedRule(o); ok {
		return v, true
	}
	if o.yesOK {
		return o.yes, true
	}
	return verdict{}, false
}

// ownText is the reply's own words with the reading of interest, which
// several rules consult, worked out once.
type ownText struct {
	text    string
	yesLocs [][]int // every interestedRe match, negated or not
	yes     verdict // interestedRule's verdict
	yesOK   bool
}

func readOwn(text string) *ownText {
	o := &ownText{text: text, yesLocs: interestedRe.FindAllStringIndex(text, -1)}
	o.yes, o.yesOK = interestedRule(text, o.yesLocs)
	return o
}

// lowerHeaders folds header names to lower case; values keep their case.
func lowerHeaders(in map[string][]string) map[string]string {
	out := make(map[string]string, len(in))
	for k, vs := range in {
		out[strings.ToLower(k)] = strings.Join(vs, ", ")
	}
	return out
}

// normalise lower-cases text and folds typographic quotes and dashes, so
// "don’t" (as phones type it) matches "don't".
func normalise(s string) string {
	return strings.ToLower(typographic.Replace(s))
}

// typographic folds the quotes, dashes and spaces normalise folds; built
// once (a Replacer compiles its table on first use).
var typographic = strings.NewReplacer("\u2019", "'", "\u2018", "'", "\u201c", `"`, "\u201d", `"`, "\u2013", "-", "\u2014", "-", "\u00a0", " ")

// --- bounce ---------------------------------------------------------------

var (
	bounceSubjectRe = mustAlternation(`(?i)^\s*(undeliverable|undelivered mail returned to sender|delivery status notification \(failure\)|mail delivery failed|delivery failure|failure notice|returned mail\b|undeliverable mail|message not delivered|non[- ]?delivery|nondeliverable|mail system error|delivery has failed|delivery notification: delivery has failed|message delivery failure|unable to deliver)`)
	delaySubjectRe  = mustAlternation(`(?i)delivery status notification \(delay\)|delivery delayed|delayed mail|warning: could not send message|message delay`)
	delayBodyRe     = mustAlternation(`(?i)action:\s*delayed|message not delivered yet|will (continue to )?retry|has been delayed|still trying|not yet been delivered|delivery is delayed`)
	failedActionRe  = mustAlternation(`(?i)action:\s*failed|permanent(ly)? (error|failure|fatal)|failed permanently|\b5\.\d{1,3}\.\d{1,3}\b`)
	statusCodeRe    = mustAlternation(`(?i)(\b5\d\d[ -]#?\s*5\.\d{1,3}\.\d{1,3}\b|#5\.\d{1,3}\.\d{1,3}\b|status:\s*5\.\d{1,3}\.\d{1,3}\b|\b5\.\d{1,3}\.\d{1,3}\s+(resolver|smtp|<|user|mailbox|recipient|address|the email account))`)
	bouncePhraseRe  = mustAlternation(`(?i)address not found|user unknown|unknown user|recipient address rejected|no such user|no such (mailbox|recipient)|mailbox (unavailable|not found|does not exist)|recipient not found|recipnotfound|delivery has failed to these recipients|couldn't be delivered|could not be delivered to one or more recipients|the email account that you tried to reach does not exist|this is the mail system at host|this message was created automatically by mail delivery software|wasn't able to deliver your message|unable to deliver your message|delivery to the following recipients? failed|the following address\(es\) failed|doesn't have a [\w.-]+ account|inbox is full|mailbox (is )?full|quota exceeded`)
	// smtpCodeRe is an SMTP failure code as mail systems quote it: an
	// enhanced status code (RFC 3463) or a reply code after the words a
	// report puts before it.
	smtpCodeRe    = mustAlternation(`(?i)\b[45]\.[0-7]\.\d{1,3}\b|(?:^|\n|said:|error:?|response:?|reason:|status:?|remote server was:)\s*[45][0-5]\d\b`)
	daemonLocalRe = mustAlternation(`(?i)^(mailer-daemon|postmaster|mail-daemon|microsoftexchange[0-9a-f]*)$`)
	daemonNameRe  = mustAlternation(`(?i)mail delivery (subsystem|system)|mailer-daemon`)
)

// bounceRule recognises non-delivery reports by their structure (RFC 3464
// multipart/report), their sender (MAILER-DAEMON, postmaster, Exchange's
// system mailbox), their subject, and the status codes and phrases Gmail,
// Exchange, Postfix, Exim, qmail and Yahoo write. A delay notice has the
// same structure but is not a failure, so it is "other".
//
// Non-delivery wording alone ("inbox is full", "user unknown") is not
// enough: a person can write it ("my inbox is full of pitches like
// this"). It counts only next to a structural signal: a report content
// type, a bounce header, or an SMTP status code in the body.
func bounceRule(reply llm.Reply, h map[string]string) (verdict, bool) {
	body := truncate(reply.Body, maxTextChars)
	if delaySubjectRe.MatchString(reply.Subject) || (delayBodyRe.MatchString(body) && !failedActionRe.MatchString(body)) {
		if isDeliveryReport(reply, h) {
			return verdict{llm.Other, 0.85, "other: a delivery delay notice; the server is still retrying, so this is not a bounce yet"}, true
		}
	}

	ct := strings.ToLower(h["content-type"])
	switch {
	case strings.Contains(ct, "multipart/report") && strings.Contains(ct, "delivery-status"):
		return verdict{llm.Bounce, 0.99, "bounce: Content-Type multipart/report; report-type=delivery-status is a delivery status notification"}, true
	case isDaemon(reply.From):
		return verdict{llm.Bounce, 0.97, fmt.Sprintf("bounce: sent by the mail system (%s)", reply.From)}, true
	case bounceSubjectRe.MatchString(reply.Subject):
		return verdict{llm.Bounce, 0.95, fmt.Sprintf("bounce: subject %q is a non-delivery report", strings.TrimSpace(reply.Subject))}, true
	}
	if m := statusCodeRe.FindString(body); m != "" {
		return verdict{llm.Bounce, 0.9, fmt.Sprintf("bounce: permanent SMTP failure status %q in the body", strings.TrimSpace(m))}, true
	}
	if signal := bounceStructure(h, ct, body); signal != "" {
		if m := bouncePhraseRe.FindString(body); m != "" {
			return verdict{llm.Bounce, 0.85, fmt.Sprintf("bounce: non-delivery wording %q in the body with %s", m, signal)}, true
		}
	}
	return verdict{}, false
}

// bounceStructure names a sign, other than the ones bounceRule decides
// on by themselves, that a message was written by a mail system about a
// delivery, or returns "".
func bounceStructure(h map[string]string, ct, body string) string {
	switch {
	case strings.Contains(ct, "multipart/report") || strings.Contains(ct, "delivery-status"):
		return "a report Content-Type"
	case h["x-failed-recipients"] != "":
		return "an X-Failed-Recipients header"
	}
	if _, ok := h["x-ms-exchange-message-is-ndr"]; ok {
		return "an X-MS-Exchange-Message-Is-Ndr header"
	}
	if m := smtpCodeRe.FindString(body); m != "" {
		return fmt.Sprintf("SMTP status %q", strings.TrimSpace(m))
	}
	return ""
}

func isDeliveryReport(reply llm.Reply, h map[string]string) bool {
	ct := strings.ToLower(h["content-type"])
	return strings.Contains(ct, "delivery-status") || isDaemon(reply.From) || delaySubjectRe.MatchString(reply.Subject)
}

func isDaemon(from string) bool {
	if from == "" {
		return false
	}
	addr, err := mail.ParseAddress(from)
	if err != nil {
		// Postfix writes "MAILER-DAEMON@host (Mail Delivery System)", an
		// old form net/mail rejects: fall back to the text itself.
		return daemonNameRe.MatchString(from) || strings.HasPrefix(strings.ToLower(strings.TrimSpace(from)), "postmaster@")
	}
	local, _, _ := strings.Cut(addr.Address, "@")
	return daemonLocalRe.MatchString(local) || daemonNameRe.MatchString(addr.Name)
}

// --- out of office ----------------------------------------------------------

var (
	oooSubjectRe = mustAlternation(`^\s*(automatic reply|auto:|autoreply|auto-reply|auto reply|auto response|autoresponse|auto-response|out of (the )?office|ooo\b|away from|abwesenheitsnotiz|abwesend|réponse automatique|respuesta automática|risposta automatica|afwezigheidsbericht|frånvaro)|out of (the )?office|on vacation|on holiday|on leave`)
	oooPhraseRe  = mustAlternation(`out of (the )?office|\b(on|off|away on) (annual |parental |maternity |paternity |sick |medical |study |garden |extended |compassionate |bereavement )?leave\b|\b(on|off on) (vacation|holiday|holidays|pto|sabbatical)\b|\b(out|off) sick\b|limited (access to|availability on) (my )?(e-?mails?|inbox)|(limited|no|without|intermittent|restricted) access to (my )?(e-?mails?|inbox)|\baway (from (the office|my desk|work|e-?mail) )?(until|till|til|through|thru) ` + dateish + `|\b(i'm|i am|i'll be|i will be|currently) (currently )?(out|off) (until|till|til|through|thru) ` + dateish + `|\b(back|returning|return)( in the office| to the office| at my desk| to work| at work)? (on|from|after|by) (the )?` + dateish + `|\bcurrently (away|travell?ing)\b|\b(i'm|i am) away (from|until|till|this|today|for)\b|(will|i'll) (respond|reply|get back to you) (to your (e-?mail|message) )?(when|upon|as soon as|once) (i|i'm|i am) (return|back)|\bupon my return\b`)
	// dateish is the start of a date or a day as an absence notice writes
	// its return: "Monday", "the 14th", "3 March", "next week".
	dateish       = `((mon|tues|wednes|thurs|fri|satur|sun)day|tomorrow|today|tonight|next (week|mon|tue|wed|thu|fri|sat|sun)|the \d|\d|(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|(the )?(end|start|beginning|middle) of (the )?(week|month|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)|mid[- ]?(week|month|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)|(early|late) (next week|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)|after the (holidays?|new year|break|weekend|long weekend|bank holiday))`
	leftCompanyRe = mustAlternation(`no longer (with|at|employed|work(s|ing)? (at|for|with))|(has|have) left (the company|the organi[sz]ation|\w+ as of)|i('ve| have) left \w+|this (mailbox|inbox|e-?mail address|address) is no longer (monitored|active|in use|being monitored)`)
	autoAckRe     = mustAlternation(`(ticket|case|request) (number|no\.|#|id|\(?#?\d+\)?)|(has|have) been (received|logged|created)|we('ve| have) received your (e-?mail|message|request|inquiry|enquiry)|thank you for contacting|this is an automated (response|message|reply)|do not reply to this (e-?mail|message)`)
)

// autoReplyRule recognises out-of-office replies by the headers mail
// systems set on automatic replies (RFC 3834 Auto-Submitted, Exchange and
// others' X-Autoreply, X-Autorespond, Precedence: auto_reply), their
// subjects ("Automatic reply:", "Out of Office") and their wording.
//
// An automatic reply that says the person left, or acknowledges a support
// ticket, is not an absence and is "other". Wording alone (no header, no
// subject) only counts when the reply carries no intent of its own: "I'm
// on holiday but yes, let's talk in May" was written by a person. The
// wording is anchored to absence ("out of the office", "on leave", "away
// until Monday", "back on the 14th", "limited access to email"), so
// "currently out of budget", "holding off until next year" and "I'll be
// back in touch" are not read as one.
func autoReplyRule(h map[string]string, subject, text string, hasIntent bool) (verdict, bool) {
	header := autoHeader(h)
	auto := header != "" || oooSubjectRe.MatchString(subject)
	if auto && leftCompanyRe.MatchString(text) {
		return verdict{llm.Other, 0.8, "other: an automatic reply saying the person has left or the mailbox is not monitored, not an absence"}, true
	}
	phrase := oooPhraseRe.FindString(text)
	switch {
	case header != "" && (phrase != "" || oooSubjectRe.MatchString(subject)):
		return verdict{llm.OutOfOffice, 0.97, fmt.Sprintf("out_of_office: automatic-reply header %s and absence wording", header)}, true
	case header != "" && autoAckRe.MatchString(text):
		return verdict{llm.Other, 0.7, fmt.Sprintf("other: automatic acknowledgement (header %s) without absence wording", header)}, true
	case header != "":
		return verdict{llm.OutOfOffice, 0.75, fmt.Sprintf("out_of_office: automatic-reply header %s", header)}, true
	case oooSubjectRe.MatchString(subject):
		return verdict{llm.OutOfOffice, 0.92, fmt.Sprintf("out_of_office: subject %q is an automatic reply", subject)}, true
	case phrase != "" && !hasIntent:
		return verdict{llm.OutOfOffice, 0.85, fmt.Sprintf("out_of_office: absence wording %q", phrase)}, true
	}
	return verdict{}, false
}

// autoHeader names the automatic-reply header present, or "".
func autoHeader(h map[string]string) string {
	if v := strings.ToLower(strings.TrimSpace(h["auto-submitted"])); v != "" && v != "no" {
		return "Auto-Submitted: " + v
	}
	for _, k := range []string{"x-autoreply", "x-autorespond", "x-autoresponder"} {
		if v := strings.TrimSpace(h[k]); v != "" && !strings.EqualFold(v, "no") {
			return k + ": " + v
		}
	}
	if p := strings.ToLower(h["precedence"]); strings.Contains(p, "auto_reply") || strings.Contains(p, "auto-reply") {
		return "Precedence: " + p
	}
	return ""
}

// --- unsubscribe --------------------------------------------------------------

var (
	// stopWords are the keywords carriers honour as an SMS opt-out; sent as
	// the whole message they are an unsubscribe on any channel.
	stopWords = mustAlternation(`^(stop|stopall|stop all|unsubscribe|unsubscribe me|cancel|end|quit|remove|remove me|opt out|opt-out|stop please|please stop|stop it)$`)
	unsubRe   = mustAlternation(`\bunsubscribe\b|\bremove (me|us|my (e-?mail|address|name|number|details|contact( details)?|info))\b|\btake (me|us|my [\w-]+( address)?) off\b|\bopt(ed|ing)?[- ]?out\b|\bopt (me|us) out\b|\b(do not|don't|dont|never) (e-?mail|write to) (me|us)\b|\b(do not|don't|dont) (contact|e-?mail|message|text|call) (me|us)? ?again\b|\bstop (e-?mailing|contacting|messaging|texting|sending|spamming|writing)\b|\bplease stop\b|\b(delete|erase|remove) (my|our) (data|details|information|personal data|contact details)\b|\boff (your|the) (mailing |e-?mail |contact )?list\b|\bno more (e-?mails|messages|texts)\b`)
	// channelNoRe declines a channel, not the conversation: "don't call
	// me" is an unsubscribe unless the same reply asks for email or says
	// yes ("don't call me, but email me the pricing").
	channelNoRe = mustAlternation(`\b(do not|don't|dont|never) (call|phone|ring|contact|message|text) (me|us)\b`)
	// askEmailRe asks to be written to instead of called.
	askEmailRe = mustAlternation(`\b(e-?mail|write to|send) (me|us)\b|\b(by|via|over|through|in an?) e-?mail\b|\be-?mail (is|works|would be) (better|best|fine|great|easier|preferred|ok|okay)\b|\b(just|only) e-?mail\b|\bstick (to|with) e-?mail\b|\be-?mail (instead|only)\b|\bin writing\b`)
	// notAListRe follows "remove me" or "take me off" when the request is
	// about a copy line or a thread, not about our list: "remove me from
	// the cc and loop in Jane".
	notAListRe = mustAlternation(`^ (from |off )?(of )?(the |this |that |these |those |your )?(e-?mail |mail |reply )?(cc|cc line|cc list|cc'd|bcc|copy|thread|chain|conversation|loop|reply[- ]all)\b`)
	nonLetters = regexp.MustCompile(`[^a-z -]+`)
)

// wholeReply is the reply's own text as bare lower-case words, for rules
// that read a one-word reply ("STOP", "No.").
func wholeReply(text string) string {
	if len(text) > 100 {
		return "" // too long to be a one-word reply; spares a pass over it
	}
	whole := strings.TrimSpace(nonLetters.ReplaceAllString(text, " "))
	return strings.Join(strings.Fields(whole), " ")
}

func unsubscribeRule(o *ownText) (verdict, bool) {
	text := o.text
	if whole := wholeReply(text); stopWords.MatchString(whole) {
		return verdict{llm.Unsubscribe, 0.98, fmt.Sprintf("unsubscribe: the whole reply is the opt-out keyword %q", strings.ToUpper(whole))}, true
	}
	for _, loc := range unsubRe.FindAllStringIndex(text, -1) {
		m := text[loc[0]:loc[1]]
		if (strings.HasPrefix(m, "remove") || strings.HasPrefix(m, "take")) && notAListRe.MatchString(text[loc[1]:]) {
			continue
		}
		return verdict{llm.Unsubscribe, 0.93, fmt.Sprintf("unsubscribe: asks to be removed (%q)", m)}, true
	}
	if m := channelNoRe.FindString(text); m != "" && !channelOnly(o) {
		return verdict{llm.Unsubscribe, 0.85, fmt.Sprintf("unsubscribe: asks not to be contacted (%q)", m)}, true
	}
	return verdict{}, false
}

// channelOnly reports whether a "don't call me" in text declines only the
// channel: the reply also asks for email or says yes.
func channelOnly(o *ownText) bool {
	return o.yesOK || askEmailRe.MatchString(o.text)
}

// --- not interested -----------------------------------------------------------

var (
	notInterestedRe = mustAlternation(`\bnot (really |currently |at all |very |that |too )?interested\b|\bno longer interested\b|\bno interest\b|\bnot (for us|for me|a fit|a good fit|the right fit|a great fit|relevant|a priority|something we need|something we're looking|in the market|looking|buying|the right time|a good time)\b|\b(isn't|is not|aren't|are not|not) (really |currently )?(a |the )?(priority|high on our list|on our radar)\b|\bno,? thanks?\b|\bno,? thank you\b|\bthanks,? but no\b|\b(we're|we are|i'm|i am) (all set|good for now|covered|happy with)\b|\b(don't|do not|dont) have (the |any |a )?(budget|bandwidth|capacity)\b|\bno budget\b|\bpass on this\b|\bhard pass\b|\b(i'll|we'll|i will|we will) pass(\s*[.!,;]|\s*$| for now| this time)|\b(we've|we have|we) (just |recently )?signed (a |an )?([\w-]+ ){0,3}with\b|\b(we're|we are|i'm|i am|all) good,? (thanks|thank you|for now)\b|\bbut no\b(,? thanks?| thank you)?\s*[.!]*\s*$|\b(decided|chose|chosen|going|went) (to go )?with (another|a different|someone else|an? (other|different) (vendor|provider|solution))\b|\b(doesn't|does not|don't|do not) (see a fit|fit|make sense)\b|\bnot now\b|\bnot at this (time|point|stage)\b|\bnot right now\b|\bnot this (year|quarter|month|time|round)\b|\b(out of|no|not in (the|our)|over( our)?|without (a|the|any)) budget\b|\bbudgets? (is|are|has been|have been|was|were) (\w+ )?(frozen|spent|used up|allocated|exhausted|gone|locked|tight|cut|closed|committed|maxed out)\b|\b(budget|spending|hiring) (freeze|cuts?)\b|\b(can't|cannot|can not|couldn't|could not) (afford|justify) (it|this|that|the (cost|price|spend|expense)|another (tool|vendor|subscription))\b|\b(holding|hold|held|holds) off\b|\b(is|are|been|currently|all|everything) on hold\b|\bput (this|it|that|things|everything|projects?) on (the )?(back ?burner|ice|hold)\b|\btiming (isn't|is not|'s not|is n't|just isn't) (right|great|good|ideal)\b|\bbad timing\b|\bnot (until|before) (next|the end of|q[1-4]|20\d\d)\b|\bnot something (we'd|we would|we'll|i'd|i would) consider\b`)
	// weakDeclineRe are declines that a clear yes in the same reply
	// outweighs: "I don't need a demo, just send me the pricing", "revisit
	// next year, but happy to chat".
	weakDeclineRe = mustAlternation(`\b(we|i) (don't|do not|dont) (need|want|require)\b|\bno need (for|to)\b|\bnext year\b|\b(revisit|circle back|reconnect|reach out|check back|check in|touch base|follow up|try (again|us again|me again)|ping (me|us))\b[^.!?]{0,30}\b(later|next (year|quarter)|in (a few|a couple of|\d+|six|three|two|several) (months|quarters)|in q[1-4]|in 20\d\d|after (the )?(new year|summer|q[1-4]))\b|\bmaybe (later|next (year|quarter)|another time|down the (road|line))\b`)
	// noWordsRe are the one-word declines, read as the whole reply.
	noWordsRe = mustAlternation(`^(no|nope|nah|no thanks?|no thank you|no way|no sorry|sorry no|negative|not interested|not for me|not for us|pass|no no)$`)
	// notGapRe is a negation a couple of words before "interested"; the
	// gap must not hold a clause word: "not sure but interested" is a yes.
	notGapRe     = mustAlternation(`\b(isn't|is not|aren't|are not|wouldn't be|won't be|am not|i'm not|we're not|we are not|not) (\w+ ){0,2}interested\b`)
	clauseWordRe = mustAlternation(`\b(but|though|although|however|yet|still)\b`)
	// alreadyRe is an incumbent ("we already use Outreach") unless what is
	// already had is free time: "I already have a slot open Tuesday".
	alreadyRe  = mustAlternation(`\balready (use|using|have|had|work with|working with|signed|partnered|got)\b`)
	freeTimeRe = mustAlternation(`^ (a |an |some |the |one |two |\d+ )?(slots?|time|times|openings?|windows?|gaps?|availability|spots?|meetings?|calls?|demos?|questions?|calendar|invites?|few|couple|\d)\b`)
	// callChannelRe are the "please don't ..." verbs that decline a
	// channel rather than the offer.
	callChannelRe = mustAlternation(`^(call|phone|ring|contact|message|text)$`)
	pleaseDontRe  = regexp.MustCompile(`\bplease (don't|do not|dont) (\w+)`)
	interestWord  = mustAlternation(`\binterested\b`)
)

func notInterestedRule(o *ownText) (verdict, bool) {
	text := o.text
	if whole := wholeReply(text); noWordsRe.MatchString(whole) {
		return verdict{llm.NotInterested, 0.9, fmt.Sprintf("not_interested: the whole reply is %q", whole)}, true
	}
	if m := notInterestedRe.FindString(text); m != "" {
		return verdict{llm.NotInterested, 0.88, fmt.Sprintf("not_interested: declines (%q)", m)}, true
	}
	for _, loc := range notGapRe.FindAllStringIndex(text, -1) {
		if m := text[loc[0]:loc[1]]; !clauseWordRe.MatchString(m) {
			return verdict{llm.NotInterested, 0.88, fmt.Sprintf("not_interested: declines (%q)", m)}, true
		}
	}
	for _, loc := range alreadyRe.FindAllStringIndex(text, -1) {
		if !freeTimeRe.MatchString(text[loc[1]:]) {
			return verdict{llm.NotInterested, 0.85, fmt.Sprintf("not_interested: already has a solution (%q)", text[loc[0]:loc[1]])}, true
		}
	}
	// A yes-phrase under a negation is a no: "I don't think we'd be
	// interested", "we would never book a call for this".
	for _, locs := range [][][]int{interestWord.FindAllStringIndex(text, -1), o.yesLocs} {
		for _, loc := range locs {
			if negated(text, loc[0]) {
				return verdict{llm.NotInterested, 0.8, fmt.Sprintf("not_interested: negated interest (%q)", lastWords(text[:loc[1]], 6))}, true
			}
		}
	}
	for _, m := range pleaseDontRe.FindAllStringSubmatch(text, -1) {
		switch {
		case m[2] == "hesitate":
			// "Please don't hesitate to send details" is a yes.
			continue
		case callChannelRe.MatchString(m[2]) && channelOnly(o):
			// "Please don't call, email me instead" declines a channel.
			continue
		}
		return verdict{llm.NotInterested, 0.8, fmt.Sprintf("not_interested: declines (%q)", m[0])}, true
	}
	if m := weakDeclineRe.FindString(text); m != "" {
		if !o.yesOK {
			return verdict{llm.NotInterested, 0.7, fmt.Sprintf("not_interested: declines (%q)", m)}, true
		}
	}
	return verdict{}, false
}

// lastWords returns the last n words of s, for quoting in a reason.
func lastWords(s string, n int) string {
	f := strings.Fields(s)
	return strings.Join(f[max(0, len(f)-n):], " ")
}

// --- interested ---------------------------------------------------------------

var (
	interestedRe = mustAlternation(`\binterested\b|\binteresting\b|\bsounds (good|great|interesting|promising|useful|like a plan)\b|\blet's (talk|chat|connect|set up|schedule|book|meet|do it|hop|jump|find a time|set something up)\b|\b(let's|can we|could we|can you|could you|shall we) (do|have|get|grab|set up|book|schedule|arrange|hop on|jump on) (a |the )?(quick |short )?(call|chat|meeting|demo)\b|\b(book|schedule|set up|arrange|grab|hop on|jump on|have) a (quick |short |15[- ]min(ute)? |30[- ]min(ute)? )?(call|meeting|demo|time|chat)\b|\b(send|e-?mail) (me|us|over|across) (some |more |the |a |your )?(more|info|information|details|deck|pricing|prices|case stud\w*|overview|brochure|one-pager|proposal|quote)\b|\bsend (it|them|that) over\b|\btell me more\b|\b(would|i'd|we'd|i would|we would) (love|like|be keen|be happy|be glad) to (learn|hear|know|see|chat|talk|connect|meet|find out|get)\b|\b(happy|glad) to (chat|talk|connect|meet|hop|jump|learn|take a look|have a look|hear more)\b|\b(what|which) (times?|days?|slots?) (work|suit|are good|would work)\b|\bwhen are you (free|available)\b|\b(your|any) availability\b|\b(i'm|i am|we're|we are) (free|available)\b|\bworks for me\b|\bcount me in\b|\byes,? please\b|^(yes|yep|sure|absolutely|definitely|of course)\b|\bkeen to\b|\bopen to (a|an|learning|chatting|hearing|it|that|exploring)\b|\bworth a (chat|call|look|conversation)\b|\blet me know (when|what time)\b|\b(monday|tuesday|wednesday|thursday|friday|tomorrow) (works\b|at \d|afternoon\b|morning\b|is good\b|would work\b)|\b(slots?|openings?|windows?|gaps?) (open|free|available)\b|\bfree (on |at |this |next )?((mon|tues|wednes|thurs|fri)day|tomorrow)\b|\bset (something|a time|a call) up\b|\blooks (good|great|interesting)\b|\bcurious to (learn|hear|see)\b`)
	calendarRe   = mustAlternation(`calendly\.com|\bcal\.com/|meetings\.hubspot\.com|savvycal\.com|zcal\.co|chilipiper\.com|tidycal\.com|youcanbook\.me|calendar\.app\.google|outlook\.office365\.com/(owa/)?(calendar|bookwithme)|calendar\.google\.com/calendar/appointments`)
	// negationRe finds a negation in the words just before a match, within
	// the same clause.
	negationRe = mustAlternation(`\b(not|never|no longer|hardly|nor|no)\b|n't\b`)
	clauseRe   = mustAlternation(`[.!?;,\x{2026}]|\s-+\s|\bbut\b|\bthough\b|\bhowever\b`)
)

// interestedRule reads interest from a booking link or from locs, the
// interestedRe matches in text, skipping negated ones.
func interestedRule(text string, locs [][]int) (verdict, bool) {
	if m := calendarRe.FindString(text); m != "" {
		return verdict{llm.Interested, 0.9, fmt.Sprintf("interested: shares a booking link (%s)", m)}, true
	}
	for _, loc := range locs {
		if negated(text, loc[0]) {
			continue
		}
		return verdict{llm.Interested, 0.85, fmt.Sprintf("interested: positive reply (%q)", text[loc[0]:loc[1]])}, true
	}
	return verdict{}, false
}

// negated reports whether a negation precedes position i in the same
// clause, looking back a few words: "I don't think we'd be interested",
// but not "Not sure, but I'd love to hear more".
func negated(text string, i int) bool {
	start := max(0, i-40)
	window := text[start:i]
	if locs := clauseRe.FindAllStringIndex(window, -1); len(locs) > 0 {
		window = window[locs[len(locs)-1][1]:]
	}
	return negationRe.MatchString(window)
}

// --- question -----------------------------------------------------------------

var (
	questionTopicRe = mustAlternation(`pric|cost|how much|how does|how do|how would|how it works|how long|integrat|support|trial|contract|plan|feature|differen|compare|minimum|set ?up|onboard|secur|gdpr|data|api|discount|per (seat|user|month)|work with|refund|languages?|case stud`)
	questionStartRe = mustAlternation(`(?m)^(how|what|what's|which|when|where|who|why)\b.{3,}$|^(can|could|do|does|is|are|will|would) (you|it|this|that|there|your|we|i)\b.{3,}$|\bi was wondering\b|\bi'm wondering\b|\bcurious (how|what|whether|if)\b|\bwondering (how|what|whether|if)\b`)
)

// questionRule: a question mark in the reply's own text, or a sentence
// that asks without one. Questions about price, how it works and the like
// are the expected kind and get more confidence.
func questionRule(text string) (verdict, bool) {
	asks := strings.Contains(text, "?") || questionStartRe.MatchString(text)
	if !asks {
		return verdict{}, false
	}
	if m := questionTopicRe.FindString(text); m != "" {
		return verdict{llm.Question, 0.8, fmt.Sprintf("question: asks about the offer (%q)", m)}, true
	}
	return verdict{llm.Question, 0.6, "question: the reply asks something"}, true
}

// --- quoted text ----------------------------------------------------------------

var (
	onWroteRe       = mustAlternation(`(?i)^(on\b.{0,200}\bwrote:?|am\b.{0,200}\bschrieb.{0,80}:|le\b.{0,200}\ba écrit ?:|el\b.{0,200}\bescribió:|op\b.{0,200}\bschreef.{0,80}:)$`)
	wroteEndRe      = mustAlternation(`(?i)\bwrote:\s*$`)
	separatorRe     = mustAlternation(`(?i)^(-{2,}\s*(original message|forwarded message|reply message|ursprüngliche nachricht|message d'origine)\s*-{2,}|_{10,})$`)
	headerFromRe    = mustAlternation(`(?i)^\*?(from|von|de):\*?\s`)
	headerSentRe    = mustAlternation(`(?i)^\*?(sent|date|gesendet|envoyé|to|subject):\*?\s`)
	sentFromRe      = mustAlternation(`(?i)^(sent from my |get outlook for |sent from outlook|sent from yahoo mail|sent via )`)
	replyAboveRe    = mustAlternation(`(?i)^#*\s*please (type|write) your reply above this line`)
	originalPrefLen = 30
)

// stripQuoted returns only the text the sender wrote: it stops at a
// signature delimiter, an attribution line ("On Tue, Sam wrote:", also in
// German, French, Spanish and Dutch, and Gmail's two-line form), an
// Outlook header block (From: followed by Sent:/Date:), an "Original
// Message" separator, a mobile "Sent from my iPhone" footer, or the first
// line of the original outreach; and it skips "> " quoted lines wherever
// they are.
func stripQuoted(body string, original *llm.Original) string {
	body = strings.ReplaceAll(body, "\r\n", "\n")
	lines := strings.Split(body, "\n")
	origLine := ""
	if original != nil {
		for _, l := range strings.Split(original.Body, "\n") {
			if l = strings.TrimSpace(l); len(l) >= originalPrefLen {
				origLine = l[:originalPrefLen]
				break
			}
		}
	}

	var out []string
loop:
	for i, line := range lines {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, ">"):
			continue
		case line == "-- " || t == "--":
			break loop
		case onWroteRe.MatchString(t), separatorRe.MatchString(t), sentFromRe.MatchString(t), replyAboveRe.MatchString(t):
			break loop
		case strings.HasPrefix(strings.ToLower(t), "on ") && i+1 < len(lines) && wroteEndRe.MatchString(strings.TrimSpace(lines[i+1])):
			break loop
		case headerFromRe.MatchString(t) && outlookBlock(lines[i+1:]):
			break loop
		case origLine != "" && strings.Contains(t, origLine):
			break loop
		}
		out = append(out, line)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// outlookBlock reports whether the lines after a "From:" line continue an
// Outlook-style header block.
func outlookBlock(next []string) bool {
	for _, l := range next[:min(len(next), 4)] {
		if headerSentRe.MatchString(strings.TrimSpace(l)) {
			return true
		}
	}
	return false
}
