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
// Daily digest (Digester, digest.go). Once per local day, after 08:00 in
// the organisation's time zone (users have no zone of their own), each
// member whose daily_digest preference is on and whose address is
// verified gets an email summarising the organisation since their
// previous digest (the last 24 hours the first time, at most a week):
// replies and positive replies, bounces, messages sent, campaigns the
// engine paused or completed, what awaits their approval, and their unread
// notifications. The mail's in-app copy is a daily_digest notification.
// The worker runs it hourly (internal/jobs, notifications:daily_digest);
// the cross-organisation scan is the SECURITY DEFINER
// maint_daily_digests_due, and each member's day is then decided in the
// organisation's tenant context.
//
// Deciding a member's day is one transaction: it inserts the day's
// daily_digests row (the primary key is the guard: a second worker
// deciding the same day waits for the first, then finds the row and does
// nothing), composes the summary, and, when there is something to say,
// creates the notification and hands the mail to the mailer before it
// commits. A mail the mailer refuses rolls the decision back, so the next
// hourly run tries again; only a commit failing after the mailer accepted
// can send a day's digest twice. A day with nothing to say (nothing
// happened: standing state such as unread notifications is not news)
// keeps its row, outcome empty, so each day is decided once and the next
// digest's period starts where this one ended.
//
// Figures count by when things reached us or left: inbound mail by
// inbox_messages.created_at, messages by sent_at, campaign changes by the
// event's occurred_at; each in [Since, Until).
//
// Marking read writes no event: read state is a person's view of their own
// inbox, not a change to the organisation's data that integrators follow.
package notifications
