// Package mailer sends the platform's own transactional mail (invites,
// email verification, password reset) — not the outreach that
// organisations send from their own mailboxes. Two implementations satisfy
// the one port: SMTP to the relay in SYSTEM_SMTP_URL, and in development a
// Catcher that keeps the last messages in memory and logs their links.
package mailer

import (
	"context"
	"regexp"
)

// Message is one transactional email to one recipient.
type Message struct {
	To      string // a bare address
	Subject string
	Text    string // the plain-text body; always present
	HTML    string // optional HTML alternative
}

// Mailer sends a message or says why it could not.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

var linkPattern = regexp.MustCompile(`https?://[^\s<>"]+`)

// Links returns the URLs in a plain-text body, in order.
func Links(text string) []string { return linkPattern.FindAllString(text, -1) }
