package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/llmsettings"
)

// problemContentType is RFC 9457's media type.
const problemContentType = "application/problem+json"

var kindStatus = map[fault.Kind]int{
	fault.KindInvalid:              http.StatusUnprocessableEntity,
	fault.KindBadRequest:           http.StatusBadRequest,
	fault.KindUnauthorized:         http.StatusUnauthorized,
	fault.KindForbidden:            http.StatusForbidden,
	fault.KindNotFound:             http.StatusNotFound,
	fault.KindConflict:             http.StatusConflict,
	fault.KindRateLimited:          http.StatusTooManyRequests,
	fault.KindUnavailable:          http.StatusServiceUnavailable,
	fault.KindUnsupportedMediaType: http.StatusUnsupportedMediaType,
	fault.KindBadGateway:           http.StatusBadGateway,
}

// writeProblem answers with a problem+json body. It is the only way errors
// leave the API, so every error has the same shape.
func writeProblem(c echo.Context, status int, code, detail string, fields []fault.FieldError) error {
	p := api.Problem{
		Type:   "urn:leadpilot:problem:" + code,
		Title:  http.StatusText(status),
		Status: status,
		Code:   code,
		Detail: detail,
	}
	if rid := c.Response().Header().Get(echo.HeaderXRequestID); rid != "" {
		p.RequestID = &rid
	}
	inst := c.Request().URL.Path
	p.Instance = &inst
	if len(fields) > 0 {
		errs := make([]api.FieldError, len(fields))
		for i, f := range fields {
			errs[i] = api.FieldError{Field: f.Field, Message: f.Message}
			if f.Code != "" {
				code := f.Code
				errs[i].Code = &code
			}
		}
		p.Errors = &errs
	}
	if status == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="leadpilot"`)
	}
	c.Response().Header().Set(echo.HeaderContentType, problemContentType)
	c.Response().WriteHeader(status)
	return json.NewEncoder(c.Response()).Encode(p)
}

// handleError renders any error as a problem. Expected failures keep their
// code and detail; anything else is logged and answers a bare 500.
func handleError(logger *slog.Logger) func(err error, c echo.Context) {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			var se *streamError
			if errors.As(err, &se) {
				logger.ErrorContext(c.Request().Context(), "streamed response broken off", "err", err)
				// net/http closes the connection without ending the
				// response, so the client sees the failure.
				panic(http.ErrAbortHandler)
			}
			return
		}
		if fe, ok := fault.As(err); ok {
			status := kindStatus[fe.Kind]
			if (fe.Kind == fault.KindRateLimited || fe.Kind == fault.KindUnavailable) && fe.RetryAfter > 0 {
				c.Response().Header().Set("Retry-After", strconv.Itoa(fe.RetryAfter))
			}
			_ = writeProblem(c, status, fe.Code, fe.Detail, fe.Fields)
			return
		}
		var le *llm.Error
		if errors.As(err, &le) {
			_ = writeProblem(c, llmStatus(le), llmsettings.ErrorCode(le), le.Message, nil)
			return
		}
		if errors.Is(err, database.ErrInvalidValue) {
			_ = writeProblem(c, http.StatusUnprocessableEntity, "invalid_value",
				"a value cannot be stored (for example it contains a NUL character or is out of range)", nil)
			return
		}
		var he *echo.HTTPError
		if errors.As(err, &he) {
			code, detail := "http_error", http.StatusText(he.Code)
			switch he.Code {
			case http.StatusNotFound:
				code, detail = "not_found", "no such route"
			case http.StatusMethodNotAllowed:
				code, detail = "method_not_allowed", "this route does not accept "+c.Request().Method
			case http.StatusRequestEntityTooLarge:
				code, detail = "body_too_large", "the request body is larger than the server accepts"
			case http.StatusBadRequest:
				code, detail = "bad_request", "the request is malformed"
			case http.StatusUnsupportedMediaType:
				code, detail = "unsupported_media_type", "send application/json"
			}
			if he.Code >= 500 {
				logger.ErrorContext(c.Request().Context(), "request failed", "err", err)
				code, detail = "internal", "something went wrong on our side; the request id identifies it"
			}
			_ = writeProblem(c, he.Code, code, detail, nil)
			return
		}
		logger.ErrorContext(c.Request().Context(), "request failed", "err", err)
		_ = writeProblem(c, http.StatusInternalServerError, "internal", "something went wrong on our side; the request id identifies it", nil)
	}
}

// llmStatus is the status for a language-model failure: the caller's
// settings (key, model) are 422, the provider's limits 429, its outages 503
// and output that failed validation twice 502.
func llmStatus(e *llm.Error) int {
	switch {
	case errors.Is(e, llm.ErrQuota), errors.Is(e, llm.ErrRateLimited):
		return http.StatusTooManyRequests
	case errors.Is(e, llm.ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(e, llm.ErrInvalidOutput):
		return http.StatusBadGateway
	default:
		return http.StatusUnprocessableEntity
	}
}

var unsupportedRE = regexp.MustCompile(`^property "([^"]+)" is unsupported$`)

