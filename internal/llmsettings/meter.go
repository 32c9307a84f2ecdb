package llmsettings

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/leadpilot/leadpilot/internal/database"
)

// usageKey is one row of llm_usage_daily.
type usageKey struct {
	org                        uuid.UUID
	day                        string // YYYY-MM-DD, UTC
	provider, model, operation string
}

type usageSum struct {
	calls, errors      int64
	prompt, completion int64
}

// meter writes usage with group commit: a call's usage is added to the
// pending sums and the call waits until a flush that includes it has
// committed, so usage is on disk when the call returns, as before. One
// flusher runs at a time; whatever arrives while it writes goes in its
// next statement. Concurrent calls of one organisation (a generation run,
// a classification backlog) so share one transaction and one row update
// instead of queueing on the same day's row lock one by one.
type meter struct {
	db     *database.DB
	logger *slog.Logger

	mu       sync.Mutex
	pending  map[usageKey]*usageSum
	flushed  chan struct{} // closed when the pending sums have been written
	flushing bool
}

func newMeter(db *database.DB, logger *slog.Logger) *meter {
	return &meter{db: db, logger: logger, pending: map[usageKey]*usageSum{}, flushed: make(chan struct{})}
}

// add records one call and returns when it is written (or its write has
// failed and been logged: usage is bookkeeping and never fails the call).
func (m *meter) add(k usageKey, failed bool, prompt, completion int) {
	m.mu.Lock()
	s := m.pending[k]
	if s == nil {
		s = &usageSum{}
		m.pending[k] = s
	}
	s.calls++
	if failed {
		s.errors++
	}
	s.prompt += int64(prompt)
	s.completion += int64(completion)
	done := m.flushed
	if !m.flushing {
		m.flushing = true
		go m.flush()
	}
	m.mu.Unlock()
	<-done
}

// flush writes the pending sums until none is left.
func (m *meter) flush() {
	for {
		m.mu.Lock()
		if len(m.pending) == 0 {
			m.flushing = false
			m.mu.Unlock()
			return
		}
		batch, done := m.pending, m.flushed
		m.pending, m.flushed = map[usageKey]*usageSum{}, make(chan struct{})
		m.mu.Unlock()
		m.write(batch)
		close(done)
	}
}

// write upserts a batch, one transaction per organisation (each under its
// own tenant, as RLS wants).
func (m *meter) write(batch map[usageKey]*usageSum) {
	byOrg := map[uuid.UUID][]usageKey{}
	for k := range batch {
		byOrg[k.org] = append(byOrg[k.org], k)
	}
	for org, keys := range byOrg {
		// One order for every writer: two flushers of different processes
		// updating the same rows cannot deadlock.
		slices.SortFunc(keys, func(a, b usageKey) int {
			return cmp.Or(strings.Compare(a.day, b.day), strings.Compare(a.provider, b.provider),
				strings.Compare(a.model, b.model), strings.Compare(a.operation, b.operation))
		})
		n := len(keys)
		days, providers, models, ops := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		calls, errs, prompt, completion := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		for i, k := range keys {
			s := batch[k]
			days[i], providers[i], models[i], ops[i] = k.day, k.provider, k.model, k.operation
			calls[i], errs[i], prompt[i], completion[i] = s.calls, s.errors, s.prompt, s.completion
		}
		ctx := context.Background()
		err := m.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
			_, err := tx.ExecContext(ctx, `
				INSERT INTO llm_usage_daily AS u (org_id, day, provider, model, operation, calls, errors, prompt_tokens, completion_tokens)
				SELECT ?, v.day::date, v.provider, v.model, v.operation, v.calls, v.errors, v.prompt, v.completion
				FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[])
				  AS v(day, provider, model, operation, calls, errors, prompt, completion)
				ON CONFLICT (org_id, day, provider, model, operation) DO UPDATE SET
				  calls = u.calls + EXCLUDED.calls, errors = u.errors + EXCLUDED.errors,
				  prompt_tokens = u.prompt_tokens + EXCLUDED.prompt_tokens,
				  completion_tokens = u.completion_tokens + EXCLUDED.completion_tokens,
				  updated_at = now()`,
				org, pgdialect.Array(days), pgdialect.Array(providers), pgdialect.Array(models), pgdialect.Array(ops),
				pgdialect.Array(calls), pgdialect.Array(errs), pgdialect.Array(prompt), pgdialect.Array(completion))
			return database.Interpret(err)
		})
		if err != nil {
			var total int64
			for _, k := range keys {
				total += batch[k].calls
			}
			m.logger.ErrorContext(ctx, "llm usage not recorded", "org_id", org, "calls", total, "err", err)
		}
	}
}
