package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

const syncRunColumns = `id, connection_id, partner_id, account_id, trigger, full_refresh, status, reason,
	created_at, started_at, finished_at`

// scanSyncRun scans syncRunColumns, then extra.
func scanSyncRun(row pgx.Row, extra ...any) (*tenantry.SyncRun, error) {
	r := &tenantry.SyncRun{}
	err := row.Scan(append([]any{&r.ID, &r.ConnectionID, &r.PartnerID, &r.AccountID, &r.Trigger, &r.FullRefresh, &r.Status,
		&r.Reason, &r.CreatedAt, &r.StartedAt, &r.FinishedAt}, extra...)...)
	r.JobID = r.ID
	if r.StartedAt != nil && r.FinishedAt != nil {
		ms := r.FinishedAt.Sub(*r.StartedAt).Milliseconds()
		r.DurationMS = &ms
	}
	return r, err
}

// RequestSync queues a sync of connection connID, which caller must be
// able to see (ENOTFOUND otherwise), as a job and a ledger entry in one
// transaction. It returns ECONFLICT, naming the running job, while
// another sync of the connection is queued or running, and when the
// connection is not active or degraded. It returns the command to publish.
func (s *Store) RequestSync(ctx context.Context, caller tenantry.Caller, connID string, req tenantry.SyncRequest,
	trigger string) (*tenantry.SyncRun, []tenantry.Message, error) {
	var run *tenantry.SyncRun
	var msgs []tenantry.Message
	err := s.inTx(ctx, func(tx pgx.Tx) (err error) {
		run, msgs, err = requestSync(ctx, tx, caller, connID, req, trigger)
		return err
	})
	return run, msgs, err
}

