// Package leadimport reads lead files (CSV exports from LinkedIn, Sales
// Navigator, Apollo, HubSpot, Google Contacts, Outlook, spreadsheets) as
// a stream: it detects the encoding and the delimiter, skips preamble
// lines to the header row, maps the header to lead fields and yields one
// record at a time with its problems. Memory stays bounded by the limits
// in Options whatever the file's size.
package leadimport

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/leadpilot/leadpilot/internal/contact"
)

// Encodings the reader reports.
const (
	EncodingUTF8    = "utf-8"
	EncodingUTF8BOM = "utf-8-bom"
	EncodingUTF16LE = "utf-16le"
	EncodingUTF16BE = "utf-16be"
	// EncodingWindows1252 is reported for a file that is not UTF-8: it is
	// read as Windows-1252, the superset of Latin-1 that Excel writes.
	EncodingWindows1252 = "windows-1252"
)

// Defaults of Options.
const (
	DefaultMaxFieldBytes   = 32 << 10
	DefaultMaxRecordBytes  = 1 << 20
	DefaultMaxColumns      = 500
	DefaultMaxPreambleRows = 50
	sampleBytes            = 64 << 10
)

// ErrNotCSV is wrapped by every error that means the file is not a CSV
// lead file at all; its message says what it looks like instead.
var ErrNotCSV = errors.New("not a CSV lead file")

// ErrTooLarge is wrapped when one record exceeds Options.MaxRecordBytes
// (an unclosed quote usually): reading cannot go on past it.
var ErrTooLarge = errors.New("record too large")

// Options tune a Reader; the zero value is usable.
type Options struct {
	// Mapping overrides the automatic mapping: header (as written, or in
	// any case/punctuation) → lead field, "custom.<key>" or "skip".
	Mapping map[string]string
	// MaxFieldBytes truncates longer values (reported); MaxRecordBytes ends
	// the file with ErrTooLarge; MaxColumns ignores columns past it;
	// MaxPreambleRows is how many rows may come before the header.
	MaxFieldBytes, MaxRecordBytes, MaxColumns, MaxPreambleRows int
}

// Problem is something wrong with one row (never fatal to the file).
type Problem struct {
	Code    string // short identifier: "missing_columns", "invalid_email", …
	Column  string // the header concerned, when one is
	Message string
}

// Record is one data row of the file.
type Record struct {
	Line     int               // 1-based line where the row starts
	Fields   map[string]string // field ("email", "custom.industry") → trimmed, non-empty value
	Raw      []string          // the row as read (at most MaxColumns values)
	Problems []Problem
}

// Reader reads records from a lead file. Open it with Open, then call
// Next until io.EOF.
type Reader struct {
	Encoding   string
	Delimiter  rune
	HeaderLine int      // 1-based line of the header row
	Header     []string // as written
	Columns    []Column // one per header column

	o       Options
	csv     *csv.Reader
	count   *countingReader
	utf8    bool // decoded stream may hold invalid UTF-8 past the sample
	hasName bool // first_name or last_name mapped: full_name is not split
}

