package store

import (
	"context"
	"fmt"
	"time"
)

// Purge deletes idempotency keys older than keys (a retry after that is
// a new request) and outbox rows published more than published ago whose
// job, if any, has finished. It returns how many rows went.
func (s *Store) Purge(ctx context.Context, keys, published time.Duration) (int64, error) {
	a, err := s.pool.Exec(ctx, `DELETE FROM core.idempotency_keys WHERE created_at < now() - $1::interval`, keys)
	if err != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	// A command stays while its job is unfinished: it may need re-sending.
	b, err := s.pool.Exec(ctx, `DELETE FROM core.outbox o WHERE o.published_at < now() - $1::interval
		AND NOT EXISTS (SELECT 1 FROM core.jobs j WHERE j.id = o.id AND j.status IN ('queued', 'running'))`, published)
	if err != nil {
		return 0, fmt.Errorf("purge outbox: %w", err)
	}
	return a.RowsAffected() + b.RowsAffected(), nil
}
