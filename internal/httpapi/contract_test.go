package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api/server"
)

var (
	contractOnce   sync.Once
	contractRouter routers.Router
	contractErr    error
)

// contract is the router over openapi.yaml that the validating transport
// matches responses with.
func contract(t testing.TB) routers.Router {
	t.Helper()
	contractOnce.Do(func() {
		var spec *openapi3.T
		spec, contractErr = server.GetSwagger()
		if contractErr != nil {
			return
		}
		spec.Servers = nil // match paths on any host
		contractRouter, contractErr = gorillamux.NewRouter(spec)
	})
	require.NoError(t, contractErr)
	return contractRouter
}

// validatingTransport checks every response of an operation in
// openapi.yaml against the contract: a status the operation does not
// declare, a body that does not match its schema, or a content type it
// does not list fails the test. It is how the end-to-end tests keep the
// code and the contract from drifting.
type validatingTransport struct {
	t    testing.TB
	base http.RoundTripper
}

func (v validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	route, params, ferr := contract(v.t).FindRoute(req)
	if ferr != nil {
		return resp, nil // outside the contract: /healthz, /docs, /dev/mail, unknown routes
	}
	body, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	if rerr != nil {
		return nil, rerr
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if verr := openapi3filter.ValidateResponse(context.Background(), in); verr != nil {
		v.t.Errorf("contract: %s %s answered %d, which openapi.yaml does not allow: %v\nbody: %.500s",
			req.Method, req.URL.Path, resp.StatusCode, verr, strings.TrimSpace(string(body)))
	}
	return resp, nil
}

// contractClient is an HTTP client whose every response is checked
// against the contract.
func contractClient(t testing.TB) *http.Client {
	return &http.Client{Transport: validatingTransport{t: t, base: http.DefaultTransport}}
}

func TestTheValidatingTransportCatchesDrift(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rec := &recordingTB{TB: t}
	// A response the contract does not declare: 418 on GET /v1/org.
	srv := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte(`{}`))
	})
	tr := validatingTransport{t: rec, base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		w := newResponseRecorder()
		srv.ServeHTTP(w, r)
		return w.result(), nil
	})}
	req, _ := http.NewRequest(http.MethodGet, b.srv.URL+"/v1/org", nil)
	_, err := tr.RoundTrip(req)
	require.NoError(t, err)
	require.True(t, rec.failed, "an undeclared status must fail the test")

	// A declared status with a body of the wrong shape fails too.
	rec = &recordingTB{TB: t}
	srv = func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"not-a-uuid"}`))
	}
	tr.t = rec
	_, err = tr.RoundTrip(req)
	require.NoError(t, err)
	require.True(t, rec.failed, "a body that breaks the schema must fail the test")
}

type recordingTB struct {
	testing.TB
	failed bool
}

func (r *recordingTB) Errorf(string, ...any) { r.failed = true }

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type responseRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newResponseRecorder() *responseRecorder { return &responseRecorder{header: http.Header{}} }

func (r *responseRecorder) Header() http.Header { return r.header }
func (r *responseRecorder) WriteHeader(s int)   { r.status = s }
func (r *responseRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *responseRecorder) result() *http.Response {
	return &http.Response{StatusCode: r.status, Header: r.header, Body: io.NopCloser(bytes.NewReader(r.body.Bytes()))}
}
