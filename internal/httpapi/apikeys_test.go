package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
)

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	t.Run("AKeyAuthenticatesAsItsOrgUntilRevoked", func(t *testing.T) {
		t.Parallel()
		o := b.signup(t, "Keys Co")
		k, err := b.client.CreateAPIKeyWithResponse(ctx, nil, api.APIKeyCreate{Name: "Zapier"}, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, k.StatusCode(), string(k.Body))
		secret := k.JSON201.Secret
		require.True(t, strings.HasPrefix(secret, "lp_"))
		require.True(t, strings.HasPrefix(secret, k.JSON201.Prefix))

		me, err := b.client.GetMeWithResponse(ctx, bearer(secret))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, me.StatusCode(), string(me.Body))
		require.Equal(t, api.MePrincipalTypeAPIKey, me.JSON200.PrincipalType)
		require.Equal(t, o.Organization.ID, me.JSON200.Organization.ID)
		require.Equal(t, k.JSON201.ID, me.JSON200.APIKey.ID)
		require.Nil(t, me.JSON200.User)

		list, err := b.client.ListAPIKeysWithResponse(ctx, nil, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Len(t, list.JSON200.Data, 1)
		require.NotNil(t, list.JSON200.Data[0].LastUsedAt, "last_used_at is kept")
		require.NotContains(t, string(list.Body), secret, "the secret is shown once")
		var stored []byte
		require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT key_hash FROM api_keys WHERE id = $1`, k.JSON201.ID).Scan(&stored))
		require.NotContains(t, string(stored), secret[3:], "only a hash is stored")

		rv, err := b.client.RevokeAPIKeyWithResponse(ctx, k.JSON201.ID, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, rv.StatusCode())
		me, err = b.client.GetMeWithResponse(ctx, bearer(secret))
		require.NoError(t, err)
		require.Equal(t, "invalid_api_key", problem(t, me.HTTPResponse, me.Body, http.StatusUnauthorized).Code)
	})

	t.Run("KeysCannotManageAccess", func(t *testing.T) {
		t.Parallel()
		o := b.signup(t, "Scoped Key Co")
		k, err := b.client.CreateAPIKeyWithResponse(ctx, nil, api.APIKeyCreate{Name: "integration"}, bearer(o.AccessToken))
		require.NoError(t, err)
		again, err := b.client.CreateAPIKeyWithResponse(ctx, nil, api.APIKeyCreate{Name: "escalate"}, bearer(k.JSON201.Secret))
		require.NoError(t, err)
		problem(t, again.HTTPResponse, again.Body, http.StatusForbidden)
		inv, err := b.client.CreateInviteWithResponse(ctx, nil, api.InviteCreate{Email: api.Email(uniqueEmail("k"))}, bearer(k.JSON201.Secret))
		require.NoError(t, err)
		problem(t, inv.HTTPResponse, inv.Body, http.StatusForbidden)
		org, err := b.client.GetOrganizationWithResponse(ctx, bearer(k.JSON201.Secret))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, org.StatusCode())
	})

	t.Run("MembersCannotCreateKeys", func(t *testing.T) {
		t.Parallel()
		o := b.signup(t, "Member Key Co")
		m := b.join(t, o, api.RoleMember)
		k, err := b.client.CreateAPIKeyWithResponse(ctx, nil, api.APIKeyCreate{Name: "mine"}, bearer(m.AccessToken))
		require.NoError(t, err)
		problem(t, k.HTTPResponse, k.Body, http.StatusForbidden)
	})
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	t.Run("SameKeyAndBodyReplaysTheFirstResponse", func(t *testing.T) {
		t.Parallel()
		o := b.signup(t, "Idem Co")
		key := header("Idempotency-Key", "create-key-1")
		first, err := b.client.CreateAPIKeyWithResponse(ctx, nil, api.APIKeyCreate{Name: "once"}, bearer(o.AccessToken), key)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, first.StatusCode())
		second, err := b.client.CreateAPIKeyWithResponse(ctx, nil, api.APIKeyCreate{Name: "once"}, bearer(o.AccessToken), key)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, second.StatusCode())
		require.Equal(t, "true", second.HTTPResponse.Header.Get("Idempotent-Replayed"))
		require.Equal(t, first.JSON201.ID, second.JSON201.ID)

		list, err := b.client.ListAPIKeysWithResponse(ctx, nil, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Len(t, list.JSON200.Data, 1, "the retry created nothing")

		diff, err := b.client.CreateAPIKeyWithResponse(ctx, nil, api.APIKeyCreate{Name: "other"}, bearer(o.AccessToken), key)
		require.NoError(t, err)
		require.Equal(t, "idempotency_key_reused", problem(t, diff.HTTPResponse, diff.Body, http.StatusConflict).Code)
	})

	t.Run("WhitespaceDoesNotMakeADifferentRequest", func(t *testing.T) {
		t.Parallel()
		o := b.signup(t, "Idem Space Co")
		set := func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+o.AccessToken)
			r.Header.Set("Idempotency-Key", "k-space")
		}
		r1, b1 := b.raw(t, http.MethodPost, "/v1/api-keys", `{"name":"x"}`, set)
		r2, b2 := b.raw(t, http.MethodPost, "/v1/api-keys", "{ \"name\" : \"x\" }\n", set)
		require.Equal(t, http.StatusCreated, r1.StatusCode)
		require.Equal(t, http.StatusCreated, r2.StatusCode)
		require.JSONEq(t, string(b1), string(b2))
	})

	t.Run("KeysAreScopedToTheOrganisation", func(t *testing.T) {
		t.Parallel()
		a := b.signup(t, "Idem A")
		c := b.signup(t, "Idem B")
		key := header("Idempotency-Key", "shared-key")
		ra, err := b.client.CreateAPIKeyWithResponse(ctx, nil, api.APIKeyCreate{Name: "a"}, bearer(a.AccessToken), key)
		require.NoError(t, err)
		rc, err := b.client.CreateAPIKeyWithResponse(ctx, nil, api.APIKeyCreate{Name: "b"}, bearer(c.AccessToken), key)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, rc.StatusCode(), string(rc.Body))
		require.NotEqual(t, ra.JSON201.ID, rc.JSON201.ID)
	})

	t.Run("ConcurrentRequestsWithOneKeyActOnce", func(t *testing.T) {
		t.Parallel()
		o := b.signup(t, "Idem Race Co")
		key := header("Idempotency-Key", "race")
		var wg sync.WaitGroup
		statuses := make([]int, 8)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := b.client.CreateAPIKeyWithResponse(ctx, nil, api.APIKeyCreate{Name: "race"}, bearer(o.AccessToken), key)
				if err == nil {
					statuses[i] = r.StatusCode()
				}
			}()
		}
		wg.Wait()
		for _, s := range statuses {
			require.Contains(t, []int{http.StatusCreated, http.StatusConflict}, s)
		}
		list, err := b.client.ListAPIKeysWithResponse(ctx, nil, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Len(t, list.JSON200.Data, 1, "exactly one key whatever the interleaving: %v", statuses)
	})
}
