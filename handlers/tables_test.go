package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/tenantrytest"
)

// tablesSetup runs a system with a short query timeout and two accounts
// of one partner, each with data in its warehouse; it returns account A's
// token and schema.
func tablesSetup(t *testing.T) (sys *tenantrytest.System, tokenA, schemaA string) {
	t.Helper()
	sys = tenantrytest.Start(t, func(c *node.Config) { c.HTTP.QueryTimeout = 500 * time.Millisecond })
	_, partner := sys.Partner()
	idA, idB := create(t, sys, partner, "a"), create(t, sys, partner, "b")
	schemaA, schemaB := "t_"+idA[len("sub_"):], "t_"+idB[len("sub_"):]
	_, err := sys.Node.Store.Pool().Exec(context.Background(), `
		CREATE TABLE `+schemaA+`.orders (id int PRIMARY KEY, total numeric, note text);
		INSERT INTO `+schemaA+`.orders VALUES (1, 9.5, 'first'), (2, 20, 'has, comma'), (3, 7, NULL);
		CREATE TABLE `+schemaB+`.secrets (v text); INSERT INTO `+schemaB+`.secrets VALUES ('b-only')`)
	require.NoError(t, err)
	r := sys.Do("GET", "/api/subaccount/"+idA+"/token", partner, nil)
	return sys, r.JSON["token"].(string), schemaA
}

func TestQueryTables(t *testing.T) {
	t.Parallel()
	sys, token, schema := tablesSetup(t)

	r := sys.Do("POST", "/api/table", token, map[string]any{"name": "orders", "query": "SELECT id, total, note FROM orders ORDER BY id"})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	id := r.JSON["id"].(string)

	rows := sys.Do("GET", "/api/table/"+id+"/rows", token, nil)
	require.Equal(t, 200, rows.Status, string(rows.Body))
	require.Equal(t, []any{"id", "total", "note"}, rows.JSON["columns"])
	require.Len(t, rows.JSON["rows"], 3)
	require.Equal(t, false, rows.JSON["truncated"])

	page := sys.Do("GET", "/api/table/"+id+"/rows?limit=2", token, nil)
	require.Len(t, page.JSON["rows"], 2)
	require.Equal(t, true, page.JSON["truncated"])

	csv := sys.Do("GET", "/api/table/"+id+"/rows", token, nil, "Accept", "text/csv")
	require.Equal(t, "text/csv; charset=utf-8", csv.Header.Get("Content-Type"))
	require.Equal(t, "id,total,note\n1,9.5,first\n2,20,\"has, comma\"\n3,7,\n", string(csv.Body))

	alias := sys.Do("POST", "/table", token, map[string]any{"name": "me", "query": "SELECT current_user AS who"})
	require.Equal(t, http.StatusCreated, alias.Status, string(alias.Body))
	who := sys.Do("GET", "/api/table/"+alias.JSON["id"].(string)+"/rows", token, nil)
	require.Equal(t, schema, who.JSON["rows"].([]any)[0].([]any)[0], "tenant SQL runs as the tenant's own role")

	require.Equal(t, http.StatusConflict, sys.Do("POST", "/api/table", token, map[string]any{"name": "orders", "query": "SELECT 1"}).Status)
	require.Len(t, sys.Do("GET", "/api/table", token, nil).JSON["items"], 2)
	require.Equal(t, 204, sys.Do("DELETE", "/api/table/"+alias.JSON["id"].(string), token, nil).Status)

	_, other := sys.Partner()
	require.Equal(t, 404, sys.Do("GET", "/api/table/"+id+"/rows", other, nil).Status, "another partner's table")
}

