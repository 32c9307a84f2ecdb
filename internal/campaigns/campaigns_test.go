package campaigns_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/campaigns"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/pagination"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

type bundle struct {
	svc    *campaigns.Service
	owner  *database.DB // fixtures, unbound by row-level security
	member access.Actor
	other  access.Actor // a member of another organisation
}

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// newOrg makes an organisation with one member and returns the actor.
func newOrg(t *testing.T, owner *database.DB) access.Actor {
	t.Helper()
	org, user := newID(), newID()
	_, err := owner.Pool.Exec(context.Background(), `
		WITH o AS (INSERT INTO organizations (id, name, slug) VALUES ($1, 'Campaign Org', $3) RETURNING id),
		     u AS (INSERT INTO users (id, email, password_hash) VALUES ($2, $4, 'x') RETURNING id)
		INSERT INTO memberships (id, org_id, user_id, role) SELECT $5, o.id, u.id, 'member' FROM o, u`,
		org, user, "camp-"+org.String(), "camp-"+org.String()+"@example.com", newID())
	require.NoError(t, err)
	return access.Actor{OrgID: org, UserID: user, Role: access.RoleMember}
}

func setup(t *testing.T) bundle {
	t.Helper()
	owner := testkit.OwnerDB(t)
	return bundle{svc: campaigns.NewService(testkit.DB(t)), owner: owner, member: newOrg(t, owner), other: newOrg(t, owner)}
}

// template inserts a sequence template owned by org (uuid.Nil: a system
// template).
func (b bundle) template(t *testing.T, org uuid.UUID, public bool) uuid.UUID {
	t.Helper()
	id := newID()
	var orgID any
	if org != uuid.Nil {
		orgID = org
	}
	_, err := b.owner.Pool.Exec(context.Background(), `
		INSERT INTO sequence_templates (id, org_id, name, steps, is_public, is_system)
		VALUES ($1, $2, 'T', '[{"step":1,"delay_days":0,"channel":"email","subject":"s","body":"b"}]', $3, $4)`,
		id, orgID, public, org == uuid.Nil)
	require.NoError(t, err)
	return id
}

func (b bundle) create(t *testing.T, a access.Actor, c campaigns.Create) campaigns.Campaign {
	t.Helper()
	if c.Name == "" {
		c.Name = "Spring outreach"
	}
	if c.Source == "" {
		c.Source = "manual"
	}
	got, err := b.svc.Create(context.Background(), a, c)
	require.NoError(t, err)
	return got
}

func requireFields(t *testing.T, err error, want ...string) {
	t.Helper()
	fe, ok := fault.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, fault.KindInvalid, fe.Kind, "%v", err)
	got := []string{}
	for _, f := range fe.Fields {
		got = append(got, f.Field+" "+f.Code)
	}
	require.Equal(t, want, got)
}