// Open detects the encoding, the delimiter and the header row of r and
// returns a Reader positioned at the first data row. The error wraps
// ErrNotCSV when r is not a CSV lead file.
func Open(r io.Reader, o Options) (*Reader, error) {
	if o.MaxFieldBytes <= 0 {
		o.MaxFieldBytes = DefaultMaxFieldBytes
	}
	if o.MaxRecordBytes <= 0 {
		o.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if o.MaxColumns <= 0 {
		o.MaxColumns = DefaultMaxColumns
	}
	if o.MaxPreambleRows <= 0 {
		o.MaxPreambleRows = DefaultMaxPreambleRows
	}
	raw := bufio.NewReaderSize(r, sampleBytes)
	head, err := raw.Peek(sampleBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("leadimport: read: %w", err)
	}
	rd := &Reader{o: o}
	var dec *encoding.Decoder
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		rd.Encoding, rd.utf8 = EncodingUTF8BOM, true
		_, _ = raw.Discard(3)
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		rd.Encoding = EncodingUTF16LE
		dec = unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		rd.Encoding = EncodingUTF16BE
		dec = unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder()
	default:
		if why := notText(head); why != "" {
			return nil, fmt.Errorf("leadimport: %w: %s", ErrNotCSV, why)
		}
		if validUTF8Prefix(head) {
			rd.Encoding, rd.utf8 = EncodingUTF8, true
		} else {
			rd.Encoding = EncodingWindows1252
			dec = charmap.Windows1252.NewDecoder()
		}
	}
	var text io.Reader = raw
	if dec != nil {
		text = transform.NewReader(raw, dec)
	}
	text = transform.NewReader(text, loneCR{})
	decoded := bufio.NewReaderSize(text, sampleBytes)
	sample, err := decoded.Peek(sampleBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("leadimport: read: %w", err)
	}
	if len(bytes.TrimSpace(sample)) == 0 {
		return nil, fmt.Errorf("leadimport: %w: the file is empty", ErrNotCSV)
	}
	if dec != nil {
		if why := notText(sample); why != "" {
			return nil, fmt.Errorf("leadimport: %w: %s", ErrNotCSV, why)
		}
	}
	rd.Delimiter = sniff(sample, o)
	rd.count = &countingReader{r: decoded, max: o.MaxRecordBytes}
	rd.csv = newCSV(rd.count, rd.Delimiter)
	for rows := 0; ; rows++ {
		rec, err := rd.read()
		if errors.Is(err, io.EOF) || rows >= o.MaxPreambleRows {
			return nil, fmt.Errorf("leadimport: %w: no header row in the first %d rows names an email column, or a name and a company, LinkedIn, phone or WhatsApp column; map the columns by hand", ErrNotCSV, min(rows, o.MaxPreambleRows))
		}
		if err != nil {
			return nil, err
		}
		if len(rec) > o.MaxColumns {
			rec = rec[:o.MaxColumns]
		}
		cols := Map(rec, o.Mapping)
		if !isHeader(cols) && !overridden(cols) {
			continue
		}
		line, _ := rd.csv.FieldPos(0)
		rd.HeaderLine, rd.Header, rd.Columns = line, clean(rec), cols
		for _, c := range cols {
			rd.hasName = rd.hasName || c.Field == FieldFirstName || c.Field == FieldLastName
		}
		return rd, nil
	}
}

// overridden reports whether the caller's mapping names a column of this
// row: the caller has recognised it as the header.
func overridden(cols []Column) bool {
	for _, c := range cols {
		if c.Source == "override" {
			return true
		}
	}
	return false
}

func clean(rec []string) []string {
	out := make([]string, len(rec))
	for i, h := range rec {
		out[i] = strings.TrimSpace(strings.ToValidUTF8(strings.ReplaceAll(h, "\x00", ""), "\uFFFD"))
	}
	return out
}

// read returns the next non-blank row; the counting reader is reset per
// row so a single row, not the file, is bounded.
func (rd *Reader) read() ([]string, error) {
	for {
		rd.count.n = 0
		rec, err := rd.csv.Read()
		var pe *csv.ParseError
		if errors.As(err, &pe) && errors.Is(pe.Err, ErrTooLarge) {
			return nil, fmt.Errorf("leadimport: line %d: %w: a row is longer than %d bytes (an unclosed quote?)", pe.StartLine, ErrTooLarge, rd.o.MaxRecordBytes)
		}
		if errors.Is(err, ErrTooLarge) {
			return nil, fmt.Errorf("leadimport: %w: a row is longer than %d bytes (an unclosed quote?)", ErrTooLarge, rd.o.MaxRecordBytes)
		}
		if err != nil && !errors.As(err, &pe) {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("leadimport: read: %w", err)
		}
		if err != nil {
			// With LazyQuotes and FieldsPerRecord -1 encoding/csv has no
			// parse error left to report; keep going defensively.
			continue
		}
		blank := true
		for _, f := range rec {
			if strings.TrimSpace(f) != "" {
				blank = false
				break
			}
		}
		if !blank {
			return rec, nil
		}
	}
}

