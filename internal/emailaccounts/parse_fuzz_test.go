package emailaccounts_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/emailaccounts"
	"github.com/leadpilot/leadpilot/internal/fault"
)

// FuzzSandboxParse: whatever the engine hands SandboxDeliver, parsing
// either refuses it with a 422 fault or reads it without panicking, and a
// message id never keeps its angle brackets.
func FuzzSandboxParse(f *testing.F) {
	f.Add([]byte("From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\nMessage-ID: <x@y>\r\n\r\nbody\r\n"))
	f.Add([]byte("From: =?UTF-8?B?w6k=?= <a@example.com>\r\nIn-Reply-To: <p@q> <r@s>\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\ncaf\xe9\r\n--b--\r\n"))
	f.Add([]byte("From: broken\r\n\r\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		from, _, _, id, irt, _, err := emailaccounts.ParseForTest(raw)
		if err != nil {
			require.True(t, fault.IsKind(err, fault.KindInvalid), "%v", err)
			return
		}
		require.NotEmpty(t, from)
		for _, v := range []*string{id, irt} {
			if v != nil {
				require.NotEmpty(t, *v)
				require.False(t, strings.HasPrefix(*v, "<") || strings.HasSuffix(*v, ">"), *v)
			}
		}
	})
}

func TestSandboxParseReadsMultipart(t *testing.T) {
	t.Parallel()
	raw := "From: =?UTF-8?B?w6k=?= <A@Example.com>\r\nTo: b@example.com, C <c@example.com>\r\nCc: d@example.com\r\nIn-Reply-To: <p@q> <r@s>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n" +
		"--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9\r\n--b--\r\n"
	from, to, _, id, irt, text, err := emailaccounts.ParseForTest([]byte(raw))
	require.NoError(t, err)
	require.Equal(t, "a@example.com", from)
	require.Equal(t, []string{"b@example.com", "c@example.com", "d@example.com"}, to)
	require.Nil(t, id)
	require.Equal(t, "p@q", *irt)
	require.Equal(t, "café", strings.TrimSpace(text))
}
