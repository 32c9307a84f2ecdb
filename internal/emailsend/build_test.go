package emailsend_test

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/emailsend"
)

// newEmail is a first-step email with every optional field filled unless
// the caller changes it.
func newEmail(to string, change ...func(*emailsend.Email)) emailsend.Email {
	e := emailsend.Email{
		From:                  mail.Address{Name: "Ada Lovelace", Address: "ada@sender.test"},
		To:                    mail.Address{Name: "Grace Hopper", Address: to},
		Subject:               "Quick question about your roadmap",
		Text:                  "Hi Grace,\n\nDo you have ten minutes this week?\n\nAda\n",
		MessageID:             emailsend.NewMessageID("sender.test"),
		ListUnsubscribeURL:    "https://app.leadpilot.test/u/lp_abc123?sig=xyz",
		ListUnsubscribeMailto: "mailto:unsubscribe@sender.test?subject=unsubscribe",
		Headers:               map[string]string{"X-LeadPilot-Message-Id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"},
	}
	for _, c := range change {
		c(&e)
	}
	return e
}

func parse(t *testing.T, raw []byte) *mail.Message {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	return m
}

func decodeHeader(t *testing.T, v string) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(v)
	require.NoError(t, err)
	return s
}

// bodyParts returns the decoded body by content type (one entry for a
// single-part message).
func bodyParts(t *testing.T, m *mail.Message) (string, map[string]string) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	require.NoError(t, err)
	parts := map[string]string{}
	decode := func(r io.Reader, enc string) string {
		if strings.EqualFold(enc, "quoted-printable") {
			r = quotedprintable.NewReader(r)
		}
		b, err := io.ReadAll(r)
		require.NoError(t, err)
		return string(b)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		parts[mt] = decode(m.Body, m.Header.Get("Content-Transfer-Encoding"))
		return mt, parts
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		ct, _, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		require.NoError(t, err)
		// multipart.Reader already decodes quoted-printable parts and drops
		// the header; decode ourselves only if it is still there.
		parts[ct] = decode(p, p.Header.Get("Content-Transfer-Encoding"))
	}
	return mt, parts
}

var msgIDRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}@sender\.test$`)

func TestBuild(t *testing.T) {
	t.Parallel()

	t.Run("SetsHeadersAndThreadingExactly", func(t *testing.T) {
		t.Parallel()
		first, second := emailsend.NewMessageID("sender.test"), emailsend.NewMessageID("sender.test")
		e := newEmail("grace@example.com", func(e *emailsend.Email) {
			e.Subject = "Re: Quick question about your roadmap"
			e.InReplyTo = second
			e.References = []string{first, second}
		})
		before := time.Now().Add(-time.Second)
		raw, err := emailsend.Build(e, nil)
		require.NoError(t, err)
		require.NotContains(t, string(bytes.ReplaceAll(raw, []byte("\r\n"), nil)), "\n", "every line ends in CRLF")

		m := parse(t, raw)
		h := m.Header
		from, err := h.AddressList("From")
		require.NoError(t, err)
		require.Equal(t, []*mail.Address{{Name: "Ada Lovelace", Address: "ada@sender.test"}}, from)
		to, err := h.AddressList("To")
		require.NoError(t, err)
		require.Equal(t, []*mail.Address{{Name: "Grace Hopper", Address: "grace@example.com"}}, to)
		require.Equal(t, "Re: Quick question about your roadmap", decodeHeader(t, h.Get("Subject")))
		require.Equal(t, "<"+e.MessageID+">", h.Get("Message-Id"))
		require.Equal(t, "<"+second+">", h.Get("In-Reply-To"))
		require.Equal(t, "<"+first+"> <"+second+">", h.Get("References"))
		require.Equal(t, "<https://app.leadpilot.test/u/lp_abc123?sig=xyz>, <mailto:unsubscribe@sender.test?subject=unsubscribe>", h.Get("List-Unsubscribe"))
		require.Equal(t, "List-Unsubscribe=One-Click", h.Get("List-Unsubscribe-Post"))
		require.Equal(t, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", h.Get("X-Leadpilot-Message-Id"))
		require.Equal(t, "1.0", h.Get("Mime-Version"))
		date, err := h.Date()
		require.NoError(t, err)
		require.WithinRange(t, date, before, time.Now().Add(time.Second))
		require.Empty(t, h.Get("User-Agent"), "no library banner")
		require.Empty(t, h.Get("X-Mailer"))
		for _, k := range []string{"Message-Id", "In-Reply-To", "References", "List-Unsubscribe", "List-Unsubscribe-Post", "Date", "From", "To", "Subject"} {
			require.Len(t, h[k], 1, k)
		}

		mt, parts := bodyParts(t, m)
		require.Equal(t, "text/plain", mt)
		require.Equal(t, e.Text, strings.ReplaceAll(parts["text/plain"], "\r\n", "\n"))
	})

	t.Run("AFirstStepHasNoThreadingHeaders", func(t *testing.T) {
		t.Parallel()
		raw, err := emailsend.Build(newEmail("grace@example.com"), nil)
		require.NoError(t, err)
		h := parse(t, raw).Header
		require.NotContains(t, h, "In-Reply-To")
		require.NotContains(t, h, "References")
	})

	t.Run("UnsubscribeHeadersFollowTheLinksGiven", func(t *testing.T) {
		t.Parallel()
		raw, err := emailsend.Build(newEmail("grace@example.com", func(e *emailsend.Email) { e.ListUnsubscribeMailto = "" }), nil)
		require.NoError(t, err)
		h := parse(t, raw).Header
		require.Equal(t, "<https://app.leadpilot.test/u/lp_abc123?sig=xyz>", h.Get("List-Unsubscribe"))
		require.Equal(t, "List-Unsubscribe=One-Click", h.Get("List-Unsubscribe-Post"))

		raw, err = emailsend.Build(newEmail("grace@example.com", func(e *emailsend.Email) { e.ListUnsubscribeURL = "" }), nil)
		require.NoError(t, err)
		h = parse(t, raw).Header
		require.Equal(t, "<mailto:unsubscribe@sender.test?subject=unsubscribe>", h.Get("List-Unsubscribe"))
		require.NotContains(t, h, "List-Unsubscribe-Post", "one-click needs an https link (RFC 8058)")
	})

	t.Run("SendsTextAndHTMLAsAlternatives", func(t *testing.T) {
		t.Parallel()
		html := `<p>Hi Grace,</p><p>Do you have <b>ten minutes</b> this week? <a href="https://sender.test/cal">Book</a></p>`
		raw, err := emailsend.Build(newEmail("grace@example.com", func(e *emailsend.Email) { e.HTML = html }), nil)
		require.NoError(t, err)
		mt, parts := bodyParts(t, parse(t, raw))
		require.Equal(t, "multipart/alternative", mt)
		require.Len(t, parts, 2)
		require.Equal(t, "Hi Grace,\r\n\r\nDo you have ten minutes this week?\r\n\r\nAda\r\n", parts["text/plain"])
		require.Equal(t, html, parts["text/html"])
	})

	t.Run("EncodesNonASCIIAsSevenBit", func(t *testing.T) {
		t.Parallel()
		long := strings.Repeat("Très long paragraphe accentué, ", 10)
		e := newEmail("jose@example.com", func(e *emailsend.Email) {
			e.From.Name = "Zoë Müller-Łukasiewicz"
			e.To = mail.Address{Name: "José Ñúñez", Address: "jose@example.com"}
			e.Subject = "Grüße aus Köln — 你好 🚀"
			e.Text = "Hallo José,\n\nschöne Grüße! " + long + "\n.\nZeile mit Punkt davor.\n"
			e.HTML = "<p>Hallo José, schöne Grüße! 你好</p>"
		})
		raw, err := emailsend.Build(e, nil)
		require.NoError(t, err)
		for i, c := range raw {
			require.Less(t, c, byte(0x80), "byte %d is not 7-bit", i)
		}
		for _, line := range strings.Split(string(raw), "\r\n") {
			require.LessOrEqual(t, len(line), 998, "RFC 5322 line limit")
		}
		m := parse(t, raw)
		require.Equal(t, e.Subject, decodeHeader(t, m.Header.Get("Subject")))
		from, err := m.Header.AddressList("From")
		require.NoError(t, err)
		require.Equal(t, e.From.Name, from[0].Name)
		to, err := m.Header.AddressList("To")
		require.NoError(t, err)
		require.Equal(t, "José Ñúñez", to[0].Name)
		_, parts := bodyParts(t, m)
		require.Equal(t, e.Text, strings.ReplaceAll(parts["text/plain"], "\r\n", "\n"))
		require.Equal(t, e.HTML, parts["text/html"])
		require.Contains(t, string(raw), "Content-Transfer-Encoding: quoted-printable")
	})

	t.Run("RefusesWhatWouldBreakTheMessage", func(t *testing.T) {
		t.Parallel()
		for name, change := range map[string]func(*emailsend.Email){
			"NoMessageID":              func(e *emailsend.Email) { e.MessageID = "" },
			"MessageIDWithoutDomain":   func(e *emailsend.Email) { e.MessageID = "abc" },
			"MessageIDWithSpace":       func(e *emailsend.Email) { e.MessageID = "a b@sender.test" },
			"ReferenceWithLineBreak":   func(e *emailsend.Email) { e.References = []string{"a@b\r\nBcc: x@y"} },
			"NoRecipient":              func(e *emailsend.Email) { e.To = mail.Address{} },
			"BadRecipient":             func(e *emailsend.Email) { e.To.Address = "not an address" },
			"SubjectWithLineBreak":     func(e *emailsend.Email) { e.Subject = "Hi\r\nBcc: victim@example.com" },
			"NameWithLineBreak":        func(e *emailsend.Email) { e.From.Name = "Ada\nBcc: x@y" },
			"HeaderValueWithLineBreak": func(e *emailsend.Email) { e.Headers = map[string]string{"X-Test": "a\r\nBcc: x@y"} },
			"HeaderNameWithColon":      func(e *emailsend.Email) { e.Headers = map[string]string{"X-Te:st": "a"} },
			"HeaderReplacingFrom":      func(e *emailsend.Email) { e.Headers = map[string]string{"from": "Eve <eve@evil.test>"} },
			"NotAWebUnsubscribe":       func(e *emailsend.Email) { e.ListUnsubscribeURL = "javascript:alert(1)" },
			"MailtoWithoutScheme":      func(e *emailsend.Email) { e.ListUnsubscribeMailto = "unsubscribe@sender.test" },
		} {
			_, err := emailsend.Build(newEmail("grace@example.com", change), nil)
			require.ErrorIs(t, err, emailsend.ErrInvalidEmail, name)
		}
	})

	t.Run("NewMessageIDIsUniqueTimeOrderedAndValid", func(t *testing.T) {
		t.Parallel()
		seen := map[string]bool{}
		prev := ""
		for range 2000 {
			id := emailsend.NewMessageID("Sender.test ")
			require.Regexp(t, msgIDRe, id)
			require.False(t, seen[id])
			require.Greater(t, id, prev, "UUIDv7 ids sort by creation")
			seen[id], prev = true, id
		}
		raw, err := emailsend.Build(newEmail("grace@example.com", func(e *emailsend.Email) { e.MessageID = prev }), nil)
		require.NoError(t, err)
		require.Equal(t, "<"+prev+">", parse(t, raw).Header.Get("Message-Id"))
	})

	t.Run("DKIMSignatureVerifies", func(t *testing.T) {
		t.Parallel()
		rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		_, edKey, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		for name, key := range map[string]crypto.Signer{"RSA": rsaKey, "Ed25519": edKey} {
			e := newEmail("grace@example.com", func(e *emailsend.Email) {
				e.Subject = "Re: Grüße — a follow-up with a long subject line that has to be folded over lines"
				e.InReplyTo = emailsend.NewMessageID("sender.test")
				e.References = []string{emailsend.NewMessageID("sender.test"), e.InReplyTo}
				e.HTML = "<p>Hi</p>"
			})
			raw, err := emailsend.Build(e, &emailsend.DKIM{Domain: "sender.test", Selector: "lp1", Signer: key})
			require.NoError(t, err, name)
			verifications := verifyDKIM(t, raw, "lp1._domainkey.sender.test", key.Public())
			require.Len(t, verifications, 1, name)
			v := verifications[0]
			require.NoError(t, v.Err, name)
			require.Equal(t, "sender.test", v.Domain)
			for _, h := range []string{"From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References", "List-Unsubscribe", "List-Unsubscribe-Post"} {
				require.Contains(t, v.HeaderKeys, h, name)
			}

			// Changing a signed header breaks the signature.
			tampered := bytes.Replace(raw, []byte("List-Unsubscribe: <https://app.leadpilot.test/u/lp_abc123"), []byte("List-Unsubscribe: <https://evil.test/u/lp_abc123"), 1)
			require.NotEqual(t, raw, tampered)
			verifications = verifyDKIM(t, tampered, "lp1._domainkey.sender.test", key.Public())
			require.Error(t, verifications[0].Err, name)
		}
	})
}

// verifyDKIM checks raw's signatures against pub as if it were published
// at name (no DNS).
func verifyDKIM(t *testing.T, raw []byte, name string, pub crypto.PublicKey) []*dkim.Verification {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	k, p := "rsa", base64.StdEncoding.EncodeToString(der)
	if ed, ok := pub.(ed25519.PublicKey); ok {
		k, p = "ed25519", base64.StdEncoding.EncodeToString(ed) // RFC 8463: the raw 32-byte key
	}
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{LookupTXT: func(domain string) ([]string, error) {
		if domain != name {
			return nil, errors.New("no such record: " + domain)
		}
		return []string{"v=DKIM1; k=" + k + "; p=" + p}, nil
	}})
	require.NoError(t, err)
	return vs
}

func TestAPlainHTTPUnsubscribeLinkIsOfferedWithoutOneClick(t *testing.T) {
	e := emailsend.Email{
		From: mail.Address{Address: "sam@sender.test"}, To: mail.Address{Address: "ana@example.com"},
		Subject: "Hi", Text: "Hello", MessageID: emailsend.NewMessageID("sender.test"),
		ListUnsubscribeURL: "http://localhost:8080/u/tok", ListUnsubscribeMailto: "mailto:unsubscribe@sender.test?subject=tok",
	}
	raw, err := emailsend.Build(e, nil)
	require.NoError(t, err)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	require.Equal(t, "<http://localhost:8080/u/tok>, <mailto:unsubscribe@sender.test?subject=tok>", msg.Header.Get("List-Unsubscribe"))
	require.Empty(t, msg.Header.Get("List-Unsubscribe-Post"), "RFC 8058 one-click needs https")
}
