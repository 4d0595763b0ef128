package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSubaccountLifecycle(t *testing.T) {
	t.Parallel()
	sys, token := setup(t)
	pool := sys.Node.Store.Pool()
	schemaExists := func(schema string) (ns, role bool) {
		err := pool.QueryRow(context.Background(), `SELECT
			EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1), EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`,
			schema).Scan(&ns, &role)
		require.NoError(t, err)
		return ns, role
	}

	r := sys.Do("POST", "/api/subaccount", token, map[string]any{
		"external_id": "cust-1", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
		"language": "en", "company_name": "Analytical Engines",
	})
	require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
	id := r.JSON["id"].(string)
	require.Equal(t, "provisioning", r.JSON["status"])
	require.Equal(t, "cust-1", r.JSON["external_id"])
	require.NotEmpty(t, r.JSON["job_id"])
	require.Equal(t, "/api/subaccount/"+id, r.Header.Get("Location"))

	job := sys.WaitJob(token, r.JSON["job_id"].(string))
	require.Equal(t, "succeeded", job["status"])
	require.Equal(t, "subaccount.provision", job["kind"])
	require.EqualValues(t, 1, job["attempts"])
	require.NotNil(t, job["finished_at"])

	got := sys.Do("GET", "/api/subaccount/"+id, token, nil)
	require.Equal(t, http.StatusOK, got.Status)
	require.Equal(t, "active", got.JSON["status"])
	require.Equal(t, "Analytical Engines", got.JSON["company_name"])
	schema := "t_" + id[len("sub_"):]
	ns, role := schemaExists(schema)
	require.True(t, ns, "tenant schema created")
	require.True(t, role, "tenant role created")

	t.Run("Isolation", func(t *testing.T) {
		other := create(t, sys, token, "neighbour")
		otherSchema := "t_" + other[len("sub_"):]
		var canLogin, ownUsage, coreUsage, neighbourUsage, coreTable bool
		err := pool.QueryRow(context.Background(), `SELECT
			(SELECT rolcanlogin FROM pg_roles WHERE rolname = $1),
			has_schema_privilege($1, $1, 'USAGE'), has_schema_privilege($1, 'core', 'USAGE'),
			has_schema_privilege($1, $2, 'USAGE'), has_table_privilege($1, 'core.accounts', 'SELECT')`,
			schema, otherSchema).Scan(&canLogin, &ownUsage, &coreUsage, &neighbourUsage, &coreTable)
		require.NoError(t, err)
		require.False(t, canLogin, "tenant roles are NOLOGIN")
		require.True(t, ownUsage, "a tenant uses its own schema")
		require.False(t, coreUsage, "but not the core schema")
		require.False(t, coreTable)
		require.False(t, neighbourUsage, "nor another tenant's")
		del := sys.Do("DELETE", "/api/subaccount/"+other, token, nil)
		sys.WaitJob(token, del.JSON["job_id"].(string))
	})

	t.Run("List", func(t *testing.T) {
		create(t, sys, token, "cust-2")
		all := sys.Do("GET", "/api/subaccount", token, nil)
		require.Equal(t, http.StatusOK, all.Status)
		require.Len(t, all.JSON["items"], 2)
		require.Nil(t, all.JSON["next_cursor"])

		first := sys.Do("GET", "/api/subaccount?limit=1", token, nil)
		require.Len(t, first.JSON["items"], 1)
		cursor := first.JSON["next_cursor"].(string)
		second := sys.Do("GET", "/api/subaccount?limit=1&cursor="+cursor, token, nil)
		require.Len(t, second.JSON["items"], 1)
		require.NotEqual(t, first.JSON["items"], second.JSON["items"])
		require.Nil(t, second.JSON["next_cursor"])

		byExt := sys.Do("GET", "/api/subaccount?external_id=cust-1", token, nil)
		require.Len(t, byExt.JSON["items"], 1)
		require.Equal(t, id, byExt.JSON["items"].([]any)[0].(map[string]any)["id"])
	})

	t.Run("Update", func(t *testing.T) {
		up := sys.Do("PUT", "/api/subaccount/"+id, token, map[string]any{"company_name": "Babbage & Co", "language": "en-GB"})
		require.Equal(t, http.StatusOK, up.Status, string(up.Body))
		require.Equal(t, "Babbage & Co", up.JSON["company_name"])
		require.Equal(t, "en-GB", up.JSON["language"])
		require.Equal(t, "Ada", up.JSON["first_name"], "fields not given are kept")
	})

	t.Run("Delete", func(t *testing.T) {
		acct := sys.Do("GET", "/api/subaccount/"+id+"/token", token, nil)
		require.Equal(t, http.StatusOK, acct.Status)
		accountToken := acct.JSON["token"].(string)

		del := sys.Do("DELETE", "/api/subaccount/"+id, token, nil)
		require.Equal(t, http.StatusAccepted, del.Status, string(del.Body))
		require.Equal(t, "deprovisioning", del.JSON["status"])
		again := sys.Do("DELETE", "/api/subaccount/"+id, token, nil)
		require.Contains(t, []int{http.StatusConflict, http.StatusNotFound}, again.Status,
			"a deletion in progress or done is not started twice")
		job := sys.WaitJob(token, del.JSON["job_id"].(string))
		require.Equal(t, "succeeded", job["status"])

		require.Equal(t, http.StatusNotFound, sys.Do("GET", "/api/subaccount/"+id, token, nil).Status)
		ns, role := schemaExists(schema)
		require.False(t, ns, "tenant schema dropped")
		require.False(t, role, "tenant role dropped")
		require.Equal(t, http.StatusUnauthorized, sys.Do("GET", "/api/subaccount/"+id, accountToken, nil).Status,
			"a deleted account's tokens stop working")

		reuse := sys.Do("POST", "/api/subaccount", token, map[string]any{"external_id": "cust-1"})
		require.Equal(t, http.StatusAccepted, reuse.Status, "a deleted account's external_id can be reused")
	})
}

