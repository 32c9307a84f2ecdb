// Package notifications is the in-app notification centre (the spec's
// notifications table) and each user's notification preferences (the
// spec's users.notification_preferences).
//
// Who sees what. Row-level security scopes notifications to the
// organisation; within it, a signed-in user sees the notifications
// addressed to them and the organisation's broadcast ones (user_id NULL).
// An API key has no user: it sees the broadcast ones only, and it cannot
// change read state or preferences (403), since both belong to a person.
//
// Read state is per person. A notification addressed to a user keeps it
// on the row (is_read, read_at), as the spec has it; a broadcast one keeps
// each user's in notification_reads, so one member reading it does not
// read it for the others. An API key sees broadcast ones as unread.
//
// Order and paging. Lists show unread before read, newest first within
// each, and page with an opaque keyset cursor on (is_read, id). A
// notification whose read state changes while a client pages may be seen
// twice or not at all on later pages; the unread count is the authority.
//
// Other packages create notifications in their own transaction with
// Notify, NotifyAdmins and ApprovalNeeded, so a notification exists if and
// only if the change that caused it committed.
//
// Preferences. The keys are the spec's (Defaults). In-app delivery honours
// them where they name a kind of notification: daily_digest gates the
// daily_digest type, and email_replies, sms_replies and whatsapp_replies
// gate reply notifications (reply_received, positive_reply) whose New.Channel
// names that channel. browser_push is for a push channel this package does
// not deliver; it is stored and returned only. Broadcast notifications
// ignore preferences: they have no one user to ask.
//
// Marking read writes no event: read state is a person's view of their own
// inbox, not a change to the organisation's data that integrators follow.
package notifications
