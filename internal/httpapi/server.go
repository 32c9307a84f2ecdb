// Package httpapi is the HTTP edge: it implements the generated strict
// server interface on Echo, authenticates callers, applies rate limits and
// idempotency, validates requests against openapi.yaml, and turns domain
// results and faults into API types and problem+json. Handlers stay thin:
// principal in, one domain call, API type out.
package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	echomw "github.com/labstack/echo/v4/middleware"
	oapimw "github.com/oapi-codegen/echo-middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadpilot/leadpilot/api/server"
	"github.com/leadpilot/leadpilot/internal/auth"
	"github.com/leadpilot/leadpilot/internal/campaigns"
	"github.com/leadpilot/leadpilot/internal/emailaccounts"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/idempotency"
	"github.com/leadpilot/leadpilot/internal/inbox"
	"github.com/leadpilot/leadpilot/internal/leadimports"
	"github.com/leadpilot/leadpilot/internal/leads"
	"github.com/leadpilot/leadpilot/internal/llmsettings"
	"github.com/leadpilot/leadpilot/internal/notifications"
	"github.com/leadpilot/leadpilot/internal/orgs"
	"github.com/leadpilot/leadpilot/internal/ratelimit"
	"github.com/leadpilot/leadpilot/internal/sending"
	"github.com/leadpilot/leadpilot/internal/sequences"
	"github.com/leadpilot/leadpilot/internal/suppressions"
	"github.com/leadpilot/leadpilot/internal/templates"
	"github.com/leadpilot/leadpilot/internal/unsubscribe"
	"github.com/leadpilot/leadpilot/internal/webhooks"
)

// Limits are the request budgets.
type Limits struct {
	OrgPerSecond    int // per organisation, all principals together
	OrgBurst        int
	KeyPerSecond    int // per API key
	AuthIPPerMinute int // signup/login/refresh/accept per client IP
	// AuthEmailPerMinute is signup attempts per email address, and wrong
	// login passwords per (email address, client IP) pair; past the email's
	// ceiling below, the pair gets that many an hour instead.
	AuthEmailPerMinute int
	// AuthEmailFailuresPerHour is wrong login passwords per email address
	// across all client IPs (default 100 when 0). Past it only a correct
	// password signs in; see Server.Login for what that bounds.
	AuthEmailFailuresPerHour int
	// WebhookIPPerSecond is the per-IP budget of inbound provider
	// callbacks (x-rate-limit-class: webhook), burst twice that; default
	// 100 when 0.
	WebhookIPPerSecond int
}

// publicBudget is the per-client-IP budget of a public operation's
// rate-limit class (the spec's x-rate-limit-class). Each class has its own
// keys, so a burst of provider callbacks never spends the login budget.
func publicBudget(class string, lim Limits) (ratelimit.Limit, bool) {
	switch class {
	case "auth":
		// The brute-force guard: refuse while it cannot be metered.
		return ratelimit.PerMinute(lim.AuthIPPerMinute).WithPolicy(ratelimit.FailClosed), true
	case "webhook":
		// Callbacks are authenticated by their provider's signature, and a
		// refused one is a lost reply or status until the provider retries:
		// let them through while Redis is down.
		rate := lim.WebhookIPPerSecond
		if rate <= 0 {
			rate = 100
		}
		return ratelimit.PerSecond(rate, 2*rate).WithPolicy(ratelimit.FailOpen), true
	}
	return ratelimit.Limit{}, false
}

