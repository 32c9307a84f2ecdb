package emailaccounts

import (
	"strconv"
	"time"

	"cloud.google.com/go/civil"

	"github.com/leadpilot/leadpilot/internal/fault"
)

// Hard maximums of daily_send_limit per provider. The engine never sends
// more than an account's limit, and the limit can never be set above
// these, so a typo cannot get a mailbox suspended.
const (
	// GmailMaxDailyLimit: Google Workspace accounts may send to at most
	// 2,000 recipients a day ("Gmail sending limits in Google Workspace",
	// https://support.google.com/a/answer/166852: "Messages per day
	// (daily sending limit): 2,000"; trial accounts 500). Consumer
	// @gmail.com accounts are limited to 500
	// (https://support.google.com/mail/answer/22839); the API cannot tell
	// them apart before sending, so the Workspace figure is the ceiling.
	GmailMaxDailyLimit = 2000
	// OutlookMaxDailyLimit: Exchange Online (Microsoft 365) allows 10,000
	// recipients a day per mailbox ("Exchange Online limits", Sending
	// limits, Recipient rate limit: 10,000 recipients per day,
	// https://learn.microsoft.com/office365/servicedescriptions/exchange-online-service-description/exchange-online-limits).
	OutlookMaxDailyLimit = 10000
	// DefaultCustomMaxDailyLimit is a custom server's ceiling unless
	// EMAIL_CUSTOM_MAX_DAILY_LIMIT says otherwise: we cannot know the
	// relay's policy, and a cold mailbox past a few thousand a day is
	// spam by any measure.
	DefaultCustomMaxDailyLimit = 5000
	// SandboxMaxDailyLimit: a sandbox reaches nobody; high, so load tests
	// of the whole loop are not throttled.
	SandboxMaxDailyLimit = 100000
)

// MaxDailyLimit is the hard maximum of daily_send_limit for provider.
func (s *Service) MaxDailyLimit(provider string) int {
	switch provider {
	case ProviderGmail:
		return GmailMaxDailyLimit
	case ProviderOutlook:
		return OutlookMaxDailyLimit
	case ProviderSandbox:
		return SandboxMaxDailyLimit
	default:
		return s.o.CustomMaxDailyLimit
	}
}

func (s *Service) checkLimit(f *fault.Fields, field, provider string, n int) int {
	if n < 0 {
		f.Add(field, "out_of_range", "must be 0 or more")
		return 0
	}
	if max := s.MaxDailyLimit(provider); n > max {
		f.Add(field, "above_provider_maximum", "must be at most "+itoa(max)+" a day for a "+provider+" account (the provider's published limit)")
		return 0
	}
	return n
}

// The warm-up ramp: a new mailbox that suddenly sends hundreds of cold
// emails a day looks like a spammer to the receiving providers, so the
// daily cap starts at WarmupStart and grows each day by WarmupGrowth
// (20%), and by at least WarmupMinStep, until it reaches the limit:
//
//	day:  0  1  2  3  4  5  6  7  8  9 10  11  12  13  14 …  20 …    27    28
//	cap: 10 15 20 25 30 36 43 51 61 73 87 104 124 148 177 … 523 … 1,868 2,241
//
// so 50 a day is reached on day 7, 500 on day 20 and 2,000 on day 28.
const (
	WarmupStart   = 10
	WarmupGrowth  = 1.2
	WarmupMinStep = 5
)

// DailyCap is how many emails an account with daily limit limit may send
// on day today: the limit itself without warm-up, else the ramp's value
// for the days since warmupStartedOn (never more than the limit; a start
// in the future counts as today).
func DailyCap(limit int, warmupEnabled bool, warmupStartedOn, today civil.Date) int {
	if limit <= 0 {
		return 0
	}
	if !warmupEnabled {
		return limit
	}
	days := today.DaysSince(warmupStartedOn)
	cap := WarmupStart
	for d := 0; d < days && cap < limit; d++ {
		next := int(float64(cap) * WarmupGrowth)
		if next < cap+WarmupMinStep {
			next = cap + WarmupMinStep
		}
		cap = next
	}
	return min(cap, limit)
}

// Today is the civil date of now in loc (the organisation's time zone).
func Today(now time.Time, loc *time.Location) civil.Date {
	return civil.DateOf(now.In(loc))
}

// civilOf reads a Postgres date (midnight UTC as scanned).
func civilOf(t time.Time) civil.Date {
	return civil.DateOf(t.UTC())
}

// Warmup is the state of an account's ramp.
type Warmup struct {
	Enabled bool
	// StartedOn is the ramp's first day (midnight UTC of that civil date).
	StartedOn *time.Time
	// Day counts the days since it started (0 on the first).
	Day int
	// Complete is true once today's cap has reached the limit.
	Complete bool

	started civil.Date
}

func warmupOf(r accountRow, loc *time.Location, today civil.Date) Warmup {
	w := Warmup{Enabled: r.WarmupEnabled, started: today}
	if r.WarmupStartedAt != nil {
		w.started = civil.DateOf(r.WarmupStartedAt.In(loc))
		t := w.started.In(time.UTC)
		w.StartedOn = &t
	}
	if d := today.DaysSince(w.started); d > 0 {
		w.Day = d
	}
	return w
}

// itoa writes n with thousands separators, as the limits are published.
func itoa(n int) string {
	str := strconv.Itoa(n)
	out := make([]byte, 0, len(str)+len(str)/3)
	for i := range len(str) {
		if i > 0 && (len(str)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, str[i])
	}
	return string(out)
}
