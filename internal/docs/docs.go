// Package docs serves the human-readable API reference at /docs: a small
// HTML page that renders the OpenAPI document with Redoc. The Redoc bundle
// (redoc@2.5.4, bundles/redoc.standalone.js, MIT, see assets/LICENSE) is
// embedded in the binary, so the page works with no internet access and
// loads nothing from a CDN. `make docs-assets` refreshes it from npm.
package docs

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Paths the handler answers; anything else under /docs is a 404.
const (
	pagePath   = "/docs"
	scriptPath = "/docs/redoc.standalone.js"
)

//go:embed assets/redoc.standalone.js
var assets embed.FS

// redocJS is the embedded bundle, and redocETag its strong validator.
var redocJS, redocETag = mustLoadScript()

func mustLoadScript() ([]byte, string) {
	b, err := assets.ReadFile("assets/redoc.standalone.js")
	if err != nil {
		// Unreachable: the file is embedded at build time.
		panic("docs: embedded redoc bundle missing: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:8])
}

// The page uses no inline script: Redoc's standalone bundle initialises
// itself from the <redoc spec-url> element, so script-src stays 'self'.
var pageTemplate = template.Must(template.New("docs").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>LeadPilot API reference</title>
<style>body{margin:0;padding:0}</style>
</head>
<body>
<noscript><p>The API reference needs JavaScript. The raw contract is at <a href="{{.SpecURL}}">{{.SpecURL}}</a>.</p></noscript>
<redoc spec-url="{{.SpecURL}}"></redoc>
<script src="{{.ScriptURL}}"></script>
</body>
</html>
`))

// Handler returns an http.Handler for the API reference. It answers
// GET and HEAD for /docs and /docs/ (the HTML page, which renders the
// OpenAPI document found at specURL, e.g. "/openapi.yaml") and for
// /docs/redoc.standalone.js (the embedded Redoc bundle); every other path
// is a 404. Mount it on /docs and /docs/* with the full request path
// intact.
//
// specURL should be same-origin; an absolute URL is allowed and its origin
// is added to the page's Content-Security-Policy connect-src so Redoc may
// fetch it.
func Handler(specURL string) http.Handler {
	var page bytes.Buffer
	err := pageTemplate.Execute(&page, struct{ SpecURL, ScriptURL string }{
		SpecURL: specURL,
		// The version query lets the script be cached as immutable: a
		// new bundle gets a new URL.
		ScriptURL: scriptPath + "?v=" + redocETag,
	})
	if err != nil {
		// Unreachable: the template is static and its data are strings.
		panic("docs: render page: " + err.Error())
	}
	return &handler{page: page.Bytes(), csp: pageCSP(specURL)}
}

type handler struct {
	page []byte
	csp  string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var serve func(http.ResponseWriter, *http.Request)
	switch r.URL.Path {
	case pagePath, pagePath + "/":
		serve = h.servePage
	case scriptPath:
		serve = serveScript
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	serve(w, r)
}

func (h *handler) servePage(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Security-Policy", h.csp)
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Frame-Options", "DENY")
	// The page is tiny and names the script by version: always revalidate.
	hdr.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(h.page))
}

func serveScript(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/javascript; charset=utf-8")
	hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	hdr.Set("ETag", `"`+redocETag+`"`)
	// ServeContent answers If-None-Match and Range requests.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(redocJS))
}

// pageCSP is the page's Content-Security-Policy: everything from 'self',
// plus what Redoc needs — inline styles (styled-components), data: images
// and fonts, and a blob: worker for search.
func pageCSP(specURL string) string {
	connect := "'self'"
	if u, err := url.Parse(specURL); err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") {
		connect += " " + u.Scheme + "://" + u.Host
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self' 'unsafe-inline'",
		"img-src 'self' data:",
		"font-src 'self' data:",
		"connect-src " + connect,
		"worker-src blob:",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}
