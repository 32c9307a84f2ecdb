// Package unsubscribe makes and checks the per-lead tokens behind every
// email's List-Unsubscribe header (RFC 2369) and its one-click POST
// (RFC 8058), and renders the page a person sees when they open the link.
//
// # Tokens
//
// A token names an organisation and a lead and proves that this server
// made it. It is 49 bytes in unpadded base64url (66 characters, nothing a
// URL or a mail subject needs to escape):
//
//	version (1 byte, 0x01) || org id (16) || lead id (16) || tag (16)
//
// where tag is HMAC-SHA256 over the first 33 bytes, truncated to 128 bits.
// Tokens never expire: an unsubscribe link in a message sent years ago must
// still work, and a stale link can only ever unsubscribe the lead it names.
// Parsing is strict (one textual form per token; any other length,
// alphabet, padding or trailing bits is malformed) and compares tags in
// constant time.
//
// # Which secret
//
// The HMAC key is derived with HKDF-SHA256 (info "leadpilot unsubscribe
// token v1") from a master secret, so it is unrelated to every other key
// drawn from the same master. The cleanest master in today's configuration
// is JWT_SECRET (config.Config.JWTSecret, at least 32 characters, always
// set: production requires it and development generates one in DATA_DIR):
//
//	signer, err := unsubscribe.NewSigner([]byte(cfg.JWTSecret))
//
// The encryption keyring (ENCRYPTION_KEYS) is the wrong source: its keys
// are meant to rotate and be dropped, which would break every link already
// sent, and secrets.Keyring deliberately never hands out key bytes. Rotating
// JWT_SECRET (to sign everybody out) would break sent links too, which is
// why NewSigner accepts retired masters: pass the old JWT_SECRET as a
// retired secret after a rotation and old links keep working while new
// ones use the new key. A dedicated UNSUBSCRIBE_SECRET would decouple the
// two entirely; it is one config field if the lead prefers it.
//
// # The page
//
// RFC 8058 has mail providers POST "List-Unsubscribe=One-Click" to the
// link; people who click it in a browser GET it. Link scanners and
// previewers also GET every link in a message, so a GET must never
// unsubscribe: it shows [Page] with a confirmation form whose POST carries
// the same List-Unsubscribe=One-Click body, so one POST handler serves both
// the provider's one-click request and the person's button.
package unsubscribe
