package builtin

import (
	"regexp"
	"slices"
	"sort"
	"strings"
)

// country is one row of the ISO 3166-1 table: alpha-2, alpha-3, English
// name and the other names people type for it.
type country struct {
	alpha2, alpha3, name string
	aliases              []string
}

// countries covers the markets outreach campaigns usually target; a
// country missing here is simply not recognised by the built-in provider.
var countries = []country{
	{"US", "USA", "United States", []string{"united states of america", "usa", "u.s.", "u.s.a.", "america", "the states"}},
	{"CA", "CAN", "Canada", nil},
	{"MX", "MEX", "Mexico", nil},
	{"BR", "BRA", "Brazil", []string{"brasil"}},
	{"AR", "ARG", "Argentina", nil},
	{"CL", "CHL", "Chile", nil},
	{"CO", "COL", "Colombia", nil},
	{"PE", "PER", "Peru", nil},
	{"UY", "URY", "Uruguay", nil},
	{"CR", "CRI", "Costa Rica", nil},
	{"GB", "GBR", "United Kingdom", []string{"uk", "u.k.", "great britain", "britain", "england", "scotland", "wales", "northern ireland"}},
	{"IE", "IRL", "Ireland", []string{"republic of ireland", "eire"}},
	{"FR", "FRA", "France", nil},
	{"DE", "DEU", "Germany", []string{"deutschland"}},
	{"AT", "AUT", "Austria", []string{"österreich"}},
	{"CH", "CHE", "Switzerland", []string{"schweiz", "suisse"}},
	{"NL", "NLD", "Netherlands", []string{"the netherlands", "holland"}},
	{"BE", "BEL", "Belgium", nil},
	{"LU", "LUX", "Luxembourg", nil},
	{"ES", "ESP", "Spain", []string{"españa"}},
	{"PT", "PRT", "Portugal", nil},
	{"IT", "ITA", "Italy", []string{"italia"}},
	{"GR", "GRC", "Greece", nil},
	{"CY", "CYP", "Cyprus", nil},
	{"MT", "MLT", "Malta", nil},
	{"SE", "SWE", "Sweden", nil},
	{"NO", "NOR", "Norway", nil},
	{"DK", "DNK", "Denmark", nil},
	{"FI", "FIN", "Finland", nil},
	{"IS", "ISL", "Iceland", nil},
	{"EE", "EST", "Estonia", nil},
	{"LV", "LVA", "Latvia", nil},
	{"LT", "LTU", "Lithuania", nil},
	{"PL", "POL", "Poland", nil},
	{"CZ", "CZE", "Czechia", []string{"czech republic"}},
	{"SK", "SVK", "Slovakia", nil},
	{"HU", "HUN", "Hungary", nil},
	{"SI", "SVN", "Slovenia", nil},
	{"HR", "HRV", "Croatia", nil},
	{"RO", "ROU", "Romania", nil},
	{"BG", "BGR", "Bulgaria", nil},
	{"RS", "SRB", "Serbia", nil},
	{"UA", "UKR", "Ukraine", nil},
	{"TR", "TUR", "Turkey", []string{"türkiye", "turkiye"}},
	{"IL", "ISR", "Israel", nil},
	{"AE", "ARE", "United Arab Emirates", []string{"uae", "emirates", "dubai"}},
	{"SA", "SAU", "Saudi Arabia", []string{"ksa"}},
	{"QA", "QAT", "Qatar", nil},
	{"KW", "KWT", "Kuwait", nil},
	{"BH", "BHR", "Bahrain", nil},
	{"OM", "OMN", "Oman", nil},
	{"EG", "EGY", "Egypt", nil},
	{"MA", "MAR", "Morocco", nil},
	{"NG", "NGA", "Nigeria", nil},
	{"KE", "KEN", "Kenya", nil},
	{"GH", "GHA", "Ghana", nil},
	{"ZA", "ZAF", "South Africa", nil},
	{"IN", "IND", "India", nil},
	{"PK", "PAK", "Pakistan", nil},
	{"BD", "BGD", "Bangladesh", nil},
	{"LK", "LKA", "Sri Lanka", nil},
	{"CN", "CHN", "China", []string{"mainland china", "prc"}},
	{"HK", "HKG", "Hong Kong", nil},
	{"TW", "TWN", "Taiwan", nil},
	{"JP", "JPN", "Japan", nil},
	{"KR", "KOR", "South Korea", []string{"korea", "republic of korea"}},
	{"SG", "SGP", "Singapore", nil},
	{"MY", "MYS", "Malaysia", nil},
	{"ID", "IDN", "Indonesia", nil},
	{"TH", "THA", "Thailand", nil},
	{"VN", "VNM", "Vietnam", []string{"viet nam"}},
	{"PH", "PHL", "Philippines", []string{"the philippines"}},
	{"AU", "AUS", "Australia", nil},
	{"NZ", "NZL", "New Zealand", nil},
}

