package webhooks_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/leadpilot/leadpilot/api/webhooks"
)

// A receiver reads the body as sent, verifies it, and only then trusts it.
func ExampleVerifier() {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // from POST /v1/webhook-endpoints
	verifier, err := webhooks.NewVerifier(secret)
	if err != nil {
		log.Fatal(err)
	}
	receiver := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		event, err := verifier.VerifyEvent(r.Header, body)
		if err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		fmt.Println(event.Type, *event.ObjectID)
		w.WriteHeader(http.StatusNoContent)
	})

	// What LeadPilot sends, signed here with the reference implementation.
	payload := `{"id":"evt_1","type":"lead.created","timestamp":"2026-11-28T12:00:00Z","object_type":"lead","object_id":"lead_1","data":{}}`
	wh, _ := standardwebhooks.NewWebhook(secret)
	sig, _ := wh.Sign("msg_1", time.Now(), []byte(payload))
	req := httptest.NewRequest(http.MethodPost, "/hooks/leadpilot", strings.NewReader(payload))
	req.Header.Set("webhook-id", "msg_1")
	req.Header.Set("webhook-timestamp", fmt.Sprint(time.Now().Unix()))
	req.Header.Set("webhook-signature", sig)
	rec := httptest.NewRecorder()
	receiver.ServeHTTP(rec, req)
	fmt.Println(rec.Code)
	// Output:
	// lead.created lead_1
	// 204
}
