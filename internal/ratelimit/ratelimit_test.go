package ratelimit_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/ratelimit"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

func TestLimiter(t *testing.T) {
	t.Parallel()
	l := ratelimit.New(testkit.Redis(t, 3), "test:"+uuid.NewString()+":")
	ctx := context.Background()

	t.Run("AllowsTheBurstThenRefuses", func(t *testing.T) {
		t.Parallel()
		lim := ratelimit.PerMinute(3)
		for i := range 3 {
			r, err := l.Allow(ctx, "burst", lim)
			require.NoError(t, err)
			require.True(t, r.Allowed, "request %d", i)
			require.Equal(t, 2-i, r.Remaining)
		}
		r, err := l.Allow(ctx, "burst", lim)
		require.NoError(t, err)
		require.False(t, r.Allowed)
		require.Equal(t, 0, r.Remaining)
		require.GreaterOrEqual(t, r.RetryAfterSeconds(), 1)
		require.LessOrEqual(t, r.RetryAfterSeconds(), 20)
	})
	t.Run("PeekSpendsNothing", func(t *testing.T) {
		t.Parallel()
		lim := ratelimit.PerMinute(2)
		for range 5 {
			r, err := l.Peek(ctx, "peek", lim)
			require.NoError(t, err)
			require.True(t, r.Allowed)
			require.Equal(t, 2, r.Remaining)
		}
		for range 2 {
			_, err := l.Allow(ctx, "peek", lim)
			require.NoError(t, err)
		}
		r, err := l.Peek(ctx, "peek", lim)
		require.NoError(t, err)
		require.False(t, r.Allowed)
		require.Positive(t, r.RetryAfterSeconds())
	})

	t.Run("KeepsKeysApart", func(t *testing.T) {
		t.Parallel()
		lim := ratelimit.PerMinute(1)
		r, err := l.Allow(ctx, "a", lim)
		require.NoError(t, err)
		require.True(t, r.Allowed)
		r, err = l.Allow(ctx, "b", lim)
		require.NoError(t, err)
		require.True(t, r.Allowed)
		r, err = l.Allow(ctx, "a", lim)
		require.NoError(t, err)
		require.False(t, r.Allowed)
	})
}
