package leadimport

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// The lead fields a column can map to: the settable columns of the leads
// table. FieldFullName is not a column (full_name is generated): a
// "Name" column is split into first_name and last_name when the file has
// no separate columns for them.
const (
	FieldEmail       = "email"
	FieldPhone       = "phone"
	FieldWhatsApp    = "whatsapp"
	FieldFirstName   = "first_name"
	FieldLastName    = "last_name"
	FieldFullName    = "full_name"
	FieldCompany     = "company"
	FieldJobTitle    = "job_title"
	FieldLinkedInURL = "linkedin_url"
	FieldWebsite     = "website"
	FieldCity        = "city"
	FieldState       = "state"
	FieldCountry     = "country"
	FieldTimezone    = "timezone"

	// weakPrefix marks a synonym that yields its field to any other column
	// mapping to it.
	weakPrefix = "~"

	// Skip is the override that ignores a column.
	Skip = "skip"
	// CustomPrefix starts a field that lands in the lead's custom_fields.
	CustomPrefix = "custom."
)

// LeadFields lists the lead fields a column may map to, in display order.
var LeadFields = []string{
	FieldEmail, FieldFirstName, FieldLastName, FieldFullName, FieldCompany, FieldJobTitle,
	FieldPhone, FieldWhatsApp, FieldLinkedInURL, FieldWebsite, FieldCity, FieldState,
	FieldCountry, FieldTimezone,
}

// synonyms maps a normalised header (see Normalise) to its field. Sources:
// LinkedIn Connections and Sales Navigator exports, Apollo, HubSpot,
// Google Contacts (old and new), Outlook, and plain spreadsheets.
var synonyms = map[string]string{}

func init() {
	add := func(field string, headers ...string) {
		for _, h := range headers {
			synonyms[Normalise(h)] = field
		}
	}
	add(FieldEmail, "Email", "E-mail", "Email Address", "E-mail Address", "Mail", "Work Email",
		"Business Email", "Email 1", "E-mail 1 - Value", "Primary Email", "Contact Email",
		"Courriel", "Adresse e-mail", "Correo", "Correo electrónico")
	add(FieldFirstName, "First Name", "Firstname", "Given Name", "First", "Forename", "Prénom", "Vorname", "Nombre")
	add(FieldLastName, "Last Name", "Lastname", "Family Name", "Surname", "Last", "Nom", "Nachname", "Apellido", "Apellidos")
	add(FieldFullName, "Name", "Full Name", "Fullname", "Contact Name", "Contact", "Display Name")
	add(FieldCompany, "Company", "Company Name", "Organization", "Organisation", "Organization Name",
		"Organization 1 - Name", "Account Name", "Account", "Employer", "Current Company", "Entreprise", "Firma", "Empresa")
	// Outlook's "Title" is Mr./Ms.: a "Job Title" column wins over it.
	add(weakPrefix+FieldJobTitle, "Title", "Headline")
	add(FieldJobTitle, "Job Title", "Position", "Role", "Job", "Organization Title",
		"Organization 1 - Title", "Current Title", "Poste", "Cargo")
	add(FieldPhone, "Phone", "Phone Number", "Telephone", "Tel", "Work Phone", "Business Phone",
		"Work Direct Phone", "Direct Phone", "Phone 1 - Value", "Mobile Phone", "Mobile",
		"Mobile Phone Number", "Cell", "Cell Phone", "Corporate Phone", "Téléphone", "Telefon", "Teléfono")
	// A person's own numbers win over a company's switchboard or a home line
	// whatever the column order.
	add(weakPrefix+FieldPhone, "Company Phone", "Company Main Phone", "Home Phone", "Other Phone", "Primary Phone")
	add(FieldWhatsApp, "WhatsApp", "WhatsApp Number", "WhatsApp Phone")
	add(FieldLinkedInURL, "LinkedIn", "LinkedIn URL", "LinkedIn Profile", "LinkedIn Profile URL", "Person Linkedin Url",
		"Profile URL", "Public Profile URL", "LinkedIn Public URL", "Linkedin Url Person")
	add(FieldWebsite, "Website", "Website URL", "Web Site", "Web Page", "Company Website", "Domain", "Company Domain",
		"Business Web Page", "Website 1 - Value", "Homepage", "Site")
	add(FieldCity, "City", "Town", "Business City", "Address 1 - City", "Person City", "Ville", "Stadt", "Ciudad")
	add(FieldState, "State", "Region", "Province", "State/Province", "State/Region", "County",
		"Business State", "Address 1 - Region", "Person State")
	add(FieldCountry, "Country", "Country/Region", "Business Country/Region", "Business Country",
		"Address 1 - Country", "Person Country", "Pays", "Land", "País")
	add(FieldTimezone, "Timezone", "Time Zone", "TZ")
	// Well-known columns that are not lead columns keep a stable custom key
	// whatever the export calls them.
	add(CustomPrefix+"industry", "Industry", "Company Industry")
	add(CustomPrefix+"company_size", "# Employees", "Employees", "Number of Employees", "Company Size", "Headcount", "Employee Count")
	add(CustomPrefix+"connected_on", "Connected On")
	add(CustomPrefix+"company_linkedin_url", "Company Linkedin Url", "Company LinkedIn")
	add(CustomPrefix+"email_status", "Email Status")
	add(CustomPrefix+"notes", "Notes", "Note", "Description")
	add(CustomPrefix+"location", "Location", "Person Location", "Geography")
	add(CustomPrefix+"sales_navigator_url", "Sales Navigator URL", "Sales Navigator Profile URL", "Sales Nav URL")
}

