package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/ratelimit"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

// calls counts the commands a client sends to Redis; while down is set
// each one fails after a pause, like a Redis that stopped answering.
type calls struct {
	n    atomic.Int64
	down atomic.Bool
}

func (c *calls) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *calls) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		if c.down.Load() {
			time.Sleep(50 * time.Millisecond)
			return errors.New("redis stopped answering")
		}
		return next(ctx, cmd)
	}
}

func (c *calls) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// process is one API process: its own client and limiter on the shared
// Redis, with the Redis commands it sent.
type process struct {
	*ratelimit.Limiter
	calls *calls
}

func newProcess(t testing.TB, prefix string, opts ...ratelimit.Options) process {
	t.Helper()
	rdb := testkit.Redis(t, 3)
	c := new(calls)
	rdb.AddHook(c)
	// A healthy but busy Redis (a loaded -race run on two cores) can take
	// longer than the production timeout of 200 ms: these tests are about
	// budgets, not outages, so they wait longer.
	o := ratelimit.Options{}
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Second
	}
	return process{ratelimit.New(rdb, prefix, o), c}
}

// setupLease returns n processes sharing one fresh key space.
func setupLease(t testing.TB, n int, opts ...ratelimit.Options) []process {
	t.Helper()
	prefix := "lease:" + uuid.NewString() + ":"
	ps := make([]process, n)
	for i := range ps {
		ps[i] = newProcess(t, prefix, opts...)
	}
	return ps
}

// hourly refills one token every 36 s at rate 100, so tests see none.
func hourly(rate int) ratelimit.Limit {
	return ratelimit.Limit{Rate: rate, Burst: rate, Period: time.Hour}
}

func TestLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("SpendsTheBurstExactlyWithFewCalls", func(t *testing.T) {
		t.Parallel()
		p := setupLease(t, 1)[0]
		lim := hourly(100).WithLease(10)
		for i := range 100 {
			r, err := p.Allow(ctx, "k", lim)
			require.NoError(t, err)
			require.True(t, r.Allowed, "request %d", i)
			require.Equal(t, 99-i, r.Remaining, "request %d", i)
			require.Equal(t, 100, r.Limit)
		}
		r, err := p.Allow(ctx, "k", lim)
		require.NoError(t, err)
		require.False(t, r.Allowed, "the 101st")
		require.Equal(t, 0, r.Remaining)
		require.Greater(t, r.RetryAfter, 30*time.Second, "one token of 100/h is 36 s away")
		require.LessOrEqual(t, r.RetryAfter, 36*time.Second)
		require.Greater(t, r.ResetAfter, 59*time.Minute)
		require.Less(t, p.calls.n.Load(), int64(30), "101 checks, most from leases")
	})

	t.Run("AHundredPerSecondIsNotOverAllowed", func(t *testing.T) {
		t.Parallel()
		p := setupLease(t, 1)[0]
		lim := ratelimit.PerSecond(100, 100).WithLease(10)
		start := time.Now()
		for i := range 100 {
			r, err := p.Allow(ctx, "k", lim)
			require.NoError(t, err)
			require.True(t, r.Allowed, "request %d", i)
		}
		allowed := 100
		for range 1000 {
			r, err := p.Allow(ctx, "k", lim)
			require.NoError(t, err)
			if !r.Allowed {
				break
			}
			allowed++
		}
		// GCRA grants at most the burst plus what refilled meanwhile.
		refill := int(time.Since(start).Seconds() * 100)
		require.LessOrEqual(t, allowed, 100+refill+1, "refused by the %dth", allowed+1)
	})

	t.Run("TwoProcessesNeverExceedTheBurstTogether", func(t *testing.T) {
		t.Parallel()
		ps := setupLease(t, 2)
		lim := hourly(200).WithLease(10)
		allowed, refusedInARow := 0, 0
		for i := 0; refusedInARow < 4 && i < 1000; i++ {
			r, err := ps[i%2].Allow(ctx, "k", lim)
			require.NoError(t, err)
			require.GreaterOrEqual(t, r.Remaining, 0)
			require.LessOrEqual(t, r.Remaining, 200)
			if r.Allowed {
				allowed++
				refusedInARow = 0
			} else {
				refusedInARow++
			}
		}
		require.Equal(t, 200, allowed, "every token spent once, none twice")
		for i, p := range ps {
			require.Less(t, p.calls.n.Load(), int64(60), "process %d leased its tokens", i)
		}
	})

	t.Run("ManyGoroutinesInTwoProcessesStayWithinTheBudget", func(t *testing.T) {
		t.Parallel()
		ps := setupLease(t, 2)
		lim := hourly(1000).WithLease(10)
		start := time.Now()
		var allowed atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for g := range 64 {
			wg.Go(func() {
				for range 40 {
					r, err := ps[g%2].Allow(ctx, "k", lim)
					if err != nil {
						errs <- err
						return
					}
					if r.Remaining < 0 || r.Remaining > 1000 {
						errs <- fmt.Errorf("remaining %d", r.Remaining)
						return
					}
					if r.Allowed {
						allowed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		refill := int64(time.Since(start).Hours() * 1000)
		require.LessOrEqual(t, allowed.Load(), 1000+refill+1)
		// Only tokens still on lease at the end go unspent.
		require.GreaterOrEqual(t, allowed.Load(), int64(1000-2*9))
		require.Less(t, ps[0].calls.n.Load()+ps[1].calls.n.Load(), int64(64*40))
	})

	t.Run("GoroutinesFindingTheLeaseEmptyWaitForOneBatch", func(t *testing.T) {
		t.Parallel()
		p := setupLease(t, 1)[0]
		clock := time.Now()
		ratelimit.SetNow(p.Limiter, func() time.Time { return clock }) // stopped: full batches
		lim := hourly(1000).WithLease(10)
		for range 2 {
			_, err := p.Allow(ctx, "k", lim)
			require.NoError(t, err)
		}
		before := p.calls.n.Load()
		start := make(chan struct{})
		var wg sync.WaitGroup
		var allowed atomic.Int64
		for range 200 {
			wg.Go(func() {
				<-start
				if r, err := p.Allow(ctx, "k", lim); err == nil && r.Allowed {
					allowed.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		require.Equal(t, int64(200), allowed.Load())
		// 9 held, then 191 from batches of 10: 20 calls, one per batch.
		require.Equal(t, int64(20), p.calls.n.Load()-before)
	})

	t.Run("RemainingCountsTheOtherProcessAtTheNextLease", func(t *testing.T) {
		t.Parallel()
		ps := setupLease(t, 2)
		lim := hourly(100).WithLease(10)
		var last int
		for i := range 30 {
			r, err := ps[0].Allow(ctx, "k", lim)
			require.NoError(t, err)
			require.True(t, r.Allowed)
			if i > 0 {
				require.Less(t, r.Remaining, last, "request %d", i)
			}
			last = r.Remaining
		}
		require.Equal(t, 70, last)
		for range 20 {
			_, err := ps[1].Allow(ctx, "k", lim)
			require.NoError(t, err)
		}
		// Process 0 spends what it holds, then its next lease sees process 1.
		var r ratelimit.Result
		for range 12 {
			var err error
			r, err = ps[0].Allow(ctx, "k", lim)
			require.NoError(t, err)
			require.True(t, r.Allowed)
		}
		require.LessOrEqual(t, r.Remaining, 100-30-20-12)
		require.GreaterOrEqual(t, r.Remaining, 100-30-20-12-2*9, "less at most what the two processes hold")
	})

	t.Run("TokensOnLeaseAreUsableOnlyUntilTheLeaseEnds", func(t *testing.T) {
		t.Parallel()
		ps := setupLease(t, 2, ratelimit.Options{LeaseTTL: time.Second})
		var mu sync.Mutex
		clock := time.Now()
		ratelimit.SetNow(ps[0].Limiter, func() time.Time { mu.Lock(); defer mu.Unlock(); return clock })
		advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
		lim := hourly(100).WithLease(10)

		// Two checks with a stopped clock: the second takes a full lease.
		for range 2 {
			r, err := ps[0].Allow(ctx, "held", lim)
			require.NoError(t, err)
			require.True(t, r.Allowed)
		}
		// The other process sees the 9 held tokens as spent.
		other := 0
		for {
			r, err := ps[1].Allow(ctx, "held", lim)
			require.NoError(t, err)
			if !r.Allowed {
				break
			}
			other++
		}
		require.Equal(t, 100-11, other)
		// Within the lease, process 0 spends them without Redis.
		before := ps[0].calls.n.Load()
		advance(900 * time.Millisecond)
		for i := range 9 {
			r, err := ps[0].Allow(ctx, "held", lim)
			require.NoError(t, err)
			require.True(t, r.Allowed, "held token %d", i)
		}
		require.Equal(t, before, ps[0].calls.n.Load())

		// Same again on another key, but the lease ends first: the held
		// tokens are dropped, not spent late, and Redis refuses.
		for range 2 {
			_, err := ps[0].Allow(ctx, "expired", lim)
			require.NoError(t, err)
		}
		for {
			r, err := ps[1].Allow(ctx, "expired", lim)
			require.NoError(t, err)
			if !r.Allowed {
				break
			}
		}
		before = ps[0].calls.n.Load()
		advance(time.Second)
		r, err := ps[0].Allow(ctx, "expired", lim)
		require.NoError(t, err)
		require.False(t, r.Allowed, "an expired lease is not spent")
		require.Equal(t, before+1, ps[0].calls.n.Load(), "the refusal came from Redis")
		require.Positive(t, r.RetryAfter)
	})

	t.Run("ASmallBurstIsNotLeased", func(t *testing.T) {
		t.Parallel()
		p := setupLease(t, 1)[0]
		lim := hourly(7).WithLease(10) // 7/4 = 1 token: no lease
		for range 7 {
			r, err := p.Allow(ctx, "k", lim)
			require.NoError(t, err)
			require.True(t, r.Allowed)
		}
		require.GreaterOrEqual(t, p.calls.n.Load(), int64(7), "one call per check")
		r, err := p.Allow(ctx, "k", lim)
		require.NoError(t, err)
		require.False(t, r.Allowed)
		require.Equal(t, 0, ratelimit.LeaseCount(p.Limiter))
	})

	t.Run("IdleKeysAreDropped", func(t *testing.T) {
		t.Parallel()
		p := setupLease(t, 1, ratelimit.Options{LeaseTTL: 10 * time.Millisecond})
		var mu sync.Mutex
		clock := time.Now()
		ratelimit.SetNow(p[0].Limiter, func() time.Time { mu.Lock(); defer mu.Unlock(); return clock })
		lim := hourly(100).WithLease(10)
		for i := range 50 {
			_, err := p[0].Allow(ctx, fmt.Sprint("k", i), lim)
			require.NoError(t, err)
		}
		require.Equal(t, 50, ratelimit.LeaseCount(p[0].Limiter))
		mu.Lock()
		clock = clock.Add(time.Second) // 100 lease lifetimes
		mu.Unlock()
		_, err := p[0].Allow(ctx, "fresh", lim)
		require.NoError(t, err)
		require.Eventually(t, func() bool { return ratelimit.LeaseCount(p[0].Limiter) == 1 }, 2*time.Second, 5*time.Millisecond)
	})
}

func TestLeaseOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	open := hourly(100).WithLease(10).WithPolicy(ratelimit.FailOpen)
	closed := hourly(100).WithLease(10)

	t.Run("ThePolicyAppliesAsWithoutALease", func(t *testing.T) {
		t.Parallel()
		l := unreachable(t, refusedAddr(t), ratelimit.Options{BreakerThreshold: 1000})
		for range 3 {
			r, err := l.Allow(ctx, "k", open)
			require.NoError(t, err)
			require.True(t, r.Allowed)
			require.True(t, r.Unmetered)
			_, err = l.Allow(ctx, "k", closed)
			fe, ok := fault.As(err)
			require.True(t, ok, "want a fault, got %v", err)
			require.Equal(t, "rate_limiter_unavailable", fe.Code)
			var o *ratelimit.Outage
			require.ErrorAs(t, err, &o)
		}
	})

	t.Run("ConcurrentChecksShareOneTimeoutNotQueueForIt", func(t *testing.T) {
		t.Parallel()
		l := unreachable(t, silentAddr(t), ratelimit.Options{Timeout: 100 * time.Millisecond, BreakerThreshold: 1000})
		start := time.Now()
		var wg sync.WaitGroup
		var refused atomic.Int64
		for range 32 {
			wg.Go(func() {
				if _, err := l.Allow(ctx, "k", closed); err != nil {
					if _, ok := fault.As(err); ok {
						refused.Add(1)
					}
				}
			})
		}
		wg.Wait()
		require.Equal(t, int64(32), refused.Load())
		require.Less(t, time.Since(start), quickly)
	})
}

func TestLeaseOutageIsSharedByWaiters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := setupLease(t, 1)[0]
	clock := time.Now()
	ratelimit.SetNow(p.Limiter, func() time.Time { return clock }) // stopped: full batches
	lim := hourly(1000).WithLease(10)
	for range 11 { // a single, then a batch of 10 spent
		_, err := p.Allow(ctx, "k", lim)
		require.NoError(t, err)
	}
	p.calls.down.Store(true)
	before := p.calls.n.Load()
	start := time.Now()
	var wg sync.WaitGroup
	var refused atomic.Int64
	for range 32 {
		wg.Go(func() {
			_, err := p.Allow(ctx, "k", lim)
			var o *ratelimit.Outage
			if _, ok := fault.As(err); ok && errors.As(err, &o) {
				refused.Add(1)
			}
		})
	}
	wg.Wait()
	require.Equal(t, int64(32), refused.Load(), "fail closed, each")
	require.Less(t, time.Since(start), quickly, "one timeout, not 32 in turn")
	require.Less(t, p.calls.n.Load()-before, int64(32), "waiters share the batch's outage")
}

// BenchmarkAllow compares leased and unleased checks of one busy key from
// many goroutines (like wrk's 64 connections on one organisation), with the
// Redis calls each makes per 1000 checks.
func BenchmarkAllow(b *testing.B) {
	ctx := context.Background()
	lim := ratelimit.PerSecond(10_000_000, 10_000_000)
	par := max(1, 64/runtime.GOMAXPROCS(0))
	var unleasedNs, unleasedCalls float64
	run := func(b *testing.B, lim ratelimit.Limit) (nsPerOp, callsPer1000 float64) {
		p := newProcess(b, "bench:"+uuid.NewString()+":")
		key := uuid.NewString()
		_, err := p.Allow(ctx, key, lim) // load the script
		require.NoError(b, err)
		p.calls.n.Store(0)
		b.SetParallelism(par)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r, err := p.Allow(ctx, key, lim)
				if err != nil || !r.Allowed {
					b.Errorf("allow: %v %+v", err, r)
					return
				}
			}
		})
		b.StopTimer()
		nsPerOp = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		callsPer1000 = float64(p.calls.n.Load()) * 1000 / float64(b.N)
		b.ReportMetric(callsPer1000, "redis-calls/1000-allows")
		return nsPerOp, callsPer1000
	}
	b.Run("Unleased", func(b *testing.B) {
		unleasedNs, unleasedCalls = run(b, lim)
	})
	b.Run("Leased10", func(b *testing.B) {
		ns, c := run(b, lim.WithLease(10))
		if unleasedNs > 0 && ns > 0 && c > 0 {
			b.ReportMetric(unleasedNs/ns, "x-faster")
			b.ReportMetric(unleasedCalls/c, "x-fewer-calls")
		}
	})
}
