package orgs_test

import (
	"regexp"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // zones resolve even where the OS has no zoneinfo

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/orgs"
)

// withSettings returns DefaultSettings changed by mutate.
func withSettings(mutate func(s *orgs.Settings)) orgs.Settings {
	s := orgs.DefaultSettings()
	mutate(&s)
	return s
}

// reported is each field error as "pointer code", in order.
func reported(f fault.Fields) []string {
	var out []string
	for _, fe := range f {
		out = append(out, fe.Field+" "+fe.Code)
	}
	return out
}

func TestValidateSettings(t *testing.T) {
	t.Parallel()

	t.Run("DefaultSettingsAreValid", func(t *testing.T) {
		t.Parallel()
		var f fault.Fields
		orgs.ValidateSettings(orgs.DefaultSettings(), "/settings", &f)
		require.Empty(t, f)
		require.NoError(t, f.Err())
	})
	t.Run("ProblemsBecomeOneValidationFault", func(t *testing.T) {
		t.Parallel()
		var f fault.Fields
		orgs.ValidateSettings(withSettings(func(s *orgs.Settings) {
			s.Timezone = "Mars/Base"
			s.SendDays = nil
		}), "/settings", &f)
		err := f.Err()
		require.True(t, fault.IsKind(err, fault.KindInvalid), "got %v", err)
		fe, ok := fault.As(err)
		require.True(t, ok)
		require.Len(t, fe.Fields, 2)
		require.Equal(t, "/settings/timezone", fe.Fields[0].Field)
		require.Contains(t, fe.Fields[0].Message, "Mars/Base")
		require.Equal(t, "/settings/send_days", fe.Fields[1].Field)
	})
	t.Run("PointersStartAtTheGivenBase", func(t *testing.T) {
		t.Parallel()
		var f fault.Fields
		orgs.ValidateSettings(withSettings(func(s *orgs.Settings) {
			s.DefaultSequenceLength = 0
			s.SendDays = []string{"friday", "friday"}
		}), "/organization/settings", &f)
		require.Equal(t, []string{
			"/organization/settings/default_sequence_length out_of_range",
			"/organization/settings/send_days/1 duplicate",
		}, reported(f))
	})
	t.Run("ExistingFieldErrorsAreKept", func(t *testing.T) {
		t.Parallel()
		f := fault.Fields{{Field: "/name", Code: "required", Message: "must not be blank"}}
		orgs.ValidateSettings(withSettings(func(s *orgs.Settings) { s.Timezone = "" }), "/settings", &f)
		require.Equal(t, []string{"/name required", "/settings/timezone invalid_timezone"}, reported(f))
	})

	for name, tc := range map[string]struct {
		mutate func(s *orgs.Settings)
		want   []string // "pointer code" in report order; nil means valid
	}{
		// Time zones.
		"AcceptsUTC":              {mutate: func(s *orgs.Settings) { s.Timezone = "UTC" }},
		"AcceptsEuropeBerlin":     {mutate: func(s *orgs.Settings) { s.Timezone = "Europe/Berlin" }},
		"AcceptsAmericaNewYork":   {mutate: func(s *orgs.Settings) { s.Timezone = "America/New_York" }},
		"AcceptsAsiaKolkata":      {mutate: func(s *orgs.Settings) { s.Timezone = "Asia/Kolkata" }},
		"RejectsAMadeUpZone":      {mutate: func(s *orgs.Settings) { s.Timezone = "Mars/Base" }, want: []string{"/settings/timezone invalid_timezone"}},
		"RejectsAnEmptyZone":      {mutate: func(s *orgs.Settings) { s.Timezone = "" }, want: []string{"/settings/timezone invalid_timezone"}},
		"RejectsLocal":            {mutate: func(s *orgs.Settings) { s.Timezone = "Local" }, want: []string{"/settings/timezone invalid_timezone"}},
		"RejectsLowercaseLocal":   {mutate: func(s *orgs.Settings) { s.Timezone = "local" }, want: []string{"/settings/timezone invalid_timezone"}},
		"RejectsAnAbsolutePath":   {mutate: func(s *orgs.Settings) { s.Timezone = "/etc/localtime" }, want: []string{"/settings/timezone invalid_timezone"}},
		"RejectsPathTraversal":    {mutate: func(s *orgs.Settings) { s.Timezone = "../../etc/passwd" }, want: []string{"/settings/timezone invalid_timezone"}},
		"RejectsAnOffsetOnlyZone": {mutate: func(s *orgs.Settings) { s.Timezone = "+02:00" }, want: []string{"/settings/timezone invalid_timezone"}},

		// Sequence length.
		"AcceptsSequenceLengthOne": {mutate: func(s *orgs.Settings) { s.DefaultSequenceLength = 1 }},
		"AcceptsSequenceLengthTen": {mutate: func(s *orgs.Settings) { s.DefaultSequenceLength = 10 }},
		"RejectsSequenceLengthZero": {
			mutate: func(s *orgs.Settings) { s.DefaultSequenceLength = 0 },
			want:   []string{"/settings/default_sequence_length out_of_range"},
		},
		"RejectsSequenceLengthEleven": {
			mutate: func(s *orgs.Settings) { s.DefaultSequenceLength = 11 },
			want:   []string{"/settings/default_sequence_length out_of_range"},
		},
		"RejectsANegativeSequenceLength": {
			mutate: func(s *orgs.Settings) { s.DefaultSequenceLength = -3 },
			want:   []string{"/settings/default_sequence_length out_of_range"},
		},

		// Send window.
		"AcceptsTheWholeDay":      {mutate: func(s *orgs.Settings) { s.SendWindowStart, s.SendWindowEnd = "00:00", "23:59" }},
		"AcceptsAOneMinuteGap":    {mutate: func(s *orgs.Settings) { s.SendWindowStart, s.SendWindowEnd = "09:59", "10:00" }},
		"AcceptsEveningHours":     {mutate: func(s *orgs.Settings) { s.SendWindowStart, s.SendWindowEnd = "19:30", "21:45" }},
		"RejectsHour24":           {mutate: func(s *orgs.Settings) { s.SendWindowEnd = "24:00" }, want: []string{"/settings/send_window_end invalid_time"}},
		"RejectsASingleDigitHour": {mutate: func(s *orgs.Settings) { s.SendWindowStart = "9:00" }, want: []string{"/settings/send_window_start invalid_time"}},
		"RejectsMinute60":         {mutate: func(s *orgs.Settings) { s.SendWindowStart = "09:60" }, want: []string{"/settings/send_window_start invalid_time"}},
		"RejectsSeconds":          {mutate: func(s *orgs.Settings) { s.SendWindowEnd = "17:00:00" }, want: []string{"/settings/send_window_end invalid_time"}},
		"RejectsTwelveHourClock":  {mutate: func(s *orgs.Settings) { s.SendWindowStart = "9am" }, want: []string{"/settings/send_window_start invalid_time"}},
		"RejectsPaddedTime":       {mutate: func(s *orgs.Settings) { s.SendWindowStart = " 09:00" }, want: []string{"/settings/send_window_start invalid_time"}},
		"RejectsAnEmptyWindow": {
			mutate: func(s *orgs.Settings) { s.SendWindowStart, s.SendWindowEnd = "", "" },
			want:   []string{"/settings/send_window_start invalid_time", "/settings/send_window_end invalid_time"},
		},
		"RejectsAWindowThatClosesBeforeItOpens": {
			mutate: func(s *orgs.Settings) { s.SendWindowStart, s.SendWindowEnd = "18:00", "09:00" },
			want:   []string{"/settings/send_window_end window_order"},
		},
		"RejectsAnEmptyWindowOfEqualTimes": {
			mutate: func(s *orgs.Settings) { s.SendWindowStart, s.SendWindowEnd = "12:00", "12:00" },
			want:   []string{"/settings/send_window_end window_order"},
		},
		"DoesNotCompareTheOrderOfAnInvalidTime": {
			mutate: func(s *orgs.Settings) { s.SendWindowStart, s.SendWindowEnd = "23:00", "9:00" },
			want:   []string{"/settings/send_window_end invalid_time"},
		},

		// Send days.
		"AcceptsOneDay": {mutate: func(s *orgs.Settings) { s.SendDays = []string{"sunday"} }},
		"AcceptsEveryDay": {mutate: func(s *orgs.Settings) {
			s.SendDays = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
		}},
		"AcceptsDaysInAnyOrder": {mutate: func(s *orgs.Settings) { s.SendDays = []string{"friday", "monday"} }},
		"RejectsNilSendDays":    {mutate: func(s *orgs.Settings) { s.SendDays = nil }, want: []string{"/settings/send_days required"}},
		"RejectsEmptySendDays":  {mutate: func(s *orgs.Settings) { s.SendDays = []string{} }, want: []string{"/settings/send_days required"}},
		"RejectsAnUnknownWeekday": {
			mutate: func(s *orgs.Settings) { s.SendDays = []string{"monday", "funday"} },
			want:   []string{"/settings/send_days/1 invalid_weekday"},
		},
		"RejectsACapitalisedWeekday": {
			mutate: func(s *orgs.Settings) { s.SendDays = []string{"Monday"} },
			want:   []string{"/settings/send_days/0 invalid_weekday"},
		},
		"RejectsAnAbbreviatedWeekday": {
			mutate: func(s *orgs.Settings) { s.SendDays = []string{"mon", "tue"} },
			want:   []string{"/settings/send_days/0 invalid_weekday", "/settings/send_days/1 invalid_weekday"},
		},
		"RejectsADuplicateWeekdayAtItsSecondIndex": {
			mutate: func(s *orgs.Settings) { s.SendDays = []string{"monday", "tuesday", "monday"} },
			want:   []string{"/settings/send_days/2 duplicate"},
		},
		"ReportsEachRepeat": {
			mutate: func(s *orgs.Settings) { s.SendDays = []string{"friday", "friday", "friday"} },
			want:   []string{"/settings/send_days/1 duplicate", "/settings/send_days/2 duplicate"},
		},
		"ReportsAnUnknownRepeatAsUnknown": {
			mutate: func(s *orgs.Settings) { s.SendDays = []string{"funday", "funday"} },
			want:   []string{"/settings/send_days/0 invalid_weekday", "/settings/send_days/1 invalid_weekday"},
		},

		// Default country.
		"AcceptsNoDefaultCountry":           {mutate: func(s *orgs.Settings) { s.DefaultCountry = "" }},
		"AcceptsDefaultCountryGB":           {mutate: func(s *orgs.Settings) { s.DefaultCountry = "GB" }},
		"RejectsALowerCaseDefaultCountry":   {mutate: func(s *orgs.Settings) { s.DefaultCountry = "gb" }, want: []string{"/settings/default_country invalid_country"}},
		"RejectsAnUnknownDefaultCountry":    {mutate: func(s *orgs.Settings) { s.DefaultCountry = "XX" }, want: []string{"/settings/default_country invalid_country"}},
		"RejectsAThreeLetterDefaultCountry": {mutate: func(s *orgs.Settings) { s.DefaultCountry = "GBR" }, want: []string{"/settings/default_country invalid_country"}},

		// Everything at once, in report order.
		"ReportsEveryProblem": {
			mutate: func(s *orgs.Settings) {
				*s = orgs.Settings{
					Timezone: "Local", DefaultSequenceLength: 11,
					SendWindowStart: "9:00", SendWindowEnd: "24:00",
					SendDays: []string{"monday", "someday", "monday"},
				}
			},
			want: []string{
				"/settings/timezone invalid_timezone",
				"/settings/default_sequence_length out_of_range",
				"/settings/send_window_start invalid_time",
				"/settings/send_window_end invalid_time",
				"/settings/send_days/1 invalid_weekday",
				"/settings/send_days/2 duplicate",
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var f fault.Fields
			orgs.ValidateSettings(withSettings(tc.mutate), "/settings", &f)
			require.Equal(t, tc.want, reported(f))
			if tc.want == nil {
				require.NoError(t, f.Err())
			} else {
				require.True(t, fault.IsKind(f.Err(), fault.KindInvalid))
			}
		})
	}
}