// regions expand to several countries: people answer "DACH" or "the
// Nordics" far more often than they list the members.
var regions = map[string][]string{
	"dach":             {"DE", "AT", "CH"},
	"nordics":          {"SE", "NO", "DK", "FI", "IS"},
	"nordic countries": {"SE", "NO", "DK", "FI", "IS"},
	"scandinavia":      {"SE", "NO", "DK"},
	"benelux":          {"BE", "NL", "LU"},
	"baltics":          {"EE", "LV", "LT"},
	"north america":    {"US", "CA"},
	"anz":              {"AU", "NZ"},
	"gcc":              {"AE", "SA", "QA", "KW", "BH", "OM"},
	"gulf":             {"AE", "SA", "QA", "KW", "BH", "OM"},
	"latam":            {"MX", "BR", "AR", "CL", "CO", "PE", "UY", "CR"},
	"latin america":    {"MX", "BR", "AR", "CL", "CO", "PE", "UY", "CR"},
	"eu":               euMembers,
	"european union":   euMembers,
	"europe": append(slices.Clone(euMembers),
		"GB", "CH", "NO", "IS", "RS", "UA"),
}

var euMembers = []string{"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
	"LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"}

// phrase is a lower-case name, alias or region and the codes it means.
type phrase struct {
	text  string
	codes []string
}

// countryPhrases holds every name, alias and region, longest first so
// "South Korea" wins over "Korea" and "North America" over "America".
var countryPhrases = func() []phrase {
	m := map[string][]string{}
	for _, c := range countries {
		m[strings.ToLower(c.name)] = []string{c.alpha2}
		for _, a := range c.aliases {
			m[a] = []string{c.alpha2}
		}
	}
	for r, codes := range regions {
		m[r] = codes
	}
	out := make([]phrase, 0, len(m))
	for p, c := range m {
		out = append(out, phrase{p, c})
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i].text) != len(out[j].text) {
			return len(out[i].text) > len(out[j].text)
		}
		return out[i].text < out[j].text
	})
	return out
}()

// byCode finds a country by alpha-2 or alpha-3 code, upper-case.
func byCode(code string) (country, bool) {
	if code == "UK" {
		return countries[slices.IndexFunc(countries, func(c country) bool { return c.alpha2 == "GB" })], true
	}
	for _, c := range countries {
		if c.alpha2 == code || c.alpha3 == code {
			return c, true
		}
	}
	return country{}, false
}

var (
	upperCodeRe = regexp.MustCompile(`\b[A-Z]{2,3}\b`)
	// excludeRe finds the words that turn the following countries into
	// exclusions: "Europe except France", "DACH but not Switzerland".
	excludeRe = regexp.MustCompile(`(?i)\b(except|excluding|but not|not|without|apart from|other than|no)\b`)
)

