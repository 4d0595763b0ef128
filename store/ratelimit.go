package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// RateCount is one shared rate-limit counter: the requests counted
// against Key (a route class and a credential) in window Win.
type RateCount struct {
	Key     string
	Win     int64
	Count   int64
	Expires time.Time // when the row is no longer needed
}

// ShareRateCounts adds each of add to its shared counter (creating it if
// needed), then returns the totals — every replica's — of the counters
// named in read that exist. One round trip, committed without waiting
// for the WAL: the table is unlogged, and a lost increment only loosens
// a limit for one window. Counters are locked in key order, so replicas
// never deadlock; a counter may appear only once in add.
func (s *Store) ShareRateCounts(ctx context.Context, add []RateCount, read []RateCount) ([]RateCount, error) {
	add = slices.Clone(add)
	slices.SortFunc(add, func(a, b RateCount) int {
		return cmp.Or(strings.Compare(a.Key, b.Key), cmp.Compare(a.Win, b.Win))
	})
	keys, wins, ns, exps := make([]string, len(add)), make([]int64, len(add)), make([]int64, len(add)), make([]time.Time, len(add))
	for i, c := range add {
		keys[i], wins[i], ns[i], exps[i] = c.Key, c.Win, c.Count, c.Expires
	}
	readKeys, readWins := make([]string, len(read)), make([]int64, len(read))
	for i, c := range read {
		readKeys[i], readWins[i] = c.Key, c.Win
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT set_config('synchronous_commit', 'off', true)`)
	b.Queue(`INSERT INTO core.rate_counters AS r (key, win, count, expires_at)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::timestamptz[])
		ON CONFLICT (key, win) DO UPDATE SET count = r.count + excluded.count`, keys, wins, ns, exps)
	var totals []RateCount
	b.Queue(`SELECT r.key, r.win, r.count, r.expires_at FROM unnest($1::text[], $2::bigint[]) AS u (key, win)
		JOIN core.rate_counters r ON r.key = u.key AND r.win = u.win`, readKeys, readWins).Query(func(rows pgx.Rows) error {
		var err error
		totals, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (RateCount, error) {
			var c RateCount
			err := row.Scan(&c.Key, &c.Win, &c.Count, &c.Expires)
			return c, err
		})
		return err
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("share rate counts: %w", err)
	}
	return totals, nil
}

// PurgeRateCounts deletes the counters no longer needed.
func (s *Store) PurgeRateCounts(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM core.rate_counters WHERE expires_at < now()`); err != nil {
		return fmt.Errorf("purge rate counts: %w", err)
	}
	return nil
}
