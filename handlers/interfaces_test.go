package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/tenantry/tenantry/connectors/egress"
	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/script"
	"github.com/tenantry/tenantry/secret"
	"github.com/tenantry/tenantry/tenantrytest"
	"github.com/tenantry/tenantry/warehouse"
)

// scriptAccount is one provisioned account with its token and schema.
type scriptAccount struct {
	id, token, schema string
}

// scriptsSetup runs a system whose scripts may reach loopback (the fake
// APIs of the tests) and has two accounts of one partner.
func scriptsSetup(t *testing.T) (sys *tenantrytest.System, partner string, a, b scriptAccount) {
	t.Helper()
	sys = tenantrytest.Start(t, func(c *node.Config) {
		c.EgressAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	_, partner = sys.Partner()
	account := func(ext string) scriptAccount {
		id := create(t, sys, partner, ext)
		r := sys.Do("GET", "/api/subaccount/"+id+"/token", partner, nil)
		return scriptAccount{id: id, token: r.JSON["token"].(string), schema: "t_" + id[len("sub_"):]}
	}
	return sys, partner, account("a"), account("b")
}

// runScript creates an interface with code, runs it, waits for the run
// and returns it.
func runScript(t *testing.T, sys *tenantrytest.System, token, name, code string) map[string]any {
	t.Helper()
	r := sys.Do("POST", "/api/interface", token, map[string]any{"name": name, "raw_code": code})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	id := r.JSON["id"].(string)
	run := sys.Do("POST", "/api/interface/"+id+"/run", token, nil)
	require.Equal(t, http.StatusAccepted, run.Status, string(run.Body))
	require.Equal(t, "queued", run.JSON["status"])
	sys.WaitJob(token, run.JSON["job_id"].(string))
	runs := sys.Do("GET", "/api/interface/"+id+"/runs", token, nil)
	require.Equal(t, 200, runs.Status, string(runs.Body))
	items := runs.JSON["items"].([]any)
	require.Len(t, items, 1)
	return items[0].(map[string]any)
}

// storeSecret stores a Secret Store connection for the account.
func storeSecret(t *testing.T, sys *tenantrytest.System, token, name, value string) {
	t.Helper()
	r := sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "secret_store", "name": name, "secret": value})
	require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
	sys.WaitJob(token, r.JSON["job_id"].(string))
}