// Deps is what the API needs. Each is used; nothing else is reachable.
type Deps struct {
	Auth        *auth.Service
	Orgs        *orgs.Service
	LLM         *llmsettings.Service
	Campaigns   *campaigns.Service
	Templates   *templates.Service
	Idempotency *idempotency.Store
	Limiter     *ratelimit.Limiter
	Limits      Limits
	Logger      *slog.Logger
	Registry    prometheus.Registerer
	// Ready reports whether dependencies are usable (for /readyz).
	Ready func(ctx context.Context) error
	// Extra mounts routes outside the contract (/docs, /metrics).
	Extra func(e *echo.Echo)
	// MaxBodyBytes caps request bodies; MaxUploadBytes caps the file
	// uploads (operations marked x-upload), which are streamed.
	MaxBodyBytes      int64
	MaxUploadBytes    int64
	TrustProxyHeaders bool
	CORSOrigins       []string

	// Suppressions is the organisation's suppression list.
	Suppressions *suppressions.Service
	// Leads are the people campaigns contact.
	Leads *leads.Service
	// LeadImports runs CSV imports of leads in the background.
	LeadImports *leadimports.Service
	// Events reads the organisation's event log (GET /v1/events).
	Events *events.Service
	// Webhooks manages webhook endpoints, their delivery log and replays.
	Webhooks *webhooks.Service
	// Notifications is the signed-in user's notifications and preferences.
	Notifications *notifications.Service
	// Sequences are the leads' generated steps.
	Sequences *sequences.Service
	// Generation generates sequences in the background and previews them.
	Generation *sequences.Generator
	// EmailAccounts are the mailboxes campaigns send from.
	EmailAccounts *emailaccounts.Service
	// Sending is the sending engine: messages, campaign mailboxes, the
	// schedule preview and unsubscribes. The API process does not send.
	Sending *sending.Engine
	// Inbox reads and answers the organisation's threads.
	Inbox *inbox.Service
	// Unsubscribe checks the tokens of the one-click unsubscribe links
	// (GET and POST /u/{token}, outside /v1 and without authentication).
	Unsubscribe *unsubscribe.Signer
}

// Server implements server.StrictServerInterface.
type Server struct {
	auth         *auth.Service
	orgs         *orgs.Service
	llm          *llmsettings.Service
	campaigns    *campaigns.Service
	tpl          *templates.Service
	limiter      *ratelimit.Limiter
	limits       Limits
	suppressions *suppressions.Service
	leads        *leads.Service
	leadImports  *leadimports.Service
	events       *events.Service
	webhooks     *webhooks.Service
	// notifications serves /v1/notifications and /v1/me/notification-preferences.
	notifications *notifications.Service
	sequences     *sequences.Service
	generation    *sequences.Generator
	emailAccounts *emailaccounts.Service
	sending       *sending.Engine
	inbox         *inbox.Service
}

var _ server.StrictServerInterface = (*Server)(nil)

func init() {
	// kin-openapi checks formats only when registered. Our ids are UUIDv7,
	// which its RFC 4122 pattern rejects; RFC 9562 accepts them.
	openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562))
	openapi3.DefineStringFormatValidator("email", openapi3.NewRegexpFormatValidator(`^[^@\s]+@[^@\s]+\.[^@\s]+$`))
}

