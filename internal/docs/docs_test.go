package docs_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/docs"
)

const specURL = "/openapi.yaml"

func setup(t *testing.T) http.Handler {
	t.Helper()
	return docs.Handler(specURL)
}

func get(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var absoluteURL = regexp.MustCompile(`(?i)https?://`)

func TestHandler(t *testing.T) {
	t.Parallel()

	t.Run("ServesAnOfflineHTMLPage", func(t *testing.T) {
		t.Parallel()
		h := setup(t)

		for _, path := range []string{"/docs", "/docs/"} {
			rec := get(t, h, http.MethodGet, path, nil)
			require.Equal(t, http.StatusOK, rec.Code, path)
			require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))

			body := rec.Body.String()
			require.True(t, strings.HasPrefix(body, "<!DOCTYPE html>"), "page starts with a doctype")
			require.Contains(t, body, `<script src="/docs/redoc.standalone.js?v=`)
			require.Contains(t, body, `spec-url="`+specURL+`"`)
			require.NotRegexp(t, absoluteURL, body, "the page must load nothing from outside")
			require.NotContains(t, body, "//fonts.")
		}
	})

	t.Run("SetsSecurityHeadersOnThePage", func(t *testing.T) {
		t.Parallel()
		h := setup(t)

		rec := get(t, h, http.MethodGet, "/docs", nil)
		require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))

		csp := rec.Header().Get("Content-Security-Policy")
		require.Contains(t, csp, "default-src 'none'")
		require.Contains(t, csp, "script-src 'self'")
		require.Contains(t, csp, "connect-src 'self'")
		require.Contains(t, csp, "worker-src blob:")
		require.NotRegexp(t, absoluteURL, csp)
		require.NotContains(t, csp, "unsafe-eval")
	})

	t.Run("AllowsAnAbsoluteSpecURLInConnectSrc", func(t *testing.T) {
		t.Parallel()
		h := docs.Handler("https://api.example.test/openapi.yaml")

		rec := get(t, h, http.MethodGet, "/docs", nil)
		require.Equal(t, http.StatusOK, rec.Code)
		require.Contains(t, rec.Header().Get("Content-Security-Policy"), "connect-src 'self' https://api.example.test;")
	})

	t.Run("EscapesTheSpecURL", func(t *testing.T) {
		t.Parallel()
		h := docs.Handler(`/openapi.yaml"><script>alert(1)</script>`)

		rec := get(t, h, http.MethodGet, "/docs", nil)
		require.Equal(t, http.StatusOK, rec.Code)
		require.NotContains(t, rec.Body.String(), "<script>alert(1)")
	})

	t.Run("ServesTheEmbeddedScript", func(t *testing.T) {
		t.Parallel()
		h := setup(t)

		rec := get(t, h, http.MethodGet, "/docs/redoc.standalone.js", nil)
		require.Equal(t, http.StatusOK, rec.Code)
		require.Contains(t, rec.Header().Get("Content-Type"), "javascript")
		require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
		require.Contains(t, rec.Header().Get("Cache-Control"), "max-age=31536000")
		require.Greater(t, rec.Body.Len(), 500_000, "the Redoc bundle is about 1 MB")
		require.Contains(t, rec.Body.String(), "Redoc")

		etag := rec.Header().Get("ETag")
		require.NotEmpty(t, etag)
		again := get(t, h, http.MethodGet, "/docs/redoc.standalone.js?v=x", map[string]string{"If-None-Match": etag})
		require.Equal(t, http.StatusNotModified, again.Code)
	})

	t.Run("AnswersHEADWithoutABody", func(t *testing.T) {
		t.Parallel()
		h := setup(t)

		rec := get(t, h, http.MethodHead, "/docs/redoc.standalone.js", nil)
		require.Equal(t, http.StatusOK, rec.Code)
		require.Zero(t, rec.Body.Len())
	})

	t.Run("RejectsOtherMethods", func(t *testing.T) {
		t.Parallel()
		h := setup(t)

		rec := get(t, h, http.MethodPost, "/docs", nil)
		require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
		require.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))
	})

	t.Run("AnswersUnknownPathsWith404", func(t *testing.T) {
		t.Parallel()
		h := setup(t)

		for _, path := range []string{"/docs/nope", "/docs/redoc.standalone.js.map", "/docs/assets/LICENSE", "/docs//", "/"} {
			rec := get(t, h, http.MethodGet, path, nil)
			require.Equal(t, http.StatusNotFound, rec.Code, path)
		}
	})
}
