package templates_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/templates"
	"github.com/leadpilot/leadpilot/internal/testkit"
	"github.com/leadpilot/leadpilot/seeds"
)

func TestMain(m *testing.M) { testkit.Main(m) }

type bundle struct {
	owner *database.DB
	svc   *templates.Service
	actor access.Actor
	// tag is a label unique to the test, used as the industry of the
	// templates it makes so lists can be filtered to them.
	tag string
}

// setup makes an organisation with one member and returns the service
// acting for that member.
func setup(t *testing.T) bundle {
	t.Helper()
	b := bundle{owner: testkit.OwnerDB(t), svc: templates.NewService(testkit.DB(t)), tag: "t-" + uuid.NewString()[:8]}
	b.actor = newOrg(t, b.owner)
	return b
}

func newOrg(t *testing.T, owner *database.DB) access.Actor {
	t.Helper()
	ctx := context.Background()
	org, user := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	_, err := owner.Pool.Exec(ctx, `INSERT INTO organizations (id, name, slug, business_context) VALUES ($1, 'Tpl', $2, '{"sender_name":"Sam","company_name":"LeadPilot"}')`, org, "tpl-"+org.String())
	require.NoError(t, err)
	_, err = owner.Pool.Exec(ctx, `INSERT INTO users (id, email, password_hash, full_name) VALUES ($1, $2, 'x', 'Tim')`, user, user.String()+"@example.com")
	require.NoError(t, err)
	_, err = owner.Pool.Exec(ctx, `INSERT INTO memberships (id, org_id, user_id, role) VALUES ($1, $2, $3, 'member')`, uuid.Must(uuid.NewV7()), org, user)
	require.NoError(t, err)
	return access.Actor{OrgID: org, UserID: user, Role: access.RoleMember}
}

// system inserts a system template as the owner would.
func (b bundle) system(t *testing.T, name string, usage int) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	_, err := b.owner.Pool.Exec(context.Background(), `INSERT INTO sequence_templates (id, name, industry, use_case, steps, channels, is_public, is_system, usage_count)
		VALUES ($1, $2, $3, 'cold_outreach', '[{"step":1,"delay_days":0,"channel":"email","subject":"Hi {{first_name}}","body":"Hello {{company}} from {{sender_name}}, {{mystery}}"}]', '{email}', true, true, $4)`,
		id, name, b.tag, usage)
	require.NoError(t, err)
	return id
}

func (b bundle) usage(t *testing.T, id uuid.UUID) int {
	t.Helper()
	var n int
	require.NoError(t, b.owner.Pool.QueryRow(context.Background(), `SELECT usage_count FROM sequence_templates WHERE id = $1`, id).Scan(&n))
	return n
}

func (b bundle) input(name string, steps ...templates.StepInput) templates.Input {
	if len(steps) == 0 {
		steps = []templates.StepInput{email(0, "Hi {{first_name}}", "Body"), {DelayDays: 2, Channel: "whatsapp", Body: "Ping {{first_name|there}}"}}
	}
	return templates.Input{Name: name, Industry: b.tag, UseCase: "follow_up", Steps: steps}
}

func names(ts []templates.Template) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

func requireNotFound(t *testing.T, err error) {
	t.Helper()
	require.True(t, fault.IsKind(err, fault.KindNotFound), "want not found, got %v", err)
}

