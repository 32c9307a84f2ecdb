package ratelimit

import "time"

// SetNow replaces the limiter's clock (leases and the breaker) in tests.
func SetNow(l *Limiter, now func() time.Time) { l.now = now }

// LeaseCount is how many keys have lease state.
func LeaseCount(l *Limiter) int {
	n := 0
	l.leases.Range(func(any, any) bool { n++; return true })
	return n
}
