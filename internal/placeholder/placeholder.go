// Package placeholder is the one grammar for {{placeholders}} in message
// text. Templates, generated sequences, sending and previews parse with it,
// and the LLM output validator checks with it, so a text one of them
// accepts means the same thing to all of them.
//
// # Grammar
//
//	text        = { literal | escape | placeholder }
//	placeholder = "{{" [ws] name [ws] [ "|" fallback ] "}}"
//	name        = 1*( letter | digit | "_" | "-" | "." )
//	fallback    = *( any character but "{", "}", and line breaks )
//	escape      = "\{{" [ text-on-the-same-line "}}" ] | "\}}"
//	ws          = 1*( " " | "\t" )
//
// Decisions, each made so that a mistake shows up when the text is saved,
// not when it reaches a lead:
//
//   - Spaces and tabs around the name and the fallback are ignored:
//     {{ first_name | there }} is {{first_name|there}}. Space inside a name
//     is an error ({{first name}}), not a different name.
//   - A placeholder never spans lines: a "{{" without a "}}" on the same
//     line is unterminated, so one forgotten brace cannot swallow the rest
//     of a message.
//   - Names are letters (any script), digits, "_", "-" and "."; they are
//     matched exactly, case included. Render does no folding of its own;
//     a caller that accepts "Job Title" for job_title folds names itself.
//   - A "}}" that closes nothing is an error, like a "{{" that is never
//     closed. Lone "{" and "}" are ordinary text.
//   - "\{{" writes a literal "{{", and makes the first "}}" after it on
//     the same line literal too, so \{{first_name}} is the text
//     {{first_name}}. "\}}" writes a literal "}}" anywhere. A backslash
//     before anything else is ordinary text, so paths and emoticons need
//     no escaping.
//   - {{name|}} (an empty fallback) means "nothing, and that is fine": it
//     renders as empty and is not reported as unresolved.
//
// Errors are *SyntaxError values carrying the byte offset, line and column
// of the offending "{{" or "}}".
package placeholder

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Part is one piece of a parsed text: a literal, or a placeholder when Name
// is set.
type Part struct {
	// Literal is a literal part's text with escapes resolved ("\{{" is
	// "{{"). Empty for a placeholder.
	Literal string
	// Name is a placeholder's name, never empty for a placeholder; empty
	// for a literal.
	Name string
	// Fallback is what a placeholder renders as when its value is missing
	// or blank, trimmed of surrounding spaces.
	Fallback string
	// HasFallback tells {{name|}} (an empty fallback) from {{name}} (none).
	HasFallback bool
	// Offset and End are the part's byte span in the parsed text, so
	// text[p.Offset:p.End] is the part as written.
	Offset, End int
}

// IsPlaceholder reports whether p is a placeholder rather than a literal.
func (p Part) IsPlaceholder() bool { return p.Name != "" }

// String writes p back in canonical form: a placeholder as {{name}} or
// {{name|fallback}}, a literal with "{{" and "}}" escaped.
func (p Part) String() string {
	if !p.IsPlaceholder() {
		return escaper.Replace(p.Literal)
	}
	if p.HasFallback {
		return "{{" + p.Name + "|" + p.Fallback + "}}"
	}
	return "{{" + p.Name + "}}"
}

var escaper = strings.NewReplacer("{{", `\{{`, "}}", `\}}`)

// Template is a parsed text. The zero value is an empty text.
type Template struct {
	parts []Part
}

// SyntaxError says where and why a text is not well formed.
type SyntaxError struct {
	// Offset is the byte offset of the problem in the text.
	Offset int
	// Line and Column locate it for people, both from 1; Column counts
	// characters (runes), not bytes.
	Line, Column int
	// Msg says what is wrong, without the position.
	Msg string
}

// Error reads like "placeholder: line 1, column 4: unterminated ...".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("placeholder: line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

