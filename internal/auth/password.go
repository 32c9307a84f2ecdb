package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/leadpilot/leadpilot/internal/fault"
)

// Argon2id parameters from the OWASP Password Storage Cheat Sheet
// (m=19 MiB, t=2, p=1). They are encoded in every hash, so raising them
// later keeps old hashes verifiable.
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Upper bounds on parameters read from a stored hash (256 MiB, 10 passes,
// 16 lanes): far above what we write, far below what hurts.
const (
	maxArgonMemory  = 256 * 1024
	maxArgonTime    = 10
	maxArgonThreads = 16
)

// MinPasswordLen is the shortest password accepted for a new account.
const MinPasswordLen = 10

var errBadHash = errors.New("auth: malformed password hash")

// Each argon2id run holds argonMemory (19 MiB) and a CPU for tens of
// milliseconds, so unbounded concurrent sign-ins exhaust memory (100 at once
// took the process from 115 MiB to 1.5 GiB) and starve every other request.
// passwords runs at most one hash per CPU but one, leaving a CPU for the
// rest of the API (with every CPU hashing, GET /v1/me's p99 during a
// 100-login burst was two to four times as high on 2 CPUs, 190-270 ms
// against 65-150 ms; see BenchmarkLoginFlood in internal/httpapi). A few
// callers per slot may queue for up to hashMaxWait; the rest are refused at
// once with 503 and Retry-After, which serves everyone better than a long
// queue whose tail times out anyway.
const (
	hashQueuePerSlot = 4
	hashMaxWait      = time.Second
	hashRetryAfter   = 1 // seconds
)

var (
	hashSlots = max(runtime.GOMAXPROCS(0)-1, 1)
	passwords = newHasher(hashSlots, hashQueuePerSlot*hashSlots, hashMaxWait)
)

// errHashBusy is the refusal of password work beyond the bound.
var errHashBusy = fault.Unavailable("auth_busy", "too many sign-ins are being checked right now; retry in a moment", hashRetryAfter)

// hasher is a semaphore for password work with a bounded wait queue.
type hasher struct {
	slots   chan struct{} // one token per running hash
	queue   chan struct{} // one token per caller waiting for a slot
	maxWait time.Duration
}

func newHasher(slots, queue int, maxWait time.Duration) *hasher {
	return &hasher{slots: make(chan struct{}, max(slots, 1)), queue: make(chan struct{}, max(queue, 0)), maxWait: maxWait}
}

// do runs work in a slot: at once if one is free, else after queueing for
// up to maxWait if the queue has room; otherwise it returns errHashBusy.
func (h *hasher) do(ctx context.Context, work func()) error {
	select {
	case h.slots <- struct{}{}:
	default:
		select {
		case h.queue <- struct{}{}:
		default:
			return errHashBusy
		}
		t := time.NewTimer(h.maxWait)
		select {
		case h.slots <- struct{}{}:
			<-h.queue
			t.Stop()
		case <-t.C:
			<-h.queue
			return errHashBusy
		case <-ctx.Done():
			<-h.queue
			t.Stop()
			return fmt.Errorf("auth: wait for password work: %w", ctx.Err())
		}
	}
	defer func() { <-h.slots }()
	work()
	return nil
}

// HashPassword returns a PHC-format argon2id hash. It waits for a slot of
// the bounded password work, or fails with a 503 fault when there is none.
func HashPassword(ctx context.Context, password string) (string, error) {
	var hash string
	if err := passwords.do(ctx, func() { hash = hashPassword(password) }); err != nil {
		return "", err
	}
	return hash, nil
}

func hashPassword(password string) string {
	salt := make([]byte, argonSaltLen)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// VerifyPassword reports whether password matches the hash, in constant
// time. Like HashPassword it runs in the bounded password work and fails
// with a 503 fault when that is full.
func VerifyPassword(ctx context.Context, hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 ||
		fmt.Sprintf("m=%d,t=%d,p=%d", m, t, p) != parts[3] {
		return false, errBadHash
	}
	// A stored hash decides the cost of checking it: cap it, so a corrupt
	// or planted row cannot make one login allocate gigabytes.
	if m > maxArgonMemory || t > maxArgonTime || p > maxArgonThreads {
		return false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errBadHash
	}
	var got []byte
	if err := passwords.do(ctx, func() { got = argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want))) }); err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is verified against when the email is unknown, so a login for
// a missing account costs the same time (and the same slot of password
// work) as a wrong password.
var dummyHash = hashPassword("leadpilot-timing-equaliser")
