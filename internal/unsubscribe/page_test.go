package unsubscribe_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/leadpilot/leadpilot/internal/unsubscribe"
)

const action = "https://app.example.com/u/AQ-token"

func render(t *testing.T, p unsubscribe.Page) string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, p.Render(&b))
	return b.String()
}

// forms returns each form's method, action and hidden fields.
type form struct {
	method, action string
	fields         map[string]string
	buttons        int
}

func forms(t *testing.T, doc string) []form {
	t.Helper()
	root, err := html.Parse(strings.NewReader(doc))
	require.NoError(t, err)
	var out []form
	var walk func(n *html.Node, cur *form)
	walk = func(n *html.Node, cur *form) {
		if n.Type == html.ElementNode {
			attr := map[string]string{}
			for _, a := range n.Attr {
				attr[a.Key] = a.Val
			}
			switch n.Data {
			case "form":
				out = append(out, form{method: attr["method"], action: attr["action"], fields: map[string]string{}})
				cur = &out[len(out)-1]
			case "input":
				if cur != nil {
					cur.fields[attr["name"]] = attr["value"]
				}
			case "button":
				if cur != nil && attr["type"] == "submit" {
					cur.buttons++
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, cur)
		}
	}
	walk(root, nil)
	return out
}

func TestPage(t *testing.T) {
	t.Parallel()

	t.Run("ConfirmAsksAndPostsOneClick", func(t *testing.T) {
		t.Parallel()
		doc := render(t, unsubscribe.Page{State: unsubscribe.Confirm, OrgName: "Acme Robotics", Action: action})
		require.Contains(t, doc, "<h1>Unsubscribe from Acme Robotics?</h1>")
		require.NotContains(t, doc, "You're unsubscribed")
		fs := forms(t, doc)
		require.Len(t, fs, 1)
		require.Equal(t, "post", fs[0].method)
		require.Equal(t, action, fs[0].action)
		// The same body as RFC 8058's one-click POST, so one handler serves both.
		require.Equal(t, map[string]string{"List-Unsubscribe": "One-Click"}, fs[0].fields)
		require.Equal(t, 1, fs[0].buttons)
	})

	t.Run("DoneSaysSoWithoutAForm", func(t *testing.T) {
		t.Parallel()
		doc := render(t, unsubscribe.Page{State: unsubscribe.Done, OrgName: "Acme Robotics"})
		require.Contains(t, doc, "<h1>You're unsubscribed</h1>")
		require.Contains(t, doc, "Acme Robotics will not email you again.")
		require.Empty(t, forms(t, doc))

		doc = render(t, unsubscribe.Page{State: unsubscribe.Done})
		require.Contains(t, doc, "The sender will not email you again.")
	})

	t.Run("InvalidExplainsWithoutAForm", func(t *testing.T) {
		t.Parallel()
		doc := render(t, unsubscribe.Page{State: unsubscribe.Invalid})
		require.Contains(t, doc, "<h1>This unsubscribe link is not valid</h1>")
		require.Empty(t, forms(t, doc))
	})

	t.Run("EscapesTheOrgName", func(t *testing.T) {
		t.Parallel()
		doc := render(t, unsubscribe.Page{State: unsubscribe.Confirm, OrgName: `<script>alert(1)</script> & "Co"`, Action: action})
		require.NotContains(t, doc, "<script>")
		require.Contains(t, doc, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;Co&#34;")
	})

	t.Run("RefusesAScriptAction", func(t *testing.T) {
		t.Parallel()
		doc := render(t, unsubscribe.Page{State: unsubscribe.Confirm, OrgName: "Acme", Action: "javascript:alert(1)"})
		require.NotContains(t, doc, "javascript:")
		require.Equal(t, "#ZgotmplZ", forms(t, doc)[0].action)
	})

	t.Run("UnknownStateIsAnError", func(t *testing.T) {
		t.Parallel()
		var b strings.Builder
		require.Error(t, unsubscribe.Page{State: unsubscribe.PageState(7)}.Render(&b))
		require.Zero(t, b.Len())
	})

	t.Run("WritePageSetsStatusAndHeaders", func(t *testing.T) {
		t.Parallel()
		rec := httptest.NewRecorder()
		require.NoError(t, unsubscribe.WritePage(rec, http.StatusOK, unsubscribe.Page{State: unsubscribe.Confirm, OrgName: "Acme", Action: action}))
		res := rec.Result()
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
		require.Equal(t, "no-store", res.Header.Get("Cache-Control"))
		require.Equal(t, "no-referrer", res.Header.Get("Referrer-Policy"))
		require.Contains(t, res.Header.Get("X-Robots-Tag"), "noindex")
		require.Contains(t, res.Header.Get("Content-Security-Policy"), "default-src 'none'")
		require.Contains(t, rec.Body.String(), "Unsubscribe from Acme?")

		rec = httptest.NewRecorder()
		require.NoError(t, unsubscribe.WritePage(rec, http.StatusBadRequest, unsubscribe.Page{State: unsubscribe.Invalid}))
		require.Equal(t, http.StatusBadRequest, rec.Code)
	})

	t.Run("WritePageWritesNothingOnError", func(t *testing.T) {
		t.Parallel()
		rec := httptest.NewRecorder()
		require.Error(t, unsubscribe.WritePage(rec, http.StatusOK, unsubscribe.Page{State: -1}))
		require.Zero(t, rec.Body.Len())
		require.Empty(t, rec.Header().Get("Content-Type"))
	})
}