func TestExternalIDConflict(t *testing.T) {
	t.Parallel()
	sys, token := setup(t)
	_, other := sys.Partner()
	body := map[string]any{"external_id": "dup"}
	require.Equal(t, http.StatusAccepted, sys.Do("POST", "/api/subaccount", token, body).Status)

	r := sys.Do("POST", "/api/subaccount", token, body)
	require.Equal(t, http.StatusConflict, r.Status)
	require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
	require.Equal(t, "conflict", r.JSON["code"])
	require.Equal(t, "external_id", r.JSON["errors"].([]any)[0].(map[string]any)["field"])

	require.Equal(t, http.StatusAccepted, sys.Do("POST", "/api/subaccount", other, body).Status,
		"external_id is unique per partner, not globally")

	id := create(t, sys, token, "renamed")
	up := sys.Do("PUT", "/api/subaccount/"+id, token, map[string]any{"external_id": "dup"})
	require.Equal(t, http.StatusConflict, up.Status, "renaming onto a taken external_id")
}

func TestValidation(t *testing.T) {
	t.Parallel()
	sys, token := setup(t)
	big := `{"external_id":"x","company_name":"` + string(make([]byte, 2<<20)) + `"}`
	cases := []struct {
		name, body string
		status     int
		field      string
	}{
		{"MissingExternalID", `{"first_name":"Ada"}`, 400, "external_id"},
		{"BlankExternalID", `{"external_id":"  "}`, 400, "external_id"},
		{"BadEmail", `{"external_id":"a","email":"not-an-email"}`, 400, "email"},
		{"BadLanguage", `{"external_id":"a","language":"english!"}`, 400, "language"},
		{"TooLong", `{"external_id":"a","first_name":"` + strings.Repeat("é", 201) + `"}`, 400, "first_name"},
		{"ControlChars", `{"external_id":"a\u0000b"}`, 400, "external_id"},
		{"UnknownField", `{"external_id":"a","plan":"gold"}`, 400, "plan"},
		{"WrongType", `{"external_id":"a","first_name":42}`, 400, "first_name"},
		{"Malformed", `{"external_id":`, 400, ""},
		{"Empty", ``, 400, ""},
		{"Array", `[{"external_id":"a"}]`, 400, ""},
		{"Trailing", `{"external_id":"a"}{"external_id":"b"}`, 400, ""},
		{"TooLarge", big, 413, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := sys.Do("POST", "/api/subaccount", token, tc.body)
			require.Equal(t, tc.status, r.Status, string(r.Body))
			require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
			require.EqualValues(t, tc.status, r.JSON["status"])
			require.NotEmpty(t, r.JSON["detail"])
			if tc.field != "" {
				errs := r.JSON["errors"].([]any)
				require.Equal(t, tc.field, errs[0].(map[string]any)["field"], string(r.Body))
			}
		})
	}
	t.Run("AllFieldsReported", func(t *testing.T) {
		r := sys.Do("POST", "/api/subaccount", token, `{"email":"x","language":"??"}`)
		require.Equal(t, 400, r.Status)
		require.Len(t, r.JSON["errors"], 3, string(r.Body))
	})
	t.Run("BadLimit", func(t *testing.T) {
		r := sys.Do("GET", "/api/subaccount?limit=0", token, nil)
		require.Equal(t, 400, r.Status)
		require.Equal(t, "limit", r.JSON["errors"].([]any)[0].(map[string]any)["field"])
	})
	t.Run("BadCursor", func(t *testing.T) {
		r := sys.Do("GET", "/api/subaccount?cursor=!!!", token, nil)
		require.Equal(t, 400, r.Status)
	})
	t.Run("NothingCreated", func(t *testing.T) {
		r := sys.Do("GET", "/api/subaccount", token, nil)
		require.Empty(t, r.JSON["items"])
	})
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	sys, token := setup(t)
	body := map[string]any{"external_id": "idem-1"}

	first := sys.Do("POST", "/api/subaccount", token, body, "Idempotency-Key", "key-1")
	require.Equal(t, http.StatusAccepted, first.Status)
	again := sys.Do("POST", "/api/subaccount", token, body, "Idempotency-Key", "key-1")
	require.Equal(t, http.StatusAccepted, again.Status, "the first response again, not a conflict")
	require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
	require.Equal(t, first.JSON["id"], again.JSON["id"])
	require.Equal(t, first.JSON["job_id"], again.JSON["job_id"])

	other := sys.Do("POST", "/api/subaccount", token, map[string]any{"external_id": "idem-2"}, "Idempotency-Key", "key-1")
	require.Equal(t, http.StatusUnprocessableEntity, other.Status)
	require.Equal(t, "idempotency_mismatch", other.JSON["code"])

	bad := sys.Do("POST", "/api/subaccount", token, `{}`, "Idempotency-Key", "key-2")
	require.Equal(t, http.StatusBadRequest, bad.Status)
	fixed := sys.Do("POST", "/api/subaccount", token, `{"external_id":"idem-3"}`, "Idempotency-Key", "key-2")
	require.Equal(t, http.StatusAccepted, fixed.Status, "a failed request does not hold its key")

	_, otherToken := sys.Partner()
	theirs := sys.Do("POST", "/api/subaccount", otherToken, body, "Idempotency-Key", "key-1")
	require.Equal(t, http.StatusAccepted, theirs.Status, "keys are per caller")
	require.NotEqual(t, first.JSON["id"], theirs.JSON["id"])

	list := sys.Do("GET", "/api/subaccount?external_id=idem-1", token, nil)
	require.Len(t, list.JSON["items"], 1, "one subaccount for one key")
}

func TestIdempotencyKeyConcurrent(t *testing.T) {
	t.Parallel()
	sys, token := setup(t)
	const n = 10
	statuses := make(chan int, n)
	ids := make(chan any, n)
	for range n {
		go func() {
			r := sys.Do("POST", "/api/subaccount", token, map[string]any{"external_id": "race"}, "Idempotency-Key", "same")
			statuses <- r.Status
			ids <- r.JSON["id"]
		}()
	}
	seen := map[any]bool{}
	for range n {
		st := <-statuses
		id := <-ids
		require.Contains(t, []int{202, 409}, st, "in-flight duplicates get 409, later ones the replay")
		if st == 202 {
			seen[id] = true
		}
	}
	require.Len(t, seen, 1, "every 202 names the same subaccount")
	require.Len(t, sys.Do("GET", "/api/subaccount", token, nil).JSON["items"], 1)
}

func TestJobNotFound(t *testing.T) {
	t.Parallel()
	sys, token := setup(t)
	r := sys.Do("GET", "/api/jobs/job_nope", token, nil)
	require.Equal(t, http.StatusNotFound, r.Status)
	require.Equal(t, "not_found", r.JSON["code"])
}
