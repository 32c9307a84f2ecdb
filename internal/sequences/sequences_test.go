package sequences_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/campaigns"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/leads"
	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/pagination"
	"github.com/leadpilot/leadpilot/internal/sequences"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

type bundle struct {
	db     *database.DB
	owner  *database.DB // fixtures, unbound by row-level security
	svc    *sequences.Service
	member access.Actor
	other  access.Actor // a member of another organisation
}

// newOrg makes an organisation with one member and returns the actor.
func newOrg(t testing.TB, owner *database.DB) access.Actor {
	t.Helper()
	org, user := newID(), newID()
	_, err := owner.Pool.Exec(context.Background(), `
		WITH o AS (INSERT INTO organizations (id, name, slug, business_context) VALUES ($1, 'Seq Org', $3,
		             '{"company_name":"Acme","value_proposition":"faster invoices","sender_name":"Ada"}') RETURNING id),
		     u AS (INSERT INTO users (id, email, password_hash) VALUES ($2, $4, 'x') RETURNING id)
		INSERT INTO memberships (id, org_id, user_id, role) SELECT $5, o.id, u.id, 'member' FROM o, u`,
		org, user, "seq-"+org.String(), "seq-"+org.String()+"@example.com", newID())
	require.NoError(t, err)
	return access.Actor{OrgID: org, UserID: user, Role: access.RoleMember}
}

func setup(t testing.TB) bundle {
	t.Helper()
	owner := testkit.OwnerDB(t)
	db := testkit.DB(t)
	return bundle{db: db, owner: owner, svc: sequences.NewService(db), member: newOrg(t, owner), other: newOrg(t, owner)}
}

// campaign creates a campaign of a's with channels (email when empty).
func (b bundle) campaign(t testing.TB, a access.Actor, channels ...string) campaigns.Campaign {
	t.Helper()
	if len(channels) == 0 {
		channels = []string{"email"}
	}
	c, err := campaigns.NewService(b.db).Create(context.Background(), a, campaigns.Create{Name: "Spring", Source: "manual", Channels: channels})
	require.NoError(t, err)
	return c
}

// leads creates n leads in the campaign, approved or not.
func (b bundle) leads(t testing.TB, a access.Actor, campaignID uuid.UUID, n int, approved bool) []uuid.UUID {
	t.Helper()
	svc := leads.NewService(b.db)
	ids := make([]uuid.UUID, n)
	for i := range n {
		email, first, company := fmt.Sprintf("lead%d-%s@example.com", i, newID()), fmt.Sprintf("Lea%d", i), "Globex"
		l, err := svc.Create(context.Background(), a, leads.Create{
			Fields:     leads.Fields{Email: &email, FirstName: &first, Company: &company},
			CampaignID: &campaignID, IsApproved: &approved,
		})
		require.NoError(t, err)
		ids[i] = l.ID
	}
	return ids
}

// insertSequence writes a sequence for the lead directly, as generation would.
func (b bundle) insertSequence(t testing.TB, a access.Actor, campaignID, leadID uuid.UUID, approved bool, steps []llm.Step) uuid.UUID {
	t.Helper()
	id := newID()
	js, err := json.Marshal(steps)
	require.NoError(t, err)
	var by any
	if approved {
		by = a.UserID
	}
	_, err = b.owner.Pool.Exec(context.Background(), `
		INSERT INTO sequences (id, org_id, campaign_id, lead_id, steps, llm_provider, llm_model, is_approved, approved_by, approved_at)
		VALUES ($1, $2, $3, $4, $5, 'builtin', 'builtin', $6, $7, CASE WHEN $6 THEN now() END)`,
		id, a.OrgID, campaignID, leadID, js, approved, by)
	require.NoError(t, err)
	return id
}

func twoEmailSteps() []llm.Step {
	return []llm.Step{
		{Step: 1, DelayDays: 0, Channel: llm.ChannelEmail, Subject: "Hello {{first_name}}", Body: "Hi {{first_name|there}}, a word about invoices."},
		{Step: 2, DelayDays: 3, Channel: llm.ChannelEmail, Subject: "Following up", Body: "Just checking in."},
	}
}

