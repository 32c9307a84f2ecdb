package sending

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/leadpilot/leadpilot/internal/emailsend"
)

// EmailTransport is how an email account sends: over SMTP, or into the
// sandbox mailbox.
type EmailTransport struct {
	Sandbox bool
	SMTP    emailsend.Account
	DKIM    *emailsend.DKIM
}

// EmailTransports returns account's transport (credentials decrypted,
// an OAuth token source that refreshes); the email accounts service is
// one.
type EmailTransports interface {
	EmailTransport(ctx context.Context, org, account uuid.UUID) (EmailTransport, error)
	// SandboxDeliver stores raw, as sent, in the sandbox mailbox of
	// account.
	SandboxDeliver(ctx context.Context, org, account uuid.UUID, raw []byte) error
}

// EmailChannel is the email adapter of the engine: emailsend over kept-open
// SMTP connections per account, or the sandbox mailbox.
type EmailChannel struct {
	Pool       *emailsend.Pool
	Transports EmailTransports
}

// Send implements Channel.
func (c EmailChannel) Send(ctx context.Context, org, account uuid.UUID, msgs []Outgoing) []Outcome {
	out := make([]Outcome, len(msgs))
	tr, err := c.Transports.EmailTransport(ctx, org, account)
	if err != nil {
		for i := range out {
			out[i] = Outcome{Result: Transient, Error: "the account cannot send: " + err.Error(), AccountError: true}
		}
		return out
	}
	emails := make([]emailsend.Email, len(msgs))
	for i, m := range msgs {
		emails[i] = emailsend.Email{
			From: m.From, To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML,
			MessageID: m.MessageID, InReplyTo: m.InReplyTo, References: m.References,
			ListUnsubscribeURL: m.UnsubscribeURL, ListUnsubscribeMailto: m.UnsubscribeMailto,
			Headers: map[string]string{"X-LeadPilot-Message-Id": m.ID.String()},
		}
	}
	if tr.Sandbox {
		for i, e := range emails {
			raw, err := emailsend.Build(e, tr.DKIM)
			if err != nil {
				out[i] = Outcome{Result: Permanent, Error: err.Error()}
				continue
			}
			if err := c.Transports.SandboxDeliver(ctx, org, account, raw); err != nil {
				out[i] = Outcome{Result: Transient, Error: "sandbox: " + err.Error()}
				continue
			}
			out[i] = Outcome{Result: Sent, ProviderID: "sandbox"}
		}
		return out
	}
	tr.SMTP.ID = account
	for i, r := range c.Pool.Send(ctx, tr.SMTP, emails, tr.DKIM) {
		out[i] = outcomeOf(r)
	}
	return out
}

func outcomeOf(r emailsend.Result) Outcome {
	o := Outcome{ProviderID: r.ProviderID}
	if r.Err != nil {
		o.Error = r.Err.Error()
		if r.Code != 0 {
			o.Error = fmt.Sprintf("%d %s", r.Code, r.Message)
		}
	}
	switch r.Outcome {
	case emailsend.Sent:
		o.Result = Sent
	case emailsend.Permanent:
		o.Result = Permanent
	case emailsend.Uncertain:
		o.Result = Uncertain
	default:
		o.Result = Transient
		o.AccountError = errors.Is(r.Err, emailsend.ErrConnect) || errors.Is(r.Err, emailsend.ErrAuth)
	}
	return o
}
