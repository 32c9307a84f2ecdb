package sending

import (
	"time"

	"cloud.google.com/go/civil"

	"github.com/leadpilot/leadpilot/internal/emailaccounts"
)

// DailyCap is how many emails box may send on the local day of now: its
// daily_send_limit, lowered by the warm-up ramp (emailaccounts.DailyCap)
// while warm-up is on, counted from warmup_started_at, else from the
// mailbox's creation.
func DailyCap(box *mailbox, now time.Time) int {
	start := box.CreatedAt
	if box.WarmupStartedAt != nil {
		start = *box.WarmupStartedAt
	}
	return emailaccounts.DailyCap(box.DailySendLimit, box.WarmupEnabled, civil.DateOf(start.In(now.Location())), civil.DateOf(now))
}
