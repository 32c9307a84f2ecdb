package builtin

import (
	"context"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/leadpilot/leadpilot/internal/llm"
)

// Extract reads the answers to the autopilot questions from conversation,
// pairing each of AutopilotQuestions with the user message that follows
// it, and parses them by field: lists split on commas, "and", "or" and new
// lines; countries to ISO alpha-2 codes; company size to a bucket; the
// autopilot level and channels to their enum values. A field the
// interview does not ask, and a correction made later, are read from
// "field: value" lines in the user's messages (the last one wins).
//
// Only fields found are returned. An empty schema means AutopilotSchema().
func (p *Provider) Extract(ctx context.Context, schema llm.Schema, conversation []llm.Message) (llm.ExtractResult, error) {
	if err := ctx.Err(); err != nil {
		return llm.ExtractResult{}, err
	}
	if len(schema.Fields) == 0 {
		schema = AutopilotSchema()
	}
	fields := extractFields(schema, conversation)
	out := 0
	for _, v := range fields {
		switch v := v.(type) {
		case string:
			out += words(v)
		case []string:
			out += len(v)
		}
	}
	return llm.ExtractResult{Meta: meta(promptWords(conversation), out), Fields: fields}, nil
}

func extractFields(schema llm.Schema, conversation []llm.Message) map[string]any {
	answers := pairAnswers(conversation)
	var labelled []labelledLine
	for _, m := range conversation {
		if m.Role == llm.RoleUser {
			labelled = append(labelled, labelledLines(m.Content)...)
		}
	}

	out := map[string]any{}
	for _, f := range schema.Fields {
		raw, ok := answers[f.Name]
		for _, l := range labelled {
			if labelMatches(l.label, f) {
				raw, ok = l.value, true
			}
		}
		if !ok {
			continue
		}
		if v, found := parseField(f, raw); found {
			out[f.Name] = v
		}
	}
	return out
}

// pairAnswers maps each question's field to the user message that answers
// it: the next non-system message after an assistant turn that asked the
// question. A question asked twice keeps the later answer.
func pairAnswers(msgs []llm.Message) map[string]string {
	out := map[string]string{}
	for i, m := range msgs {
		if m.Role != llm.RoleAssistant {
			continue
		}
		q := questionIn(m.Content)
		if q < 0 {
			continue
		}
		for _, next := range msgs[i+1:] {
			if next.Role == llm.RoleSystem {
				continue
			}
			if next.Role == llm.RoleUser {
				out[AutopilotQuestions[q].Field] = next.Content
			}
			break
		}
	}
	return out
}

// questionIn returns the index of the autopilot question an assistant
// message asks, or -1.
func questionIn(content string) int {
	for i, q := range AutopilotQuestions {
		if strings.Contains(content, q.Text) {
			return i
		}
	}
	return -1
}

type labelledLine struct{ label, value string }

var labelledRe = regexp.MustCompile(`^\s*(?:[-*•]\s*)?([A-Za-z][A-Za-z _/-]{1,40}?)\s*[:=]\s*(\S.*)$`)

// labelledLines finds "label: value" lines. A URL ("https://...") is not a
// label, so a call to action with a link is not mistaken for one.
func labelledLines(text string) []labelledLine {
	var out []labelledLine
	for _, line := range strings.Split(text, "\n") {
		m := labelledRe.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(m[2], "//") {
			continue
		}
		out = append(out, labelledLine{label: m[1], value: strings.TrimSpace(m[2])})
	}
	return out
}

// labelMatches compares a typed label with a field's name and, for the
// autopilot fields, its question label, ignoring case, separators and a
// plural "s" ("Country: DE" sets target_countries through "countries").
func labelMatches(label string, f llm.Field) bool {
	norm := func(s string) string {
		s = strings.ReplaceAll(normName(s), "/", "_")
		if strings.HasSuffix(s, "ies") {
			return strings.TrimSuffix(s, "ies") + "y"
		}
		return strings.TrimSuffix(s, "s")
	}
	l := norm(label)
	candidates := []string{f.Name}
	for _, q := range AutopilotQuestions {
		if q.Field == f.Name {
			candidates = append(candidates, q.Label)
		}
	}
	candidates = append(candidates, fieldAliases[f.Name]...)
	for _, c := range candidates {
		if norm(c) == l {
			return true
		}
	}
	return false
}

