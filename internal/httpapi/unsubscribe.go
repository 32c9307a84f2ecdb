package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/leadpilot/leadpilot/internal/sending"
	"github.com/leadpilot/leadpilot/internal/unsubscribe"
)

// mountUnsubscribe serves the one-click unsubscribe link of every email
// (RFC 8058), outside /v1: no authentication, no cookies, no redirect.
// The signed token names the organisation and the lead.
//
//   - GET (and HEAD) shows the page: a confirmation with a button that
//     POSTs, or "you're unsubscribed" when that is done. It never
//     unsubscribes: link scanners and previewers GET every link.
//   - POST unsubscribes, whatever its body: the mail provider's
//     "List-Unsubscribe=One-Click" and the page's button alike. Doing it
//     twice is fine.
//
// A token that does not parse answers 400 and a lead that no longer
// exists 404, both with the page saying the link is not valid.
func mountUnsubscribe(e *echo.Echo, eng *sending.Engine, signer *unsubscribe.Signer) {
	h := unsubscribeHandler{eng: eng, signer: signer}
	e.GET("/u/:token", h.show)
	e.HEAD("/u/:token", h.show)
	e.POST("/u/:token", h.unsubscribe)
}

type unsubscribeHandler struct {
	eng    *sending.Engine
	signer *unsubscribe.Signer
}

func (h unsubscribeHandler) show(c echo.Context) error {
	token := c.Param("token")
	org, lead, err := h.signer.Parse(token)
	if err != nil {
		return unsubscribe.WritePage(c.Response(), http.StatusBadRequest, unsubscribe.Page{State: unsubscribe.Invalid})
	}
	exists, done, orgName, err := h.eng.Unsubscribed(c.Request().Context(), org, lead)
	switch {
	case err != nil:
		return err
	case !exists:
		return unsubscribe.WritePage(c.Response(), http.StatusNotFound, unsubscribe.Page{State: unsubscribe.Invalid})
	case done:
		return unsubscribe.WritePage(c.Response(), http.StatusOK, unsubscribe.Page{State: unsubscribe.Done, OrgName: orgName})
	}
	action := h.eng.UnsubscribeURL(token)
	if action == "" {
		action = c.Request().URL.Path // the link the page was opened at
	}
	return unsubscribe.WritePage(c.Response(), http.StatusOK, unsubscribe.Page{State: unsubscribe.Confirm, OrgName: orgName, Action: action})
}

func (h unsubscribeHandler) unsubscribe(c echo.Context) error {
	org, lead, err := h.signer.Parse(c.Param("token"))
	if err != nil {
		return unsubscribe.WritePage(c.Response(), http.StatusBadRequest, unsubscribe.Page{State: unsubscribe.Invalid})
	}
	ctx := c.Request().Context()
	found, err := h.eng.Unsubscribe(ctx, org, lead, "list_unsubscribe")
	if err != nil {
		return err
	}
	if !found {
		return unsubscribe.WritePage(c.Response(), http.StatusNotFound, unsubscribe.Page{State: unsubscribe.Invalid})
	}
	_, _, orgName, err := h.eng.Unsubscribed(ctx, org, lead)
	if err != nil {
		return err
	}
	return unsubscribe.WritePage(c.Response(), http.StatusOK, unsubscribe.Page{State: unsubscribe.Done, OrgName: orgName})
}
