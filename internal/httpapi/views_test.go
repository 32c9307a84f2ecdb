package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/httpapi"
)

const module = "github.com/leadpilot/leadpilot/"

// secretField names a field that looks like it holds a credential or its
// stored form.
var secretField = regexp.MustCompile(`(?i)hash|encrypted|cipher|secret|password`)

// shownOnce are the secrets a handler receives on purpose, to show the
// caller once at creation (owner.Type.Field).
var shownOnce = map[string]bool{
	"orgs.CreatedAPIKey.Secret": true,
	"webhooks.Created.Secret":   true, // a webhook endpoint's signing secret, on create
	"webhooks.Rotated.Secret":   true, // and on rotation
}

var baseModel = reflect.TypeFor[bun.BaseModel]()

// leaks lists what in t a handler must not receive: a database row (a
// struct embedding bun.BaseModel) or an exported field named like a
// secret. It follows pointers, slices, maps and struct fields through this
// module's types.
func leaks(t reflect.Type, path string, seen map[reflect.Type]bool) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	if t.Kind() == reflect.Map {
		return append(leaks(t.Key(), path+"[key]", seen), leaks(t.Elem(), path+"[]", seen)...)
	}
	if t.Kind() != reflect.Struct || seen[t] || !strings.HasPrefix(t.PkgPath(), module) {
		return nil
	}
	seen[t] = true
	var out []string
	owner := t.String() // "orgs.APIKey"
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type == baseModel {
			out = append(out, path+" ("+owner+") is a database row")
			continue
		}
		if !f.IsExported() {
			continue
		}
		if secretField.MatchString(f.Name) && !shownOnce[owner+"."+f.Name] {
			out = append(out, path+"."+f.Name+" ("+owner+") looks like a secret")
		}
		out = append(out, leaks(f.Type, path+"."+f.Name, seen)...)
	}
	return out
}

// serviceResults is every result type of every exported method of the
// services the API is built from (httpapi.Deps), by "Service.Method".
func serviceResults() map[string][]reflect.Type {
	out := map[string][]reflect.Type{}
	deps := reflect.TypeFor[httpapi.Deps]()
	for i := range deps.NumField() {
		svc := deps.Field(i).Type
		if svc.Kind() != reflect.Pointer || !strings.HasPrefix(svc.Elem().PkgPath(), module) {
			continue
		}
		for j := range svc.NumMethod() {
			m := svc.Method(j)
			for k := range m.Type.NumOut() {
				key := svc.Elem().String() + "." + m.Name
				out[key] = append(out[key], m.Type.Out(k))
			}
		}
	}
	return out
}

func TestHandlersGetViewsWithoutSecrets(t *testing.T) {
	t.Parallel()

	t.Run("NoServiceReturnsARowOrASecretLookingField", func(t *testing.T) {
		t.Parallel()
		results := serviceResults()
		// The walk reaches the services the handlers use.
		for _, m := range []string{"orgs.Service.Get", "orgs.Service.ListAPIKeys", "auth.Service.Me", "auth.Service.Login", "llmsettings.Service.Get"} {
			require.Contains(t, results, m)
		}
		var found []string
		for m, types := range results {
			for _, rt := range types {
				found = append(found, leaks(rt, m, map[reflect.Type]bool{})...)
			}
		}
		require.Empty(t, found, "handlers would receive these; return a view that carries only what the API shows")
	})

	t.Run("TheCheckFindsRowsAndSecrets", func(t *testing.T) {
		t.Parallel()
		type row struct {
			bun.BaseModel `bun:"table:users"`
			Name          string
		}
		type view struct {
			Name               string
			PasswordHash       string
			KeyHash            []byte
			LLMAPIKeyEncrypted *string
			WebhookSecret      string
		}
		type wrapper struct {
			Rows  []row
			Views map[string]*view
		}
		got := leaks(reflect.TypeFor[wrapper](), "x", map[reflect.Type]bool{})
		require.ElementsMatch(t, []string{
			"x.Rows (httpapi_test.row) is a database row",
			"x.Views[].PasswordHash (httpapi_test.view) looks like a secret",
			"x.Views[].KeyHash (httpapi_test.view) looks like a secret",
			"x.Views[].LLMAPIKeyEncrypted (httpapi_test.view) looks like a secret",
			"x.Views[].WebhookSecret (httpapi_test.view) looks like a secret",
		}, got)
	})
}