// parseCountries returns the alpha-2 codes named in text, in the order
// they appear, without duplicates. Names, aliases and regions match in any
// case; a bare code matches in any case when it is a whole list item
// ("us, uk, de") and otherwise only in capitals, because "in", "no" and
// "it" are words as well as codes.
func parseCountries(text string) []string {
	type hit struct {
		pos     int
		codes   []string
		exclude bool
	}
	var hits []hit
	// Offsets in lower must be offsets in text too; a few letters change
	// their UTF-8 length when lower-cased, so fall back to ASCII folding.
	lower := strings.ToLower(text)
	if len(lower) != len(text) {
		lower = strings.Map(func(r rune) rune {
			if r >= 'A' && r <= 'Z' {
				return r + 'a' - 'A'
			}
			return r
		}, text)
	}
	taken := make([]bool, len(lower))

	exclStart := len(text)
	if loc := excludeRe.FindStringIndex(text); loc != nil {
		exclStart = loc[1]
	}
	mark := func(start, end int, codes []string) {
		for i := start; i < end; i++ {
			taken[i] = true
		}
		hits = append(hits, hit{pos: start, codes: codes, exclude: start >= exclStart})
	}

	for _, cp := range countryPhrases {
		for from := 0; ; {
			i := strings.Index(lower[from:], cp.text)
			if i < 0 {
				break
			}
			start, end := from+i, from+i+len(cp.text)
			from = end
			if !wordBoundary(lower, start, end) || slices.Contains(taken[start:end], true) {
				continue
			}
			if len(cp.text) <= 3 && !strings.Contains(cp.text, ".") {
				// Short aliases (usa, uk, uae, ksa, eu) are codes: same
				// case rule as codes.
				if text[start:end] != strings.ToUpper(text[start:end]) && !wholeItem(lower, start, end) {
					continue
				}
			}
			mark(start, end, cp.codes)
		}
	}
	for _, loc := range upperCodeRe.FindAllStringIndex(text, -1) {
		if slices.Contains(taken[loc[0]:loc[1]], true) {
			continue
		}
		if c, ok := byCode(text[loc[0]:loc[1]]); ok {
			mark(loc[0], loc[1], []string{c.alpha2})
		}
	}
	for _, item := range splitItems(text) {
		code := strings.ToUpper(strings.TrimSpace(item.text))
		if len(code) < 2 || len(code) > 3 || slices.Contains(taken[item.start:item.end], true) {
			continue
		}
		if c, ok := byCode(code); ok {
			mark(item.start, item.end, []string{c.alpha2})
		}
	}

	sort.SliceStable(hits, func(i, j int) bool { return hits[i].pos < hits[j].pos })
	var out, excluded []string
	for _, h := range hits {
		for _, c := range h.codes {
			if h.exclude {
				excluded = append(excluded, c)
			} else if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return slices.DeleteFunc(out, func(c string) bool { return slices.Contains(excluded, c) })
}

func wordBoundary(s string, start, end int) bool {
	isWord := func(b byte) bool {
		return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b >= 0x80
	}
	return (start == 0 || !isWord(s[start-1])) && (end == len(s) || !isWord(s[end]))
}

// wholeItem reports whether s[start:end] is a whole list item: only
// separators and spaces around it up to the neighbouring items.
func wholeItem(s string, start, end int) bool {
	for _, it := range splitItems(s) {
		if it.start <= start && end <= it.end && strings.TrimSpace(it.text) == s[start:end] {
			return true
		}
	}
	return false
}

type item struct {
	text       string
	start, end int
}

var itemSepRe = regexp.MustCompile(`(?i)\s*(?:[,;\n/&+]|\band\b|\bor\b)\s*`)

// splitItems splits a list answer into its items with their byte offsets.
func splitItems(s string) []item {
	var out []item
	prev := 0
	for _, loc := range append(itemSepRe.FindAllStringIndex(s, -1), []int{len(s), len(s)}) {
		if loc[0] > prev {
			t := s[prev:loc[0]]
			lead := len(t) - len(strings.TrimLeft(t, " \t\r."))
			t = strings.TrimSpace(strings.Trim(t, " \t\r."))
			if t != "" {
				out = append(out, item{text: t, start: prev + lead, end: prev + lead + len(t)})
			}
		}
		prev = loc[1]
	}
	return out
}

// countryNames renders codes for people: "United States (US), Germany (DE)".
func countryNames(codes []string) string {
	out := make([]string, len(codes))
	for i, code := range codes {
		if c, ok := byCode(code); ok {
			out[i] = c.name + " (" + c.alpha2 + ")"
		} else {
			out[i] = code
		}
	}
	return strings.Join(out, ", ")
}
