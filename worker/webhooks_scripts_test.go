package worker_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/tenantrytest"
	"github.com/tenantry/tenantry/webhook"
)

// returnOne is a handler script that succeeds without side effects.
const returnOne = "def handler(request):\n    return 1\n"

// scripted is a system running accounts' handler scripts, and a
// client of its JetStream.
type scripted struct {
	sys     *tenantrytest.System
	partner string // the partner's token
	js      jetstream.JetStream
	pub     tenantry.Publisher
}

func scriptSetup(t *testing.T) *scripted {
	t.Helper()
	sys := tenantrytest.Start(t, nil)
	_, partner := sys.Partner()
	nc, js, err := events.Connect(sys.NATS.ClientURL(), "test")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return &scripted{sys: sys, partner: partner, js: js, pub: events.NewPublisher(js, 0)}
}

// account creates an account whose webhook handler is code, and returns
// the account and the handler's interface.
func (s *scripted) account(t *testing.T, externalID, code string) (accountID, ifc string) {
	t.Helper()
	accountID, token := s.sys.Account(s.partner, externalID)
	r := s.sys.Do("POST", "/api/interface", token, map[string]any{"name": "hooks", "raw_code": code})
	require.Equal(t, 201, r.Status, string(r.Body))
	ifc = r.JSON["id"].(string)
	r = s.sys.Do("PUT", "/api/webhooks", token, map[string]any{"handler_interface_id": ifc})
	require.Equal(t, 200, r.Status, string(r.Body))
	return accountID, ifc
}

// hook is a webhook for account accountID.
func (s *scripted) hook(accountID, webhookID, body string) *tenantry.WebhookEvent {
	return &tenantry.WebhookEvent{ID: store.NewID("whk"), PartnerID: s.sys.PartnerOf(accountID), AccountID: accountID,
		WebhookID: webhookID, ContentType: "application/json", Header: http.Header{"Content-Type": {"application/json"}},
		Body: []byte(body), ReceivedAt: time.Now().UTC()}
}

// send publishes ev to WEBHOOKS, as a replay if replay is set.
func (s *scripted) send(t *testing.T, ev *tenantry.WebhookEvent, replay bool) {
	t.Helper()
	m := webhook.Message(ev)
	if replay {
		m.ID, m.Header[events.HeaderReplay] = "replay-rpl_test-"+ev.ID, "rpl_test"
	}
	require.NoError(t, s.pub.Publish(t.Context(), m))
}

// finished waits for webhook ev to leave received and returns its
// status, error, latest run and how many runs it has.
func (s *scripted) finished(t *testing.T, ev *tenantry.WebhookEvent) (status, reason, runID string, runs int) {
	t.Helper()
	require.Eventually(t, func() bool {
		err := s.sys.Node.Store.Pool().QueryRow(t.Context(), `SELECT status, error, run_id,
			(SELECT count(*) FROM core.script_runs r WHERE r.webhook_event_id = e.id)
			FROM core.webhook_events e WHERE account_id = $1 AND webhook_id = $2`, ev.AccountID, ev.WebhookID).
			Scan(&status, &reason, &runID, &runs)
		return err == nil && status != tenantry.WebhookReceived
	}, 15*time.Second, 10*time.Millisecond, "%s never finished", ev.WebhookID)
	return status, reason, runID, runs
}

