package httpretry_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	"github.com/leadpilot/leadpilot/internal/httpretry"
)

// An adapter for an API whose POSTs have side effects (sending an SMS,
// say) wraps its client once. A 503 to the POST is returned, not
// repeated, because the message may have gone out; the same answer to a
// GET, or to a POST carrying an Idempotency-Key, is retried.
func ExampleTransport_Client() {
	var calls atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1)%2 == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer api.Close()

	client := httpretry.Transport{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond}.Client(&http.Client{Timeout: 10 * time.Second})

	resp, err := client.Post(api.URL+"/Messages", "application/x-www-form-urlencoded", strings.NewReader("Body=hi"))
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println("POST:", resp.StatusCode, "after", calls.Load(), "call")

	calls.Store(0)
	resp, err = client.Get(api.URL + "/Messages")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println("GET:", resp.StatusCode, "after", calls.Load(), "calls")
	// Output:
	// POST: 503 after 1 call
	// GET: 200 after 2 calls
}
