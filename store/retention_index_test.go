package store_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/tenantrytest"
)

// TestRetentionUsesIndexes: each retention statement, and the foreign
// key checks its deletes set off, reads the old rows it deletes and not
// the young ones: an index finds them, so a pass over a large table does
// not scan it. (Sequential scans are priced out, so that the plans do not
// hinge on these fresh tables' statistics.)
func TestRetentionUsesIndexes(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(tenantrytest.Database(t))
	require.NoError(t, err)
	// One session, whose statistics are flushed below.
	u.RawQuery = strings.TrimPrefix(u.RawQuery+"&pool_max_conns=1&options=-c%20enable_seqscan%3Doff", "&")
	f := retentionSetup(t, u.String())
	// Autovacuum would read these tables too, and be counted.
	f.exec(t, `DO $$ DECLARE r regclass; BEGIN
		FOR r IN SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'core' AND c.relkind = 'r'
		LOOP EXECUTE format('ALTER TABLE %s SET (autovacuum_enabled = false)', r); END LOOP; END $$`)
	f.exec(t, `INSERT INTO core.notification_endpoints (id, partner_id, url, events, secret)
		VALUES ('nep_1', $1, 'https://partner.example/hooks', '{}', '\x00')`, f.partner)
	const young = 20000 // rows per table: a scan reads 100 blocks or more, the index path some 30
	f.exec(t, `INSERT INTO core.webhook_events (id, partner_id, account_id, webhook_id, body, status, received_at)
		SELECT 'whk_' || i, $1, $2, 'w' || i, '', 'processed', now() FROM generate_series(1, $3) i`, f.partner, f.account, young)
	f.exec(t, `INSERT INTO core.script_runs (id, interface_id, partner_id, account_id, job_id, trigger, status, webhook_event_id)
		SELECT 'run_' || i, $1, $2, $3, '', 'endpoint', 'succeeded', CASE WHEN i % 2 = 0 THEN 'whk_' || i / 2 END
		FROM generate_series(1, $4) i`, f.ifc, f.partner, f.account, 2*young)
	f.exec(t, `INSERT INTO core.notification_deliveries (id, endpoint_id, partner_id, event_id, event_type, payload, status)
		SELECT 'dlv_' || i, 'nep_1', $1, 'evt_' || i, 'job.failed', '', 'succeeded' FROM generate_series(1, $2) i`, f.partner, young)
	f.exec(t, `INSERT INTO core.notification_attempts (delivery_id) SELECT 'dlv_' || i FROM generate_series(1, $1) i`, young)
	f.exec(t, `INSERT INTO core.connection_logs (connection_id, account_id, level, message)
		SELECT 'srv_1', $1, 'info', 'young' FROM generate_series(1, $2) i`, f.account, young)
	f.exec(t, `INSERT INTO core.jobs (id, partner_id, account_id, kind, status)
		SELECT 'job_' || i, $1, $2, 'sync.run', 'succeeded' FROM generate_series(1, $3) i`, f.partner, f.account, young)
	f.exec(t, `INSERT INTO core.sync_runs (id, connection_id, partner_id, account_id, streams, full_refresh, trigger, status)
		SELECT id, 'srv_1', partner_id, account_id, '{}', false, 'api', 'succeeded' FROM core.jobs WHERE id LIKE 'job\_%'`)
	f.exec(t, `INSERT INTO core.sync_run_streams (run_id, stream, position, tbl) SELECT id, 's', 0, 's' FROM core.sync_runs`)
	// One old row of each, with its children.
	f.scriptRun(t, "old_succeeded", tenantry.JobSucceeded, "")
	f.webhook(t, "old_processed", tenantry.WebhookProcessed)
	f.exec(t, `UPDATE core.notification_deliveries SET created_at = now() - interval '2 days' WHERE id = 'dlv_1'`)
	f.exec(t, `UPDATE core.jobs SET created_at = now() - interval '2 days' WHERE id = 'job_1'`)
	f.exec(t, `INSERT INTO core.connection_logs (connection_id, account_id, at, level, message)
		VALUES ('srv_1', $1, now() - interval '2 days', 'info', 'old')`, f.account)
	f.exec(t, `ANALYZE`)

	// reads returns how many blocks of each core table and its indexes
	// were read.
	reads := func() map[string]int64 {
		f.exec(t, `SELECT pg_stat_force_next_flush()`) // this session's counts, once it is idle
		rows, err := f.st.Pool().Query(f.ctx, `SELECT relname, heap_blks_read + heap_blks_hit
			+ coalesce(idx_blks_read, 0) + coalesce(idx_blks_hit, 0) FROM pg_statio_user_tables WHERE schemaname = 'core'`)
		require.NoError(t, err)
		out := map[string]int64{}
		for rows.Next() {
			var name string
			var n int64
			require.NoError(t, rows.Scan(&name, &n))
			out[name] = n
		}
		require.NoError(t, rows.Err())
		return out
	}
	for name, del := range map[string]func(context.Context, time.Time, int) (int64, error){
		"script runs": f.st.DeleteScriptRunsBefore, "webhook events": f.st.DeleteWebhookEventsBefore,
		"deliveries": f.st.DeleteDeliveriesBefore, "connection logs": f.st.DeleteConnectionLogsBefore,
		"jobs": f.st.DeleteJobsBefore,
	} {
		before := reads()
		n, err := del(f.ctx, f.before, 100)
		require.NoError(t, err)
		require.EqualValues(t, 1, n, name)
		for table, after := range reads() {
			require.Less(t, after-before[table], int64(60), "deleting old %s read %d blocks of core.%s", name, after-before[table], table)
		}
	}
}
