package sequences_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/campaigns"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/llm/llmfactory"
	"github.com/leadpilot/leadpilot/internal/sequences"
)

func TestApproveAndReject(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	c := b.campaign(t, b.member)
	ls := b.leads(t, b.member, c.ID, 4, true)
	ids := make([]uuid.UUID, len(ls))
	for i, l := range ls {
		ids[i] = b.insertSequence(t, b.member, c.ID, l, false, twoEmailSteps())
	}

	t.Run("ASelectionIsIdsOrAll", func(t *testing.T) {
		_, err := b.svc.Approve(ctx, b.member, c.ID, sequences.Selection{})
		requireField(t, err, "sequence_ids")
		_, err = b.svc.Approve(ctx, b.member, c.ID, sequences.Selection{IDs: ids[:1], All: true})
		requireField(t, err, "all")
		_, err = b.svc.Approve(ctx, b.member, c.ID, sequences.Selection{IDs: []uuid.UUID{ids[0], newID()}})
		require.True(t, fault.IsKind(err, fault.KindNotFound), "%v", err)
	})
	t.Run("ApprovesAndStoresWhoAndWhen", func(t *testing.T) {
		r, err := b.svc.Approve(ctx, b.member, c.ID, sequences.Selection{IDs: []uuid.UUID{ids[0], ids[0]}})
		require.NoError(t, err)
		require.Equal(t, sequences.BulkResult{Changed: 1}, r)
		got, err := b.svc.GetByLead(ctx, b.member, ls[0])
		require.NoError(t, err)
		require.True(t, got.IsApproved)
		require.Equal(t, b.member.UserID, *got.ApprovedBy)
		require.NotNil(t, got.ApprovedAt)
		require.Equal(t, 1, eventCount(t, b, b.member.OrgID, "sequence.approved"))
	})
	t.Run("AllTakesThoseAwaitingApproval", func(t *testing.T) {
		r, err := b.svc.Approve(ctx, b.member, c.ID, sequences.Selection{IDs: ids[:2]})
		require.NoError(t, err)
		require.Equal(t, sequences.BulkResult{Changed: 1, Skipped: 1}, r, "the first was approved already")
		markInFlight(t, b, "id", ids[3], 1) // on its way: as good as sent
		r, err = b.svc.Reject(ctx, b.member, c.ID, sequences.Selection{All: true})
		require.NoError(t, err)
		require.Equal(t, sequences.BulkResult{Changed: 1, Skipped: 1}, r, "the sending one stays")
		_, err = b.svc.GetByLead(ctx, b.member, ls[2])
		require.True(t, fault.IsKind(err, fault.KindNotFound), "rejected is deleted: %v", err)
		require.Equal(t, 1, eventCount(t, b, b.member.OrgID, "sequence.rejected"))
		require.Equal(t, 3, b.count(t, `SELECT count(*) FROM sequences WHERE campaign_id = $1`, c.ID))
	})
	t.Run("AnApiKeyApprovesWithoutAUser", func(t *testing.T) {
		key := access.Actor{OrgID: b.member.OrgID, APIKeyID: newID(), Role: access.RoleMember}
		r, err := b.svc.Approve(ctx, key, c.ID, sequences.Selection{All: true})
		require.NoError(t, err)
		require.Equal(t, 1, r.Changed)
		got, err := b.svc.GetByLead(ctx, b.member, ls[3])
		require.NoError(t, err)
		require.True(t, got.IsApproved)
		require.Nil(t, got.ApprovedBy)
	})
	t.Run("AnotherOrganisationTouchesNothing", func(t *testing.T) {
		_, err := b.svc.Approve(ctx, b.other, c.ID, sequences.Selection{All: true})
		require.True(t, fault.IsKind(err, fault.KindNotFound), "%v", err)
		_, err = b.svc.Reject(ctx, b.other, c.ID, sequences.Selection{IDs: ids})
		require.True(t, fault.IsKind(err, fault.KindNotFound), "%v", err)
		oc := b.campaign(t, b.other)
		_, err = b.svc.Reject(ctx, b.other, oc.ID, sequences.Selection{IDs: ids[:1]})
		require.True(t, fault.IsKind(err, fault.KindNotFound), "another org's sequence id in its own campaign: %v", err)
	})
}

func TestARejectedSequenceIsRegenerated(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	gen, _, _ := generator(t, b, llmfactory.Platform{}, 2)
	campaignID, _ := b.templateCampaign(t, b.member)
	ls := b.leads(t, b.member, campaignID, 2, true)
	run, err := gen.Start(ctx, b.member, campaignID, nil)
	require.NoError(t, err)
	require.NoError(t, gen.Run(ctx, b.member.OrgID, run.ID))
	first, err := b.svc.GetByLead(ctx, b.member, ls[0])
	require.NoError(t, err)
	_, err = b.svc.Reject(ctx, b.member, campaignID, sequences.Selection{IDs: []uuid.UUID{first.ID}})
	require.NoError(t, err)
	again, err := gen.Start(ctx, b.member, campaignID, nil)
	require.NoError(t, err)
	require.Equal(t, 1, again.Total)
	require.NoError(t, gen.Run(ctx, b.member.OrgID, again.ID))
	second, err := b.svc.GetByLead(ctx, b.member, ls[0])
	require.NoError(t, err)
	require.NotEqual(t, first.ID, second.ID)
}

func TestApprovalRunsTheContentLint(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	c := b.campaign(t, b.member)
	ls := b.leads(t, b.member, c.ID, 2, true)
	fit := b.insertSequence(t, b.member, c.ID, ls[0], false, twoEmailSteps())
	bad := twoEmailSteps()
	bad[1].Body = "About {{favourite_colour}}: " + bad[1].Body
	unfit := b.insertSequence(t, b.member, c.ID, ls[1], false, bad)

	r, err := b.svc.Approve(ctx, b.member, c.ID, sequences.Selection{All: true})
	require.NoError(t, err)
	require.Equal(t, 1, r.Changed, "the fit one is approved")
	require.Len(t, r.Blocked, 1, "the other is held back, saying why")
	require.Equal(t, unfit, r.Blocked[0].SequenceID)
	var codes []string
	for _, f := range r.Blocked[0].Findings {
		if f.Severity == "error" {
			codes = append(codes, f.Code)
			require.Equal(t, 2, f.Step)
		}
	}
	require.Equal(t, []string{"unresolved_placeholder"}, codes)

	got, err := b.svc.GetByLead(ctx, b.member, ls[1])
	require.NoError(t, err)
	require.False(t, got.IsApproved)
	require.Equal(t, 1, eventCount(t, b, b.member.OrgID, "sequence.approved"), "no event for the held-back one")
	var approved bool
	require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT is_approved FROM sequences WHERE id = $1`, fit).Scan(&approved))
	require.True(t, approved)

	// The campaign counts its approval state.
	camp, err := campaigns.NewService(b.db).Get(ctx, b.member, c.ID)
	require.NoError(t, err)
	require.Equal(t, campaigns.Stats{TotalLeads: 2, Sequences: 2, SequencesApproved: 1}, camp.Stats)
	require.EqualValues(t, 1, camp.Resource().Stats.SequencesAwaitingApproval)
}
