package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

// SyncStreamStart is a stream a run is about to sync.
type SyncStreamStart struct {
	Stream, Table string
	// Incremental streams start from the cursor the connection's last
	// sync of the stream committed; others (and full refreshes) from "".
	Incremental bool
}

// StartSyncRun marks run id running and records the streams it syncs, in
// order, each with the cursor it starts from. On redelivery it keeps
// what the first start recorded (streams, cursors, progress) and returns
// the run as it is.
func (s *Store) StartSyncRun(ctx context.Context, id string, streams []SyncStreamStart) (*tenantry.SyncRun, error) {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var connID string
		err := tx.QueryRow(ctx, `UPDATE core.sync_runs SET status = 'running', started_at = coalesce(started_at, now())
			WHERE id = $1 AND status IN ('queued', 'running') RETURNING connection_id`, id).Scan(&connID)
		if err != nil {
			return translate(err, "unfinished sync run "+id)
		}
		b := &pgx.Batch{}
		for i, st := range streams {
			b.Queue(`INSERT INTO core.sync_run_streams (run_id, stream, position, tbl, cursor_before)
				SELECT $1, $2, $3, $4, CASE WHEN $5 THEN coalesce((SELECT cursor FROM core.sync_state
					WHERE connection_id = $6 AND stream = $2), '') ELSE '' END
				ON CONFLICT (run_id, stream) DO NOTHING`, id, st.Stream, i, st.Table, st.Incremental, connID)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, err
	}
	run, _, err := s.SyncRun(ctx, id)
	return run, err
}

// SyncPage is one fetched page of a stream, to write with its checkpoint.
type SyncPage struct {
	Run           *tenantry.SyncRun
	Stream        string
	Schema, Table string
	// After is how many pages of the stream the run had committed when
	// the page was fetched: a page is written once, by whoever fetched it
	// from the committed checkpoint.
	After       int64
	Records     []SyncedRecord
	Checkpoint  string // where the next page starts
	CursorAfter string // the largest incremental cursor seen so far
	// Done: the stream's last page. Its commit ends the stream: with
	// DetectDeletes the rows the run did not see are marked deleted, and
	// StateCursor becomes where the next incremental sync starts.
	Done, DetectDeletes bool
	StateCursor         string
}

// WriteSyncPage writes p's records into the tenant's table and advances
// the stream's checkpoint and counts, in one transaction, so a run
// resumed anywhere neither loses nor repeats a page. ECONFLICT if the
// page was already written (After is behind) or the run is no longer
// running.
func (s *Store) WriteSyncPage(ctx context.Context, p SyncPage) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		// A page lost in a crash (its commit not yet flushed) is lost with
		// its checkpoint, and fetched again on resume: nothing acknowledged
		// depends on it, and the commit of the run's end, synchronous,
		// flushes every page before it. So pages do not wait for the flush.
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return fmt.Errorf("write page: %w", err)
		}
		var pages int64
		err := tx.QueryRow(ctx, `SELECT st.pages FROM core.sync_run_streams st JOIN core.sync_runs r ON r.id = st.run_id
			WHERE st.run_id = $1 AND st.stream = $2 AND r.status = 'running' AND st.status IN ('queued', 'running')
			FOR UPDATE OF st`, p.Run.ID, p.Stream).Scan(&pages)
		if err != nil {
			return translate(err, "running stream "+p.Stream+" of sync run "+p.Run.ID)
		}
		if pages != p.After {
			return tenantry.Errorf(tenantry.ECONFLICT, "page %d of stream %s was already written", p.After+1, p.Stream)
		}
		inserted, updated, err := writeRecords(ctx, tx, p.Schema, p.Table, p.Run.ID, p.Records)
		if err != nil {
			return err
		}
		var deleted int64
		if p.Done && p.DetectDeletes {
			if deleted, err = markDeleted(ctx, tx, p.Schema, p.Table, p.Run.ID); err != nil {
				return err
			}
		}
		return finishPage(ctx, tx, p, int64(inserted), int64(updated), deleted)
	})
}

// finishPage advances the stream past p and, on its last page, commits
// the stream's cursor and logs its totals.
func finishPage(ctx context.Context, tx pgx.Tx, p SyncPage, inserted, updated, deleted int64) error {
	status := tenantry.SyncRunning
	if p.Done {
		status = tenantry.SyncSucceeded
	}
	b := &pgx.Batch{}
	b.Queue(`UPDATE core.sync_run_streams SET checkpoint = $3, cursor_after = $4, status = $5, pages = pages + 1,
		inserted = inserted + $6, updated = updated + $7, deleted = deleted + $8 WHERE run_id = $1 AND stream = $2`,
		p.Run.ID, p.Stream, p.Checkpoint, p.CursorAfter, status, inserted, updated, deleted)
	if p.Done {
		b.Queue(`INSERT INTO core.sync_state (connection_id, stream, cursor, synced_at) VALUES ($1, $2, $3, now())
			ON CONFLICT (connection_id, stream) DO UPDATE SET cursor = excluded.cursor, synced_at = excluded.synced_at`,
			p.Run.ConnectionID, p.Stream, p.StateCursor)
		b.Queue(`INSERT INTO core.connection_logs (connection_id, account_id, level, message, job_id)
			SELECT $1, $2, 'info', format('stream %s synced: %s pages, %s new, %s changed, %s deleted', $3::text,
				pages, inserted, updated, deleted), $4 FROM core.sync_run_streams WHERE run_id = $4 AND stream = $3`,
			p.Run.ConnectionID, p.Run.AccountID, p.Stream, p.Run.ID)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("checkpoint stream %s: %w", p.Stream, err)
	}
	return nil
}