// New builds the Echo instance with every route and middleware.
func New(d Deps) (*echo.Echo, error) {
	spec, err := server.GetSwagger()
	if err != nil {
		return nil, fmt.Errorf("httpapi: load spec: %w", err)
	}
	spec.Servers = nil // validate paths only, never the Host header

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = handleError(d.Logger)
	if d.TrustProxyHeaders {
		e.IPExtractor = echo.ExtractIPFromXFFHeader()
	} else {
		e.IPExtractor = echo.ExtractIPDirect()
	}

	metrics := newMetrics(d.Registry)
	e.Use(recoverer(d.Logger))
	e.Use(requestIDMiddleware)
	e.Use(accessLog(d.Logger, metrics))
	if len(d.CORSOrigins) > 0 {
		e.Use(echomw.CORSWithConfig(echomw.CORSConfig{
			AllowOrigins:  d.CORSOrigins,
			AllowHeaders:  []string{"Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"},
			ExposeHeaders: []string{"X-Request-Id", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After", "Idempotent-Replayed"},
		}))
	}
	up, err := uploadOperations(spec)
	if err != nil {
		return nil, err
	}
	maxUpload := d.MaxUploadBytes
	if maxUpload < d.MaxBodyBytes {
		maxUpload = d.MaxBodyBytes
	}
	e.Use(up.bodyLimits(d.MaxBodyBytes, maxUpload))

	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
		defer cancel()
		if err := d.Ready(ctx); err != nil {
			// The cause goes to the log, never to the caller.
			d.Logger.WarnContext(ctx, "not ready", "err", err)
			return writeProblem(c, http.StatusServiceUnavailable, "not_ready", "a dependency (Postgres, Redis or the schema) is not ready; see the service log", nil)
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	})
	e.GET("/openapi.yaml", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/yaml", server.SpecYAML)
	})
	if d.Extra != nil {
		d.Extra(e)
	}
	if d.Sending == nil || d.Unsubscribe == nil || d.Inbox == nil {
		return nil, fmt.Errorf("httpapi: Deps.Sending, Deps.Unsubscribe and Deps.Inbox are required")
	}
	mountUnsubscribe(e, d.Sending, d.Unsubscribe)

	s := &Server{auth: d.Auth, orgs: d.Orgs, llm: d.LLM, campaigns: d.Campaigns, tpl: d.Templates, limiter: d.Limiter, limits: d.Limits, suppressions: d.Suppressions, leads: d.Leads, leadImports: d.LeadImports,
		events: d.Events, webhooks: d.Webhooks, notifications: d.Notifications, sequences: d.Sequences, generation: d.Generation, emailAccounts: d.EmailAccounts,
		sending: d.Sending, inbox: d.Inbox}
	public, err := publicOperations(spec, d.Limits)
	if err != nil {
		return nil, err
	}
	v1 := e.Group("/v1")
	v1.Use(echoContext)
	v1.Use(authenticate(d.Auth, d.Limiter, d.Limits, public))
	v1.Use(rateLimit(d.Limiter, d.Limits, public))
	// Idempotency sits before validation: the validator hands the handler
	// the value it validated through the request body, which a later
	// reader would replace. A replayed 422 is as correct as a replayed 201.
	v1.Use(checkInput(spec, up))
	v1.Use(idempotent(d.Idempotency, up))
	v1.Use(commaLists(spec))
	v1.Use(validateRequests(spec, up))

	strict := server.NewStrictHandler(s, nil)
	server.RegisterHandlers(routeAdapter{v1}, strict)
	return e, nil
}

// routeAdapter strips the /v1 the generated routes carry, since they are
// registered on the /v1 group.
type routeAdapter struct{ g *echo.Group }

func (r routeAdapter) CONNECT(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.g.CONNECT(strings.TrimPrefix(p, "/v1"), h, m...)
}
func (r routeAdapter) DELETE(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.g.DELETE(strings.TrimPrefix(p, "/v1"), h, m...)
}
func (r routeAdapter) GET(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.g.GET(strings.TrimPrefix(p, "/v1"), h, m...)
}
func (r routeAdapter) HEAD(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.g.HEAD(strings.TrimPrefix(p, "/v1"), h, m...)
}
func (r routeAdapter) OPTIONS(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.g.OPTIONS(strings.TrimPrefix(p, "/v1"), h, m...)
}
func (r routeAdapter) PATCH(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.g.PATCH(strings.TrimPrefix(p, "/v1"), h, m...)
}
func (r routeAdapter) POST(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.g.POST(strings.TrimPrefix(p, "/v1"), h, m...)
}
func (r routeAdapter) PUT(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.g.PUT(strings.TrimPrefix(p, "/v1"), h, m...)
}
func (r routeAdapter) TRACE(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.g.TRACE(strings.TrimPrefix(p, "/v1"), h, m...)
}

