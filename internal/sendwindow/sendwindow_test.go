package sendwindow_test

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"
	_ "time/tzdata" // zones resolve even where the OS has no zoneinfo

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/sendwindow"
)

var weekdays = []string{"monday", "tuesday", "wednesday", "thursday", "friday"}

func at(t *testing.T, s string) time.Time {
	t.Helper()
	u, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return u
}

func window(t *testing.T, start, end string, days []string, tz string) sendwindow.Window {
	t.Helper()
	w, err := sendwindow.Parse(start, end, days, tz)
	require.NoError(t, err)
	return w
}

func TestParse(t *testing.T) {
	t.Parallel()

	t.Run("ReadsTheSettingsFormat", func(t *testing.T) {
		t.Parallel()
		w := window(t, "09:00", "17:30", []string{"friday", "Mon", "monday", "sun"}, "Europe/Berlin")
		require.Equal(t, []time.Weekday{time.Sunday, time.Monday, time.Friday}, w.Days)
		require.Equal(t, "Europe/Berlin", w.Loc.String())
		require.Equal(t, "09:00-17:30 Sun,Mon,Fri Europe/Berlin", w.String())
	})

	bad := []struct {
		name, start, end string
		days             []string
		tz               string
	}{
		{"NoDaysNeverOpens", "09:00", "17:00", nil, "UTC"},
		{"EmptyDaysNeverOpens", "09:00", "17:00", []string{}, "UTC"},
		{"UnknownDay", "09:00", "17:00", []string{"funday"}, "UTC"},
		{"EndBeforeStartCrossesMidnight", "22:00", "02:00", weekdays, "UTC"},
		{"EmptyWindow", "09:00", "09:00", weekdays, "UTC"},
		{"StartNotAClock", "9:00", "17:00", weekdays, "UTC"},
		{"EndNotAClock", "09:00", "24:00", weekdays, "UTC"},
		{"MinutesOutOfRange", "09:60", "17:00", weekdays, "UTC"},
		{"SecondsNotAccepted", "09:00:00", "17:00", weekdays, "UTC"},
		{"EmptyZone", "09:00", "17:00", weekdays, ""},
		{"LocalZone", "09:00", "17:00", weekdays, "Local"},
		{"UnknownZone", "09:00", "17:00", weekdays, "Mars/Olympus_Mons"},
	}
	for _, tc := range bad {
		t.Run("Rejects"+tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := sendwindow.Parse(tc.start, tc.end, tc.days, tc.tz)
			require.Error(t, err)
			require.True(t, errors.Is(err, sendwindow.ErrInvalid), "%v", err)
		})
	}
}

