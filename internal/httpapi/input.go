package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
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
//     than UTF-8) is a 415, never "the body is not valid JSON" — unless
//     the operation's requestBody in openapi.yaml declares that media type
//     (text/csv for a bulk upload, say): declared types are accepted,
//     rewritten to their lower-case form (parameters such as a multipart
//     boundary kept), and a text type must be UTF-8 too. An operation that
//     declares only non-JSON types refuses JSON with 415 as well.
//   - The body must be UTF-8: Go's decoder would silently turn invalid
//     bytes into U+FFFD and store a changed value.
//   - No string may carry a NUL: Postgres cannot store one in text, and it
//     is never meaningful input.
func checkInput(spec *openapi3.T, up uploads) echo.MiddlewareFunc {
	declared := declaredMediaTypes(spec)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if !hasBody(req) {
				return next(c)
			}
			ct := req.Header.Get(echo.HeaderContentType)
			mt, params, err := mime.ParseMediaType(ct)
			types, ok := declared[operationKey(c)]
			if !ok {
				types = []string{echo.MIMEApplicationJSON}
			}
			if ct == "" || err != nil || !slices.ContainsFunc(types, func(d string) bool { return d == mt || d == echo.MIMEApplicationJSON && isJSON(mt) }) {
				return fault.UnsupportedMediaType("unsupported_media_type", "send the body as "+strings.Join(types, " or "))
			}
			if up.has(c) && !isJSON(mt) {
				// A file: its handler streams it, and the CSV reader
				// detects its encoding (UTF-8, UTF-16, Latin-1) itself.
				req.Header.Set(echo.HeaderContentType, mime.FormatMediaType(mt, params))
				return next(c)
			}
			if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
				return fault.UnsupportedMediaType("unsupported_charset", "send the body as UTF-8 (charset="+cs+" is not accepted)")
			}
			if !isJSON(mt) {
				req.Header.Set(echo.HeaderContentType, mime.FormatMediaType(mt, params))
				if strings.HasPrefix(mt, "text/") {
					return checkText(c, next)
				}
				return next(c) // multipart: each part is the handler's to vet
			}
			return checkJSON(c, next)
		}
	}
}

// declaredMediaTypes maps "METHOD /echo/path" of every operation with a
// request body to the media types its requestBody declares, lower-cased.
func declaredMediaTypes(spec *openapi3.T) map[string][]string {
	out := map[string][]string{}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value == nil {
				continue
			}
			var types []string
			for mt := range op.RequestBody.Value.Content {
				types = append(types, strings.ToLower(mt))
			}
			slices.Sort(types)
			out[method+" "+echoPath(path)] = types
		}
	}
	return out
}

// echoPath writes an OpenAPI path template in Echo's syntax ({id} → :id).
func echoPath(p string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(p, '{')
		j := strings.IndexByte(p, '}')
		if i < 0 || j < i {
			return b.String() + p
		}
		b.WriteString(p[:i] + ":" + p[i+1:j])
		p = p[j+1:]
	}
}

// checkText vets a declared text body (text/csv): UTF-8, no NUL byte.
func checkText(c echo.Context, next echo.HandlerFunc) error {
	req := c.Request()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return err // the body limit's 413, or a broken connection
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	if !utf8.Valid(body) {
		return fault.BadRequest("invalid_utf8", "the body is not valid UTF-8")
	}
	if bytes.IndexByte(body, 0) >= 0 {
		return fault.Invalid(fault.FieldError{Field: "body", Code: "nul_character", Message: "must not contain a NUL character"})
	}
	return next(c)
}

// checkJSON vets a JSON body: UTF-8, no NUL in any string.
func checkJSON(c echo.Context, next echo.HandlerFunc) error {
	req := c.Request()
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

func init() {
	// kin-openapi's own text/csv decoder parses the CSV with encoding/csv's
	// strict rules (every row as many fields as the first), so a file with
	// one odd row would be refused whole before the handler could report
	// that row. The contract says the body is a string; the handler parses
	// it and reports bad rows one by one.
	openapi3filter.RegisterBodyDecoder("text/csv", func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(body)
		return string(b), err
	})
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
