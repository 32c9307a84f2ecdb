package mailparse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	netmail "net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode non-UTF-8 bodies and headers
	"golang.org/x/text/encoding/charmap"
)

// Limits that keep one hostile message from costing more than a normal
// one. Parts past them are skipped (attachments past maxParts are not
// listed), text past maxTextBytes is dropped.
const (
	maxDepth     = 16      // nested multiparts followed
	maxParts     = 256     // leaf parts looked at
	maxTextBytes = 2 << 20 // decoded bytes kept of the text and of the HTML body
)

// Message is one parsed email. Every string field is valid UTF-8.
type Message struct {
	MessageID  string   // without angle brackets, "" when absent
	InReplyTo  string   // first id of In-Reply-To, no brackets
	References []string // ids of References in order, no brackets

	From    Address
	To      []Address
	Cc      []Address
	ReplyTo []Address

	Subject string    // decoded (RFC 2047), folding whitespace collapsed
	Date    time.Time // zero when absent or unparseable

	// Text is the text/plain body decoded to UTF-8 with "\n" line ends
	// (format=flowed undone), or, when there is no text part, text derived
	// from the HTML body with quoted history (gmail_quote, blockquote)
	// left out.
	Text string
	// HTML is the text/html body decoded to UTF-8, "" when there is none.
	HTML string
	// Clean is what the sender wrote in this message: Text with quoted
	// lines and their attribution line, the signature after "-- ",
	// Outlook/Apple/Gmail original-message and forwarded blocks and
	// "Sent from my iPhone"-style trailers removed. Every line of Clean is
	// a line of Text, in the same order. "" when the message is only a
	// quote.
	Clean string
	// Snippet is the first runes (at most 200) of Clean with whitespace
	// collapsed, or of Text when Clean is empty.
	Snippet string

	// Attachments lists the non-body parts; their content is not kept.
	Attachments []Attachment

	// AutoReply says whether the message was sent by a machine on
	// someone's behalf, and whether it is an out-of-office notice.
	AutoReply AutoReply

	// IsReport is true for a multipart/report (a delivery status or
	// disposition notification); such a message is never an
	// out-of-office.
	IsReport bool

	header message.Header
}

// Address is one mailbox of an address header.
type Address struct {
	Name    string // display name, decoded
	Address string // addr-spec, lower-cased
}

// Attachment describes a part that is not one of the bodies.
type Attachment struct {
	Filename    string // decoded (RFC 2231 / RFC 2047), "" when none is given
	ContentType string // media type, lower-case, without parameters
	Size        int64  // decoded bytes
	ContentID   string // without angle brackets, "" when absent
	Inline      bool   // Content-Disposition inline, or a Content-ID and no disposition
}

// Header returns the first value of the named header field, RFC 2047
// decoded, "" when absent.
func (m *Message) Header(name string) string {
	return decodeHeaderText(m.header.Get(name))
}

// HeaderValues returns every value of the named header field in message
// order, RFC 2047 decoded.
func (m *Message) HeaderValues(name string) []string {
	vs := m.header.Values(name)
	if len(vs) == 0 {
		return nil
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = decodeHeaderText(v)
	}
	return out
}

// Parse reads one RFC 5322 message. It never panics; malformed parts are
// skipped with what could be read kept. It fails only when not even the
// header block can be read.
func Parse(raw []byte) (msg *Message, err error) {
	defer func() {
		// The libraries below are not fuzzed by us; a panic in one of them
		// is a malformed message, not a crash of the sync worker.
		if r := recover(); r != nil {
			msg, err = nil, &panicError{r}
		}
	}()
	e, rerr := message.Read(bytes.NewReader(raw))
	if e == nil {
		if rerr == nil {
			rerr = errors.New("no message")
		}
		return nil, fmt.Errorf("mailparse: read header: %w", rerr)
	}
	m := &Message{header: e.Header}
	m.readHeader()

	p := &walker{m: m}
	mt, _, _ := e.Header.ContentType()
	m.IsReport = mt == "multipart/report"
	p.walk(e, 0)
	if p.parts == 0 && strings.HasPrefix(mt, "multipart/") {
		// Declared multipart but no boundary line in it: a mislabelled
		// plain message. Its body is the text.
		appendBody(&p.text, readText(bytes.NewReader(bodyOf(raw))))
	}

	m.HTML = p.html.String()
	if strings.TrimSpace(p.text.String()) != "" {
		m.Text = p.text.String()
	} else if m.HTML != "" {
		m.Text = htmlToText(m.HTML)
	}
	m.Clean = cleanText(m.Text)
	m.Snippet = snippet(m.Clean)
	if m.Snippet == "" {
		m.Snippet = snippet(m.Text)
	}
	m.AutoReply = detectAutoReply(m)
	return m, nil
}

// panicError is a panic Parse recovered from; FuzzParse fails on it.
type panicError struct{ v any }

func (e *panicError) Error() string { return fmt.Sprintf("mailparse: malformed message: %v", e.v) }