func TestSeed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("RunningTwiceUpdatesAndNeverDuplicates", func(t *testing.T) {
		t.Parallel()
		owner := testkit.OwnerDB(t)
		want, err := seeds.Templates()
		require.NoError(t, err)
		n, err := templates.Seed(ctx, owner.Bun)
		require.NoError(t, err)
		require.Equal(t, len(want), n)

		_, err = owner.Pool.Exec(ctx, `UPDATE sequence_templates SET name = 'Edited', usage_count = 7 WHERE id = $1`, want[0].ID)
		require.NoError(t, err)
		_, err = templates.Seed(ctx, owner.Bun)
		require.NoError(t, err)

		var count, usage int
		var name string
		require.NoError(t, owner.Pool.QueryRow(ctx, `SELECT count(*) FROM sequence_templates WHERE is_system AND id = ANY($1)`, ids(want)).Scan(&count))
		require.Equal(t, len(want), count)
		require.NoError(t, owner.Pool.QueryRow(ctx, `SELECT name, usage_count FROM sequence_templates WHERE id = $1`, want[0].ID).Scan(&name, &usage))
		require.Equal(t, want[0].Name, name, "seeding again restores the seed's text")
		require.Equal(t, 7, usage, "and keeps the usage count")
	})

	t.Run("CoversTheSpecsLibrary", func(t *testing.T) {
		t.Parallel()
		ts, err := seeds.Templates()
		require.NoError(t, err)
		require.GreaterOrEqual(t, len(ts), 9)
		industries, useCases, channels, all := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
		for _, tm := range ts {
			all[tm.Name], industries[tm.Industry], useCases[tm.UseCase] = true, true, true
			for _, s := range tm.Steps {
				channels[s.Channel] = true
			}
		}
		for _, n := range []string{"SaaS Cold Outreach", "Agency New Client", "Multi-Channel Outreach"} {
			require.True(t, all[n], n)
		}
		for _, i := range []string{"saas", "agency", "recruiting", "real_estate", "consulting"} {
			require.True(t, industries[i], i)
		}
		for _, u := range []string{"cold_outreach", "follow_up", "event_invitation", "recruitment"} {
			require.True(t, useCases[u], u)
		}
		for _, c := range []string{"email", "whatsapp", "sms"} {
			require.True(t, channels[c], c)
		}
	})
}

