package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

const runColumns = `id, interface_id, job_id, trigger, slot, status, log, result, error, steps, duration_ms,
	created_at, started_at, finished_at`

func scanRun(row pgx.Row) (*tenantry.ScriptRun, error) {
	r := &tenantry.ScriptRun{}
	var result []byte
	err := row.Scan(&r.ID, &r.InterfaceID, &r.JobID, &r.Trigger, &r.Slot, &r.Status, &r.Log, &result, &r.Error,
		&r.Steps, &r.DurationMS, &r.CreatedAt, &r.StartedAt, &r.FinishedAt)
	if result != nil {
		r.Result = result
	}
	return r, err
}

// QueueScriptRun accepts a manual run of interface id: the run, its job
// and its command commit together. ENOTFOUND if c may not see the
// interface. It returns the run and the command to publish.
func (s *Store) QueueScriptRun(ctx context.Context, c tenantry.Caller, id, requestID string) (*tenantry.ScriptRun, tenantry.Message, error) {
	var run *tenantry.ScriptRun
	var msg tenantry.Message
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var account string
		err := tx.QueryRow(ctx, `SELECT account_id FROM core.interfaces WHERE `+interfaceScope+` AND id = $3`,
			c.PartnerID, c.AccountID, id).Scan(&account)
		if err != nil {
			return translate(err, "interface "+id)
		}
		cmd := &tenantry.Command{Kind: tenantry.KindScriptRun, PartnerID: c.PartnerID, AccountID: account, RequestID: requestID}
		b := &pgx.Batch{}
		queueJob(b, cmd)
		run, err = queueRun(ctx, tx, b, cmd, id, tenantry.TriggerManual, nil)
		msg = cmd.Message()
		return err
	})
	return run, msg, err
}

// queueRun sends b (which queued cmd's job) with the run's row for
// interface id in tx, and returns the run.
func queueRun(ctx context.Context, tx pgx.Tx, b *pgx.Batch, cmd *tenantry.Command, id, trigger string, slot *time.Time) (*tenantry.ScriptRun, error) {
	var run *tenantry.ScriptRun
	b.Queue(`INSERT INTO core.script_runs (id, interface_id, partner_id, account_id, job_id, trigger, slot)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+runColumns,
		NewID("run"), id, cmd.PartnerID, cmd.AccountID, cmd.JobID, trigger, slot).
		QueryRow(func(row pgx.Row) (err error) { run, err = scanRun(row); return err })
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, translate(err, "script run")
	}
	return run, nil
}

// ScriptRuns lists the runs of interface id, newest first. ENOTFOUND if
// c may not see the interface.
func (s *Store) ScriptRuns(ctx context.Context, c tenantry.Caller, id string, p tenantry.Page) ([]*tenantry.ScriptRun, string, error) {
	if _, err := s.Interface(ctx, c, id); err != nil {
		return nil, "", err
	}
	p.Limit = pageLimit(p)
	return listPage(ctx, s, "list script runs", p.Limit, scanRun, func(r *tenantry.ScriptRun) string { return r.ID },
		`SELECT `+runColumns+` FROM core.script_runs WHERE interface_id = $1 AND ($2 = '' OR id < $2)
		ORDER BY id DESC LIMIT $3`, id, p.Cursor, p.Limit+1)
}

// ScriptWork is what a worker needs to run a script.
type ScriptWork struct {
	RunID     string
	AccountID string
	Code      string
}

// StartScriptRun marks the run of job jobID running and returns its
// script, as it is now. ENOTFOUND if there is no such run, or its
// interface was deleted.
func (s *Store) StartScriptRun(ctx context.Context, jobID string) (*ScriptWork, error) {
	w := &ScriptWork{}
	err := s.pool.QueryRow(ctx, `UPDATE core.script_runs r SET status = 'running', started_at = coalesce(r.started_at, now())
		FROM core.interfaces i, core.accounts a WHERE r.job_id = $1 AND i.id = r.interface_id AND i.deleted_at IS NULL
			AND a.id = r.account_id AND `+liveAccount+`
		RETURNING r.id, r.account_id, i.raw_code`, jobID).Scan(&w.RunID, &w.AccountID, &w.Code)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tenantry.Errorf(tenantry.ENOTFOUND, "the interface of this run, or its account, was deleted")
	}
	if err != nil {
		return nil, translate(err, "script run")
	}
	return w, nil
}

// RunOutcome is how a run ended.
type RunOutcome struct {
	Log        string
	Result     json.RawMessage // nil on failure
	Error      *tenantry.RunError
	Steps      int64
	DurationMS int64
}

// maxRunLog is how much of a run's log is kept: its end.
const maxRunLog = 64 << 10

// FinishScriptRun records the outcome of the run of job jobID and
// finishes the job — failed, with the run's error, when the script
// failed — in one transaction. A redelivery of a finished job changes
// nothing.
func (s *Store) FinishScriptRun(ctx context.Context, jobID string, o RunOutcome) error {
	status, msg := tenantry.JobSucceeded, ""
	if o.Error != nil {
		status, msg = tenantry.JobFailed, CleanText(o.Error.Message, 300)
	}
	if len(o.Log) > maxRunLog {
		o.Log = "…" + o.Log[len(o.Log)-maxRunLog:]
	}
	_, err := s.finishJob(ctx, jobID, status, msg, func(tx pgx.Tx, j *tenantry.Job) ([]tenantry.Message, error) {
		_, err := tx.Exec(ctx, `UPDATE core.script_runs SET status = $2, log = $3, result = $4, error = $5,
			steps = $6, duration_ms = $7, finished_at = now() WHERE job_id = $1`,
			jobID, status, validText(o.Log), nullJSON(o.Result), o.Error, o.Steps, o.DurationMS)
		return nil, translate(err, "script run")
	})
	return err
}

// failScriptRun is FailJob's effect on a script job: its run fails with
// reason, as a platform error (the script may never have run).
func failScriptRun(ctx context.Context, tx pgx.Tx, j *tenantry.Job, reason string) ([]tenantry.Message, error) {
	_, err := tx.Exec(ctx, `UPDATE core.script_runs SET status = 'failed', error = $2, finished_at = now()
		WHERE job_id = $1 AND status IN ('queued', 'running')`,
		j.ID, &tenantry.RunError{Kind: "platform", Message: CleanText(reason, 300)})
	return nil, translate(err, "script run")
}

// FailScriptRun records a run that could not happen (its interface was
// deleted) as failed, with its job.
func (s *Store) FailScriptRun(ctx context.Context, jobID, reason string) error {
	return s.FinishScriptRun(ctx, jobID, RunOutcome{Error: &tenantry.RunError{Kind: "error", Message: reason}})
}

func nullJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// validText is s without what Postgres text cannot hold: invalid UTF-8
// and NUL.
func validText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}
