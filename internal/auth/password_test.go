package auth

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/argon2"

	"github.com/leadpilot/leadpilot/internal/fault"
)

// phc builds an argon2id PHC string by hand, so tests can vary the
// parameters HashPassword would pick.
func buildPHC(password string, salt []byte, m, t uint32, p uint8, keyLen uint32) string {
	key := argon2.IDKey([]byte(password), salt, t, m, p, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, m, t, p, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// mustHash hashes through the bounded password work.
func mustHash(t *testing.T, password string) string {
	t.Helper()
	h, err := HashPassword(t.Context(), password)
	require.NoError(t, err)
	return h
}

func TestHashPassword(t *testing.T) {
	t.Parallel()

	t.Run("HashVerifiesTheSamePassword", func(t *testing.T) {
		t.Parallel()
		hash := mustHash(t, "correct horse battery staple")
		ok, err := VerifyPassword(t.Context(), hash, "correct horse battery staple")
		require.NoError(t, err)
		require.True(t, ok)
	})
	t.Run("HashRejectsAWrongPasswordWithoutError", func(t *testing.T) {
		t.Parallel()
		hash := mustHash(t, "correct horse battery staple")
		for _, wrong := range []string{"", "correct horse battery stapl", "Correct horse battery staple", "correct horse battery staple "} {
			ok, err := VerifyPassword(t.Context(), hash, wrong)
			require.NoError(t, err, "password %q", wrong)
			require.False(t, ok, "password %q", wrong)
		}
	})
	t.Run("TwoHashesOfOnePasswordDifferBySalt", func(t *testing.T) {
		t.Parallel()
		a, b := mustHash(t, "same password"), mustHash(t, "same password")
		require.NotEqual(t, a, b)
		require.NotEqual(t, strings.Split(a, "$")[4], strings.Split(b, "$")[4], "salts must differ")
	})
	t.Run("HashIsAPHCStringWithTheOWASPParameters", func(t *testing.T) {
		t.Parallel()
		hash := mustHash(t, "p4ssw0rd-long-enough")
		// 16-byte salt and 32-byte key in unpadded standard base64.
		re := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
		require.Regexp(t, re, hash)
	})
	t.Run("DummyHashIsAValidHash", func(t *testing.T) {
		t.Parallel()
		ok, err := VerifyPassword(t.Context(), dummyHash, "leadpilot-timing-equaliser")
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = VerifyPassword(t.Context(), dummyHash, "anything a user might type")
		require.NoError(t, err)
		require.False(t, ok)
		require.True(t, strings.HasPrefix(dummyHash, "$argon2id$v=19$m=19456,t=2,p=1$"), dummyHash)
	})
}

func TestVerifyPassword(t *testing.T) {
	t.Parallel()
	salt := []byte("0123456789abcdef")

	t.Run("ParametersComeFromTheHash", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			m, t   uint32
			p      uint8
			keyLen uint32
		}{
			{m: 64, t: 1, p: 1, keyLen: 32},
			{m: 256, t: 3, p: 2, keyLen: 32},
			{m: 128, t: 1, p: 1, keyLen: 16},
			{m: 32 * 1024, t: 1, p: 1, keyLen: 64},
		} {
			hash := buildPHC("hunter2-hunter2", salt, tc.m, tc.t, tc.p, tc.keyLen)
			ok, err := VerifyPassword(t.Context(), hash, "hunter2-hunter2")
			require.NoError(t, err, hash)
			require.True(t, ok, hash)
			ok, err = VerifyPassword(t.Context(), hash, "hunter3-hunter3")
			require.NoError(t, err, hash)
			require.False(t, ok, hash)
		}
	})
	t.Run("ParametersAreBoundToTheKey", func(t *testing.T) {
		t.Parallel()
		// Rewriting the encoded parameters of a valid hash must not verify:
		// the key was derived with the original ones.
		hash := buildPHC("hunter2-hunter2", salt, 64, 1, 1, 32)
		forged := strings.Replace(hash, "m=64,t=1,p=1", "m=64,t=2,p=1", 1)
		require.NotEqual(t, hash, forged)
		ok, err := VerifyPassword(t.Context(), forged, "hunter2-hunter2")
		require.NoError(t, err)
		require.False(t, ok)
	})

	valid := buildPHC("hunter2-hunter2", salt, 64, 1, 1, 32)
	parts := strings.Split(valid, "$") // "", argon2id, v=19, m=..., salt, key
	join := func(p ...string) string { return strings.Join(p, "$") }
	for name, hash := range map[string]string{
		"RejectsAnEmptyString":           "",
		"RejectsPlainText":               "hunter2-hunter2",
		"RejectsArgon2i":                 join("", "argon2i", parts[2], parts[3], parts[4], parts[5]),
		"RejectsArgon2d":                 join("", "argon2d", parts[2], parts[3], parts[4], parts[5]),
		"RejectsBcrypt":                  "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"RejectsAMissingKey":             join("", parts[1], parts[2], parts[3], parts[4]),
		"RejectsAMissingVersion":         join("", parts[1], parts[3], parts[4], parts[5]),
		"RejectsAnExtraPart":             join("", parts[1], parts[2], parts[3], parts[4], parts[5], "extra"),
		"RejectsAnEmptyKey":              join("", parts[1], parts[2], parts[3], parts[4], ""),
		"RejectsAnOldVersion":            join("", parts[1], "v=16", parts[3], parts[4], parts[5]),
		"RejectsAGarbledVersion":         join("", parts[1], "version=19", parts[3], parts[4], parts[5]),
		"RejectsZeroMemory":              join("", parts[1], parts[2], "m=0,t=1,p=1", parts[4], parts[5]),
		"RejectsZeroTime":                join("", parts[1], parts[2], "m=64,t=0,p=1", parts[4], parts[5]),
		"RejectsZeroThreads":             join("", parts[1], parts[2], "m=64,t=1,p=0", parts[4], parts[5]),
		"RejectsNegativeMemory":          join("", parts[1], parts[2], "m=-64,t=1,p=1", parts[4], parts[5]),
		"RejectsThreadsOverflowingUint8": join("", parts[1], parts[2], "m=64,t=1,p=256", parts[4], parts[5]),
		"RejectsNonNumericParameters":    join("", parts[1], parts[2], "m=x,t=1,p=1", parts[4], parts[5]),
		"RejectsReorderedParameters":     join("", parts[1], parts[2], "t=1,m=64,p=1", parts[4], parts[5]),
		"RejectsBadBase64Salt":           join("", parts[1], parts[2], parts[3], "!!not*base64!!", parts[5]),
		"RejectsBadBase64Key":            join("", parts[1], parts[2], parts[3], parts[4], "!!not*base64!!"),
		"RejectsPaddedBase64Key":         join("", parts[1], parts[2], parts[3], parts[4], parts[5]+"="),
		"RejectsTrailingJunkInParams":    join("", parts[1], parts[2], "m=64,t=1,p=1junk", parts[4], parts[5]),
		"RejectsHugeMemory":              join("", parts[1], parts[2], "m=4294967295,t=1,p=1", parts[4], parts[5]),
		"RejectsHugeTime":                join("", parts[1], parts[2], "m=64,t=1000000,p=1", parts[4], parts[5]),
		"RejectsManyThreads":             join("", parts[1], parts[2], "m=64,t=1,p=200", parts[4], parts[5]),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var (
				ok  bool
				err error
			)
			require.NotPanics(t, func() { ok, err = VerifyPassword(t.Context(), hash, "hunter2-hunter2") })
			require.ErrorIs(t, err, errBadHash)
			require.False(t, ok)
		})
	}
}

