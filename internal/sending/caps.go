package sending

import "time"

// DailyCap is how many emails box may send on the local day of now: its
// daily_send_limit, lowered by the warm-up ramp while warm-up is on.
func DailyCap(box *mailbox, now time.Time) int {
	start := box.CreatedAt
	if box.WarmupStartedAt != nil {
		start = *box.WarmupStartedAt
	}
	return WarmupCap(box.DailySendLimit, box.WarmupEnabled, start, now)
}

// WarmupCap is the warm-up ramp: a new mailbox starts at 10 a day and
// adds 5 a day (day 0 → 10, day 10 → 60, day 20 → 110) until it reaches
// limit; with warm-up off, or once reached, it is limit. Days count in
// now's location from started's date.
func WarmupCap(limit int, warmup bool, started, now time.Time) int {
	if !warmup {
		return limit
	}
	s := started.In(now.Location())
	days := int(time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).
		Sub(time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, time.UTC)).Hours() / 24)
	return min(limit, 10+5*max(days, 0))
}
