package campaigns_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/campaigns"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/orgs"
)

func valid() campaigns.Settings { return campaigns.DefaultSettings(orgs.DefaultSettings()) }

func problems(st campaigns.Settings) []string {
	var f fault.Fields
	campaigns.ValidateSettings(st, "/settings", &f)
	out := []string{}
	for _, e := range f {
		out = append(out, e.Field+" "+e.Code)
	}
	return out
}

func TestValidateSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*campaigns.Settings)
		want   []string
	}{
		{"TheDefaultsAreValid", func(*campaigns.Settings) {}, []string{}},
		{"OneStepIsEnough", func(s *campaigns.Settings) { s.SequenceLength, s.DelayBetweenStepsDays = 1, []int{0} }, []string{}},
		{"TenStepsAreTheMost", func(s *campaigns.Settings) {
			s.SequenceLength, s.DelayBetweenStepsDays = 10, campaigns.DefaultDelays(10)
		}, []string{}},
		{"ZeroStepsAreRefused", func(s *campaigns.Settings) { s.SequenceLength, s.DelayBetweenStepsDays = 0, nil },
			[]string{"/settings/sequence_length out_of_range"}},
		{"ElevenStepsAreRefused", func(s *campaigns.Settings) {
			s.SequenceLength, s.DelayBetweenStepsDays = 11, campaigns.DefaultDelays(11)
		}, []string{"/settings/sequence_length out_of_range"}},
		{"DelaysMustMatchTheLength", func(s *campaigns.Settings) { s.DelayBetweenStepsDays = []int{0, 3} },
			[]string{"/settings/delay_between_steps_days length_mismatch"}},
		{"NegativeDelaysAreRefused", func(s *campaigns.Settings) { s.DelayBetweenStepsDays = []int{-1, 3, 5} },
			[]string{"/settings/delay_between_steps_days/0 out_of_range"}},
		{"DelaysPastAYearAreRefused", func(s *campaigns.Settings) { s.DelayBetweenStepsDays = []int{0, 3, 366} },
			[]string{"/settings/delay_between_steps_days/2 out_of_range"}},
		{"DecreasingDelaysAreRefused", func(s *campaigns.Settings) { s.DelayBetweenStepsDays = []int{0, 5, 3} },
			[]string{"/settings/delay_between_steps_days/2 decreasing"}},
		{"EqualDelaysAreFine", func(s *campaigns.Settings) { s.DelayBetweenStepsDays = []int{0, 0, 0} }, []string{}},
		{"EveryApprovalModeIsKnown", func(s *campaigns.Settings) { s.ApprovalMode = campaigns.FullAutopilot }, []string{}},
		{"AnUnsetApprovalModeIsApproveAll", func(s *campaigns.Settings) { s.ApprovalMode = "" }, []string{}},
		{"AnUnknownApprovalModeIsRefused", func(s *campaigns.Settings) { s.ApprovalMode = "yolo" },
			[]string{"/settings/approval_mode invalid_approval_mode"}},
		{"TheZoneMustBeIANA", func(s *campaigns.Settings) { s.Timezone = "Mars/Olympus" },
			[]string{"/settings/timezone invalid_timezone"}},
		{"LocalIsNotAZone", func(s *campaigns.Settings) { s.Timezone = "Local" },
			[]string{"/settings/timezone invalid_timezone"}},
		{"TheWindowMustOpenBeforeItCloses", func(s *campaigns.Settings) { s.SendWindowStart, s.SendWindowEnd = "17:00", "09:00" },
			[]string{"/settings/send_window_end window_order"}},
		{"AnEmptyWindowIsRefused", func(s *campaigns.Settings) { s.SendWindowStart, s.SendWindowEnd = "09:00", "09:00" },
			[]string{"/settings/send_window_end window_order"}},
		{"TimesAreHHMM", func(s *campaigns.Settings) { s.SendWindowStart = "9am" },
			[]string{"/settings/send_window_start invalid_time"}},
		{"SendDaysAreWeekdays", func(s *campaigns.Settings) { s.SendDays = []string{"monday", "funday"} },
			[]string{"/settings/send_days/1 invalid_weekday"}},
		{"SendDaysDoNotRepeat", func(s *campaigns.Settings) { s.SendDays = []string{"monday", "monday"} },
			[]string{"/settings/send_days/1 duplicate"}},
		{"SomeSendDayIsNeeded", func(s *campaigns.Settings) { s.SendDays = nil },
			[]string{"/settings/send_days required"}},
		{"EveryProblemIsReported", func(s *campaigns.Settings) {
			s.DelayBetweenStepsDays = []int{0, 5}
			s.Timezone = "Nowhere"
		}, []string{"/settings/delay_between_steps_days length_mismatch", "/settings/timezone invalid_timezone"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := valid()
			tc.mutate(&st)
			require.Equal(t, tc.want, problems(st))
		})
	}
}

func TestDefaultSettings(t *testing.T) {
	t.Parallel()
	t.Run("FollowTheOrganisation", func(t *testing.T) {
		t.Parallel()
		org := orgs.Settings{Timezone: "Europe/Berlin", DefaultSequenceLength: 4, SendWindowStart: "08:30", SendWindowEnd: "16:00", SendDays: []string{"tuesday"}}
		got := campaigns.DefaultSettings(org)
		require.Equal(t, campaigns.Settings{
			SequenceLength: 4, DelayBetweenStepsDays: []int{0, 3, 5, 7}, StopOnReply: true, ApprovalMode: campaigns.ApproveAll,
			Timezone: "Europe/Berlin", SendWindowStart: "08:30", SendWindowEnd: "16:00", SendDays: []string{"tuesday"},
		}, got)
	})
	t.Run("MatchTheSpecForThreeSteps", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, []int{0, 3, 5}, campaigns.DefaultDelays(3))
	})
}

func TestSettingsPatchApply(t *testing.T) {
	t.Parallel()
	five, two := 5, 2
	delays := []int{0, 1, 2, 3}
	tz := "Asia/Tokyo"
	tests := []struct {
		name   string
		patch  campaigns.SettingsPatch
		length int
		delays []int
	}{
		{"NothingSentKeepsEverything", campaigns.SettingsPatch{}, 3, []int{0, 3, 5}},
		{"ALengthAloneBringsItsDefaultDelays", campaigns.SettingsPatch{SequenceLength: &five}, 5, []int{0, 3, 5, 7, 9}},
		{"DelaysAloneSetTheLength", campaigns.SettingsPatch{DelayBetweenStepsDays: &delays}, 4, []int{0, 1, 2, 3}},
		{"BothSentAreTakenAsSent", campaigns.SettingsPatch{SequenceLength: &two, DelayBetweenStepsDays: &delays}, 2, []int{0, 1, 2, 3}},
		{"OtherKeysLeaveTheSteps", campaigns.SettingsPatch{Timezone: &tz}, 3, []int{0, 3, 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cur := valid()
			got := tc.patch.Apply(cur)
			require.Equal(t, tc.length, got.SequenceLength)
			require.Equal(t, tc.delays, got.DelayBetweenStepsDays)
			require.Equal(t, []int{0, 3, 5}, cur.DelayBetweenStepsDays, "the current settings are not changed in place")
		})
	}
}
