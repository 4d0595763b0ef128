package handlers_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/tenantrytest"
	"github.com/tenantry/tenantry/webhook"
)

// hookHandlerCode writes each webhook it gets to the warehouse table
// hook_events, under its delivery id, and logs its type.
const hookHandlerCode = `
def handler(request):
    dw = pq.dbconnect("dw")
    h = request["headers"]
    dw.upsert("dw", None, "hook_events", h["X-Tenantry-Webhook-Id"], {
        "method": request["method"], "url": request["url"], "path": request["path"],
        "query": request["query_string"], "data": request["data"], "form": request["form"],
        "event": h["X-Tenantry-Webhook-Event"], "content_type": h.get("Content-Type")})
    pq.log("handled", h["X-Tenantry-Webhook-Id"])
    return {"ok": True}
`

// createInterface creates an interface of the account whose token is
// given and returns its id.
func createInterface(t *testing.T, sys *tenantrytest.System, token, name, code string) string {
	t.Helper()
	r := sys.Do("POST", "/api/interface", token, map[string]any{"name": name, "raw_code": code})
	require.Equal(t, 201, r.Status, string(r.Body))
	return r.JSON["id"].(string)
}

// useHandler configures interface ifc ("" for none) as the account's
// webhook handler.
func useHandler(t *testing.T, sys *tenantrytest.System, token, ifc string) {
	t.Helper()
	var id any
	if ifc != "" {
		id = ifc
	}
	r := sys.Do("PUT", "/api/webhooks", token, map[string]any{"handler_interface_id": id})
	require.Equal(t, 200, r.Status, string(r.Body))
	require.Equal(t, id, r.JSON["handler_interface_id"])
}

// hookRun returns run id of interface ifc.
func hookRun(t *testing.T, sys *tenantrytest.System, token, ifc, id string) map[string]any {
	t.Helper()
	for _, it := range sys.Do("GET", "/api/interface/"+ifc+"/runs", token, nil).JSON["items"].([]any) {
		if run := it.(map[string]any); run["id"] == id {
			return run
		}
	}
	t.Fatalf("run %s of %s not found", id, ifc)
	return nil
}

// warehouseRow is the data the handler wrote for delivery id.
func warehouseRow(t *testing.T, sys *tenantrytest.System, accountID, id string) map[string]any {
	t.Helper()
	var raw []byte
	require.NoError(t, sys.Node.Store.Pool().QueryRow(context.Background(),
		`SELECT data FROM t_`+accountID[len("sub_"):]+`.hook_events WHERE key = $1`, id).Scan(&raw))
	var row map[string]any
	require.NoError(t, json.Unmarshal(raw, &row))
	return row
}

// lastEvent waits for an event on subject of the EVENTS stream and
// returns the last one.
func lastEvent(t *testing.T, sys *tenantrytest.System, subject string) map[string]any {
	t.Helper()
	nc, js, err := events.Connect(sys.NATS.ClientURL(), "test")
	require.NoError(t, err)
	defer nc.Close()
	var ev map[string]any
	require.Eventually(t, func() bool {
		s, err := js.Stream(t.Context(), events.StreamEvents)
		require.NoError(t, err)
		m, err := s.GetLastMsgForSubject(t.Context(), subject)
		return err == nil && json.Unmarshal(m.Data, &ev) == nil
	}, 10*time.Second, 20*time.Millisecond, "no event on %s", subject)
	return ev
}

