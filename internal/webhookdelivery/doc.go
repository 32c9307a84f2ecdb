// Package webhookdelivery delivers webhook messages (webhook_messages,
// written by events.Record in the change's transaction) to their
// endpoints: signed after Standard Webhooks, retried on a schedule that
// spans about three days, logged attempt by attempt (webhook_attempts),
// through an HTTP client that refuses non-public addresses at dial time.
//
// # API
//
//	engine := webhookdelivery.New(db, keyring, webhookdelivery.Config{...})
//	engine.Deliver(ctx, orgID, endpointID) // what the asynq task runs
//	d := webhookdelivery.NewDispatcher(db, enqueuer, webhookdelivery.DispatcherConfig{})
//	d.Run(ctx)                             // in the worker process
//
// internal/jobs wires them: TypeWebhookDeliver ("webhook:deliver", payload
// {org_id, endpoint_id}, TaskID "webhook:deliver:<endpoint>", queue
// webhooks) calls Engine.Deliver; jobs.Enqueuer satisfies Enqueuer. The
// API side (create, rotate, replay…) never calls this package: it writes
// rows (a replay sets messages back to pending with next_attempt_at =
// now) and NOTIFYs events.NotifyChannel, and the dispatcher does the rest.
// Sign is exported for a client library's tests and the test event.
//
// # Delivery
//
// The dispatcher LISTENs on events.NotifyChannel and ticks every second
// over webhook_due_endpoints (retries coming due, expired leases, lost
// notifications), enqueuing one task per due endpoint; a TaskID conflict
// means the endpoint's task is already queued or running. A task runs
// Deliver, which loops: in a tenant transaction it claims up to BatchSize
// due messages in event order (pending and due, or sending with an expired
// lease) with FOR UPDATE SKIP LOCKED and marks them sending until now +
// Lease; it sends them, started in event order with at most the
// endpoint's max_concurrency in flight; it writes every result in one
// statement (attempt rows, message states, the endpoint's failing_since).
// After Budget (20s) it stops claiming and returns; the next tick
// enqueues the endpoint again, so one busy endpoint cannot hold a worker
// and a slow one never delays another (each has its own task).
//
// Order: messages are started in event order, and with max_concurrency 1
// they arrive in event order while they succeed; a failed message is
// retried on its own schedule and does not hold back later ones (as with
// Svix).
//
// At least once: a worker killed mid-batch leaves its messages sending;
// they are claimed again when the lease ends and sent again with the same
// webhook-id (the event id), so receivers can dedupe. A Deliver whose ctx
// ends releases the messages it has no answer for (pending, no attempt
// counted).
//
// # Signing
//
// webhook-id is the event id (the same on every retry and replay),
// webhook-timestamp the attempt's unix time, webhook-signature
// "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>" for the current
// secret and, until previous_secret_expires_at, the previous one,
// space-separated. The body is events.Event.Payload() of the stored event:
// the snapshot taken when the change happened.
//
// # Retries
//
// A 2xx answer succeeds. Anything else (another status, a 3xx: redirects
// are not followed, a timeout, a refused or reset connection, an address
// the SSRF guard refuses) fails the attempt; the message is retried after
// DefaultSchedule's next wait (5s, 5m, 30m, 2h, 5h, then 10h six times:
// 12 attempts over 67h35m05s), each ±10% jitter. A 429 or 503 with a
// Retry-After (seconds or an HTTP date) later than that wait is honoured,
// capped at MaxRetryAfter (24h). After the last attempt the message is
// failed.
//
// # Disabling
//
// failing_since is set by the first failed attempt after a success and
// cleared by a success. When a batch has only failures and failing_since
// is at least DisableAfter (default 60h) old, the endpoint is disabled
// (disabled_reason failing): with the default schedule, an endpoint whose
// every delivery fails is disabled at a message's last retries, about 2.8
// days after it started failing. A 410 Gone disables it at once
// (disabled_reason gone: a REST Hooks unsubscribe). Either way its pending
// messages are failed, disabled_message says why in words, and each owner
// and admin of the org gets a 'system' notification linking to
// /settings/webhooks/<id>. An endpoint whose signing secret no key of the
// keyring can decrypt is disabled the same way (failing, saying so) rather
// than retried every second. A disabled endpoint's due messages (say, after
// a manual disable) are failed when its task next runs, except test events
// (webhook.test, sent to one endpoint whatever its status), which it still
// receives: a mended receiver can be tested before it is enabled again.
//
// Secrets and URLs stay out of logs (endpoint ids only); notifications
// name the receiver's host, not its URL, whose path is often a credential.
package webhookdelivery