func TestContainsAndNext(t *testing.T) {
	t.Parallel()

	ny := window(t, "09:00", "17:00", weekdays, "America/New_York")
	berlinEarly := window(t, "02:30", "04:00", []string{"saturday", "sunday", "monday"}, "Europe/Berlin")
	berlinLost := window(t, "02:15", "02:45", []string{"sunday"}, "Europe/Berlin")
	nyRepeated := window(t, "01:15", "01:45", []string{"sunday"}, "America/New_York")
	nyAcross := window(t, "00:30", "01:30", []string{"sunday"}, "America/New_York")
	lordHowe := window(t, "02:00", "03:00", []string{"sunday"}, "Australia/Lord_Howe")
	lordHoweBack := window(t, "01:30", "02:00", []string{"sunday"}, "Australia/Lord_Howe")
	tokyoSat := window(t, "10:00", "11:00", []string{"saturday"}, "Asia/Tokyo")

	cases := []struct {
		name     string
		w        sendwindow.Window
		t        string
		contains bool
		next     string
	}{
		// New York: 09:00 is 14:00Z in winter, 13:00Z in summer.
		{"NewYorkWinterOpening", ny, "2026-03-06T14:00:00Z", true, "2026-03-06T14:00:00Z"},
		{"NewYorkWinterJustBefore", ny, "2026-03-06T13:59:59Z", false, "2026-03-06T14:00:00Z"},
		{"NewYorkClosingIsOutside", ny, "2026-03-06T22:00:00Z", false, "2026-03-09T13:00:00Z"},
		{"NewYorkLastSecondInside", ny, "2026-03-06T21:59:59.999Z", true, "2026-03-06T21:59:59.999Z"},
		{"NewYorkWeekendToMondayAcrossSpringForward", ny, "2026-03-07T15:00:00Z", false, "2026-03-09T13:00:00Z"},
		{"NewYorkSummerOpening", ny, "2026-03-09T13:00:00Z", true, "2026-03-09T13:00:00Z"},
		{"NewYorkSummerBeforeOpening", ny, "2026-03-09T12:59:00Z", false, "2026-03-09T13:00:00Z"},
		{"NewYorkSummerAfterClose", ny, "2026-10-30T21:00:00Z", false, "2026-11-02T14:00:00Z"},
		{"NewYorkWinterAgainAfterFallBack", ny, "2026-11-02T13:30:00Z", false, "2026-11-02T14:00:00Z"},
		{"NewYorkNineInWinterIsInside", ny, "2026-11-02T14:00:00Z", true, "2026-11-02T14:00:00Z"},
		{"ResultIsInTheWindowsZoneButSameInstant", ny, "2026-03-06T10:00:00-04:00", true, "2026-03-06T14:00:00Z"},

		// Berlin springs forward on 29 March 2026 at 02:00 CET (01:00Z) to 03:00 CEST.
		{"BerlinDayBeforeOpensAt0230CET", berlinEarly, "2026-03-27T23:00:00Z", false, "2026-03-28T01:30:00Z"},
		{"BerlinSkippedStartOpensAtTheJump", berlinEarly, "2026-03-28T05:00:00Z", false, "2026-03-29T01:00:00Z"},
		{"BerlinTheJumpIsInside", berlinEarly, "2026-03-29T01:00:00Z", true, "2026-03-29T01:00:00Z"},
		{"BerlinBeforeTheJumpIsOutside", berlinEarly, "2026-03-29T00:59:59Z", false, "2026-03-29T01:00:00Z"},
		{"BerlinDayAfterOpensAt0230CEST", berlinEarly, "2026-03-29T02:00:00Z", false, "2026-03-30T00:30:00Z"},
		{"BerlinWindowInsideTheSkippedHourWaitsAWeek", berlinLost, "2026-03-28T12:00:00Z", false, "2026-04-05T00:15:00Z"},

		// New York falls back on 1 November 2026 at 02:00 EDT (06:00Z) to 01:00 EST.
		{"NewYorkRepeatedHourFirstOpening", nyRepeated, "2026-11-01T05:00:00Z", false, "2026-11-01T05:15:00Z"},
		{"NewYorkRepeatedHourFirstTimeInside", nyRepeated, "2026-11-01T05:30:00Z", true, "2026-11-01T05:30:00Z"},
		{"NewYorkRepeatedHourOpensAgain", nyRepeated, "2026-11-01T05:50:00Z", false, "2026-11-01T06:15:00Z"},
		{"NewYorkRepeatedHourSecondTimeInside", nyRepeated, "2026-11-01T06:30:00Z", true, "2026-11-01T06:30:00Z"},
		{"NewYorkFallBackReentersAtTheTransition", nyAcross, "2026-11-01T05:45:00Z", false, "2026-11-01T06:00:00Z"},

		// Lord Howe moves by half an hour: 02:00 -> 02:30 on 4 October
		// 2026 (15:30Z), 02:00 -> 01:30 on 5 April 2026 (15:00Z).
		{"LordHoweSkippedStartOpensAtTheJump", lordHowe, "2026-10-02T00:00:00Z", false, "2026-10-03T15:30:00Z"},
		{"LordHoweHalfHourRepeatedFirstTime", lordHoweBack, "2026-04-04T12:00:00Z", false, "2026-04-04T14:30:00Z"},
		{"LordHoweHalfHourRepeatedSecondTime", lordHoweBack, "2026-04-04T15:00:00Z", true, "2026-04-04T15:00:00Z"},
		{"LordHoweAfterBothGoesToNextSunday", lordHoweBack, "2026-04-04T15:30:00Z", false, "2026-04-11T15:00:00Z"},

		// A zone without DST and a single weekday.
		{"TokyoSaturdayOnly", tokyoSat, "2026-11-29T00:00:00Z", false, "2026-12-05T01:00:00Z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := at(t, tc.t)
			require.Equal(t, tc.contains, tc.w.Contains(in))
			next := tc.w.Next(in)
			require.True(t, at(t, tc.next).Equal(next), "Next(%s) = %s, want %s", tc.t, next.UTC().Format(time.RFC3339Nano), tc.next)
			require.Equal(t, tc.w.Loc, next.Location())
			require.True(t, tc.w.Contains(next))
		})
	}
}

