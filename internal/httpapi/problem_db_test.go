package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/database"
)

// The edge knows database failures only by database's sentinels: a store
// that interpreted a refused value gets a 422, everything else is ours.
func TestDatabaseErrorsAtTheEdge(t *testing.T) {
	t.Parallel()
	stored := func(code string) error {
		return fmt.Errorf("orgs: update x: %w", database.Interpret(&pgconn.PgError{Code: code, Message: "refused"}))
	}
	for name, tc := range map[string]struct {
		err    error
		status int
		code   string
	}{
		"ANULCharacterIs422":           {stored("22021"), http.StatusUnprocessableEntity, "invalid_value"},
		"AnUnsupportedJSONEscapeIs422": {stored("22P05"), http.StatusUnprocessableEntity, "invalid_value"},
		"AnOutOfRangeNumberIs422":      {stored("22003"), http.StatusUnprocessableEntity, "invalid_value"},
		"AnUnexpectedConflictIs500":    {stored("23505"), http.StatusInternalServerError, "internal"},
		"ASyntaxErrorIs500":            {stored("42601"), http.StatusInternalServerError, "internal"},
		"AnOutageIs500":                {errors.New("dial tcp: connection refused"), http.StatusInternalServerError, "internal"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			c := echo.New().NewContext(httptest.NewRequest(http.MethodPatch, "/v1/org", nil), rec)
			handleError(slog.New(slog.NewTextHandler(io.Discard, nil)))(tc.err, c)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			var p api.Problem
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
			require.Equal(t, tc.code, p.Code)
			require.NotContains(t, rec.Body.String(), "refused", "no database message reaches the client")
		})
	}
}