// validationError turns kin-openapi's findings into one problem, with a
// JSON pointer per field and without echoing the rejected values.
func validationError(c echo.Context, he *echo.HTTPError) error {
	if he.Code == http.StatusNotFound || he.Code == http.StatusMethodNotAllowed {
		return he
	}
	var errs []error
	var me openapi3.MultiError
	if errors.As(he.Internal, &me) {
		errs = me
	} else if he.Internal != nil {
		errs = []error{he.Internal}
	}
	var fields []fault.FieldError
	bodyMalformed := false
	for _, e := range errs {
		var re *openapi3filter.RequestError
		if !errors.As(e, &re) {
			continue
		}
		var inner []error
		var rme openapi3.MultiError
		if errors.As(re.Err, &rme) {
			inner = rme
		} else {
			inner = []error{re.Err}
		}
		for _, ie := range inner {
			var se *openapi3.SchemaError
			switch {
			case errors.As(ie, &se):
				base := ""
				if re.Parameter != nil {
					base = "/" + re.Parameter.In + "/" + re.Parameter.Name
				}
				ptr := base + "/" + strings.Join(se.JSONPointer(), "/")
				// additionalProperties errors point at the object; name the
				// rejected property itself.
				if m := unsupportedRE.FindStringSubmatch(se.Reason); m != nil {
					ptr = strings.TrimSuffix(ptr, "/") + "/" + m[1]
				}
				fields = append(fields, fault.FieldError{Field: strings.TrimSuffix(ptr, "/"), Message: se.Reason, Code: "schema_" + strings.ReplaceAll(se.SchemaField, " ", "_")})
			case re.Parameter != nil:
				msg := re.Reason
				if msg == "" {
					msg = parameterExpectation(re.Parameter)
				}
				fields = append(fields, fault.FieldError{Field: "/" + re.Parameter.In + "/" + re.Parameter.Name, Message: msg, Code: "invalid_parameter"})
			case re.RequestBody != nil:
				bodyMalformed = true
			}
		}
	}
	switch {
	case bodyMalformed && len(fields) == 0:
		return fault.BadRequest("malformed_body", "the body is not valid JSON of the expected shape")
	case len(fields) == 0:
		return fault.BadRequest("bad_request", "the request does not match the API contract")
	}
	// Parameter errors are malformed requests; body errors are rule breaks.
	for _, f := range fields {
		if !strings.HasPrefix(f.Field, "/query/") && !strings.HasPrefix(f.Field, "/path/") && !strings.HasPrefix(f.Field, "/header/") {
			return fault.Invalid(fields...)
		}
	}
	fe := fault.Invalid(fields...)
	fe.Kind, fe.Code = fault.KindBadRequest, "invalid_parameter"
	return fe
}

// parameterExpectation says what a parameter that failed to parse must be,
// from its schema, without echoing the rejected value.
func parameterExpectation(p *openapi3.Parameter) string {
	if p.Schema == nil || p.Schema.Value == nil || p.Schema.Value.Type == nil || len(p.Schema.Value.Type.Slice()) == 0 {
		return "is not a valid value for this parameter"
	}
	sch := p.Schema.Value
	typ := sch.Type.Slice()[0]
	msg := "must be a " + typ
	if typ == "integer" {
		msg = "must be an integer"
	}
	if sch.Format != "" {
		msg += " (" + sch.Format + ")"
	}
	if sch.Min != nil && sch.Max != nil {
		msg += fmt.Sprintf(" between %g and %g", *sch.Min, *sch.Max)
	}
	return msg
}
