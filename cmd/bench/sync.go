package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantry/tenantry"
)

// syncTimeout bounds one sync, from its request to its event.
const syncTimeout = 10 * time.Minute

// syncPath is a sync end to end: POST /api/server/{id}/sync, then the
// wait for the run's sync.succeeded event (after the commit that ends
// the run), over a connection to the fake API in a subaccount of its
// own. Like the hot paths it learns of the end from the EVENTS stream,
// not by polling.
type syncPath struct {
	api  *hotPath // POST /api/servers making bench_api connections, with the subaccount's token
	base string   // the API's URL
	src  *syncSource
	pool *pgxpool.Pool // to check the warehouse
}

func newSyncPath(base string, client *http.Client, timeout time.Duration, done *completions, src *syncSource, pool *pgxpool.Pool) *syncPath {
	api := &hotPath{route: "POST /api/servers", url: base + "/api/servers", client: client, timeout: timeout, done: done,
		body: func(n int64) string {
			return fmt.Sprintf(`{"servertype_id":"bench_api","name":"sync%d","api_key":%q}`, n, syncAPIKey)
		}}
	return &syncPath{api: api, base: base, src: src, pool: pool}
}

// connect makes a connection to the fake API and waits until its
// credential check has made it active. Not timed.
func (s *syncPath) connect(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.api.timeout)
	defer cancel()
	id, jobID, err := s.api.post(ctx)
	if err == nil {
		_, err = s.api.done.wait(ctx, jobID)
	}
	if err != nil {
		return "", fmt.Errorf("connect to the fake sync API: %w", err)
	}
	return id, nil
}

// sync syncs connection conn (a full refresh if full) and returns the
// time from the request to the run's event. It then checks the run:
// inserted new rows, see verify.
func (s *syncPath) sync(ctx context.Context, conn string, full bool, inserted int) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	var out struct {
		JobID string `json:"job_id"`
	}
	start := time.Now()
	err := s.api.do(ctx, http.MethodPost, s.base+"/api/server/"+conn+"/sync",
		fmt.Sprintf(`{"full_refresh":%t}`, full), http.StatusAccepted, &out)
	if err != nil {
		return 0, err
	}
	at, err := s.api.done.wait(ctx, out.JobID)
	if err != nil {
		if run, lerr := s.run(ctx, conn, out.JobID); lerr == nil {
			err = fmt.Errorf("%w: the ledger says %s: %s", err, run.Status, run.Reason)
		}
		return 0, fmt.Errorf("sync %s: %w", out.JobID, err)
	}
	return at.Sub(start), s.verify(ctx, conn, out.JobID, inserted)
}

// verify checks run id in the ledger (GET /api/server/{id}/syncs): it
// succeeded, read every page of its one stream, found inserted new rows
// and none changed or deleted. In the warehouse every row must carry
// the run's id and none be deleted: the run wrote all of them.
func (s *syncPath) verify(ctx context.Context, conn, id string, inserted int) error {
	run, err := s.run(ctx, conn, id)
	if err != nil {
		return err
	}
	rows := len(s.src.recs)
	pages := int64(len(s.src.pages))
	if run.Status != tenantry.SyncSucceeded || len(run.Streams) != 1 || run.Pages != pages ||
		run.Inserted != int64(inserted) || run.Updated != 0 || run.Deleted != 0 {
		return fmt.Errorf("sync %s: the ledger says %s (%s), %d streams, %d pages, %d new, %d changed, %d deleted; "+
			"want succeeded, 1 stream, %d pages, %d new, none changed or deleted", id, run.Status, run.Reason,
			len(run.Streams), run.Pages, run.Inserted, run.Updated, run.Deleted, pages, inserted)
	}
	var schema string
	err = s.pool.QueryRow(ctx, `SELECT a.schema_name FROM core.accounts a JOIN core.connections c ON c.account_id = a.id
		WHERE c.id = $1`, conn).Scan(&schema)
	if err != nil {
		return fmt.Errorf("sync %s: the connection's schema: %w", id, err)
	}
	var total, stamped int
	err = s.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE run_id = $1 AND deleted_at IS NULL) FROM `+
		pgx.Identifier{schema, run.Streams[0].Table}.Sanitize(), id).Scan(&total, &stamped)
	if err != nil {
		return fmt.Errorf("sync %s: count its rows: %w", id, err)
	}
	if total != rows || stamped != rows {
		return fmt.Errorf("sync %s: the warehouse table has %d rows, %d of them written by the run; want %d", id, total, stamped, rows)
	}
	return nil
}

// run returns sync run id of connection conn, from the ledger.
func (s *syncPath) run(ctx context.Context, conn, id string) (*tenantry.SyncRun, error) {
	var list struct {
		Items []tenantry.SyncRun `json:"items"`
	}
	if err := s.api.do(ctx, http.MethodGet, s.base+"/api/server/"+conn+"/syncs?limit=10", "", http.StatusOK, &list); err != nil {
		return nil, fmt.Errorf("sync %s: the ledger: %w", id, err)
	}
	for i := range list.Items {
		if list.Items[i].ID == id {
			return &list.Items[i], nil
		}
	}
	return nil, fmt.Errorf("sync %s is not in the ledger", id)
}
