package store_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/tenantrytest"
)

// hooks is a store with one partner's account to record webhooks for.
type hooks struct {
	st        *store.Store
	partnerID string
	accountID string
}

func hooksSetup(t *testing.T, externalID string) *hooks {
	t.Helper()
	st := tenantrytest.Store(t)
	p := &tenantry.Partner{Name: "hooks " + externalID}
	require.NoError(t, st.CreatePartner(t.Context(), p))
	a := &tenantry.Subaccount{PartnerID: p.ID, ExternalID: externalID}
	require.NoError(t, st.CreateSubaccount(t.Context(), a, &tenantry.Command{Kind: tenantry.KindProvision}))
	return &hooks{st: st, partnerID: p.ID, accountID: a.ID}
}

// hook is a fresh delivery of webhook webhookID to connection conn.
func (h *hooks) hook(conn, webhookID string, seq uint64) store.WebhookRecord {
	return store.WebhookRecord{Seq: seq, Event: &tenantry.WebhookEvent{ID: store.NewID("whk"), PartnerID: h.partnerID,
		AccountID: h.accountID, ConnectionID: conn, WebhookID: webhookID, ContentType: "application/json",
		Header: http.Header{"X-Test": {"1"}}, Body: []byte(`{"n":1}`), ReceivedAt: time.Now().UTC()}}
}

// record returns the stored record of webhook webhookID to conn.
func (h *hooks) record(t *testing.T, conn, webhookID string) (id, status string, seq int64, processed bool) {
	t.Helper()
	require.NoError(t, h.st.Pool().QueryRow(t.Context(), `SELECT id, status, stream_seq, processed_at IS NOT NULL
		FROM core.webhook_events WHERE account_id = $1 AND connection_id = $2 AND webhook_id = $3`,
		h.accountID, conn, webhookID).Scan(&id, &status, &seq, &processed))
	return id, status, seq, processed
}

// logLines returns connection conn's log.
func (h *hooks) logLines(t *testing.T, conn string) []string {
	t.Helper()
	rows, err := h.st.Pool().Query(t.Context(), `SELECT message FROM core.connection_logs WHERE connection_id = $1 ORDER BY id`, conn)
	require.NoError(t, err)
	var lines []string
	for rows.Next() {
		var l string
		require.NoError(t, rows.Scan(&l))
		lines = append(lines, l)
	}
	require.NoError(t, rows.Err())
	return lines
}

func TestRecordWebhooks(t *testing.T) {
	t.Parallel()
	t.Run("RecordsEachDeliveryOnce", func(t *testing.T) {
		t.Parallel()
		h := hooksSetup(t, "batch-once")
		first, again, other := h.hook("srv_once", "h-1", 1), h.hook("srv_once", "h-1", 2), h.hook("srv_once", "h-2", 3)
		own := h.hook("", "h-1", 4) // the account URL's h-1 is another delivery

		statuses, err := h.st.RecordWebhooks(t.Context(), []store.WebhookRecord{first, again, other, own})
		require.NoError(t, err)
		require.Equal(t, []string{"processed", "processed", "processed", "processed"}, statuses)
		id, status, seq, processed := h.record(t, "srv_once", "h-1")
		require.Equal(t, first.Event.ID, id, "the first of the batch is recorded")
		require.EqualValues(t, 1, seq, "and owns the record")
		require.Equal(t, tenantry.WebhookProcessed, status)
		require.True(t, processed, "processed_at is set")
		_, _, seq, _ = h.record(t, "", "h-1")
		require.EqualValues(t, 4, seq)
		require.Equal(t, []string{"webhook h-1 received (application/json, 7 bytes)", "webhook h-2 received (application/json, 7 bytes)"},
			h.logLines(t, "srv_once"), "one log line per recorded webhook")

		ev, err := h.st.WebhookEvent(t.Context(), tenantry.Caller{PartnerID: h.partnerID}, first.Event.ID)
		require.NoError(t, err)
		require.Equal(t, first.Event.Body, ev.Body)
		require.Equal(t, "1", ev.Header.Get("X-Test"))
		require.Equal(t, "application/json", ev.ContentType)
	})
	t.Run("KeepsEarlierRecords", func(t *testing.T) {
		t.Parallel()
		h := hooksSetup(t, "batch-earlier")
		running, done := h.hook("srv_earlier", "running", 1), h.hook("srv_earlier", "done", 2)
		_, _, err := h.st.RecordWebhook(t.Context(), running.Event, running.Seq, tenantry.WebhookReceived)
		require.NoError(t, err)
		_, _, err = h.st.RecordWebhook(t.Context(), done.Event, done.Seq, tenantry.WebhookProcessed)
		require.NoError(t, err)

		statuses, err := h.st.RecordWebhooks(t.Context(), []store.WebhookRecord{
			h.hook("srv_earlier", "running", 10), h.hook("srv_earlier", "new", 11), h.hook("srv_earlier", "done", 12)})
		require.NoError(t, err)
		require.Equal(t, []string{"received", "processed", "processed"}, statuses, "each delivery's record, as it is")
		id, status, seq, _ := h.record(t, "srv_earlier", "running")
		require.Equal(t, running.Event.ID, id)
		require.Equal(t, tenantry.WebhookReceived, status, "a record being handled is left alone")
		require.EqualValues(t, 1, seq, "its first message still owns it")
		require.Len(t, h.logLines(t, "srv_earlier"), 3, "no log line for a delivery recorded before")
	})
	t.Run("UnknownAccount", func(t *testing.T) {
		t.Parallel()
		h := hooksSetup(t, "batch-unknown")
		good, bad := h.hook("", "good", 1), h.hook("", "bad", 2)
		bad.Event.AccountID = "sub_nope"

		_, err := h.st.RecordWebhooks(t.Context(), []store.WebhookRecord{good, bad})
		require.Equal(t, tenantry.EINVALID, tenantry.ErrorCode(err), "%v", err)
		var n int
		require.NoError(t, h.st.Pool().QueryRow(t.Context(), `SELECT count(*) FROM core.webhook_events WHERE account_id = $1`,
			h.accountID).Scan(&n))
		require.Zero(t, n, "nothing is recorded")
	})
}

func TestWebhookHandlerAccounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := hooksSetup(t, "handled")
	without := hooksSetup(t, "unhandled")
	caller := tenantry.Caller{PartnerID: h.partnerID, AccountID: h.accountID}
	i := &tenantry.Interface{Name: "hooks", RawCode: "def handler(request):\n    return 1\n"}
	require.NoError(t, h.st.CreateInterface(ctx, caller, i))
	require.NoError(t, h.st.SetWebhookHandler(ctx, h.partnerID, h.accountID, i.ID))

	has, err := h.st.WebhookHandlerAccounts(ctx, []string{h.accountID, without.accountID, "sub_nope"})
	require.NoError(t, err)
	require.Equal(t, map[string]bool{h.accountID: true}, has)

	_, err = h.st.Pool().Exec(ctx, `UPDATE core.accounts SET status = 'deprovisioning' WHERE id = $1`, h.accountID)
	require.NoError(t, err)
	has, err = h.st.WebhookHandlerAccounts(ctx, []string{h.accountID})
	require.NoError(t, err)
	require.Empty(t, has, "an account being deleted has no handler to run")
}
