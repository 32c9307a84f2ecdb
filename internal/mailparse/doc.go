// Package mailparse turns one raw RFC 5322 message, as synced from IMAP,
// into what the inbox needs: threading ids, addresses, the decoded text
// and HTML bodies, the part of the text the sender actually wrote in this
// message (Clean: quoted history, signatures and forwarded originals cut
// off), a list of attachments (sizes only, never their bytes) and an
// auto-reply / out-of-office verdict with the stated return date.
//
// It is an adapter-level package: it imports no domain package, and it
// is pure (no I/O; the clock only for an out-of-office without a Date
// header). Parse is safe for concurrent use.
//
// Promises, checked by FuzzParse on arbitrary input:
//   - Parse never panics; it fails only when the header block cannot be
//     read at all (garbage, or a header over 1 MiB). A malformed part is
//     skipped and what was read before it is kept.
//   - Every string it returns is valid UTF-8; addresses are lower-cased.
//   - Snippet has at most SnippetRunes runes.
//   - Every line of Clean is a line of Text, in order: Clean only drops
//     lines (it never rewrites one), so it can be highlighted inside Text.
//   - A multipart/report (bounce, read receipt) is never an out-of-office.
//
// Charsets: non-UTF-8 bodies and RFC 2047 words decode through
// go-message's charset package (imported here for that side effect). A
// text part that declares no usable charset and is not valid UTF-8 is
// read as Windows-1252, unless it holds UTF-8 sequences, in which case
// the stray bytes become U+FFFD.
//
// Sizes: text and HTML bodies keep at most 2 MiB each; at most 256 leaf
// parts and 16 levels of multipart nesting are looked at. Attachments are
// streamed through a counter, so their size costs no memory.
package mailparse
