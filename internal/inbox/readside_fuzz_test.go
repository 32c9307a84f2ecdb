package inbox

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// FuzzThreadCursor: any text either is refused or decodes to a position
// that encodes back to a cursor decoding to the same position; a cursor
// this package made always decodes to what it was made from.
func FuzzThreadCursor(f *testing.F) {
	f.Add("", int64(0), "")
	f.Add(encodeThreadCursor(threadPosition{at: time.Date(2026, 11, 20, 9, 0, 0, 123456000, time.UTC), id: uuid.MustParse("0192f0a8-0000-7000-8000-000000000001")}), int64(1), "x")
	f.Add("dDE6MTIzOjAxOTJmMGE4LTAwMDAtNzAwMC04MDAwLTAwMDAwMDAwMDAwMQ", int64(-1), "t1:")
	f.Add("djE6MDE5MmYwYTgtMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAx", int64(1<<60), "%%%")
	f.Fuzz(func(t *testing.T, s string, micros int64, idSeed string) {
		if pos, ok := decodeThreadCursor(s); ok {
			again, ok := decodeThreadCursor(encodeThreadCursor(pos))
			if !ok || !again.at.Equal(pos.at) || again.id != pos.id {
				t.Fatalf("%q: %v does not survive a round trip (%v, %t)", s, pos, again, ok)
			}
		}
		p := threadPosition{at: time.UnixMicro(micros).UTC(), id: uuid.NewSHA1(uuid.NameSpaceURL, []byte(idSeed))}
		got, ok := decodeThreadCursor(encodeThreadCursor(p))
		if !ok || !got.at.Equal(p.at) || got.id != p.id {
			t.Fatalf("%v: decoded as %v, %t", p, got, ok)
		}
	})
}

// FuzzReplyHeaders: whatever the parent's references and id, a reply's
// References are bounded, each id once, without brackets, the first kept
// and the answered id last; its subject has one leading "Re:".
func FuzzReplyHeaders(f *testing.F) {
	f.Add("a@x.test b@x.test a@x.test", "<c@x.test>", "Re: RE: re : Hello")
	f.Add("", "", "")
	f.Add(strings.Repeat("m@x.test ", 40), "last@x.test", "Re:")
	f.Add("<a@x> <b@x>", "b@x", "Quick idea")
	f.Fuzz(func(t *testing.T, refs, id, subject string) {
		out := replyReferences(strings.Fields(refs), id)
		if len(out) > maxReplyReferences {
			t.Fatalf("%d references", len(out))
		}
		seen := map[string]bool{}
		for _, r := range out {
			if r == "" || seen[r] || strings.ContainsAny(r[:1], "<") || strings.HasSuffix(r, ">") {
				t.Fatalf("bad reference %q in %q", r, out)
			}
			seen[r] = true
		}
		if b := bareMessageID(id); b != "" && out[len(out)-1] != b && !seen[b] {
			t.Fatalf("the answered id %q is missing from %q", b, out)
		}
		first := ""
		for _, r := range append(strings.Fields(refs), id) {
			if first = bareMessageID(r); first != "" {
				break
			}
		}
		if first != "" && out[0] != first {
			t.Fatalf("the first reference %q became %q", first, out[0])
		}

		s := replySubject(&subject, nil)
		if !strings.HasPrefix(s, "Re:") {
			t.Fatalf("%q: subject %q", subject, s)
		}
		rest := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(s, "Re:")))
		if strings.HasPrefix(rest, "re:") || strings.HasPrefix(rest, "re :") {
			t.Fatalf("%q: subject %q answers twice", subject, s)
		}
		if utf8.ValidString(subject) && !utf8.ValidString(s) {
			t.Fatalf("%q: subject %q is not UTF-8", subject, s)
		}
	})
}