func TestCreate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)

	t.Run("TakesTheOrganisationsDefaults", func(t *testing.T) {
		_, err := b.owner.Pool.Exec(ctx, `UPDATE organizations SET settings = settings || '{"timezone":"Europe/Paris","default_sequence_length":2}' WHERE id = $1`, b.other.OrgID)
		require.NoError(t, err)
		c := b.create(t, b.other, campaigns.Create{})
		require.Equal(t, campaigns.StatusDraft, c.Status)
		require.Equal(t, []string{"email"}, c.Channels)
		require.Equal(t, "Europe/Paris", c.Settings.Timezone)
		require.Equal(t, 2, c.Settings.SequenceLength)
		require.Equal(t, []int{0, 3}, c.Settings.DelayBetweenStepsDays)
		require.True(t, c.Settings.StopOnReply)
		got, err := b.svc.Get(ctx, b.other, c.ID)
		require.NoError(t, err)
		require.Equal(t, c.Settings, got.Settings, "what was stored is what was answered")
	})

	t.Run("KeepsWhatWasSent", func(t *testing.T) {
		tz, stop := "America/New_York", false
		c := b.create(t, b.member, campaigns.Create{
			Channels: []string{"sms", "email"}, SourceConfig: map[string]any{"sheet": "x"},
			Settings: campaigns.SettingsPatch{Timezone: &tz, StopOnReply: &stop},
		})
		got, err := b.svc.Get(ctx, b.member, c.ID)
		require.NoError(t, err)
		require.Equal(t, []string{"sms", "email"}, got.Channels)
		require.Equal(t, "x", got.SourceConfig["sheet"])
		require.Equal(t, tz, got.Settings.Timezone)
		require.False(t, got.Settings.StopOnReply)
	})

	t.Run("RefusesInvalidSettingsAndNames", func(t *testing.T) {
		d := []int{0, 5, 2}
		_, err := b.svc.Create(ctx, b.member, campaigns.Create{Name: "  ", Source: "manual",
			Channels: []string{"email", "email"}, Settings: campaigns.SettingsPatch{DelayBetweenStepsDays: &d}})
		requireFields(t, err, "/name required", "/channels/1 duplicate", "/settings/delay_between_steps_days/2 decreasing")
	})

	t.Run("AcceptsSystemPublicAndOwnTemplates", func(t *testing.T) {
		for _, tpl := range []uuid.UUID{
			b.template(t, uuid.Nil, false), b.template(t, b.other.OrgID, true), b.template(t, b.member.OrgID, false),
		} {
			c := b.create(t, b.member, campaigns.Create{TemplateID: &tpl})
			require.Equal(t, tpl, *c.TemplateID)
		}
	})

	t.Run("RefusesAnotherOrganisationsPrivateTemplateAsNotFound", func(t *testing.T) {
		for _, tpl := range []uuid.UUID{b.template(t, b.other.OrgID, false), newID()} {
			_, err := b.svc.Create(ctx, b.member, campaigns.Create{Name: "x", Source: "manual", TemplateID: &tpl})
			requireFields(t, err, "/template_id not_found")
		}
	})
}

func TestGetListUpdateDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)

	t.Run("AnotherOrganisationsCampaignIsNotFound", func(t *testing.T) {
		c := b.create(t, b.member, campaigns.Create{})
		_, err := b.svc.Get(ctx, b.other, c.ID)
		require.True(t, fault.IsKind(err, fault.KindNotFound))
		_, err = b.svc.Update(ctx, b.other, c.ID, campaigns.Update{Name: ptr("mine")})
		require.True(t, fault.IsKind(err, fault.KindNotFound))
		_, err = b.svc.Transition(ctx, b.other, c.ID, campaigns.ActionActivate)
		require.True(t, fault.IsKind(err, fault.KindNotFound))
		require.True(t, fault.IsKind(b.svc.Delete(ctx, b.other, c.ID), fault.KindNotFound))
		got, err := b.svc.Get(ctx, b.member, c.ID)
		require.NoError(t, err)
		require.Equal(t, c.Name, got.Name)
	})

	t.Run("ListPagesNewestFirstAndFiltersByStatus", func(t *testing.T) {
		a := newOrg(t, b.owner)
		tpl := b.template(t, uuid.Nil, false)
		var ids []uuid.UUID
		for i := range 3 {
			ids = append(ids, b.create(t, a, campaigns.Create{Name: fmt.Sprint("c", i), TemplateID: &tpl}).ID)
		}
		_, err := b.svc.Transition(ctx, a, ids[1], campaigns.ActionActivate)
		require.NoError(t, err)
		page1, next, err := b.svc.List(ctx, a, nil, pagination.Page{Limit: 2})
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{ids[2], ids[1]}, idsOf(page1))
		require.NotNil(t, next)
		p2, err := pagination.Parse(ptr(2), next)
		require.NoError(t, err)
		page2, next, err := b.svc.List(ctx, a, nil, p2)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{ids[0]}, idsOf(page2))
		require.Nil(t, next)
		active := campaigns.StatusActive
		only, _, err := b.svc.List(ctx, a, &active, pagination.Page{Limit: 20})
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{ids[1]}, idsOf(only))
	})

	t.Run("UpdateMergesSettingsKeyByKey", func(t *testing.T) {
		c := b.create(t, b.member, campaigns.Create{})
		tz := "Asia/Tokyo"
		got, err := b.svc.Update(ctx, b.member, c.ID, campaigns.Update{Settings: &campaigns.SettingsPatch{Timezone: &tz}, Name: ptr(" Renamed ")})
		require.NoError(t, err)
		require.Equal(t, "Renamed", got.Name)
		require.Equal(t, tz, got.Settings.Timezone)
		require.Equal(t, c.Settings.SendWindowStart, got.Settings.SendWindowStart)
		bad := "25:00"
		_, err = b.svc.Update(ctx, b.member, c.ID, campaigns.Update{Settings: &campaigns.SettingsPatch{SendWindowEnd: &bad}})
		requireFields(t, err, "/settings/send_window_end invalid_time")
	})

	t.Run("UpdateCanClearTheTemplate", func(t *testing.T) {
		tpl := b.template(t, uuid.Nil, false)
		c := b.create(t, b.member, campaigns.Create{TemplateID: &tpl})
		got, err := b.svc.Update(ctx, b.member, c.ID, campaigns.Update{ClearTemplate: true})
		require.NoError(t, err)
		require.Nil(t, got.TemplateID)
	})

	t.Run("AnActiveCampaignChangesOnlyItsNaming", func(t *testing.T) {
		c := b.activeCampaign(t, b.member)
		_, err := b.svc.Update(ctx, b.member, c.ID, campaigns.Update{Channels: &[]string{"sms"}})
		requireConflict(t, err, "campaign_not_editable")
		got, err := b.svc.Update(ctx, b.member, c.ID, campaigns.Update{Description: ptr("still running")})
		require.NoError(t, err)
		require.Equal(t, "still running", *got.Description)
		requireConflict(t, b.svc.Delete(ctx, b.member, c.ID), "campaign_active")
	})

	t.Run("DeleteRemovesIt", func(t *testing.T) {
		c := b.create(t, b.member, campaigns.Create{})
		require.NoError(t, b.svc.Delete(ctx, b.member, c.ID))
		_, err := b.svc.Get(ctx, b.member, c.ID)
		require.True(t, fault.IsKind(err, fault.KindNotFound))
	})
}

func (b bundle) activeCampaign(t *testing.T, a access.Actor) campaigns.Campaign {
	t.Helper()
	tpl := b.template(t, uuid.Nil, false)
	c := b.create(t, a, campaigns.Create{TemplateID: &tpl})
	c, err := b.svc.Transition(context.Background(), a, c.ID, campaigns.ActionActivate)
	require.NoError(t, err)
	return c
}

func requireConflict(t *testing.T, err error, code string) {
	t.Helper()
	fe, ok := fault.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, fault.KindConflict, fe.Kind)
	require.Equal(t, code, fe.Code)
}

