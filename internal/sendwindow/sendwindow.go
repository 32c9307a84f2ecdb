package sendwindow

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// ErrInvalid is wrapped by every error [Parse] returns.
var ErrInvalid = errors.New("sendwindow: invalid window")

// clock is a time of day in whole seconds after local midnight, 0..86399.
type clock int

func (c clock) String() string { return fmt.Sprintf("%02d:%02d", int(c)/3600, int(c)%3600/60) }

// parseClock reads "HH:MM" on the 24-hour clock, the settings' format.
func parseClock(s string) (clock, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h, m := int(s[0]-'0')*10+int(s[1]-'0'), int(s[3]-'0')*10+int(s[4]-'0')
	if h > 23 || m > 59 {
		return 0, false
	}
	return clock(h*3600 + m*60), true
}

// Window is a daily send window in one location. Build it with [Parse]; a
// Window that never opens (no days, End not after Start, no location)
// makes Next, NextSpread and Schedule panic.
type Window struct {
	// Start and End bound the window on each send day: [Start, End) in
	// local wall time. End is after Start.
	Start, End clock
	// Days are the weekdays the window opens on, in ascending order,
	// without repeats.
	Days []time.Weekday
	// Loc is the zone the window is read in: the lead's when known, else
	// the campaign's.
	Loc *time.Location
}

var dayNames = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// Parse builds a Window from the settings' strings: start and end as
// "HH:MM" (24-hour) with end after start, days as weekday names
// ("monday".."sunday", as the settings store them, or "mon".."sun"; case
// is ignored, repeats are harmless), and tz as an IANA zone name. An empty
// zone and "Local" are refused: both would silently mean a zone nobody
// chose (UTC, or the server's). Errors wrap [ErrInvalid].
func Parse(start, end string, days []string, tz string) (Window, error) {
	s, ok := parseClock(start)
	if !ok {
		return Window{}, fmt.Errorf("%w: start %q is not HH:MM", ErrInvalid, start)
	}
	e, ok := parseClock(end)
	if !ok {
		return Window{}, fmt.Errorf("%w: end %q is not HH:MM", ErrInvalid, end)
	}
	if e <= s {
		return Window{}, fmt.Errorf("%w: end %s must be after start %s (windows crossing midnight are not supported)", ErrInvalid, end, start)
	}
	if len(days) == 0 {
		return Window{}, fmt.Errorf("%w: no send days, the window would never open", ErrInvalid)
	}
	var wd []time.Weekday
	for _, d := range days {
		day, ok := dayNames[strings.ToLower(strings.TrimSpace(d))]
		if !ok {
			return Window{}, fmt.Errorf("%w: %q is not a weekday", ErrInvalid, d)
		}
		if !slices.Contains(wd, day) {
			wd = append(wd, day)
		}
	}
	slices.Sort(wd)
	if tz == "" || strings.EqualFold(tz, "local") {
		return Window{}, fmt.Errorf("%w: time zone must be an IANA name such as Europe/Berlin", ErrInvalid)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return Window{}, fmt.Errorf("%w: %q is not an IANA time zone", ErrInvalid, tz)
	}
	return Window{Start: s, End: e, Days: wd, Loc: loc}, nil
}

// String describes w, e.g. "09:00-17:00 Mon,Tue Europe/Berlin".
func (w Window) String() string {
	names := make([]string, len(w.Days))
	for i, d := range w.Days {
		names[i] = d.String()[:3]
	}
	loc := "<nil>"
	if w.Loc != nil {
		loc = w.Loc.String()
	}
	return fmt.Sprintf("%s-%s %s %s", w.Start, w.End, strings.Join(names, ","), loc)
}

