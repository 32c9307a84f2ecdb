package ratelimit

// Token leasing: fewer Redis round trips for high-rate budgets.
//
// A Limit with a lease (Limit.WithLease) lets a process take a batch of
// tokens from the shared Redis bucket in one AllowN call and spend them
// locally, without asking Redis again, for at most the limiter's LeaseTTL.
//
// What stays exact. Every allowed event was taken from the shared bucket, so
// all processes together never spend more than the GCRA budget grants; a
// batch is at most min(Lease, Burst/4) tokens, so one process cannot empty
// the bucket for the others. Refusals always come from Redis: when Redis
// refuses a batch, the same answer says whether one token is left (the GCRA
// retry time for n tokens minus n-1 emission intervals); if it is, one
// AllowN(key, 1) spends it, so the last tokens stay usable and a refused
// request is refused by Redis's own arithmetic, with its RetryAfter and
// ResetAfter. After a refused batch the process asks for one token at a time
// for a LeaseTTL, so a bucket that is nearly empty costs one call per
// request, as without a lease.
//
// Outages: a process keeps spending tokens it already holds (Redis granted
// them); the next batch it cannot take applies the limit's Policy, as a
// check without a lease does. Goroutines waiting for that batch share its
// outage instead of each waiting out a timeout in turn.
//
// What it costs. Tokens leased to one process and not yet spent (at most
// min(Lease, Burst/4)-1 per process and key) are unusable by the others
// until they are spent or the lease ends; an expired lease's tokens are not
// given back to Redis (the bucket refills them at its rate). A token may be
// spent up to LeaseTTL after Redis granted it, so a burst may exceed Burst by
// at most the tokens held on lease at its start: at most
// processes x (min(Lease, Burst/4)-1). To keep stranding rare, a lease is
// sized from this process's recent demand for the key: enough for about
// half a LeaseTTL at the rate the previous lease was spent, starting from
// one token for a key not seen lately. A quiet key thus costs one token per
// request, as without a lease, and only a key that is busy in this process
// gets full batches.
//
// Why LeaseTTL is 500 ms by default: leases are sized to last half of it,
// so a busy key refills its lease several times a second while a key whose
// demand drops strands its last tokens for at most half a second, below the
// one-second resolution of the RateLimit-* and Retry-After headers; the
// reported Remaining (Redis's answer at lease time plus this process's
// unspent tokens) is likewise at most that stale. Longer leases would save
// few calls (a busy key already takes full batches) and strand tokens
// longer; much shorter ones would not cover the gaps between requests of a
// key that is busy at the budget's own rate (100/s over a few processes).

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"
)

// lease is one process's tokens for one key.
type lease struct {
	mu         sync.Mutex
	tokens     int           // granted and not yet spent
	granted    int           // size of the current lease (0: none yet)
	fetched    time.Time     // when the current lease was asked for
	expires    time.Time     // tokens are dropped after
	remaining  int           // Redis's Remaining after granting the lease
	resetAfter time.Duration // Redis's ResetAfter after granting the lease
	retryAfter time.Duration // Redis's RetryAfter for an allowed check
	// singlesUntil: after a refused batch, ask for one token at a time
	// until then.
	singlesUntil time.Time
	fetch        *fetch // the batch request in flight, if any
	seen         time.Time
	dead         bool // swept from the map; look the key up again
}

// fetch is a batch request that other goroutines wait for instead of
// asking Redis for a batch of their own.
type fetch struct {
	done    chan struct{}
	outage  error // the fetch's *Outage, which its waiters share
	refused bool  // Redis refused the batch
}

// leaseSize is the largest batch lim allows; below 2 there is no lease.
func leaseSize(lim Limit) int {
	return min(lim.Lease, lim.Burst/4)
}

// allowLeased spends a leased token, or takes a new lease from Redis.
func (l *Limiter) allowLeased(ctx context.Context, key string, lim Limit) (Result, error) {
	l.maybeSweep()
	for {
		e := l.leaseFor(key)
		e.mu.Lock()
		if e.dead {
			e.mu.Unlock()
			continue
		}
		now := l.now()
		e.seen = now
		if e.tokens > 0 && now.Before(e.expires) {
			e.tokens--
			r := e.result(lim, now)
			e.mu.Unlock()
			return r, nil
		}
		if f := e.fetch; f != nil {
			// Another goroutine is taking a batch for this key: wait for
			// it rather than take a second one.
			e.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return l.unavailable(ctx, key, lim, ctx.Err())
			}
			if f.outage != nil {
				return l.unavailable(ctx, key, lim, f.outage)
			}
			if f.refused {
				return l.allowOne(ctx, key, lim)
			}
			continue // take a token from the new lease, or the next batch
		}
		return l.takeLease(ctx, key, lim, e, now)
	}
}

