package placeholder_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/placeholder"
)

// lit and ph build expected parts without offsets, which the tests compare
// separately.
func lit(s string) placeholder.Part { return placeholder.Part{Literal: s} }

func ph(name string) placeholder.Part { return placeholder.Part{Name: name} }

func phf(name, fallback string) placeholder.Part {
	return placeholder.Part{Name: name, Fallback: fallback, HasFallback: true}
}

func withoutOffsets(parts []placeholder.Part) []placeholder.Part {
	var out []placeholder.Part
	for _, p := range parts {
		p.Offset, p.End = 0, 0
		out = append(out, p)
	}
	return out
}

func TestParse(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		text string
		want []placeholder.Part
	}{
		{"EmptyText", "", nil},
		{"PlainText", "Hi there", []placeholder.Part{lit("Hi there")}},
		{"OnePlaceholder", "Hi {{first_name}}!", []placeholder.Part{lit("Hi "), ph("first_name"), lit("!")}},
		{"SpacesAroundTheNameAreIgnored", "{{ first_name }}{{\tcompany\t}}", []placeholder.Part{ph("first_name"), ph("company")}},
		{"AFallback", "Hi {{first_name|there}}", []placeholder.Part{lit("Hi "), phf("first_name", "there")}},
		{"SpacesAroundTheFallbackAreIgnored", "{{ first_name | my friend }}", []placeholder.Part{phf("first_name", "my friend")}},
		{"AnEmptyFallback", "{{case_study|}}", []placeholder.Part{phf("case_study", "")}},
		{"ABarInsideAFallback", "{{x|a|b}}", []placeholder.Part{phf("x", "a|b")}},
		{"PunctuationInAFallback", "{{cta|Open to a call? Let me know.}}", []placeholder.Part{phf("cta", "Open to a call? Let me know.")}},
		{"NamesWithDotsHyphensDigitsAndOtherScripts", "{{lead.city}}{{job-title}}{{field_2}}{{größe}}",
			[]placeholder.Part{ph("lead.city"), ph("job-title"), ph("field_2"), ph("größe")}},
		{"NamesKeepTheirCase", "{{Company}}", []placeholder.Part{ph("Company")}},
		{"AdjacentPlaceholders", "{{a}}{{b}}", []placeholder.Part{ph("a"), ph("b")}},
		{"EscapedOpeningBraces", `use \{{name}} to insert a name`, []placeholder.Part{lit("use {{name}} to insert a name")}},
		{"EscapedClosingBraces", `a \}} b`, []placeholder.Part{lit("a }} b")}},
		{"AnEscapeWithoutAClosingPair", `a \{{ b`, []placeholder.Part{lit("a {{ b")}},
		{"OnlyTheFirstClosingPairAfterAnEscapeIsText", `\{{a}} {{b}}`, []placeholder.Part{lit("{{a}} "), ph("b")}},
		{"AnEscapeNextToAPlaceholder", `\{{{{a}}`, []placeholder.Part{lit("{{"), ph("a")}},
		{"OtherBackslashesAreText", `C:\dir \o/ \{ \n`, []placeholder.Part{lit(`C:\dir \o/ \{ \n`)}},
		{"SingleBracesAreText", "{x} and {y}", []placeholder.Part{lit("{x} and {y}")}},
		{"ABraceAfterAPlaceholderIsText", "{{a}}}", []placeholder.Part{ph("a"), lit("}")}},
		{"LinesAroundPlaceholders", "Hi {{first_name}},\n\n{{cta}}\n", []placeholder.Part{lit("Hi "), ph("first_name"), lit(",\n\n"), ph("cta"), lit("\n")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tmpl, err := placeholder.Parse(tt.text)
			require.NoError(t, err)
			require.Equal(t, tt.want, withoutOffsets(tmpl.Parts()))
		})
	}

	t.Run("RecordsWhereEachPartWasWritten", func(t *testing.T) {
		t.Parallel()
		text := `Hi {{ first_name | there }}, \{{x}} {{company}}`
		tmpl, err := placeholder.Parse(text)
		require.NoError(t, err)
		var spans []string
		for _, p := range tmpl.Parts() {
			spans = append(spans, text[p.Offset:p.End])
		}
		require.Equal(t, []string{"Hi ", "{{ first_name | there }}", `, \{{x}} `, "{{company}}"}, spans)
	})
}

