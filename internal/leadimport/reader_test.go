package leadimport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/require"
)

func open(t *testing.T, name string, o Options) *Reader {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	r, err := Open(f, o)
	require.NoError(t, err)
	return r
}

func all(t *testing.T, r *Reader) []Record {
	t.Helper()
	var out []Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		out = append(out, rec)
	}
}

func mapping(r *Reader) map[string]string {
	m := map[string]string{}
	for _, c := range r.Columns {
		m[c.Header] = c.Field
	}
	return m
}

func codes(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Code)
	}
	return out
}

func TestFixturesMapWithoutManualMapping(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file, encoding string
		delim          rune
		headerLine     int
		want           map[string]string // every column of the file
		records        int
	}{
		{
			file: "linkedin_connections.csv", encoding: EncodingUTF8, delim: ',', headerLine: 4, records: 3,
			want: map[string]string{
				"First Name": "first_name", "Last Name": "last_name", "URL": "linkedin_url", "Email Address": "email",
				"Company": "company", "Position": "job_title", "Connected On": "custom.connected_on",
			},
		},
		{
			file: "apollo.csv", encoding: EncodingUTF8, delim: ',', headerLine: 1, records: 2,
			want: map[string]string{
				"First Name": "first_name", "Last Name": "last_name", "Title": "job_title", "Company": "company",
				"Company Name for Emails": "custom.company_name_for_emails", "Email": "email", "Email Status": "custom.email_status",
				"Seniority": "custom.seniority", "Departments": "custom.departments", "Work Direct Phone": "phone",
				"Home Phone": "custom.home_phone", "Mobile Phone": "custom.mobile_phone", "Corporate Phone": "custom.corporate_phone",
				"Other Phone": "custom.other_phone", "Stage": "custom.stage", "Lists": "custom.lists", "Last Contacted": "custom.last_contacted",
				"Account Owner": "custom.account_owner", "# Employees": "custom.company_size", "Industry": "custom.industry",
				"Keywords": "custom.keywords", "Person Linkedin Url": "linkedin_url", "Website": "website",
				"Company Linkedin Url": "custom.company_linkedin_url", "Facebook Url": "custom.facebook_url", "Twitter Url": "custom.twitter_url",
				"City": "city", "State": "state", "Country": "country", "Company Address": "custom.company_address",
				"Company City": "custom.company_city", "Company State": "custom.company_state", "Company Country": "custom.company_country",
				"Company Phone": "custom.company_phone", "SEO Description": "custom.seo_description", "Technologies": "custom.technologies",
				"Annual Revenue": "custom.annual_revenue", "Total Funding": "custom.total_funding", "Latest Funding": "custom.latest_funding",
				"Latest Funding Amount": "custom.latest_funding_amount", "Last Raised At": "custom.last_raised_at", "Email Sent": "custom.email_sent",
				"Email Open": "custom.email_open", "Email Bounced": "custom.email_bounced", "Replied": "custom.replied", "Demoed": "custom.demoed",
				"Number of Retail Locations": "custom.number_of_retail_locations", "Apollo Contact Id": "custom.apollo_contact_id",
				"Apollo Account Id": "custom.apollo_account_id",
			},
		},
		{
			file: "sales_navigator.csv", encoding: EncodingUTF8, delim: ',', headerLine: 1, records: 1,
			want: map[string]string{
				"First Name": "first_name", "Last Name": "last_name", "Full Name": "full_name", "Job Title": "job_title",
				"Company Name": "company", "Location": "custom.location", "Profile URL": "linkedin_url",
				"Sales Navigator Profile URL": "custom.sales_navigator_url", "Company LinkedIn URL": "custom.company_linkedin_url",
				"Company Website": "website", "Industry": "custom.industry", "Company Size": "custom.company_size",
				"Connection Degree": "custom.connection_degree", "Email": "email",
			},
		},
		{
			file: "hubspot.csv", encoding: EncodingUTF8, delim: ',', headerLine: 1, records: 2,
			want: map[string]string{
				"Record ID": "custom.record_id", "First Name": "first_name", "Last Name": "last_name", "Email": "email",
				"Phone Number": "phone", "Company Name": "company", "Job Title": "job_title", "Website URL": "website",
				"City": "city", "State/Region": "state", "Country/Region": "country", "Lifecycle Stage": "custom.lifecycle_stage",
				"Contact owner": "custom.contact_owner", "Create Date": "custom.create_date",
			},
		},
		{
			file: "semicolon_latin1.csv", encoding: EncodingWindows1252, delim: ';', headerLine: 1, records: 1,
			want: map[string]string{
				"Prénom": "first_name", "Nom": "last_name", "Société": "custom.societe", "E-mail": "email",
				"Téléphone": "phone", "Ville": "city",
			},
		},
	}
	for _, c := range cases {
		t.Run(c.file+" maps every column", func(t *testing.T) {
			t.Parallel()
			r := open(t, c.file, Options{})
			require.Equal(t, c.encoding, r.Encoding)
			require.Equal(t, c.delim, r.Delimiter)
			require.Equal(t, c.headerLine, r.HeaderLine)
			require.Equal(t, c.want, mapping(r))
			for _, col := range r.Columns {
				require.NotEqual(t, "override", col.Source)
			}
			require.Len(t, all(t, r), c.records)
		})
	}
}