func requestSync(ctx context.Context, tx pgx.Tx, caller tenantry.Caller, connID string, req tenantry.SyncRequest,
	trigger string) (*tenantry.SyncRun, []tenantry.Message, error) {
	// The row lock orders concurrent requests: the second sees the first's run.
	c, err := scanConnection(tx.QueryRow(ctx, `SELECT `+connectionColumns+` FROM core.connections
		WHERE `+connScope+` AND id = $3 FOR UPDATE`, caller.PartnerID, caller.AccountID, connID))
	if err != nil {
		return nil, nil, translate(err, "connection "+connID)
	}
	if c.Status != tenantry.ConnActive && c.Status != tenantry.ConnDegraded {
		return nil, nil, tenantry.Errorf(tenantry.ECONFLICT, "connection %s is %s; only an active or degraded connection syncs", connID, c.Status)
	}
	var running string
	err = tx.QueryRow(ctx, `SELECT id FROM core.sync_runs WHERE connection_id = $1 AND status IN ('queued', 'running')`, connID).Scan(&running)
	if err == nil {
		return nil, nil, tenantry.Errorf(tenantry.ECONFLICT, "a sync of connection %s is already in progress (job %s)", connID, running)
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, translate(err, "sync runs")
	}
	payload, _ := json.Marshal(map[string]string{"connection_id": connID})
	cmd := &tenantry.Command{Kind: tenantry.KindSync, PartnerID: c.PartnerID, AccountID: c.AccountID,
		RequestID: req.RequestID, Payload: payload}
	b := &pgx.Batch{}
	queueJob(b, cmd)
	streams := req.Streams
	if streams == nil {
		streams = []string{}
	}
	run := &tenantry.SyncRun{}
	b.Queue(`INSERT INTO core.sync_runs (id, connection_id, partner_id, account_id, streams, full_refresh, trigger)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+syncRunColumns,
		cmd.JobID, connID, c.PartnerID, c.AccountID, streams, req.FullRefresh, trigger).
		QueryRow(func(row pgx.Row) (err error) { run, err = scanSyncRun(row); return err })
	queueLog(b, c, "info", fmt.Sprintf("sync requested (%s)", trigger), cmd.JobID)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, translate(err, "sync of connection "+connID)
	}
	return run, []tenantry.Message{cmd.Message()}, nil
}

// SyncRuns lists connection connID's runs, newest first, with their
// streams, if caller may see the connection (ENOTFOUND if not).
func (s *Store) SyncRuns(ctx context.Context, caller tenantry.Caller, connID string, p tenantry.Page) ([]*tenantry.SyncRun, string, error) {
	if _, err := s.Connection(ctx, caller, connID); err != nil {
		return nil, "", err
	}
	limit := pageLimit(p)
	scan := func(row pgx.Row) (*tenantry.SyncRun, error) { return scanSyncRun(row) }
	runs, next, err := listPage(ctx, s, "query sync runs", limit, scan, func(r *tenantry.SyncRun) string { return r.ID },
		`SELECT `+syncRunColumns+` FROM core.sync_runs WHERE connection_id = $1 AND ($2 = '' OR id < $2)
		ORDER BY id DESC LIMIT $3`, connID, p.Cursor, limit+1)
	if err != nil {
		return nil, "", err
	}
	return runs, next, s.addStreams(ctx, runs...)
}

// SyncRun returns run id with its streams, for a worker acting on its
// tenant's behalf. ENOTFOUND if there is none.
func (s *Store) SyncRun(ctx context.Context, id string) (*tenantry.SyncRun, []string, error) {
	var requested []string
	r, err := scanSyncRun(s.pool.QueryRow(ctx, `SELECT `+syncRunColumns+`, streams FROM core.sync_runs WHERE id = $1`, id), &requested)
	if err != nil {
		return nil, nil, translate(err, "sync run "+id)
	}
	return r, requested, s.addStreams(ctx, r)
}

// addStreams loads the streams of runs and adds up their totals.
func (s *Store) addStreams(ctx context.Context, runs ...*tenantry.SyncRun) error {
	byID := map[string]*tenantry.SyncRun{}
	ids := make([]string, len(runs))
	for i, r := range runs {
		byID[r.ID], ids[i] = r, r.ID
		r.Streams = []tenantry.SyncStream{}
	}
	rows, err := s.pool.Query(ctx, `SELECT run_id, stream, status, reason, tbl, cursor_before, cursor_after,
		pages, inserted, updated, deleted, checkpoint FROM core.sync_run_streams WHERE run_id = ANY($1) ORDER BY run_id, position`, ids)
	if err != nil {
		return fmt.Errorf("query sync streams: %w", err)
	}
	var runID string
	var st tenantry.SyncStream
	_, err = pgx.ForEachRow(rows, []any{&runID, &st.Stream, &st.Status, &st.Reason, &st.Table, &st.CursorBefore, &st.CursorAfter,
		&st.Pages, &st.Inserted, &st.Updated, &st.Deleted, &st.Checkpoint}, func() error {
		r := byID[runID]
		r.Streams = append(r.Streams, st)
		r.Pages, r.Inserted, r.Updated, r.Deleted = r.Pages+st.Pages, r.Inserted+st.Inserted, r.Updated+st.Updated, r.Deleted+st.Deleted
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan sync streams: %w", err)
	}
	return nil
}

// syncEvent is the event of a finished run.
func syncEvent(r *tenantry.SyncRun, typ string) tenantry.Message {
	data, _ := json.Marshal(map[string]any{"connection_id": r.ConnectionID, "run_id": r.ID, "status": r.Status,
		"reason": r.Reason, "inserted": r.Inserted, "updated": r.Updated, "deleted": r.Deleted})
	return tenantry.Event{ID: NewID("evt"), Type: typ, PartnerID: r.PartnerID, AccountID: r.AccountID,
		JobID: r.ID, At: time.Now().UTC(), Data: data}.Message()
}

// SyncedAt returns when each stream of connection connID last finished
// a sync.
func (s *Store) SyncedAt(ctx context.Context, connID string) (map[string]time.Time, error) {
	rows, err := s.pool.Query(ctx, `SELECT stream, synced_at FROM core.sync_state WHERE connection_id = $1`, connID)
	if err != nil {
		return nil, fmt.Errorf("query sync state: %w", err)
	}
	out := map[string]time.Time{}
	var stream string
	var at time.Time
	_, err = pgx.ForEachRow(rows, []any{&stream, &at}, func() error { out[stream] = at; return nil })
	if err != nil {
		return nil, fmt.Errorf("scan sync state: %w", err)
	}
	return out, nil
}