func ids(ts []seeds.Template) []uuid.UUID {
	out := make([]uuid.UUID, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

func TestService(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("ListsSystemPublicAndOwnByUsageThenName", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.system(t, "Beta", 5)
		b.system(t, "Alpha", 5)
		b.system(t, "Zulu", 9)
		_, err := b.svc.Create(ctx, b.actor, b.input("Mine"))
		require.NoError(t, err)
		other := newOrg(t, b.owner)
		pub := b.input("Theirs public")
		pub.IsPublic = true
		_, err = b.svc.Create(ctx, other, pub)
		require.NoError(t, err)
		_, err = b.svc.Create(ctx, other, b.input("Theirs private"))
		require.NoError(t, err)

		var got []string
		p, err := templates.ParsePage(ptr(2), nil)
		require.NoError(t, err)
		for range 10 {
			page, next, err := b.svc.List(ctx, b.actor, templates.Filter{Industry: b.tag}, p)
			require.NoError(t, err)
			got = append(got, names(page)...)
			if next == nil {
				break
			}
			p, err = templates.ParsePage(ptr(2), next)
			require.NoError(t, err)
		}
		require.Equal(t, []string{"Zulu", "Alpha", "Beta", "Mine", "Theirs public"}, got)
	})

	t.Run("FiltersByUseCaseAndChannel", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.system(t, "Email only", 0)
		sms := b.input("SMS", templates.StepInput{Channel: "sms", Body: "Hi"})
		sms.UseCase = "event_invitation"
		_, err := b.svc.Create(ctx, b.actor, sms)
		require.NoError(t, err)
		p, _ := templates.ParsePage(nil, nil)
		for _, tc := range []struct {
			f    templates.Filter
			want []string
		}{
			{templates.Filter{Industry: b.tag, Channel: "sms"}, []string{"SMS"}},
			{templates.Filter{Industry: b.tag, Channel: "email"}, []string{"Email only"}},
			{templates.Filter{Industry: b.tag, UseCase: "cold_outreach"}, []string{"Email only"}},
			{templates.Filter{Industry: b.tag, UseCase: "recruitment"}, []string{}},
		} {
			page, _, err := b.svc.List(ctx, b.actor, tc.f, p)
			require.NoError(t, err)
			require.Equal(t, tc.want, names(page), fmt.Sprint(tc.f))
		}
	})

	t.Run("UpdatesAndDeletesOnlyOwnTemplates", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		sys := b.system(t, "System", 0)
		mine, err := b.svc.Create(ctx, b.actor, b.input("Mine"))
		require.NoError(t, err)
		require.True(t, mine.IsOwn)
		require.Equal(t, []string{"email", "whatsapp"}, mine.Channels)

		got, err := b.svc.Update(ctx, b.actor, mine.ID, templates.Update{Name: ptr("Renamed"), Steps: &[]templates.StepInput{{Channel: "sms", Body: "Yo"}}})
		require.NoError(t, err)
		require.Equal(t, "Renamed", got.Name)
		require.Equal(t, []string{"sms"}, got.Channels)
		require.Equal(t, b.tag, got.Industry, "fields not sent stay")

		_, err = b.svc.Update(ctx, b.actor, mine.ID, templates.Update{Steps: &[]templates.StepInput{email(0, "", "x")}})
		require.True(t, fault.IsKind(err, fault.KindInvalid), "%v", err)

		_, err = b.svc.Update(ctx, b.actor, sys, templates.Update{Name: ptr("Hijack")})
		requireNotFound(t, err)
		requireNotFound(t, b.svc.Delete(ctx, b.actor, sys))
		other := newOrg(t, b.owner)
		_, err = b.svc.Update(ctx, other, mine.ID, templates.Update{Name: ptr("Hijack")})
		requireNotFound(t, err)
		requireNotFound(t, b.svc.Delete(ctx, other, mine.ID))
		_, err = b.svc.Get(ctx, other, mine.ID)
		requireNotFound(t, err)

		require.NoError(t, b.svc.Delete(ctx, b.actor, mine.ID))
		_, err = b.svc.Get(ctx, b.actor, mine.ID)
		requireNotFound(t, err)
		_, err = b.svc.Get(ctx, b.actor, sys)
		require.NoError(t, err, "the system template is untouched")
	})

	t.Run("CloningCopiesIntoTheOrgAndCountsTheUse", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		sys := b.system(t, "Source", 3)
		c, err := b.svc.Clone(ctx, b.actor, sys, "")
		require.NoError(t, err)
		require.NotEqual(t, sys, c.ID)
		require.Equal(t, "Source", c.Name)
		require.True(t, c.IsOwn)
		require.False(t, c.IsSystem || c.IsPublic)
		require.Equal(t, 0, c.UsageCount)
		require.Equal(t, 4, b.usage(t, sys))

		named, err := b.svc.Clone(ctx, b.actor, c.ID, "Copy of a copy")
		require.NoError(t, err)
		require.Equal(t, "Copy of a copy", named.Name)
		require.Equal(t, 1, b.usage(t, c.ID))

		other := newOrg(t, b.owner)
		_, err = b.svc.Clone(ctx, other, c.ID, "")
		requireNotFound(t, err)
		require.Equal(t, 1, b.usage(t, c.ID), "a template another org cannot see is not counted")
	})

	t.Run("TheCountFunctionIgnoresTemplatesTheCallerCannotSee", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		mine, err := b.svc.Create(ctx, b.actor, b.input("Private"))
		require.NoError(t, err)
		other := newOrg(t, b.owner)
		var ok bool
		err = testkit.DB(t).InTenant(ctx, other.Tenant(), func(ctx context.Context, tx bun.IDB) error {
			return tx.NewRaw("SELECT template_count_use(?)", mine.ID).Scan(ctx, &ok)
		})
		require.NoError(t, err)
		require.False(t, ok)
		require.Equal(t, 0, b.usage(t, mine.ID))
	})

	t.Run("PreviewRendersForALeadOrSampleData", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		sys := b.system(t, "Preview", 0)
		p, err := b.svc.Preview(ctx, b.actor, sys, &templates.Lead{FirstName: "Ada", Company: "Engines"})
		require.NoError(t, err)
		require.False(t, p.Sample)
		require.Equal(t, "Hi Ada", p.Steps[0].Subject)
		require.Equal(t, "Hello Engines from Sam, ", p.Steps[0].Body)
		require.Equal(t, []string{"mystery"}, p.Unresolved)

		p, err = b.svc.Preview(ctx, b.actor, sys, nil)
		require.NoError(t, err)
		require.True(t, p.Sample)
		require.Equal(t, "Hi "+templates.SampleLead().FirstName, p.Steps[0].Subject)

		_, err = b.svc.Preview(ctx, newOrg(t, b.owner), sys, nil)
		require.NoError(t, err, "system templates preview for every org")
		_, err = b.svc.Preview(ctx, b.actor, uuid.Must(uuid.NewV7()), nil)
		requireNotFound(t, err)
	})
}
