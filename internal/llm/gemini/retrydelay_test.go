package gemini

import (
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/llm/llmtest"
)

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	withDetails := func(details string) []byte {
		return []byte(`{"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED","details":[` + details + `]}}`)
	}

	tests := []struct {
		name string
		body []byte
		want time.Duration
		ok   bool
	}{
		{name: "ReadsWholeSeconds", body: withDetails(`{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"43s"}`), want: 43 * time.Second, ok: true},
		{name: "ReadsFractionalSeconds", body: withDetails(`{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"45.8s"}`), want: 45800 * time.Millisecond, ok: true},
		{name: "ReadsItAmongOtherDetails", body: []byte(llmtest.GeminiRateLimited("12.5s").Body), want: 12500 * time.Millisecond, ok: true},
		{name: "SaturatesAHugeDelay", body: withDetails(`{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1e12s"}`), want: time.Duration(math.MaxInt64), ok: true},
		{name: "IgnoresANegativeDelay", body: withDetails(`{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"-3s"}`)},
		{name: "IgnoresNaN", body: withDetails(`{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"NaNs"}`)},
		{name: "IgnoresADelayWithoutUnit", body: withDetails(`{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"43"}`)},
		{name: "IgnoresOtherDetails", body: withDetails(`{"@type":"type.googleapis.com/google.rpc.Help","retryDelay":"43s"}`)},
		{name: "IgnoresABodyWithoutDetails", body: []byte(`{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}`)},
		{name: "IgnoresABodyThatIsNotJSON", body: []byte(`<html>Bad Gateway</html>`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := retryDelay(&http.Response{StatusCode: http.StatusTooManyRequests}, tt.body)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.want, got)
		})
	}
}
