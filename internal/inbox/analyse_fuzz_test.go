package inbox

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzAnalyse runs the whole parsing path of ingest (MIME, auto-reply,
// bounce and complaint reports) on arbitrary bytes: it never panics, and
// what it decides is something ingest can store.
func FuzzAnalyse(f *testing.F) {
	for _, dir := range []string{"../mailparse/testdata", "../bounce/testdata"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte("From: a@b.c\r\n\r\nhello"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		a := analyse(raw)
		if k := a.kind(); !slices.Contains([]string{KindReply, KindAutoReply, KindBounce, KindComplaint}, k) {
			t.Fatalf("kind %q", k)
		}
		class, conf, reason := a.rules()
		if class != "" && (!slices.Contains(Classes, class) || conf < 0 || conf > 1 || reason == "") {
			t.Fatalf("rules: %q %v %q", class, conf, reason)
		}
		if (a.Report != nil) != (a.report != nil) {
			t.Fatal("stored report and report disagree")
		}
		for _, s := range []string{a.MessageID, a.Subject, a.Clean, a.Snippet, a.From, reason} {
			if !utf8.ValidString(s) {
				t.Fatalf("not UTF-8: %q", s)
			}
		}
		for _, c := range a.candidates() {
			if c == "" {
				t.Fatal("an empty candidate id")
			}
		}
	})
}
