package bounce

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-message"
)

func FuzzDetect(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		f.Add(readFixture(f, filepath.Base(name)))
	}
	f.Add([]byte("From: MAILER-DAEMON@x\r\nSubject: Undelivered\r\n\r\n<a@b.c>: 550 5.1.1 no"))
	f.Add([]byte("Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822; A@B.C\nAction: failed\n--b--"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		rep := Detect(raw) // must not panic
		if rep == nil {
			return
		}
		switch rep.Kind {
		case KindBounce, KindDelay, KindComplaint:
		default:
			t.Fatalf("kind %q", rep.Kind)
		}
		if rep.Format == "" {
			t.Fatal("empty format")
		}
		for _, rc := range rep.Recipients {
			if rc.Address == "" || rc.Address != strings.ToLower(rc.Address) {
				t.Fatalf("address %q is not lower-case", rc.Address)
			}
			if len(rc.Diagnostic) > maxDiagnostic {
				t.Fatalf("diagnostic of %d bytes", len(rc.Diagnostic))
			}
			if rc.Hard && (strings.HasPrefix(rc.Status, "4.") || rc.Action == "delayed") {
				t.Fatalf("hard with status %s action %s", rc.Status, rc.Action)
			}
		}
		if strings.ContainsAny(rep.OriginalMessageID, "<> \t\r\n") {
			t.Fatalf("message id %q", rep.OriginalMessageID)
		}
		// Same input, same answer.
		again := Detect(bytes.Clone(raw))
		if again == nil || again.Kind != rep.Kind || len(again.Recipients) != len(rep.Recipients) {
			t.Fatal("Detect is not deterministic")
		}
	})
}

// FuzzQuickCandidate checks that the allocation-free pre-filter never
// rejects a message the full envelope check would accept.
func FuzzQuickCandidate(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		f.Add(readFixture(f, filepath.Base(name)))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if quickCandidate(raw) {
			return
		}
		ent, _ := message.Read(bytes.NewReader(raw))
		if ent == nil {
			return
		}
		if readEnvelope(ent.Header).candidate() {
			t.Fatal("quickCandidate rejected a candidate")
		}
	})
}