func TestParseRejects(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name         string
		text         string
		line, column int
		msg          string
	}{
		{"AnUnterminatedPlaceholder", "Hi {{first_name, quick one", 1, 4, `"{{" has no "}}"`},
		{"APlaceholderSpanningLines", "Hi {{first_name\n}} there", 1, 4, `"{{" has no "}}" on its line`},
		{"AStrayClosingPair", "Hi first_name}}", 1, 14, `"}}" closes no placeholder`},
		{"APlaceholderInsideAnother", "{{a {{b}} }}", 1, 1, `another "{{"`},
		{"TripleBraces", "{{{name}}}", 1, 1, `"{" is not allowed`},
		{"AnEmptyName", "x {{ }}", 1, 3, "has no name"},
		{"AFallbackWithoutAName", "{{|there}}", 1, 1, "has no name"},
		{"ASpaceInsideAName", "{{first name}}", 1, 1, `" " is not allowed`},
		{"ABraceInAFallback", "{{a|b}c}}", 1, 1, "cannot contain { or }"},
		{"AnErrorOnALaterLine", "Hi,\n\nnaïve {{x", 3, 7, "unterminated"},
		{"AnEscapeEndsWithItsLine", "\\{{x\n}}", 2, 1, `"}}" closes no placeholder`},
		{"ASecondClosingPairAfterAnEscape", `\{{x}} y}}`, 1, 9, `"}}" closes no placeholder`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := placeholder.Parse(tt.text)
			var serr *placeholder.SyntaxError
			require.True(t, errors.As(err, &serr), "want a *SyntaxError, got %v", err)
			require.Equal(t, tt.line, serr.Line, "line")
			require.Equal(t, tt.column, serr.Column, "column")
			require.Contains(t, serr.Msg, tt.msg)
			require.Contains(t, err.Error(), fmt.Sprintf("line %d, column %d", tt.line, tt.column))
		})
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	tmpl := placeholder.MustParse("{{b}} {{a|x}} {{b}} {{c}} {{a}}")
	require.Equal(t, []string{"b", "a", "c"}, tmpl.Names())
	require.Empty(t, placeholder.MustParse("no placeholders").Names())
}

func TestRender(t *testing.T) {
	t.Parallel()

	values := map[string]string{"first_name": "Ana", "company": "Acme", "blank": "  ", "empty": ""}
	tests := []struct {
		name       string
		text       string
		want       string
		unresolved []string
	}{
		{"FillsValues", "Hi {{first_name}} at {{ company }}!", "Hi Ana at Acme!", nil},
		{"PrefersTheValueToTheFallback", "Hi {{first_name|there}}", "Hi Ana", nil},
		{"UsesTheFallbackForAMissingValue", "Hi {{last_name|there}}", "Hi there", nil},
		{"UsesTheFallbackForABlankValue", "Hi {{blank|there}} {{empty|you}}", "Hi there you", nil},
		{"AnEmptyFallbackResolvesToNothing", "Hi{{last_name|}}.", "Hi.", nil},
		{"ReportsUnresolvedNamesOnceInOrder", "{{x}} {{first_name}} {{y}} {{x}} {{blank}}", " Ana   ", []string{"x", "y", "blank"}},
		{"KeepsEscapedBracesLiteral", `\{{first_name}} is {{first_name}}`, "{{first_name}} is Ana", nil},
		{"NeverParsesAValueAgain", "{{company}}", "{{first_name}}", nil},
		{"MatchesNamesExactly", "{{First_Name}}", "", []string{"First_Name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vals := values
			if tt.name == "NeverParsesAValueAgain" {
				vals = map[string]string{"company": "{{first_name}}", "first_name": "Ana"}
			}
			got, unresolved := placeholder.MustParse(tt.text).Render(vals)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.unresolved, unresolved)
		})
	}

	t.Run("TheZeroTemplateIsEmpty", func(t *testing.T) {
		t.Parallel()
		var tmpl placeholder.Template
		got, unresolved := tmpl.Render(nil)
		require.Empty(t, got)
		require.Empty(t, unresolved)
	})
}