func TestInterfaces(t *testing.T) {
	t.Parallel()
	sys, partner, a, b := scriptsSetup(t)

	r := sys.Do("POST", "/api/interface", a.token, map[string]any{"name": "hourly", "raw_code": "def main():\n    return 1\n", "schedule": 3600})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	id := r.JSON["id"].(string)
	require.Equal(t, "3600", r.JSON["schedule"])
	next, err := time.Parse(time.RFC3339, r.JSON["next_run_at"].(string))
	require.NoError(t, err)
	require.Zero(t, next.Unix()%3600, "interval slots are aligned: 3600 runs on the hour")
	require.WithinDuration(t, time.Now().Add(30*time.Minute), next, 31*time.Minute)

	cron := sys.Do("POST", "/interface", a.token, map[string]any{"name": "cron", "raw_code": "x = 1", "schedule": "*/15 * * * *"})
	require.Equal(t, http.StatusCreated, cron.Status, "the /interface alias: %s", cron.Body)

	bad := sys.Do("POST", "/api/interface", a.token, map[string]any{"name": "bad", "raw_code": "def main():\n    return (1 +\n"})
	require.Equal(t, 400, bad.Status)
	fields := bad.JSON["errors"].([]any)
	require.Equal(t, "raw_code", fields[0].(map[string]any)["field"])
	require.Regexp(t, `^line \d+, column \d+: `, fields[0].(map[string]any)["message"])

	undefined := sys.Do("POST", "/api/interface", a.token, map[string]any{"name": "u", "raw_code": "x = 1\ny = nope + 1\n"})
	require.Equal(t, 400, undefined.Status)
	require.Contains(t, undefined.JSON["detail"], "raw_code: line 2, column 5: undefined: nope")

	for name, body := range map[string]map[string]any{
		"NoName":      {"raw_code": "x = 1"},
		"BadSchedule": {"name": "s", "raw_code": "x = 1", "schedule": "every hour"},
		"TooOften":    {"name": "s", "raw_code": "x = 1", "schedule": 5},
		"LoadOS":      {"name": "s", "raw_code": `load("os", "system")`},
		"Unknown":     {"name": "s", "raw_code": "x = 1", "language": "python"},
	} {
		require.Equal(t, 400, sys.Do("POST", "/api/interface", a.token, body).Status, name)
	}
	require.Equal(t, http.StatusConflict, sys.Do("POST", "/api/interface", a.token, map[string]any{"name": "hourly", "raw_code": "x = 1"}).Status)
	require.Equal(t, http.StatusForbidden, sys.Do("POST", "/api/interface", partner, map[string]any{"name": "p", "raw_code": "x = 1"}).Status)

	upd := sys.Do("PUT", "/api/interface/"+id, a.token, map[string]any{"name": "renamed", "schedule": nil})
	require.Equal(t, 200, upd.Status, string(upd.Body))
	require.Equal(t, "renamed", upd.JSON["name"])
	require.Equal(t, "", upd.JSON["schedule"])
	require.Nil(t, upd.JSON["next_run_at"])
	require.Equal(t, "def main():\n    return 1\n", upd.JSON["raw_code"], "fields not given are kept")

	require.Len(t, sys.Do("GET", "/api/interface", a.token, nil).JSON["items"], 2)
	require.Len(t, sys.Do("GET", "/api/interface", partner, nil).JSON["items"], 2, "the partner sees its accounts'")
	require.Equal(t, 404, sys.Do("GET", "/api/interface/"+id, b.token, nil).Status, "another account's interface")
	require.Equal(t, 404, sys.Do("POST", "/api/interface/"+id+"/run", b.token, nil).Status)
	require.Equal(t, 204, sys.Do("DELETE", "/api/interface/"+id, a.token, nil).Status)
	require.Equal(t, 404, sys.Do("GET", "/api/interface/"+id, a.token, nil).Status)
}

func TestInterfaceRuns(t *testing.T) {
	t.Parallel()
	sys, _, a, _ := scriptsSetup(t)
	_, err := sys.Node.Store.Pool().Exec(context.Background(), `CREATE TABLE `+a.schema+`.orders (id int, total numeric);
		INSERT INTO `+a.schema+`.orders VALUES (1, 10), (2, 25), (3, 40)`)
	require.NoError(t, err)

	run := runScript(t, sys, a.token, "totals", `
dw = pq.dbconnect("dw")
big = dw.fetch("dw", None, "orders", where="total > 20")
pq.log("big orders:", len(big))
print("ids", sorted([o["id"] for o in big]))

def main():
    return {"count": len(big), "sum": sum_totals(big)}

def sum_totals(rows):
    s = 0
    for r in rows:
        s += int(r["total"])
    return s
`)
	require.Equal(t, "succeeded", run["status"], "%v", run["error"])
	require.Equal(t, map[string]any{"count": float64(2), "sum": float64(65)}, run["result"])
	require.Equal(t, "big orders: 2\nids [2, 3]\n", run["log"])
	require.Nil(t, run["error"])
	require.Equal(t, "manual", run["trigger"])

	failed := runScript(t, sys, a.token, "fails", "x = 1\n\nfail(\"bad input\")\n")
	require.Equal(t, "failed", failed["status"])
	e := failed["error"].(map[string]any)
	require.Equal(t, "error", e["kind"])
	require.Equal(t, float64(3), e["line"])
	require.Contains(t, e["message"], "bad input")

	loop := runScript(t, sys, a.token, "loop", "while True:\n    pass\n")
	require.Equal(t, "failed", loop["status"])
	require.Equal(t, "steps", loop["error"].(map[string]any)["kind"], "the worker survives a hostile script")
	again := runScript(t, sys, a.token, "after", "def main():\n    return 'still here'\n")
	require.Equal(t, "still here", again["result"])
}