func TestHasher(t *testing.T) {
	t.Parallel()
	requireBusy := func(t *testing.T, err error) {
		t.Helper()
		fe, ok := fault.As(err)
		require.True(t, ok, "want a fault, got %v", err)
		require.Equal(t, fault.KindUnavailable, fe.Kind)
		require.Equal(t, "auth_busy", fe.Code)
		require.Positive(t, fe.RetryAfter)
	}
	// occupy runs work in h that blocks until the returned release is
	// called, and returns once the work has started.
	occupy := func(t *testing.T, h *hasher) (release func()) {
		t.Helper()
		started, stop, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() { done <- h.do(t.Context(), func() { close(started); <-stop }) }()
		<-started
		return func() { close(stop); require.NoError(t, <-done) }
	}

	t.Run("AFullHasherWithNoQueueRefusesAtOnce", func(t *testing.T) {
		t.Parallel()
		h := newHasher(1, 0, time.Minute)
		release := occupy(t, h)
		start := time.Now()
		ran := false
		err := h.do(t.Context(), func() { ran = true })
		requireBusy(t, err)
		require.False(t, ran)
		require.Less(t, time.Since(start), 100*time.Millisecond)
		release()
		require.NoError(t, h.do(t.Context(), func() { ran = true }), "a freed slot takes work again")
		require.True(t, ran)
	})
	t.Run("AQueuedCallerGetsTheNextFreeSlot", func(t *testing.T) {
		t.Parallel()
		h := newHasher(1, 1, time.Minute)
		release := occupy(t, h)
		done := make(chan error, 1)
		go func() { done <- h.do(t.Context(), func() {}) }()
		require.Eventually(t, func() bool { return len(h.queue) == 1 }, time.Second, time.Millisecond)
		requireBusy(t, h.do(t.Context(), func() {})) // the queue is full too
		release()
		require.NoError(t, <-done)
	})
	t.Run("AQueuedCallerGivesUpAfterMaxWait", func(t *testing.T) {
		t.Parallel()
		h := newHasher(1, 1, 50*time.Millisecond)
		release := occupy(t, h)
		defer release()
		start := time.Now()
		requireBusy(t, h.do(t.Context(), func() {}))
		require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
		require.Less(t, time.Since(start), time.Second)
		require.Empty(t, h.queue, "the waiter left the queue")
	})
	t.Run("AQueuedCallerStopsWithItsContext", func(t *testing.T) {
		t.Parallel()
		h := newHasher(1, 1, time.Minute)
		release := occupy(t, h)
		defer release()
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		err := h.do(ctx, func() {})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		_, isFault := fault.As(err)
		require.False(t, isFault)
	})
	t.Run("ConcurrencyNeverExceedsTheSlots", func(t *testing.T) {
		t.Parallel()
		h := newHasher(2, 100, time.Minute)
		var running, peak atomic.Int32
		var wg sync.WaitGroup
		for range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				require.NoError(t, h.do(t.Context(), func() {
					n := running.Add(1)
					for {
						p := peak.Load()
						if n <= p || peak.CompareAndSwap(p, n) {
							break
						}
					}
					time.Sleep(2 * time.Millisecond)
					running.Add(-1)
				}))
			}()
		}
		wg.Wait()
		require.Equal(t, int32(2), peak.Load())
	})
}