// bodyOf is what follows the header block of raw.
func bodyOf(raw []byte) []byte {
	crlf, lf := bytes.Index(raw, []byte("\r\n\r\n")), bytes.Index(raw, []byte("\n\n"))
	switch {
	case crlf >= 0 && (lf < 0 || crlf < lf):
		return raw[crlf+4:]
	case lf >= 0:
		return raw[lf+2:]
	}
	return nil
}

func (m *Message) readHeader() {
	h := &m.header
	m.MessageID = first(msgIDs(h.Get("Message-Id")))
	m.InReplyTo = first(msgIDs(h.Get("In-Reply-To")))
	m.References = msgIDs(h.Get("References"))
	if from := parseAddressList(h.Get("From")); len(from) > 0 {
		m.From = from[0]
	}
	m.To = parseAddressList(h.Get("To"))
	m.Cc = parseAddressList(h.Get("Cc"))
	m.ReplyTo = parseAddressList(h.Get("Reply-To"))
	m.Subject = collapseSpace(decodeHeaderText(h.Get("Subject")))
	m.Date = parseDate(h.Get("Date"))
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// walker visits the MIME tree, keeping the bodies and listing the rest.
type walker struct {
	m     *Message
	text  strings.Builder
	html  strings.Builder
	parts int
}

func (w *walker) walk(e *message.Entity, depth int) {
	mt, params, cterr := e.Header.ContentType()
	if cterr != nil {
		mt = ""
	}
	if strings.HasPrefix(mt, "multipart/") && params["boundary"] != "" {
		if depth >= maxDepth {
			w.parts++
			_, _ = io.Copy(io.Discard, e.Body) // too deep for any real mailer: skipped
			return
		}
		mr := e.MultipartReader()
		for w.parts < maxParts {
			part, err := mr.NextPart()
			if part == nil || (err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err)) {
				break // end, or a broken boundary: keep what was read
			}
			w.walk(part, depth+1)
		}
		return
	}
	w.parts++
	if strings.HasPrefix(mt, "multipart/") {
		mt = "text/plain" // no boundary: nothing to split, read it as text
	}
	w.leaf(e, mt, params)
}

func (w *walker) leaf(e *message.Entity, mt string, params map[string]string) {
	disp, dparams, _ := e.Header.ContentDisposition()
	filename := dparams["filename"]
	if filename == "" {
		filename = params["name"]
	}
	filename = decodeHeaderText(filename)
	isText := mt == "" || mt == "text/plain" || mt == "text/html"
	if isText && disp != "attachment" && (filename == "" || disp == "inline") {
		body := readText(e.Body)
		if mt == "text/html" {
			appendBody(&w.html, body)
		} else {
			if strings.EqualFold(params["format"], "flowed") {
				body = unflow(body, strings.EqualFold(params["delsp"], "yes"))
			}
			appendBody(&w.text, body)
		}
		return
	}
	if mt == "" {
		mt = "text/plain"
	}
	cid := strings.TrimSpace(e.Header.Get("Content-Id"))
	cid = strings.TrimSuffix(strings.TrimPrefix(cid, "<"), ">")
	var n countingWriter
	_, _ = io.Copy(&n, e.Body) // a decoding error ends the count: the size is what decoded
	w.m.Attachments = append(w.m.Attachments, Attachment{
		Filename:    validUTF8(filename),
		ContentType: validUTF8(mt),
		Size:        int64(n),
		ContentID:   validUTF8(cid),
		Inline:      disp == "inline" || (disp == "" && cid != ""),
	})
}

// appendBody adds one more inline text part (Apple Mail splits the text
// around inline images) within the size cap.
func appendBody(b *strings.Builder, s string) {
	if b.Len() >= maxTextBytes || s == "" {
		return
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	if room := maxTextBytes - b.Len(); len(s) > room {
		s = strings.ToValidUTF8(s[:room], "")
	}
	b.WriteString(s)
}

type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

// readText reads a decoded text body (go-message has already undone the
// transfer encoding and, for a known charset, converted to UTF-8) and
// makes it valid UTF-8 with "\n" line ends.
func readText(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, maxTextBytes)) // a decoding error keeps what was read
	_, _ = io.Copy(io.Discard, r)
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	s := string(b)
	if !utf8.ValidString(s) {
		s = latin1Fallback(s)
	}
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	return s
}

