package database

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
)

// A request transaction is one tenant transaction that spans a whole unit of
// work: an authenticated API request, from the membership check to the
// stored idempotent response. Every InTenant call made with its context for
// the same tenant runs inside it instead of opening a transaction of its
// own, so that
//
//   - a request costs one transaction, not one per service call, and
//   - the work, its events and its idempotency record commit together or
//     not at all: a process that dies before COMMIT leaves nothing behind,
//     and one that dies after it leaves the stored response to replay.
//
// A request transaction is not safe for concurrent use: one request, one
// goroutine at a time, as with any *sql.Tx.

// ErrRequestTxFailed is returned by InTenant calls made after an earlier
// call in the same request transaction failed: Postgres refuses every
// statement in an aborted transaction, and the request must not go on as if
// the first failure had not happened.
var ErrRequestTxFailed = errors.New("database: an earlier statement in this request's transaction failed")

// RequestTx is an open request transaction. It runs on one pooled
// connection that it holds from BeginRequest to Commit or Rollback, and
// issues BEGIN and COMMIT itself: BEGIN and the tenant's settings then cost
// one round trip instead of two, and no database/sql transaction
// bookkeeping runs per request.
type RequestTx struct {
	tenant Tenant
	conn   bun.Conn
	tx     requestConn

	mu          sync.Mutex
	failed      error
	done        bool
	afterCommit []func(context.Context)
}

type requestTxKey struct{}

// BeginRequest opens t's request transaction and returns a context that
// carries it. The caller ends it with Commit or Rollback.
func (db *DB) BeginRequest(ctx context.Context, t Tenant) (context.Context, *RequestTx, error) {
	ctx, rt, _, err := db.BeginRequestWith(ctx, t, "")
	return ctx, rt, err
}

// BeginRequestWith is BeginRequest with one more statement, first (with
// its args), sent in the same round trip and run under t's row-level
// security: the request's first question (is this caller still a member?)
// costs no round trip of its own. BEGIN, the tenant's settings and first go
// as one pipelined batch of prepared statements (pgx caches them per
// connection, so Postgres parses and plans each once). first's rows come
// back as values (nil when first is empty). When anything fails, the
// transaction is rolled back and the error returned.
func (db *DB) BeginRequestWith(ctx context.Context, t Tenant, first string, args ...any) (context.Context, *RequestTx, [][]any, error) {
	if t.OrgID == uuid.Nil {
		return ctx, nil, nil, ErrNoTenant
	}
	conn, err := db.Bun.Conn(ctx)
	if err != nil {
		return ctx, nil, nil, fmt.Errorf("database: begin request: %w", err)
	}
	user := ""
	if t.UserID != uuid.Nil {
		user = t.UserID.String()
	}
	var rows [][]any
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("database: driver connection is %T, not pgx", dc)
		}
		b := &pgx.Batch{}
		b.Queue("BEGIN")
		b.Queue("SELECT set_config('app.org_id', $1, true), set_config('app.user_id', $2, true)", t.OrgID.String(), user)
		if first != "" {
			b.Queue(first, args...)
		}
		br := sc.Conn().SendBatch(ctx, b)
		for range 2 {
			if _, err := br.Exec(); err != nil {
				_ = br.Close()
				return err
			}
		}
		if first != "" {
			r, err := br.Query()
			if err != nil {
				_ = br.Close()
				return err
			}
			for r.Next() {
				v, err := r.Values()
				if err != nil {
					r.Close()
					_ = br.Close()
					return err
				}
				rows = append(rows, v)
			}
			r.Close()
			if err := r.Err(); err != nil {
				_ = br.Close()
				return err
			}
		}
		return br.Close()
	})
	rt := &RequestTx{tenant: t, conn: conn, tx: requestConn{conn}}
	if err != nil {
		rt.done = true
		_ = rt.end(ctx, "ROLLBACK")
		return ctx, nil, nil, fmt.Errorf("database: begin request: %w", Interpret(err))
	}
	return context.WithValue(ctx, requestTxKey{}, rt), rt, rows, nil
}

// end sends COMMIT or ROLLBACK and gives the connection back; a connection
// whose state is unknown after a failure is closed instead of reused.
func (r *RequestTx) end(ctx context.Context, stmt string) error {
	_, err := r.conn.ExecContext(context.WithoutCancel(ctx), stmt)
	if err != nil {
		discard(r.conn)
		return err
	}
	return r.conn.Close()
}

// discard closes conn's underlying connection rather than returning it to
// the pool, where it could still be inside a transaction.
func discard(conn bun.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}

