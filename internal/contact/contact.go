// Package contact holds the normalisation rules for the ways LeadPilot
// reaches a person: email addresses, phone numbers and email domains.
// Leads, imports and the suppression list all store what these functions
// return, so "is this contact suppressed?" and "is this lead a duplicate?"
// are equality tests in SQL.
//
//   - Email: emailaddr.Canonical (trim, NFKC, lower-case), emailaddr.Check
//     (look-alikes) and emailaddr.CheckSyntax (the shape of an address),
//     with the domain part converted to ASCII (IDNA, "пример.рф" →
//     "xn--e1afmkfd.xn--p1ai"), so the domain of an address is byte for
//     byte the form Domain stores.
//   - Phone: E.164 ("+4915112345678") by libphonenumber's rules
//     (github.com/nyaruka/phonenumbers); a number written without a country
//     code is read in a default region: the lead's country, else the
//     organisation's (Region picks).
//   - Domain: lower-case, a trailing dot dropped, IDNA to ASCII, and the
//     same syntax as the domain of an address.
//
// Every function returns ok=false with a Problem that says why, never a
// panic, and a value it accepts normalises to itself (the fuzz tests hold
// both).
package contact

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/net/idna"

	"github.com/leadpilot/leadpilot/internal/emailaddr"
)

// Problem says why a value is refused, in the shape of emailaddr.Problem.
type Problem = emailaddr.Problem

// Kind is what a contact value is.
type Kind string

// The kinds of contact value.
const (
	KindEmail  Kind = "email"
	KindDomain Kind = "domain"
	KindPhone  Kind = "phone"
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == KindEmail || k == KindDomain || k == KindPhone }

// maxInput bounds what is parsed at all: no address (320), domain (253)
// or written phone number comes near it.
const maxInput = 512

// idnaProfile is IDNA2008 lookup rules (what resolvers apply), mapping
// case and width first.
var idnaProfile = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.BidiRule(), idna.StrictDomainName(true), idna.VerifyDNSLength(true))

// Email normalises an email address: canonical form, domain in ASCII. It
// refuses look-alikes and anything that is not the shape of an address.
func Email(s string) (string, Problem, bool) {
	if len(s) > maxInput {
		return "", Problem{Code: "invalid_email", Message: "is too long to be an email address"}, false
	}
	c := emailaddr.Canonical(s)
	if p, ok := emailaddr.Check(c); !ok {
		return "", p, false
	}
	at := strings.LastIndexByte(c, '@')
	local, dom := c[:at], c[at+1:]
	ascii, p, ok := Domain(dom)
	if !ok {
		return "", Problem{Code: "invalid_email", Message: "the domain " + p.Message}, false
	}
	addr := local + "@" + ascii
	if p, ok := emailaddr.CheckSyntax(addr); !ok {
		return "", p, false
	}
	return addr, Problem{}, true
}

// Domain normalises a domain name: lower-case, no trailing dot, IDNA
// A-labels ("xn--…") for internationalised names.
func Domain(s string) (string, Problem, bool) {
	bad := Problem{Code: "invalid_domain", Message: "must be a domain name such as example.com"}
	if len(s) > maxInput {
		return "", bad, false
	}
	d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	d = strings.TrimPrefix(d, "@") // "@example.com" is how people write "anything at"
	if d == "" {
		return "", bad, false
	}
	ascii, err := idnaProfile.ToASCII(d)
	if err != nil {
		return "", bad, false
	}
	ascii = strings.ToLower(ascii)
	if p, ok := emailaddr.CheckSyntax("x@" + ascii); !ok {
		return "", Problem{Code: "invalid_domain", Message: strings.TrimPrefix(p.Message, "the domain ")}, false
	}
	return ascii, Problem{}, true
}

// DomainOf is the domain part of an address Email returned.
func DomainOf(email string) string {
	return email[strings.LastIndexByte(email, '@')+1:]
}

// Region is the default region to read a phone number in: the lead's
// country when it is an ISO 3166-1 alpha-2 code libphonenumber knows,
// else the organisation's, else "" (then only numbers written with a
// country code are accepted).
func Region(leadCountry, orgCountry string) string {
	for _, c := range []string{leadCountry, orgCountry} {
		c = strings.ToUpper(strings.TrimSpace(c))
		if len(c) == 2 && phonenumbers.GetCountryCodeForRegion(c) != 0 {
			return c
		}
	}
	return ""
}

// Phone normalises a phone number to E.164. region (ISO-2, may be "") is
// where a number without a country code is read; "+…" and "00…" numbers
// ignore it. The number must be valid by libphonenumber's metadata, not
// merely well-formed.
func Phone(s, region string) (string, Problem, bool) {
	bad := Problem{Code: "invalid_phone", Message: "must be a phone number, in international form (+44 20 7946 0958) or national form for the region"}
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 { // libphonenumber refuses 250+, real numbers with formatting stay well under 64
		return "", bad, false
	}
	region = strings.ToUpper(strings.TrimSpace(region))
	if region != "" && phonenumbers.GetCountryCodeForRegion(region) == 0 {
		region = ""
	}
	if region == "" {
		region = "ZZ" // unknown: only international forms parse
	}
	n, err := phonenumbers.Parse(s, region)
	if err != nil {
		return "", bad, false
	}
	if !phonenumbers.IsValidNumber(n) {
		return "", Problem{Code: "invalid_phone", Message: "is not a valid phone number for its country"}, false
	}
	return phonenumbers.Format(n, phonenumbers.E164), Problem{}, true
}

// Normalise normalises v as a value of kind k (region for phones).
func Normalise(k Kind, v, region string) (string, Problem, bool) {
	switch k {
	case KindEmail:
		return Email(v)
	case KindDomain:
		return Domain(v)
	case KindPhone:
		return Phone(v, region)
	}
	return "", Problem{Code: "invalid_kind", Message: "must be email, domain or phone"}, false
}

// Guess tells the kind of a value written without one (a CSV cell): an
// "@" inside is an email, a leading "+" or mostly digits a phone, else a
// domain.
func Guess(v string) Kind {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '@'); i > 0 {
		return KindEmail
	}
	digits, letters := 0, 0
	for _, r := range v {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '.' || r == '-':
		case r > ' ' && r != '+' && r != '(' && r != ')':
			letters++
		}
	}
	if strings.HasPrefix(v, "+") || (digits > 0 && letters == 0) {
		return KindPhone
	}
	return KindDomain
}
