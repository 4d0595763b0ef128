package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

const jobColumns = `id, partner_id, coalesce(account_id, ''), kind, status, attempts, error, created_at, started_at, finished_at`

func scanJob(row pgx.Row) (*tenantry.Job, error) {
	j := &tenantry.Job{}
	err := row.Scan(&j.ID, &j.PartnerID, &j.AccountID, &j.Kind, &j.Status, &j.Attempts, &j.Error,
		&j.CreatedAt, &j.StartedAt, &j.FinishedAt)
	return j, err
}

// queueJob queues cmd as a queued job, and its command in the outbox, in
// b: the command is accepted exactly when b's transaction commits.
func queueJob(b *pgx.Batch, cmd *tenantry.Command) {
	cmd.JobID = NewID("job")
	var account *string
	if cmd.AccountID != "" {
		account = &cmd.AccountID
	}
	b.Queue(`INSERT INTO core.jobs (id, partner_id, account_id, kind, payload) VALUES ($1, $2, $3, $4, $5)`,
		cmd.JobID, cmd.PartnerID, account, cmd.Kind, json.RawMessage(cmd.Payload))
	queueOutbox(b, cmd.Message())
}

// Job returns job id if c may see it: a partner sees its own jobs, an
// end-customer those of its account. ENOTFOUND otherwise.
func (s *Store) Job(ctx context.Context, c tenantry.Caller, id string) (*tenantry.Job, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, `SELECT `+jobColumns+` FROM core.jobs
		WHERE id = $1 AND partner_id = $2 AND ($3 = '' OR account_id = $3)`, id, c.PartnerID, c.AccountID))
	if err != nil {
		return nil, translate(err, "job "+id)
	}
	return j, nil
}

// StartJob marks job id running and counts the attempt. On redelivery of a
// finished job it changes nothing and returns the job as it is, so the
// caller can see it is done. ENOTFOUND if there is no such job. The mark
// is bookkeeping (the effect is decided in finishJob), so it commits
// without waiting for the WAL flush.
func (s *Store) StartJob(ctx context.Context, id string) (*tenantry.Job, error) {
	var j *tenantry.Job
	err := s.relaxed(ctx, `UPDATE core.jobs SET status = 'running', attempts = attempts + 1,
		started_at = coalesce(started_at, now()) WHERE id = $1 AND status IN ('queued', 'running')
		RETURNING `+jobColumns, []any{id}, func(row pgx.Row) (err error) { j, err = scanJob(row); return err })
	if errors.Is(err, pgx.ErrNoRows) {
		j, err = scanJob(s.pool.QueryRow(ctx, `SELECT `+jobColumns+` FROM core.jobs WHERE id = $1`, id))
	}
	if err != nil {
		return nil, translate(err, "job "+id)
	}
	return j, nil
}

// RecordJobError keeps the last error of a job that will be retried.
func (s *Store) RecordJobError(ctx context.Context, id, msg string) error {
	_, err := s.pool.Exec(ctx, `UPDATE core.jobs SET error = $2 WHERE id = $1 AND status = 'running'`, id, msg)
	if err != nil {
		return fmt.Errorf("record job error: %w", err)
	}
	return nil
}

// FailJob marks job id failed with msg, and records the failure on what
// the job was working on (its subaccount, connection, sync or script run), in one
// transaction. A job already finished is
// left as it is. It returns the job.failed event to publish.
func (s *Store) FailJob(ctx context.Context, id, msg string) ([]tenantry.Message, error) {
	return s.finishJob(ctx, id, tenantry.JobFailed, msg, func(tx pgx.Tx, j *tenantry.Job) ([]tenantry.Message, error) {
		rollback := rollbackSubaccount
		switch {
		case strings.HasPrefix(j.Kind, "connection."):
			rollback = rollbackConnection
		case j.Kind == tenantry.KindSync:
			rollback = failSyncRun
		case j.Kind == tenantry.KindScriptRun:
			rollback = failScriptRun
		}
		msgs, err := rollback(ctx, tx, j, msg)
		if err != nil {
			return nil, err
		}
		return append(msgs, newEvent(j, tenantry.EventJobFailed)), nil
	})
}

// finishJob runs effect in one transaction with job id locked, then marks
// the job status and writes effect's messages to the outbox. If the job
// has already finished (a redelivery), nothing is applied and no messages
// are returned: effects happen at most once, and with the worker's retry,
// exactly once.
func (s *Store) finishJob(ctx context.Context, id, status, msg string,
	effect func(tx pgx.Tx, j *tenantry.Job) ([]tenantry.Message, error)) ([]tenantry.Message, error) {
	var out []tenantry.Message
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		j, err := scanJob(tx.QueryRow(ctx, `SELECT `+jobColumns+` FROM core.jobs WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return translate(err, "job "+id)
		}
		if j.Status == tenantry.JobSucceeded || j.Status == tenantry.JobFailed {
			return nil
		}
		msgs, err := effect(tx, j)
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`UPDATE core.jobs SET status = $2, error = $3, finished_at = now() WHERE id = $1`, id, status, msg)
		queueOutbox(b, msgs...)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("finish job: %w", err)
		}
		out = msgs
		return nil
	})
	return out, err
}

func newEvent(j *tenantry.Job, typ string) tenantry.Message {
	return tenantry.Event{ID: NewID("evt"), Type: typ, PartnerID: j.PartnerID, AccountID: j.AccountID,
		JobID: j.ID, At: time.Now().UTC()}.Message()
}