// requestConn is the connection a request transaction's calls run on. It
// refuses nested transactions: on a plain connection, BEGIN inside BEGIN is
// only a warning, and the inner COMMIT would commit the request's work
// early.
type requestConn struct{ bun.Conn }

var errNested = errors.New("database: nested transactions are not available inside a request transaction")

// BeginTx refuses; see requestConn.
func (requestConn) BeginTx(context.Context, *sql.TxOptions) (bun.Tx, error) {
	return bun.Tx{}, errNested
}

// RunInTx refuses; see requestConn.
func (requestConn) RunInTx(context.Context, *sql.TxOptions, func(context.Context, bun.Tx) error) error {
	return errNested
}

// Tenant is whom the transaction acts for.
func (r *RequestTx) Tenant() Tenant { return r.tenant }

// Failed reports the first error an InTenant call inside the transaction
// returned, if any.
func (r *RequestTx) Failed() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

// Commit commits the transaction, then runs the AfterCommit hooks with ctx.
// A transaction in which a call failed is rolled back instead and the
// failure returned: it must never be committed half done.
func (r *RequestTx) Commit(ctx context.Context) error {
	r.mu.Lock()
	if r.done {
		r.mu.Unlock()
		return errors.New("database: request transaction already ended")
	}
	r.done = true
	failed, hooks := r.failed, r.afterCommit
	r.mu.Unlock()
	if failed != nil {
		_ = r.end(ctx, "ROLLBACK")
		return fmt.Errorf("%w: %w", ErrRequestTxFailed, failed)
	}
	if err := r.end(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("database: commit request: %w", err)
	}
	for _, h := range hooks {
		h(ctx)
	}
	return nil
}

// Rollback discards the transaction's work; its AfterCommit hooks never run.
// Rolling back an ended transaction does nothing.
func (r *RequestTx) Rollback() error {
	r.mu.Lock()
	if r.done {
		r.mu.Unlock()
		return nil
	}
	r.done = true
	r.mu.Unlock()
	if err := r.end(context.Background(), "ROLLBACK"); err != nil {
		return fmt.Errorf("database: rollback request: %w", err)
	}
	return nil
}

// AfterCommit runs fn once ctx's request transaction has committed (an
// enqueue, a notification: work that must not happen for a change that was
// rolled back). Without a request transaction in ctx, fn runs at once: the
// caller's own transaction has already committed when it calls this.
func AfterCommit(ctx context.Context, fn func(context.Context)) {
	rt, ok := ctx.Value(requestTxKey{}).(*RequestTx)
	if !ok {
		fn(ctx)
		return
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.afterCommit = append(rt.afterCommit, fn)
}

// Detach returns ctx without its request transaction, for work that must
// commit on its own whatever the request's outcome (a failed-login counter,
// an audit of a refusal). Cancellation and values other than the
// transaction are kept.
func Detach(ctx context.Context) context.Context {
	if _, ok := ctx.Value(requestTxKey{}).(*RequestTx); !ok {
		return ctx
	}
	return context.WithValue(ctx, requestTxKey{}, (*RequestTx)(nil))
}

// joined runs fn inside ctx's request transaction when it acts for t. It
// reports false when there is none (or it acts for someone else), and the
// caller opens its own transaction.
func joined(ctx context.Context, t Tenant, fn func(ctx context.Context, tx bun.IDB) error) (bool, error) {
	rt, ok := ctx.Value(requestTxKey{}).(*RequestTx)
	if !ok || rt == nil || rt.tenant != t {
		return false, nil
	}
	rt.mu.Lock()
	failed, done := rt.failed, rt.done
	rt.mu.Unlock()
	if done {
		return true, errors.New("database: request transaction already ended")
	}
	if failed != nil {
		return true, fmt.Errorf("%w: %w", ErrRequestTxFailed, failed)
	}
	if err := fn(ctx, rt.tx); err != nil {
		rt.mu.Lock()
		rt.failed = err
		rt.mu.Unlock()
		return true, err
	}
	return true, nil
}

func setTenant(ctx context.Context, tx bun.IDB, t Tenant) error {
	user := ""
	if t.UserID != uuid.Nil {
		user = t.UserID.String()
	}
	if _, err := tx.ExecContext(ctx,
		`SELECT set_config('app.org_id', ?, true), set_config('app.user_id', ?, true)`,
		t.OrgID.String(), user); err != nil {
		return fmt.Errorf("database: set tenant: %w", err)
	}
	return nil
}