// publicOperations maps "METHOD /path" (Echo syntax) of operations whose
// spec says `security: []` to their x-rate-limit-class, which must name a
// known budget.
func publicOperations(spec *openapi3.T, lim Limits) (map[string]string, error) {
	out := map[string]string{}
	for path, item := range spec.Paths.Map() {
		echoPath := path
		for {
			i := strings.IndexByte(echoPath, '{')
			if i < 0 {
				break
			}
			j := strings.IndexByte(echoPath[i:], '}')
			echoPath = echoPath[:i] + ":" + echoPath[i+1:i+j] + echoPath[i+j+1:]
		}
		for method, op := range item.Operations() {
			if op.Security == nil || len(*op.Security) != 0 {
				continue
			}
			class, _ := op.Extensions["x-rate-limit-class"].(string)
			if _, ok := publicBudget(class, lim); !ok {
				return nil, fmt.Errorf("httpapi: %s %s is public but its x-rate-limit-class %q names no budget", method, path, class)
			}
			out[method+" "+echoPath] = class
		}
	}
	return out, nil
}

func operationKey(c echo.Context) string { return c.Request().Method + " " + c.Path() }

// recoverer turns panics into 500 problems.
func recoverer(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					if r == http.ErrAbortHandler { //nolint:errorlint // a sentinel value, compared as net/http does
						panic(r) // an intended abort: net/http closes the connection
					}
					logger.ErrorContext(c.Request().Context(), "panic", "panic", fmt.Sprint(r))
					err = fmt.Errorf("panic: %v", r)
				}
			}()
			return next(c)
		}
	}
}

type requestIDKey struct{}

func withRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the request id put in ctx by the server.
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func requestID(c echo.Context) string { return c.Response().Header().Get(echo.HeaderXRequestID) }

type metrics struct {
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "leadpilot_http_request_duration_seconds",
		Help:    "HTTP request duration by route template, method and status.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route", "method", "status"})}
	if reg != nil {
		reg.MustRegister(m.duration)
	}
	return m
}

// accessLog logs one structured line per request and records its duration.
func accessLog(logger *slog.Logger, m *metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err) // render now so the status below is the real one
			}
			status := c.Response().Status
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			m.duration.WithLabelValues(route, c.Request().Method, strconv.Itoa(status)).Observe(time.Since(start).Seconds())
			attrs := []any{
				"method", c.Request().Method, "route", route,
				"path", c.Request().URL.Path, "status", status, "duration_ms", time.Since(start).Milliseconds(),
				"ip", c.RealIP(),
			}
			if p, ok := auth.PrincipalFrom(c.Request().Context()); ok {
				attrs = append(attrs, "org_id", p.OrgID.String(), "principal", p.ID())
			}
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			logger.Log(c.Request().Context(), level, "request", attrs...)
			return nil
		}
	}
}

// echoContext puts the Echo context where oapimw.GetEchoContext finds it,
// for handlers that need the client's IP (login budgets, session records):
// strict handlers get only the request's context, and the validator keeps
// its copy to itself.
func echoContext(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), oapimw.EchoContextKey, c))) //nolint:staticcheck // the key oapimw reads
		return next(c)
	}
}

// rateLimit spends the organisation's (and API key's) budget, or for
// public operations the client IP's, and reports it in RateLimit-* headers.
//
// While Redis is down the organisation and key budgets fail open: they meter
// paying callers' use, and keeping the API up for them beats exact metering
// for the seconds an outage lasts (each pass is logged and counted). The
// per-IP budget of public operations (signup, login, refresh, accept invite)
// fails closed: it bounds password guessing and sign-up abuse, which must not
// go unmetered, so those answer 503 with Retry-After until Redis is back.
func rateLimit(l *ratelimit.Limiter, lim Limits, public map[string]string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx := c.Request().Context()
			var checks []struct {
				key string
				lim ratelimit.Limit
			}
			if p, ok := auth.PrincipalFrom(ctx); ok {
				checks = append(checks, struct {
					key string
					lim ratelimit.Limit
				}{"org:" + p.OrgID.String(), ratelimit.PerSecond(lim.OrgPerSecond, lim.OrgBurst).WithPolicy(ratelimit.FailOpen).WithLease(10)})
				if p.Type == auth.PrincipalAPIKey {
					checks = append(checks, struct {
						key string
						lim ratelimit.Limit
					}{"key:" + p.APIKeyID.String(), ratelimit.PerSecond(lim.KeyPerSecond, lim.KeyPerSecond).WithPolicy(ratelimit.FailOpen).WithLease(10)})
				}
			} else if class := public[operationKey(c)]; class != "" {
				budget, _ := publicBudget(class, lim) // New checked every class
				checks = append(checks, struct {
					key string
					lim ratelimit.Limit
				}{"ip:" + class + ":" + c.RealIP(), budget})
			}
			var tightest *ratelimit.Result
			for _, ch := range checks {
				res, err := l.Allow(ctx, ch.key, ch.lim)
				if err != nil {
					return err
				}
				if res.Unmetered {
					continue // failed open: nothing to report
				}
				if tightest == nil || !res.Allowed || (tightest.Allowed && res.Remaining < tightest.Remaining) {
					r := res
					tightest = &r
				}
				if !res.Allowed {
					break
				}
			}
			if tightest != nil {
				h := c.Response().Header()
				h.Set("RateLimit-Limit", strconv.Itoa(tightest.Limit))
				h.Set("RateLimit-Remaining", strconv.Itoa(tightest.Remaining))
				h.Set("RateLimit-Reset", strconv.Itoa(tightest.ResetSeconds()))
				if !tightest.Allowed {
					return fault.RateLimited("too many requests; slow down", tightest.RetryAfterSeconds())
				}
			}
			return next(c)
		}
	}
}

