package emailsend

import (
	"errors"
	"net/textproto"
	"regexp"
	"strings"
)

// Outcome is what became of one email (see the package doc for what the
// engine may do with each). The zero value is not an outcome.
type Outcome int

const (
	// Sent: the server accepted the message (250 after the final ".").
	Sent Outcome = iota + 1
	// Transient: refused with a 4xx or not attempted; nothing was accepted
	// and a later retry is safe.
	Transient
	// Permanent: refused with a 5xx (a bounce or a policy rejection), or the
	// email could not be built. Do not retry.
	Permanent
	// Uncertain: the connection was lost, or the reply timed out, after the
	// final "." of DATA was written. The server may have accepted the
	// message; it must never be retried.
	Uncertain
)

// String returns "sent", "transient", "permanent" or "uncertain".
func (o Outcome) String() string {
	switch o {
	case Sent:
		return "sent"
	case Transient:
		return "transient"
	case Permanent:
		return "permanent"
	case Uncertain:
		return "uncertain"
	}
	return "unknown"
}

// Result is the outcome of one email of a batch.
type Result struct {
	Outcome Outcome
	// Code is the server's reply code (250, 421, 550, 535…), 0 when no reply
	// came (connection failure, timeout, invalid email).
	Code int
	// Enhanced is the RFC 3463 enhanced status code at the start of the
	// reply text ("5.1.1"), when the server sent one.
	Enhanced string
	// Message is the server's reply text (after the enhanced code).
	Message string
	// ProviderID is the server's queue id from the 250 reply ("queued as
	// 4Bx…", "id=…", Gmail's "… - gsmtp" token), when one is recognised.
	ProviderID string
	// Err explains a non-Sent outcome; it wraps ErrConnect, ErrAuth,
	// ErrInvalidEmail, a context error, or the *textproto.Error of the reply.
	Err error
}

// ErrConnect marks a batch that could not reach a usable SMTP session
// (dial, greeting, EHLO, STARTTLS refused or unavailable, TLS handshake).
// Every email of it is Transient.
var ErrConnect = errors.New("emailsend: cannot connect to the SMTP server")

// ErrAuth marks a batch whose account could not authenticate (bad
// credentials, no usable mechanism, token source failed). Every email of
// it is Transient: the account, not the recipients, needs attention.
var ErrAuth = errors.New("emailsend: SMTP authentication failed")

var enhancedRe = regexp.MustCompile(`^([245]\.\d{1,3}\.\d{1,3})\s*`)

// splitEnhanced splits "5.1.1 User unknown" into its enhanced code and text.
func splitEnhanced(msg string) (enhanced, text string) {
	msg = strings.TrimSpace(msg)
	if m := enhancedRe.FindStringSubmatch(msg); m != nil {
		return m[1], msg[len(m[0]):]
	}
	return "", msg
}

// replyResult classifies a refusal reply from the server.
func replyResult(err *textproto.Error) Result {
	enh, text := splitEnhanced(err.Msg)
	r := Result{Code: err.Code, Enhanced: enh, Message: text, Err: err}
	switch {
	case err.Code >= 500:
		r.Outcome = Permanent
	default:
		// 4xx, and anything unexpected (a 3xx or 2xx where another code was
		// due): nothing was accepted, so a retry is safe.
		r.Outcome = Transient
	}
	return r
}

var providerIDRes = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\bqueued as\s+<?([^\s<>;,]+)`),   // Postfix, many relays
	regexp.MustCompile(`(?i)\bid=<?([^\s<>;,]+)`),            // Exim, SES-style
	regexp.MustCompile(`(?i)\bOK\s+\d+\s+(\S+)\s+-\s+gsmtp`), // Gmail
	regexp.MustCompile(`(?i)^OK\s+<([^\s<>]+)>`),             // Microsoft 365 ("OK <id> [Hostname=…]")
}

// providerID picks the queue id out of a 250 reply text, or "".
func providerID(text string) string {
	for _, re := range providerIDRes {
		if m := re.FindStringSubmatch(text); m != nil {
			return m[1]
		}
	}
	return ""
}
