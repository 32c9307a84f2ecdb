// Package ratelimit applies GCRA limits kept in Redis (go-redis/redis_rate),
// so every API process shares one budget per organisation, API key, client
// IP or email address.
package ratelimit

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Limit is Rate events per Period with bursts up to Burst.
type Limit struct {
	Rate   int
	Burst  int
	Period time.Duration
}

// PerSecond allows rate a second with the given burst.
func PerSecond(rate, burst int) Limit { return Limit{Rate: rate, Burst: burst, Period: time.Second} }

// PerMinute allows rate a minute, all of it usable at once.
func PerMinute(rate int) Limit { return Limit{Rate: rate, Burst: rate, Period: time.Minute} }

// Result is the outcome of one check, with what the RateLimit-* headers say.
type Result struct {
	Allowed    bool
	Limit      int
	Remaining  int
	RetryAfter time.Duration // when not allowed
	ResetAfter time.Duration // until the bucket is full again
}

// RetryAfterSeconds rounds RetryAfter up to whole seconds (at least 1).
func (r Result) RetryAfterSeconds() int { return ceilSeconds(r.RetryAfter) }

// ResetSeconds rounds ResetAfter up to whole seconds.
func (r Result) ResetSeconds() int { return ceilSeconds(r.ResetAfter) }

func ceilSeconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		return 1
	}
	return s
}

// Limiter checks keys against limits.
type Limiter struct {
	l      *redis_rate.Limiter
	prefix string
}

// New builds a limiter; prefix namespaces its keys (tests use their own).
func New(rdb *redis.Client, prefix string) *Limiter {
	return &Limiter{l: redis_rate.NewLimiter(rdb), prefix: prefix}
}

// Peek reports whether key has budget left without spending any, for
// budgets that only failures spend.
func (l *Limiter) Peek(ctx context.Context, key string, lim Limit) (Result, error) {
	res, err := l.l.AllowN(ctx, l.prefix+key, redis_rate.Limit{Rate: lim.Rate, Burst: lim.Burst, Period: lim.Period}, 0)
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: %s: %w", key, err)
	}
	return Result{
		Allowed: res.Remaining > 0, Limit: lim.Burst, Remaining: res.Remaining,
		RetryAfter: res.ResetAfter / time.Duration(max(lim.Burst, 1)), ResetAfter: res.ResetAfter,
	}, nil
}

// Allow spends one event of key's budget.
func (l *Limiter) Allow(ctx context.Context, key string, lim Limit) (Result, error) {
	res, err := l.l.Allow(ctx, l.prefix+key, redis_rate.Limit{Rate: lim.Rate, Burst: lim.Burst, Period: lim.Period})
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: %s: %w", key, err)
	}
	return Result{
		Allowed: res.Allowed > 0, Limit: lim.Burst, Remaining: res.Remaining,
		RetryAfter: res.RetryAfter, ResetAfter: res.ResetAfter,
	}, nil
}
