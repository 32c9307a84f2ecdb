package webhookdelivery

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultSchedule is the wait before each retry of a failed delivery,
// after Svix's: the first attempt is immediate, then 5 s, 5 min, 30 min,
// 2 h, 5 h and six times 10 h. That is 12 attempts over 67 h 35 min 5 s
// (about 2.8 days; each wait is jittered by ±DefaultJitter), after which
// the message fails.
var DefaultSchedule = []time.Duration{
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
}

// DefaultJitter is the fraction by which a retry's wait is randomly
// lengthened or shortened, so that the retries of a burst spread out.
const DefaultJitter = 0.1

// DefaultMaxRetryAfter caps the wait a receiver may ask for with
// Retry-After.
const DefaultMaxRetryAfter = 24 * time.Hour

// retryWait is the wait before the retry that follows a message's
// attempts-th failed attempt, and false when the schedule is exhausted.
func retryWait(schedule []time.Duration, attempts int, jitter float64) (time.Duration, bool) {
	if attempts < 1 || attempts > len(schedule) {
		return 0, false
	}
	d := schedule[attempts-1]
	if jitter > 0 {
		d = time.Duration(float64(d) * (1 + jitter*(2*rand.Float64()-1)))
	}
	return d, true
}

// retryAfter reads a Retry-After header (delay-seconds or an HTTP date)
// relative to now; false when there is none or it cannot be read.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(h, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(365*24*time.Hour/time.Second) {
			n = int64(365 * 24 * time.Hour / time.Second)
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(h)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return d, true
}
