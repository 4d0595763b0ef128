package syncer_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/tenantrytest"
)

func TestScheduledSync(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *node.Config) {
		c.DatabaseURL = tenantrytest.Database(t) // a scheduler acts on its whole database
		c.Scheduler = true
		c.Schedule.Interval = 50 * time.Millisecond
	})
	f.p.SetRecords(records(4))
	conn := f.connect()
	for _, bad := range []string{`{"sync_every": 59}`, `{"sync_every": -1}`, `{}`, `{"sync_every": "hourly"}`} {
		r := f.sys.Do("PUT", "/api/server/"+conn+"/schedule", f.token, bad)
		require.Equal(t, http.StatusBadRequest, r.Status, bad)
		require.Equal(t, "sync_every", r.JSON["errors"].([]any)[0].(map[string]any)["field"], bad)
	}
	// by_page asks for a daily sync (its schedule), and just had one.
	require.Equal(t, "succeeded", f.sync(conn, map[string]any{"streams": []string{"by_page"}})["status"])
	r := f.sys.Do("PUT", "/api/server/"+conn+"/schedule", f.token, `{"sync_every": 3600}`)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))

	// The scheduler was down for a long while: one sync runs, not one
	// per missed hour, and the next is an interval away.
	ctx := context.Background()
	pool := f.sys.Node.Store.Pool()
	_, err := pool.Exec(ctx, `UPDATE core.sync_schedules SET next_at = now() - interval '1 day' WHERE connection_id = $1`, conn)
	require.NoError(t, err)
	var runs []any
	require.Eventually(t, func() bool {
		runs = f.sys.Do("GET", "/api/server/"+conn+"/syncs", f.token, nil).JSON["items"].([]any)
		return len(runs) == 2 && runs[0].(map[string]any)["finished_at"] != nil
	}, 20*time.Second, 50*time.Millisecond)
	run := runs[0].(map[string]any)
	require.Equal(t, "schedule", run["trigger"])
	var synced []string
	for _, st := range run["streams"].([]any) {
		synced = append(synced, st.(map[string]any)["stream"].(string))
	}
	require.Equal(t, []string{"by_cursor", "by_link", "by_offset", "broken"}, synced, "every stream that is due")
	require.Equal(t, "partial", run["status"], "every stream but broken")
	var next time.Time
	require.NoError(t, pool.QueryRow(ctx, `SELECT next_at FROM core.sync_schedules WHERE connection_id = $1`, conn).Scan(&next))
	require.WithinDuration(t, time.Now().Add(time.Hour), next, time.Minute)
	time.Sleep(300 * time.Millisecond)
	require.Len(t, f.sys.Do("GET", "/api/server/"+conn+"/syncs", f.token, nil).JSON["items"], 2)

	r = f.sys.Do("PUT", "/api/server/"+conn+"/schedule", f.token, `{"sync_every": 0}`)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM core.sync_schedules WHERE connection_id = $1`, conn).Scan(&n))
	require.Zero(t, n)
}
