// Package emailsend is the outreach email adapter: it turns an Email into
// the exact MIME bytes that go on the wire (Build) and delivers batches of
// them for one sending account over kept-open SMTP connections (Pool.Send),
// reporting one Result per email.
//
// # What the sending engine relies on
//
// Every Result says whether the email may be tried again:
//
//   - Sent: the server answered 250 to the end of DATA.
//   - Transient: refused with a 4xx, or not attempted (dial, TLS or
//     authentication failure, a connection lost before the final "." of
//     DATA, a cancelled context). Nothing was accepted; retry later.
//   - Permanent: refused with a 5xx (or the email could not be built). Do
//     not retry; a 5xx on RCPT or DATA is a bounce.
//   - Uncertain: the final "." of DATA went out and the reply never came
//     (connection lost, timeout, cancelled context). The server may have
//     accepted the message: it must never be sent again.
//
// Account-level failures (cannot connect, STARTTLS missing, bad credentials)
// are Transient for every email not yet sent and their Err wraps ErrConnect
// or ErrAuth, so the engine can pause the account rather than bounce leads.
//
// # Decisions
//
// MIME: github.com/wneessen/go-mail's Msg builds the message (RFC 2047
// encoded words for non-ASCII subjects and display names, quoted-printable
// bodies, multipart/alternative for text+HTML, its RFC 8058 one-click
// helper). Build renders it once; those bytes are what the pool sends, so
// the sandbox and the tests see exactly what a server sees.
//
// SMTP: the send loop runs over go-mail's smtp package (its fork of
// net/smtp: Hello, StartTLS, Auth, Mail, Rcpt, Data, Reset, Noop) rather
// than go-mail's Client.Send. Client.Send hides which step failed behind one
// SendError per message, issues a NOOP per call, resets after a delivered
// message and reports that reset's failure as a send error, and with a
// custom dialer it does not wrap implicit TLS itself. Driving the primitives
// directly lets the pool tell "refused before DATA" from "cut while writing
// DATA" (safe to retry) from "cut after the final dot" (Uncertain), which
// the engine's never-send-twice rule needs. Authentication uses go-mail's
// smtp.PlainAuth / LoginAuth / XOAuth2Auth, but the AUTH exchange is ours:
// go-mail's Client.Auth answers a final 535 with a "*" line, which Postfix
// logs as a non-SMTP command (see authenticate).
//
// Compatibility: `make postfix-compat` (.ci/postfix-compat) runs the
// build-tagged TestPostfix against Debian's Postfix on a submission port
// with STARTTLS and Cyrus SASL (PLAIN, LOGIN), relaying to smtp-sink.
//
// DKIM: go-mail v0.8.1 has a DKIM signer, but it folds the h= tag in the
// middle of a header name once the list is longer than about 70 characters
// (a trap noted in the workspace's LIBRARIES.md), and the list we sign (From,
// To, Subject, Date, Message-ID, In-Reply-To, References, List-Unsubscribe,
// List-Unsubscribe-Post, MIME-Version, Content-Type) is longer than that:
// with it, go-mail emits "h=…:L<CRLF> ist-Unsubscribe-Post" and go-msgauth
// rejects the signature (checked while writing this package).
// Signing uses github.com/emersion/go-msgauth/dkim instead (relaxed/relaxed,
// SHA-256, RSA or Ed25519), the same library the tests verify with.
//
// Connections: Pool keeps up to MaxIdlePerAccount authenticated connections
// per Account.ID. A connection taken from the pool is checked with NOOP
// first (servers close idle connections); a failed check or a connection
// older than IdleTimeout is replaced by a fresh one before anything is
// sent. Inside a batch, a connection that breaks before an email's final
// "." is replaced and that email is tried once more on the new connection;
// an email cut after its final "." is Uncertain and is not resent, and the
// rest of the batch continues on a new connection.
package emailsend
