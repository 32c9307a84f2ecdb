package sending

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/campaigns"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/emailsend"
	"github.com/leadpilot/leadpilot/internal/smtptest"
	"github.com/leadpilot/leadpilot/internal/testkit"
	"github.com/leadpilot/leadpilot/internal/unsubscribe"
)

// BenchmarkSend is issue 10's load test: SEND_BENCH_LEADS (default
// 100,000) approved leads of one campaign with the real three-step
// sequence, across 100 email accounts that all point at one SMTP sink,
// are activated through the engine (Schedule, timed on its own: the
// activation-s metric); then the clock moves past the window's spread and
// the timed part runs as the worker does: the dispatcher (Dispatch in a
// loop: one claim statement per ClaimLimit messages, one task per mailbox
// batch) feeding an in-memory queue, and W workers (SEND_BENCH_WORKERS,
// default 2×GOMAXPROCS) each taking a task and calling SendBatch (claim in
// one transaction, send over the pool's kept-open SMTP connections,
// record in one transaction, step 2 scheduled in the thread), until every
// step 1 is sent. The caps are lifted by configuration
// (Options.IgnoreCaps), the mailboxes keep their real daily limit.
//
// The sink is SEND_BENCH_SMTP (host:port; `make bench-sending` passes
// Postfix's smtp-sink, the same sink it measures smtp-source against),
// else internal/smtptest in-process with Discard. One op is one whole run
// (the script passes -benchtime 1x). It fails unless every message is
// sent exactly once: the engine saw N Sent outcomes and no other, the
// database has N sent step-1 messages for N distinct leads, and, with the
// in-process sink, the sink accepted N messages for N distinct recipients
// (each lead has its own address).
//
// Metrics: msgs/s (timed part), cpu-us/msg (this process's user+sys,
// getrusage, over N: the engine, and the in-process sink when there is
// one), host-cpu-us/msg (every process on the host, /proc/stat: adds
// Postgres and the sink; noisy when something else runs), peak-rss-MB
// (VmHWM of the timed part: reset after the activation, which is the API
// process's work, not the worker's), pg-cpu-us/msg (the CPU of the
// Postgres backends of the benchmark's database, from /proc: Postgres on
// this host) and activation-s.
//
// Tuning and diagnosis: SEND_BENCH_CLAIM_LIMIT and SEND_BENCH_BATCH_SIZE
// set Options.ClaimLimit and BatchSize; SEND_BENCH_CPUPROFILE=file writes
// a CPU profile of the timed part; SEND_BENCH_LOGSQL=1 makes Postgres log
// every statement of the benchmark's database with its duration (and
// auto_explain the plans of those over 30 ms) in the server's log;
// SEND_BENCH_HOT=1 logs, after the run, how many updates of messages,
// leads, sequences and email_accounts were heap-only (HOT);
// SEND_BENCH_SQL runs its statements as the database's owner before the
// benchmark writes its rows (a what-if: an index or constraint dropped, a setting);
// SEND_BENCH_CAPS=1 keeps every cap on, set too high to hold anything
// back (and the mailboxes' daily limit with them): the bookkeeping of the
// production configuration.
func BenchmarkSend(b *testing.B) {
	n := envInt(b, "SEND_BENCH_LEADS", 100000)
	workers := envInt(b, "SEND_BENCH_WORKERS", 2*runtime.GOMAXPROCS(0))
	const accounts = 100
	sink := newBenchSink(b)
	b.ResetTimer()
	b.StopTimer()
	var total benchRun
	for range b.N {
		total.add(runSendBench(b, sink, n, accounts, workers))
	}
	secs := total.elapsed.Seconds()
	msgs := float64(total.msgs)
	b.ReportMetric(msgs/secs, "msgs/s")
	b.ReportMetric(float64(total.cpu.Microseconds())/msgs, "cpu-us/msg")
	b.ReportMetric(float64(total.hostCPU.Microseconds())/msgs, "host-cpu-us/msg")
	b.ReportMetric(float64(total.pgCPU.Microseconds())/msgs, "pg-cpu-us/msg")
	b.ReportMetric(float64(total.peakRSS)/(1<<20), "peak-rss-MB")
	b.ReportMetric(total.activation.Seconds()/float64(b.N), "activation-s")
	b.ReportMetric(0, "ns/op")
	b.Logf("%d messages, %d accounts, %d workers, sink %s: %.0f msgs/s, %.1f µs CPU/msg in this process, %.1f in its Postgres backends (%.1f on the whole host), peak RSS %.1f MB, activation %.1fs",
		total.msgs, accounts, workers, sink.name, msgs/secs, float64(total.cpu.Microseconds())/msgs,
		float64(total.pgCPU.Microseconds())/msgs, float64(total.hostCPU.Microseconds())/msgs, float64(total.peakRSS)/(1<<20), total.activation.Seconds()/float64(b.N))
}