// TestWebhookHandlerScript: the account's handler script runs for a
// signed webhook to a connection's URL and for one to the account's own
// URL, with the request shape of a published endpoint; each run is
// recorded with trigger "webhook" and named by its event.
func TestWebhookHandlerScript(t *testing.T) {
	t.Parallel()
	sys, partner := hookSetup(t, nil)
	accountID, token := sys.Account(partner, "scripted")
	secret := webhook.NewSecret()
	r := sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "hooked", "api_key": "k", "signing_secret": secret})
	require.Equal(t, 202, r.Status, string(r.Body))
	conn := r.JSON["id"].(string)
	ifc := createInterface(t, sys, token, "hooks", hookHandlerCode)
	useHandler(t, sys, token, ifc)
	hooks := sys.Do("GET", "/api/webhooks", token, nil)
	require.Equal(t, ifc, hooks.JSON["handler_interface_id"])
	connURL := hooks.JSON["servers"].([]any)[0].(map[string]any)["url"].(string)
	accountURL := hooks.JSON["url"].(string)

	require.Equal(t, 202, signedHook(t, sys, connURL+"?source=crm", secret, "msg_1", time.Now(), []byte(`{"type":"invoice.paid"}`)).Status)
	require.Equal(t, 202, postHook(t, sys, accountURL, []byte("a=1&b=2"), "Content-Type", "application/x-www-form-urlencoded",
		"Idempotency-Key", "form-1").Status)
	items := waitHookEvents(t, sys, token, "", 2)

	byID := map[string]map[string]any{}
	for _, it := range items {
		ev := it.(map[string]any)
		byID[ev["webhook_id"].(string)] = ev
		require.EqualValues(t, 1, ev["attempts"])
		require.Empty(t, ev["error"])
		run := hookRun(t, sys, token, ifc, ev["run_id"].(string))
		require.Equal(t, "webhook", run["trigger"])
		require.Equal(t, "succeeded", run["status"])
		require.Contains(t, run["log"], "handled "+ev["webhook_id"].(string))
		require.Equal(t, map[string]any{"ok": true}, run["result"])
	}

	signed := warehouseRow(t, sys, accountID, "msg_1")
	require.Equal(t, map[string]any{"method": "POST", "url": connURL + "?source=crm", "path": webhook.ConnectionPath + conn,
		"query": "source=crm", "data": map[string]any{"type": "invoice.paid"}, "form": map[string]any{},
		"event": byID["msg_1"]["id"], "content_type": "application/json"}, signed)
	form := warehouseRow(t, sys, accountID, "form-1")
	require.Equal(t, "/hooks/account", form["path"], "the account URL's secret is not shown")
	require.Equal(t, sys.URL+"/hooks/account", form["url"])
	require.Equal(t, map[string]any{"a": "1", "b": "2"}, form["form"])
	require.Equal(t, "a=1&b=2", form["data"])
	require.NotContains(t, form["url"], strings.TrimPrefix(accountURL, sys.URL+webhook.AccountPath))
}

// TestWebhookHandlerScriptFails: a handler script that fails is a failed
// event naming the run, at once: a script error is not retried.
func TestWebhookHandlerScriptFails(t *testing.T) {
	t.Parallel()
	sys, partner := hookSetup(t, nil)
	accountID, token := sys.Account(partner, "failing")
	secret := webhook.NewSecret()
	r := sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "hooked", "api_key": "k", "signing_secret": secret})
	require.Equal(t, 202, r.Status, string(r.Body))
	conn := r.JSON["id"].(string)
	ifc := createInterface(t, sys, token, "hooks", "def handler(request):\n    fail(\"cannot handle \" + request[\"data\"][\"type\"])\n")
	useHandler(t, sys, token, ifc)
	u := sys.Do("GET", "/api/webhooks", token, nil).JSON["servers"].([]any)[0].(map[string]any)["url"].(string)

	require.Equal(t, 202, signedHook(t, sys, u, secret, "msg_bad", time.Now(), []byte(`{"type":"refund"}`)).Status)
	ev := waitHookStatus(t, sys, token, "msg_bad", "failed")
	runID := ev["run_id"].(string)
	require.NotEmpty(t, runID)
	require.EqualValues(t, 1, ev["attempts"], "a script error is not retried")
	require.Equal(t, "handler run "+runID+" failed (error): line 2: fail: cannot handle refund", ev["error"])
	run := hookRun(t, sys, token, ifc, runID)
	require.Equal(t, "failed", run["status"])
	require.Equal(t, "webhook", run["trigger"])
	require.Equal(t, "fail: cannot handle refund", run["error"].(map[string]any)["message"])
	logs := sys.Do("GET", "/api/server/"+conn+"/logs", token, nil)
	require.Contains(t, string(logs.Body), "webhook msg_bad handler failed: handler run "+runID)
	failed := lastEvent(t, sys, "evt."+accountID+".webhook.failed")
	require.Equal(t, runID, failed["data"].(map[string]any)["run_id"], "the webhook.failed event names the run")

	t.Run("ErrBodyNotJSON", func(t *testing.T) {
		require.Equal(t, 202, signedHook(t, sys, u, secret, "msg_garbled", time.Now(), []byte(`{"type":`)).Status)
		ev := waitHookStatus(t, sys, token, "msg_garbled", "failed")
		require.Equal(t, "the handler was not run: the body is not valid JSON", ev["error"])
		require.Empty(t, ev["run_id"])
	})
}

