package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Lease is leadership held through a session advisory lock on one
// dedicated connection: it lasts as long as that connection does.
type Lease struct {
	conn *pgxpool.Conn
	key  int64
}

// TryLead tries to take the advisory lock key without waiting. ok is
// false when another session holds it.
func (s *Store) TryLead(ctx context.Context, key int64) (lease *Lease, ok bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("acquire leader connection: %w", err)
	}
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil || !ok {
		conn.Release()
		return nil, false, err
	}
	return &Lease{conn: conn, key: key}, true, nil
}

// Check confirms the lease's connection (and so the lock) is alive.
func (l *Lease) Check(ctx context.Context) error {
	if _, err := l.conn.Exec(ctx, `SELECT 1`); err != nil {
		return fmt.Errorf("leader connection lost: %w", err)
	}
	return nil
}

// Release gives up leadership.
func (l *Lease) Release(ctx context.Context) {
	_, err := l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, l.key)
	if err != nil {
		// The lock may still be held by this session: close it for sure.
		_ = l.conn.Conn().Close(ctx)
	}
	l.conn.Release()
}