// benchRun is what one run measured.
type benchRun struct {
	msgs                int
	elapsed, activation time.Duration
	cpu, hostCPU, pgCPU time.Duration
	peakRSS             int64
}

func (r *benchRun) add(o benchRun) {
	r.msgs += o.msgs
	r.elapsed += o.elapsed
	r.activation += o.activation
	r.cpu += o.cpu
	r.hostCPU += o.hostCPU
	r.pgCPU += o.pgCPU
	r.peakRSS = max(r.peakRSS, o.peakRSS)
}

// benchSink is the SMTP server every account points at.
type benchSink struct {
	name string
	host string
	port int
	srv  *smtptest.Server // nil for an outside sink

	mu   sync.Mutex
	rcpt map[string]int // recipients of accepted messages (in-process sink)
}

func newBenchSink(b *testing.B) *benchSink {
	s := &benchSink{rcpt: map[string]int{}}
	if addr := os.Getenv("SEND_BENCH_SMTP"); addr != "" {
		host, port, err := net.SplitHostPort(addr)
		require.NoError(b, err, "SEND_BENCH_SMTP is host:port")
		s.name, s.host = addr, host
		s.port, err = strconv.Atoi(port)
		require.NoError(b, err)
		return s
	}
	s.srv = smtptest.Start(b, smtptest.Options{Discard: true, Data: func(_ *smtp.Conn, to string) error {
		s.mu.Lock()
		s.rcpt[to]++
		s.mu.Unlock()
		return nil
	}})
	s.name, s.host, s.port = "smtptest (in-process) "+s.srv.Addr, s.srv.Host, s.srv.Port
	return s
}

func (s *benchSink) EmailTransport(context.Context, uuid.UUID, uuid.UUID) (EmailTransport, error) {
	return EmailTransport{SMTP: emailsend.Account{Host: s.host, Port: s.port, TLS: emailsend.TLSNone, HelloName: "bench.test"}}, nil
}

func (*benchSink) SandboxDeliver(context.Context, uuid.UUID, uuid.UUID, []byte) error {
	return fmt.Errorf("no sandbox in the benchmark")
}

// countingChannel counts what the channel answered.
type countingChannel struct {
	Channel
	sent, other atomic.Int64
}

func (c *countingChannel) Send(ctx context.Context, org, account uuid.UUID, msgs []Outgoing) []Outcome {
	out := c.Channel.Send(ctx, org, account, msgs)
	for _, o := range out {
		if o.Result == Sent {
			c.sent.Add(1)
		} else {
			c.other.Add(1)
		}
	}
	return out
}

// chanQueue is the in-memory task queue: the Enqueuer the dispatcher
// fills and the workers drain.
type chanQueue chan task

