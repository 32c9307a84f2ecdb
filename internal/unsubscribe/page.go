package unsubscribe

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"net/http"
)

// PageState is which of the page's three faces to show.
type PageState int

// The page's faces.
const (
	// Confirm asks "Unsubscribe from <org>?" with a button that POSTs.
	// A GET for a lead still subscribed shows it; it changes nothing.
	Confirm PageState = iota
	// Done says "You're unsubscribed": after the POST, or on a GET for a
	// lead already unsubscribed.
	Done
	// Invalid says the link is not valid (Signer.Parse failed) and how
	// to unsubscribe anyway.
	Invalid
)

// Page is what the unsubscribe page shows.
type Page struct {
	State PageState
	// OrgName is the sending organisation's name, as the recipient
	// would recognise it. Escaped by the template.
	OrgName string
	// Action is where the Confirm button POSTs: the unsubscribe URL
	// itself (see [URL]). html/template refuses non-http(s) schemes.
	Action string
}

//go:embed page.html.tmpl
var pageSource string

var pageTemplate = template.Must(template.New("unsubscribe").Parse(pageSource))

// Render writes p as a complete HTML document.
func (p Page) Render(w io.Writer) error {
	if p.State < Confirm || p.State > Invalid {
		return fmt.Errorf("unsubscribe: unknown page state %d", p.State)
	}
	view := struct {
		Page
		Confirm, Done, Invalid bool
	}{p, p.State == Confirm, p.State == Done, p.State == Invalid}
	if err := pageTemplate.Execute(w, view); err != nil {
		return fmt.Errorf("unsubscribe: render page: %w", err)
	}
	return nil
}

// WritePage renders p to w with status and the headers the page needs. The token is in the URL, so the page is neither cached,
// indexed, framed nor sent as a Referer, and it loads nothing from
// anywhere (its style is inline).
func WritePage(w http.ResponseWriter, status int, p Page) error {
	var buf bytes.Buffer
	if err := p.Render(&buf); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex, nofollow")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}
