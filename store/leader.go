package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Lease is leadership held through a session advisory lock on its own
// connection, outside the pool: it lasts as long as that connection does.
type Lease struct {
	conn *pgx.Conn
	key  int64
}

// TryLead tries to take the advisory lock key without waiting. ok is
// false when another session holds it.
func (s *Store) TryLead(ctx context.Context, key int64) (lease *Lease, ok bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, false, fmt.Errorf("connect leader session: %w", err)
	}
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil || !ok {
		_ = conn.Close(ctx)
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

// Release gives up leadership: closing the session releases the lock.
func (l *Lease) Release(ctx context.Context) { _ = l.conn.Close(ctx) }
