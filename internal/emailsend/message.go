package emailsend

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/google/uuid"
	gomail "github.com/wneessen/go-mail"
)

// Email is one outreach message from one sender to one recipient.
type Email struct {
	// From and To are the header addresses; their Address is also the SMTP
	// envelope (MAIL FROM / RCPT TO). Non-ASCII display names are RFC 2047
	// encoded.
	From, To mail.Address
	// Subject may hold any Unicode text (RFC 2047 encoded when not ASCII);
	// it must not contain line breaks.
	Subject string
	// Text is the text/plain body, always present. HTML, when set, is added
	// as a text/html alternative (multipart/alternative). Both are
	// quoted-printable encoded.
	Text, HTML string
	// MessageID is our Message-ID without angle brackets, e.g.
	// "0190…@mail.example.com" (see NewMessageID). It is required and set
	// verbatim, so replies can be matched to the message.
	MessageID string
	// InReplyTo is the Message-ID (without brackets) this email answers;
	// empty on a sequence's first step.
	InReplyTo string
	// References lists the thread's Message-IDs, oldest first, without
	// brackets.
	References []string
	// ListUnsubscribeURL is the one-click unsubscribe link. When it is
	// https, List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058)
	// is added; a plain http link (a development server) is listed
	// without it.
	ListUnsubscribeURL string
	// ListUnsubscribeMailto is a "mailto:…?subject=unsubscribe" URI added to
	// List-Unsubscribe after the https link.
	ListUnsubscribeMailto string
	// Headers are extra header fields (e.g. X-LeadPilot-Message-Id). They
	// cannot replace a field Build sets itself.
	Headers map[string]string
}

// DKIM signs outgoing messages for Domain with the key published at
// Selector._domainkey.Domain. Signer is an *rsa.PrivateKey or an
// ed25519.PrivateKey.
type DKIM struct {
	Domain, Selector string
	Signer           crypto.Signer
}

// SignedHeaders are the header fields a DKIM signature covers. A field
// absent from a message (In-Reply-To on a first step) is still listed, so
// it cannot be added later without breaking the signature.
var SignedHeaders = []string{
	"From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
	"List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version", "Content-Type",
}

// ErrInvalidEmail marks an Email that Build refuses (missing addresses or
// Message-ID, line breaks in header values, an unsubscribe link that is not http(s),
// an extra header that would replace one Build sets).
var ErrInvalidEmail = errors.New("emailsend: invalid email")

// NewMessageID returns a new Message-ID (without angle brackets) for
// domain, the sender's domain: a UUIDv7 (time-ordered, 74 random bits) as
// the left part, so it is unique and an RFC 5322 dot-atom.
func NewMessageID(domain string) string {
	domain = strings.ToLower(strings.TrimSpace(domain))
	if domain == "" {
		domain = "localhost"
	}
	return uuid.Must(uuid.NewV7()).String() + "@" + domain
}

// managed are the header fields Build sets itself; Email.Headers cannot
// carry them.
var managed = func() map[string]bool {
	m := map[string]bool{}
	for _, h := range append(SignedHeaders, "Cc", "Bcc", "Reply-To", "Content-Transfer-Encoding", "DKIM-Signature", "Return-Path", "Sender") {
		m[strings.ToLower(h)] = true
	}
	return m
}()

