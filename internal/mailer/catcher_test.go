package mailer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/mailer"
)

func TestCatcher(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("KeepsTheLastMessagesNewestFirst", func(t *testing.T) {
		t.Parallel()
		c := mailer.NewCatcher(3, nil)
		require.Empty(t, c.Messages())
		for i := range 5 {
			require.NoError(t, c.Send(ctx, mailer.Message{To: fmt.Sprintf("u%d@example.com", i), Subject: fmt.Sprint(i), Text: "x"}))
		}
		got := c.Messages()
		require.Len(t, got, 3)
		require.Equal(t, []string{"4", "3", "2"}, []string{got[0].Subject, got[1].Subject, got[2].Subject})
	})

	t.Run("ExtractsLinksAndLogsThem", func(t *testing.T) {
		t.Parallel()
		var logs bytes.Buffer
		c := mailer.NewCatcher(10, slog.New(slog.NewTextHandler(&logs, nil)))
		link := "http://localhost:8080/reset-password?token=lpp_x-Y_z"
		require.NoError(t, c.Send(ctx, mailer.Message{To: "a@example.com", Subject: "Reset", Text: "Go to\n" + link + "\nor ignore.\n"}))
		got := c.Messages()
		require.Len(t, got, 1)
		require.Equal(t, []string{link}, got[0].Links)
		require.False(t, got[0].SentAt.IsZero())
		require.Contains(t, logs.String(), link)
		require.Contains(t, logs.String(), "a@example.com")
	})

	t.Run("ServesTheMessagesAsJSON", func(t *testing.T) {
		t.Parallel()
		c := mailer.NewCatcher(10, nil)
		require.NoError(t, c.Send(ctx, mailer.Message{To: "a@example.com", Subject: "first", Text: "no link"}))
		require.NoError(t, c.Send(ctx, mailer.Message{To: "b@example.com", Subject: "second", Text: "see https://x.test/a?b=c"}))
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/dev/mail", nil))
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
		var body struct {
			Data []struct {
				To, Subject, Text string
				Links             []string
				SentAt            string `json:"sent_at"`
			}
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
		require.Len(t, body.Data, 2)
		require.Equal(t, "second", body.Data[0].Subject)
		require.Equal(t, []string{"https://x.test/a?b=c"}, body.Data[0].Links)
		require.Equal(t, []string{}, body.Data[1].Links)
		require.NotEmpty(t, body.Data[0].SentAt)
	})
}
