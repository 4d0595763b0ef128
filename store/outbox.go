package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

// queueOutbox queues msgs for the outbox in b, so they are written in the
// same transaction as the decision that produced them.
func queueOutbox(b *pgx.Batch, msgs ...tenantry.Message) {
	for _, m := range msgs {
		b.Queue(`INSERT INTO core.outbox (id, subject, headers, data) VALUES ($1, $2, $3, $4)`,
			m.ID, m.Subject, m.Header, m.Data)
	}
}

// MarkPublished records that JetStream acknowledged the messages ids. The
// mark is bookkeeping: if a crash loses it, the message is re-published
// and de-duplicated, so it commits without waiting for the WAL flush.
func (s *Store) MarkPublished(ctx context.Context, ids ...string) error {
	err := s.relaxed(ctx, `UPDATE core.outbox SET published_at = now() WHERE id = ANY($1)`,
		[]any{ids}, nil)
	if err != nil {
		return fmt.Errorf("mark published: %w", err)
	}
	return nil
}

// Unpublished returns up to limit outbox messages committed more than
// olderThan ago and not yet acknowledged by JetStream, oldest first.
func (s *Store) Unpublished(ctx context.Context, olderThan time.Duration, limit int) ([]tenantry.Message, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, subject, headers, data FROM core.outbox
		WHERE published_at IS NULL AND created_at < clock_timestamp() - $1::interval
		ORDER BY created_at LIMIT $2`, olderThan, limit)
	if err != nil {
		return nil, fmt.Errorf("query outbox: %w", err)
	}
	return pgx.CollectRows(rows, scanMessage)
}

// StaleCommands returns up to limit commands whose job is still queued
// more than after since they were last published: JetStream acknowledged
// them, but no worker ever started them (a lost stream, a purge, a
// single-replica host gone). Re-publishing them is harmless: a worker
// that finds the job finished acks it unchanged.
func (s *Store) StaleCommands(ctx context.Context, after time.Duration, limit int) ([]tenantry.Message, error) {
	rows, err := s.pool.Query(ctx, `SELECT o.id, o.subject, o.headers, o.data FROM core.outbox o
		JOIN core.jobs j ON j.id = o.id
		WHERE j.status = 'queued' AND o.published_at < clock_timestamp() - $1::interval
		ORDER BY o.published_at LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("query stale commands: %w", err)
	}
	return pgx.CollectRows(rows, scanMessage)
}

func scanMessage(row pgx.CollectableRow) (tenantry.Message, error) {
	var m tenantry.Message
	err := row.Scan(&m.ID, &m.Subject, &m.Header, &m.Data)
	return m, err
}

// Send publishes outbox messages, in order, and marks those JetStream
// acknowledged. It stops at the first failure (NATS is likely down), except
// for a message that can never be published (EINVALID: too large), which
// is marked so it does not block the relay, and reported. Whatever is not
// sent now is re-sent by the scheduler's relay, so callers may only log
// the error. It returns how many were sent.
func (s *Store) Send(ctx context.Context, pub tenantry.Publisher, msgs ...tenantry.Message) (int, error) {
	ids := make([]string, 0, len(msgs))
	var err error
	for _, m := range msgs {
		perr := pub.Publish(ctx, m)
		if tenantry.ErrorCode(perr) == tenantry.EINVALID {
			err = errors.Join(err, fmt.Errorf("dropped unpublishable %s: %w", m.ID, perr))
			ids = append(ids, m.ID)
			continue
		}
		if perr != nil {
			err = errors.Join(err, perr)
			break
		}
		ids = append(ids, m.ID)
	}
	if len(ids) > 0 {
		err = errors.Join(err, s.MarkPublished(ctx, ids...))
	}
	return len(ids), err
}