func TestRecords(t *testing.T) {
	t.Parallel()

	t.Run("LinkedIn rows keep quoted commas and escaped quotes, and an empty email is no problem when the name is there", func(t *testing.T) {
		t.Parallel()
		recs := all(t, open(t, "linkedin_connections.csv", Options{}))
		require.Equal(t, 5, recs[0].Line)
		require.Equal(t, map[string]string{
			"first_name": "Amélie", "last_name": "Durand", "linkedin_url": "https://www.linkedin.com/in/ameliedurand",
			"email": "amelie.durand@example.fr", "company": "Acme, SAS", "job_title": "Head of Growth", "custom.connected_on": "12 Nov 2026",
		}, recs[0].Fields)
		require.NotContains(t, recs[1].Fields, "email")
		require.Empty(t, recs[1].Problems)
		require.Equal(t, `Director, "Revenue" Ops`, recs[2].Fields["job_title"])
	})

	t.Run("a Latin-1 file is decoded", func(t *testing.T) {
		t.Parallel()
		recs := all(t, open(t, "semicolon_latin1.csv", Options{}))
		require.Equal(t, "François", recs[0].Fields["first_name"])
		require.Equal(t, "Crème Brûlée SARL", recs[0].Fields["custom.societe"])
		require.Equal(t, "Besançon", recs[0].Fields["city"])
	})

	t.Run("quoted fields may hold newlines and line numbers count them", func(t *testing.T) {
		t.Parallel()
		r := open(t, "quoted_newlines.csv", Options{})
		recs := all(t, r)
		require.Len(t, recs, 2)
		require.Equal(t, "first line\nsecond line, with comma\n\"quoted\"", recs[0].Fields["custom.notes"])
		require.Equal(t, "Jo", recs[0].Fields["first_name"])
		require.Equal(t, "Line", recs[0].Fields["last_name"])
		require.Equal(t, 2, recs[0].Line)
		require.Equal(t, 5, recs[1].Line)
	})

	t.Run("Google Contacts: a multi-line note and the labelled value columns", func(t *testing.T) {
		t.Parallel()
		r := open(t, "google_contacts.csv", Options{})
		recs := all(t, r)
		require.Len(t, recs, 1)
		require.Equal(t, map[string]string{
			"first_name": "Lena", "last_name": "Schmidt", "company": "Beispiel GmbH", "job_title": "Einkauf",
			"email": "lena.schmidt@beispiel.example", "phone": "+49 30 5555 0100", "city": "Berlin", "state": "Berlin", "country": "Germany",
		}, pick(recs[0].Fields, LeadFields))
		require.Equal(t, "met at trade fair\nbooth 4", recs[0].Fields["custom.notes"])
	})

	t.Run("Outlook: the first e-mail is the email, the second is kept", func(t *testing.T) {
		t.Parallel()
		r := open(t, "outlook.csv", Options{})
		m := mapping(r)
		require.Equal(t, "email", m["E-mail Address"])
		require.Equal(t, "custom.e_mail_2_address", m["E-mail 2 Address"])
		require.Equal(t, "phone", m["Business Phone"])
		require.Equal(t, "job_title", m["Job Title"])
		require.Equal(t, "website", m["Web Page"])
		require.Equal(t, "country", m["Business Country/Region"])
		recs := all(t, r)
		require.Equal(t, map[string]string{
			"first_name": "Paul", "last_name": "Martin", "email": "paul.martin@example.co.uk", "phone": "+44 20 7946 0958",
			"job_title": "Sales Director", "company": "Martin & Co", "city": "London", "country": "United Kingdom", "website": "https://martin.example",
		}, pick(recs[0].Fields, LeadFields))
	})

	t.Run("ragged rows, blank lines and bad values are problems of their rows, not of the file", func(t *testing.T) {
		t.Parallel()
		recs := all(t, open(t, "ragged.csv", Options{}))
		require.Len(t, recs, 3)
		require.Equal(t, 3, recs[0].Line)
		require.Equal(t, []string{"missing_columns"}, codes(recs[0].Problems))
		require.Equal(t, map[string]string{"email": "a@example.com", "first_name": "Ann"}, recs[0].Fields)
		require.Equal(t, []string{"extra_columns"}, codes(recs[1].Problems))
		require.Equal(t, []string{"b@example.com", "Bob", "Brown", "Acme", "extra1", "extra2"}, recs[1].Raw)
		require.Equal(t, 7, recs[2].Line)
		require.Equal(t, []string{"invalid_email"}, codes(recs[2].Problems))
	})

	t.Run("a UTF-16LE file with a BOM is decoded", func(t *testing.T) {
		t.Parallel()
		r, err := Open(bytes.NewReader(utf16le("E-mail Address\tFirst Name\tCompany\r\nzoë@example.com\tZoë\tÜber AG\r\n")), Options{})
		require.NoError(t, err)
		require.Equal(t, EncodingUTF16LE, r.Encoding)
		require.Equal(t, '\t', r.Delimiter)
		recs := all(t, r)
		require.Len(t, recs, 1)
		require.Equal(t, "Zoë", recs[0].Fields["first_name"])
		require.Equal(t, "Über AG", recs[0].Fields["company"])
	})

	t.Run("a Latin-1 row deep in a UTF-8 file is read as Windows-1252 and reported", func(t *testing.T) {
		t.Parallel()
		var b strings.Builder
		b.WriteString("email,city\n")
		for b.Len() < 2*sampleBytes {
			b.WriteString("a@example.com,Zürich\n")
		}
		b.WriteString("b@example.com,Z\xfcrich\n")
		r, err := Open(strings.NewReader(b.String()), Options{})
		require.NoError(t, err)
		require.Equal(t, EncodingUTF8, r.Encoding)
		recs := all(t, r)
		last := recs[len(recs)-1]
		require.Equal(t, "Zürich", last.Fields["city"])
		require.Equal(t, []string{"invalid_utf8"}, codes(last.Problems))
		require.Empty(t, recs[0].Problems)
	})

	t.Run("a Sales Navigator export keeps the profile and the full name splits only without first and last names", func(t *testing.T) {
		t.Parallel()
		recs := all(t, open(t, "sales_navigator.csv", Options{}))
		require.Equal(t, map[string]string{
			"first_name": "Sofia", "last_name": "Rossi", "job_title": "Head of Partnerships", "company": "Fabbrica SpA",
			"linkedin_url": "https://www.linkedin.com/in/sofiarossi", "website": "https://fabbrica.example", "email": "sofia.rossi@fabbrica.example",
		}, pick(recs[0].Fields, LeadFields))
		require.Equal(t, "Milan, Lombardy, Italy", recs[0].Fields["custom.location"])
	})

	t.Run("lines ended by a carriage return alone (old Mac exports) are lines", func(t *testing.T) {
		t.Parallel()
		r, err := Open(strings.NewReader("Email;Name\rx@example.com;X Y\r\ry@example.com;\"Multi\rline\"\r"), Options{})
		require.NoError(t, err)
		require.Equal(t, ';', r.Delimiter)
		recs := all(t, r)
		require.Len(t, recs, 2)
		require.Equal(t, 2, recs[0].Line)
		require.Equal(t, 4, recs[1].Line)
		require.Equal(t, "Multi\nline", recs[1].Raw[1])
		r, err = Open(strings.NewReader("Email\r\nx@example.com\r\n"), Options{})
		require.NoError(t, err)
		require.Equal(t, []string{"x@example.com"}, all(t, r)[0].Raw)
	})

	t.Run("a UTF-8 BOM is dropped from the first header", func(t *testing.T) {
		t.Parallel()
		r, err := Open(strings.NewReader("\uFEFFEmail;Name\nx@example.com;X Y\n"), Options{})
		require.NoError(t, err)
		require.Equal(t, EncodingUTF8BOM, r.Encoding)
		require.Equal(t, []string{"Email", "Name"}, r.Header)
		require.Equal(t, "email", r.Columns[0].Field)
	})

	t.Run("overrides map, rename and skip columns, and name the header row", func(t *testing.T) {
		t.Parallel()
		in := "Contact Mail,Firm,Tel,Junk\nz@example.com,Zed Ltd,+44 20 7946 0958,x\n"
		_, err := Open(strings.NewReader(in), Options{})
		require.ErrorIs(t, err, ErrNotCSV)
		r, err := Open(strings.NewReader(in), Options{Mapping: map[string]string{"contact mail": "email", "FIRM": "company", "Junk": "skip"}})
		require.NoError(t, err)
		require.Equal(t, []Column{
			{Index: 0, Header: "Contact Mail", Field: "email", Source: "override"},
			{Index: 1, Header: "Firm", Field: "company", Source: "override"},
			{Index: 2, Header: "Tel", Field: "phone", Source: "auto"},
			{Index: 3, Header: "Junk", Source: "override"},
		}, r.Columns)
		recs := all(t, r)
		require.Equal(t, map[string]string{"email": "z@example.com", "company": "Zed Ltd", "phone": "+44 20 7946 0958"}, recs[0].Fields)
	})

	t.Run("an override taking a field leaves the automatic column to custom fields", func(t *testing.T) {
		t.Parallel()
		cols := Map([]string{"Email", "Work Mail"}, map[string]string{"Work Mail": "email"})
		require.Equal(t, "custom.email", cols[0].Field)
		require.Equal(t, "email", cols[1].Field)
	})
}

