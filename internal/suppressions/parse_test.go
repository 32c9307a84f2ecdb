package suppressions

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/contact"
)

// FuzzParse: the CSV reader never panics, stages each normalised value
// once, in the form contact gives it, and describes no more invalid rows
// than it counts.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"value,reason\na@example.com,bounce\n",
		"kind,value\nphone,020 7946 0958\ndomain,Example.COM\n",
		"\xef\xbb\xbfa@b.com\n\"unterminated\n",
		"+1 415 555 2671,stop_reply,extra\n,\n\n",
		"value\n\"a,b\"@example.com\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, csv string) {
		var res BulkResult
		rows, err := parse(strings.NewReader(csv), BulkOptions{Reason: DefaultReason, Region: "GB"}, &res)
		if err != nil {
			return
		}
		require.LessOrEqual(t, len(res.Errors), res.Invalid)
		require.LessOrEqual(t, len(res.Errors), MaxBulkErrors)
		seen := map[string]bool{}
		for _, r := range rows {
			k := r.kind + " " + r.value
			require.False(t, seen[k], "staged twice: %s", k)
			seen[k] = true
			again, p, ok := contact.Normalise(contact.Kind(r.kind), r.value, "")
			require.True(t, ok, "%s: %v", k, p)
			require.Equal(t, r.value, again)
			require.True(t, validReason(r.reason), r.reason)
		}
	})
}