// FailSyncStream records that stream failed for good in run: the run
// goes on with its other streams, and ends partial or failed.
func (s *Store) FailSyncStream(ctx context.Context, run *tenantry.SyncRun, stream, reason string) error {
	reason = CleanText(reason, 300)
	b := &pgx.Batch{}
	b.Queue(`UPDATE core.sync_run_streams SET status = 'failed', reason = $3
		WHERE run_id = $1 AND stream = $2 AND status IN ('queued', 'running')`, run.ID, stream, reason)
	queueLog(b, &tenantry.Connection{ID: run.ConnectionID, AccountID: run.AccountID}, "error",
		"stream "+stream+" failed: "+reason, run.ID)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("fail stream %s: %w", stream, err)
	}
	return nil
}

// FinishSyncRun ends run id from its streams' outcomes: succeeded when
// every stream did (or there was none to sync), failed when none did,
// partial otherwise. The job fails with the run. It returns the
// sync.succeeded or sync.failed event; a redelivery of a finished run
// changes nothing and returns none.
func (s *Store) FinishSyncRun(ctx context.Context, id string) ([]tenantry.Message, error) {
	run, _, err := s.SyncRun(ctx, id)
	if err != nil {
		return nil, err
	}
	var ok int
	var reasons []string
	for _, st := range run.Streams {
		if st.Status == tenantry.SyncSucceeded {
			ok++
		} else {
			reasons = append(reasons, st.Stream+": "+st.Reason)
		}
	}
	run.Status, run.Reason = tenantry.SyncSucceeded, CleanText(strings.Join(reasons, "; "), 1000)
	jobStatus := tenantry.JobSucceeded
	switch {
	case len(reasons) > 0 && ok > 0:
		run.Status = tenantry.SyncPartial
	case len(reasons) > 0:
		run.Status, jobStatus = tenantry.SyncFailed, tenantry.JobFailed
	}
	return s.finishJob(ctx, id, jobStatus, run.Reason, func(tx pgx.Tx, _ *tenantry.Job) ([]tenantry.Message, error) {
		return endSyncRun(ctx, tx, run)
	})
}

// endSyncRun records run's outcome (Status, Reason) and logs it; it
// returns the run's event.
func endSyncRun(ctx context.Context, tx pgx.Tx, run *tenantry.SyncRun) ([]tenantry.Message, error) {
	typ, level := tenantry.EventSyncSucceeded, "info"
	if run.Status != tenantry.SyncSucceeded {
		typ, level = tenantry.EventSyncFailed, "error"
	}
	msg := fmt.Sprintf("sync %s: %d new, %d changed, %d deleted", run.Status, run.Inserted, run.Updated, run.Deleted)
	if run.Reason != "" {
		msg += " (" + run.Reason + ")"
	}
	b := &pgx.Batch{}
	b.Queue(`UPDATE core.sync_runs SET status = $2, reason = $3, finished_at = now(), started_at = coalesce(started_at, now())
		WHERE id = $1`, run.ID, run.Status, run.Reason)
	queueLog(b, &tenantry.Connection{ID: run.ConnectionID, AccountID: run.AccountID}, level, CleanText(msg, 1000), run.ID)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("end sync run %s: %w", run.ID, err)
	}
	return []tenantry.Message{syncEvent(run, typ)}, nil
}

// failSyncRun is FailJob's effect on a sync job: the run fails with
// reason, and so do its unfinished streams.
func failSyncRun(ctx context.Context, tx pgx.Tx, j *tenantry.Job, reason string) ([]tenantry.Message, error) {
	run, err := scanSyncRun(tx.QueryRow(ctx, `SELECT `+syncRunColumns+` FROM core.sync_runs WHERE id = $1 FOR UPDATE`, j.ID))
	if err != nil {
		return nil, translate(err, "sync run "+j.ID)
	}
	_, err = tx.Exec(ctx, `UPDATE core.sync_run_streams SET status = 'failed', reason = $2
		WHERE run_id = $1 AND status IN ('queued', 'running')`, j.ID, CleanText(reason, 300))
	if err != nil {
		return nil, fmt.Errorf("fail streams of %s: %w", j.ID, err)
	}
	err = tx.QueryRow(ctx, `SELECT coalesce(sum(pages), 0), coalesce(sum(inserted), 0), coalesce(sum(updated), 0),
		coalesce(sum(deleted), 0) FROM core.sync_run_streams WHERE run_id = $1`, j.ID).Scan(&run.Pages, &run.Inserted, &run.Updated, &run.Deleted)
	if err != nil {
		return nil, fmt.Errorf("count sync run %s: %w", j.ID, err)
	}
	run.Status, run.Reason = tenantry.SyncFailed, CleanText(reason, 1000)
	return endSyncRun(ctx, tx, run)
}
