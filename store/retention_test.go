package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/tenantrytest"
)

// retentionFixture is a database of the test's own (retention deletes
// across every account) with a partner, an account, a connection and an
// interface.
type retentionFixture struct {
	ctx                   context.Context
	st                    *store.Store
	partner, account, ifc string
	before                time.Time // the cutoff: "old" rows are two days old, "young" ones new
}

func retentionSetup(t *testing.T, dbURL string) *retentionFixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	p := &tenantry.Partner{Name: "retention"}
	require.NoError(t, st.CreatePartner(ctx, p))
	a := &tenantry.Subaccount{PartnerID: p.ID, ExternalID: "retention"}
	require.NoError(t, st.CreateSubaccount(ctx, a, &tenantry.Command{Kind: tenantry.KindProvision}))
	i := &tenantry.Interface{Name: "handler", RawCode: "def handler(request):\n    return 1\n"}
	require.NoError(t, st.CreateInterface(ctx, tenantry.Caller{PartnerID: p.ID, AccountID: a.ID}, i))
	f := &retentionFixture{ctx: ctx, st: st, partner: p.ID, account: a.ID, ifc: i.ID, before: time.Now().Add(-24 * time.Hour)}
	f.exec(t, `INSERT INTO core.connections (id, partner_id, account_id, servertype_id, name, status)
		VALUES ('srv_1', $1, $2, 'demo', 'demo', 'active')`, p.ID, a.ID)
	return f
}

func (f *retentionFixture) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	_, err := f.st.Pool().Exec(f.ctx, q, args...)
	require.NoError(t, err)
}

// ids returns the ids q selects, sorted.
func (f *retentionFixture) ids(t *testing.T, q string, args ...any) []string {
	t.Helper()
	rows, err := f.st.Pool().Query(f.ctx, `SELECT id::text FROM (`+q+`) q ORDER BY 1`, args...)
	require.NoError(t, err)
	var out []string
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		out = append(out, id)
	}
	require.NoError(t, rows.Err())
	return out
}

// ago is how long before now a row named old… or young… was created.
func ago(name string) string {
	if name[0] == 'o' {
		return "2 days"
	}
	return "0"
}

// scriptRun inserts a run with status (a webhook handler's when event is
// not ""), created as its id says (see ago).
func (f *retentionFixture) scriptRun(t *testing.T, id, status, event string) {
	t.Helper()
	f.exec(t, `INSERT INTO core.script_runs (id, interface_id, partner_id, account_id, job_id, trigger, status,
			webhook_event_id, created_at)
		VALUES ($1, $2, $3, $4, '', 'endpoint', $5, nullif($6, ''), now() - $7::interval)`,
		id, f.ifc, f.partner, f.account, status, event, ago(id))
}

// webhook records a webhook event received as its name says, finished
// with status (and a handler run made now) unless status is received.
func (f *retentionFixture) webhook(t *testing.T, name, status string) *tenantry.WebhookEvent {
	t.Helper()
	received := time.Now()
	if ago(name) != "0" {
		received = received.Add(-48 * time.Hour)
	}
	ev := &tenantry.WebhookEvent{ID: store.NewID("whk"), PartnerID: f.partner, AccountID: f.account, WebhookID: name,
		Body: []byte(`{}`), ReceivedAt: received}
	_, _, err := f.st.RecordWebhook(f.ctx, ev, 1, tenantry.WebhookReceived)
	require.NoError(t, err)
	if status != tenantry.WebhookReceived {
		run := &store.WebhookRun{ID: "run_" + name, EventID: ev.ID, InterfaceID: f.ifc, PartnerID: f.partner,
			AccountID: f.account, StartedAt: time.Now(), FinishedAt: time.Now()}
		_, err = f.st.FinishWebhook(f.ctx, ev, run, status, "")
		require.NoError(t, err)
	}
	return ev
}