func TestResponsesCarryNoStoredSecrets(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	o := b.signup(t, "Stored Secrets Co")

	key, err := b.client.CreateAPIKeyWithResponse(ctx, nil, api.APIKeyCreate{Name: "zap"}, bearer(o.AccessToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, key.StatusCode(), string(key.Body))
	llmKey := "sk-stored-secret-4321"
	put, err := b.client.PutLlmSettingsWithResponse(ctx, api.LlmSettingsUpdate{Provider: api.LlmProviderOpenai, APIKey: &llmKey}, bearer(o.AccessToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, put.StatusCode(), string(put.Body))

	hook, err := b.client.CreateWebhookEndpointWithResponse(ctx, nil, api.WebhookEndpointCreate{URL: "https://hooks.example.com/",
		EventTypes: []api.EventTypeSubscription{api.EventTypeSubscriptionAsterisk}}, bearer(o.AccessToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, hook.StatusCode(), string(hook.Body))
	rot, err := b.client.RotateWebhookEndpointSecretWithResponse(ctx, hook.JSON201.ID, bearer(o.AccessToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, rot.StatusCode(), string(rot.Body))

	// What is stored for this organisation, as the owner sees it.
	var hookCipher, hookPrevCipher string
	require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT secret_encrypted, previous_secret_encrypted FROM webhook_endpoints WHERE id = $1`,
		hook.JSON201.ID).Scan(&hookCipher, &hookPrevCipher))
	var passwordHash, cipher string
	var keyHash []byte
	require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1`, o.User.ID).Scan(&passwordHash))
	require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT key_hash FROM api_keys WHERE id = $1`, key.JSON201.ID).Scan(&keyHash))
	require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT llm_api_key_encrypted FROM organizations WHERE id = $1`, o.Organization.ID).Scan(&cipher))
	require.NotEmpty(t, passwordHash)
	require.NotEmpty(t, keyHash)
	require.NotEmpty(t, cipher)
	stored := map[string]string{
		"password hash":                      passwordHash,
		"API key hash (hex)":                 hex.EncodeToString(keyHash),
		"API key hash (base64)":              base64.StdEncoding.EncodeToString(keyHash),
		"API key hash (base64url)":           base64.RawURLEncoding.EncodeToString(keyHash),
		"LLM key ciphertext":                 cipher,
		"LLM key":                            llmKey,
		"API key secret":                     key.JSON201.Secret,
		"webhook secret":                     rot.JSON200.Secret,
		"replaced webhook secret":            hook.JSON201.Secret,
		"webhook secret ciphertext":          hookCipher,
		"replaced webhook secret ciphertext": hookPrevCipher,
	}
	// Field names that would give a stored secret away, whatever its value.
	leakyName := regexp.MustCompile(`"[a-z_]*(hash|encrypted|cipher|password)[a-z_]*"\s*:`)

	get := func(t *testing.T, path, tok string) []byte {
		t.Helper()
		resp, body := b.raw(t, http.MethodGet, path, "", withBearer(tok))
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		return body
	}
	for name, tc := range map[string]struct{ path, tok string }{
		"MeAsTheOwner":      {"/v1/me", o.AccessToken},
		"MeAsTheAPIKey":     {"/v1/me", key.JSON201.Secret},
		"TheOrganization":   {"/v1/org", o.AccessToken},
		"TheAPIKeys":        {"/v1/api-keys", o.AccessToken},
		"TheLLMSettings":    {"/v1/settings/llm", o.AccessToken},
		"TheOrgAsTheAPIKey": {"/v1/org", key.JSON201.Secret},
		"TheWebhooks":       {"/v1/webhook-endpoints", o.AccessToken},
		"AWebhook":          {"/v1/webhook-endpoints/" + hook.JSON201.ID.String(), o.AccessToken},
		"TheEvents":         {"/v1/events", o.AccessToken},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body := string(get(t, tc.path, tc.tok))
			for what, v := range stored {
				require.NotContains(t, body, v, "%s answers with the %s", tc.path, what)
			}
			require.NotRegexp(t, leakyName, body)
		})
	}
}