// TestTenantSQLSandbox: whatever the SQL, a tenant reads only its own
// schema, writes nothing, runs one statement, and stops at the timeout —
// enforced by Postgres (role, read-only transaction, statement timeout).
func TestTenantSQLSandbox(t *testing.T) {
	t.Parallel()
	sys, token, schema := tablesSetup(t)
	otherSchema := func() string {
		var s string
		require.NoError(t, sys.Node.Store.Pool().QueryRow(context.Background(),
			`SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\_%' AND nspname <> $1 ORDER BY nspname DESC LIMIT 1`, schema).Scan(&s))
		return s
	}()
	refused := map[string]string{
		"OtherTenant":        "SELECT * FROM " + otherSchema + ".secrets",
		"CoreSchema":         "SELECT * FROM core.accounts",
		"CoreTokens":         "SELECT id FROM core.tokens",
		"SecondStatement":    "SELECT 1; DROP TABLE orders",
		"DropOnly":           "DROP TABLE orders",
		"ReadWrite":          "SET TRANSACTION READ WRITE",
		"WritingCTE":         "WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d",
		"Insert":             "INSERT INTO orders VALUES (4, 1, 'x')",
		"BecomeSuperuser":    "SELECT set_config('role', 'postgres', false)",
		"BecomeOtherTenant":  "SELECT set_config('role', '" + otherSchema + "', true)",
		"SessionAuth":        "SELECT set_config('session_authorization', 'postgres', true)",
		"RoleThenDynamicSQL": "SELECT set_config('role', 'postgres', true) AS r, query_to_xml('SELECT * FROM core.tokens', true, true, '') AS x",
		"DynamicSQLOnCore":   "SELECT query_to_xml('SELECT * FROM core.accounts', true, true, '')",
		"OtherTenantDynamic": "SELECT query_to_xml('SELECT * FROM " + otherSchema + ".secrets', true, true, '')",
		"ResetRole":          "RESET ROLE",
		"CommentEscape":      "SELECT 1) AS x; DROP TABLE orders; --",
		"ServerFiles":        "SELECT pg_read_file('/etc/passwd')",
		"TurnOffReadOnly":    "SELECT set_config('transaction_read_only', 'off', true)",
		"ReachCoreViaSearch": "SELECT set_config('search_path', 'core', true), (SELECT count(*) FROM accounts)",
		"LargeObjectWrite":   "SELECT lo_from_bytea(0, convert_to('persisted', 'UTF8'))",
		"LargeObjectAsLogin": "SELECT set_config('role', 'none', true), lo_create(0)",
		"LeaderLock":         "SELECT pg_try_advisory_lock(x'74656e616e747279'::bigint)",
		"MigrationLock":      "SELECT pg_advisory_lock(4097083626)",
		"WALFlood":           "SELECT pg_logical_emit_message(false, 'x', 'y')",
		"ReadAllData":        "SELECT set_config('role', 'pg_read_all_data', true)",
		"HugeResult":         "SELECT repeat('x', 10000000) FROM generate_series(1, 8)",
		"Parameters":         "SELECT $2::int",
	}
	for name, q := range refused {
		t.Run(name, func(t *testing.T) {
			r := sys.Do("POST", "/api/table", token, map[string]any{"name": name, "query": q})
			if r.Status == http.StatusCreated { // planned fine; must fail when run
				r = sys.Do("GET", "/api/table/"+r.JSON["id"].(string)+"/rows", token, nil)
			}
			require.Equal(t, 400, r.Status, "%s: %s", q, r.Body)
			require.Equal(t, "invalid", r.JSON["code"])
		})
	}
	t.Run("Timeout", func(t *testing.T) {
		r := sys.Do("POST", "/api/table", token, map[string]any{"name": "slow", "query": "SELECT pg_sleep(5)"})
		require.Equal(t, http.StatusCreated, r.Status, "planning does not run it")
		start := time.Now()
		rows := sys.Do("GET", "/api/table/"+r.JSON["id"].(string)+"/rows", token, nil)
		require.Equal(t, 400, rows.Status)
		require.Contains(t, rows.JSON["detail"], "longer than allowed")
		require.Less(t, time.Since(start), 3*time.Second, "stopped at the timeout, not after 5s")
	})
	t.Run("SyntaxNamesTheQuery", func(t *testing.T) {
		r := sys.Do("POST", "/api/table", token, map[string]any{"name": "bad", "query": "SELEC id FROM orders"})
		require.Equal(t, 400, r.Status)
		require.Equal(t, "query", r.JSON["errors"].([]any)[0].(map[string]any)["field"])
		require.Contains(t, r.JSON["detail"], "at character 1")
	})
	var n, objects int
	require.NoError(t, sys.Node.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM `+schema+`.orders`).Scan(&n))
	require.Equal(t, 3, n, "nothing was written or dropped")
	require.NoError(t, sys.Node.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM pg_largeobject_metadata`).Scan(&objects))
	require.Zero(t, objects, "no large object persists")
	t.Run("DeleteStillWorks", func(t *testing.T) {
		var account string
		require.NoError(t, sys.Node.Store.Pool().QueryRow(context.Background(),
			`SELECT id FROM core.accounts WHERE schema_name = $1`, schema).Scan(&account))
		owner := sys.PartnerOf(account)
		token, _, err := sys.Node.Issuer.Issue(context.Background(), tenantry.Caller{Kind: tenantry.KindPartnerToken, PartnerID: owner}, time.Hour)
		require.NoError(t, err)
		del := sys.Do("DELETE", "/api/subaccount/"+account, token, nil)
		require.Equal(t, 202, del.Status, string(del.Body))
		require.Equal(t, "succeeded", sys.WaitJob(token, del.JSON["job_id"].(string))["status"])
		var roles int
		require.NoError(t, sys.Node.Store.Pool().QueryRow(context.Background(),
			`SELECT count(*) FROM pg_roles WHERE rolname IN ($1::text, $1::text || '_sql')`, schema).Scan(&roles))
		require.Zero(t, roles, "the tenant role and its login role are gone")
	})
}