// Next returns the next data row, or io.EOF after the last. Problems in a
// row are in Record.Problems; an error ends the file.
func (rd *Reader) Next() (Record, error) {
	rec, err := rd.read()
	if err != nil {
		return Record{}, err
	}
	line, _ := rd.csv.FieldPos(0)
	r := Record{Line: line, Fields: map[string]string{}}
	if len(rec) > rd.o.MaxColumns {
		r.Problems = append(r.Problems, Problem{Code: "too_many_columns", Message: "columns past " + strconv.Itoa(rd.o.MaxColumns) + " are ignored"})
		rec = rec[:rd.o.MaxColumns]
	}
	r.Raw = make([]string, len(rec))
	for i, v := range rec {
		r.Raw[i] = rd.value(&r, i, v)
	}
	switch {
	case len(rec) < len(rd.Columns):
		r.Problems = append(r.Problems, Problem{Code: "missing_columns", Message: fmt.Sprintf("has %d values for %d columns; the missing ones are empty", len(rec), len(rd.Columns))})
	case len(rec) > len(rd.Columns):
		r.Problems = append(r.Problems, Problem{Code: "extra_columns", Message: fmt.Sprintf("has %d values for %d columns; the extra ones are ignored", len(rec), len(rd.Columns))})
	}
	for i, c := range rd.Columns {
		if i >= len(rec) || c.Field == "" {
			continue
		}
		if v := strings.TrimSpace(r.Raw[i]); v != "" {
			r.Fields[c.Field] = v
		}
	}
	if full, ok := r.Fields[FieldFullName]; ok {
		delete(r.Fields, FieldFullName)
		if !rd.hasName {
			first, last, _ := strings.Cut(full, " ")
			r.Fields[FieldFirstName] = first
			if last = strings.TrimSpace(last); last != "" {
				r.Fields[FieldLastName] = last
			}
		}
	}
	if e, ok := r.Fields[FieldEmail]; ok {
		if n, p, ok := contact.Email(e); ok {
			r.Fields[FieldEmail] = n
		} else {
			r.Problems = append(r.Problems, Problem{Code: p.Code, Column: rd.header(FieldEmail), Message: p.Message})
		}
	}
	if _, ok := r.Fields[FieldEmail]; !ok {
		if r.Fields[FieldFirstName] == "" && r.Fields[FieldLastName] == "" && r.Fields[FieldLinkedInURL] == "" &&
			r.Fields[FieldPhone] == "" && r.Fields[FieldWhatsApp] == "" {
			r.Problems = append(r.Problems, Problem{Code: "no_contact", Message: "has no email, name, phone, WhatsApp number or LinkedIn URL"})
		}
	}
	return r, nil
}

// value cleans one raw value: NUL removed, invalid UTF-8 (a Latin-1 row
// in a UTF-8 file) read as Windows-1252, overlong values truncated.
func (rd *Reader) value(r *Record, i int, v string) string {
	col := ""
	if i < len(rd.Header) {
		col = rd.Header[i]
	}
	if strings.IndexByte(v, 0) >= 0 {
		v = strings.ReplaceAll(v, "\x00", "")
		r.Problems = append(r.Problems, Problem{Code: "nul_character", Column: col, Message: "NUL characters were removed"})
	}
	if !utf8.ValidString(v) {
		if s, err := charmap.Windows1252.NewDecoder().String(v); err == nil {
			v = s
		} else {
			v = strings.ToValidUTF8(v, "\uFFFD")
		}
		r.Problems = append(r.Problems, Problem{Code: "invalid_utf8", Column: col, Message: "is not UTF-8; read as Windows-1252"})
	}
	if len(v) > rd.o.MaxFieldBytes {
		cut := rd.o.MaxFieldBytes
		for cut > 0 && !utf8.RuneStart(v[cut]) {
			cut--
		}
		v = v[:cut]
		r.Problems = append(r.Problems, Problem{Code: "value_too_long", Column: col, Message: "was cut to " + strconv.Itoa(rd.o.MaxFieldBytes) + " bytes"})
	}
	return v
}

func (rd *Reader) header(field string) string {
	for _, c := range rd.Columns {
		if c.Field == field {
			return c.Header
		}
	}
	return ""
}

func newCSV(r io.Reader, delim rune) *csv.Reader {
	c := csv.NewReader(r)
	c.Comma = delim
	c.LazyQuotes = true
	c.FieldsPerRecord = -1
	c.ReuseRecord = false
	return c
}

