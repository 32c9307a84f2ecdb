package inbox_test

import (
	"context"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/imapsync"
	"github.com/leadpilot/leadpilot/internal/imaptest"
	"github.com/leadpilot/leadpilot/internal/inbox"
	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/llm/builtin"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

const benchMessages = 10000

// BenchmarkSync is issue 11's sync goal: the initial sync of a
// 10,000-message mailbox (the mix of the 10,000-message test: replies in
// the thread and by address, out-of-office replies, bounces, complaints,
// strangers' mail) from the in-process IMAP server through SyncMailbox
// with its default options (runs of 2,000 in batches of 200, each batch
// parsed, matched, stored, threaded and acted on in one transaction),
// run after run until it has read everything, as the worker does. Each
// op is a fresh organisation (its first sync) with the same 20,000 leads
// sent step 1, reading the same mailbox.
//
// The baseline, from the same op: the same 10,000 messages fetched by
// imapsync.Sync alone (same Since, batches and runs) with a sink that
// only counts: what the IMAP part costs, the pipeline's ceiling.
//
// Metrics: msgs/s, baseline-msgs/s and ratio (msgs/s over the
// baseline's). INBOX_BENCH_CPUPROFILE=file writes a CPU profile of the
// pipeline part. The issue asks for 500 msgs/s.
func BenchmarkSync(b *testing.B) {
	ctx := context.Background()
	db, owner := testkit.DB(b), testkit.OwnerDB(b)
	srv := imaptest.Start(b)
	leads, sentIDs := leadSet(bulkLeads)
	c := newMailGen(b, 1, bulkAt, "sam@send.test").corpus(benchMessages, leads, sentIDs)
	appendAll(b, srv, c.msgs, bulkAt)
	prof := &profile{b: b}
	defer prof.stop()
	stats := newSQLStats(b, db)

	var pipeline, bare time.Duration
	for b.Loop() {
		w := newBulk(b, db, owner, srv, leads, sentIDs)
		opts := inbox.SyncOptions{}
		prof.start()
		stats.set(true)
		start := time.Now()
		stored, runs := 0, 0
		for more := true; more; runs++ {
			res, err := w.inbox.SyncMailbox(ctx, w.boxes, w.actor.OrgID, w.account, opts)
			require.NoError(b, err)
			require.NoError(b, res.Err)
			require.False(b, res.Skipped)
			stored += res.Stored
			more = res.More
		}
		pipeline += time.Since(start)
		prof.stop()
		stats.set(false)
		require.Equal(b, benchMessages, stored)
		var n int
		require.NoError(b, owner.Pool.QueryRow(ctx, `SELECT count(DISTINCT message_id) FROM inbox_messages WHERE org_id = $1`, w.actor.OrgID).Scan(&n))
		require.Equal(b, benchMessages, n, "every message stored once")

		// Baseline: the IMAP part alone, the same runs and batches.
		cfg, err := w.boxes.IMAP(ctx, w.actor.OrgID, w.account)
		require.NoError(b, err)
		since := bulkAt.Add(-14 * 24 * time.Hour)
		start = time.Now()
		st, got := imapsync.State{}, 0
		for more := true; more; {
			res, err := imapsync.Sync(ctx, cfg, st, imapsync.Options{Since: since, BatchSize: 200, MaxMessages: 2000},
				func(_ context.Context, bt imapsync.Batch) error {
					got += len(bt.Messages)
					return nil
				})
			require.NoError(b, err)
			st, more = res.State, res.More
		}
		bare += time.Since(start)
		require.Equal(b, benchMessages, got)
		b.Logf("sync: %d messages in %d runs: %s (%.0f msgs/s); IMAP alone %.0f msgs/s", stored, runs,
			pipeline.Round(time.Millisecond), float64(benchMessages)/pipeline.Seconds(), float64(benchMessages)/bare.Seconds())
	}
	rate, base := float64(benchMessages*b.N)/pipeline.Seconds(), float64(benchMessages*b.N)/bare.Seconds()
	b.ReportMetric(rate, "msgs/s")
	b.ReportMetric(base, "baseline-msgs/s")
	b.ReportMetric(rate/base, "ratio")
	b.ReportMetric(0, "ns/op")
	stats.log(b)
	b.Logf("initial sync of %d messages: %.0f msgs/s through SyncMailbox; IMAP fetch alone %.0f msgs/s; ratio %.3f (goal >= 500 msgs/s)",
		benchMessages, rate, base, rate/base)
}

// BenchmarkClassify is issue 11's classification goal: Classify with
// the built-in provider over 10,000 stored replies (people's replies of
// the mix: in the thread, by address, strangers'), as the classification
// job gets them: the ids one ingest batch queued, 200 a call. Each call
// loads its messages with the ones they answer, classifies, and stores
// the classes with what follows (lead status, events, notifications of
// interest, unsubscribes, thread classes) in one transaction. Before each
// op the replies are made unclassified again.
//
// The baseline, from the same op: the same 10,000 builtin.ClassifyReply
// calls made directly with the same inputs (the provider's ceiling).
// Metrics: replies/s, baseline-replies/s and ratio. The issue asks for
// 5,000 replies/s. INBOX_BENCH_CPUPROFILE=file profiles the Classify part.
// classifyConcurrency is how many classification tasks the benchmark runs at
// once, as a worker does.
const classifyConcurrency = 4

func BenchmarkClassify(b *testing.B) {
	ctx := context.Background()
	db, owner := testkit.DB(b), testkit.OwnerDB(b)
	leads, sentIDs := leadSet(bulkLeads)
	w := newBulk(b, db, owner, imaptest.Start(b), leads, sentIDs)
	org := w.actor.OrgID
	c := newMailGen(b, 2, bulkAt, "sam@send.test").corpusOf(benchMessages, leads, sentIDs, []mixCategory{mixThreaded, mixByAddress, mixStranger})
	var batches [][]uuid.UUID
	for lo := 0; lo < len(c.msgs); lo += 200 {
		in := make([]inbox.Incoming, 0, 200)
		for _, raw := range c.msgs[lo:min(lo+200, len(c.msgs))] {
			in = append(in, inbox.Incoming{Raw: raw, ReceivedAt: bulkAt})
		}
		res, err := w.inbox.Ingest(ctx, org, w.account, in, nil)
		require.NoError(b, err)
		require.Len(b, res.ToClassify, len(in))
		batches = append(batches, res.ToClassify)
	}
	w.classify.take()

	// The baseline's inputs: what Classify gives the provider.
	type input struct {
		reply llm.Reply
		orig  *llm.Original
	}
	var inputs []input
	rows, err := owner.Pool.Query(ctx, `SELECT i.from_address, i.subject, i.clean_text, i.body_text, i.snippet, m.subject, m.body_text
		FROM inbox_messages i LEFT JOIN messages m ON m.org_id = i.org_id AND m.id = i.outbound_message_id
		WHERE i.org_id = $1 AND i.kind = 'reply' ORDER BY i.id`, org)
	require.NoError(b, err)
	for rows.Next() {
		var from string
		var subj, clean, text, snippet, osubj, obody *string
		require.NoError(b, rows.Scan(&from, &subj, &clean, &text, &snippet, &osubj, &obody))
		in := input{reply: llm.Reply{From: from, Subject: deref(subj)}}
		switch {
		case clean != nil && strings.TrimSpace(*clean) != "":
			in.reply.Body = *clean
		case text != nil:
			in.reply.Body = *text
		default:
			in.reply.Body = deref(snippet)
		}
		if obody != nil {
			in.orig = &llm.Original{Subject: deref(osubj), Body: *obody}
		}
		inputs = append(inputs, in)
	}
	require.NoError(b, rows.Err())
	require.Len(b, inputs, benchMessages)
	prof := &profile{b: b}
	defer prof.stop()
	stats := newSQLStats(b, db)

	var pipeline, direct time.Duration
	for b.Loop() {
		_, err := owner.Pool.Exec(ctx, `UPDATE inbox_messages SET classification = NULL, classification_confidence = NULL, classification_reason = NULL,
			classification_provider = NULL, classified_at = NULL WHERE org_id = $1 AND kind = 'reply'`, org)
		require.NoError(b, err)
		prof.start()
		stats.set(true)
		start := time.Now()
		// As the worker runs it: classification tasks of 200 taken by
		// classifyConcurrency workers at once (the worker runs up to
		// WORKER_CONCURRENCY tasks in all).
		var classifiedN atomic.Int64
		var wg sync.WaitGroup
		next := make(chan []uuid.UUID)
		errs := make(chan error, classifyConcurrency)
		for range classifyConcurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ids := range next {
					res, err := w.inbox.Classify(ctx, org, ids)
					if err != nil {
						errs <- err
						return
					}
					classifiedN.Add(int64(res.Classified))
				}
			}()
		}
		for _, ids := range batches {
			next <- ids
		}
		close(next)
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(b, err)
		}
		classified := int(classifiedN.Load())
		pipeline += time.Since(start)
		prof.stop()
		stats.set(false)
		require.Equal(b, benchMessages, classified)

		// Baseline: the provider alone.
		p := builtin.New()
		start = time.Now()
		for _, in := range inputs {
			_, err := p.ClassifyReply(ctx, in.reply, in.orig)
			require.NoError(b, err)
		}
		direct += time.Since(start)
	}
	var byClass []string
	rows, err = owner.Pool.Query(ctx, `SELECT coalesce(classification, 'none') || ' ' || count(*) FROM inbox_messages WHERE org_id = $1 AND kind = 'reply' GROUP BY classification ORDER BY classification`, org)
	require.NoError(b, err)
	for rows.Next() {
		var s string
		require.NoError(b, rows.Scan(&s))
		byClass = append(byClass, s)
	}
	require.NoError(b, rows.Err())
	rate, base := float64(benchMessages*b.N)/pipeline.Seconds(), float64(benchMessages*b.N)/direct.Seconds()
	b.ReportMetric(rate, "replies/s")
	b.ReportMetric(base, "baseline-replies/s")
	b.ReportMetric(rate/base, "ratio")
	b.ReportMetric(0, "ns/op")
	stats.log(b)
	b.Logf("classification of %d replies (%s): %.0f replies/s through Classify; built-in calls alone %.0f/s; ratio %.3f (goal >= 5,000 replies/s)",
		benchMessages, strings.Join(byClass, ", "), rate, base, rate/base)
}

