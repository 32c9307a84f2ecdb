package webhookdelivery_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/webhookdelivery"
)

func TestSign(t *testing.T) {
	t.Parallel()
	a, b := newSecret(t), newSecret(t)
	body := []byte(`{"type":"lead.created"}`)
	ts := time.Now()
	sig, err := webhookdelivery.Sign([]string{a, b}, "msg_1", ts, body)
	require.NoError(t, err)
	h := http.Header{}
	h.Set("webhook-id", "msg_1")
	h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("webhook-signature", sig)
	for _, s := range []string{a, b} {
		wh, err := standardwebhooks.NewWebhook(s)
		require.NoError(t, err)
		require.NoError(t, wh.Verify(body, h))
		require.Error(t, wh.Verify([]byte(`{"type":"lead.deleted"}`), h), "another body does not verify")
	}
	_, err = webhookdelivery.Sign([]string{"not-a-secret"}, "msg_1", ts, body)
	require.ErrorIs(t, err, webhookdelivery.ErrBadSecret)
}
