package store

import (
	"context"
	"fmt"

	"github.com/tenantry/tenantry"
)

// What a replay asks before it publishes a message again: whether the
// message's effect was applied for good. One query per batch, which
// probes a unique index once per key: LIMIT 1 keeps each LATERAL
// subquery from being flattened into a join, which the planner could
// make a hash join over the whole table.

// ProcessedWebhooks reports, for each of evs (webhooks decoded from
// WEBHOOKS messages), whether it is recorded as processed: identified as
// the worker records it, by account, connection and webhook id. A
// webhook recorded failed or received, or not at all, is not; nor is a
// nil entry (a message that is no webhook). Safe for concurrent use.
func (s *Store) ProcessedWebhooks(ctx context.Context, evs []*tenantry.WebhookEvent) ([]bool, error) {
	accounts, conns, hooks := make([]string, len(evs)), make([]string, len(evs)), make([]string, len(evs))
	for i, ev := range evs {
		if ev != nil {
			accounts[i], conns[i], hooks[i] = ev.AccountID, ev.ConnectionID, ev.WebhookID
		}
	}
	return s.found(ctx, "processed webhooks", len(evs), `SELECT k.i FROM unnest($1::text[], $2::text[], $3::text[])
		WITH ORDINALITY AS k(account_id, connection_id, webhook_id, i),
		LATERAL (SELECT FROM core.webhook_events e WHERE (e.account_id, e.connection_id, e.webhook_id) =
			(k.account_id, k.connection_id, k.webhook_id) AND e.status = $4 LIMIT 1) e`,
		accounts, conns, hooks, tenantry.WebhookProcessed)
}

// SucceededJobs reports, for each of ids, whether that job succeeded: its
// command was applied, and a redelivery of it is a no-op. A queued,
// running or failed job is not, nor an unknown id. Safe for concurrent
// use.
func (s *Store) SucceededJobs(ctx context.Context, ids []string) ([]bool, error) {
	return s.found(ctx, "succeeded jobs", len(ids), `SELECT k.i FROM unnest($1::text[]) WITH ORDINALITY AS k(id, i),
		LATERAL (SELECT FROM core.jobs j WHERE j.id = k.id AND j.status = $2 LIMIT 1) j`, ids, tenantry.JobSucceeded)
}

// found runs q, which selects the 1-based ordinals of the n keys it
// found, and returns which were.
func (s *Store) found(ctx context.Context, what string, n int, q string, args ...any) ([]bool, error) {
	out := make([]bool, n)
	if n == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int64
		if err := rows.Scan(&i); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out[i-1] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}