var fieldAliases = map[string][]string{
	FieldTargetCustomer:      {"customer", "ideal customer", "icp", "target"},
	FieldTargetCountries:     {"country", "countries", "region", "regions", "location"},
	FieldTargetTitles:        {"title", "titles", "job title", "roles"},
	FieldCompanySize:         {"size", "employees", "headcount"},
	FieldCompetitors:         {"competitor"},
	FieldBusinessDescription: {"business description", "description", "what we do", "about"},
	FieldBenefits:            {"benefit", "advantages", "usp"},
	FieldCTA:                 {"call to action"},
	FieldChannels:            {"channel"},
	FieldAutopilotLevel:      {"level", "autopilot", "mode"},
}

// declineRe recognises answers that give nothing: the field stays absent
// rather than being set to "none".
var declineRe = regexp.MustCompile(`(?i)^\W*(none|nothing|no|nope|n/?a|skip|not sure|don't know|dont know|no idea|no preference|-)\W*$`)

// parseField parses one raw answer by what the field is. Known autopilot
// fields, and fields whose names say what they hold (a "...countries" or
// "...channels" field), get their own parser; the rest go by type.
func parseField(f llm.Field, raw string) (any, bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" || declineRe.MatchString(raw) {
		return nil, false
	}
	name := normName(f.Name)
	var v any
	switch {
	case strings.Contains(name, "countr"):
		v = parseCountries(raw)
	case name == FieldCompanySize || strings.Contains(name, "size"):
		if b, ok := sizeBucket(raw); ok {
			v = b
		}
	case name == FieldAutopilotLevel:
		if l, ok := autopilotLevel(raw); ok {
			v = l
		}
	case strings.Contains(name, "channel"):
		v = parseChannels(raw)
	case f.Type == llm.FieldStringList:
		v = splitList(raw)
	case f.Type == llm.FieldEnum:
		if e, ok := matchEnum(raw, f.Enum); ok {
			v = e
		}
	default:
		v = strings.Join(strings.Fields(raw), " ")
	}
	return conform(f, v)
}

// conform makes a parsed value fit the field's declared type, and reports
// whether anything usable is left.
func conform(f llm.Field, v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case []string:
		if len(x) == 0 {
			return nil, false
		}
		switch f.Type {
		case llm.FieldString:
			return strings.Join(x, ", "), true
		case llm.FieldEnum:
			return matchEnum(x[0], f.Enum)
		}
		return x, true
	case string:
		if x == "" {
			return nil, false
		}
		switch f.Type {
		case llm.FieldStringList:
			return []string{x}, true
		case llm.FieldEnum:
			if len(f.Enum) > 0 && !slices.Contains(f.Enum, x) {
				return matchEnum(x, f.Enum)
			}
		}
		return x, true
	}
	return nil, false
}

