package store

import (
	"context"
	"fmt"
	"time"
)

// Retention. Each Delete…Before deletes, in one statement, at most limit
// (a positive number) of the oldest records created before the cutoff
// that are no longer in progress, and returns how many it deleted. A
// statement touches few rows, so it holds its locks briefly and never
// makes one huge transaction; the scheduler repeats it to drain a
// backlog. Rows locked by someone else at that moment are skipped and go
// in a later call. Each walks an index from 00013_retention.sql, so it
// does not scan the table. All are safe for concurrent use.

// DeleteScriptRunsBefore deletes finished script runs (endpoint calls,
// scheduled and manual runs). A webhook handler's runs are not among
// them: they go with their event (DeleteWebhookEventsBefore), so an
// event never names a run that is gone.
func (s *Store) DeleteScriptRunsBefore(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.deleteBefore(ctx, "script runs", `WITH gone AS (
			SELECT id FROM core.script_runs
			WHERE created_at < $1 AND webhook_event_id IS NULL AND status NOT IN ('queued', 'running')
			ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
		DELETE FROM core.script_runs r USING gone WHERE r.id = gone.id`, before, limit)
}

// DeleteWebhookEventsBefore deletes webhook events received before
// before that were handled (processed or failed), each with its
// handler's runs whatever their age. An event still received (its
// handler has not finished) is kept. It counts the events.
func (s *Store) DeleteWebhookEventsBefore(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.deleteBefore(ctx, "webhook events", `WITH gone AS (
			SELECT id FROM core.webhook_events WHERE received_at < $1 AND status <> 'received'
			ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED),
		runs AS (DELETE FROM core.script_runs r USING gone WHERE r.webhook_event_id = gone.id)
		DELETE FROM core.webhook_events e USING gone WHERE e.id = gone.id`, before, limit)
}

// DeleteDeliveriesBefore deletes notification deliveries that succeeded
// or failed for good, each with its attempts. A pending delivery (due,
// or waiting to be retried) is kept. It counts the deliveries.
func (s *Store) DeleteDeliveriesBefore(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.deleteBefore(ctx, "notification deliveries", `WITH gone AS (
			SELECT id FROM core.notification_deliveries WHERE created_at < $1 AND status <> 'pending'
			ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED),
		attempts AS (DELETE FROM core.notification_attempts a USING gone WHERE a.delivery_id = gone.id)
		DELETE FROM core.notification_deliveries d USING gone WHERE d.id = gone.id`, before, limit)
}

// DeleteConnectionLogsBefore deletes connection log lines written before
// before.
func (s *Store) DeleteConnectionLogsBefore(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.deleteBefore(ctx, "connection logs", `WITH gone AS (
			SELECT id FROM core.connection_logs WHERE at < $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)
		DELETE FROM core.connection_logs l USING gone WHERE l.id = gone.id`, before, limit)
}

// DeleteJobsBefore deletes finished jobs (succeeded or failed), each with
// its sync run and the run's streams. A job is kept while it, or its
// sync run, is queued or running, and while its command waits in the
// outbox to be published (the relay would send a command whose job is
// gone). A command redelivered after its job is deleted is not applied
// again: the worker finds no job and dead-letters it. It counts the jobs.
func (s *Store) DeleteJobsBefore(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.deleteBefore(ctx, "jobs", `WITH gone AS (
			SELECT id FROM core.jobs j WHERE created_at < $1 AND status NOT IN ('queued', 'running')
				AND NOT EXISTS (SELECT 1 FROM core.outbox o WHERE o.id = j.id AND o.published_at IS NULL)
				AND NOT EXISTS (SELECT 1 FROM core.sync_runs r WHERE r.id = j.id AND r.status IN ('queued', 'running'))
			ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED),
		streams AS (DELETE FROM core.sync_run_streams st USING gone WHERE st.run_id = gone.id),
		runs AS (DELETE FROM core.sync_runs r USING gone WHERE r.id = gone.id)
		DELETE FROM core.jobs j USING gone WHERE j.id = gone.id`, before, limit)
}

func (s *Store) deleteBefore(ctx context.Context, what, q string, before time.Time, limit int) (int64, error) {
	tag, err := s.pool.Exec(ctx, q, before, limit)
	if err != nil {
		return 0, fmt.Errorf("delete old %s: %w", what, err)
	}
	return tag.RowsAffected(), nil
}