// TestDeleteScriptRunsBefore: old finished runs go; young, unfinished and
// webhook handler runs (which go with their event) stay.
func TestDeleteScriptRunsBefore(t *testing.T) {
	t.Parallel()
	f := retentionSetup(t, tenantrytest.Database(t))
	f.scriptRun(t, "old_succeeded", tenantry.JobSucceeded, "")
	f.scriptRun(t, "old_failed", tenantry.JobFailed, "")
	f.scriptRun(t, "old_queued", tenantry.JobQueued, "")
	f.scriptRun(t, "old_running", tenantry.JobRunning, "")
	f.scriptRun(t, "young_succeeded", tenantry.JobSucceeded, "")
	ev := f.webhook(t, "young_event", tenantry.WebhookReceived)
	f.scriptRun(t, "old_webhook_run", tenantry.JobSucceeded, ev.ID)

	n, err := f.st.DeleteScriptRunsBefore(f.ctx, f.before, 100)
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	require.Equal(t, []string{"old_queued", "old_running", "old_webhook_run", "young_succeeded"},
		f.ids(t, `SELECT id FROM core.script_runs`))
}

// TestDeleteWebhookEventsBefore: old handled events go with their
// handler's runs, even a run younger than the cutoff; an event still
// received, or young, stays with its run.
func TestDeleteWebhookEventsBefore(t *testing.T) {
	t.Parallel()
	f := retentionSetup(t, tenantrytest.Database(t))
	f.webhook(t, "old_processed", tenantry.WebhookProcessed)
	failed := f.webhook(t, "old_failed", tenantry.WebhookFailed)
	received := f.webhook(t, "old_received", tenantry.WebhookReceived)
	young := f.webhook(t, "young_processed", tenantry.WebhookProcessed)
	f.scriptRun(t, "old_retry_run", tenantry.JobFailed, failed.ID) // an earlier run of the failed event
	require.Equal(t, []string{"old_retry_run", "run_old_failed", "run_old_processed", "run_young_processed"},
		f.ids(t, `SELECT id FROM core.script_runs`), "runs linked to their events")

	n, err := f.st.DeleteWebhookEventsBefore(f.ctx, f.before, 100)
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	require.ElementsMatch(t, []string{received.ID, young.ID}, f.ids(t, `SELECT id FROM core.webhook_events`))
	require.Equal(t, []string{"run_young_processed"}, f.ids(t, `SELECT id FROM core.script_runs`),
		"the deleted events' runs went with them, the young one's stayed")
}

// TestDeleteDeliveriesBefore: old finished deliveries go with their
// attempts; a pending one (waiting to be retried) stays, whatever its age.
func TestDeleteDeliveriesBefore(t *testing.T) {
	t.Parallel()
	f := retentionSetup(t, tenantrytest.Database(t))
	f.exec(t, `INSERT INTO core.notification_endpoints (id, partner_id, url, events, secret)
		VALUES ('nep_1', $1, 'https://partner.example/hooks', '{}', '\x00')`, f.partner)
	for _, d := range []struct {
		id, status string
		attempts   int
	}{{"old_succeeded", "succeeded", 2}, {"old_failed", "failed", 3}, {"old_pending", "pending", 1}, {"young_succeeded", "succeeded", 1}} {
		f.exec(t, `INSERT INTO core.notification_deliveries (id, endpoint_id, partner_id, event_id, event_type, payload, status, created_at)
			VALUES ($1, 'nep_1', $2, $1, 'job.failed', '{}', $3, now() - $4::interval)`, d.id, f.partner, d.status, ago(d.id))
		f.exec(t, `INSERT INTO core.notification_attempts (delivery_id) SELECT $1 FROM generate_series(1, $2)`, d.id, d.attempts)
	}

	n, err := f.st.DeleteDeliveriesBefore(f.ctx, f.before, 100)
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	require.Equal(t, []string{"old_pending", "young_succeeded"}, f.ids(t, `SELECT id FROM core.notification_deliveries`))
	require.Equal(t, []string{"old_pending", "young_succeeded"},
		f.ids(t, `SELECT DISTINCT delivery_id AS id FROM core.notification_attempts`))
}

