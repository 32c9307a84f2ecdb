package httpapi

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"
)

// A streamed response that breaks after its first bytes must not end as if
// it were whole: the error handler aborts the connection (net/http's
// ErrAbortHandler), and the recoverer lets that abort through.
func TestABrokenStreamAbortsTheConnection(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := echo.New()
	rec := httptest.NewRecorder()
	c := e.NewContext(httptest.NewRequest(http.MethodGet, "/v1/leads/export", nil), rec)
	c.Response().WriteHeader(http.StatusOK)
	_, _ = c.Response().Write([]byte("id,email\n"))

	r, w := io.Pipe()
	w.CloseWithError(errors.New("database gone"))
	_, err := io.Copy(io.Discard, abortOnError{r})
	require.Error(t, err)

	require.PanicsWithValue(t, http.ErrAbortHandler, func() { handleError(logger)(err, c) })
	require.NotPanics(t, func() { handleError(logger)(errors.New("a client gone away"), c) },
		"other errors after the first byte are only dropped")

	h := recoverer(logger)(func(echo.Context) error { panic(http.ErrAbortHandler) })
	require.PanicsWithValue(t, http.ErrAbortHandler, func() { _ = h(c) })
	h = recoverer(logger)(func(echo.Context) error { panic("a bug") })
	require.ErrorContains(t, h(c), "a bug")

	// A whole stream reads to EOF without an error.
	r, w = io.Pipe()
	go func() { _, _ = w.Write([]byte("a,b\n")); w.Close() }()
	b, err := io.ReadAll(abortOnError{r})
	require.NoError(t, err)
	require.Equal(t, "a,b\n", string(b))
}

// replacing swaps every occurrence of old, even one split across writes.
func TestReplacingAcrossWrites(t *testing.T) {
	var out bytes.Buffer
	r := &replacing{w: &out, old: []byte("BOUND"), new: []byte("b")}
	for _, chunk := range []string{"--BOU", "ND\r\nx", "BOUNDBOU", "NDBO", "UN", "D--", "BOUN"} {
		n, err := r.Write([]byte(chunk))
		require.NoError(t, err)
		require.Equal(t, len(chunk), n)
	}
	r.flush()
	require.Equal(t, "--b\r\nxbbb--BOUN", out.String())
}