// TestTenantLoginMadeOnce: the SQL login role is created on an account's
// first query (provisioning does not pay for it), once, however many
// first queries race.
func TestTenantLoginMadeOnce(t *testing.T) {
	t.Parallel()
	sys, token, schema := tablesSetup(t)
	var roles int
	count := func() int {
		require.NoError(t, sys.Node.Store.Pool().QueryRow(context.Background(),
			`SELECT count(*) FROM pg_roles WHERE rolname = $1`, schema+"_sql").Scan(&roles))
		return roles
	}
	require.Zero(t, count(), "not made at provisioning")
	statuses := make(chan int, 6)
	for i := range 6 {
		go func() {
			r := sys.Do("POST", "/api/table", token, map[string]any{"name": fmt.Sprintf("t%d", i), "query": "SELECT 1 AS one"})
			statuses <- r.Status
		}()
	}
	for range 6 {
		require.Equal(t, http.StatusCreated, <-statuses)
	}
	require.Equal(t, 1, count())
}

// TestTenantConnectionReuse: a tenant's SQL connection is reused for its
// next queries, and what a query does to its session does not outlive
// it: settings are reset, the guards are set again each time.
func TestTenantConnectionReuse(t *testing.T) {
	t.Parallel()
	sys, token, schema := tablesSetup(t)
	query := func(name, q string) tenantrytest.Response {
		t.Helper()
		r := sys.Do("POST", "/api/table", token, map[string]any{"name": name, "query": q})
		require.Equal(t, 201, r.Status, string(r.Body))
		return sys.Do("GET", "/api/table/"+r.JSON["id"].(string)+"/rows", token, nil)
	}
	first := query("pid", "SELECT pg_backend_pid() AS pid")
	require.Equal(t, 200, first.Status, string(first.Body))
	require.Equal(t, first.JSON["rows"], query("pid again", "SELECT pg_backend_pid() AS pid").JSON["rows"],
		"the same logged-in connection serves the next query")

	// An idle connection that died meanwhile is replaced, unseen.
	var pid int
	require.NoError(t, sys.Node.Store.Pool().QueryRow(context.Background(), `SELECT pid FROM pg_stat_activity
		WHERE usename = $1`, schema+"_sql").Scan(&pid))
	_, err := sys.Node.Store.Pool().Exec(context.Background(), `SELECT pg_terminate_backend($1, 5000)`, pid)
	require.NoError(t, err)
	fresh := query("after terminate", "SELECT pg_backend_pid() AS pid")
	require.Equal(t, 200, fresh.Status, string(fresh.Body))
	require.NotEqual(t, first.JSON["rows"], fresh.JSON["rows"])

	settings := "SELECT current_setting('search_path') AS sp, current_setting('work_mem') AS wm, current_setting('statement_timeout') AS st"
	before := query("settings before", settings)
	require.Equal(t, `"`+schema+`"`, before.JSON["rows"].([]any)[0].([]any)[0])
	set := query("loosen", "SELECT set_config('statement_timeout', '0', false) AS a, set_config('search_path', 'public', false) AS b, set_config('work_mem', '1GB', false) AS c")
	require.Equal(t, 200, set.Status, string(set.Body))
	require.Equal(t, before.JSON["rows"], query("settings after", settings).JSON["rows"], "session settings reset")
	slow := query("slow", "SELECT pg_sleep(3)")
	require.Equal(t, 400, slow.Status, "the statement timeout still holds: %s", slow.Body)
}
