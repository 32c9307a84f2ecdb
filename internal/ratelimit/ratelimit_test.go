package ratelimit_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/ratelimit"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

func TestLimiter(t *testing.T) {
	t.Parallel()
	l := ratelimit.New(testkit.Redis(t, 3), "test:"+uuid.NewString()+":", ratelimit.Options{Timeout: 2 * time.Second})
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

// refusedAddr is a local address that refuses connections.
func refusedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// silentAddr accepts connections and never answers, like a Redis that
// hangs or a network that drops replies.
func silentAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}

func unreachable(t *testing.T, addr string, opts ratelimit.Options) *ratelimit.Limiter {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return ratelimit.New(rdb, "test:", opts)
}

// quickly bounds how long a check may take while Redis is unreachable.
const quickly = 500 * time.Millisecond

func TestOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	open := ratelimit.PerMinute(1).WithPolicy(ratelimit.FailOpen)
	closed := ratelimit.PerMinute(1)

	requireUnavailable := func(t *testing.T, err error) {
		t.Helper()
		fe, ok := fault.As(err)
		require.True(t, ok, "want a fault, got %v", err)
		require.Equal(t, fault.KindUnavailable, fe.Kind)
		require.Equal(t, "rate_limiter_unavailable", fe.Code)
		require.Positive(t, fe.RetryAfter)
		var o *ratelimit.Outage
		require.ErrorAs(t, err, &o)
	}

	for name, addr := range map[string]func(*testing.T) string{"Refused": refusedAddr, "Silent": silentAddr} {
		t.Run(name+"RedisFailsOpenOrClosedQuickly", func(t *testing.T) {
			t.Parallel()
			l := unreachable(t, addr(t), ratelimit.Options{BreakerThreshold: 1000})
			timed := func(f func()) {
				t.Helper()
				start := time.Now()
				f()
				require.Less(t, time.Since(start), quickly)
			}
			for i := range 3 {
				timed(func() {
					r, err := l.Allow(ctx, "k", open)
					require.NoError(t, err)
					require.True(t, r.Allowed, "fail-open check %d", i)
					require.True(t, r.Unmetered)
				})
				timed(func() {
					r, err := l.Peek(ctx, "k", open)
					require.NoError(t, err)
					require.True(t, r.Allowed)
				})
				timed(func() {
					_, err := l.Allow(ctx, "k", closed)
					requireUnavailable(t, err)
				})
				timed(func() {
					_, err := l.Peek(ctx, "k", closed)
					requireUnavailable(t, err)
				})
			}
		})
	}

	t.Run("EachCheckIsBoundedByTheTimeout", func(t *testing.T) {
		t.Parallel()
		l := unreachable(t, silentAddr(t), ratelimit.Options{Timeout: 50 * time.Millisecond, BreakerThreshold: 1000})
		start := time.Now()
		_, err := l.Allow(ctx, "k", closed)
		requireUnavailable(t, err)
		require.Less(t, time.Since(start), quickly)
	})

	t.Run("TheBreakerSkipsRedisAfterRepeatedOutages", func(t *testing.T) {
		t.Parallel()
		l := unreachable(t, silentAddr(t), ratelimit.Options{Timeout: 100 * time.Millisecond, BreakerThreshold: 2, BreakerCooldown: time.Minute})
		for range 2 {
			_, err := l.Allow(ctx, "k", closed)
			require.NotErrorIs(t, err, ratelimit.ErrBreakerOpen)
		}
		start := time.Now()
		for range 50 {
			_, err := l.Allow(ctx, "k", closed)
			requireUnavailable(t, err)
			require.ErrorIs(t, err, ratelimit.ErrBreakerOpen)
			r, err := l.Allow(ctx, "k", open)
			require.NoError(t, err)
			require.True(t, r.Allowed)
		}
		require.Less(t, time.Since(start), 50*time.Millisecond, "an open breaker answers without waiting")
		fe, _ := fault.As(func() error { _, err := l.Allow(ctx, "k", closed); return err }())
		require.Equal(t, 60, fe.RetryAfter, "Retry-After is the cooldown")
	})

	t.Run("CancellationIsNotAnOutage", func(t *testing.T) {
		t.Parallel()
		l := unreachable(t, silentAddr(t), ratelimit.Options{})
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := l.Allow(cctx, "k", open)
		require.ErrorIs(t, err, context.Canceled)
		_, ok := fault.As(err)
		require.False(t, ok)
	})

	t.Run("OutagesAreCountedByPolicy", func(t *testing.T) {
		t.Parallel()
		rdb := redis.NewClient(&redis.Options{Addr: refusedAddr(t)})
		t.Cleanup(func() { _ = rdb.Close() })
		reg := prometheus.NewRegistry()
		l := ratelimit.New(rdb, "test:", ratelimit.Options{Registerer: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		for range 2 {
			_, _ = l.Allow(ctx, "k", open)
		}
		_, _ = l.Allow(ctx, "k", closed)
		mfs, err := reg.Gather()
		require.NoError(t, err)
		require.Len(t, mfs, 1)
		require.Equal(t, "leadpilot_ratelimit_unavailable_total", mfs[0].GetName())
		got := map[string]float64{}
		for _, m := range mfs[0].GetMetric() {
			got[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
		require.Equal(t, map[string]float64{"fail_open": 2, "fail_closed": 1}, got)
	})

	t.Run("AHealthyRedisIsMeteredWhateverThePolicy", func(t *testing.T) {
		t.Parallel()
		l := ratelimit.New(testkit.Redis(t, 3), "test:"+uuid.NewString()+":")
		for _, lim := range []ratelimit.Limit{open, closed} {
			key := uuid.NewString()
			r, err := l.Allow(ctx, key, lim)
			require.NoError(t, err)
			require.True(t, r.Allowed)
			require.False(t, r.Unmetered)
			r, err = l.Allow(ctx, key, lim)
			require.NoError(t, err)
			require.False(t, r.Allowed)
		}
	})
}