var slugShape = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func TestSlugify(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		in   string
		want string // "" means: only check the shape
	}{
		"LowercasesAndJoinsWords":            {in: "Acme Widgets, Inc.", want: "acme-widgets-inc"},
		"KeepsDigits":                        {in: "Route 66 Diner", want: "route-66-diner"},
		"CollapsesRunsOfSeparators":          {in: "Hello   --  World!!", want: "hello-world"},
		"TrimsLeadingAndTrailingPunctuation": {in: "  ...Acme!!  ", want: "acme"},
		"KeepsAnAlreadyValidSlug":            {in: "acme-widgets", want: "acme-widgets"},
		"FallsBackForBlank":                  {in: "  ", want: "org"},
		"FallsBackForEmpty":                  {in: "", want: "org"},
		"FallsBackForOnlyPunctuation":        {in: "---!!!", want: "org"},
		"FallsBackForNonLatinScript":         {in: "日本語", want: "org"},
		"DropsAccentedLetters":               {in: "Ünïcode", want: ""},
		"HandlesMixedScripts":                {in: "Café Zürich 2", want: ""},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := orgs.Slugify(tc.in)
			require.NotEmpty(t, got)
			require.Regexp(t, slugShape, got)
			require.LessOrEqual(t, len(got), 60)
			if tc.want != "" {
				require.Equal(t, tc.want, got)
			}
		})
	}
	t.Run("LongNamesAreCutTo60WithoutATrailingDash", func(t *testing.T) {
		t.Parallel()
		for _, name := range []string{
			strings.Repeat("a", 200),
			strings.Repeat("ab ", 67),   // the cut lands just after a dash
			strings.Repeat("abcd ", 40), // the cut lands mid-word
			strings.Repeat("Ü x ", 50),  // multi-byte letters dropped before the cut
			strings.Repeat("word-", 40) + "end",
		} {
			got := orgs.Slugify(name)
			require.LessOrEqual(t, len(got), 60, name)
			require.GreaterOrEqual(t, len(got), 55, name)
			require.Regexp(t, slugShape, got, name)
			require.False(t, strings.HasSuffix(got, "-"), got)
		}
	})
	t.Run("SixtyCharacterSlugIsKeptWhole", func(t *testing.T) {
		t.Parallel()
		name := strings.Repeat("x", 60)
		require.Equal(t, name, orgs.Slugify(name))
	})
}

