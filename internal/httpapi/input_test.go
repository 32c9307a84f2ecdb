package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestInputChecks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.signup(t, "Input Co")
	ctx := context.Background()
	contentType := func(ct string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Content-Type", ct) }
	}
	orgName := func(t *testing.T) string {
		t.Helper()
		var n string
		require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT name FROM organizations WHERE id = $1`, s.Organization.ID).Scan(&n))
		return n
	}

	t.Run("MediaTypesCompareCaseInsensitively", func(t *testing.T) {
		t.Parallel()
		for _, ct := range []string{"Application/JSON", "APPLICATION/JSON; Charset=UTF-8", "application/json;charset=utf-8"} {
			// The checks run whatever the spelling: NUL is refused, never stored.
			resp, body := b.raw(t, http.MethodPost, "/v1/api-keys", `{"name":"a\u0000b"}`, withBearer(s.AccessToken), contentType(ct))
			p := problem(t, resp, body, http.StatusUnprocessableEntity)
			require.Equal(t, "/name", (*p.Errors)[0].Field, ct)
			resp, body = b.raw(t, http.MethodPatch, "/v1/org", `{"name":"x\u0000y"}`, withBearer(s.AccessToken), contentType(ct))
			problem(t, resp, body, http.StatusUnprocessableEntity)
			resp, body = b.raw(t, http.MethodPost, "/v1/auth/signup", `{"email":"nul@example.com","password":"long enough pw","full_name":"a\u0000","org_name":"B"}`, contentType(ct))
			problem(t, resp, body, http.StatusUnprocessableEntity)
			// And a valid body in that spelling works.
			resp, body = b.raw(t, http.MethodPost, "/v1/api-keys", `{"name":"cased"}`, withBearer(s.AccessToken), contentType(ct))
			require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
		}
		require.Equal(t, "Input Co", orgName(t))
	})

	t.Run("ANonJSONMediaTypeIs415", func(t *testing.T) {
		t.Parallel()
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/jsonx", "", "application/json; charset=latin1"} {
			resp, body := b.raw(t, http.MethodPatch, "/v1/org", `{"name":"Changed"}`, withBearer(s.AccessToken), contentType(ct))
			p := problem(t, resp, body, http.StatusUnsupportedMediaType)
			require.True(t, strings.HasPrefix(p.Code, "unsupported_"), ct)
		}
		require.Equal(t, "Input Co", orgName(t))
	})

	t.Run("InvalidUTF8Is400NotReplaced", func(t *testing.T) {
		t.Parallel()
		resp, body := b.raw(t, http.MethodPatch, "/v1/org", "{\"name\":\"caf\xe9\"}", withBearer(s.AccessToken))
		require.Equal(t, "invalid_utf8", problem(t, resp, body, http.StatusBadRequest).Code)
		require.Equal(t, "Input Co", orgName(t))
	})

	t.Run("OnlyAShortSafeRequestIDIsKept", func(t *testing.T) {
		t.Parallel()
		for id, kept := range map[string]bool{
			"abc-123.DEF:9_z":           true,
			strings.Repeat("x", 60000):  false,
			"<script>alert(1)</script>": false,
			"two words":                 false,
		} {
			resp, _ := b.raw(t, http.MethodGet, "/v1/org", "", withBearer(s.AccessToken), func(r *http.Request) { r.Header.Set("X-Request-Id", id) })
			got := resp.Header.Get("X-Request-Id")
			require.NotEmpty(t, got)
			if kept {
				require.Equal(t, id, got)
			} else {
				require.NotEqual(t, id, got)
				require.LessOrEqual(t, len(got), 128)
			}
		}
	})

	t.Run("ABadLimitSaysWhatIsWrong", func(t *testing.T) {
		t.Parallel()
		resp, body := b.raw(t, http.MethodGet, "/v1/api-keys?limit=abc", "", withBearer(s.AccessToken))
		p := problem(t, resp, body, http.StatusBadRequest)
		require.NotNil(t, p.Errors)
		require.Equal(t, "/query/limit", (*p.Errors)[0].Field)
		require.NotEmpty(t, (*p.Errors)[0].Message)
	})
}