// profile is a CPU profile of the timed part of the first op, into
// INBOX_BENCH_CPUPROFILE when it is set.
type profile struct {
	b                *testing.B
	started, stopped bool
}

func (p *profile) start() {
	path := os.Getenv("INBOX_BENCH_CPUPROFILE")
	if path == "" || p.started {
		return
	}
	p.started = true
	f, err := os.Create(path)
	require.NoError(p.b, err)
	require.NoError(p.b, pprof.StartCPUProfile(f))
	p.b.Cleanup(func() { _ = f.Close() })
}

func (p *profile) stop() {
	if p.started && !p.stopped {
		p.stopped = true
		pprof.StopCPUProfile()
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// sqlStats, with INBOX_BENCH_SQLSTATS=1, times every statement the
// service sends through bun (by its template) while on, and logs the
// costliest: where a pipeline waits on Postgres.
type sqlStats struct {
	mu  sync.Mutex
	on  bool
	agg map[string]*sqlStat
}

type sqlStat struct {
	n     int
	total time.Duration
}

func newSQLStats(b *testing.B, db *database.DB) *sqlStats {
	s := &sqlStats{agg: map[string]*sqlStat{}}
	if os.Getenv("INBOX_BENCH_SQLSTATS") != "" {
		db.Bun.AddQueryHook(s)
	}
	return s
}

func (s *sqlStats) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (s *sqlStats) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.on {
		return
	}
	q := e.QueryTemplate
	if q == "" {
		q = e.Query
	}
	q = strings.Join(strings.Fields(q), " ")
	if len(q) > 110 {
		q = q[:110]
	}
	st := s.agg[q]
	if st == nil {
		st = &sqlStat{}
		s.agg[q] = st
	}
	st.n++
	st.total += time.Since(e.StartTime)
}

func (s *sqlStats) set(on bool) { s.mu.Lock(); s.on = on; s.mu.Unlock() }

func (s *sqlStats) log(b *testing.B) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.agg) == 0 {
		return
	}
	type row struct {
		q string
		sqlStat
	}
	var rows []row
	var total time.Duration
	for q, st := range s.agg {
		rows = append(rows, row{q, *st})
		total += st.total
	}
	slices.SortFunc(rows, func(a, b row) int { return int(b.total - a.total) })
	b.Logf("SQL: %s in all", total.Round(time.Millisecond))
	for _, r := range rows[:min(len(rows), 15)] {
		b.Logf("  %8s %6d x %7.0f µs  %s", r.total.Round(time.Millisecond), r.n, float64(r.total.Microseconds())/float64(r.n), r.q)
	}
}
