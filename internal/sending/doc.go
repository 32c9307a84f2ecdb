// Package sending is the engine that sends sequences: it schedules each
// lead's steps inside the campaign's send window, claims what is due,
// sends it through a channel adapter, records every outcome, and keeps
// the never-twice guarantee of DESIGN.md ("Sending: the guarantees").
//
// # Life of a message
//
// A message row moves scheduled → sending → sent (or failed, bounced,
// cancelled); queued is a status older rows may have, which nothing writes
// any more:
//
//   - Schedule (on activation, and on resume for what fell due while
//     paused) writes step 1 of every approved lead with an approved
//     sequence, rendered for the lead, on one of the campaign's mailboxes
//     (inbox rotation), due at a moment spread across the send window in
//     the lead's timezone (else the campaign's).
//   - Dispatch (a periodic loop in the worker) takes due messages of
//     active campaigns with no send task out in one statement (FOR UPDATE
//     SKIP LOCKED: several dispatchers never take one twice), stamps them
//     dispatched_at — no index covers it, so the update is heap-only and
//     the message stays scheduled — and enqueues one send task per
//     mailbox batch. Requeue enqueues again what was dispatched long ago
//     and is still not claimed (a task Redis lost).
//   - SendBatch (the task) locks the mailbox, re-checks every message
//     (campaign active, lead not unsubscribed, bounced, suppressed or
//     replied with stop_on_reply, inside the window, under the mailbox's
//     daily cap — follow-ups before first steps when the budget is
//     short), claims the rest with a conditional update (still scheduled
//     and due → sending: a second delivery of the task finds nothing to
//     claim), sends them over one kept-open connection, and records every
//     result in one transaction: sent with its provider id, the lead contacted, the next
//     step scheduled delay_days later in the window; a transient failure
//     rescheduled with backoff; a permanent one bounced, the lead bounced
//     and suppressed.
//   - Reap finds messages left sending by a worker that died between its
//     claim and its record and marks them failed with delivery_uncertain:
//     the provider may have accepted them, and a duplicate cold email is
//     worse than a missing follow-up. They are never sent again.
//
// A message held back carries a machine-readable blocked_reason
// (outside_window, account_cap, campaign_paused, lead_replied, …).
//
// # Channels
//
// The engine knows nothing of SMTP: a Channel sends a batch of Outgoing
// messages from one account and returns one Outcome each (sent,
// transient, permanent, uncertain). Email is the first adapter
// (EmailChannel: emailsend over SMTP, or the sandbox mailbox); SMS and
// WhatsApp plug in the same way without touching scheduling, caps or the
// guarantees.
package sending