func TestTransition(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)

	t.Run("WalksTheWholeLifecycle", func(t *testing.T) {
		c := b.activeCampaign(t, b.member)
		require.Equal(t, campaigns.StatusActive, c.Status)
		require.NotNil(t, c.StartedAt)
		started := *c.StartedAt
		for _, step := range []struct {
			act  campaigns.Action
			want campaigns.Status
		}{
			{campaigns.ActionPause, campaigns.StatusPaused},
			{campaigns.ActionResume, campaigns.StatusActive},
			{campaigns.ActionPause, campaigns.StatusPaused},
			{campaigns.ActionComplete, campaigns.StatusCompleted},
			{campaigns.ActionArchive, campaigns.StatusArchived},
		} {
			got, err := b.svc.Transition(ctx, b.member, c.ID, step.act)
			require.NoError(t, err, step.act)
			require.Equal(t, step.want, got.Status)
			require.True(t, started.Equal(*got.StartedAt), "started_at is the first activation")
			stored, err := b.svc.Get(ctx, b.member, c.ID)
			require.NoError(t, err)
			require.Equal(t, step.want, stored.Status)
		}
		stored, err := b.svc.Get(ctx, b.member, c.ID)
		require.NoError(t, err)
		require.NotNil(t, stored.CompletedAt)
		_, err = b.svc.Update(ctx, b.member, c.ID, campaigns.Update{Name: ptr("x")})
		requireConflict(t, err, "campaign_archived")
	})

	t.Run("AnIllegalTransitionChangesNothing", func(t *testing.T) {
		c := b.create(t, b.member, campaigns.Create{})
		_, err := b.svc.Transition(ctx, b.member, c.ID, campaigns.ActionResume)
		requireConflict(t, err, "invalid_transition")
		got, err := b.svc.Get(ctx, b.member, c.ID)
		require.NoError(t, err)
		require.Equal(t, campaigns.StatusDraft, got.Status)
	})

	t.Run("ActivatingNeedsSomewhereTheStepsComeFrom", func(t *testing.T) {
		c := b.create(t, b.member, campaigns.Create{})
		_, err := b.svc.Transition(ctx, b.member, c.ID, campaigns.ActionActivate)
		requireFields(t, err, "/template_id steps_required")
		got, err := b.svc.Get(ctx, b.member, c.ID)
		require.NoError(t, err)
		require.Equal(t, campaigns.StatusDraft, got.Status)
		require.Nil(t, got.StartedAt)
	})

	t.Run("GeneratedSequencesAreEnoughToActivate", func(t *testing.T) {
		c := b.create(t, b.member, campaigns.Create{})
		lead := b.lead(t, b.member.OrgID, c.ID, "new", false)
		_, err := b.owner.Pool.Exec(ctx, `INSERT INTO sequences (id, org_id, campaign_id, lead_id, steps)
			VALUES ($1, $2, $3, $4, '[{"step":1}]')`, newID(), b.member.OrgID, c.ID, lead)
		require.NoError(t, err)
		got, err := b.svc.Transition(ctx, b.member, c.ID, campaigns.ActionActivate)
		require.NoError(t, err)
		require.Equal(t, campaigns.StatusActive, got.Status)
	})

	t.Run("ResumingChecksTheSettingsAgain", func(t *testing.T) {
		c := b.activeCampaign(t, b.member)
		_, err := b.svc.Transition(ctx, b.member, c.ID, campaigns.ActionPause)
		require.NoError(t, err)
		// Settings written behind the service's back (an older rule, a
		// migration): resuming must not send with them.
		_, err = b.owner.Pool.Exec(ctx, `UPDATE campaigns SET settings = settings || '{"timezone":"Nowhere/Else"}' WHERE id = $1`, c.ID)
		require.NoError(t, err)
		_, err = b.svc.Transition(ctx, b.member, c.ID, campaigns.ActionResume)
		requireFields(t, err, "/settings/timezone invalid_timezone")
	})
}

// lead inserts a lead of campaign in status, replied or not.
func (b bundle) lead(t *testing.T, org, campaign uuid.UUID, status string, replied bool) uuid.UUID {
	t.Helper()
	id := newID()
	_, err := b.owner.Pool.Exec(context.Background(), `
		INSERT INTO leads (id, org_id, campaign_id, email, status, replied_at)
		VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 THEN now() END)`,
		id, org, campaign, id.String()+"@example.com", status, replied)
	require.NoError(t, err)
	return id
}

