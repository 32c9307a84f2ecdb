package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/llm/llmfactory"
	"github.com/leadpilot/leadpilot/internal/llm/llmtest"
	"github.com/leadpilot/leadpilot/internal/secrets"
)

func TestLLMSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("WithNoKeysTheBuiltinProviderAnswersAndIsLabelled", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		o := b.signup(t, "Offline Co")
		st, err := b.client.GetLlmSettingsWithResponse(ctx, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, st.StatusCode(), string(st.Body))
		require.Equal(t, api.LlmProviderBuiltin, st.JSON200.Provider)
		require.True(t, st.JSON200.Builtin)
		require.False(t, st.JSON200.Chosen)
		require.Equal(t, api.LlmSettingsKeySourceNone, st.JSON200.KeySource)
		require.Len(t, st.JSON200.Providers, 6)

		res, err := b.client.TestLlmSettingsWithResponse(ctx, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
		require.True(t, res.JSON200.Ok, string(res.Body))
		require.True(t, res.JSON200.Builtin)
		require.Equal(t, api.LlmProviderBuiltin, res.JSON200.Provider)
		require.Equal(t, llmfactory.DefaultModel("builtin"), res.JSON200.Model)
		require.NotEmpty(t, *res.JSON200.Reply)

		usage, err := b.client.GetLlmUsageWithResponse(ctx, nil, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, usage.StatusCode(), string(usage.Body))
		require.Len(t, usage.JSON200.Data, 1)
		require.Equal(t, "test", usage.JSON200.Data[0].Operation)
		require.Equal(t, "builtin", usage.JSON200.Data[0].Provider)
		require.EqualValues(t, 1, usage.JSON200.Totals.Calls)
	})

	t.Run("SwitchingProviderAndKeyChangesWhichServerTheNextCallReaches", func(t *testing.T) {
		t.Parallel()
		oa := llmtest.NewOpenAI(t, "sk-org-openai-123")
		an := llmtest.NewAnthropic(t, "sk-ant-org-456")
		ge := llmtest.NewGemini(t, "platform-gemini-key")
		b := setup(t, withLLM(t, llmfactory.Platform{
			Keys: map[string]string{llmfactory.Gemini: "platform-gemini-key"},
			BaseURLs: map[string]string{
				llmfactory.OpenAI: llmtest.OpenAIBaseURL(oa), llmfactory.Anthropic: an.URL, llmfactory.Gemini: ge.URL,
			},
		}))
		o := b.signup(t, "Switch Co")
		tok := bearer(o.AccessToken)
		put := func(body api.LlmSettingsUpdate) api.LlmSettings {
			t.Helper()
			r, err := b.client.PutLlmSettingsWithResponse(ctx, body, tok)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
			return *r.JSON200
		}
		test := func() api.LlmTestResult {
			t.Helper()
			r, err := b.client.TestLlmSettingsWithResponse(ctx, tok)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
			return *r.JSON200
		}

		st := put(api.LlmSettingsUpdate{Provider: api.LlmProviderOpenai, APIKey: ptr("sk-org-openai-123"), Temperature: ptr(0.3)})
		require.True(t, st.APIKeySet)
		require.Equal(t, api.LlmSettingsKeySourceOrg, st.KeySource)
		require.Equal(t, llmfactory.DefaultModel("openai"), st.Model)
		res := test()
		require.True(t, res.Ok, res.Error)
		require.Len(t, oa.Requests(), 1)
		require.Empty(t, an.Requests())
		require.Equal(t, "Bearer sk-org-openai-123", oa.Requests()[0].Header.Get("Authorization"))
		require.InDelta(t, 0.3, oa.Requests()[0].JSON(t)["temperature"], 1e-9, "the org's temperature is sent")

		st = put(api.LlmSettingsUpdate{Provider: api.LlmProviderAnthropic, APIKey: ptr("sk-ant-org-456"), Model: ptr("claude-test-model")})
		require.Equal(t, "claude-test-model", st.Model)
		res = test()
		require.True(t, res.Ok, res.Error)
		require.Len(t, oa.Requests(), 1, "OpenAI is not called again")
		require.Len(t, an.Requests(), 1)
		require.Equal(t, "sk-ant-org-456", an.Requests()[0].Header.Get("X-Api-Key"))
		require.Equal(t, "claude-test-model", an.Requests()[0].JSON(t)["model"])

		// A new provider without a key drops the old one and uses the platform's.
		st = put(api.LlmSettingsUpdate{Provider: api.LlmProviderGemini})
		require.False(t, st.APIKeySet)
		require.Equal(t, api.LlmSettingsKeySourcePlatform, st.KeySource)
		res = test()
		require.True(t, res.Ok, res.Error)
		require.Len(t, ge.Requests(), 1)
		gr := ge.Requests()[0]
		require.Equal(t, "platform-gemini-key", gr.Header.Get("X-Goog-Api-Key")+gr.Query.Get("key"))

		usage, err := b.client.GetLlmUsageWithResponse(ctx, nil, tok)
		require.NoError(t, err)
		providers := map[string]int64{}
		for _, r := range usage.JSON200.Data {
			providers[r.Provider] += r.Calls
		}
		require.Equal(t, map[string]int64{"openai": 1, "anthropic": 1, "gemini": 1}, providers)
		require.Positive(t, usage.JSON200.Totals.PromptTokens)
	})

	t.Run("AnOrgThatChoseNothingFollowsThePlatformDefault", func(t *testing.T) {
		t.Parallel()
		ge := llmtest.NewGemini(t, "platform-gemini-key")
		b := setup(t, withLLM(t, llmfactory.Platform{
			Keys:     map[string]string{llmfactory.Gemini: "platform-gemini-key"},
			BaseURLs: map[string]string{llmfactory.Gemini: ge.URL},
		}))
		o := b.signup(t, "Default Co")
		st, err := b.client.GetLlmSettingsWithResponse(ctx, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, api.LlmProviderGemini, st.JSON200.Provider, "a platform key makes its provider the default")
		require.False(t, st.JSON200.Chosen)
		require.Equal(t, api.LlmSettingsKeySourcePlatform, st.JSON200.KeySource)
		res, err := b.client.TestLlmSettingsWithResponse(ctx, bearer(o.AccessToken))
		require.NoError(t, err)
		require.True(t, res.JSON200.Ok, res.JSON200.Error)
		require.Len(t, ge.Requests(), 1)

		// Choosing builtin explicitly sticks, whatever keys the platform has.
		put, err := b.client.PutLlmSettingsWithResponse(ctx, api.LlmSettingsUpdate{Provider: api.LlmProviderBuiltin}, bearer(o.AccessToken))
		require.NoError(t, err)
		require.True(t, put.JSON200.Chosen)
		require.True(t, put.JSON200.Builtin)
	})

	t.Run("ModelIDsAndTemperaturesFollowTheProvider", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		o := b.signup(t, "Models Co")
		r, err := b.client.PutLlmSettingsWithResponse(ctx, api.LlmSettingsUpdate{Provider: api.LlmProviderGroq, Model: ptr("openai/gpt-oss-120b")}, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), "Groq model ids carry an owner prefix: %s", r.Body)
		r, err = b.client.PutLlmSettingsWithResponse(ctx, api.LlmSettingsUpdate{Provider: api.LlmProviderGemini, Model: ptr("gemini/../../x")}, bearer(o.AccessToken))
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
		r, err = b.client.PutLlmSettingsWithResponse(ctx, api.LlmSettingsUpdate{Provider: api.LlmProviderAnthropic, Temperature: ptr(1.5)}, bearer(o.AccessToken))
		require.NoError(t, err)
		p := problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
		require.Equal(t, "/temperature", (*p.Errors)[0].Field)
		r, err = b.client.PutLlmSettingsWithResponse(ctx, api.LlmSettingsUpdate{Provider: api.LlmProviderOpenai, Temperature: ptr(1.5)}, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode())
	})

	t.Run("TheOrgKeyIsWriteOnlyAndEncryptedAtRest", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		o := b.signup(t, "Secret Co")
		const key = "sk-secret-value-9876"
		r, err := b.client.PutLlmSettingsWithResponse(ctx, api.LlmSettingsUpdate{Provider: api.LlmProviderOpenai, APIKey: ptr(key)}, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		require.NotContains(t, string(r.Body), key)
		g, err := b.client.GetLlmSettingsWithResponse(ctx, bearer(o.AccessToken))
		require.NoError(t, err)
		require.NotContains(t, string(g.Body), key)
		require.True(t, g.JSON200.APIKeySet)

		var stored string
		require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT llm_api_key_encrypted FROM organizations WHERE id = $1`, o.Organization.ID).Scan(&stored))
		require.NotContains(t, stored, key)
		require.True(t, strings.HasPrefix(stored, "v1.test."))
		plain, err := testKeyring(t).DecryptString(stored, secrets.AAD("organizations", "llm_api_key_encrypted", o.Organization.ID.String()))
		require.NoError(t, err)
		require.Equal(t, key, plain)

		// Same provider, no key sent: kept. Empty string: removed.
		r, err = b.client.PutLlmSettingsWithResponse(ctx, api.LlmSettingsUpdate{Provider: api.LlmProviderOpenai, Model: ptr("gpt-4o")}, bearer(o.AccessToken))
		require.NoError(t, err)
		require.True(t, r.JSON200.APIKeySet)
		r, err = b.client.PutLlmSettingsWithResponse(ctx, api.LlmSettingsUpdate{Provider: api.LlmProviderOpenai, APIKey: ptr("")}, bearer(o.AccessToken))
		require.NoError(t, err)
		require.False(t, r.JSON200.APIKeySet)
	})

	t.Run("ProviderErrorsAreReportedInPlainWords", func(t *testing.T) {
		t.Parallel()
		oa := llmtest.NewOpenAI(t, "the-right-key")
		b := setup(t, withLLM(t, llmfactory.Platform{BaseURLs: map[string]string{llmfactory.OpenAI: llmtest.OpenAIBaseURL(oa)}}))
		o := b.signup(t, "Wrong Key Co")
		_, err := b.client.PutLlmSettingsWithResponse(ctx, api.LlmSettingsUpdate{Provider: api.LlmProviderOpenai, APIKey: ptr("sk-wrong-key-000")}, bearer(o.AccessToken))
		require.NoError(t, err)
		res, err := b.client.TestLlmSettingsWithResponse(ctx, bearer(o.AccessToken))
		require.NoError(t, err)
		require.False(t, res.JSON200.Ok)
		require.Equal(t, "llm_invalid_key", res.JSON200.Error.Code)
		require.Contains(t, res.JSON200.Error.Message, "Incorrect API key")
		require.NotContains(t, res.JSON200.Error.Message, "sk-wrong-key-000", "the key is never echoed")

		// No key anywhere for the chosen provider.
		_, err = b.client.PutLlmSettingsWithResponse(ctx, api.LlmSettingsUpdate{Provider: api.LlmProviderGroq}, bearer(o.AccessToken))
		require.NoError(t, err)
		res, err = b.client.TestLlmSettingsWithResponse(ctx, bearer(o.AccessToken))
		require.NoError(t, err)
		require.False(t, res.JSON200.Ok)
		require.Equal(t, "llm_not_configured", res.JSON200.Error.Code)
		require.Contains(t, res.JSON200.Error.Message, "GROQ_API_KEY")
	})

	t.Run("OnlyOwnersAndAdminsChangeOrTest", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		o := b.signup(t, "Perm Co")
		m := b.join(t, o, api.RoleMember)
		r, err := b.client.PutLlmSettingsWithResponse(ctx, api.LlmSettingsUpdate{Provider: api.LlmProviderOpenai}, bearer(m.AccessToken))
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusForbidden)
		tr, err := b.client.TestLlmSettingsWithResponse(ctx, bearer(m.AccessToken))
		require.NoError(t, err)
		problem(t, tr.HTTPResponse, tr.Body, http.StatusForbidden)
		g, err := b.client.GetLlmSettingsWithResponse(ctx, bearer(m.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, g.StatusCode(), "members may read")
	})

	t.Run("BadSettingsAreRejected", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		o := b.signup(t, "Bad LLM Co")
		for name, body := range map[string]string{
			"UnknownProvider":   `{"provider":"skynet"}`,
			"HotTemperature":    `{"provider":"openai","temperature":3}`,
			"KeyForBuiltin":     `{"provider":"builtin","api_key":"sk-1234567890"}`,
			"ModelForBuiltin":   `{"provider":"builtin","model":"gpt-4o"}`,
			"KeyWithWhitespace": `{"provider":"openai","api_key":"sk 123 456 789"}`,
			"UnknownField":      `{"provider":"openai","key":"sk-123456789"}`,
		} {
			resp, rb := b.raw(t, http.MethodPut, "/v1/settings/llm", body, withBearer(o.AccessToken))
			require.Equal(t, "validation_failed", problem(t, resp, rb, http.StatusUnprocessableEntity).Code, name)
		}
		g, err := b.client.GetLlmSettingsWithResponse(ctx, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, api.LlmProviderBuiltin, g.JSON200.Provider, "nothing changed")
		resp, rb := b.raw(t, http.MethodGet, "/v1/settings/llm/usage?from=2026-02-01&to=2026-01-01", "", withBearer(o.AccessToken))
		problem(t, resp, rb, http.StatusUnprocessableEntity)
	})
}
