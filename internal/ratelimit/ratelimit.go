// Package ratelimit applies GCRA limits kept in Redis (go-redis/redis_rate),
// so every API process shares one budget per organisation, API key, client
// IP or email address.
//
// Redis can be down. Each Limit says what happens then (its Policy, chosen
// where the limit is defined): FailOpen lets the request through unmetered,
// FailClosed refuses it with a 503 fault. Either way the answer is quick:
// every Redis call has a short deadline, and after a few outages in a row a
// breaker stops calling Redis for a moment, so requests during an outage do
// not each wait out a timeout.
//
// High-rate budgets can opt into token leasing (Limit.WithLease, see
// lease.go): a process takes a few tokens from the shared bucket in one
// Redis call and spends them locally for a short while.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/leadpilot/leadpilot/internal/fault"
)

// Policy is what a limit does when its budget cannot be read.
type Policy int

const (
	// FailClosed refuses the request (503 rate_limiter_unavailable). The
	// zero value: a limit that guards something must say so to be skipped.
	FailClosed Policy = iota
	// FailOpen lets the request through unmetered, logged and counted.
	FailOpen
)

func (p Policy) String() string {
	if p == FailOpen {
		return "fail_open"
	}
	return "fail_closed"
}

// Limit is Rate events per Period with bursts up to Burst, and what to do
// when Redis cannot say.
type Limit struct {
	Rate   int
	Burst  int
	Period time.Duration
	Policy Policy
	// Lease, when 2 or more, lets a process take up to that many tokens
	// from Redis at once and spend them locally (see lease.go); it is
	// capped at Burst/4. Zero checks every event in Redis (exact).
	Lease int
}

// PerSecond allows rate a second with the given burst; it fails closed.
func PerSecond(rate, burst int) Limit { return Limit{Rate: rate, Burst: burst, Period: time.Second} }

// PerMinute allows rate a minute, all of it usable at once; it fails closed.
func PerMinute(rate int) Limit { return Limit{Rate: rate, Burst: rate, Period: time.Minute} }

// PerHour allows rate an hour, all of it usable at once; it fails closed.
func PerHour(rate int) Limit { return Limit{Rate: rate, Burst: rate, Period: time.Hour} }

// WithPolicy returns the limit with policy p.
func (l Limit) WithPolicy(p Policy) Limit {
	l.Policy = p
	return l
}

// WithLease returns the limit with leases of up to n tokens (see lease.go).
// Only for high-rate budgets that may be off by a few tokens per process;
// never for brute-force guards, which must stay exact.
func (l Limit) WithLease(n int) Limit {
	l.Lease = n
	return l
}

// Result is the outcome of one check, with what the RateLimit-* headers say.
type Result struct {
	Allowed    bool
	Limit      int
	Remaining  int
	RetryAfter time.Duration // when not allowed
	ResetAfter time.Duration // until the bucket is full again
	// Unmetered is set when Redis could not be asked and the limit fails
	// open: Allowed is true and the other fields mean nothing.
	Unmetered bool
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

// Outage is Redis failing to answer a limit check (refused, timed out, or
// skipped while the breaker is open). A fail-closed check returns it inside
// a fault.Unavailable; errors.As finds it.
type Outage struct {
	Key string
	Err error
}

func (o *Outage) Error() string {
	return fmt.Sprintf("ratelimit: %s: redis unavailable: %v", o.Key, o.Err)
}

// Unwrap returns the Redis error.
func (o *Outage) Unwrap() error { return o.Err }

// ErrBreakerOpen is the Outage cause while the breaker skips Redis.
var ErrBreakerOpen = errors.New("ratelimit: breaker open after repeated redis failures")

// Defaults for Options.
const (
	DefaultTimeout          = 200 * time.Millisecond
	DefaultBreakerThreshold = 3
	DefaultBreakerCooldown  = 2 * time.Second
	DefaultLeaseTTL         = 500 * time.Millisecond
)

// Options tune a Limiter; zero fields take the defaults.
type Options struct {
	// Timeout bounds one Redis call (default 200 ms). go-redis would
	// otherwise retry a refused connection for ~1.8 s.
	Timeout time.Duration
	// BreakerThreshold is how many outages in a row open the breaker
	// (default 3).
	BreakerThreshold int
	// BreakerCooldown is how long an open breaker skips Redis before the
	// next call tries again (default 2 s); it is also the Retry-After of a
	// fail-closed refusal.
	BreakerCooldown time.Duration
	// Logger gets one warning when the breaker opens and one when Redis
	// answers again (default: slog.Default()).
	Logger *slog.Logger
	// Registerer, when set, gets leadpilot_ratelimit_unavailable_total
	// {policy}: checks that could not be made.
	Registerer prometheus.Registerer
	// LeaseTTL is how long leased tokens may be spent after Redis granted
	// them (default 500 ms; see lease.go for why).
	LeaseTTL time.Duration
}

// Limiter checks keys against limits.
type Limiter struct {
	l       *redis_rate.Limiter
	prefix  string
	timeout time.Duration
	logger  *slog.Logger
	outages *prometheus.CounterVec

	threshold int
	cooldown  time.Duration
	mu        sync.Mutex
	failures  int       // outages in a row
	openUntil time.Time // breaker skips Redis until then
	now       func() time.Time

	leaseTTL  time.Duration
	leases    sync.Map     // key -> *lease
	nextSweep atomic.Int64 // unix nanos of the next sweep of idle leases
}

// New builds a limiter; prefix namespaces its keys (tests use their own).
func New(rdb *redis.Client, prefix string, opts ...Options) *Limiter {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	l := &Limiter{
		l: redis_rate.NewLimiter(rdb), prefix: prefix,
		timeout: o.Timeout, threshold: o.BreakerThreshold, cooldown: o.BreakerCooldown, logger: o.Logger,
		outages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leadpilot_ratelimit_unavailable_total",
			Help: "Rate-limit checks that Redis could not answer, by the limit's policy (fail_open let the request through).",
		}, []string{"policy"}),
		now: time.Now, leaseTTL: o.LeaseTTL,
	}
	if l.timeout <= 0 {
		l.timeout = DefaultTimeout
	}
	if l.threshold <= 0 {
		l.threshold = DefaultBreakerThreshold
	}
	if l.cooldown <= 0 {
		l.cooldown = DefaultBreakerCooldown
	}
	if l.leaseTTL <= 0 {
		l.leaseTTL = DefaultLeaseTTL
	}
	if l.logger == nil {
		l.logger = slog.Default()
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(l.outages)
	}
	return l
}

