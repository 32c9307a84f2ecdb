package campaigns_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/campaigns"
	"github.com/leadpilot/leadpilot/internal/fault"
)

func TestNext(t *testing.T) {
	t.Parallel()
	statuses := []campaigns.Status{campaigns.StatusDraft, campaigns.StatusActive, campaigns.StatusPaused, campaigns.StatusCompleted, campaigns.StatusArchived}
	actions := []campaigns.Action{campaigns.ActionActivate, campaigns.ActionPause, campaigns.ActionResume, campaigns.ActionComplete, campaigns.ActionArchive}
	// The legal moves, written out independently of the package's table:
	// every other (status, action) pair must be refused.
	legal := map[campaigns.Status]map[campaigns.Action]campaigns.Status{
		campaigns.StatusDraft:     {campaigns.ActionActivate: campaigns.StatusActive},
		campaigns.StatusActive:    {campaigns.ActionPause: campaigns.StatusPaused, campaigns.ActionComplete: campaigns.StatusCompleted},
		campaigns.StatusPaused:    {campaigns.ActionResume: campaigns.StatusActive, campaigns.ActionComplete: campaigns.StatusCompleted},
		campaigns.StatusCompleted: {campaigns.ActionArchive: campaigns.StatusArchived},
		campaigns.StatusArchived:  {},
	}
	for _, from := range statuses {
		for _, act := range actions {
			want, ok := legal[from][act]
			name := string(act) + "From" + string(from)
			if ok {
				t.Run(name+"IsAllowed", func(t *testing.T) {
					t.Parallel()
					got, err := campaigns.Next(from, act)
					require.NoError(t, err)
					require.Equal(t, want, got)
				})
				continue
			}
			t.Run(name+"IsRefusedWith409NamingFromAndTo", func(t *testing.T) {
				t.Parallel()
				_, err := campaigns.Next(from, act)
				fe, isFault := fault.As(err)
				require.True(t, isFault, "%v", err)
				require.Equal(t, fault.KindConflict, fe.Kind)
				require.Equal(t, "invalid_transition", fe.Code)
				require.Contains(t, fe.Detail, string(from)+" →")
			})
		}
	}
	t.Run("AnUnknownActionIsABadRequest", func(t *testing.T) {
		t.Parallel()
		_, err := campaigns.Next(campaigns.StatusDraft, "launch")
		require.True(t, fault.IsKind(err, fault.KindBadRequest))
	})
}