func syntaxError(text string, offset int, format string, args ...any) *SyntaxError {
	before := text[:offset]
	line := strings.Count(before, "\n") + 1
	col := utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:]) + 1
	return &SyntaxError{Offset: offset, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

// Parse parses text, or returns the first *SyntaxError in it.
func Parse(text string) (*Template, error) {
	t := &Template{}
	var lit strings.Builder
	litStart := 0
	flush := func(end int) {
		if lit.Len() > 0 {
			t.parts = append(t.parts, Part{Literal: lit.String(), Offset: litStart, End: end})
			lit.Reset()
		}
	}
	// escaped is set by "\{{" until the end of its line: the first "}}"
	// after it is literal too, so that \{{name}} reads as {{name}}.
	escaped := false
	write := func(i int, s string) {
		if lit.Len() == 0 {
			litStart = i
		}
		lit.WriteString(s)
	}
	for i := 0; i < len(text); {
		rest := text[i:]
		switch {
		case strings.HasPrefix(rest, `\{{`):
			write(i, "{{")
			escaped = true
			i += 3
		case strings.HasPrefix(rest, `\}}`):
			write(i, "}}")
			escaped = false
			i += 3
		case strings.HasPrefix(rest, "{{"):
			p, err := parsePlaceholder(text, i)
			if err != nil {
				return nil, err
			}
			flush(i)
			t.parts = append(t.parts, p)
			i = p.End
		case strings.HasPrefix(rest, "}}"):
			if !escaped {
				return nil, syntaxError(text, i, `"}}" closes no placeholder`)
			}
			write(i, "}}")
			escaped = false
			i += 2
		default:
			if text[i] == '\n' || text[i] == '\r' {
				escaped = false
			}
			write(i, text[i:i+1])
			i++
		}
	}
	flush(len(text))
	return t, nil
}

// MustParse is Parse for texts known to be well formed, such as templates
// compiled into the program; it panics on a syntax error.
func MustParse(text string) *Template {
	t, err := Parse(text)
	if err != nil {
		panic(err)
	}
	return t
}

// parsePlaceholder reads the placeholder whose "{{" is at text[start].
func parsePlaceholder(text string, start int) (Part, error) {
	body := text[start+2:]
	if nl := strings.IndexAny(body, "\r\n"); nl >= 0 {
		body = body[:nl]
	}
	end := strings.Index(body, "}}")
	if end < 0 {
		return Part{}, syntaxError(text, start, `unterminated placeholder: "{{" has no "}}" on its line`)
	}
	if open := strings.Index(body, "{{"); open >= 0 && open < end {
		return Part{}, syntaxError(text, start, `unterminated placeholder: another "{{" starts before "}}"`)
	}
	inner := body[:end]
	name, fallback, hasFallback := strings.Cut(inner, "|")
	name = strings.Trim(name, " \t")
	switch {
	case name == "":
		return Part{}, syntaxError(text, start, "placeholder %q has no name", "{{"+inner+"}}")
	case !IsName(name):
		r := invalidRune(name)
		return Part{}, syntaxError(text, start, "placeholder %q: %q is not allowed in a name (letters, digits, _, - and . are)", "{{"+inner+"}}", string(r))
	case strings.ContainsAny(fallback, "{}"):
		return Part{}, syntaxError(text, start, "placeholder %q: a fallback cannot contain { or }", "{{"+inner+"}}")
	}
	return Part{
		Name:        name,
		Fallback:    strings.Trim(fallback, " \t"),
		HasFallback: hasFallback,
		Offset:      start,
		End:         start + 2 + end + 2,
	}, nil
}

// IsName reports whether s can name a placeholder: one or more letters,
// digits, "_", "-" or ".". Use it to check keys that will be offered as
// placeholders, such as custom lead fields.
func IsName(s string) bool {
	return s != "" && invalidRune(s) < 0
}

// invalidRune returns the first rune of s that a name cannot hold, or -1.
func invalidRune(s string) rune {
	for _, r := range s {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == '.') {
			return r
		}
	}
	return -1
}

// Parts returns the parts in order. Adjacent literal text is one part.
func (t *Template) Parts() []Part {
	return append([]Part(nil), t.parts...)
}

// Names returns each placeholder name once, in order of first appearance.
func (t *Template) Names() []string {
	var names []string
	seen := map[string]bool{}
	for _, p := range t.parts {
		if p.IsPlaceholder() && !seen[p.Name] {
			seen[p.Name] = true
			names = append(names, p.Name)
		}
	}
	return names
}

// Render fills each placeholder from values. A value that is missing or
// blank (only whitespace) gives way to the placeholder's fallback; with no
// fallback the placeholder renders as nothing and its name is reported in
// unresolved (once, in order of first appearance), so the caller decides
// whether a text with a hole may go out. Values are inserted as they are:
// a value containing "{{" is not parsed again.
func (t *Template) Render(values map[string]string) (text string, unresolved []string) {
	var b strings.Builder
	for _, p := range t.parts {
		if !p.IsPlaceholder() {
			b.WriteString(p.Literal)
			continue
		}
		switch v := values[p.Name]; {
		case strings.TrimSpace(v) != "":
			b.WriteString(v)
		case p.HasFallback:
			b.WriteString(p.Fallback)
		default:
			if !slices.Contains(unresolved, p.Name) {
				unresolved = append(unresolved, p.Name)
			}
		}
	}
	return b.String(), unresolved
}

// String writes the template back in canonical form (see Part.String):
// parsing it again gives the same parts.
func (t *Template) String() string {
	var b strings.Builder
	for _, p := range t.parts {
		b.WriteString(p.String())
	}
	return b.String()
}
