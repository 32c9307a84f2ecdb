package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
)

func ptr[T any](v T) *T { return &v }

func TestOrganization(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	t.Run("PatchMergesBusinessContextAndSettings", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Merge Co")
		r, err := b.client.UpdateOrganizationWithResponse(ctx, api.OrganizationUpdate{
			BusinessContext: &api.BusinessContext{Industry: ptr("saas"), KeyPainPoints: &[]string{"churn"}},
			Settings:        &api.OrgSettings{Timezone: ptr("Europe/Berlin")},
		}, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		r, err = b.client.UpdateOrganizationWithResponse(ctx, api.OrganizationUpdate{
			Name:            ptr("Merged Co"),
			BusinessContext: &api.BusinessContext{Tone: ptr("friendly")},
			Settings:        &api.OrgSettings{SendDays: &[]api.Weekday{api.WeekdayMonday, api.WeekdaySaturday}},
		}, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		o := r.JSON200
		require.Equal(t, "Merged Co", o.Name)
		require.Equal(t, "saas", *o.BusinessContext.Industry)
		require.Equal(t, "friendly", *o.BusinessContext.Tone)
		require.Equal(t, []string{"churn"}, *o.BusinessContext.KeyPainPoints)
		require.Equal(t, "Europe/Berlin", *o.Settings.Timezone)
		require.Equal(t, []api.Weekday{api.WeekdayMonday, api.WeekdaySaturday}, *o.Settings.SendDays)
		require.Equal(t, "09:00", *o.Settings.SendWindowStart)

		got, err := b.client.GetOrganizationWithResponse(ctx, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, *o, *got.JSON200)
	})

	t.Run("DefaultCountryIsSetUpperCasedValidatedAndCleared", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Country Co")
		got, err := b.client.GetOrganizationWithResponse(ctx, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Nil(t, got.JSON200.Settings.DefaultCountry, "unset by default")

		r, err := b.client.UpdateOrganizationWithResponse(ctx, api.OrganizationUpdate{
			Settings: &api.OrgSettings{DefaultCountry: ptr("gb")}}, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		require.Equal(t, "GB", *r.JSON200.Settings.DefaultCountry)

		r, err = b.client.UpdateOrganizationWithResponse(ctx, api.OrganizationUpdate{
			Settings: &api.OrgSettings{DefaultCountry: ptr("XX")}}, bearer(s.AccessToken))
		require.NoError(t, err)
		p := problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
		require.Equal(t, "/settings/default_country", (*p.Errors)[0].Field)

		r, err = b.client.UpdateOrganizationWithResponse(ctx, api.OrganizationUpdate{
			Settings: &api.OrgSettings{DefaultCountry: ptr("")}}, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		require.Nil(t, r.JSON200.Settings.DefaultCountry, "an empty string clears it")
	})

	t.Run("InvalidSettingsAreRejectedWithFieldPointersAndChangeNothing", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Strict Co")
		r, err := b.client.UpdateOrganizationWithResponse(ctx, api.OrganizationUpdate{
			Name: ptr("Renamed"),
			Settings: &api.OrgSettings{
				Timezone: ptr("Mars/Olympus_Mons"), SendWindowStart: ptr("18:00"), SendWindowEnd: ptr("09:00"),
			},
		}, bearer(s.AccessToken))
		require.NoError(t, err)
		p := problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
		require.Equal(t, "validation_failed", p.Code)
		fields := map[string]bool{}
		for _, f := range *p.Errors {
			fields[f.Field] = true
		}
		require.True(t, fields["/settings/timezone"], p.Errors)
		require.True(t, fields["/settings/send_window_end"], p.Errors)

		got, err := b.client.GetOrganizationWithResponse(ctx, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, "Strict Co", got.JSON200.Name)
		require.Equal(t, "UTC", *got.JSON200.Settings.Timezone)
	})

	t.Run("SchemaViolationsNameEachField", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Schema Co")
		resp, body := b.raw(t, http.MethodPatch, "/v1/org",
			`{"settings":{"send_window_start":"9am","send_days":["funday"]},"business_context":{"tone":1}}`, withBearer(s.AccessToken))
		p := problem(t, resp, body, http.StatusUnprocessableEntity)
		var fields []string
		for _, f := range *p.Errors {
			fields = append(fields, f.Field)
		}
		require.Contains(t, fields, "/settings/send_window_start")
		require.Contains(t, fields, "/settings/send_days/0")
		require.Contains(t, fields, "/business_context/tone")
	})

	t.Run("UnknownPropertiesAreRejectedNotSmuggled", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Smuggle Co")
		resp, body := b.raw(t, http.MethodPatch, "/v1/org", `{"name":"Fine","NAME":"Sneaky"}`, withBearer(s.AccessToken))
		problem(t, resp, body, http.StatusUnprocessableEntity)
		got, err := b.client.GetOrganizationWithResponse(ctx, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, "Smuggle Co", got.JSON200.Name)
	})

	t.Run("MalformedJSONIs400", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Broken Co")
		resp, body := b.raw(t, http.MethodPatch, "/v1/org", `{"name":`, withBearer(s.AccessToken))
		p := problem(t, resp, body, http.StatusBadRequest)
		require.Equal(t, "malformed_body", p.Code)
	})

	t.Run("MembersCannotChangeSettings", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Roles Co")
		m := b.join(t, s, api.RoleMember)
		r, err := b.client.UpdateOrganizationWithResponse(ctx, api.OrganizationUpdate{Name: ptr("Mine now")}, bearer(m.AccessToken))
		require.NoError(t, err)
		require.Equal(t, "forbidden", problem(t, r.HTTPResponse, r.Body, http.StatusForbidden).Code)
		got, err := b.client.GetOrganizationWithResponse(ctx, bearer(m.AccessToken))
		require.NoError(t, err)
		require.Equal(t, "Roles Co", got.JSON200.Name)
	})
}

func TestValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)

	for name, tc := range map[string]struct {
		body   string
		status int
		field  string
	}{
		"BadEmail":        {`{"email":"not-an-email","password":"long enough pw","full_name":"A","org_name":"B"}`, 422, "/email"},
		"ShortPassword":   {`{"email":"a@example.com","password":"short","full_name":"A","org_name":"B"}`, 422, "/password"},
		"MissingOrgName":  {`{"email":"a@example.com","password":"long enough pw","full_name":"A"}`, 422, "/org_name"},
		"ExtraProperty":   {`{"email":"a@example.com","password":"long enough pw","full_name":"A","org_name":"B","role":"owner"}`, 422, "/role"},
		"WrongType":       {`{"email":"a@example.com","password":12345678901,"full_name":"A","org_name":"B"}`, 422, "/password"},
		"LookAlikeEmail":  {`{"email":"a1@exаmple.com","password":"long enough pw","full_name":"A","org_name":"B"}`, 422, "/email"},
		"BlankNameInRule": {`{"email":"a@example.com","password":"long enough pw","full_name":"   ","org_name":"B"}`, 422, "/full_name"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resp, body := b.raw(t, http.MethodPost, "/v1/auth/signup", tc.body)
			p := problem(t, resp, body, tc.status)
			require.Equal(t, "validation_failed", p.Code)
			require.NotNil(t, p.Errors)
			var fields []string
			for _, f := range *p.Errors {
				fields = append(fields, f.Field)
			}
			require.Contains(t, fields, tc.field)
			require.NotContains(t, string(body), "long enough pw", "a problem must not echo submitted values")
		})
	}

	t.Run("NoAccountIsCreatedByARejectedSignup", func(t *testing.T) {
		t.Parallel()
		email := uniqueEmail("rejected")
		resp, body := b.raw(t, http.MethodPost, "/v1/auth/signup", `{"email":"`+email+`","password":"short","full_name":"A","org_name":"B"}`)
		problem(t, resp, body, http.StatusUnprocessableEntity)
		var n int
		require.NoError(t, b.owner.Pool.QueryRow(context.Background(), `SELECT count(*) FROM users WHERE email = $1`, email).Scan(&n))
		require.Zero(t, n)
	})

	t.Run("BadPathIDIs400", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Path Co")
		resp, body := b.raw(t, http.MethodDelete, "/v1/api-keys/not-a-uuid", "", withBearer(s.AccessToken))
		p := problem(t, resp, body, http.StatusBadRequest)
		require.Equal(t, "invalid_parameter", p.Code)
	})

	t.Run("UnknownRouteIs404Problem", func(t *testing.T) {
		t.Parallel()
		resp, body := b.raw(t, http.MethodGet, "/v1/nothing-here", "")
		require.Equal(t, "not_found", problem(t, resp, body, http.StatusNotFound).Code)
		resp, body = b.raw(t, http.MethodGet, "/nowhere", "")
		require.Equal(t, "not_found", problem(t, resp, body, http.StatusNotFound).Code)
	})

	t.Run("ANULCharacterIs422NotA500", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "NUL Co")
		resp, body := b.raw(t, http.MethodPost, "/v1/api-keys", `{"name":"a\u0000b"}`, withBearer(s.AccessToken))
		p := problem(t, resp, body, http.StatusUnprocessableEntity)
		require.Equal(t, "validation_failed", p.Code)
		require.Equal(t, "/name", (*p.Errors)[0].Field)
		resp, body = b.raw(t, http.MethodPatch, "/v1/org", `{"business_context":{"key_pain_points":["ok","bad\u0000"]}}`, withBearer(s.AccessToken))
		p = problem(t, resp, body, http.StatusUnprocessableEntity)
		require.Equal(t, "/business_context/key_pain_points/1", (*p.Errors)[0].Field)
	})

	t.Run("OversizedBodyIs413", func(t *testing.T) {
		t.Parallel()
		big := `{"email":"a@example.com","password":"` + string(make([]byte, 70<<10)) + `"}`
		resp, body := b.raw(t, http.MethodPost, "/v1/auth/login", big)
		require.Equal(t, "body_too_large", problem(t, resp, body, http.StatusRequestEntityTooLarge).Code)
	})
}
