// Package mailparse turns one raw RFC 5322 message, as synced from IMAP,
// into what the inbox needs: threading ids, addresses, the decoded text
// and HTML bodies, the part of the text the sender actually wrote in this
// message (quoted history, signatures and forwarded originals cut off), a
// list of attachments (sizes only, never their bytes) and an auto-reply /
// out-of-office verdict with the stated return date.
//
// It is an adapter-level package: it imports no domain package, and it
// is pure (no I/O, no clock except time.Now when a message has no Date).
// Parse never panics and always returns valid UTF-8: a malformed part is
// skipped and what could be read before it is kept.
//
// Non-UTF-8 charsets decode through go-message's charset package
// (imported here for its side effect). A text part that declares no
// charset and is not valid UTF-8 is read as Windows-1252, the usual
// culprit.
package mailparse
