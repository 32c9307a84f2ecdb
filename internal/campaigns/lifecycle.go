package campaigns

import (
	"fmt"

	"github.com/leadpilot/leadpilot/internal/fault"
)

// Status is where a campaign is in its lifecycle.
type Status string

// The statuses (the campaigns.status check constraint).
const (
	StatusDraft     Status = "draft"
	StatusActive    Status = "active"
	StatusPaused    Status = "paused"
	StatusCompleted Status = "completed"
	StatusArchived  Status = "archived"
)

// Action is a lifecycle transition a caller asks for.
type Action string

// The actions. Activate and resume both lead to active, from different
// states: naming the action rather than the target keeps "start sending
// for the first time" and "carry on" apart, for the checks and, later,
// for the events they write.
const (
	ActionActivate Action = "activate"
	ActionPause    Action = "pause"
	ActionResume   Action = "resume"
	ActionComplete Action = "complete"
	ActionArchive  Action = "archive"
)

// transitions is the lifecycle, draft → active ⇄ paused → completed →
// archived: for each action, the states it may start from and where it
// leads. A running campaign may also complete straight from active (its
// sequences have run out).
var transitions = map[Action]struct {
	from []Status
	to   Status
}{
	ActionActivate: {[]Status{StatusDraft}, StatusActive},
	ActionPause:    {[]Status{StatusActive}, StatusPaused},
	ActionResume:   {[]Status{StatusPaused}, StatusActive},
	ActionComplete: {[]Status{StatusActive, StatusPaused}, StatusCompleted},
	ActionArchive:  {[]Status{StatusCompleted}, StatusArchived},
}

// Next is the status action leads to from status from, or a 409 fault
// (code invalid_transition, naming from and to) when the lifecycle does
// not allow it. It checks only the lifecycle; what activating needs
// besides is checkActivation's.
func Next(from Status, action Action) (Status, error) {
	t, ok := transitions[action]
	if !ok {
		return "", fault.BadRequest("unknown_action", fmt.Sprintf("%q is not a campaign action", action))
	}
	for _, f := range t.from {
		if f == from {
			return t.to, nil
		}
	}
	return "", fault.Conflict("invalid_transition",
		fmt.Sprintf("cannot %s a %s campaign: %s → %s is not allowed", action, from, from, t.to))
}