func (b bundle) message(t *testing.T, org, campaign, lead uuid.UUID, channel, status string) {
	t.Helper()
	_, err := b.owner.Pool.Exec(context.Background(), `
		INSERT INTO messages (id, org_id, campaign_id, lead_id, channel, step, body_text, status, message_id)
		VALUES ($1, $2, $3, $4, $5, 1, 'hi', $6, $7)`,
		newID(), org, campaign, lead, channel, status, newID().String())
	require.NoError(t, err)
}

func TestStats(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)

	t.Run("ANewCampaignCountsZero", func(t *testing.T) {
		c := b.create(t, b.member, campaigns.Create{})
		got, err := b.svc.Get(ctx, b.member, c.ID)
		require.NoError(t, err)
		require.Equal(t, campaigns.Stats{}, got.Stats)
	})

	t.Run("AreCountedFromLeadsAndMessages", func(t *testing.T) {
		c := b.create(t, b.member, campaigns.Create{})
		other := b.create(t, b.member, campaigns.Create{}) // its rows must not leak in
		org := b.member.OrgID
		l1 := b.lead(t, org, c.ID, "contacted", false)
		l2 := b.lead(t, org, c.ID, "interested", true)
		l3 := b.lead(t, org, c.ID, "not_interested", true)
		l4 := b.lead(t, org, c.ID, "converted", true)
		b.lead(t, org, c.ID, "new", false)
		b.message(t, org, c.ID, l1, "email", "sent")
		b.message(t, org, c.ID, l1, "email", "delivered")
		b.message(t, org, c.ID, l2, "email", "replied")
		b.message(t, org, c.ID, l3, "email", "bounced")
		b.message(t, org, c.ID, l4, "whatsapp", "read")
		b.message(t, org, c.ID, l4, "sms", "sent")
		b.message(t, org, c.ID, l4, "sms", "scheduled") // not sent yet
		b.message(t, org, c.ID, l4, "email", "failed")  // never left
		ol := b.lead(t, org, other.ID, "interested", true)
		b.message(t, org, other.ID, ol, "email", "sent")

		want := campaigns.Stats{TotalLeads: 5, EmailsSent: 4, WhatsAppSent: 1, SMSSent: 1, RepliesReceived: 3, PositiveReplies: 2, Bounces: 1}
		got, err := b.svc.Get(ctx, b.member, c.ID)
		require.NoError(t, err)
		require.Equal(t, want, got.Stats)

		list, _, err := b.svc.List(ctx, b.member, nil, pagination.Page{Limit: 100})
		require.NoError(t, err)
		byID := map[uuid.UUID]campaigns.Stats{}
		for _, x := range list {
			byID[x.ID] = x.Stats
		}
		require.Equal(t, want, byID[c.ID], "the list derives the same stats")
		require.Equal(t, campaigns.Stats{TotalLeads: 1, EmailsSent: 1, RepliesReceived: 1, PositiveReplies: 1}, byID[other.ID])
	})

	t.Run("FollowTheRowsAsTheyChange", func(t *testing.T) {
		c := b.create(t, b.member, campaigns.Create{})
		l := b.lead(t, b.member.OrgID, c.ID, "contacted", false)
		b.message(t, b.member.OrgID, c.ID, l, "email", "sent")
		_, err := b.owner.Pool.Exec(ctx, `UPDATE messages SET status = 'bounced' WHERE lead_id = $1`, l)
		require.NoError(t, err)
		_, err = b.owner.Pool.Exec(ctx, `UPDATE leads SET status = 'bounced' WHERE id = $1`, l)
		require.NoError(t, err)
		got, err := b.svc.Get(ctx, b.member, c.ID)
		require.NoError(t, err)
		require.Equal(t, campaigns.Stats{TotalLeads: 1, EmailsSent: 1, Bounces: 1}, got.Stats)
	})
}

func idsOf(cs []campaigns.Campaign) []uuid.UUID {
	out := make([]uuid.UUID, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func ptr[T any](v T) *T { return &v }