// TestWebhookHandlerConfig: only an interface of the account that defines
// handler can handle its webhooks; without one (never set, removed, or
// deleted) webhooks are processed without a run.
func TestWebhookHandlerConfig(t *testing.T) {
	t.Parallel()
	sys, partner := hookSetup(t, nil)
	aID, a := sys.Account(partner, "a")
	_, b := sys.Account(partner, "b")
	_, stranger := sys.Partner()
	mine := createInterface(t, sys, a, "hooks", hookHandlerCode)
	theirs := createInterface(t, sys, b, "hooks", hookHandlerCode)
	noHandler := createInterface(t, sys, a, "sync", "def main():\n    return 1\n")
	// Stored before a change of dialect, say: it no longer compiles.
	broken := createInterface(t, sys, a, "broken", hookHandlerCode)
	_, err := sys.Node.Store.Pool().Exec(context.Background(), `UPDATE core.interfaces SET raw_code = $2 WHERE id = $1`,
		broken, "def handler(request):\n    return undefined_name\n")
	require.NoError(t, err)
	require.Nil(t, sys.Do("GET", "/api/webhooks", a, nil).JSON["handler_interface_id"], "none at first")

	for _, tc := range []struct {
		name, token string
		body        map[string]any
		status      int
		field       string
	}{
		{"ErrOtherAccountsInterface", a, map[string]any{"handler_interface_id": theirs}, 400, "handler_interface_id"},
		{"ErrOtherAccountsInterfaceAsPartner", partner, map[string]any{"subaccount_id": aID, "handler_interface_id": theirs}, 400, "handler_interface_id"},
		{"ErrNoHandler", a, map[string]any{"handler_interface_id": noHandler}, 400, "handler_interface_id"},
		{"ErrDoesNotCompile", a, map[string]any{"handler_interface_id": broken}, 400, "handler_interface_id"},
		{"ErrUnknownInterface", a, map[string]any{"handler_interface_id": "ifc_nope"}, 400, "handler_interface_id"},
		{"ErrOtherAccount", b, map[string]any{"subaccount_id": aID, "handler_interface_id": theirs}, 404, ""},
		{"ErrOtherPartner", stranger, map[string]any{"subaccount_id": aID, "handler_interface_id": mine}, 404, ""},
		{"ErrPartnerWithoutAccount", partner, map[string]any{"handler_interface_id": mine}, 400, "subaccount_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := sys.Do("PUT", "/api/webhooks", tc.token, tc.body)
			require.Equal(t, tc.status, r.Status, string(r.Body))
			if tc.field != "" {
				require.Contains(t, string(r.Body), `"field":"`+tc.field+`"`)
			}
		})
	}
	require.Nil(t, sys.Do("GET", "/api/webhooks", a, nil).JSON["handler_interface_id"], "nothing refused was set")

	r := sys.Do("PUT", "/api/webhooks", partner, map[string]any{"subaccount_id": aID, "handler_interface_id": mine})
	require.Equal(t, 200, r.Status, string(r.Body))
	require.Equal(t, mine, r.JSON["handler_interface_id"], "a partner sets it for its account")
	useHandler(t, sys, a, "")
	u := sys.Do("GET", "/api/webhooks", a, nil).JSON["url"].(string)
	require.Equal(t, 202, postHook(t, sys, u, []byte(`{}`), "Content-Type", "application/json", "Idempotency-Key", "removed").Status)
	waitHookEvents(t, sys, a, "", 1)

	useHandler(t, sys, a, mine)
	require.Equal(t, 204, sys.Do("DELETE", "/api/interface/"+mine, a, nil).Status)
	require.Nil(t, sys.Do("GET", "/api/webhooks", a, nil).JSON["handler_interface_id"], "a deleted interface handles nothing")
	require.Equal(t, 202, postHook(t, sys, u, []byte(`{}`), "Content-Type", "application/json", "Idempotency-Key", "deleted").Status)

	for _, it := range waitHookEvents(t, sys, a, "", 2) {
		ev := it.(map[string]any)
		require.Empty(t, ev["run_id"], "%s: no handler ran", ev["webhook_id"])
		require.EqualValues(t, 0, ev["attempts"], "%s: processed as without a handler", ev["webhook_id"])
	}
}
