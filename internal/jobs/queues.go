package jobs

// Queue names. A task picks its queue in its NewXxxTask constructor, so
// producers never choose one.
const (
	QueueSend        = "send"        // outbound email, SMS and WhatsApp
	QueueClassify    = "classify"    // reply classification by the LLM
	QueueGenerate    = "generate"    // message generation by the LLM
	QueueScrape      = "scrape"      // lead scraping (Apify and friends)
	QueueImport      = "import"      // CSV and integration imports
	QueueIMAPSync    = "imap_sync"   // incremental mailbox sync
	QueueWebhooks    = "webhooks"    // outbound webhook delivery
	QueueMaintenance = "maintenance" // purges, reapers and other sweeps
)

// Queues returns the queue weights for asynq.Config.Queues, in the order of
// urgency the design gives: sending first, then classification and
// generation, then scraping, imports, IMAP sync and webhook delivery, and
// maintenance last.
//
// The server runs with StrictPriority off, so the weights are shares of the
// workers' attention, not an order: when every queue has work, "send" is
// picked ten times as often as "maintenance", but a burst of sends never
// starves a sweep or an import entirely.
func Queues() map[string]int {
	return map[string]int{
		QueueSend:        10,
		QueueClassify:    6,
		QueueGenerate:    6,
		QueueScrape:      3,
		QueueImport:      3,
		QueueIMAPSync:    3,
		QueueWebhooks:    3,
		QueueMaintenance: 1,
	}
}

// QueuesExcept returns Queues() without the named queues: for a server
// that leaves them to one of their own (webhook delivery, whose tasks
// wait on other people's servers for up to half a minute, gets its own
// concurrency so it never holds the slots sending needs).
func QueuesExcept(names ...string) map[string]int {
	q := Queues()
	for _, n := range names {
		delete(q, n)
	}
	return q
}