func TestNextSpread(t *testing.T) {
	t.Parallel()
	ny := window(t, "09:00", "17:00", weekdays, "America/New_York")

	t.Run("SpreadsKeysOverTheWholeWindow", func(t *testing.T) {
		t.Parallel()
		from := at(t, "2026-03-06T05:00:00Z") // Friday 00:00 EST
		open, closes := at(t, "2026-03-06T14:00:00Z"), at(t, "2026-03-06T22:00:00Z")
		var hours [8]int
		for i := range 800 {
			due := ny.NextSpread(from, sendwindow.KeyOf(uuid.New()))
			require.False(t, due.Before(open), "key %d: %s", i, due)
			require.True(t, due.Before(closes), "key %d: %s", i, due)
			require.Zero(t, due.Nanosecond())
			hours[int(due.Sub(open)/time.Hour)]++
		}
		for h, n := range hours {
			// 100 expected per hour; far outside this means bunching.
			require.Greater(t, n, 50, "hour %d of the window got %d of 800", h, n)
		}
	})

	t.Run("SameKeySamePlaceOnEveryFullDayAcrossDST", func(t *testing.T) {
		t.Parallel()
		key := sendwindow.KeyOf(uuid.MustParse("0190f1f2-aaaa-7bbb-8ccc-000000000001"))
		var clocks []string
		for _, from := range []string{"2026-03-06T00:00:00Z", "2026-03-09T05:00:00Z", "2026-10-30T05:00:00Z", "2026-11-02T05:00:00Z"} {
			due := ny.NextSpread(at(t, from), key)
			require.True(t, ny.Contains(due))
			clocks = append(clocks, due.Format("15:04:05"))
		}
		for _, c := range clocks[1:] {
			require.Equal(t, clocks[0], c)
		}
		require.Equal(t, ny.NextSpread(at(t, "2026-03-06T00:00:00Z"), key), ny.NextSpread(at(t, "2026-03-06T00:00:00Z"), key))
	})

	t.Run("InsideTheWindowUsesTheRestOfIt", func(t *testing.T) {
		t.Parallel()
		now := at(t, "2026-03-06T20:00:00.250Z") // Friday 15:00:00.25 EST
		closes := at(t, "2026-03-06T22:00:00Z")
		for range 200 {
			due := ny.NextSpread(now, rand.Uint64())
			require.False(t, due.Before(now))
			require.True(t, due.Before(closes), "%s", due)
		}
	})

	t.Run("DifferentKeysDifferentTimes", func(t *testing.T) {
		t.Parallel()
		from := at(t, "2026-03-06T05:00:00Z")
		a, b := ny.NextSpread(from, 1), ny.NextSpread(from, 2)
		require.NotEqual(t, a, b)
	})

	t.Run("OnlyTheFirstOpeningOfARepeatedHour", func(t *testing.T) {
		t.Parallel()
		w := window(t, "01:15", "01:45", []string{"sunday"}, "America/New_York")
		for range 100 {
			due := w.NextSpread(at(t, "2026-11-01T04:00:00Z"), rand.Uint64())
			require.False(t, due.Before(at(t, "2026-11-01T05:15:00Z")))
			require.True(t, due.Before(at(t, "2026-11-01T05:45:00Z")))
		}
	})

	t.Run("SkippedStartSpreadsOverWhatIsLeft", func(t *testing.T) {
		t.Parallel()
		w := window(t, "02:30", "04:00", []string{"sunday"}, "Europe/Berlin")
		for range 100 {
			due := w.NextSpread(at(t, "2026-03-28T12:00:00Z"), rand.Uint64())
			// 03:00 CEST (the jump) to 04:00 CEST.
			require.False(t, due.Before(at(t, "2026-03-29T01:00:00Z")))
			require.True(t, due.Before(at(t, "2026-03-29T02:00:00Z")))
		}
	})
}