// TestPasswordWorkIsBounded fills the package's hasher, so it must not run
// in parallel with anything that hashes (no t.Parallel: it runs before
// the parallel tests are released).
func TestPasswordWorkIsBounded(t *testing.T) {
	slots, queue := cap(passwords.slots), cap(passwords.queue)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range slots + queue {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = passwords.do(context.Background(), func() { <-stop })
		}()
	}
	require.Eventually(t, func() bool { return len(passwords.slots) == slots && len(passwords.queue) == queue }, 5*time.Second, time.Millisecond)
	for name, f := range map[string]func() error{
		"HashPassword":   func() error { _, err := HashPassword(t.Context(), "hunter2-hunter2"); return err },
		"VerifyPassword": func() error { _, err := VerifyPassword(t.Context(), dummyHash, "hunter2-hunter2"); return err },
	} {
		start := time.Now()
		fe, ok := fault.As(f())
		require.True(t, ok, name)
		require.Equal(t, fault.KindUnavailable, fe.Kind, name)
		require.Equal(t, "auth_busy", fe.Code, name)
		require.Less(t, time.Since(start), 100*time.Millisecond, "%s refuses at once when slots and queue are full", name)
	}
	close(stop)
	wg.Wait()
	_, err := HashPassword(t.Context(), "hunter2-hunter2")
	require.NoError(t, err, "work is taken again once slots are free")
}