// stripMarks removes combining marks after decomposition: "Prénom" → "Prenom".
var stripMarks = runes.Remove(runes.In(unicode.Mn))

// Normalise reduces a header to the form mapping compares: accents
// removed, lower-case, only letters and digits ("E-mail Address" →
// "emailaddress", "# Employees" → "employees").
func Normalise(h string) string {
	d, _, err := transform.String(transform.Chain(norm.NFD, stripMarks), h)
	if err != nil {
		d = h
	}
	var b strings.Builder
	for _, r := range d {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// customKey makes a custom_fields key from a header: accents removed,
// lower-case words joined by "_" ("Lead Source (2)" → "lead_source_2").
func customKey(h string) string {
	d, _, err := transform.String(transform.Chain(norm.NFD, stripMarks), h)
	if err != nil {
		d = h
	}
	var b strings.Builder
	sep := false
	for _, r := range d {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if sep && b.Len() > 0 {
				b.WriteByte('_')
			}
			sep = false
			b.WriteRune(unicode.ToLower(r))
			if b.Len() >= 64 {
				break
			}
		} else {
			sep = true
		}
	}
	return b.String()
}

// Column is one column of the file and where its values go.
type Column struct {
	Index  int    // 0-based position in the row
	Header string // as written in the file
	Field  string // a lead field, "custom.<key>", or "" when skipped
	// Source says why: "auto" (a known header), "custom" (unknown header,
	// kept in custom_fields), "override" (the caller's mapping),
	// "duplicate" (a second column for a field already mapped, kept in
	// custom_fields) or "empty" (no header text: skipped).
	Source string
}

// Map maps a header row. overrides, keyed by header as written or by its
// normalised form, force a field ("skip" ignores the column); a lead
// field may be mapped once, later columns for it go to custom_fields.
func Map(header []string, overrides map[string]string) []Column {
	norms := make([]string, len(header))
	linkedIn := false
	for i, h := range header {
		norms[i] = Normalise(h)
		if norms[i] == "connectedon" {
			linkedIn = true
		}
	}
	over := make(map[string]string, len(overrides))
	for k, v := range overrides {
		over[Normalise(k)] = v
	}
	cols := make([]Column, len(header))
	taken := map[string]bool{}
	usedKeys := map[string]bool{}
	// Overrides first, so that an automatic mapping never takes a field the
	// caller gave to another column.
	for i, h := range header {
		cols[i] = Column{Index: i, Header: h}
		v, ok := overrides[h]
		if !ok {
			v, ok = over[norms[i]]
		}
		if !ok {
			continue
		}
		cols[i].Source = "override"
		if v != Skip && v != "" {
			cols[i].Field = v
			taken[v] = true
		}
	}
	auto := make([]string, len(header))
	for pass := range 2 { // strong synonyms first, then weak ones
		for i := range header {
			if cols[i].Source != "" || auto[i] != "" {
				continue
			}
			f, ok := synonyms[norms[i]]
			if norms[i] == "url" { // LinkedIn's Connections.csv calls the profile "URL"
				f, ok = FieldWebsite, true
				if linkedIn {
					f = FieldLinkedInURL
				}
			}
			weak := strings.HasPrefix(f, weakPrefix)
			if !ok || weak != (pass == 1) {
				continue
			}
			f = strings.TrimPrefix(f, weakPrefix)
			auto[i] = f
			if !taken[f] {
				cols[i].Field, cols[i].Source = f, "auto"
				taken[f] = true
			}
		}
	}
	for i, h := range header {
		if cols[i].Source != "" {
			continue
		}
		if norms[i] == "" {
			cols[i].Source = "empty"
			continue
		}
		ok := auto[i] != ""
		switch {
		case ok:
			cols[i].Source = "duplicate"
		default:
			cols[i].Source = "custom"
		}
		if cols[i].Field == "" {
			key := customKey(h)
			for n := 2; usedKeys[key] || taken[CustomPrefix+key]; n++ {
				key = customKey(h) + "_" + itoa(n)
			}
			cols[i].Field = CustomPrefix + key
		}
		taken[cols[i].Field] = true
		if k, ok := strings.CutPrefix(cols[i].Field, CustomPrefix); ok {
			usedKeys[k] = true
		}
	}
	return cols
}

// ValidField reports whether f is a field an override may name.
func ValidField(f string) bool {
	if f == Skip {
		return true
	}
	if k, ok := strings.CutPrefix(f, CustomPrefix); ok {
		return k != "" && customKey(k) == k
	}
	for _, l := range LeadFields {
		if l == f {
			return true
		}
	}
	return false
}

// isHeader reports whether a mapped row can be a header: it names an
// email column, or a name and a company, LinkedIn, phone or WhatsApp
// column (a list for SMS or WhatsApp outreach has no addresses).
func isHeader(cols []Column) bool {
	has := map[string]bool{}
	for _, c := range cols {
		if c.Source == "auto" || c.Source == "override" {
			has[c.Field] = true
		}
	}
	name := has[FieldFirstName] || has[FieldLastName] || has[FieldFullName]
	return has[FieldEmail] || name && (has[FieldCompany] || has[FieldLinkedInURL] || has[FieldPhone] || has[FieldWhatsApp])
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