func TestString(t *testing.T) {
	t.Parallel()
	tmpl := placeholder.MustParse(`Hi {{ first_name | there }}, \{{x}} and \}} {{case_study|}}`)
	require.Equal(t, `Hi {{first_name|there}}, \{{x\}} and \}} {{case_study|}}`, tmpl.String())
}

func TestIsName(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"first_name", "Recent-Work", "lead.city", "x1", "größe"} {
		require.True(t, placeholder.IsName(s), s)
	}
	for _, s := range []string{"", "Recent Work", "a|b", "{x}", "a\nb"} {
		require.False(t, placeholder.IsName(s), s)
	}
}

func TestMustParsePanicsOnASyntaxError(t *testing.T) {
	t.Parallel()
	require.Panics(t, func() { placeholder.MustParse("{{") })
}

// FuzzParse checks that Parse never panics and that what it accepts is
// consistent: the parts tile the text, rendering keeps every literal as
// written, and the canonical form parses back to the same parts.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "Hi {{first_name}}", "{{ first_name | there }}", `\{{x}}`, `\}}`, "{{a}}}", "{{", "}}",
		"{{a|b|c}}", "{{{a}}}", "Hi {{first_name, quick one", "{{x\n}}", `\\{{a}}`, "{{größe}}", "a}b{c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		tmpl, err := placeholder.Parse(text)
		if err != nil {
			var serr *placeholder.SyntaxError
			if !errors.As(err, &serr) {
				t.Fatalf("Parse(%q): error %v is not a *SyntaxError", text, err)
			}
			if serr.Offset < 0 || serr.Offset >= len(text) || serr.Line < 1 || serr.Column < 1 {
				t.Fatalf("Parse(%q): bad position %+v", text, serr)
			}
			return
		}

		parts := tmpl.Parts()
		pos := 0
		var literals, rendered strings.Builder
		for _, p := range parts {
			if p.Offset != pos || p.End <= p.Offset {
				t.Fatalf("Parse(%q): part %+v does not follow offset %d", text, p, pos)
			}
			pos = p.End
			src := text[p.Offset:p.End]
			if p.IsPlaceholder() {
				if !strings.HasPrefix(src, "{{") || !strings.HasSuffix(src, "}}") || !placeholder.IsName(p.Name) {
					t.Fatalf("Parse(%q): bad placeholder %+v (%q)", text, p, src)
				}
				rendered.WriteString(p.Fallback)
				continue
			}
			literals.WriteString(p.Literal)
			rendered.WriteString(p.Literal)
		}
		if pos != len(text) {
			t.Fatalf("Parse(%q): parts end at %d, text at %d", text, pos, len(text))
		}

		// With every value missing, a text renders as its literals and
		// fallbacks; with no placeholders, as its literals alone, and text
		// without braces or escapes as itself.
		got, _ := tmpl.Render(nil)
		if got != rendered.String() {
			t.Fatalf("Parse(%q).Render(nil) = %q, want %q", text, got, rendered.String())
		}
		if len(tmpl.Names()) == 0 && got != literals.String() {
			t.Fatalf("Parse(%q).Render(nil) = %q, want literals %q", text, got, literals.String())
		}
		if !strings.Contains(text, "{{") && !strings.Contains(text, "}}") && got != text {
			t.Fatalf("Parse(%q).Render(nil) = %q, want the text itself", text, got)
		}

		again, err := placeholder.Parse(tmpl.String())
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", text, tmpl.String(), err)
		}
		a, b := withoutOffsets(parts), withoutOffsets(again.Parts())
		if !slices.Equal(a, b) {
			t.Fatalf("Parse(%q): canonical form %q parses to %+v, want %+v", text, tmpl.String(), b, a)
		}
	})
}