func eventCount(t testing.TB, b bundle, org uuid.UUID, typ string) int {
	t.Helper()
	var n int
	require.NoError(t, b.owner.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM events WHERE org_id = $1 AND type = $2`, org, typ).Scan(&n))
	return n
}

// markSent gives the sequences whose column col is id sent messages for
// their steps 1 to upTo, as the sending engine records them: current_step
// is read from them.
func markSent(t testing.TB, b bundle, col string, id uuid.UUID, upTo int) {
	t.Helper()
	_, err := b.owner.Pool.Exec(context.Background(), `INSERT INTO messages (id, org_id, campaign_id, sequence_id, lead_id, channel, step, body_text, status, sent_at)
		SELECT gen_random_uuid(), s.org_id, s.campaign_id, s.id, s.lead_id, 'sms', k, 'sent', 'sent', now()
		  FROM sequences s, generate_series(1, $2::int) k WHERE s.`+col+` = $1
		ON CONFLICT DO NOTHING`, id, upTo)
	require.NoError(t, err)
}

// markInFlight gives the sequences whose column col is id a message for
// step, claimed by the sending engine and not recorded yet (sending).
func markInFlight(t testing.TB, b bundle, col string, id uuid.UUID, step int) {
	t.Helper()
	_, err := b.owner.Pool.Exec(context.Background(), `INSERT INTO messages (id, org_id, campaign_id, sequence_id, lead_id, channel, step, body_text, status, claimed_at, attempts)
		SELECT gen_random_uuid(), s.org_id, s.campaign_id, s.id, s.lead_id, 'sms', $2, 'on its way', 'sending', now(), 1
		  FROM sequences s WHERE s.`+col+` = $1`, id, step)
	require.NoError(t, err)
}

func TestGetAndList(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	c := b.campaign(t, b.member)
	ls := b.leads(t, b.member, c.ID, 3, true)
	b.insertSequence(t, b.member, c.ID, ls[0], true, twoEmailSteps())
	b.insertSequence(t, b.member, c.ID, ls[1], false, twoEmailSteps())

	t.Run("GetsTheLeadsSequence", func(t *testing.T) {
		got, err := b.svc.GetByLead(ctx, b.member, ls[0])
		require.NoError(t, err)
		require.Equal(t, ls[0], got.LeadID)
		require.Equal(t, twoEmailSteps(), got.Steps)
		require.True(t, got.IsApproved)
		require.Equal(t, b.member.UserID, *got.ApprovedBy)
	})
	t.Run("ALeadWithoutASequenceIsNotFound", func(t *testing.T) {
		_, err := b.svc.GetByLead(ctx, b.member, ls[2])
		require.True(t, fault.IsKind(err, fault.KindNotFound), "%v", err)
	})
	t.Run("AnotherOrganisationSeesNothing", func(t *testing.T) {
		_, err := b.svc.GetByLead(ctx, b.other, ls[0])
		require.True(t, fault.IsKind(err, fault.KindNotFound), "%v", err)
		_, _, err = b.svc.List(ctx, b.other, c.ID, nil, pagination.Page{Limit: 10})
		require.True(t, fault.IsKind(err, fault.KindNotFound), "%v", err)
	})
	t.Run("ListsAndFiltersByApproval", func(t *testing.T) {
		for _, tc := range []struct {
			name     string
			approved *bool
			want     []uuid.UUID
		}{
			{"All", nil, []uuid.UUID{ls[1], ls[0]}},
			{"Approved", ptr(true), []uuid.UUID{ls[0]}},
			{"Unapproved", ptr(false), []uuid.UUID{ls[1]}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, next, err := b.svc.List(ctx, b.member, c.ID, tc.approved, pagination.Page{Limit: 10})
				require.NoError(t, err)
				require.Nil(t, next)
				var leadIDs []uuid.UUID
				for _, s := range got {
					leadIDs = append(leadIDs, s.LeadID)
				}
				require.Equal(t, tc.want, leadIDs)
			})
		}
	})
	t.Run("PagesWithACursor", func(t *testing.T) {
		first, next, err := b.svc.List(ctx, b.member, c.ID, nil, pagination.Page{Limit: 1})
		require.NoError(t, err)
		require.Len(t, first, 1)
		require.NotNil(t, next)
		page, err := pagination.Parse(ptr(1), next)
		require.NoError(t, err)
		second, next, err := b.svc.List(ctx, b.member, c.ID, nil, page)
		require.NoError(t, err)
		require.Len(t, second, 1)
		require.Nil(t, next)
		require.NotEqual(t, first[0].ID, second[0].ID)
	})
}

func ptr[T any](v T) *T { return &v }

func TestUpdate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	c := b.campaign(t, b.member, "email", "sms")
	ls := b.leads(t, b.member, c.ID, 3, true)
	b.insertSequence(t, b.member, c.ID, ls[0], true, twoEmailSteps())
	b.insertSequence(t, b.member, c.ID, ls[1], false, twoEmailSteps())
	b.insertSequence(t, b.member, c.ID, ls[2], false, twoEmailSteps())

	t.Run("RejectsWhatTheModelWouldNotBeAllowedToWrite", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			steps []llm.Step
			field string
		}{
			{"NoSubjectOnEmail", []llm.Step{{Step: 1, Channel: llm.ChannelEmail, Body: "b"}}, "steps.0.subject"},
			{"ChannelTheCampaignDoesNotUse", []llm.Step{{Step: 1, Channel: llm.ChannelWhatsApp, Body: "b"}}, "steps.0.channel"},
			{"StepsOutOfOrder", []llm.Step{{Step: 2, Channel: llm.ChannelSMS, Body: "b"}}, "steps.0.step"},
			{"UnknownPlaceholder", []llm.Step{{Step: 1, Channel: llm.ChannelSMS, Body: "hi {{favourite_colour}}"}}, "steps.0.body"},
			{"EqualDelaysAreAllowed", []llm.Step{{Step: 1, Channel: llm.ChannelSMS, Body: "a"}, {Step: 2, DelayDays: 0, Channel: llm.ChannelSMS, Body: "b"}, {Step: 3, DelayDays: 0, Channel: llm.ChannelSMS, Body: "c"}}, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := b.svc.Update(ctx, b.member, ls[1], tc.steps)
				if tc.field == "" {
					require.NoError(t, err, "equal delays are allowed")
					return
				}
				fe, ok := fault.As(err)
				require.True(t, ok, "%v", err)
				require.Equal(t, fault.KindInvalid, fe.Kind)
				var fields []string
				for _, f := range fe.Fields {
					fields = append(fields, f.Field)
				}
				require.Contains(t, fields, tc.field)
			})
		}
	})
	t.Run("EditingAnApprovedSequenceWithdrawsItsApproval", func(t *testing.T) {
		before := eventCount(t, b, b.member.OrgID, "sequence.updated")
		steps := twoEmailSteps()
		steps[1].Body = "Shorter."
		got, err := b.svc.Update(ctx, b.member, ls[0], steps)
		require.NoError(t, err)
		require.Equal(t, steps, got.Steps)
		require.False(t, got.IsApproved)
		require.Nil(t, got.ApprovedAt)
		require.Nil(t, got.ApprovedBy)
		require.Equal(t, before+1, eventCount(t, b, b.member.OrgID, "sequence.updated"))
		again, err := b.svc.GetByLead(ctx, b.member, ls[0])
		require.NoError(t, err)
		require.Equal(t, steps, again.Steps)

		_, err = b.svc.Update(ctx, b.member, ls[0], steps)
		require.NoError(t, err)
		require.Equal(t, before+1, eventCount(t, b, b.member.OrgID, "sequence.updated"), "no change, no event")
	})
	t.Run("StepsAlreadySentCannotChange", func(t *testing.T) {
		markSent(t, b, "lead_id", ls[1], 1)
		steps := []llm.Step{{Step: 1, Channel: llm.ChannelSMS, Body: "rewritten"}}
		_, err := b.svc.Update(ctx, b.member, ls[1], steps)
		require.True(t, fault.IsKind(err, fault.KindConflict), "%v", err)
		got, err := b.svc.GetByLead(ctx, b.member, ls[1])
		require.NoError(t, err)
		require.Equal(t, 1, got.CurrentStep)
	})
	t.Run("AStepOnItsWayCannotChangeEither", func(t *testing.T) {
		markInFlight(t, b, "lead_id", ls[2], 1)
		got, err := b.svc.GetByLead(ctx, b.member, ls[2])
		require.NoError(t, err)
		require.Zero(t, got.CurrentStep, "not sent yet")
		steps := []llm.Step{{Step: 1, Channel: llm.ChannelSMS, Body: "rewritten"}}
		_, err = b.svc.Update(ctx, b.member, ls[2], steps)
		require.True(t, fault.IsKind(err, fault.KindConflict), "%v", err)
		again, err := b.svc.GetByLead(ctx, b.member, ls[2])
		require.NoError(t, err)
		require.Equal(t, got.Steps, again.Steps)
	})
	t.Run("AnotherOrganisationCannotEdit", func(t *testing.T) {
		_, err := b.svc.Update(ctx, b.other, ls[0], twoEmailSteps())
		require.True(t, fault.IsKind(err, fault.KindNotFound), "%v", err)
	})
}