// takeLease asks Redis for a batch (or one token while demand is low or the
// bucket nearly empty); it is called with e.mu held and no
// fetch in flight, and returns with it released.
func (l *Limiter) takeLease(ctx context.Context, key string, lim Limit, e *lease, now time.Time) (Result, error) {
	n := e.nextSize(now, leaseSize(lim), l.leaseTTL)
	if n == 1 {
		// Nothing to share with other goroutines: they ask in parallel,
		// as without a lease.
		e.mu.Unlock()
		r, err := l.allowOne(ctx, key, lim)
		if err == nil && r.Allowed {
			e.mu.Lock()
			if e.fetch == nil && (e.tokens == 0 || !now.Before(e.expires)) {
				e.tokens, e.granted, e.fetched = 0, 1, now // for nextSize
			}
			e.mu.Unlock()
		}
		return r, err
	}
	f := &fetch{done: make(chan struct{})}
	e.fetch = f
	e.mu.Unlock()

	res, err := l.call(ctx, key, lim, n)

	e.mu.Lock()
	e.fetch = nil
	e.tokens, e.granted, e.fetched = 0, 0, now
	switch {
	case err != nil || res == nil:
		var o *Outage
		if errors.As(err, &o) {
			f.outage = err
		}
		close(f.done)
		e.mu.Unlock()
		return l.unavailable(ctx, key, lim, err)
	case res.Allowed > 0:
		e.granted, e.tokens = n, n-1
		e.expires = now.Add(l.leaseTTL)
		e.remaining, e.resetAfter, e.retryAfter = res.Remaining, res.ResetAfter, res.RetryAfter
		r := e.result(lim, l.now())
		close(f.done)
		e.mu.Unlock()
		return r, nil
	}
	f.refused = true
	e.singlesUntil = now.Add(l.leaseTTL)
	close(f.done)
	e.mu.Unlock()

	refusal := Result{Limit: lim.Burst, ResetAfter: res.ResetAfter}
	// Redis's retry time for n tokens, less n-1 emission intervals, is its
	// retry time for one: positive means not even one token is left.
	interval := float64(lim.Period) / float64(max(lim.Rate, 1))
	one := res.RetryAfter - time.Duration(math.Round(float64(n-1)*interval))
	if one > time.Millisecond {
		refusal.RetryAfter = one
		return refusal, nil
	}
	return l.allowOne(ctx, key, lim)
}

// nextSize is how many tokens to ask for: enough for half a ttl at the
// rate this process spent the previous lease, between 1 and most.
func (e *lease) nextSize(now time.Time, most int, ttl time.Duration) int {
	if e.granted == 0 || now.Before(e.singlesUntil) {
		return 1
	}
	spent := e.granted - e.tokens
	elapsed := now.Sub(e.fetched)
	if elapsed <= 0 {
		return most
	}
	n := float64(spent) * float64(ttl/2) / float64(elapsed)
	return int(min(max(n, 1), float64(most)))
}

// result reports a leased token as spent: Redis's answer when it granted
// the lease plus the tokens still held here.
func (e *lease) result(lim Limit, now time.Time) Result {
	return Result{
		Allowed:    true,
		Limit:      lim.Burst,
		Remaining:  min(max(e.remaining+e.tokens, 0), lim.Burst),
		RetryAfter: e.retryAfter,
		ResetAfter: max(e.resetAfter-now.Sub(e.fetched), 0),
	}
}

func (l *Limiter) leaseFor(key string) *lease {
	if v, ok := l.leases.Load(key); ok {
		return v.(*lease)
	}
	v, _ := l.leases.LoadOrStore(key, new(lease))
	return v.(*lease)
}

// leaseIdle is how long a key's lease state outlives its last use. By then
// nextSize would start it from one token again, so nothing is lost.
func (l *Limiter) leaseIdle() time.Duration { return 20 * l.leaseTTL }

// maybeSweep drops, once per leaseIdle, the lease state of keys not used
// for leaseIdle, so memory is bounded by the keys used lately.
func (l *Limiter) maybeSweep() {
	now := l.now()
	next := l.nextSweep.Load()
	if now.UnixNano() < next || !l.nextSweep.CompareAndSwap(next, now.Add(l.leaseIdle()).UnixNano()) {
		return
	}
	if next != 0 {
		go l.sweepLeases(now)
	}
}

func (l *Limiter) sweepLeases(now time.Time) {
	idle := l.leaseIdle()
	l.leases.Range(func(k, v any) bool {
		e := v.(*lease)
		e.mu.Lock()
		if e.fetch == nil && now.Sub(e.seen) > idle {
			e.dead = true
			l.leases.CompareAndDelete(k, e)
		}
		e.mu.Unlock()
		return true
	})
}