func TestInviteStatus(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 6, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }

	for name, tc := range map[string]struct {
		invite orgs.Invite
		want   string
	}{
		"PendingBeforeExpiry":              {invite: orgs.Invite{ExpiresAt: now.Add(time.Hour)}, want: "pending"},
		"PendingOneNanosecondBefore":       {invite: orgs.Invite{ExpiresAt: now.Add(time.Nanosecond)}, want: "pending"},
		"ExpiredAtTheExpiryInstant":        {invite: orgs.Invite{ExpiresAt: now}, want: "expired"},
		"ExpiredAfterExpiry":               {invite: orgs.Invite{ExpiresAt: now.Add(-time.Hour)}, want: "expired"},
		"AcceptedBeforeExpiry":             {invite: orgs.Invite{ExpiresAt: now.Add(time.Hour), AcceptedAt: at(-time.Minute)}, want: "accepted"},
		"AcceptedStaysAcceptedAfterExpiry": {invite: orgs.Invite{ExpiresAt: now.Add(-time.Hour), AcceptedAt: at(-2 * time.Hour)}, want: "accepted"},
		"RevokedBeforeExpiry":              {invite: orgs.Invite{ExpiresAt: now.Add(time.Hour), RevokedAt: at(-time.Minute)}, want: "revoked"},
		"RevokedWinsOverExpired":           {invite: orgs.Invite{ExpiresAt: now.Add(-time.Hour), RevokedAt: at(-2 * time.Hour)}, want: "revoked"},
		"AcceptedWinsOverRevoked":          {invite: orgs.Invite{ExpiresAt: now.Add(time.Hour), AcceptedAt: at(-time.Minute), RevokedAt: at(-time.Second)}, want: "accepted"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.invite.Status(now))
		})
	}
}
