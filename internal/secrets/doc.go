// Package secrets encrypts credentials at rest: SMTP/IMAP passwords, OAuth
// tokens, Twilio tokens and bring-your-own LLM keys.
//
// A ciphertext is a single printable string so it fits in a text column and
// survives logs, dumps and JSON untouched:
//
//	v1.<kid>.<base64url-no-pad(nonce || ciphertext || tag)>
//
// It is AES-256-GCM with a random 12-byte nonce. The key id travels in the
// clear so a ring holding several keys knows which one to use, which is what
// makes rotation possible without a flag day: add a new key, make it current,
// run [Rotate], then drop the old key once nothing refers to it.
//
// The "v1.<kid>." header is also authenticated as part of GCM's additional
// data, so neither the version nor the key id can be edited to steer
// decryption. Callers add their own context (see [AAD]) naming the table,
// column and row a value belongs to; a ciphertext copied into another row or
// column then fails to decrypt instead of silently handing one tenant's
// credential to another.
//
// Random 96-bit nonces are safe for about 2^32 encryptions under one key;
// rotating keys from time to time keeps far below that bound.
package secrets
