package mailparse

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlToText renders an HTML body as plain text for a message that has
// no text part. Quoted history is left out (Gmail's div.gmail_quote,
// Thunderbird's div.moz-cite-prefix, Yahoo's div.yahoo_quoted and every
// blockquote), as are head, style and script. A Gmail or Thunderbird
// signature block is preceded by the "-- " separator and an <hr> becomes
// Outlook's underscore line, so cleanText treats them as their text/plain
// equivalents.
//
// It uses the tokenizer rather than the tree builder: mail HTML is often
// broken, and the tokenizer is several times faster on it.
func htmlToText(src string) string {
	z := html.NewTokenizer(strings.NewReader(src))
	var b strings.Builder
	b.Grow(len(src) / 3)
	var (
		skipTag   atom.Atom
		skipName  string
		skipDepth int
		pre       int
	)
	newline := func() { b.WriteByte('\n') }
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		if skipDepth > 0 {
			switch tt {
			case html.StartTagToken:
				if name, _ := z.TagName(); sameTag(name, skipTag, skipName) {
					skipDepth++
				}
			case html.EndTagToken:
				if name, _ := z.TagName(); sameTag(name, skipTag, skipName) {
					skipDepth--
				}
			}
			continue
		}
		switch tt {
		case html.TextToken:
			t := z.Text()
			if pre > 0 {
				b.Write(bytes.ReplaceAll(t, []byte("\u00a0"), []byte(" ")))
			} else {
				writeCollapsed(&b, t)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			var class, id string
			if hasAttr {
				class, id = classAndID(z)
			}
			if tt == html.StartTagToken && skipped(a, class, id) {
				skipTag, skipName, skipDepth = a, string(name), 1
				continue
			}
			switch a {
			case atom.Br, atom.P, atom.Div, atom.Tr, atom.Table, atom.H1, atom.H2, atom.H3,
				atom.H4, atom.H5, atom.H6, atom.Ul, atom.Ol, atom.Section, atom.Article,
				atom.Header, atom.Footer, atom.Center, atom.Dd, atom.Dt:
				newline()
			case atom.Li:
				b.WriteString("\n- ")
			case atom.Td, atom.Th:
				b.WriteByte(' ')
			case atom.Hr:
				b.WriteString("\n________________________________\n")
			case atom.Pre:
				newline()
				if tt == html.StartTagToken {
					pre++
				}
			}
			if strings.Contains(class, "gmail_signature") || strings.Contains(class, "moz-signature") {
				b.WriteString("\n-- \n")
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch atom.Lookup(name) {
			case atom.P, atom.Div, atom.Tr, atom.Table, atom.H1, atom.H2, atom.H3, atom.H4,
				atom.H5, atom.H6, atom.Ul, atom.Ol, atom.Section, atom.Article:
				newline()
			case atom.Pre:
				newline()
				if pre > 0 {
					pre--
				}
			}
		}
	}
	return tidyLines(b.String())
}

func sameTag(name []byte, a atom.Atom, s string) bool {
	if a != 0 {
		return atom.Lookup(name) == a
	}
	return string(name) == s
}

func classAndID(z *html.Tokenizer) (class, id string) {
	for {
		k, v, more := z.TagAttr()
		switch string(k) {
		case "class":
			class = strings.ToLower(string(v))
		case "id":
			id = strings.ToLower(string(v))
		}
		if !more {
			return class, id
		}
	}
}

// skipped says whether an element's content is left out of the text.
func skipped(a atom.Atom, class, id string) bool {
	switch a {
	case atom.Head, atom.Style, atom.Script, atom.Title, atom.Template, atom.Blockquote:
		return true
	}
	if class != "" {
		for _, c := range strings.Fields(class) {
			switch c {
			case "gmail_quote", "gmail_quote_container", "moz-cite-prefix", "yahoo_quoted", "protonmail_quote":
				return true
			case "gmail_signature_prefix":
				return true // its "-- " is written before the signature block itself
			}
		}
	}
	return strings.HasPrefix(id, "yahoo_quoted") || id == "mail-editor-reference-message-container"
}

// writeCollapsed writes HTML text with runs of whitespace as one space.
func writeCollapsed(b *strings.Builder, t []byte) {
	s := strings.ReplaceAll(string(t), "\u00a0", " ")
	space := false
	for _, r := range s {
		switch r {
		case ' ', '\t', '\n', '\r', '\f':
			space = true
			continue
		}
		if space {
			if n := b.Len(); n > 0 {
				if last := b.String()[n-1]; last != '\n' && last != ' ' {
					b.WriteByte(' ')
				}
			}
			space = false
		}
		b.WriteRune(r)
	}
	if space && b.Len() > 0 {
		if last := b.String()[b.Len()-1]; last != '\n' && last != ' ' {
			b.WriteByte(' ')
		}
	}
}

// tidyLines trims each line, keeps at most one blank line in a row and
// trims the whole text.
func tidyLines(s string) string {
	lines := strings.Split(s, "\n")
	out := make([]string, 0, len(lines))
	blank := 0
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "--" {
			l = "-- " // the signature separator keeps its space
		}
		if strings.TrimSpace(l) == "" {
			blank++
			if blank > 1 || len(out) == 0 {
				continue
			}
			l = ""
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return strings.Join(out, "\n")
}
