// Package imapsync reads one IMAP mailbox incrementally: every message
// whose UID is above the last one the caller stored, in ascending UID
// order, in batches the caller commits together with the new State.
//
// It is an adapter: it knows IMAP (github.com/emersion/go-imap/v2) and
// nothing of LeadPilot's domain. The inbox service owns what a message
// means; this package only guarantees how it is read:
//
//   - The mailbox is opened with EXAMINE (read-only) and bodies are fetched
//     with BODY.PEEK[], so a sync never sets \Seen; it never stores flags,
//     moves, deletes or expunges.
//   - A State is (UIDVALIDITY, last UID). UIDs only grow within one
//     UIDVALIDITY, so "UID > LastUID" is exactly the new mail. When the
//     server's UIDVALIDITY differs from the stored one (the mailbox was
//     recreated, or this is the first sync), the old UIDs mean nothing:
//     the sync starts over (Batch.Reset) with the messages since
//     Options.Since.
//   - Each Batch carries the State after it. Committing the batch's
//     messages and its State in one transaction makes ingest exactly-once:
//     a crash or a sink error leaves the previous State, and the next Sync
//     redoes only the uncommitted batch.
//   - Only one batch of raw messages is in memory at a time; a run is
//     bounded by Options.MaxMessages and the next run continues.
//
// The UIDs to read are listed first (UID SEARCH, a few bytes a message),
// then fetched as UID ranges of at most BatchSize messages (UID FETCH
// first:last). Listing first keeps every FETCH bounded and avoids the
// "N:*" quirk in FETCH: a range "N:*" with N above the highest UID means
// "the last message" (RFC 3501 §6.4.8), so the search's answer is filtered
// to UIDs above LastUID.
package imapsync
