package webhookdelivery

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDefaultScheduleSpansAboutThreeDays(t *testing.T) {
	t.Parallel()
	var total time.Duration
	for _, d := range DefaultSchedule {
		total += d
	}
	require.Equal(t, 67*time.Hour+35*time.Minute+5*time.Second, total)
	require.Len(t, DefaultSchedule, 11, "12 attempts")
	require.Less(t, DefaultDisableAfter, time.Duration(float64(total)*(1-DefaultJitter)),
		"an endpoint failing throughout is disabled by a message's last attempts, jitter or not")
}

func TestRetryWait(t *testing.T) {
	t.Parallel()
	s := []time.Duration{5 * time.Second, time.Hour}
	for _, c := range []struct {
		attempts int
		want     time.Duration
		ok       bool
	}{{1, 5 * time.Second, true}, {2, time.Hour, true}, {3, 0, false}, {0, 0, false}} {
		got, ok := retryWait(s, c.attempts, 0)
		require.Equal(t, c.ok, ok, c.attempts)
		require.Equal(t, c.want, got, c.attempts)
	}
	for range 200 {
		got, ok := retryWait(s, 2, 0.1)
		require.True(t, ok)
		require.GreaterOrEqual(t, got, 54*time.Minute)
		require.LessOrEqual(t, got, 66*time.Minute)
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name, h string
		want    time.Duration
		ok      bool
	}{
		{"Seconds", "120", 2 * time.Minute, true},
		{"Spaces", " 7 ", 7 * time.Second, true},
		{"HTTPDate", now.Add(90 * time.Minute).Format(http.TimeFormat), 90 * time.Minute, true},
		{"PastDate", now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"Empty", "", 0, false},
		{"Negative", "-5", 0, false},
		{"Garbage", "soon", 0, false},
		{"Huge", "99999999999999", 365 * 24 * time.Hour, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := retryAfter(c.h, now)
			require.Equal(t, c.ok, ok)
			require.Equal(t, c.want, got)
		})
	}
}

func TestSnippetIsTextPostgresAccepts(t *testing.T) {
	t.Parallel()
	require.Equal(t, "a\uFFFDb", snippet([]byte("a\xffb\x00")))
	long := make([]byte, SnippetBytes+10)
	for i := range long {
		long[i] = 'x'
	}
	require.Len(t, snippet(long), SnippetBytes)
}