// TestWebhookFinishedRunNotRunAgain: a worker that stopped after
// recording a successful run but before the event's outcome (as one that
// recorded them in two transactions could) leaves the message to be
// delivered again. That delivery marks the event processed without
// running the script again.
func TestWebhookFinishedRunNotRunAgain(t *testing.T) {
	t.Parallel()
	s := scriptSetup(t)
	accountID, ifc := s.account(t, "crashed", returnOne)
	ctx := t.Context()
	ev := s.hook(accountID, "crash-1", `{}`)
	stream, err := s.js.Stream(ctx, events.StreamWebhooks)
	require.NoError(t, err)
	info, err := stream.Info(ctx)
	require.NoError(t, err)
	seq := info.State.LastSeq + 1 // the message's, once published

	// What the stopped worker left: the event recorded by the message,
	// still received, and a successful run of it.
	pool := s.sys.Node.Store.Pool()
	_, _, err = s.sys.Node.Store.RecordWebhook(ctx, ev, seq, tenantry.WebhookReceived)
	require.NoError(t, err)
	runID := store.NewID("run")
	_, err = pool.Exec(ctx, `INSERT INTO core.script_runs (id, interface_id, partner_id, account_id, job_id, trigger,
		webhook_event_id, status, created_at, started_at, finished_at)
		VALUES ($1, $2, $3, $4, '', 'webhook', $5, 'succeeded', now(), now(), now())`, runID, ifc, ev.PartnerID, accountID, ev.ID)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE core.webhook_events SET run_id = $2 WHERE id = $1`, ev.ID, runID)
	require.NoError(t, err)

	s.send(t, ev, false)
	info, err = stream.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, seq, info.State.LastSeq, "the message is the one the event was recorded for")
	status, _, latest, runs := s.finished(t, ev)
	require.Equal(t, tenantry.WebhookProcessed, status)
	require.Equal(t, runID, latest, "the run that succeeded is the event's run")
	require.Equal(t, 1, runs, "the script did not run again")
}

// TestWebhookDeletedAccountNotRun: a webhook still in flight, or
// replayed, for an account being deleted or deleted is recorded as
// processed without running the account's handler; so is one for an
// account whose handler is somehow another account's interface.
func TestWebhookDeletedAccountNotRun(t *testing.T) {
	t.Parallel()
	s := scriptSetup(t)
	pool := s.sys.Node.Store.Pool()
	deleting, _ := s.account(t, "deleting", returnOne)
	_, err := pool.Exec(t.Context(), `UPDATE core.accounts SET status = 'deprovisioning' WHERE id = $1`, deleting)
	require.NoError(t, err)
	borrowing, _ := s.account(t, "borrowing", returnOne)
	_, lent := s.account(t, "lending", returnOne)
	_, err = pool.Exec(t.Context(), `UPDATE core.webhook_handlers SET interface_id = $2 WHERE account_id = $1`, borrowing, lent)
	require.NoError(t, err)
	deleted, _ := s.account(t, "deleted", returnOne)
	r := s.sys.Do("DELETE", "/api/subaccount/"+deleted, s.partner, nil)
	require.Equal(t, 202, r.Status, string(r.Body))
	require.Equal(t, tenantry.JobSucceeded, s.sys.WaitJob(s.partner, r.JSON["job_id"].(string))["status"])

	for _, tc := range []struct {
		name, accountID string
		replay          bool
	}{
		{"Deprovisioning", deleting, false},
		{"DeprovisioningReplay", deleting, true},
		{"Deleted", deleted, false},
		{"DeletedReplay", deleted, true},
		{"OtherAccountsInterface", borrowing, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := s.hook(tc.accountID, tc.name, `{}`)
			s.send(t, ev, tc.replay)
			status, _, runID, runs := s.finished(t, ev)
			require.Equal(t, tenantry.WebhookProcessed, status)
			require.Empty(t, runID)
			require.Zero(t, runs, "the handler did not run")
		})
	}
}

// TestWebhookScriptFailureNotLogged: a failing script's message, which
// may quote the webhook, is the event's error for the account to see,
// but neither the worker nor its consumer logs it: their lines name the
// run and the kind of failure.
func TestWebhookScriptFailureNotLogged(t *testing.T) {
	t.Parallel()
	s := scriptSetup(t)
	accountID, _ := s.account(t, "leaky", "def handler(request):\n    fail(\"cannot take \" + request[\"data\"][\"card\"])\n")
	ev := s.hook(accountID, "leak-1", `{"card":"4111-1111-1111-1111"}`)
	s.send(t, ev, false)
	status, reason, runID, _ := s.finished(t, ev)
	require.Equal(t, tenantry.WebhookFailed, status)
	require.Equal(t, "handler run "+runID+" failed (error): line 2: fail: cannot take 4111-1111-1111-1111", reason)
	require.Eventually(t, func() bool {
		return strings.Contains(s.sys.Logs(), "dead-lettering message")
	}, 10*time.Second, 10*time.Millisecond)
	logs := s.sys.Logs()
	require.Contains(t, logs, "handler run "+runID+" failed (error)")
	require.NotContains(t, logs, "4111-1111-1111-1111")
}