func TestSchedule(t *testing.T) {
	t.Parallel()
	ny := window(t, "09:00", "17:00", weekdays, "America/New_York")
	key := sendwindow.KeyOf(uuid.MustParse("0190f1f2-aaaa-7bbb-8ccc-000000000002"))
	position := ny.NextSpread(at(t, "2026-03-02T05:00:00Z"), key).Format("15:04:05") // a full Monday

	cases := []struct {
		name, after string
		delay       int
		day         string // local date the step lands on
	}{
		{"ThreeDaysLaterSameClock", "2026-03-02T15:00:00Z", 3, "2026-03-05"},
		{"LandingOnSaturdayWaitsForMonday", "2026-03-04T15:00:00Z", 3, "2026-03-09"},
		{"CalendarDaysAcrossSpringForward", "2026-03-06T21:30:00Z", 3, "2026-03-09"},
		{"CalendarDaysAcrossFallBack", "2026-10-30T13:30:00Z", 3, "2026-11-02"},
		{"LateEveningCountsFromTheLocalDate", "2026-03-03T04:30:00Z", 1, "2026-03-03"}, // Mon 23:30 EST
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			after := at(t, tc.after)
			due := ny.Schedule(after, tc.delay, key)
			require.True(t, due.After(after))
			require.True(t, ny.Contains(due))
			require.Equal(t, tc.day, due.Format(time.DateOnly))
			require.Equal(t, position, due.Format("15:04:05"))
		})
	}

	t.Run("ZeroDelayIsNextSpread", func(t *testing.T) {
		t.Parallel()
		after := at(t, "2026-03-02T15:00:00Z")
		require.Equal(t, ny.NextSpread(after, key), ny.Schedule(after, 0, key))
		require.Equal(t, ny.NextSpread(after, key), ny.Schedule(after, -2, key))
	})
}

func TestGap(t *testing.T) {
	t.Parallel()

	t.Run("StaysBetweenMinAndMinPlusJitter", func(t *testing.T) {
		t.Parallel()
		r := rand.New(rand.NewPCG(1, 2))
		var lo, hi bool
		for range 1000 {
			g := sendwindow.Gap(2*time.Minute, 0.5, r)
			require.GreaterOrEqual(t, g, 2*time.Minute)
			require.Less(t, g, 3*time.Minute)
			lo = lo || g < 2*time.Minute+15*time.Second
			hi = hi || g > 3*time.Minute-15*time.Second
		}
		require.True(t, lo && hi, "jitter should reach both ends of its range")
	})

	t.Run("DeterministicForASeed", func(t *testing.T) {
		t.Parallel()
		a := sendwindow.Gap(time.Minute, 1, rand.New(rand.NewPCG(7, 7)))
		b := sendwindow.Gap(time.Minute, 1, rand.New(rand.NewPCG(7, 7)))
		require.Equal(t, a, b)
	})

	t.Run("EdgeCases", func(t *testing.T) {
		t.Parallel()
		r := rand.New(rand.NewPCG(3, 4))
		require.Equal(t, time.Minute, sendwindow.Gap(time.Minute, 0, r))
		require.Equal(t, time.Minute, sendwindow.Gap(time.Minute, -1, r))
		require.Equal(t, time.Duration(0), sendwindow.Gap(0, 0.5, r))
		require.Equal(t, time.Duration(0), sendwindow.Gap(-time.Second, 0.5, r))
		require.Equal(t, time.Duration(1<<63-1), sendwindow.Gap(time.Duration(1<<62), 10, r))
		g := sendwindow.Gap(time.Minute, 0.5, nil)
		require.GreaterOrEqual(t, g, time.Minute)
		require.Less(t, g, 90*time.Second)
	})
}

