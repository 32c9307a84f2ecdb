package contact

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEmail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want, code string }{
		{in: "  Ada@Example.COM ", want: "ada@example.com"},
		{in: "ａｄａ@ｅｘａｍｐｌｅ.com", want: "ada@example.com"},
		{in: "info@Пример.РФ", want: "info@xn--e1afmkfd.xn--p1ai"},
		{in: "o'brien+tag@mail.example.co.uk", want: "o'brien+tag@mail.example.co.uk"},
		{in: "ada@example.com.", want: "ada@example.com"},
		{in: "no-at-sign.example.com", code: "invalid_email"},
		{in: "a@@example.com", code: "invalid_email"},
		{in: "ada@localhost", code: "invalid_email"},
		{in: ".ada@example.com", code: "invalid_email"},
		{in: "a..da@example.com", code: "invalid_email"},
		{in: "ada(x)@example.com", code: "invalid_email"},
		{in: "ada@-example.com", code: "invalid_email"},
		{in: "ada@example.123", code: "invalid_email"},
		{in: "ada@exa_mple.com", code: "invalid_email"},
		{in: "pаypal@example.com", code: "mixed_script"},
		{in: "", code: "invalid_email"},
	} {
		got, p, ok := Email(tc.in)
		if tc.code != "" {
			require.False(t, ok, "%q gave %q", tc.in, got)
			require.Equal(t, tc.code, p.Code, tc.in)
			require.NotEmpty(t, p.Message)
			continue
		}
		require.True(t, ok, "%q: %v", tc.in, p)
		require.Equal(t, tc.want, got, tc.in)
		require.Equal(t, "example.com", DomainOf("x@example.com"))
	}
}

func TestDomain(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"Example.COM", "example.com"},
		{" @example.com ", "example.com"},
		{"example.com.", "example.com"},
		{"Bücher.example", "xn--bcher-kva.example"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"localhost", ""},
		{"exa mple.com", ""},
		{"-x.com", ""},
		{"", ""},
		{"a@b.com", ""},
	} {
		got, p, ok := Domain(tc.in)
		if tc.want == "" {
			require.False(t, ok, "%q gave %q", tc.in, got)
			require.Equal(t, "invalid_domain", p.Code)
			continue
		}
		require.True(t, ok, "%q: %v", tc.in, p)
		require.Equal(t, tc.want, got)
	}
}

func TestPhone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, region, want string }{
		{"+44 20 7946 0958", "", "+442079460958"},
		{"020 7946 0958", "GB", "+442079460958"},
		{"020 7946 0958", "gb", "+442079460958"},
		{"(415) 555-2671", "US", "+14155552671"},
		{"0151 12345678", "DE", "+4915112345678"},
		{"0044 20 7946 0958", "DE", "+442079460958"}, // international prefix of the region
		{"+1 415 555 2671", "DE", "+14155552671"},    // a country code wins over the region
		{"020 7946 0958", "", ""},                    // national form with no region
		{"020 7946 0958", "XX", ""},                  // an unknown region is no region
		{"+44 20 7946", "", ""},                      // too short for the UK
		{"+999 1234567", "", ""},                     // no such country code
		{"call me", "US", ""},
		{"", "US", ""},
	} {
		got, p, ok := Phone(tc.in, tc.region)
		if tc.want == "" {
			require.False(t, ok, "%q/%q gave %q", tc.in, tc.region, got)
			require.Equal(t, "invalid_phone", p.Code)
			continue
		}
		require.True(t, ok, "%q/%q: %v", tc.in, tc.region, p)
		require.Equal(t, tc.want, got, tc.in)
	}
}

func TestRegion(t *testing.T) {
	t.Parallel()
	require.Equal(t, "DE", Region("de", "GB"))
	require.Equal(t, "GB", Region("Germany", "gb"), "a country name is not a code: the org's region applies")
	require.Equal(t, "GB", Region("", "GB"))
	require.Equal(t, "", Region("XX", ""))
}

func TestGuess(t *testing.T) {
	t.Parallel()
	for v, k := range map[string]Kind{
		"ada@example.com":  KindEmail,
		"+44 20 7946 0958": KindPhone,
		"(415) 555-2671":   KindPhone,
		"example.com":      KindDomain,
		"@example.com":     KindDomain,
	} {
		require.Equal(t, k, Guess(v), v)
	}
}

// FuzzEmail: never panics; an accepted address is a fixed point and has
// the domain Domain gives for its domain part.
func FuzzEmail(f *testing.F) {
	for _, s := range []string{"Ada@Example.com", "info@пример.рф", "a@b", "x@xn--bcher-kva.example", "ａ@ｂ.ｃｏｍ", "\x00@\xff.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, _, ok := Email(s)
		if !ok {
			return
		}
		again, p, ok := Email(got)
		require.True(t, ok, "%q normalised to %q, which is refused: %v", s, got, p)
		require.Equal(t, got, again)
		d, _, ok := Domain(DomainOf(got))
		require.True(t, ok)
		require.Equal(t, DomainOf(got), d)
	})
}

// FuzzPhone: never panics; an accepted number is E.164 and a fixed point
// in any region.
func FuzzPhone(f *testing.F) {
	for _, s := range []string{"+44 20 7946 0958", "020 7946 0958", "(415) 555-2671", "0044", "+", "++1", "١٢٣٤٥٦٧٨٩"} {
		f.Add(s, "GB")
	}
	f.Fuzz(func(t *testing.T, s, region string) {
		got, _, ok := Phone(s, region)
		if !ok {
			return
		}
		require.Regexp(t, `^\+[1-9][0-9]{6,14}$`, got) // the database's CHECK
		for _, r := range []string{"", "US", region} {
			again, p, ok := Phone(got, r)
			require.True(t, ok, "%q normalised to %q, refused in %q: %v", s, got, r, p)
			require.Equal(t, got, again)
		}
	})
}
