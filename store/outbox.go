package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

// insertOutbox writes msgs to the outbox inside tx, so they exist exactly
// when the decision that produced them is committed.
func insertOutbox(ctx context.Context, tx pgx.Tx, msgs ...tenantry.Message) error {
	for _, m := range msgs {
		_, err := tx.Exec(ctx, `INSERT INTO core.outbox (id, subject, headers, data) VALUES ($1, $2, $3, $4)`,
			m.ID, m.Subject, m.Header, m.Data)
		if err != nil {
			return fmt.Errorf("insert outbox %s: %w", m.ID, err)
		}
	}
	return nil
}

// MarkPublished records that JetStream acknowledged the messages ids.
func (s *Store) MarkPublished(ctx context.Context, ids ...string) error {
	_, err := s.pool.Exec(ctx, `UPDATE core.outbox SET published_at = now() WHERE id = ANY($1) AND published_at IS NULL`, ids)
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
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (tenantry.Message, error) {
		var m tenantry.Message
		err := row.Scan(&m.ID, &m.Subject, &m.Header, &m.Data)
		return m, err
	})
}
