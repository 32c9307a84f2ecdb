package httpapi

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/leadpilot/leadpilot/internal/auth"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/ratelimit"
)

// outsideTransaction lists operations ("METHOD /echo/path") that must not
// hold a database transaction for their whole length, because they wait on
// an outside service (a language model's test call) or stream a long
// response. Their service calls
// open short transactions of their own.
var outsideTransaction = map[string]bool{
	http.MethodPost + " /v1/settings/llm/test": true,
	// Streams a CSV of any length: each page of rows has its own short
	// transaction.
	http.MethodGet + " /v1/leads/export": true,
}

// authenticate sets the principal for every non-public operation and, for
// all but outsideTransaction ones, opens the request's tenant transaction:
// the membership check, the handler's work and the stored idempotent
// response then commit together, once, after the handler. The response is
// held back until that commit succeeds, so a client is never told of work
// that did not commit; a request that answers 4xx or 5xx changes nothing.
//
// Failed attempts spend the client IP's budget and, once it is spent,
// answer 429: guessing keys is slowed without locking out valid
// credentials that share the address (a NAT, an office). The budget fails
// closed: it is the guard against guessing, so while Redis is down a failed
// attempt answers 503 rather than an unmetered 401 (valid credentials never
// consult it).
func authenticate(a *auth.Service, l *ratelimit.Limiter, lim Limits, public map[string]string) echo.MiddlewareFunc {
	failures := ratelimit.PerMinute(lim.AuthIPPerMinute).WithPolicy(ratelimit.FailClosed)
	refuse := func(c echo.Context, err error) error {
		if fault.IsKind(err, fault.KindUnauthorized) {
			res, lerr := l.Allow(database.Detach(c.Request().Context()), "authfail:"+c.RealIP(), failures)
			if lerr != nil {
				return lerr
			}
			if !res.Allowed {
				return fault.RateLimited("too many failed authentication attempts from this address", res.RetryAfterSeconds())
			}
		}
		return err
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			op := operationKey(c)
			if public[op] != "" || c.Path() == "" || c.Path() == "/v1/*" {
				return next(c)
			}
			ctx := c.Request().Context()
			h := c.Request().Header.Get(echo.HeaderAuthorization)
			scheme, cred, ok := strings.Cut(h, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(cred) == "" {
				return fault.Unauthorized("unauthenticated", "send Authorization: Bearer <access token or API key>")
			}
			credential, err := a.Resolve(ctx, strings.TrimSpace(cred))
			if err != nil {
				return refuse(c, err)
			}
			if outsideTransaction[op] {
				p, err := a.Check(ctx, credential)
				if err != nil {
					return refuse(c, err)
				}
				c.SetRequest(c.Request().WithContext(auth.WithPrincipal(ctx, p)))
				return next(c)
			}

			ctx, rtx, p, err := a.Open(ctx, credential)
			if err != nil {
				return refuse(c, err)
			}
			defer rtx.Rollback() //nolint:errcheck // a no-op once committed
			c.SetRequest(c.Request().WithContext(auth.WithPrincipal(ctx, p)))

			buf := holdResponse(c)
			defer buf.release(c)
			if err := next(c); err != nil {
				buf.discard(c) // a returned error wins over anything written
				c.Error(err)
			}
			if c.Response().Status >= http.StatusBadRequest {
				return rtx.Rollback()
			}
			if err := rtx.Commit(context.WithoutCancel(ctx)); err != nil {
				buf.discard(c)
				c.Error(err)
			}
			return nil
		}
	}
}

// heldResponse keeps a response back until the request's transaction has
// committed. Headers go to the real writer's map as usual; status and body
// wait in memory.
type heldResponse struct {
	orig   http.ResponseWriter
	status int
	body   bytes.Buffer
}

func holdResponse(c echo.Context) *heldResponse {
	h := &heldResponse{orig: c.Response().Writer}
	c.Response().Writer = h
	return h
}

func (h *heldResponse) Header() http.Header { return h.orig.Header() }

func (h *heldResponse) WriteHeader(status int) {
	if h.status == 0 {
		h.status = status
	}
}

func (h *heldResponse) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return h.body.Write(b)
}

// discard forgets what was written so far, so that an error can be
// rendered in its place.
func (h *heldResponse) discard(c echo.Context) {
	h.status = 0
	h.body.Reset()
	r := c.Response()
	r.Committed = false
	r.Status = http.StatusOK
	r.Size = 0
	for _, k := range []string{echo.HeaderContentType, echo.HeaderContentLength, "Idempotent-Replayed", "Location"} {
		r.Header().Del(k)
	}
}

// release writes the held response to the client.
func (h *heldResponse) release(c echo.Context) {
	c.Response().Writer = h.orig
	if h.status == 0 {
		return
	}
	h.orig.WriteHeader(h.status)
	_, _ = h.orig.Write(h.body.Bytes())
}

// heldBody returns the body written so far when the response is being held.
func heldBody(c echo.Context) ([]byte, bool) {
	h, ok := c.Response().Writer.(*heldResponse)
	if !ok {
		return nil, false
	}
	return h.body.Bytes(), true
}

var errNoRequestTx = errors.New("httpapi: idempotency needs the request transaction")
