package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/leadpilot/leadpilot/internal/fault"
)

// checkInput guards every /v1 request body before anything reads it:
//
//   - The media type is compared as RFC 9110 says, case-insensitively and
//     with parameters: `Application/JSON; charset=UTF-8` is JSON. It is
//     rewritten to the canonical `application/json` so that the contract
//     validator, which matches media types literally, validates what the
//     handler will decode. Anything that is not JSON (or a charset other
//     than UTF-8) is a 415, never "the body is not valid JSON".
//   - The body must be UTF-8: Go's decoder would silently turn invalid
//     bytes into U+FFFD and store a changed value.
//   - No string may carry a NUL: Postgres cannot store one in text, and it
//     is never meaningful input.
func checkInput(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if !hasBody(req) {
			return next(c)
		}
		ct := req.Header.Get(echo.HeaderContentType)
		mt, params, err := mime.ParseMediaType(ct)
		if ct == "" || err != nil || !isJSON(mt) {
			return fault.UnsupportedMediaType("unsupported_media_type", "send the body as application/json")
		}
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
			return fault.UnsupportedMediaType("unsupported_charset", "send the body as UTF-8 (charset="+cs+" is not accepted)")
		}
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)

		body, err := io.ReadAll(req.Body)
		if err != nil {
			return err // the body limit's 413, or a broken connection
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		if !utf8.Valid(body) {
			return fault.BadRequest("invalid_utf8", "the body is not valid UTF-8")
		}
		if bytes.Contains(body, []byte(`\u0000`)) {
			var v any
			if json.Unmarshal(body, &v) == nil {
				if ptr, found := findNUL(v, ""); found {
					return fault.Invalid(fault.FieldError{Field: ptr, Code: "nul_character", Message: "must not contain a NUL character"})
				}
			}
		}
		return next(c)
	}
}

// hasBody reports whether the request carries a body at all.
func hasBody(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody {
		return false
	}
	return r.ContentLength > 0 || (r.ContentLength < 0 && len(r.TransferEncoding) > 0)
}

// isJSON accepts application/json and structured-syntax +json types, which
// mime.ParseMediaType has already lower-cased.
func isJSON(mt string) bool {
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

func findNUL(v any, ptr string) (string, bool) {
	switch x := v.(type) {
	case string:
		return ptr, strings.ContainsRune(x, 0)
	case map[string]any:
		for k, e := range x {
			if strings.ContainsRune(k, 0) {
				return ptr + "/" + strings.ReplaceAll(k, "\x00", ""), true
			}
			if p, ok := findNUL(e, ptr+"/"+k); ok {
				return p, true
			}
		}
	case []any:
		for i, e := range x {
			if p, ok := findNUL(e, ptr+"/"+strconv.Itoa(i)); ok {
				return p, true
			}
		}
	}
	return "", false
}

// requestIDPattern is what a client-chosen X-Request-Id may look like: a
// short token that is safe in logs, headers and problem bodies.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:\-]{1,128}$`)

// requestID keeps a client's X-Request-Id when it is a short safe token
// (so a caller can correlate its logs with ours) and otherwise makes one,
// then echoes it and puts it in the request's context for logging.
func requestIDMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !requestIDPattern.MatchString(id) {
			id = uuid.Must(uuid.NewV7()).String()
		}
		c.Request().Header.Set(echo.HeaderXRequestID, id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		c.SetRequest(c.Request().WithContext(withRequestID(c.Request().Context(), id)))
		return next(c)
	}
}
