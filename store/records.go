package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SyncedRecord is one record synced from a provider: its primary key and
// its JSON.
type SyncedRecord struct {
	Key  string
	Data []byte // a JSON object
}

var streamName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,49}$`)

// StreamTable names the table a connection's stream syncs into, inside
// the tenant's schema: <stream>_<the connection id's last 12 hex digits>.
func StreamTable(connectionID, stream string) (string, error) {
	if !streamName.MatchString(stream) || len(connectionID) < 12 {
		return "", fmt.Errorf("stream table: bad stream %q or connection %q", stream, connectionID)
	}
	return stream + "_" + connectionID[len(connectionID)-12:], nil
}

// WriteRecords writes recs into schema.table, creating the table if
// needed, in one transaction: a COPY into a staging table, then one
// upsert keyed by primary key (the last of duplicate keys wins). A record
// whose data did not change is only stamped with runID; a deleted one
// comes back. It returns how many records were new and how many changed.
func (s *Store) WriteRecords(ctx context.Context, schema, table, runID string, recs []SyncedRecord) (inserted, changed int, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) (err error) {
		inserted, changed, err = writeRecords(ctx, tx, schema, table, runID, recs)
		return err
	})
	return inserted, changed, err
}

func writeRecords(ctx context.Context, tx pgx.Tx, schema, table, runID string, recs []SyncedRecord) (inserted, changed int, err error) {
	t := pgx.Identifier{schema, table}.Sanitize()
	if err := ensureTable(ctx, tx, t); err != nil {
		return 0, 0, fmt.Errorf("prepare %s: %w", t, err)
	}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS tenantry_stage (key text, data jsonb) ON COMMIT DELETE ROWS`); err != nil {
		return 0, 0, fmt.Errorf("prepare staging: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"tenantry_stage"}, []string{"key", "data"}, pgx.CopyFromRows(lastByKey(recs))); err != nil {
		return 0, 0, fmt.Errorf("copy into %s: %w", t, err)
	}
	// now() is the transaction's start: rows this upsert changed carry
	// it, rows changed by earlier syncs carry an older time.
	err = tx.QueryRow(ctx, `WITH written AS (
		INSERT INTO `+t+` AS r (key, data, synced_at, changed_at, run_id)
			SELECT key, data, now(), now(), $1 FROM tenantry_stage
		ON CONFLICT (key) DO UPDATE SET data = excluded.data, synced_at = excluded.synced_at, run_id = excluded.run_id,
			deleted_at = NULL,
			changed_at = CASE WHEN r.data IS DISTINCT FROM excluded.data OR r.deleted_at IS NOT NULL
				THEN excluded.changed_at ELSE r.changed_at END
		RETURNING xmax = 0 AS new, changed_at = now() AS changed)
		SELECT count(*) FILTER (WHERE new), count(*) FILTER (WHERE changed AND NOT new) FROM written`, runID).
		Scan(&inserted, &changed)
	if err != nil {
		return 0, 0, fmt.Errorf("upsert into %s: %w", t, err)
	}
	return inserted, changed, nil
}

// ensureTable creates records table t (quoted) unless it exists. Writers
// creating the same new table at once collide in Postgres's catalog
// (23505 on pg_type, 42P07, or 42710 when the winner's row type is
// committed first): the loser, in a savepoint, finds the winner's table
// made and goes on.
func ensureTable(ctx context.Context, tx pgx.Tx, t string) error {
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, t).Scan(&exists); err != nil || exists {
		return err
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return err
	}
	_, err = sp.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+t+` (key text PRIMARY KEY, data jsonb NOT NULL,
		synced_at timestamptz NOT NULL, changed_at timestamptz NOT NULL, run_id text NOT NULL, deleted_at timestamptz)`)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "23505" || pgErr.Code == "42P07" || pgErr.Code == "42710") {
		return sp.Rollback(ctx)
	}
	if err != nil {
		_ = sp.Rollback(ctx)
		return err
	}
	return sp.Commit(ctx)
}

// lastByKey keeps the last record of each key, in first-seen order.
func lastByKey(recs []SyncedRecord) [][]any {
	at := map[string]int{}
	rows := make([][]any, 0, len(recs))
	for _, r := range recs {
		if i, seen := at[r.Key]; seen {
			rows[i][1] = string(r.Data)
			continue
		}
		at[r.Key] = len(rows)
		rows = append(rows, []any{r.Key, string(r.Data)})
	}
	return rows
}

// MarkDeleted soft-deletes the rows of schema.table a full refresh (runID)
// did not see, and returns how many.
func (s *Store) MarkDeleted(ctx context.Context, schema, table, runID string) (n int64, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) (err error) { n, err = markDeleted(ctx, tx, schema, table, runID); return err })
	return n, err
}

func markDeleted(ctx context.Context, tx pgx.Tx, schema, table, runID string) (int64, error) {
	tag, err := tx.Exec(ctx, `UPDATE `+pgx.Identifier{schema, table}.Sanitize()+`
		SET deleted_at = now(), changed_at = now() WHERE run_id <> $1 AND deleted_at IS NULL`, runID)
	if err != nil {
		return 0, fmt.Errorf("mark deleted: %w", err)
	}
	return tag.RowsAffected(), nil
}