// Contains reports whether t is inside the window: read in w.Loc, its
// weekday is a send day and its time of day is in [Start, End).
func (w Window) Contains(t time.Time) bool {
	if w.Loc == nil {
		return false
	}
	lt := t.In(w.Loc)
	if !slices.Contains(w.Days, lt.Weekday()) {
		return false
	}
	h, m, s := lt.Clock()
	tod := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second + time.Duration(lt.Nanosecond())
	return tod >= time.Duration(w.Start)*time.Second && tod < time.Duration(w.End)*time.Second
}

// Next returns the earliest instant at or after t inside the window, in
// w.Loc: t itself when it is inside, else the next opening (see the
// package doc for openings on daylight-saving change days).
func (w Window) Next(t time.Time) time.Time {
	w.mustOpen()
	if w.Contains(t) {
		return t.In(w.Loc)
	}
	return w.first(t, w.Start, w.Contains)
}

// NextSpread returns a due time inside the window at or after t, spread
// over the window rather than bunched at its opening: the stretch from
// Next(t) until the window next closes is divided in proportion to key,
// so the same key (a hash of the lead id, see [KeyOf]) lands at the same
// point of every full-length window. When t is already inside the window
// only the rest of that day's window is used. The result is whole seconds
// after Next(t), in w.Loc.
func (w Window) NextSpread(t time.Time, key uint64) time.Time {
	open := w.Next(t)
	closes := w.first(open, w.End, func(u time.Time) bool { return !w.Contains(u) })
	span := closes.Sub(open)
	if span <= 0 {
		return open
	}
	// hi is floor(mix(key) * span / 2^64), so 0 <= hi < span exactly,
	// which a float product would not promise.
	hi, _ := bits.Mul64(mix(key), uint64(span))
	off := time.Duration(hi)
	return open.Add(off - off%time.Second)
}

// Schedule returns when the step after one sent (or due) at after should
// go: delayDays calendar days later in w.Loc, then NextSpread from the
// start of that day, so the step lands at the lead's usual point of the
// first window on or after that day. A delay of zero (or less) is
// NextSpread(after, key). The result is never before after.
func (w Window) Schedule(after time.Time, delayDays int, key uint64) time.Time {
	w.mustOpen()
	if delayDays <= 0 {
		return w.NextSpread(after, key)
	}
	d := dateOf(after.In(w.Loc)).add(delayDays)
	start := w.startOfDay(d)
	if start.Before(after) {
		start = after
	}
	return w.NextSpread(start, key)
}

// KeyOf turns an id (a uuid.UUID converts implicitly) into a spread key
// for NextSpread and Schedule.
func KeyOf(id [16]byte) uint64 {
	h := fnv.New64a()
	h.Write(id[:])
	return h.Sum64()
}

// Gap returns the pause before a mailbox's next send: at least minGap,
// plus a uniformly random extra of up to jitter×minGap (jitter 0.5 gives
// between minGap and 1.5×minGap), so a mailbox's sends do not tick like a
// metronome. A negative or NaN jitter counts as 0; a nil r uses the
// math/rand/v2 global source. The result saturates instead of overflowing.
func Gap(minGap time.Duration, jitter float64, r *rand.Rand) time.Duration {
	if minGap <= 0 {
		return 0
	}
	if !(jitter > 0) {
		return minGap
	}
	var f float64
	if r != nil {
		f = r.Float64()
	} else {
		f = rand.Float64()
	}
	extra := float64(minGap) * jitter * f
	if extra >= float64(math.MaxInt64-minGap) {
		return math.MaxInt64
	}
	return minGap + time.Duration(extra)
}

func (w Window) mustOpen() {
	if w.Loc == nil || len(w.Days) == 0 || w.End <= w.Start {
		panic(fmt.Sprintf("sendwindow: window %s never opens; build windows with Parse", w))
	}
}

// mix is the splitmix64 finaliser: keys that differ in a few bits (or
// that are small counters) still land far apart.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// date is a calendar date in the window's location.
type date struct {
	y int
	m time.Month
	d int
}

func dateOf(lt time.Time) date {
	y, m, d := lt.Date()
	return date{y, m, d}
}