// TestDeleteJobsBefore: old finished jobs go with their sync run and its
// streams; a job in progress, one whose sync run is still running, and one
// whose command is not yet published stay.
func TestDeleteJobsBefore(t *testing.T) {
	t.Parallel()
	f := retentionSetup(t, tenantrytest.Database(t))
	job := func(id, status string) {
		f.exec(t, `INSERT INTO core.jobs (id, partner_id, account_id, kind, status, created_at)
			VALUES ($1, $2, $3, 'sync.run', $4, now() - $5::interval)`, id, f.partner, f.account, status, ago(id))
	}
	syncRun := func(id, status string) {
		f.exec(t, `INSERT INTO core.sync_runs (id, connection_id, partner_id, account_id, streams, full_refresh, trigger, status)
			VALUES ($1, 'srv_1', $2, $3, '{}', false, 'api', $4)`, id, f.partner, f.account, status)
		f.exec(t, `INSERT INTO core.sync_run_streams (run_id, stream, position, tbl)
			VALUES ($1, 'contacts', 0, 'contacts'), ($1, 'deals', 1, 'deals')`, id)
	}
	outbox := func(id string, published bool) {
		f.exec(t, `INSERT INTO core.outbox (id, subject, data, published_at)
			VALUES ($1, 'cmd.sync.run.x', '\x00', CASE WHEN $2 THEN now() END)`, id, published)
	}
	job("old_synced", tenantry.JobSucceeded)
	syncRun("old_synced", tenantry.JobSucceeded)
	outbox("old_synced", true) // published: does not hold the job
	job("old_failed", tenantry.JobFailed)
	job("old_queued", tenantry.JobQueued)
	job("old_running", tenantry.JobRunning)
	job("old_unpublished", tenantry.JobSucceeded)
	outbox("old_unpublished", false)
	job("old_sync_still_running", tenantry.JobFailed)
	syncRun("old_sync_still_running", tenantry.SyncRunning)
	job("young_succeeded", tenantry.JobSucceeded)

	n, err := f.st.DeleteJobsBefore(f.ctx, f.before, 100)
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	require.Equal(t, []string{"old_queued", "old_running", "old_sync_still_running", "old_unpublished", "young_succeeded"},
		f.ids(t, `SELECT id FROM core.jobs WHERE id NOT LIKE 'job_%'`))
	require.Equal(t, []string{"old_sync_still_running"}, f.ids(t, `SELECT id FROM core.sync_runs`))
	require.Equal(t, []string{"old_sync_still_running"}, f.ids(t, `SELECT DISTINCT run_id AS id FROM core.sync_run_streams`))
}

// TestDeleteConnectionLogsBefore: a statement deletes at most its limit,
// oldest first, so a backlog drains over several; young lines stay.
func TestDeleteConnectionLogsBefore(t *testing.T) {
	t.Parallel()
	f := retentionSetup(t, tenantrytest.Database(t))
	// Line i is 2 days and i seconds old: line 25 is the oldest.
	f.exec(t, `INSERT INTO core.connection_logs (connection_id, account_id, at, level, message)
		SELECT 'srv_1', $1, now() - make_interval(days => 2, secs => i), 'info', 'old ' || i FROM generate_series(1, 25) i`, f.account)
	f.exec(t, `INSERT INTO core.connection_logs (connection_id, account_id, level, message)
		SELECT 'srv_1', $1, 'info', 'young ' || i FROM generate_series(1, 3) i`, f.account)
	lines := func() []string { return f.ids(t, `SELECT message AS id FROM core.connection_logs`) }

	n, err := f.st.DeleteConnectionLogsBefore(f.ctx, f.before, 10)
	require.NoError(t, err)
	require.EqualValues(t, 10, n)
	var want []string
	for i := 1; i <= 15; i++ {
		want = append(want, fmt.Sprint("old ", i))
	}
	want = append(want, "young 1", "young 2", "young 3")
	require.ElementsMatch(t, want, lines(), "the ten oldest went")

	for _, wantN := range []int64{10, 5, 0} {
		n, err = f.st.DeleteConnectionLogsBefore(f.ctx, f.before, 10)
		require.NoError(t, err)
		require.Equal(t, wantN, n)
	}
	require.Equal(t, []string{"young 1", "young 2", "young 3"}, lines())
}