// sniff picks the delimiter among , ; and tab: the one with which a row
// of the sample maps as a header; failing that, the one that splits the
// most rows into the same number (>1) of fields.
func sniff(sample []byte, o Options) rune {
	// Drop the last, possibly cut, line of a full sample.
	if len(sample) == sampleBytes {
		if i := bytes.LastIndexByte(sample, '\n'); i > 0 {
			sample = sample[:i+1]
		}
	}
	cands := []rune{',', ';', '\t'}
	for _, d := range cands {
		c := newCSV(bytes.NewReader(sample), d)
		for rows := 0; rows < o.MaxPreambleRows; rows++ {
			rec, err := c.Read()
			if err != nil {
				break
			}
			if len(rec) > 1 && isHeader(Map(rec, nil)) {
				return d
			}
		}
	}
	best, bestScore := ',', 0
	for _, d := range cands {
		c := newCSV(bytes.NewReader(sample), d)
		counts := map[int]int{}
		for rows := 0; rows < 200; rows++ {
			rec, err := c.Read()
			if err != nil {
				break
			}
			if len(rec) > 1 {
				counts[len(rec)]++
			}
		}
		for _, n := range counts {
			if n > bestScore {
				best, bestScore = d, n
			}
		}
	}
	return best
}

// notText says what a file looks like when it is plainly not CSV text:
// a known binary format, a JSON or XML document, or bytes with NULs.
func notText(head []byte) string {
	magic := []struct {
		prefix, what string
	}{
		{"\x89PNG", "it is a PNG image"},
		{"\xFF\xD8\xFF", "it is a JPEG image"},
		{"GIF8", "it is a GIF image"},
		{"%PDF", "it is a PDF document"},
		{"PK\x03\x04", "it is a ZIP archive (an Excel .xlsx workbook?): export the sheet as CSV"},
		{"\xD0\xCF\x11\xE0", "it is an old Office document (an Excel .xls workbook?): export the sheet as CSV"},
		{"\x1F\x8B", "it is gzip-compressed: decompress it first"},
	}
	for _, m := range magic {
		if bytes.HasPrefix(head, []byte(m.prefix)) {
			return m.what
		}
	}
	t := bytes.TrimLeft(head, " \t\r\n\uFEFF")
	switch {
	case len(t) > 0 && (t[0] == '{' || t[0] == '['):
		if bytes.ContainsAny(t[:min(len(t), 200)], ":\"") && !bytes.Contains(t[:min(len(t), 200)], []byte{'\n'}) || t[0] == '{' {
			return "it is a JSON document, not CSV"
		}
	case bytes.HasPrefix(t, []byte("<?xml")), bytes.HasPrefix(bytes.ToLower(t[:min(len(t), 15)]), []byte("<!doctype html")), bytes.HasPrefix(bytes.ToLower(t[:min(len(t), 6)]), []byte("<html")):
		return "it is an XML or HTML document, not CSV"
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return "it holds binary data (NUL bytes), not text"
	}
	return ""
}

// validUTF8Prefix reports whether b is UTF-8, allowing a rune cut by the
// end of the sample.
func validUTF8Prefix(b []byte) bool {
	for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
		if utf8.Valid(b) {
			return true
		}
		if len(b) < sampleBytes {
			return false // the whole file: no cut rune
		}
		b = b[:len(b)-1]
	}
	return utf8.Valid(b)
}

// countingReader fails once more than max bytes are read since n was
// last reset: one row can never make the reader buffer the file.
type countingReader struct {
	r   io.Reader
	n   int
	max int
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n > c.max {
		return 0, ErrTooLarge
	}
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// loneCR turns a carriage return that no line feed follows into a line
// feed: classic Mac exports ("CSV (Macintosh)" in Excel) end lines with
// CR alone, which encoding/csv would read as one endless line.
type loneCR struct{ transform.NopResetter }

// Transform implements transform.Transformer.
func (loneCR) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		c := src[nSrc]
		if c == '\r' {
			if nSrc+1 == len(src) && !atEOF {
				return nDst, nSrc, transform.ErrShortSrc
			}
			if nSrc+1 == len(src) || src[nSrc+1] != '\n' {
				c = '\n'
			}
		}
		if nDst >= len(dst) {
			return nDst, nSrc, transform.ErrShortDst
		}
		dst[nDst] = c
		nDst++
		nSrc++
	}
	return nDst, nSrc, nil
}