// Peek reports whether key has budget left without spending any, for
// budgets that only failures spend. It asks Redis and ignores tokens this
// process holds on lease.
func (l *Limiter) Peek(ctx context.Context, key string, lim Limit) (Result, error) {
	res, err := l.call(ctx, key, lim, 0)
	if err != nil || res == nil {
		return l.unavailable(ctx, key, lim, err)
	}
	return Result{
		Allowed: res.Remaining > 0, Limit: lim.Burst, Remaining: res.Remaining,
		RetryAfter: res.ResetAfter / time.Duration(max(lim.Burst, 1)), ResetAfter: res.ResetAfter,
	}, nil
}

// Allow spends one event of key's budget: from this process's lease when
// lim has one and it is fresh, otherwise in Redis.
func (l *Limiter) Allow(ctx context.Context, key string, lim Limit) (Result, error) {
	if leaseSize(lim) >= 2 {
		return l.allowLeased(ctx, key, lim)
	}
	return l.allowOne(ctx, key, lim)
}

// allowOne spends one event in Redis.
func (l *Limiter) allowOne(ctx context.Context, key string, lim Limit) (Result, error) {
	res, err := l.call(ctx, key, lim, 1)
	if err != nil || res == nil {
		return l.unavailable(ctx, key, lim, err)
	}
	return Result{
		Allowed: res.Allowed > 0, Limit: lim.Burst, Remaining: res.Remaining,
		RetryAfter: res.RetryAfter, ResetAfter: res.ResetAfter,
	}, nil
}

// call asks Redis within the timeout, unless the breaker is open. A nil
// result with a nil error never happens; an error is an *Outage or the
// caller's own cancellation.
func (l *Limiter) call(ctx context.Context, key string, lim Limit, n int) (*redis_rate.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if l.breakerOpen() {
		return nil, &Outage{Key: key, Err: ErrBreakerOpen}
	}
	cctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	type answer struct {
		res *redis_rate.Result
		err error
	}
	// go-redis bounds socket reads by its own ReadTimeout, not by ctx
	// (ContextTimeoutEnabled is off on the shared client), so wait for the
	// answer here; a late one is dropped.
	ch := make(chan answer, 1)
	go func() {
		res, err := l.l.AllowN(cctx, l.prefix+key, redis_rate.Limit{Rate: lim.Rate, Burst: lim.Burst, Period: lim.Period}, n)
		ch <- answer{res, err}
	}()
	var a answer
	select {
	case a = <-ch:
	case <-cctx.Done():
		a.err = cctx.Err()
	}
	if a.err == nil {
		l.succeeded()
		return a.res, nil
	}
	if ctx.Err() != nil {
		// The caller gave up (client went away): not Redis's fault.
		return nil, ctx.Err()
	}
	l.failed(a.err)
	return nil, &Outage{Key: key, Err: a.err}
}

// unavailable applies lim's policy to a check that could not be made.
func (l *Limiter) unavailable(ctx context.Context, key string, lim Limit, err error) (Result, error) {
	var o *Outage
	if !errors.As(err, &o) {
		return Result{}, fmt.Errorf("ratelimit: %s: %w", key, err)
	}
	l.outages.WithLabelValues(lim.Policy.String()).Inc()
	if lim.Policy == FailOpen {
		return Result{Allowed: true, Unmetered: true, Limit: lim.Burst}, nil
	}
	return Result{}, fault.Unavailable("rate_limiter_unavailable",
		"the rate limiter is unavailable, so this request cannot be checked; retry shortly",
		ceilSeconds(l.cooldown)).WithCause(o)
}

func (l *Limiter) breakerOpen() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.now().Before(l.openUntil)
}

func (l *Limiter) succeeded() {
	l.mu.Lock()
	wasDown := l.failures >= l.threshold
	l.failures = 0
	l.openUntil = time.Time{}
	l.mu.Unlock()
	if wasDown {
		l.logger.Info("ratelimit: redis answers again; limits are metered")
	}
}

func (l *Limiter) failed(err error) {
	l.mu.Lock()
	l.failures++
	opened := l.failures == l.threshold
	if l.failures >= l.threshold {
		// Re-arm on every failure past the threshold: after a cooldown one
		// call tries Redis again (others may too), and a failure reopens.
		l.openUntil = l.now().Add(l.cooldown)
	}
	l.mu.Unlock()
	if opened {
		l.logger.Warn("ratelimit: redis unavailable; fail-open limits let requests through unmetered, fail-closed ones answer 503",
			"err", err, "retry_in", l.cooldown)
	}
}