// matchEnum finds the enum value an answer names: exactly, ignoring case
// and separators, or as a word inside the answer (the longest one wins so
// "approve_all" is not read as "approve").
func matchEnum(raw string, enum []string) (string, bool) {
	r := normName(raw)
	for _, e := range enum {
		if normName(e) == r {
			return e, true
		}
	}
	sorted := slices.Clone(enum)
	sort.SliceStable(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	spaced := " " + strings.ReplaceAll(r, "_", " ") + " "
	for _, e := range sorted {
		if strings.Contains(spaced, " "+strings.ReplaceAll(normName(e), "_", " ")+" ") {
			return e, true
		}
	}
	return "", false
}

var (
	listSepRe    = regexp.MustCompile(`(?i)\s*(?:[,;\n]|\s/\s|/|\s&\s|\band\b|\bor\b|\bplus\b)\s*`)
	bulletRe     = regexp.MustCompile(`^(?:[-*•]|\d+[.)])\s+`)
	listFillerRe = regexp.MustCompile(`(?i)^(?:mostly|mainly|usually|typically|probably|maybe|e\.g\.|i\.e\.|like|such as|things like|also|either)\s+`)
	listJunkRe   = regexp.MustCompile(`(?i)^(?:etc\.?|others?|and more|more|so on|and so on)$`)
	listTailRe   = regexp.MustCompile(`(?i)[,\s]+(?:etc\.?|and so on|and more)$`)
)

// splitList splits a free-text list on commas, semicolons, new lines,
// slashes, "and", "or" and "plus", dropping bullets, filler words and
// duplicates. It splits "Procter and Gamble" too; the built-in provider
// trades that for reading the far more common "CEO and CTO" right.
func splitList(raw string) []string {
	var out []string
	for _, part := range listSepRe.Split(raw, -1) {
		part = strings.TrimSpace(bulletRe.ReplaceAllString(strings.TrimSpace(part), ""))
		part = strings.TrimSpace(listFillerRe.ReplaceAllString(part, ""))
		part = listTailRe.ReplaceAllString(part, "")
		part = strings.Trim(part, " .!\"'")
		if part == "" || listJunkRe.MatchString(part) || declineRe.MatchString(part) {
			continue
		}
		if !slices.ContainsFunc(out, func(s string) bool { return strings.EqualFold(s, part) }) {
			out = append(out, part)
		}
	}
	return out
}

// sizeWords map descriptions to buckets; when several appear the earliest
// in the answer wins ("small to mid-size" means small first).
var sizeWords = []struct {
	re     *regexp.Regexp
	bucket string
}{
	{regexp.MustCompile(`(?i)\b(enterprises?|enterprise-level|corporates?|corporations?|fortune \d+|multinationals?|big companies|large enterprises?|global companies)\b`), "500+"},
	{regexp.MustCompile(`(?i)\b(solo\w*|freelanc\w*|micro\w*|tiny|very small|one-person|early[- ]stage|pre-seed|seed[- ]stage|founders?[- ]only|self-employed)\b`), "1-10"},
	{regexp.MustCompile(`(?i)\b(mid[- ]?size[d]?|medium(?:-sized)?|mid[- ]market|scale-?ups?|growth[- ]stage|series [bc])\b`), "51-200"},
	{regexp.MustCompile(`(?i)\b(large|bigger|upper mid[- ]market)\b`), "201-500"},
	{regexp.MustCompile(`(?i)\b(small|smbs?|smes?|startups?|start-ups?|small businesses|series a)\b`), "11-50"},
}

var (
	numberRe = regexp.MustCompile(`(?i)(\d[\d,.]*)\s*(k)?\s*(\+)?`)
	rangeRe  = regexp.MustCompile(`(?i)(\d[\d,.]*\s*k?)\s*(?:-|–|—|to|and)\s*(\d[\d,.]*\s*k?)`)
	aboveRe  = regexp.MustCompile(`(?i)(over|more than|above|at least|\+|plus|or more)`)
	belowRe  = regexp.MustCompile(`(?i)(under|less than|fewer than|below|up to|at most|max)`)
)

// sizeBucket maps a company size answer to one of CompanySizes. Numbers
// win over words: "startups with 50 to 200 employees" is 51-200. A range
// goes to the bucket it overlaps most.
func sizeBucket(raw string) (string, bool) {
	if b := slices.Index(CompanySizes, strings.TrimSpace(raw)); b >= 0 {
		return CompanySizes[b], true
	}
	if m := rangeRe.FindStringSubmatch(raw); m != nil {
		lo, ok1 := parseNumber(m[1])
		hi, ok2 := parseNumber(m[2])
		if ok1 && ok2 && lo <= hi {
			return bucketForRange(lo, hi), true
		}
	}
	if m := numberRe.FindStringSubmatchIndex(raw); m != nil {
		num := raw[m[2]:m[3]]
		if m[4] >= 0 {
			num += "k"
		}
		if n, ok := parseNumber(num); ok {
			before, after := strings.ToLower(raw[:m[0]]), strings.ToLower(strings.TrimSpace(raw[m[1]:]))
			switch {
			case m[6] >= 0 || aboveRe.MatchString(before) || strings.HasPrefix(after, "or more"):
				return bucketForRange(n+1, max(n*4, 1000)), true
			case belowRe.MatchString(before):
				return bucketForRange(1, n), true
			}
			return bucketForRange(n, n), true
		}
	}
	best, bestPos := "", len(raw)+1
	for _, w := range sizeWords {
		if loc := w.re.FindStringIndex(raw); loc != nil && loc[0] < bestPos {
			best, bestPos = w.bucket, loc[0]
		}
	}
	return best, best != ""
}

func parseNumber(s string) (int, bool) {
	s = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	mult := 1.0
	if strings.HasSuffix(s, "k") {
		mult, s = 1000, strings.TrimSuffix(s, "k")
	}
	if mult == 1 {
		// "1,000" and "1.000" are thousands separators, not decimals.
		s = strings.NewReplacer(",", "", ".", "").Replace(s)
	} else {
		s = strings.ReplaceAll(s, ",", ".")
	}
	f, err := strconv.ParseFloat(strings.TrimRight(s, "."), 64)
	if err != nil || f < 0 {
		return 0, false
	}
	return int(f * mult), true
}

// bucketBounds are the inclusive employee ranges of CompanySizes.
var bucketBounds = [][2]int{{1, 10}, {11, 50}, {51, 200}, {201, 500}, {501, 1 << 30}}

func bucketForRange(lo, hi int) string {
	best, bestOverlap := 0, -1
	for i, b := range bucketBounds {
		if o := min(hi, b[1]) - max(lo, b[0]) + 1; o > bestOverlap {
			best, bestOverlap = i, o
		}
	}
	if bestOverlap <= 0 {
		// No overlap (a 0 or a huge number): nearest end.
		if hi < 1 {
			return CompanySizes[0]
		}
		return CompanySizes[len(CompanySizes)-1]
	}
	return CompanySizes[best]
}

var (
	levelNumberRe   = regexp.MustCompile(`(?i)^\W*(?:option\s*|number\s*|#)?([123])\W*$`)
	levelNoApproval = regexp.MustCompile(`(?i)\b(no|without|skip( the)?) approvals?\b|\b(don't|do not|dont) (need|want|have) to (approve|review|check)|no need to (approve|review|check)`)
	levelApproveRe  = regexp.MustCompile(`(?i)\b(approve|approval|review|check|see|vet|sign off on)\b`)
	levelAllRe      = regexp.MustCompile(`(?i)\b(all|everything|both|every)\b`)
	levelContentRe  = regexp.MustCompile(`(?i)\b(messages?|content|emails?|sequences?|copy|texts?)\b`)
	levelLeadsRe    = regexp.MustCompile(`(?i)\b(leads?|list|prospects?|contacts?)\b`)
	levelFullRe     = regexp.MustCompile(`(?i)\bfull\b|autopilot|automatic|hands[- ]off|do (it all|everything)|just send`)
)

// autopilotLevel maps an answer to full_autopilot, approve_list or
// approve_all. Approving messages implies approving leads, so any wish to
// review content means approve_all; saying approval is not needed wins
// over the word "approve" in the same sentence.
func autopilotLevel(raw string) (string, bool) {
	if m := levelNumberRe.FindStringSubmatch(raw); m != nil {
		n, _ := strconv.Atoi(m[1])
		return AutopilotLevels[n-1], true
	}
	approve := levelApproveRe.MatchString(raw)
	switch {
	case levelNoApproval.MatchString(raw):
		return "full_autopilot", true
	case approve && (levelContentRe.MatchString(raw) || levelAllRe.MatchString(raw)):
		return "approve_all", true
	case approve && levelLeadsRe.MatchString(raw):
		return "approve_list", true
	case levelFullRe.MatchString(raw):
		return "full_autopilot", true
	}
	return matchEnum(raw, AutopilotLevels)
}

// channelWord recognises how people name one channel.
type channelWord struct {
	re      *regexp.Regexp
	channel string
}

var channelRes = []channelWord{
	{regexp.MustCompile(`(?i)\b(e-?mails?|mail)\b`), "email"},
	{regexp.MustCompile(`(?i)\b(whats\s?app|wa)\b`), "whatsapp"},
	{regexp.MustCompile(`(?i)\b(sms|texts?|text messages?)\b`), "sms"},
}

var (
	allChannelsRe = regexp.MustCompile(`(?i)\b(all( three| of them| channels)?|every channel|everything|any|mix)\b`)
	notChannelRe  = regexp.MustCompile(`(?i)\b(no|not|except|without|excluding|apart from)\s+(?:\w+\s+)?$`)
)

// parseChannels returns the channels named, in canonical order (email,
// whatsapp, sms). A channel right after "no", "not" or "except" is left
// out. "All", "any" or "everything" mean all three unless specific
// channels are named without an exclusion ("a mix of email and WhatsApp"
// is those two).
func parseChannels(raw string) []string {
	include, excluded := map[string]bool{}, false
	for _, c := range channelRes {
		for _, loc := range c.re.FindAllStringIndex(raw, -1) {
			if notChannelRe.MatchString(raw[:loc[0]]) {
				include[c.channel], excluded = false, true
			} else if _, seen := include[c.channel]; !seen || include[c.channel] {
				include[c.channel] = true
			}
		}
	}
	positive := slices.ContainsFunc(channelRes, func(c channelWord) bool { return include[c.channel] })
	if allChannelsRe.MatchString(raw) && (!positive || excluded) {
		for _, c := range channelRes {
			if _, said := include[c.channel]; !said {
				include[c.channel] = true
			}
		}
	}
	var out []string
	for _, c := range channelRes {
		if include[c.channel] {
			out = append(out, c.channel)
		}
	}
	return out
}
