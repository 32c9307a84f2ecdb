package mailparse

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: Parse never panics (nor recovers from a panic of its own or
// of a library), and what it returns keeps the promises
// of requireInvariants: every string valid UTF-8, addresses lower-cased,
// Snippet at most SnippetRunes runes, no out-of-office that is not an
// auto-reply or that is a report, and Clean made of Text's lines in
// order (quoted lines between them removed).
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil || len(files) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: multipart/alternative; boundary=x\r\n\r\n--x--"))
	f.Add([]byte("Subject: =?utf-8?B?4pyF?= =?iso-8859-1?Q?=E9?=\r\nFrom: \"a\" <A@B>, , <c@d\r\n\r\n> q\r\nOn x\r\nwrote:\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(raw)
		if pe := (*panicError)(nil); errors.As(err, &pe) {
			t.Fatalf("Parse panicked: %v", pe.v)
		}
		if err != nil {
			if m != nil {
				t.Fatal("a message with an error")
			}
			return
		}
		requireInvariants(t, m)
		_ = m.Header("Subject")
		for _, v := range m.HeaderValues("Received") {
			_ = v
		}
	})
}

// BenchmarkParse parses every fixture once per iteration and reports
// messages per second.
func BenchmarkParse(b *testing.B) {
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil || len(files) == 0 {
		b.Fatalf("no fixtures: %v", err)
	}
	msgs := make([][]byte, len(files))
	var total int64
	for i, name := range files {
		if msgs[i], err = os.ReadFile(name); err != nil {
			b.Fatal(err)
		}
		total += int64(len(msgs[i]))
	}
	b.SetBytes(total / int64(len(msgs)))
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		if _, err := Parse(msgs[n%len(msgs)]); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}
