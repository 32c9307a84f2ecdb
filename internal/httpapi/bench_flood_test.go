package httpapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadpilot/leadpilot/api"
)

// floodSize is how many sign-ins arrive at once.
const floodSize = 100

// BenchmarkLoginFlood fires floodSize simultaneous POST /v1/auth/login (the
// correct password, so each one runs argon2id and opens a session) while
// other goroutines keep calling GET /v1/me, and samples the process's
// resident memory. It reports, per flood:
//
//   - rss_before_MiB, rss_peak_MiB: VmRSS before the flood and its peak
//     during it (VmHWM after resetting it, or the highest 1 ms sample);
//   - me_p50_base_ms, me_p99_base_ms: GET /v1/me latency with no flood,
//     measured in the same run just before it;
//   - me_p50_flood_ms, me_p99_flood_ms: the same during the flood, and
//     me_p99_ratio, flood p99 over base p99;
//   - logins_200, logins_503: how the sign-ins were answered (503 is the
//     password hasher refusing work beyond its bound).
//
// Server and client share this process, so the RSS is both of theirs (the
// client's share is small and constant). Run: make bench PKG=./internal/httpapi
// (or go test -run '^$' -bench LoginFlood ./internal/httpapi).
func BenchmarkLoginFlood(b *testing.B) {
	bd := setup(b)
	owner := bd.signup(b, "Flood Co")
	body, err := json.Marshal(api.LoginRequest{Email: api.Email(owner.User.Email), Password: password})
	if err != nil {
		b.Fatal(err)
	}
	// Each sign-in gets a connection of its own, as separate clients would.
	loginClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: floodSize, MaxConnsPerHost: 0}}
	meClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	defer loginClient.CloseIdleConnections()
	defer meClient.CloseIdleConnections()

	getMe := func() time.Duration {
		start := time.Now()
		req, _ := http.NewRequest(http.MethodGet, bd.srv.URL+"/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+owner.AccessToken)
		resp, err := meClient.Do(req)
		if err != nil {
			b.Error(err)
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Errorf("GET /v1/me: %d", resp.StatusCode)
		}
		return time.Since(start)
	}
	login := func() int {
		resp, err := loginClient.Post(bd.srv.URL+"/v1/auth/login", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Error(err)
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	// Warm up connections, the pool and the code paths.
	for range 20 {
		getMe()
	}
	if st := login(); st != http.StatusOK {
		b.Fatalf("warm-up login: %d", st)
	}

	var (
		base, flood           []time.Duration
		rssBefore, rssPeak    float64
		ok, unavailable, othr int
		floods                int
	)
	for b.Loop() {
		floods++
		runtime.GC()
		debug.FreeOSMemory()
		before := readStatusKiB("VmRSS")
		rssBefore = max(rssBefore, before)

		// Baseline: the same pollers as during the flood, with no flood.
		base = append(base, pollMe(getMe, 4, func(n int, _ time.Duration) bool { return n < 200 })...)

		hwmReset := resetHWM()
		var peak float64
		sampling := make(chan struct{})
		sampled := make(chan float64)
		go func() {
			p := 0.0
			t := time.NewTicker(time.Millisecond)
			defer t.Stop()
			for {
				p = max(p, readStatusKiB("VmRSS"))
				select {
				case <-sampling:
					sampled <- p
					return
				case <-t.C:
				}
			}
		}()

		var done sync.WaitGroup
		statuses := make([]int, floodSize)
		startGun := make(chan struct{})
		for i := range floodSize {
			done.Add(1)
			go func() {
				defer done.Done()
				<-startGun
				statuses[i] = login()
			}()
		}
		finished := make(chan struct{})
		go func() { done.Wait(); close(finished) }()
		meDuring := make(chan []time.Duration)
		go func() {
			meDuring <- pollMe(getMe, 4, func(_ int, _ time.Duration) bool {
				select {
				case <-finished:
					return false
				default:
					return true
				}
			})
		}()
		close(startGun)
		<-finished
		flood = append(flood, <-meDuring...)
		close(sampling)
		peak = <-sampled
		if hwmReset {
			peak = max(peak, readStatusKiB("VmHWM"))
		}
		rssPeak = max(rssPeak, peak)
		for _, st := range statuses {
			switch st {
			case http.StatusOK:
				ok++
			case http.StatusServiceUnavailable:
				unavailable++
			default:
				othr++
			}
		}
	}
	b.StopTimer()
	if othr > 0 {
		b.Errorf("%d sign-ins answered neither 200 nor 503", othr)
	}
	mib := func(kib float64) float64 { return kib / 1024 }
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b50, b99 := percentile(base, 50), percentile(base, 99)
	f50, f99 := percentile(flood, 50), percentile(flood, 99)
	ratio := ms(f99) / max(ms(b99), 0.001)
	b.ReportMetric(mib(rssBefore), "rss_before_MiB")
	b.ReportMetric(mib(rssPeak), "rss_peak_MiB")
	b.ReportMetric(ms(b50), "me_p50_base_ms")
	b.ReportMetric(ms(b99), "me_p99_base_ms")
	b.ReportMetric(ms(f50), "me_p50_flood_ms")
	b.ReportMetric(ms(f99), "me_p99_flood_ms")
	b.ReportMetric(ratio, "me_p99_ratio")
	b.ReportMetric(float64(ok)/float64(floods), "logins_200")
	b.ReportMetric(float64(unavailable)/float64(floods), "logins_503")
	b.Logf("login flood of %d (x%d, GOMAXPROCS=%d): RSS %.0f MiB before, %.0f MiB peak; GET /v1/me p50/p99 %.1f/%.1f ms with no flood (%d samples), %.1f/%.1f ms during it (%d samples), p99 x%.1f; sign-ins per flood: %.0f answered 200, %.0f answered 503",
		floodSize, floods, runtime.GOMAXPROCS(0), mib(rssBefore), mib(rssPeak), ms(b50), ms(b99), len(base), ms(f50), ms(f99), len(flood), ratio,
		float64(ok)/float64(floods), float64(unavailable)/float64(floods))
}

// pollMe runs workers goroutines calling get back to back while more says
// so, and returns every latency.
func pollMe(get func() time.Duration, workers int, more func(n int, elapsed time.Duration) bool) []time.Duration {
	var (
		mu  sync.Mutex
		out []time.Duration
		wg  sync.WaitGroup
	)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				n := len(out)
				mu.Unlock()
				if !more(n, time.Since(start)) {
					return
				}
				d := get()
				mu.Lock()
				out = append(out, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out
}

// percentile is the nearest-rank p-th percentile.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (p*len(s)+99)/100 - 1
	return s[min(max(i, 0), len(s)-1)]
}

// readStatusKiB reads one "Name:  123 kB" field of /proc/self/status (0
// where there is no such file).
func readStatusKiB(field string) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
		if err != nil {
			return 0
		}
		return v
	}
	return 0
}

// resetHWM resets VmHWM to the current RSS (Linux: write 5 to clear_refs),
// so the next read is this flood's peak; false where that is not possible.
func resetHWM() bool {
	err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	return err == nil
}