// Build renders e as the exact bytes Pool.Send transmits: headers (Date,
// Message-ID, From, To, Subject, MIME-Version, threading, List-Unsubscribe)
// and a quoted-printable text body, or a multipart/alternative text+HTML
// body. With dkim non-nil the message is DKIM-signed over SignedHeaders.
// Lines end in CRLF. The result is not dot-stuffed (the SMTP writer does
// that). Errors wrap ErrInvalidEmail or report a signing failure.
func Build(e Email, dk *DKIM) ([]byte, error) {
	if err := validate(e); err != nil {
		return nil, err
	}
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent(), gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingQP))
	from, to := e.From, e.To
	m.FromMailAddress(&from)
	m.ToMailAddress(&to)
	m.Subject(e.Subject)
	m.SetDate()
	m.SetMessageIDWithValue(e.MessageID)
	if e.InReplyTo != "" {
		m.SetGenHeader(gomail.HeaderInReplyTo, bracket(e.InReplyTo))
	}
	if len(e.References) > 0 {
		refs := make([]string, len(e.References))
		for i, r := range e.References {
			refs[i] = bracket(r)
		}
		m.SetGenHeader(gomail.HeaderReferences, strings.Join(refs, " "))
	}
	switch {
	case e.ListUnsubscribeURL != "" && !strings.HasPrefix(strings.ToLower(e.ListUnsubscribeURL), "https://"):
		// RFC 8058 one-click needs an https link; a plain http one (a
		// development server) is still offered as a List-Unsubscribe
		// link, without List-Unsubscribe-Post.
		links := []string{"<" + e.ListUnsubscribeURL + ">"}
		if e.ListUnsubscribeMailto != "" {
			links = append(links, "<"+e.ListUnsubscribeMailto+">")
		}
		m.SetGenHeader(gomail.HeaderListUnsubscribe, strings.Join(links, ", "))
	case e.ListUnsubscribeURL != "":
		var extra []string
		if e.ListUnsubscribeMailto != "" {
			extra = append(extra, e.ListUnsubscribeMailto)
		}
		if err := m.SetListUnsubscribeOneClick(e.ListUnsubscribeURL, extra...); err != nil {
			return nil, fmt.Errorf("%w: List-Unsubscribe: %w", ErrInvalidEmail, err)
		}
	case e.ListUnsubscribeMailto != "":
		m.SetListUnsubscribe(e.ListUnsubscribeMailto) // no one-click without an https link (RFC 8058)
	}
	for k, v := range e.Headers {
		m.SetGenHeader(gomail.Header(k), v)
	}
	m.SetBodyString(gomail.TypeTextPlain, e.Text)
	if e.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, e.HTML)
	}
	var buf bytes.Buffer
	buf.Grow(len(e.Text) + len(e.HTML) + 1024)
	if _, err := m.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("emailsend: render %s: %w", e.MessageID, err)
	}
	if dk == nil {
		return buf.Bytes(), nil
	}
	var signed bytes.Buffer
	signed.Grow(buf.Len() + 600)
	err := dkim.Sign(&signed, bytes.NewReader(buf.Bytes()), &dkim.SignOptions{
		Domain: dk.Domain, Selector: dk.Selector, Signer: dk.Signer,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
		HeaderKeys: SignedHeaders,
	})
	if err != nil {
		return nil, fmt.Errorf("emailsend: dkim sign %s for %s: %w", e.MessageID, dk.Domain, err)
	}
	return signed.Bytes(), nil
}

// bracket wraps a Message-ID in angle brackets (accepting one that has them).
func bracket(id string) string {
	return "<" + strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">") + ">"
}

func validate(e Email) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidEmail}, a...)...)
	}
	for _, a := range []struct {
		field string
		addr  mail.Address
	}{{"From", e.From}, {"To", e.To}} {
		if a.addr.Address == "" {
			return bad("%s has no address", a.field)
		}
		if p, err := mail.ParseAddress(a.addr.Address); err != nil || p.Address != a.addr.Address {
			return bad("%s address %q", a.field, a.addr.Address)
		}
		if hasBreak(a.addr.Name) {
			return bad("%s name has a line break", a.field)
		}
	}
	if e.MessageID == "" {
		return bad("no Message-ID")
	}
	for _, id := range append([]string{e.MessageID, e.InReplyTo}, e.References...) {
		if id == "" {
			continue
		}
		if !validMsgID(strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")) {
			return bad("message id %q is not left@right", id)
		}
	}
	if hasBreak(e.Subject) {
		return bad("subject has a line break")
	}
	if u := e.ListUnsubscribeMailto; u != "" && (!strings.HasPrefix(strings.ToLower(u), "mailto:") || hasBreak(u) || strings.ContainsAny(u, "<> ")) {
		return bad("List-Unsubscribe mailto %q", u)
	}
	if u := e.ListUnsubscribeURL; hasBreak(u) || strings.ContainsAny(u, "<> ") ||
		(u != "" && !strings.HasPrefix(strings.ToLower(u), "https://") && !strings.HasPrefix(strings.ToLower(u), "http://")) {
		return bad("List-Unsubscribe URL %q", u)
	}
	for k, v := range e.Headers {
		if !validFieldName(k) {
			return bad("header name %q", k)
		}
		if managed[strings.ToLower(k)] {
			return bad("header %s is set by Build", k)
		}
		if hasBreak(v) {
			return bad("header %s has a line break", k)
		}
	}
	return nil
}

func hasBreak(s string) bool { return strings.ContainsAny(s, "\r\n\x00") }

// validMsgID accepts id-left "@" id-right made of printable ASCII without
// spaces, brackets or a second "@" (RFC 5322 msg-id, dot-atom forms).
func validMsgID(id string) bool {
	left, right, ok := strings.Cut(id, "@")
	if !ok || left == "" || right == "" || strings.Contains(right, "@") {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`<>()[]\",;:`, c) >= 0 {
			return false
		}
	}
	return true
}

// validFieldName: RFC 5322 field names are printable ASCII except ":".
func validFieldName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] >= 0x7f || k[i] == ':' {
			return false
		}
	}
	return true
}
