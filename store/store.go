package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/tenantry/tenantry"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is tenantry's Postgres adapter. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

// DefaultMaxConns is the pool size unless the URL sets pool_max_conns:
// pgx's own default (max(4, cores)) starves a process running the api and
// a worker with 8 concurrent jobs.
const DefaultMaxConns = 24

// Open connects to Postgres at url. It does not migrate; call Migrate.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping postgres: %w", err)
	}
	return &Store{pool: pool}, nil
}

// Close releases the pool.
func (s *Store) Close() { s.pool.Close() }

// Pool exposes the pool for benchmarks and tests that measure raw pgx.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping reports whether Postgres answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Migrate applies the embedded migrations under a Postgres advisory lock,
// so replicas starting together migrate once.
func (s *Store) Migrate(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS core"); err != nil {
		return fmt.Errorf("create core schema: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithSessionLocker(locker), goose.WithTableName("core.goose_db_version"))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// inTx runs fn in a transaction, committing if it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// translate maps driver errors to tenantry errors at the store boundary.
// Handlers validate input first; this is the backstop that keeps client
// text Postgres rejects from becoming a 500.
func translate(err error, what string) error {
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgx.ErrNoRows):
		return tenantry.Errorf(tenantry.ENOTFOUND, "%s not found", what)
	case errors.As(err, &pgErr) && pgErr.Code == "23505":
		return tenantry.Errorf(tenantry.ECONFLICT, "%s already exists", what)
	case errors.As(err, &pgErr) && (pgErr.Code == "22021" || pgErr.Code == "22P05"):
		// Text Postgres cannot store (invalid UTF-8, NUL) came from a client.
		return tenantry.Errorf(tenantry.EINVALID, "text must be valid UTF-8 without NUL characters")
	}
	return fmt.Errorf("%s: %w", what, err)
}

// relaxed runs q (scanning its row with scan, if given) in its own
// transaction with synchronous_commit off: for bookkeeping whose loss in
// a crash is harmless, it saves the wait for the WAL flush. One round
// trip: a batch runs as one implicit transaction.
func (s *Store) relaxed(ctx context.Context, q string, args []any, scan func(pgx.Row) error) error {
	b := &pgx.Batch{}
	b.Queue(`SELECT set_config('synchronous_commit', 'off', true)`)
	qq := b.Queue(q, args...)
	if scan != nil {
		qq.QueryRow(scan)
	}
	return s.pool.SendBatch(ctx, b).Close()
}

// pageLimit is p.Limit, or the default when a caller left it unset.
func pageLimit(p tenantry.Page) int {
	if p.Limit <= 0 {
		return 50
	}
	return p.Limit
}

// listPage runs a keyset query that fetches limit+1 rows, scans them,
// and returns at most limit with the cursor of the next page:
// cursor(last kept item), or "" on the last page.
func listPage[T any](ctx context.Context, s *Store, what string, limit int, scan func(pgx.Row) (T, error),
	cursor func(T) string, q string, args ...any) ([]T, string, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, "", translate(err, what)
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (T, error) { return scan(row) })
	if err != nil {
		return nil, "", translate(err, what)
	}
	if len(items) <= limit {
		return items, "", nil
	}
	items = items[:limit]
	return items, cursor(items[limit-1]), nil
}
