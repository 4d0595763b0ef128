package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantry/tenantry/store"
)

// copyColumns are the columns a sync writes into a stream's table
// (store.WriteRecords); deleted_at stays null.
var copyColumns = []string{"key", "data", "synced_at", "changed_at", "run_id"}

// syncBaselines write the fake API's records into Postgres without the
// sync around them: the same keys and the same JSON bytes, into a fresh
// table of a stream table's shape. Raw CopyFrom is the ceiling a sync is
// compared with; the sync's own write (store.WriteRecords) alone shows
// how much of the gap is the database's work and how much the rest.
type syncBaselines struct {
	pool  *pgxpool.Pool
	store *store.Store
	rows  [][]any              // for CopyFrom
	recs  []store.SyncedRecord // for WriteRecords
	seq   int
}

func newSyncBaselines(pool *pgxpool.Pool, st *store.Store, src *syncSource) *syncBaselines {
	now := time.Now()
	b := &syncBaselines{pool: pool, store: st, rows: make([][]any, len(src.recs)), recs: make([]store.SyncedRecord, len(src.recs))}
	for i, r := range src.recs {
		b.rows[i] = []any{src.keys[i], string(r), now, now, "bench_copy"}
		b.recs[i] = store.SyncedRecord{Key: src.keys[i], Data: r}
	}
	return b
}

// copyAll copies every row in one CopyFrom (one statement, one commit),
// and returns how long the CopyFrom took.
func (b *syncBaselines) copyAll(ctx context.Context) (time.Duration, error) {
	t, err := b.table(ctx)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if _, err := b.pool.CopyFrom(ctx, pgx.Identifier{t}, copyColumns, pgx.CopyFromRows(b.rows)); err != nil {
		return 0, fmt.Errorf("copy into %s: %w", t, err)
	}
	return time.Since(start), b.drop(ctx, t)
}

// copyPages copies the rows a page at a time, each page its own
// CopyFrom and commit, as a sync commits each page.
func (b *syncBaselines) copyPages(ctx context.Context) (time.Duration, error) {
	t, err := b.table(ctx)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	for first := 0; first < len(b.rows); first += syncPageSize {
		page := b.rows[first:min(first+syncPageSize, len(b.rows))]
		if _, err := b.pool.CopyFrom(ctx, pgx.Identifier{t}, copyColumns, pgx.CopyFromRows(page)); err != nil {
			return 0, fmt.Errorf("copy into %s: %w", t, err)
		}
	}
	return time.Since(start), b.drop(ctx, t)
}

// writePages writes the rows with the sync's own store.WriteRecords, a
// page a transaction, twice into one table: every row new, then every
// row again unchanged (what a full refresh writes). No fetch, no JSON
// decoding, no checkpoints or ledger.
func (b *syncBaselines) writePages(ctx context.Context) (fresh, again time.Duration, err error) {
	t, err := b.table(ctx)
	if err != nil {
		return 0, 0, err
	}
	for pass, d := range []*time.Duration{&fresh, &again} {
		start := time.Now()
		var inserted, changed int
		for first := 0; first < len(b.recs); first += syncPageSize {
			ins, chg, err := b.store.WriteRecords(ctx, "public", t, fmt.Sprintf("%s_%d", t, pass),
				b.recs[first:min(first+syncPageSize, len(b.recs))])
			if err != nil {
				return 0, 0, err
			}
			inserted, changed = inserted+ins, changed+chg
		}
		*d = time.Since(start)
		if want := len(b.recs) * (1 - pass); inserted != want || changed != 0 {
			return 0, 0, fmt.Errorf("write into %s, pass %d: %d new, %d changed; want %d new, none changed", t, pass+1, inserted, changed, want)
		}
	}
	return fresh, again, b.drop(ctx, t)
}

// table creates a fresh table of a stream table's shape (as
// store.WriteRecords creates it).
func (b *syncBaselines) table(ctx context.Context) (string, error) {
	b.seq++
	t := fmt.Sprintf("bench_sync_%d", b.seq)
	_, err := b.pool.Exec(ctx, `CREATE TABLE `+pgx.Identifier{t}.Sanitize()+` (key text PRIMARY KEY, data jsonb NOT NULL,
		synced_at timestamptz NOT NULL, changed_at timestamptz NOT NULL, run_id text NOT NULL, deleted_at timestamptz)`)
	if err != nil {
		return "", fmt.Errorf("create %s: %w", t, err)
	}
	return t, nil
}

// drop checks that every row arrived in table t, then drops it.
func (b *syncBaselines) drop(ctx context.Context, t string) error {
	var n int
	if err := b.pool.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{t}.Sanitize()).Scan(&n); err != nil {
		return fmt.Errorf("count %s: %w", t, err)
	}
	if n != len(b.rows) {
		return fmt.Errorf("%s: %d rows of %d arrived", t, n, len(b.rows))
	}
	if _, err := b.pool.Exec(ctx, `DROP TABLE `+pgx.Identifier{t}.Sanitize()); err != nil {
		return fmt.Errorf("drop %s: %w", t, err)
	}
	return nil
}
