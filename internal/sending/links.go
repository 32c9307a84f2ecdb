package sending

import "github.com/leadpilot/leadpilot/internal/unsubscribe"

// UnsubscribeURL is the one-click link for token as the engine writes it
// into List-Unsubscribe (Options.UnsubscribeBase + "/" + token), or ""
// when the engine has no base: the unsubscribe page posts its
// confirmation to it.
func (e *Engine) UnsubscribeURL(token string) string {
	if e.opts.UnsubscribeBase == "" {
		return ""
	}
	return unsubscribe.URL(e.opts.UnsubscribeBase, token)
}
