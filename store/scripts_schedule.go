package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

// FireDueInterfaces queues one run for each live interface (up to limit)
// whose next slot is due at now, and moves the interface to its first
// slot after now, given by next (nil: unschedule it). An interface that
// missed several slots (the scheduler was down) runs once, for the
// first slot missed. Each interface is locked while it is fired, its run
// is unique per (interface, slot), and the run's job id — its
// Nats-Msg-Id — is derived from the interface and the slot, so
// schedulers racing on a slot fire it once. It returns the commands to
// publish.
func (s *Store) FireDueInterfaces(ctx context.Context, now time.Time, next func(schedule string, after time.Time) *time.Time,
	limit int) ([]tenantry.Message, error) {
	var msgs []tenantry.Message
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// Only a live account's scripts run: a deleted one's stay unscheduled.
		rows, err := tx.Query(ctx, `SELECT i.id, i.partner_id, i.account_id, i.schedule, i.next_run_at FROM core.interfaces i
			JOIN core.accounts a ON a.id = i.account_id AND `+liveAccount+`
			WHERE i.deleted_at IS NULL AND i.next_run_at <= $1 ORDER BY i.next_run_at LIMIT $2 FOR UPDATE OF i SKIP LOCKED`, now, limit)
		if err != nil {
			return fmt.Errorf("due interfaces: %w", err)
		}
		due, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct {
			ID, Partner, Account, Schedule string
			Slot                           time.Time
		}])
		if err != nil {
			return fmt.Errorf("due interfaces: %w", err)
		}
		b := &pgx.Batch{}
		for _, d := range due {
			cmd := &tenantry.Command{Kind: tenantry.KindScriptRun, PartnerID: d.Partner, AccountID: d.Account,
				JobID: slotJobID(d.ID, d.Slot)}
			cmd.Payload, _ = json.Marshal(map[string]string{"interface_id": d.ID})
			b.Queue(`INSERT INTO core.jobs (id, partner_id, account_id, kind, payload) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (id) DO NOTHING`, cmd.JobID, cmd.PartnerID, cmd.AccountID, cmd.Kind, json.RawMessage(cmd.Payload))
			b.Queue(`INSERT INTO core.outbox (id, subject, headers, data) SELECT $1, $2, $3, $4
				WHERE NOT EXISTS (SELECT 1 FROM core.outbox WHERE id = $1)`, cmd.JobID, cmd.Subject(), cmd.Message().Header, cmd.Message().Data)
			b.Queue(`INSERT INTO core.script_runs (id, interface_id, partner_id, account_id, job_id, trigger, slot)
				VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
				NewID("run"), d.ID, d.Partner, d.Account, cmd.JobID, tenantry.TriggerSchedule, d.Slot)
			b.Queue(`UPDATE core.interfaces SET next_run_at = $2 WHERE id = $1`, d.ID, next(d.Schedule, now))
			msgs = append(msgs, cmd.Message())
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, err
	}
	return msgs, nil
}

// slotJobID is the job id of interface id's run for slot: shaped like
// NewID's (time-ordered by the slot) but derived, not random, so the
// same slot always gets the same id and JetStream de-duplicates it.
func slotJobID(id string, slot time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(slot.UnixMilli())<<16)
	sum := sha256.Sum256([]byte(id + "@" + slot.UTC().Format(time.RFC3339Nano)))
	copy(b[6:], sum[:10])
	return "job_" + hex.EncodeToString(b[:])
}
