package httpapi

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"
	echomw "github.com/labstack/echo/v4/middleware"
	oapimw "github.com/oapi-codegen/echo-middleware"
)

// Uploads are the operations whose openapi.yaml entry says `x-upload:
// true`: their request body is a file (a lead CSV of up to hundreds of
// megabytes), so, unlike every other body, it is
//
//   - bounded by the upload limit (IMPORT_MAX_BYTES), not MAX_BODY_BYTES;
//   - never read whole into memory: checkInput checks its media type only
//     (the file may be UTF-16 or Latin-1; the CSV reader decodes it and
//     reports bad rows one by one), the contract validator checks its
//     parameters but not its body, and the handler streams it;
//   - with an Idempotency-Key, spooled to a temporary file while its
//     SHA-256 is taken, so the fingerprint covers every byte and memory
//     stays flat.
type uploads map[string]bool

// uploadOperations reads the x-upload extension of every operation.
func uploadOperations(spec *openapi3.T) (uploads, error) {
	out := uploads{}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			v, ok := op.Extensions["x-upload"]
			if !ok {
				continue
			}
			if b, isBool := v.(bool); !isBool || !b {
				return nil, fmt.Errorf("httpapi: %s %s: x-upload must be true when present, not %v", method, path, v)
			}
			if op.RequestBody == nil {
				return nil, fmt.Errorf("httpapi: %s %s: x-upload on an operation without a request body", method, path)
			}
			out[method+" "+echoPath(path)] = true
		}
	}
	return out, nil
}

func (u uploads) has(c echo.Context) bool { return u[operationKey(c)] }

// file reports whether the request is an upload carrying a file: a JSON
// body on an upload operation (an import from a URL) is an ordinary body,
// held to MAX_BODY_BYTES like any other.
func (u uploads) file(c echo.Context) bool {
	if !u.has(c) {
		return false
	}
	mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	return err != nil || !isJSON(mt)
}

// bodyLimits applies maxBody to every request body and maxUpload to an
// upload's file: a larger declared length is a 413 at once, a longer stream a
// 413 when the reader passes the limit.
func (u uploads) bodyLimits(maxBody, maxUpload int64) echo.MiddlewareFunc {
	small := echomw.BodyLimitWithConfig(echomw.BodyLimitConfig{
		Skipper: u.file,
		Limit:   strconv.FormatInt(maxBody, 10) + "B",
	})
	large := echomw.BodyLimitWithConfig(echomw.BodyLimitConfig{
		Skipper: func(c echo.Context) bool { return !u.file(c) },
		Limit:   strconv.FormatInt(maxUpload, 10) + "B",
	})
	return func(next echo.HandlerFunc) echo.HandlerFunc { return small(large(next)) }
}

// spool copies an upload's body to a temporary file, returning its
// SHA-256; the request then reads the file, which is removed when the
// request ends.
func spool(c echo.Context) ([]byte, error) {
	req := c.Request()
	f, err := os.CreateTemp("", "leadpilot-upload-*")
	if err != nil {
		return nil, fmt.Errorf("httpapi: spool upload: %w", err)
	}
	name := f.Name()
	// Unlinked at once where the system allows: the open file lives on
	// until closed, and nothing is left behind if the process dies.
	unlinked := os.Remove(name) == nil
	h := sha256.New()
	var fingerprint io.Writer = h
	// A form's boundary is the client's random choice, and a client that
	// retries builds the form again with a new one: the fingerprint is
	// taken with the boundary replaced, so a retry of the same form
	// matches and a different form does not.
	if _, params, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType)); err == nil && params["boundary"] != "" {
		fingerprint = &replacing{w: h, old: []byte(params["boundary"]), new: []byte("boundary")}
	}
	if _, err := io.Copy(io.MultiWriter(f, fingerprint), req.Body); err != nil {
		f.Close()
		if !unlinked {
			os.Remove(name)
		}
		return nil, err // the upload limit's 413, or a broken connection
	}
	if r, ok := fingerprint.(*replacing); ok {
		r.flush()
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("httpapi: spool upload: %w", err)
	}
	req.Body = spooled{f, name, unlinked}
	return h.Sum(nil), nil
}

// replacing writes to w what is written to it with every occurrence of
// old replaced by new, across writes; flush writes what it holds back.
type replacing struct {
	w        io.Writer
	old, new []byte
	held     []byte // a tail that may be the start of old
}

func (r *replacing) Write(p []byte) (int, error) {
	buf := append(r.held, p...)
	var out []byte
	for {
		i := bytes.Index(buf, r.old)
		if i < 0 {
			break
		}
		out = append(append(out, buf[:i]...), r.new...)
		buf = buf[i+len(r.old):]
	}
	keep := min(len(buf), len(r.old)-1)
	out = append(out, buf[:len(buf)-keep]...)
	r.held = append([]byte(nil), buf[len(buf)-keep:]...)
	if _, err := r.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (r *replacing) flush() {
	_, _ = r.w.Write(r.held)
	r.held = nil
}

type spooled struct {
	*os.File
	name     string
	unlinked bool
}

func (s spooled) Close() error {
	err := s.File.Close()
	if !s.unlinked {
		os.Remove(s.name)
	}
	return err
}

var _ io.ReadCloser = spooled{}

// closeSpool closes a spooled body at the end of its request (net/http
// closes only the body it created).
func closeSpool(r *http.Request) {
	if s, ok := r.Body.(spooled); ok {
		s.Close()
	}
}

// validateRequests checks every request against the contract; an
// upload's file body (a JSON body is checked as usual) is left to its handler, which streams it (the validator
// would read it whole, and its multipart decoder holds every part in
// memory).
func validateRequests(spec *openapi3.T, up uploads) echo.MiddlewareFunc {
	validator := func(excludeBody bool) echo.MiddlewareFunc {
		return oapimw.OapiRequestValidatorWithOptions(spec, &oapimw.Options{
			Options: openapi3filter.Options{
				AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, // authenticate() did it
				MultiError:         true,
				KeepValidatedValue: true, // the handler sees exactly what was validated
				ExcludeRequestBody: excludeBody,
			},
			MultiErrorHandler: func(me openapi3.MultiError) *echo.HTTPError {
				return &echo.HTTPError{Code: http.StatusBadRequest, Internal: me}
			},
			ErrorHandler:          func(c echo.Context, he *echo.HTTPError) error { return validationError(c, he) },
			SilenceServersWarning: true,
		})
	}
	whole, params := validator(false), validator(true)
	const bodyKey = "httpapi.upload.body"
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		w := whole(next)
		// The validator's security check reads the whole body whatever
		// the options say (kin-openapi keeps it for authentication
		// functions that might want it; ours, a no-op, does not), so an
		// upload's body is set aside while the validator looks and put
		// back for the handler.
		p := params(func(c echo.Context) error {
			c.Request().Body = c.Get(bodyKey).(io.ReadCloser)
			return next(c)
		})
		return func(c echo.Context) error {
			// checkInput has made a JSON body's type canonical.
			if !up.has(c) || c.Request().Header.Get(echo.HeaderContentType) == echo.MIMEApplicationJSON {
				return w(c)
			}
			c.Set(bodyKey, c.Request().Body)
			c.Request().Body = http.NoBody
			return p(c)
		}
	}
}