// latin1Fallback reads bytes that claimed (or defaulted to) UTF-8 but are
// not as Windows-1252, the charset such mail nearly always is in. Text
// that does hold UTF-8 sequences is UTF-8 with a few bad bytes: those
// become U+FFFD rather than the whole text turning to mojibake.
func latin1Fallback(s string) string {
	if hasUTF8Multibyte(s) {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	out, err := charmap.Windows1252.NewDecoder().String(s)
	if err != nil || !utf8.ValidString(out) {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	return out
}

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return latin1Fallback(s)
}

var wordDecoder = &mime.WordDecoder{CharsetReader: func(charset string, input io.Reader) (io.Reader, error) {
	if message.CharsetReader == nil {
		return nil, fmt.Errorf("unhandled charset %q", charset)
	}
	return message.CharsetReader(strings.ToLower(charset), input)
}}

// decodeHeaderText decodes RFC 2047 encoded words; a value that fails to
// decode is kept as it is. Raw 8-bit bytes that are not UTF-8 are read
// as Windows-1252.
func decodeHeaderText(v string) string {
	if v == "" {
		return ""
	}
	if strings.Contains(v, "=?") {
		if d, err := wordDecoder.DecodeHeader(v); err == nil {
			v = d
		}
	}
	return validUTF8(v)
}

func collapseSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// msgIDs reads a list of message ids leniently: every <...> token, or,
// when there are no brackets at all, every whitespace- or comma-separated
// word that looks like an id.
func msgIDs(v string) []string {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	var ids []string
	if strings.Contains(v, "<") {
		for {
			i := strings.IndexByte(v, '<')
			if i < 0 {
				break
			}
			j := strings.IndexByte(v[i+1:], '>')
			if j < 0 {
				if id := cleanID(v[i+1:]); id != "" {
					ids = append(ids, id)
				}
				break
			}
			if id := cleanID(v[i+1 : i+1+j]); id != "" {
				ids = append(ids, id)
			}
			v = v[i+1+j+1:]
		}
		return ids
	}
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' }) {
		if strings.Contains(f, "@") {
			if id := cleanID(f); id != "" {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

func cleanID(s string) string {
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, " \t<>") {
		s = strings.Join(strings.Fields(s), "")
		s = strings.NewReplacer("<", "", ">", "").Replace(s)
	}
	return validUTF8(s)
}

// parseAddressList parses an address header, falling back to a lenient
// reading (an item at a time, then a bare <addr> or addr@domain) for the
// malformed lists real mailers write.
func parseAddressList(v string) []Address {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	if list, err := addrParser.ParseList(v); err == nil {
		return toAddresses(list)
	}
	var out []Address
	for _, item := range splitAddressList(v) {
		if a, err := addrParser.Parse(item); err == nil {
			out = append(out, toAddresses([]*netmail.Address{a})...)
			continue
		}
		if a, ok := looseAddress(item); ok {
			out = append(out, a)
		}
	}
	return out
}

var addrParser = &netmail.AddressParser{WordDecoder: wordDecoder}

func toAddresses(list []*netmail.Address) []Address {
	out := make([]Address, 0, len(list))
	for _, a := range list {
		if a == nil || a.Address == "" {
			continue
		}
		out = append(out, Address{Name: validUTF8(a.Name), Address: validUTF8(strings.ToLower(a.Address))})
	}
	return out
}

// splitAddressList splits at commas outside quotes, comments and angle
// brackets.
func splitAddressList(v string) []string {
	var out []string
	depth, quoted, angle, start := 0, false, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case c == ',' && depth == 0 && !angle:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

func looseAddress(item string) (Address, bool) {
	item = strings.TrimSpace(item)
	addr, name := "", ""
	if i := strings.LastIndexByte(item, '<'); i >= 0 {
		rest := item[i+1:]
		if j := strings.IndexByte(rest, '>'); j >= 0 {
			rest = rest[:j]
		}
		addr = strings.TrimSpace(rest)
		name = strings.Trim(strings.TrimSpace(item[:i]), `"' `)
	} else {
		for _, f := range strings.Fields(item) {
			if strings.Contains(f, "@") {
				addr = strings.Trim(f, `"'()[];:`)
				break
			}
		}
	}
	if !strings.Contains(addr, "@") || strings.ContainsAny(addr, " \t") {
		return Address{}, false
	}
	return Address{Name: decodeHeaderText(name), Address: validUTF8(strings.ToLower(addr))}, true
}

var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04 -0700",
	"2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 06 15:04:05 -0700",
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 -0700 2006",
	"Mon, 2 January 2006 15:04:05 -0700",
	"Monday, 2 Jan 2006 15:04:05 -0700",
	time.RFC3339,
}

// parseDate reads a Date header, trying the layouts broken mailers use
// after RFC 5322's; zero when none fits.
func parseDate(v string) time.Time {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}
	}
	// The RFC 5322 form nearly every mailer writes, then net/mail's
	// wider set, then the broken ones.
	if t, err := time.Parse("Mon, 2 Jan 2006 15:04:05 -0700", v); err == nil {
		return t
	}
	if t, err := netmail.ParseDate(v); err == nil {
		return t
	}
	if i := strings.IndexByte(v, '('); i > 0 {
		v = strings.TrimSpace(v[:i])
	}
	v = collapseSpace(strings.ReplaceAll(v, ",", ", "))
	v = strings.ReplaceAll(v, ", ,", ",")
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t
		}
	}
	return time.Time{}
}

func hasUTF8Multibyte(s string) bool {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError || n > 1 {
			return true
		}
		i += n
	}
	return false
}