func (q chanQueue) EnqueueSend(ctx context.Context, org, account uuid.UUID, ids []uuid.UUID) error {
	select {
	case q <- task{org, account, append([]uuid.UUID(nil), ids...)}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runSendBench sets up one organisation with n leads and runs them
// through; only the dispatch and send part is timed.
func runSendBench(b *testing.B, sink *benchSink, n, accounts, workers int) benchRun {
	ctx := context.Background()
	owner := testkit.OwnerDB(b)
	if os.Getenv("SEND_BENCH_LOGSQL") != "" {
		for _, set := range []string{"log_min_duration_statement = 0", "session_preload_libraries = 'auto_explain'",
			"auto_explain.log_min_duration = '30ms'", "auto_explain.log_analyze = on", "auto_explain.log_nested_statements = on"} {
			_, err := owner.Pool.Exec(ctx, `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET `+strings.ReplaceAll(set, "'", "''")+`', current_database()); END $$`)
			require.NoError(b, err)
		}
	}
	db := testkit.DB(b)
	exec := func(sql string, args ...any) {
		b.Helper()
		_, err := owner.Pool.Exec(ctx, sql, args...)
		require.NoError(b, err)
	}
	count := func(sql string, args ...any) int {
		b.Helper()
		var c int
		require.NoError(b, owner.Pool.QueryRow(ctx, sql, args...).Scan(&c))
		return c
	}

	org, user := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	exec(`WITH o AS (INSERT INTO organizations (id, name, slug, business_context) VALUES ($1, 'Bench Co', $3,
			'{"sender_name": "Sam Sender", "postal_address": "1 Market St, Springfield", "company_name": "Bench Co"}') RETURNING id),
		     u AS (INSERT INTO users (id, email, password_hash) VALUES ($2, $4, 'x') RETURNING id)
		INSERT INTO memberships (id, org_id, user_id, role) SELECT $5, o.id, u.id, 'owner' FROM o, u`,
		org, user, "bench-"+org.String(), "bench-"+org.String()+"@example.com", uuid.Must(uuid.NewV7()))
	actor := access.Actor{OrgID: org, UserID: user, Role: access.RoleOwner}
	if sql := os.Getenv("SEND_BENCH_SQL"); sql != "" { // a what-if on the schema, before the benchmark's rows are written
		exec(sql)
	}
	signer, err := unsubscribe.NewSigner([]byte(strings.Repeat("k", 32)))
	require.NoError(b, err)
	start0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	if os.Getenv("SEND_BENCH_CAPS") != "" {
		// A day before the real time: the timed part runs at the real
		// time, which is what the database stamps claims with.
		start0 = time.Now().Add(-24 * time.Hour).Truncate(time.Second)
	}
	clk := testkit.NewClock(start0)
	q := make(chanQueue, 1<<14)
	pool := emailsend.NewPool(emailsend.PoolOptions{})
	defer pool.Close()
	ch := &countingChannel{Channel: EmailChannel{Pool: pool, Transports: sink}}
	// SEND_BENCH_CAPS=1 keeps the caps on, each set too high to hold
	// anything back: what their bookkeeping costs (the mailbox budget, the
	// counts per recipient domain, sending domain and campaign).
	caps := os.Getenv("SEND_BENCH_CAPS") != ""
	dailyLimit, capsOpts := 50, Options{IgnoreCaps: true}
	if caps {
		dailyLimit = 10 * n
		capsOpts = Options{MinGap: -1, RecipientDomainDaily: 10 * n, SendingDomainHourly: 10 * n, CampaignNewLeadsDaily: 10 * n}
	}
	eng := New(db, map[string]Channel{"email": ch}, q, signer, Options{Now: clk.Now, IgnoreCaps: capsOpts.IgnoreCaps, MinGap: capsOpts.MinGap,
		RecipientDomainDaily: capsOpts.RecipientDomainDaily, SendingDomainHourly: capsOpts.SendingDomainHourly, CampaignNewLeadsDaily: capsOpts.CampaignNewLeadsDaily,
		ClaimLimit: envInt(b, "SEND_BENCH_CLAIM_LIMIT", 0), BatchSize: envInt(b, "SEND_BENCH_BATCH_SIZE", 0),
		UnsubscribeBase: "https://app.test/u", UnsubscribeMailbox: "unsubscribe@app.test", Logger: slog.New(slog.DiscardHandler)})
	camps := campaigns.NewService(db)
	camps.OnTransition(eng.OnTransition)
	all := []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
	c, err := camps.Create(ctx, actor, campaigns.Create{Name: "Bench", Source: "manual", Settings: campaigns.SettingsPatch{
		SequenceLength: ptr(3), DelayBetweenStepsDays: &[]int{0, 2, 3}, SendWindowStart: ptr("00:00"), SendWindowEnd: ptr("23:59"),
		SendDays: &all, Timezone: ptr("UTC")}})
	require.NoError(b, err)
	// 100 mailboxes with a real daily limit (lifted by IgnoreCaps), all on
	// the sink; the leads and their approved sequences in bulk.
	exec(`INSERT INTO email_accounts (id, org_id, email_address, display_name, provider, smtp_host, smtp_port, daily_send_limit, warmup_enabled, connection_status)
		SELECT gen_random_uuid(), $1, 'sender' || i || '@bench.test', 'Sam Sender', 'custom', $2, $3, $5, false, 'connected'
		FROM generate_series(1, $4) i`, org, sink.host, sink.port, accounts, dailyLimit)
	exec(`INSERT INTO campaign_email_accounts (org_id, campaign_id, email_account_id) SELECT org_id, $2, id FROM email_accounts WHERE org_id = $1`, org, c.ID)
	exec(`INSERT INTO leads (id, org_id, campaign_id, email, first_name, last_name, company, is_approved)
		SELECT gen_random_uuid(), $1, $2, 'lead' || i || '@globex' || (i % 97) || '.test', 'Ana' || i, 'Lopez', 'Globex ' || (i % 1000), true
		FROM generate_series(1, $3) i`, org, c.ID, n)
	exec(`INSERT INTO sequences (id, org_id, campaign_id, lead_id, steps, is_approved, approved_at)
		SELECT gen_random_uuid(), org_id, campaign_id, id, $3, true, now() FROM leads WHERE org_id = $1 AND campaign_id = $2`, org, c.ID,
		`[{"step":1,"delay_days":0,"channel":"email","subject":"Quick idea for {{company}}","body":"Hi {{first_name}},\n\nI noticed {{company}} still reconciles invoices by hand. We built a tool that does it in a minute, and teams like yours save a day a week with it.\n\nWorth a short call next week?"},
		  {"step":2,"delay_days":2,"channel":"email","body":"Any thoughts, {{first_name}}?"},
		  {"step":3,"delay_days":3,"channel":"email","subject":"Last note","body":"I will leave it here."}]`)
	exec(`ANALYZE leads; ANALYZE sequences; ANALYZE email_accounts`)

	start := time.Now()
	_, err = camps.Transition(ctx, actor, c.ID, campaigns.ActionActivate)
	require.NoError(b, err)
	activation := time.Since(start)
	require.Equal(b, n, count(`SELECT count(*) FROM messages WHERE org_id = $1 AND status = 'scheduled'`, org))
	exec(`ANALYZE messages`)
	clk.Add(24 * time.Hour) // past the spread over the day's window

	// The worker's part: its peak memory from here on.
	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS(b)
	// Open the whole pool, so its backends are known (what bun's database/sql
	// keeps idle is open already and cannot be acquired: stop there).
	var warm []*pgxpool.Conn
	for range db.Pool.Config().MaxConns {
		actx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		c, err := db.Pool.Acquire(actx)
		cancel()
		if err != nil {
			break
		}
		warm = append(warm, c)
	}
	for _, c := range warm {
		c.Release()
	}
	pgPIDs := backendPIDs(b, owner)
	cpu0, host0, pg0 := processCPU(), hostCPU(b), pidsCPU(pgPIDs)
	stopProfile := func() {}
	if path := os.Getenv("SEND_BENCH_CPUPROFILE"); path != "" { // the timed part only
		f, err := os.Create(path)
		require.NoError(b, err)
		require.NoError(b, pprof.StartCPUProfile(f))
		stopProfile = func() { pprof.StopCPUProfile(); _ = f.Close() }
	}
	b.StartTimer()
	start = time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range q {
				if err := eng.SendBatch(ctx, t.org, t.account, t.ids); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for {
		claimed, err := eng.Dispatch(ctx)
		require.NoError(b, err)
		if claimed == 0 {
			break
		}
	}
	close(q)
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	stopProfile()
	run := benchRun{msgs: n, elapsed: elapsed, activation: activation, cpu: processCPU() - cpu0, hostCPU: hostCPU(b) - host0,
		pgCPU: pidsCPU(pgPIDs) - pg0, peakRSS: peakRSS(b)}

	if os.Getenv("SEND_BENCH_HOT") != "" { // diagnosis: how many updates were heap-only
		time.Sleep(11 * time.Second) // an idle backend flushes its table statistics within 10 s
		var upd, hot int
		for _, table := range []string{"messages", "leads", "sequences", "email_accounts"} {
			require.NoError(b, owner.Pool.QueryRow(ctx, `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = $1`, table).Scan(&upd, &hot))
			b.Logf("%s: %d updates, %d HOT", table, upd, hot)
		}
	}
	require.EqualValues(b, n, ch.sent.Load(), "every message accepted by the sink")
	require.Zero(b, ch.other.Load(), "no failure, retry or uncertain outcome")
	require.Equal(b, n, count(`SELECT count(*) FROM messages WHERE org_id = $1 AND step = 1 AND status = 'sent'`, org))
	require.Equal(b, n, count(`SELECT count(DISTINCT lead_id) FROM messages WHERE org_id = $1 AND step = 1 AND status = 'sent'`, org))
	require.Equal(b, n, count(`SELECT count(*) FROM messages WHERE org_id = $1 AND step = 2 AND status = 'scheduled'`, org),
		"every sent step 1 scheduled its step 2")
	require.Equal(b, n, count(`SELECT count(*) FROM leads WHERE org_id = $1 AND status = 'contacted'`, org))
	if sink.srv != nil {
		sink.mu.Lock()
		dups, distinct := 0, 0
		for to, k := range sink.rcpt {
			if strings.HasSuffix(to, ".test") && strings.HasPrefix(to, "lead") {
				distinct++
				dups += k - 1
			}
		}
		clear(sink.rcpt)
		sink.mu.Unlock()
		require.Zero(b, dups, "a lead received its first step twice")
		require.Equal(b, n, distinct, "the sink accepted one message per lead")
	}
	conns := ""
	if sink.srv != nil {
		conns = fmt.Sprintf(", %d SMTP connections opened", sink.srv.Connections())
	}
	b.Logf("run: %d sent in %s (%.0f/s)%s", n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), conns)
	return run
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" || v == "0" {
		return def
	}
	n, err := strconv.Atoi(v)
	require.NoError(b, err, name)
	require.Positive(b, n, name)
	return n
}

// processCPU is this process's user+system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// hostCPU is the CPU time every process on the host has used (the busy
// columns of /proc/stat's cpu line, in clock ticks of 10 ms).
func hostCPU(b *testing.B) time.Duration {
	f, err := os.Open("/proc/stat")
	require.NoError(b, err)
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	require.NoError(b, err)
	fields := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	var ticks int64
	for i, f := range fields[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest time is already in user
			break
		}
		v, err := strconv.ParseInt(f, 10, 64)
		require.NoError(b, err)
		ticks += v
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// backendPIDs are the Postgres backends connected to the benchmark's
// database (the engine's pool, opened by now).
func backendPIDs(b *testing.B, owner *database.DB) []int {
	var pids []int
	rows, err := owner.Pool.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	require.NoError(b, err)
	defer rows.Close()
	for rows.Next() {
		var pid int
		require.NoError(b, rows.Scan(&pid))
		pids = append(pids, pid)
	}
	require.NoError(b, rows.Err())
	return pids
}

// pidsCPU is the user+system CPU time of processes pids (those gone or
// unreadable count 0: Postgres on another host gives no figure).
func pidsCPU(pids []int) time.Duration {
	var ticks int64
	for _, pid := range pids {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(raw)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // state is fields[0]; utime, stime are 14th, 15th of the line
		u, _ := strconv.ParseInt(fields[11], 10, 64)
		st, _ := strconv.ParseInt(fields[12], 10, 64)
		ticks += u + st
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// resetPeakRSS resets VmHWM (writing 5 to clear_refs, Linux ≥ 4.0).
func resetPeakRSS(b *testing.B) {
	f, err := os.OpenFile("/proc/self/clear_refs", os.O_WRONLY, 0)
	require.NoError(b, err)
	defer f.Close()
	_, err = io.WriteString(f, "5")
	require.NoError(b, err)
}

// peakRSS is VmHWM in bytes.
func peakRSS(b *testing.B) int64 {
	raw, err := os.ReadFile("/proc/self/status")
	require.NoError(b, err)
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			require.NoError(b, err)
			return kb << 10
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}