// idempotent replays stored responses for POSTs that carry an
// Idempotency-Key, and stores the first response in the request's
// transaction, so it commits exactly when the work it answers does.
func idempotent(store *idempotency.Store, up uploads) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			key := c.Request().Header.Get("Idempotency-Key")
			p, ok := auth.PrincipalFrom(c.Request().Context())
			if key == "" || !ok || c.Request().Method != http.MethodPost {
				return next(c)
			}
			if len(key) > 255 {
				return fault.Invalid(fault.FieldError{Field: "/header/Idempotency-Key", Code: "too_long", Message: "must be at most 255 characters"})
			}
			if _, held := heldBody(c); !held {
				return errNoRequestTx // an outsideTransaction operation that takes a key: a wiring bug
			}
			req := idempotency.Request{
				Tenant: p.Actor().Tenant(), Principal: p.ID(), Key: key,
				Method: c.Request().Method, Path: c.Request().URL.Path,
			}
			if up.has(c) {
				digest, err := spool(c)
				if err != nil {
					return err
				}
				defer closeSpool(c.Request())
				req.BodyDigest = digest
			} else {
				body, err := io.ReadAll(c.Request().Body)
				if err != nil {
					return err
				}
				c.Request().Body = io.NopCloser(bytes.NewReader(body))
				req.Body = body
			}
			ctx := c.Request().Context()
			replay, err := store.Begin(ctx, req)
			if err != nil {
				return err
			}
			if replay != nil {
				for k, vs := range replay.Headers {
					for _, v := range vs {
						c.Response().Header().Add(k, v)
					}
				}
				c.Response().Header().Set("Idempotent-Replayed", "true")
				return c.Blob(replay.Status, replay.Headers.Get(echo.HeaderContentType), replay.Body)
			}
			if herr := next(c); herr != nil {
				return herr
			}
			status := c.Response().Status
			if status >= http.StatusBadRequest {
				return nil // rolled back with the claim: a retry runs again
			}
			hdr := http.Header{}
			if ct := c.Response().Header().Get(echo.HeaderContentType); ct != "" {
				hdr.Set(echo.HeaderContentType, ct)
			}
			if loc := c.Response().Header().Get("Location"); loc != "" {
				hdr.Set("Location", loc)
			}
			out, _ := heldBody(c)
			return store.Complete(ctx, req, idempotency.Response{Status: status, Headers: hdr, Body: bytes.Clone(out)})
		}
	}
}

// mapAll maps a page of domain values to their API types, so a list
// handler is principal, page, one service call and one line of mapping.
func mapAll[T, A any](rows []T, f func(T) A) []A {
	out := make([]A, len(rows))
	for i, r := range rows {
		out[i] = f(r)
	}
	return out
}
