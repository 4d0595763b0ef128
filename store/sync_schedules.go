package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

// SetSyncSchedule makes the scheduler sync connection connID every
// seconds, the first time one interval from now; 0 removes the schedule.
// ENOTFOUND if caller may not see the connection.
func (s *Store) SetSyncSchedule(ctx context.Context, caller tenantry.Caller, connID string, every int) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var id string
		err := tx.QueryRow(ctx, `SELECT id FROM core.connections WHERE `+connScope+` AND id = $3 FOR UPDATE`,
			caller.PartnerID, caller.AccountID, connID).Scan(&id)
		if err != nil {
			return translate(err, "connection "+connID)
		}
		if every == 0 {
			_, err = tx.Exec(ctx, `DELETE FROM core.sync_schedules WHERE connection_id = $1`, id)
		} else {
			_, err = tx.Exec(ctx, `INSERT INTO core.sync_schedules (connection_id, every_seconds, next_at)
				VALUES ($1, $2::int, now() + make_interval(secs => $2::int)) ON CONFLICT (connection_id)
				DO UPDATE SET every_seconds = excluded.every_seconds, next_at = excluded.next_at`, id, every)
		}
		if err != nil {
			return fmt.Errorf("set sync schedule: %w", err)
		}
		return nil
	})
}

// QueueDueSyncs queues a scheduled sync of up to limit connections whose
// schedule is due, and moves each schedule one interval past now (a
// scheduler down for a day runs one sync, not one per missed interval).
// A connection that is not active or degraded, or already syncing, is
// skipped until its next slot. Schedules of deleted connections are
// removed. It returns the commands to publish.
func (s *Store) QueueDueSyncs(ctx context.Context, limit int) ([]tenantry.Message, error) {
	var out []tenantry.Message
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT s.connection_id, c.partner_id, c.account_id, c.deleted_at IS NOT NULL
			FROM core.sync_schedules s JOIN core.connections c ON c.id = s.connection_id
			WHERE s.next_at <= now() ORDER BY s.next_at LIMIT $1 FOR UPDATE OF s SKIP LOCKED`, limit)
		if err != nil {
			return fmt.Errorf("query due syncs: %w", err)
		}
		type due struct {
			conn    string
			caller  tenantry.Caller
			deleted bool
		}
		var list []due
		var d due
		if _, err := pgx.ForEachRow(rows, []any{&d.conn, &d.caller.PartnerID, &d.caller.AccountID, &d.deleted},
			func() error { list = append(list, d); return nil }); err != nil {
			return fmt.Errorf("scan due syncs: %w", err)
		}
		for _, d := range list {
			msgs, err := queueDueSync(ctx, tx, d.conn, d.caller, d.deleted)
			if err != nil {
				return err
			}
			out = append(out, msgs...)
		}
		return nil
	})
	return out, err
}

func queueDueSync(ctx context.Context, tx pgx.Tx, connID string, caller tenantry.Caller, deleted bool) ([]tenantry.Message, error) {
	if deleted {
		_, err := tx.Exec(ctx, `DELETE FROM core.sync_schedules WHERE connection_id = $1`, connID)
		return nil, err
	}
	if _, err := tx.Exec(ctx, `UPDATE core.sync_schedules SET next_at = now() + make_interval(secs => every_seconds)
		WHERE connection_id = $1`, connID); err != nil {
		return nil, fmt.Errorf("advance sync schedule: %w", err)
	}
	// A savepoint: a skipped connection must not abort the others.
	sp, err := tx.Begin(ctx)
	if err != nil {
		return nil, err
	}
	_, msgs, err := requestSync(ctx, sp, caller, connID, tenantry.SyncRequest{}, tenantry.SyncTriggerSchedule)
	if tenantry.ErrorCode(err) == tenantry.ECONFLICT {
		return nil, sp.Rollback(ctx)
	}
	if err != nil {
		return nil, err
	}
	return msgs, sp.Commit(ctx)
}