// TestScriptExamples runs the examples of docs/scripts.md as written:
// an hourly sync from a REST API into the warehouse.
func TestScriptExamples(t *testing.T) {
	t.Parallel()
	sys, _, a, _ := scriptsSetup(t)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer sk_test_123" {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"data": [{"id": "cus_1", "email": "ada@example.com"}, {"id": "cus_2", "email": "alan@example.com"}]}`)
	}))
	t.Cleanup(api.Close)
	storeSecret(t, sys, a.token, "billing_api_key", "sk_test_123")

	code := strings.ReplaceAll(syncExample, "https://api.billing.example", api.URL)
	run := runScript(t, sys, a.token, "sync customers", code)
	require.Equal(t, "succeeded", run["status"], "%v %v", run["error"], run["log"])
	require.Equal(t, map[string]any{"synced": float64(2)}, run["result"])

	var n int
	require.NoError(t, sys.Node.Store.Pool().QueryRow(context.Background(),
		`SELECT count(*) FROM `+a.schema+`.customers WHERE data->>'email' LIKE '%@example.com'`).Scan(&n))
	require.Equal(t, 2, n, "the rows are in the account's warehouse")

	again := runScript(t, sys, a.token, "read back", `
dw = pq.dbconnect("dw")
def main():
    return sorted([r["key"] for r in dw.fetch("dw", None, "customers")])
`)
	require.Equal(t, []any{"cus_1", "cus_2"}, again["result"])
}

// syncExample is docs/scripts.md's hourly sync, with the API's URL
// replaced by the test's.
const syncExample = `
api_key = pq.get_secret("billing_api_key")
dw = pq.dbconnect("dw")

def main():
    resp = http.get("https://api.billing.example/v1/customers",
                    headers={"Authorization": "Bearer " + api_key},
                    params={"limit": "100"})
    if not resp.ok:
        fail("billing API answered %d: %s" % (resp.status_code, resp.text))
    customers = resp.json()["data"]
    for c in customers:
        dw.upsert("dw", None, "customers", c["id"], c)
    pq.log("synced", len(customers), "customers")
    return {"synced": len(customers)}
`

// TestScriptTenantIsolation: a script reaches its own account's data and
// secrets, and nothing of another account's, whatever it tries.
func TestScriptTenantIsolation(t *testing.T) {
	t.Parallel()
	sys, _, a, b := scriptsSetup(t)
	_, err := sys.Node.Store.Pool().Exec(context.Background(), `CREATE TABLE `+b.schema+`.private (v text);
		INSERT INTO `+b.schema+`.private VALUES ('b-only-data');
		CREATE TABLE `+a.schema+`.mine (v text); INSERT INTO `+a.schema+`.mine VALUES ('a-data')`)
	require.NoError(t, err)
	storeSecret(t, sys, b.token, "b_key", "b-only-secret")

	attempts := map[string]string{
		"OtherTableByName":   `pq.dbconnect("dw").fetch("dw", None, "private")`,
		"OtherSchema":        `pq.dbconnect("dw").fetch("dw", "` + b.schema + `", "private")`,
		"QualifiedTableName": `pq.dbconnect("dw").fetch("dw", None, "` + b.schema + `.private")`,
		"WhereSubquery":      `pq.dbconnect("dw").fetch("dw", None, "mine", where="v IN (SELECT v FROM ` + b.schema + `.private) OR true")`,
		"WhereUnion":         `pq.dbconnect("dw").fetch("dw", None, "mine", where="false UNION SELECT v FROM ` + b.schema + `.private")`,
		"WhereBecomeOther":   `pq.dbconnect("dw").fetch("dw", None, "mine", where="set_config('role', '` + b.schema + `', true) IS NOT NULL")`,
		"OtherSecret":        `pq.get_secret("b_key")`,
		"WriteOtherSchema":   `pq.dbconnect("dw").insert("dw", "` + b.schema + `", "private", {"v": 1})`,
		"MetadataService":    `http.get("http://169.254.169.254/latest/meta-data/")`,
		"PrivateNetwork":     `http.get("http://10.0.0.1/")`,
	}
	for name, code := range attempts {
		t.Run(name, func(t *testing.T) {
			run := runScript(t, sys, a.token, name, code+"\n")
			require.Equal(t, "failed", run["status"], "%s must fail", code)
			t.Logf("%s: %v", name, run["error"])
			require.Equal(t, "error", run["error"].(map[string]any)["kind"])
			require.Equal(t, float64(1), run["error"].(map[string]any)["line"])
			require.NotContains(t, fmt.Sprint(run), "b-only")
		})
	}
	mine := runScript(t, sys, b.token, "mine", "def main():\n    return [pq.get_secret('b_key'), pq.dbconnect('dw').fetch('dw', None, 'private')]\n")
	require.Equal(t, []any{"b-only-secret", []any{map[string]any{"v": "b-only-data"}}}, mine["result"], "the owner reads both")
}

