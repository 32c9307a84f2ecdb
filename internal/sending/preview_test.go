package sending

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/campaigns"
	"github.com/leadpilot/leadpilot/internal/sendwindow"
	"github.com/leadpilot/leadpilot/internal/templates"
)

// TestProjectLead is the schedule preview's rule for one lead: messages
// where they exist, projections after them, and the reason a step will
// not go. (Not parallel, like every test of this package.)
func TestProjectLead(t *testing.T) {
	days := []string{"monday", "tuesday", "wednesday", "thursday", "friday"}
	w, err := sendwindow.Parse("09:00", "17:00", days, "Europe/Berlin")
	require.NoError(t, err)
	pl := plan{settings: campaigns.Settings{StopOnReply: true, SendWindowStart: "09:00", SendWindowEnd: "17:00", SendDays: days, Timezone: "Europe/Berlin"}, orgWindow: w}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC) // a Tuesday
	lead := previewLead{ID: uuid.Must(uuid.NewV7()), Status: "contacted", IsApproved: true}
	seq := &previewSequence{ID: uuid.Must(uuid.NewV7()), LeadID: lead.ID, IsApproved: true, Steps: []templates.Step{
		{Step: 1, Channel: "email"}, {Step: 2, DelayDays: 2, Channel: "email"}, {Step: 3, DelayDays: 3, Channel: "sms"}}}
	box := uuid.Must(uuid.NewV7())
	key := sendwindow.KeyOf(lead.ID)
	msg := func(step int, status string, at time.Time) messageRow {
		return messageRow{ID: uuid.Must(uuid.NewV7()), LeadID: lead.ID, Step: step, Channel: "email", Status: status, ScheduledFor: &at, EmailAccountID: &box}
	}
	statuses := func(ls LeadSchedule) []string {
		var out []string
		for _, s := range ls.Steps {
			out = append(out, s.Status)
		}
		return out
	}

	t.Run("NothingScheduledProjectsFromTheNextWindow", func(t *testing.T) {
		ls := projectLead(pl, lead, seq, nil, true, now)
		require.Equal(t, []string{StepProjected, StepProjected, StepProjected}, statuses(ls))
		first := w.NextSpread(now, key)
		require.Equal(t, first, *ls.Steps[0].ScheduledFor)
		require.Equal(t, w.Schedule(first, 2, key), *ls.Steps[1].ScheduledFor)
		require.Equal(t, w.Schedule(*ls.Steps[1].ScheduledFor, 3, key), *ls.Steps[2].ScheduledFor)
		require.Equal(t, "sms", ls.Steps[2].Channel)
		require.Nil(t, ls.Steps[0].EmailAccountID, "the rotation picks step 1's mailbox when it schedules")
	})

	t.Run("FollowUpsLeaveFromStepOnesMailboxAfterItsTime", func(t *testing.T) {
		sent := msg(1, StatusSent, now.Add(-time.Hour))
		sent.SentAt = ptr(now.Add(-30 * time.Minute))
		ls := projectLead(pl, lead, seq, []messageRow{sent}, true, now)
		require.Equal(t, []string{StatusSent, StepProjected, StepProjected}, statuses(ls))
		require.Equal(t, w.Schedule(*sent.SentAt, 2, key), *ls.Steps[1].ScheduledFor)
		require.Equal(t, box, *ls.Steps[1].EmailAccountID)
		require.Nil(t, ls.Steps[2].EmailAccountID, "an SMS step has no mailbox")
	})

	t.Run("AnOverdueStepCountsFromNow", func(t *testing.T) {
		ls := projectLead(pl, lead, seq, []messageRow{msg(1, StatusScheduled, now.Add(-72*time.Hour))}, true, now)
		require.Equal(t, w.Schedule(now, 2, key), *ls.Steps[1].ScheduledFor)
	})

	t.Run("AFailedOrBouncedStepEndsTheThread", func(t *testing.T) {
		for status, reason := range map[string]string{StatusFailed: BlockedSendFailed, StatusBounced: BlockedLeadBounced} {
			ls := projectLead(pl, lead, seq, []messageRow{msg(1, status, now)}, true, now)
			require.Equal(t, []string{status, StepNotScheduled, StepNotScheduled}, statuses(ls))
			require.Equal(t, reason, *ls.Steps[1].BlockedReason)
			require.Nil(t, ls.Steps[1].ScheduledFor)
		}
	})

	t.Run("ACancelledStepIsReplacedByItsLiveRetry", func(t *testing.T) {
		cancelled := msg(1, StatusCancelled, now)
		cancelled.BlockedReason = ptr(BlockedCampaignPaused)
		live := msg(1, StatusScheduled, now.Add(time.Hour))
		ls := projectLead(pl, lead, seq, []messageRow{cancelled, live}, true, now)
		require.Equal(t, []string{StatusScheduled, StepProjected, StepProjected}, statuses(ls))
		require.Equal(t, live.ID, *ls.Steps[0].MessageID)
	})

	t.Run("AStoppedLeadGetsNothingMore", func(t *testing.T) {
		replied := lead
		replied.Status = "replied"
		ls := projectLead(pl, replied, seq, []messageRow{msg(1, StatusSent, now)}, true, now)
		require.Equal(t, []string{StatusSent, StepNotScheduled, StepNotScheduled}, statuses(ls))
		require.Equal(t, BlockedLeadReplied, *ls.Steps[2].BlockedReason)

		noStop := pl
		noStop.settings.StopOnReply = false
		ls = projectLead(noStop, replied, seq, []messageRow{msg(1, StatusSent, now)}, true, now)
		require.Equal(t, StepProjected, ls.Steps[1].Status, "unless the campaign goes on after a reply")
	})

	t.Run("UnapprovedCompleteOrFinishedShowsNotScheduled", func(t *testing.T) {
		unapproved := lead
		unapproved.IsApproved = false
		require.Equal(t, []string{StepNotScheduled, StepNotScheduled, StepNotScheduled}, statuses(projectLead(pl, unapproved, seq, nil, true, now)))
		require.Equal(t, []string{StepNotScheduled, StepNotScheduled, StepNotScheduled}, statuses(projectLead(pl, lead, seq, nil, false, now)))
		done := *seq
		done.IsComplete = true
		require.Equal(t, []string{StatusSent, StepNotScheduled, StepNotScheduled}, statuses(projectLead(pl, lead, &done, []messageRow{msg(1, StatusSent, now)}, true, now)))
	})

	t.Run("MessagesWithoutASequenceStillShow", func(t *testing.T) {
		ls := projectLead(pl, lead, nil, []messageRow{msg(1, StatusSent, now), msg(2, StatusScheduled, now.Add(48*time.Hour))}, true, now)
		require.Nil(t, ls.SequenceID)
		require.Equal(t, []string{StatusSent, StatusScheduled}, statuses(ls))
	})
}
