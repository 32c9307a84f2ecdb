package bounce

import (
	"regexp"
	"strings"
)

// copyMarkers introduce the returned message inside a text bounce.
var copyMarkers = []string{
	"--- below this line is a copy of the message",
	"------ this is a copy of the message",
	"----- original message -----",
	"----- original message follows -----",
	"------ unsent message follows",
	"----- unsent message follows -----",
	"------- returned message --------",
	"--- original message follows",
	"original message headers:",
	"----- message header follows -----",
	"------ original message headers ------",
}

// splitCopy cuts a bounce text into the notice and the returned message
// that follows a known marker line ("" when there is none).
func splitCopy(text string) (notice, copied string) {
	low := strings.ToLower(text)
	best := -1
	for _, m := range copyMarkers {
		if i := strings.Index(low, m); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	if best < 0 {
		return text, ""
	}
	rest := text[best:]
	if j := strings.IndexByte(rest, '\n'); j >= 0 {
		return text[:best], rest[j+1:]
	}
	return text[:best], ""
}

// textBody joins the text/plain parts (or, without any, the text/html parts
// stripped of tags) and returns the first returned-message part.
func textBody(parts []part) (string, original) {
	var b strings.Builder
	var orig original
	html := ""
	for _, p := range parts {
		switch {
		case p.mediaType == "text/plain":
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.Write(p.body)
		case p.mediaType == "text/html" && html == "":
			html = stripTags(string(p.body))
		case isOriginalPart(p.mediaType) && orig.empty():
			orig = readOriginal(p.body)
		}
	}
	if b.Len() == 0 {
		return html, orig
	}
	return b.String(), orig
}

var tagRe = regexp.MustCompile(`(?s)<(script|style)[^>]*>.*?</(script|style)>|<br\s*/?>|</p>|<[^>]*>`)

func stripTags(s string) string {
	s = tagRe.ReplaceAllStringFunc(s, func(t string) string {
		lt := strings.ToLower(t)
		if strings.HasPrefix(lt, "<br") || lt == "</p>" {
			return "\n"
		}
		return ""
	})
	r := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&", "&quot;", `"`, "&nbsp;", " ", "&#39;", "'")
	return r.Replace(s)
}

// textParser recognises one family of non-standard bounces. It returns nil
// when the notice is not of its family.
type textParser func(env *envelope, notice, low string) *Report

var textParsers = []textParser{
	parseQmailLike,
	parseExim,
	parseSendmail,
	parseExchange,
	parseGmail,
	parseDomino,
	parseNotes,
	parsePostfixText,
}

func detectText(env *envelope, parts []part) *Report {
	if !env.automated() {
		return nil
	}
	text, orig := textBody(parts)
	notice, copied := splitCopy(text)
	low := strings.ToLower(notice)
	var rep *Report
	for _, p := range textParsers {
		if rep = p(env, notice, low); rep != nil {
			break
		}
	}
	if rep == nil && len(env.failedRcpts) > 0 {
		rep = &Report{Kind: KindBounce, Format: "x-failed-recipients"}
		for _, a := range env.failedRcpts {
			rep.Recipients = append(rep.Recipients, newRecipient(a, "failed", "", diagAbout(notice, a), ""))
		}
	}
	if rep == nil {
		rep = parseHeuristic(env, notice, low)
	}
	if rep == nil {
		return nil
	}
	if len(rep.Recipients) == 0 && len(env.failedRcpts) > 0 {
		for _, a := range env.failedRcpts {
			rep.Recipients = append(rep.Recipients, newRecipient(a, "failed", "", diagAbout(notice, a), ""))
		}
	}
	if rep.Kind == "" {
		rep.Kind = KindBounce
	}
	for i := range rep.Recipients {
		if rep.Recipients[i].Action == "" {
			if rep.Kind == KindDelay {
				rep.Recipients[i].Action = "delayed"
				rep.Recipients[i].Hard = false
			} else {
				rep.Recipients[i].Action = "failed"
			}
		}
	}
	if orig.empty() && copied != "" {
		orig = readOriginal([]byte(copied))
	}
	rep.setOriginal(orig)
	if rep.OriginalMessageID == "" {
		rep.OriginalMessageID = messageIDInText(copied)
	}
	if rep.OriginalMessageID == "" {
		rep.OriginalMessageID = messageIDInText(notice)
	}
	if rep.Reporter == "" {
		rep.Reporter = env.from
	}
	return rep
}

// diagAbout returns the lines of notice following the first mention of
// addr, up to a blank line, as a diagnostic.
func diagAbout(notice, addr string) string {
	low := strings.ToLower(notice)
	i := strings.Index(low, addr)
	if i < 0 {
		return ""
	}
	rest := notice[i+len(addr):]
	if j := strings.Index(rest, "\n\n"); j >= 0 {
		rest = rest[:j]
	} else if j := strings.Index(rest, "\r\n\r\n"); j >= 0 {
		rest = rest[:j]
	}
	return strings.Trim(strings.TrimSpace(rest), ">:")
}

func lines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Split(s, "\n")
}

func indent(line string) int {
	n := 0
	for _, c := range line {
		switch c {
		case ' ':
			n++
		case '\t':
			n += 8
		default:
			return n
		}
	}
	return n
}

// angleLineRe matches "<addr>:" at the start of a line, with the reason
// possibly on the same line (Postfix) or below (qmail, Yahoo).
var angleLineRe = regexp.MustCompile(`^<([^<>\s]+@[^<>\s]+)>(?:\s*\(expanded from <[^>]*>\))?:\s*(.*)$`)

// angleBlocks parses "<addr>:" blocks, each followed by its reason lines up
// to a blank line.
func angleBlocks(notice string) []Recipient {
	var out []Recipient
	var addr string
	var diag []string
	flush := func() {
		if addr != "" {
			out = append(out, newRecipient(addr, "", "", strings.Join(diag, " "), ""))
		}
		addr, diag = "", nil
	}
	for _, l := range lines(notice) {
		t := strings.TrimSpace(l)
		if m := angleLineRe.FindStringSubmatch(t); m != nil && indent(l) == 0 {
			flush()
			addr = cleanAddress(m[1])
			if m[2] != "" {
				diag = append(diag, m[2])
			}
			continue
		}
		if addr == "" {
			continue
		}
		if t == "" {
			if len(diag) > 0 {
				flush()
			}
			continue
		}
		diag = append(diag, t)
	}
	flush()
	return out
}

func parseQmailLike(env *envelope, notice, low string) *Report {
	format := ""
	switch {
	case strings.Contains(low, "this is the qmail-send program"), strings.Contains(low, "hi. this is the qmail"):
		format = "qmail"
	case strings.Contains(low, "sorry, we were unable to deliver your message to the following address"):
		format = "yahoo"
	case strings.Contains(low, "unable to deliver your message to the following addresses"),
		strings.Contains(low, "i'm afraid i wasn't able to deliver your message to the following addresses"):
		format = "qmail"
	default:
		return nil
	}
	rs := angleBlocks(notice)
	if len(rs) == 0 {
		return nil
	}
	return &Report{Kind: KindBounce, Format: format, Recipients: rs}
}

func parsePostfixText(env *envelope, notice, low string) *Report {
	if !strings.Contains(low, "this is the mail system at host") && !strings.Contains(low, "this is the postfix program at host") {
		return nil
	}
	rs := angleBlocks(notice)
	if len(rs) == 0 {
		return nil
	}
	rep := &Report{Kind: KindBounce, Format: "postfix", Recipients: rs}
	if strings.Contains(low, "delayed mail") || strings.Contains(low, "this is a warning only") ||
		strings.Contains(low, "will keep trying") {
		rep.Kind = KindDelay
	}
	return rep
}

// addrStartRe matches a line that begins with an address (Exim, Sendmail).
var addrStartRe = regexp.MustCompile(`^<?([A-Za-z0-9!#$%&'*+/=?^_{|}~.-]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+)>?(?:[:\s]|$)(.*)$`)

func parseExim(env *envelope, notice, low string) *Report {
	if !strings.Contains(low, "this message was created automatically by mail delivery software") {
		return nil
	}
	rep := &Report{Kind: KindBounce, Format: "exim"}
	if strings.Contains(low, "has not yet been delivered") || strings.Contains(low, "have yet to be delivered") {
		rep.Kind = KindDelay
	}
	start := strings.Index(low, "could not be delivered to one or more of its")
	if start < 0 {
		start = strings.Index(low, "has not yet been delivered to one or more of its")
	}
	if start < 0 {
		start = 0
	}
	var cur *Recipient
	var diag []string
	flush := func() {
		if cur != nil {
			rc := newRecipient(cur.Address, "", "", strings.Join(diag, " "), "")
			rep.Recipients = append(rep.Recipients, rc)
		}
		cur, diag = nil, nil
	}
	for _, l := range lines(notice[start:]) {
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		in := indent(l)
		if in >= 1 && in <= 3 {
			if m := addrStartRe.FindStringSubmatch(t); m != nil {
				flush()
				cur = &Recipient{Address: cleanAddress(m[1])}
				if rest := strings.Trim(strings.TrimSpace(m[2]), ":"); rest != "" {
					diag = append(diag, rest)
				}
				continue
			}
		}
		if cur != nil && in >= 4 {
			diag = append(diag, t)
			continue
		}
		if cur != nil && in == 0 {
			flush()
		}
	}
	flush()
	if len(rep.Recipients) == 0 && len(env.failedRcpts) == 0 {
		return nil
	}
	return rep
}

func parseSendmail(env *envelope, notice, low string) *Report {
	perm := strings.Index(low, "----- the following addresses had permanent fatal errors -----")
	trans := strings.Index(low, "----- the following addresses had transient non-fatal errors -----")
	if perm < 0 && trans < 0 {
		return nil
	}
	rep := &Report{Kind: KindBounce, Format: "sendmail"}
	start := perm
	if perm < 0 {
		rep.Kind = KindDelay
		start = trans
	}
	transcript := ""
	if i := strings.Index(low, "----- transcript of session follows -----"); i >= 0 {
		transcript = notice[i:]
	}
	block := notice[start:]
	if j := strings.IndexByte(block, '\n'); j >= 0 {
		block = block[j+1:]
	}
	var cur string
	var diag []string
	flush := func() {
		if cur != "" {
			d := strings.Join(diag, " ")
			d = strings.TrimSuffix(strings.TrimPrefix(d, "(reason: "), ")")
			rep.Recipients = append(rep.Recipients, newRecipient(cur, "", "", d, lineAbout(transcript, cur)))
		}
		cur, diag = "", nil
	}
	for _, l := range lines(block) {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "-----") {
			break
		}
		if t == "" {
			continue
		}
		if indent(l) == 0 {
			if m := addrStartRe.FindStringSubmatch(t); m != nil {
				flush()
				cur = cleanAddress(m[1])
				continue
			}
		}
		if cur != "" && !strings.HasPrefix(t, "(expanded from") {
			diag = append(diag, t)
		}
	}
	flush()
	if len(rep.Recipients) == 0 {
		return nil
	}
	return rep
}

var exchangeMarkers = []string{
	"delivery has failed to these recipients or groups:",
	"delivery has failed to these recipients or distribution lists:",
	"did not reach the following recipient(s):",
	"your message did not reach some or all of the intended recipients",
	"the following recipient(s) cannot be reached:",
}

// exchangeRcptRe matches a recipient line of an Exchange text NDR:
// "addr", "addr on <date>", or "Display Name (addr)" / "Name <addr>".
var exchangeRcptRe = regexp.MustCompile(`^(?:<?([^\s<>()@]+@[^\s<>()]+?)>?(?:\s+on\s.*)?|[^@<>()]{0,80}[(<]([^\s<>()@]+@[^\s<>()]+)[)>])$`)

var mailtoRe = regexp.MustCompile(`(?i)mailto:([^\s<>()"]+@[^\s<>()"]+)`)

func parseExchange(env *envelope, notice, low string) *Report {
	start := -1
	for _, m := range exchangeMarkers {
		if i := strings.Index(low, m); i >= 0 && (start < 0 || i < start) {
			start = i + len(m)
		}
	}
	if start < 0 {
		return nil
	}
	rep := &Report{Kind: KindBounce, Format: "exchange"}
	section := notice[start:]
	diagSection := ""
	if i := strings.Index(strings.ToLower(section), "diagnostic information for administrators"); i >= 0 {
		diagSection = section[i:]
		section = section[:i]
	}
	byAddr := map[string]int{}
	var cur = -1
	for _, l := range lines(section) {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "____") {
			if strings.HasPrefix(t, "____") {
				break
			}
			continue
		}
		addr := ""
		if m := mailtoRe.FindStringSubmatch(t); m != nil {
			addr = cleanAddress(m[1])
		} else if m := exchangeRcptRe.FindStringSubmatch(t); m != nil {
			addr = cleanAddress(m[1] + m[2])
		}
		if addr != "" && indent(l) <= 2 {
			if _, ok := byAddr[addr]; !ok {
				byAddr[addr] = len(rep.Recipients)
				rep.Recipients = append(rep.Recipients, Recipient{Address: addr})
			}
			cur = byAddr[addr]
			continue
		}
		if cur >= 0 {
			rc := &rep.Recipients[cur]
			rc.Diagnostic = strings.TrimSpace(rc.Diagnostic + " " + t)
		}
	}
	// The administrators' section repeats each address followed by the
	// remote server's reply ("#550 5.1.1 RESOLVER.ADR.RecipNotFound; ..."
	// or "Remote Server returned '550 5.1.1 ...'").
	if diagSection != "" {
		ls := lines(diagSection)
		for i, l := range ls {
			t := strings.TrimSpace(l)
			a := cleanAddress(t)
			if a == "" || len(t) > len(a)+4 {
				continue
			}
			for _, n := range ls[i+1 : min(i+4, len(ls))] {
				n = strings.TrimSpace(n)
				if strings.HasPrefix(n, "#") || strings.HasPrefix(strings.ToLower(n), "remote server returned") {
					idx, ok := byAddr[a]
					if !ok {
						idx = len(rep.Recipients)
						byAddr[a] = idx
						rep.Recipients = append(rep.Recipients, Recipient{Address: a})
					}
					rep.Recipients[idx].Diagnostic = strings.Trim(strings.TrimSpace(n), "#")
					break
				}
			}
		}
	}
	for i, rc := range rep.Recipients {
		rep.Recipients[i] = newRecipient(rc.Address, "", "", rc.Diagnostic, "")
	}
	if len(rep.Recipients) == 0 {
		return nil
	}
	return rep
}

func parseGmail(env *envelope, notice, low string) *Report {
	rep := &Report{Kind: KindBounce, Format: "gmail"}
	start := -1
	for _, m := range []string{
		"delivery to the following recipient failed permanently:",
		"delivery to the following recipients failed permanently:",
	} {
		if i := strings.Index(low, m); i >= 0 {
			start = i + len(m)
			break
		}
	}
	if start < 0 {
		for _, m := range []string{
			"delivery to the following recipient has been delayed:",
			"delivery to the following recipients has been delayed:",
			"delivery to the following recipient failed temporarily:",
		} {
			if i := strings.Index(low, m); i >= 0 {
				start = i + len(m)
				rep.Kind = KindDelay
				break
			}
		}
	}
	if start < 0 {
		return nil
	}
	diag := ""
	if i := strings.Index(low, "technical details of "); i >= 0 {
		d := notice[i:]
		if j := strings.IndexByte(d, ':'); j >= 0 {
			d = d[j+1:]
		}
		diag = strings.TrimSpace(d)
	}
	seenAddr := false
	for _, l := range lines(notice[start:]) {
		t := strings.TrimSpace(l)
		if t == "" {
			if seenAddr {
				break
			}
			continue
		}
		a := cleanAddress(t)
		if a == "" {
			break
		}
		seenAddr = true
		rep.Recipients = append(rep.Recipients, newRecipient(a, "", "", diag, ""))
	}
	if len(rep.Recipients) == 0 {
		return nil
	}
	return rep
}

func parseDomino(env *envelope, notice, low string) *Report {
	i := strings.Index(low, "was not delivered to:")
	if i < 0 {
		return nil
	}
	j := strings.Index(low[i:], "because:")
	if j < 0 {
		return nil
	}
	rcpts := notice[i+len("was not delivered to:") : i+j]
	diag := strings.TrimSpace(notice[i+j+len("because:"):])
	if k := strings.Index(diag, "\n\n"); k >= 0 {
		diag = diag[:k]
	}
	rep := &Report{Kind: KindBounce, Format: "domino"}
	for _, m := range addrRe.FindAllString(rcpts, 20) {
		if a := cleanAddress(m); a != "" {
			rep.Recipients = append(rep.Recipients, newRecipient(a, "", "", diag, ""))
		}
	}
	if len(rep.Recipients) == 0 {
		return nil
	}
	return rep
}

func parseNotes(env *envelope, notice, low string) *Report {
	i := strings.Index(low, "------- failure reasons")
	if i < 0 {
		return nil
	}
	block := notice[i:]
	if j := strings.IndexByte(block, '\n'); j >= 0 {
		block = block[j+1:]
	}
	rep := &Report{Kind: KindBounce, Format: "notes"}
	var diag []string
	for _, l := range lines(block) {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "-------") {
			break
		}
		if t == "" {
			continue
		}
		if a := cleanAddress(t); a != "" && len(t) <= len(a)+2 {
			rep.Recipients = append(rep.Recipients, newRecipient(a, "", "", strings.Join(diag, " "), ""))
			diag = nil
			continue
		}
		diag = append(diag, t)
	}
	if len(rep.Recipients) == 0 {
		return nil
	}
	return rep
}

var codeLineRe = regexp.MustCompile(`(?:^|[^0-9.])(?:[245]\.\d{1,3}\.\d{1,3}|[45][0-5][0-9])(?:[^0-9.]|$)`)

var delayWordsRe = regexp.MustCompile(`(?i)(delayed|will (be )?retr|still (be )?trying|will keep trying|not yet been delivered|warning only)`)

// parseHeuristic is the last resort: a daemon-like sender, a bounce subject,
// and an address on a line with an SMTP status code.
func parseHeuristic(env *envelope, notice, low string) *Report {
	if !(env.daemon || env.nullSender) || !bounceSubject(env.subject) {
		return nil
	}
	own := map[string]bool{env.from: true}
	for _, a := range addrRe.FindAllString(env.header.Get("To"), 10) {
		own[strings.ToLower(a)] = true
	}
	rep := &Report{Kind: KindBounce, Format: "heuristic"}
	ls := lines(notice)
	for i, l := range ls {
		if len(rep.Recipients) >= 20 {
			break
		}
		for _, m := range addrRe.FindAllString(l, 5) {
			a := cleanAddress(m)
			if a == "" || own[a] {
				continue
			}
			ctx := l
			if i+1 < len(ls) {
				ctx += "\n" + ls[i+1]
			}
			if !codeLineRe.MatchString(ctx) {
				continue
			}
			own[a] = true
			rep.Recipients = append(rep.Recipients, newRecipient(a, "", "", strings.TrimSpace(ctx), ""))
		}
	}
	if len(rep.Recipients) == 0 {
		return nil
	}
	allSoft := true
	for _, rc := range rep.Recipients {
		if !strings.HasPrefix(rc.Status, "4.") {
			allSoft = false
		}
	}
	if allSoft && delayWordsRe.MatchString(notice+" "+env.subject) {
		rep.Kind = KindDelay
	}
	return rep
}