// TestEndpointHandlerExample runs docs/scripts.md's endpoint handler, as
// published endpoints will call it, on the real platform.
func TestEndpointHandlerExample(t *testing.T) {
	t.Parallel()
	sys, _, a, _ := scriptsSetup(t)
	_, err := sys.Node.Store.Pool().Exec(context.Background(), `CREATE TABLE `+a.schema+`.orders (id int, status text);
		INSERT INTO `+a.schema+`.orders SELECT i, CASE WHEN i % 2 = 0 THEN 'paid' ELSE 'open' END FROM generate_series(1, 10) i`)
	require.NoError(t, err)
	storeSecret(t, sys, a.token, "endpoint_api_key", "k-123")

	sealer, err := secret.ParseMasterKeys(tenantrytest.MasterKey)
	require.NoError(t, err)
	pool, err := script.NewPool(script.Config{}, zaptest.NewLogger(t))
	require.NoError(t, err)
	require.NoError(t, pool.Start(context.Background()))
	t.Cleanup(pool.Stop)
	platform := script.NewPlatform(sys.Node.Store, warehouse.New(sys.Node.Store, sealer, 0), sealer, egress.New(egress.Config{}))
	prog, err := pool.Compile(handlerExample)
	require.NoError(t, err)
	call := func(key string) *script.Result {
		req := fmt.Sprintf(`{"method": "GET", "path": "/orders", "query_string": "status=paid&limit=3",
			"headers": {"X-Api-Key": %q}, "data": null, "form": {}}`, key)
		res, err := pool.Run(context.Background(), script.Request{Program: prog, Entry: script.EntryHandler,
			Input: []byte(req), Host: platform.For(a.id)})
		require.NoError(t, err)
		require.Nil(t, res.Failure)
		return res
	}
	require.JSONEq(t, `[401, {"error": "invalid API key"}, {}]`, string(call("wrong").Value))
	require.JSONEq(t, `{"orders": [{"id": 2, "status": "paid"}, {"id": 4, "status": "paid"}, {"id": 6, "status": "paid"}]}`,
		string(call("k-123").Value))
}

// handlerExample is docs/scripts.md's endpoint handler.
const handlerExample = `
def handler(request):
    expected = pq.get_secret("endpoint_api_key")
    given = request["headers"].get("X-Api-Key", "")
    if not hmac.compare_digest(given, expected):
        return (401, {"error": "invalid API key"}, {})
    query = parse_qs(request["query_string"])
    status = query.get("status", ["paid"])[0]
    limit = int(query.get("limit", ["100"])[0])
    if status not in ("open", "paid"):
        return (400, {"error": "unknown status"}, {})
    dw = pq.dbconnect("dw")
    rows = dw.fetch("dw", None, "orders", where="status = '%s' ORDER BY id" % status, limit=limit)
    return {"orders": rows}
`
