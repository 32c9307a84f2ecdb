package campaigns

import (
	"fmt"

	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/orgs"
)

// Limits on a sequence.
const (
	MaxSequenceLength = 10
	MaxDelayDays      = 365
)

// Settings are how a campaign sends: the number of steps and the days
// after the start each step waits for, whether a reply stops the lead's
// sequence, and when sending may happen. The JSON keys are the spec's (the
// campaigns.settings column), plus send_days.
type Settings struct {
	SequenceLength        int      `json:"sequence_length"`
	DelayBetweenStepsDays []int    `json:"delay_between_steps_days"`
	StopOnReply           bool     `json:"stop_on_reply"`
	Timezone              string   `json:"timezone"`
	SendWindowStart       string   `json:"send_window_start"`
	SendWindowEnd         string   `json:"send_window_end"`
	SendDays              []string `json:"send_days"`
	// ApprovalMode is what needs a person: ApproveAll, ApproveList or
	// FullAutopilot; empty (campaigns made before it existed) is
	// ApproveAll. Read it through Approval.
	ApprovalMode string `json:"approval_mode,omitempty"`
	// MaxNewLeadsPerDay caps the first steps the campaign sends per day
	// (0: no cap of its own; the engine's SENDING_CAMPAIGN_NEW_LEADS_DAILY
	// applies).
	MaxNewLeadsPerDay int `json:"max_new_leads_per_day,omitempty"`
	// PauseReason says why the sending engine paused the campaign (the
	// deliverability guard); read-only, cleared on resume.
	PauseReason string `json:"pause_reason,omitempty"`
}

// Approval modes (the spec's autopilot levels).
const (
	ApproveAll    = "approve_all"
	ApproveList   = "approve_list"
	FullAutopilot = "full_autopilot"
)

// Approval is st's approval mode, ApproveAll when unset.
func (st Settings) Approval() string {
	if st.ApprovalMode == "" {
		return ApproveAll
	}
	return st.ApprovalMode
}

// SettingsPatch holds the settings keys sent; nil keeps the current value.
type SettingsPatch struct {
	SequenceLength        *int
	DelayBetweenStepsDays *[]int
	StopOnReply           *bool
	Timezone              *string
	SendWindowStart       *string
	SendWindowEnd         *string
	SendDays              *[]string
	ApprovalMode          *string
	MaxNewLeadsPerDay     *int
}

// DefaultSettings are a new campaign's settings: the organisation's
// sending defaults (zone, window, days, sequence length), stopping on
// reply, and the default delays for that length.
func DefaultSettings(org orgs.Settings) Settings {
	n := org.DefaultSequenceLength
	if n < 1 || n > MaxSequenceLength {
		n = 3
	}
	return Settings{
		SequenceLength: n, DelayBetweenStepsDays: DefaultDelays(n), StopOnReply: true,
		Timezone: org.Timezone, SendWindowStart: org.SendWindowStart, SendWindowEnd: org.SendWindowEnd,
		SendDays: append([]string(nil), org.SendDays...), ApprovalMode: ApproveAll,
	}
}

// DefaultDelays are the spec's [0, 3, 5] days, carried on two days apart
// for longer sequences.
func DefaultDelays(n int) []int {
	d := make([]int, 0, max(n, 0))
	for i := range n {
		switch i {
		case 0:
			d = append(d, 0)
		case 1:
			d = append(d, 3)
		default:
			d = append(d, d[i-1]+2)
		}
	}
	return d
}

// Apply returns cur with the keys of p that were sent. The sequence length
// and the delays go together: sending only the length brings the default
// delays for it, sending only the delays sets the length to theirs.
func (p SettingsPatch) Apply(cur Settings) Settings {
	out := cur
	out.DelayBetweenStepsDays = append([]int(nil), cur.DelayBetweenStepsDays...)
	out.SendDays = append([]string(nil), cur.SendDays...)
	switch {
	case p.SequenceLength != nil && p.DelayBetweenStepsDays != nil:
		out.SequenceLength, out.DelayBetweenStepsDays = *p.SequenceLength, append([]int(nil), (*p.DelayBetweenStepsDays)...)
	case p.SequenceLength != nil:
		out.SequenceLength = *p.SequenceLength
		if *p.SequenceLength != len(cur.DelayBetweenStepsDays) && *p.SequenceLength >= 0 && *p.SequenceLength <= MaxSequenceLength {
			out.DelayBetweenStepsDays = DefaultDelays(*p.SequenceLength)
		}
	case p.DelayBetweenStepsDays != nil:
		out.DelayBetweenStepsDays = append([]int(nil), (*p.DelayBetweenStepsDays)...)
		out.SequenceLength = len(out.DelayBetweenStepsDays)
	}
	if p.StopOnReply != nil {
		out.StopOnReply = *p.StopOnReply
	}
	if p.Timezone != nil {
		out.Timezone = *p.Timezone
	}
	if p.SendWindowStart != nil {
		out.SendWindowStart = *p.SendWindowStart
	}
	if p.SendWindowEnd != nil {
		out.SendWindowEnd = *p.SendWindowEnd
	}
	if p.SendDays != nil {
		out.SendDays = append([]string(nil), (*p.SendDays)...)
	}
	if p.ApprovalMode != nil {
		out.ApprovalMode = *p.ApprovalMode
	}
	if p.MaxNewLeadsPerDay != nil {
		out.MaxNewLeadsPerDay = *p.MaxNewLeadsPerDay
	}
	return out
}

// ValidateSettings checks a campaign's settings: 1-10 steps with one delay
// each, delays from 0 to 365 days that never decrease (each is days after
// the start, so a later step cannot come before an earlier one), and the
// schedule rule organisations use too (orgs.ValidateSchedule). base is the
// JSON pointer of the settings object.
func ValidateSettings(st Settings, base string, f *fault.Fields) {
	lengthOK := st.SequenceLength >= 1 && st.SequenceLength <= MaxSequenceLength
	if !lengthOK {
		f.Add(base+"/sequence_length", "out_of_range", fmt.Sprintf("must be between 1 and %d", MaxSequenceLength))
	}
	if lengthOK && len(st.DelayBetweenStepsDays) != st.SequenceLength {
		f.Add(base+"/delay_between_steps_days", "length_mismatch",
			fmt.Sprintf("must have one delay per step: %d, not %d", st.SequenceLength, len(st.DelayBetweenStepsDays)))
	}
	for i, d := range st.DelayBetweenStepsDays {
		ptr := fmt.Sprintf("%s/delay_between_steps_days/%d", base, i)
		switch {
		case d < 0 || d > MaxDelayDays:
			f.Add(ptr, "out_of_range", fmt.Sprintf("must be between 0 and %d days", MaxDelayDays))
		case i > 0 && d < st.DelayBetweenStepsDays[i-1]:
			f.Add(ptr, "decreasing", "must not be less than the delay before it")
		}
	}
	if st.MaxNewLeadsPerDay < 0 || st.MaxNewLeadsPerDay > 100000 {
		f.Add(base+"/max_new_leads_per_day", "out_of_range", "must be between 0 (no cap) and 100000")
	}
	switch st.Approval() {
	case ApproveAll, ApproveList, FullAutopilot:
	default:
		f.Add(base+"/approval_mode", "invalid_approval_mode", "must be approve_all, approve_list or full_autopilot")
	}
	orgs.ValidateSchedule(orgs.Schedule{
		Timezone: st.Timezone, SendWindowStart: st.SendWindowStart, SendWindowEnd: st.SendWindowEnd, SendDays: st.SendDays,
	}, base, f)
}