func pick(m map[string]string, keys []string) map[string]string {
	out := map[string]string{}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

func utf16le(s string) []byte {
	b := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

func TestNotCSV(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"not_csv.png":  "PNG image",
		"not_csv.json": "JSON document",
	}
	for file, want := range cases {
		t.Run(file+" fails with a message saying what it is", func(t *testing.T) {
			t.Parallel()
			f, err := os.Open(filepath.Join("testdata", file))
			require.NoError(t, err)
			defer f.Close()
			_, err = Open(f, Options{})
			require.ErrorIs(t, err, ErrNotCSV)
			require.Contains(t, err.Error(), want)
		})
	}
	t.Run("prose without a header row fails clearly", func(t *testing.T) {
		t.Parallel()
		_, err := Open(strings.NewReader("Dear team,\nhere are the leads we talked about.\nBest, Jo\n"), Options{})
		require.ErrorIs(t, err, ErrNotCSV)
		require.Contains(t, err.Error(), "no header row")
	})
	t.Run("a list of names and phone or WhatsApp numbers has a header", func(t *testing.T) {
		t.Parallel()
		rd, err := Open(strings.NewReader("Exported for SMS\nName,Mobile,WhatsApp,TZ\nAnn Lee,,+447911123456,Europe/London\n,,+447911123457,\n"), Options{})
		require.NoError(t, err)
		require.Equal(t, 2, rd.HeaderLine)
		require.Equal(t, map[string]string{"Name": FieldFullName, "Mobile": FieldPhone, "WhatsApp": FieldWhatsApp, "TZ": FieldTimezone}, mapping(rd))
		recs := all(t, rd)
		require.Len(t, recs, 2)
		require.Equal(t, "Europe/London", recs[0].Fields[FieldTimezone])
		require.Empty(t, codes(recs[1].Problems), "a WhatsApp number alone is a contact")
	})
	t.Run("an empty file fails clearly", func(t *testing.T) {
		t.Parallel()
		_, err := Open(strings.NewReader("\n\n  \n"), Options{})
		require.ErrorIs(t, err, ErrNotCSV)
		require.Contains(t, err.Error(), "empty")
	})
	t.Run("an xlsx workbook is told to be exported", func(t *testing.T) {
		t.Parallel()
		_, err := Open(strings.NewReader("PK\x03\x04\x14\x00rest"), Options{})
		require.ErrorIs(t, err, ErrNotCSV)
		require.Contains(t, err.Error(), "xlsx")
	})
}

func TestLimits(t *testing.T) {
	t.Parallel()
	t.Run("a long value is cut and reported", func(t *testing.T) {
		t.Parallel()
		r, err := Open(strings.NewReader("email,notes\na@example.com,"+strings.Repeat("é", 100)+"\n"), Options{MaxFieldBytes: 51})
		require.NoError(t, err)
		recs := all(t, r)
		require.Equal(t, strings.Repeat("é", 25), recs[0].Fields["custom.notes"])
		require.Equal(t, []string{"value_too_long"}, codes(recs[0].Problems))
	})
	t.Run("an unclosed quote ends the file with ErrTooLarge instead of buffering it", func(t *testing.T) {
		t.Parallel()
		in := "email,notes\na@example.com,\"open quote\n" + strings.Repeat("b@example.com,more\n", 10000)
		r, err := Open(strings.NewReader(in), Options{MaxRecordBytes: 4096})
		require.NoError(t, err)
		_, err = r.Next()
		require.ErrorIs(t, err, ErrTooLarge)
	})
}

// rowSource generates a CSV of n rows lazily: nothing of it exists in
// memory beyond the current row.
type rowSource struct {
	n, i int
	buf  []byte
}

func (s *rowSource) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		if s.i > s.n {
			return 0, io.EOF
		}
		if s.i == 0 {
			s.buf = []byte("First Name,Last Name,Email,Company,Notes\n")
		} else {
			s.buf = fmt.Appendf(s.buf[:0], "First%d,Last%d,lead%d@example.com,Company %d,\"a note, with a comma\"\n", s.i, s.i, s.i, s.i%97)
		}
		s.i++
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

func TestStreamsWithoutBuffering(t *testing.T) {
	t.Parallel()
	const rows = 100_000 // about 8 MB of CSV
	var before, peak runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r, err := Open(&rowSource{n: rows}, Options{})
	require.NoError(t, err)
	n, last := 0, 0
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		require.Greater(t, rec.Line, last)
		last = rec.Line
		n++
		if n%20_000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&peak)
			// Live heap after GC: a reader that kept rows would hold megabytes
			// (and other parallel tests share the heap, so the bound is generous).
			require.Less(t, int64(peak.HeapAlloc)-int64(before.HeapAlloc), int64(4<<20), "row %d", n)
		}
	}
	require.Equal(t, rows, n)
	require.Equal(t, rows+1, last)
}

func FuzzRead(f *testing.F) {
	for _, name := range []string{"linkedin_connections.csv", "apollo.csv", "semicolon_latin1.csv", "quoted_newlines.csv", "ragged.csv", "not_csv.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add(utf16le("email\tname\r\na@b.co\tA B\r\n"))
	f.Add([]byte("email\n\"unclosed\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		o := Options{MaxFieldBytes: 256, MaxRecordBytes: 4096, MaxColumns: 20}
		r, err := Open(bytes.NewReader(b), o)
		if err != nil {
			return
		}
		last := r.HeaderLine
		for {
			rec, err := r.Next()
			if err != nil {
				return
			}
			if rec.Line <= last {
				t.Fatalf("line %d after %d", rec.Line, last)
			}
			last = rec.Line
			if len(rec.Raw) > o.MaxColumns {
				t.Fatalf("%d columns", len(rec.Raw))
			}
			for k, v := range rec.Fields {
				if len(v) > o.MaxFieldBytes+8 || strings.IndexByte(v, 0) >= 0 || !utf8Valid(v) {
					t.Fatalf("field %s = %q", k, v)
				}
			}
		}
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
