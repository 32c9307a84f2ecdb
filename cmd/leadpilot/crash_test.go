package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/testkit"
)

// childEnv marks a copy of this test binary started as the real service by
// TestKilledServerNeverCreatesTwiceForOneIdempotencyKey.
const childEnv = "LEADPILOT_TEST_CHILD_SERVE"

func init() {
	if os.Getenv(childEnv) != "1" {
		return
	}
	// The child is the production program: `leadpilot serve`, configured
	// by its environment, until it is killed.
	if err := run(context.Background(), []string{"serve"}, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// TestKilledServerNeverCreatesTwiceForOneIdempotencyKey is the crash
// injection test for idempotency: many creates in flight, each with its own
// Idempotency-Key, the server killed with SIGKILL at a random moment among
// them (before a commit, between commit and response, while writing it),
// restarted, and every request retried with its key until answered. Each
// key must end up with exactly one resource, and every answer for one key
// must name the same resource.
func TestKilledServerNeverCreatesTwiceForOneIdempotencyKey(t *testing.T) {
	t.Parallel()
	testkit.Redis(t, 4)
	addr := freeAddr(t)
	base := "http://" + addr
	childVars := []string{
		childEnv + "=1",
		"DATABASE_URL=" + testkit.AppURL(t), "MIGRATE_DATABASE_URL=" + testkit.URL(t),
		"REDIS_URL=" + testkit.RedisURL(t, 4), "HTTP_ADDR=" + addr, "LOG_LEVEL=error",
		"JWT_SECRET=" + strings.Repeat("j", 40), // tokens survive the restart
		"DATA_DIR=" + t.TempDir(),
		"RATE_LIMIT_ORG_PER_SECOND=100000", "RATE_LIMIT_ORG_BURST=100000",
		"AUTH_RATE_LIMIT_IP_PER_MINUTE=100000", "AUTH_RATE_LIMIT_EMAIL_PER_MINUTE=100000",
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir(),
	}
	var stderr syncBuffer
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = childVars
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		require.Eventually(t, func() bool {
			r, err := http.Get(base + "/healthz")
			if err != nil {
				return false
			}
			r.Body.Close()
			return r.StatusCode == http.StatusOK
		}, 60*time.Second, 20*time.Millisecond, "child server did not start: %s", stderr.String())
		return cmd
	}
	child := start()
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })

	client := &http.Client{Timeout: 20 * time.Second}
	post := func(path, tok, key string, body any) (int, map[string]any, error) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			return 0, nil, err
		}
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		return resp.StatusCode, out, nil
	}
	code, sess, err := post("/v1/auth/signup", "", "", map[string]string{
		"email": "crash-" + fmt.Sprint(time.Now().UnixNano()) + "@example.com", "password": "correct horse battery",
		"full_name": "Crash Test", "org_name": "Crash Co",
	})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, code, "%v", sess)
	tok := sess["access_token"].(string)
	orgID := sess["organization"].(map[string]any)["id"].(string)
	owner := testkit.OwnerDB(t)
	// Only verified users create API keys; the address is proven here as a fixture.
	_, err = owner.Pool.Exec(context.Background(), `UPDATE users SET email_verified_at = now() WHERE id = $1`, sess["user"].(map[string]any)["id"])
	require.NoError(t, err)

	const rounds, perRound = 3, 60
	created := map[string]string{} // Idempotency-Key -> api key id, from answers
	var mu sync.Mutex
	record := func(key string, out map[string]any) {
		mu.Lock()
		defer mu.Unlock()
		id, _ := out["id"].(string)
		require.NotEmpty(t, id, "%v", out)
		if prev, ok := created[key]; ok {
			require.Equal(t, prev, id, "two answers for key %s name different resources", key)
		}
		created[key] = id
	}
	for round := range rounds {
		var answered atomic.Int32
		var wg sync.WaitGroup
		unanswered := make(chan string, perRound)
		for i := range perRound {
			key := fmt.Sprintf("crash-%d-%d", round, i)
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, out, err := post("/v1/api-keys", tok, key, map[string]string{"name": key})
				if err != nil || code != http.StatusCreated {
					unanswered <- key // cut off by the kill (or refused while dying)
					return
				}
				answered.Add(1)
				record(key, out)
			}()
		}
		// Kill once a random share of the requests has been answered, so
		// the others are at every stage of their work.
		killAt := int32(perRound/6 + rand.IntN(perRound/2))
		deadline := time.Now().Add(20 * time.Second)
		for answered.Load() < killAt && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		require.NoError(t, child.Process.Signal(syscall.SIGKILL))
		_ = child.Wait()
		wg.Wait()
		close(unanswered)
		child = start()

		retried := 0
		for key := range unanswered {
			retried++
			require.Eventually(t, func() bool {
				code, out, err := post("/v1/api-keys", tok, key, map[string]string{"name": key})
				if err != nil || code != http.StatusCreated {
					return false
				}
				record(key, out)
				return true
			}, 30*time.Second, 50*time.Millisecond, "retry of %s", key)
		}
		t.Logf("round %d: killed after %d answers; %d requests retried after the restart", round, answered.Load(), retried)
	}

	// Exactly one key per Idempotency-Key, and it is the one the answers named.
	rows, err := owner.Pool.Query(context.Background(), `SELECT name, id::text FROM api_keys WHERE org_id = $1`, orgID)
	require.NoError(t, err)
	stored := map[string][]string{}
	for rows.Next() {
		var name, id string
		require.NoError(t, rows.Scan(&name, &id))
		stored[name] = append(stored[name], id)
	}
	require.NoError(t, rows.Err())
	require.Len(t, created, rounds*perRound)
	require.Len(t, stored, rounds*perRound)
	for key, id := range created {
		require.Equal(t, []string{id}, stored[key], "key %s", key)
	}
}