func TestZeroWindowPanicsWithAReason(t *testing.T) {
	t.Parallel()
	require.False(t, sendwindow.Window{}.Contains(time.Unix(0, 0)))
	require.PanicsWithValue(t, "sendwindow: window 00:00-00:00  <nil> never opens; build windows with Parse", func() {
		sendwindow.Window{}.Next(time.Unix(0, 0))
	})
}

var fuzzZones = []string{
	"UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Pacific/Apia",
	"America/Sao_Paulo", "Asia/Kolkata", "Pacific/Chatham", "America/Santiago", "Africa/Casablanca",
}

func FuzzNext(f *testing.F) {
	f.Add(uint8(1), uint16(540), uint16(480), uint8(0b0111110), int64(1772946000), uint64(1)) // NY spring forward
	f.Add(uint8(2), uint16(150), uint16(90), uint8(0b1000001), int64(1774746000), uint64(2))  // Berlin skipped start
	f.Add(uint8(3), uint16(120), uint16(60), uint8(0b0000001), int64(1775311200), uint64(3))  // Lord Howe
	f.Add(uint8(4), uint16(0), uint16(1439), uint8(0b0100000), int64(1325152800), uint64(4))  // Apia skipped 30 Dec 2011
	f.Add(uint8(1), uint16(75), uint16(30), uint8(0b0000001), int64(1793509200), uint64(5))   // NY repeated hour
	f.Fuzz(func(t *testing.T, zone uint8, start, length uint16, days uint8, unix int64, key uint64) {
		s := int(start) % 1439
		e := s + 1 + int(length)%(1439-s)
		var names []string
		for i, n := range []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"} {
			if days&(1<<i) != 0 {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			names = []string{"wednesday"}
		}
		clock := func(m int) string { return time.Date(0, 1, 1, m/60, m%60, 0, 0, time.UTC).Format("15:04") }
		w, err := sendwindow.Parse(clock(s), clock(e), names, fuzzZones[int(zone)%len(fuzzZones)])
		require.NoError(t, err)
		// 1902..2100: past and future zone rules both.
		in := time.Unix(-2145916800+int64(uint64(unix)%(6280000000)), int64(uint64(key)%1e9))

		next := w.Next(in)
		require.False(t, next.Before(in), "%s: Next(%s) = %s", w, in, next)
		require.True(t, w.Contains(next), "%s: Next(%s) = %s", w, in, next)
		require.True(t, w.Next(next).Equal(next), "%s: Next not idempotent at %s", w, next)
		if w.Contains(in) {
			require.True(t, next.Equal(in))
		} else {
			// Nothing in between was inside: probe a few instants.
			for i := int64(1); i < 8; i++ {
				probe := in.Add(time.Duration(i) * next.Sub(in) / 8)
				require.False(t, w.Contains(probe), "%s: %s is inside, before Next(%s) = %s", w, probe, in, next)
			}
		}

		spread := w.NextSpread(in, key)
		require.False(t, spread.Before(next), "%s: NextSpread(%s) = %s before Next %s", w, in, spread, next)
		require.True(t, w.Contains(spread), "%s: NextSpread(%s) = %s", w, in, spread)

		sched := w.Schedule(in, int(key%30), key)
		require.False(t, sched.Before(in))
		require.True(t, w.Contains(sched), "%s: Schedule(%s) = %s", w, in, sched)
	})
}