// add does calendar arithmetic at UTC noon, where no zone rule applies.
func (d date) add(n int) date {
	return dateOf(time.Date(d.y, d.m, d.d+n, 12, 0, 0, 0, time.UTC))
}

func (d date) weekday() time.Weekday {
	return time.Date(d.y, d.m, d.d, 12, 0, 0, 0, time.UTC).Weekday()
}

// scanDays is how many local days one search looks at. A send day comes
// round every week, and a skipped date or a window lost in a skipped hour
// costs at most one more week.
const scanDays = 16

// first returns the earliest instant u >= t for which want(u) holds,
// looking only at instants where something can change: t itself, the
// instants whose local time reads exactly c, and the zone's transitions.
// The window's membership is a union of half-open stretches, each
// starting at a wall-clock Start or a transition and ending at a
// wall-clock End or a transition, so searching these points with
// want = Contains finds the next opening and with want = !Contains finds
// the next close.
func (w Window) first(t time.Time, c clock, want func(time.Time) bool) time.Time {
	for range 64 {
		if u, ok := w.firstWithin(t, c, want); ok {
			return u.In(w.Loc)
		}
		t = t.Add(scanDays * 24 * time.Hour)
	}
	panic(fmt.Sprintf("sendwindow: no instant found for window %s", w))
}

func (w Window) firstWithin(t time.Time, c clock, want func(time.Time) bool) (time.Time, bool) {
	if want(t) {
		return t, true
	}
	d0 := dateOf(t.In(w.Loc)).add(-1)
	from := t.Add(-48 * time.Hour)
	to := t.Add((scanDays + 2) * 24 * time.Hour)
	trans, offsets := zoneChanges(w.Loc, from, to)
	var best time.Time
	found := false
	consider := func(u time.Time) {
		if u.Before(t) || (found && !u.Before(best)) || !want(u) {
			return
		}
		best, found = u, true
	}
	for _, tr := range trans {
		consider(tr)
	}
	for i := range scanDays + 1 {
		d := d0.add(i)
		for _, u := range wallPoints(w.Loc, d, c, offsets) {
			consider(u)
		}
	}
	return best, found
}

// zoneChanges lists the instants in (from, to] where loc's zone changes
// and every UTC offset in effect over [from, to].
func zoneChanges(loc *time.Location, from, to time.Time) ([]time.Time, []int) {
	x := from.In(loc)
	_, off := x.Zone()
	offsets := []int{off}
	var trans []time.Time
	for {
		_, end := x.ZoneBounds()
		if end.IsZero() || end.After(to) || !end.After(x) {
			break
		}
		trans = append(trans, end)
		x = end.In(loc)
		if _, off := x.Zone(); !slices.Contains(offsets, off) {
			offsets = append(offsets, off)
		}
	}
	return trans, offsets
}

// wallPoints returns the instants whose local date is d and whose local
// time reads exactly c: none in a skipped stretch, two in a repeated one.
func wallPoints(loc *time.Location, d date, c clock, offsets []int) []time.Time {
	asUTC := time.Date(d.y, d.m, d.d, 0, 0, 0, 0, time.UTC).Unix() + int64(c)
	var out []time.Time
	for _, off := range offsets {
		u := time.Unix(asUTC-int64(off), 0).In(loc)
		h, m, s := u.Clock()
		if dateOf(u) == d && clock(h*3600+m*60+s) == c {
			out = append(out, u)
		}
	}
	return out
}

// startOfDay is the earliest instant whose local date is d; usually local
// midnight, the end of the jump when a zone skips midnight.
func (w Window) startOfDay(d date) time.Time {
	// Local midnight is within UTC-14h..UTC+12h of UTC midnight.
	lower := time.Date(d.y, d.m, d.d, 0, 0, 0, 0, time.UTC).Add(-26 * time.Hour)
	return w.first(lower, 0, func(u time.Time) bool { return dateOf(u.In(w.Loc)) == d })
}
