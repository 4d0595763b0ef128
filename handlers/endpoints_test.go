package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/tenantrytest"
)

// endpointsSetup runs a system (edit may adjust it) with two accounts of
// one partner, whose scripts may reach loopback.
func endpointsSetup(t *testing.T, edit func(*node.Config)) (sys *tenantrytest.System, partner string, a, b scriptAccount) {
	t.Helper()
	sys = tenantrytest.Start(t, func(c *node.Config) {
		c.EgressAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		if edit != nil {
			edit(c)
		}
	})
	_, partner = sys.Partner()
	account := func(ext string) scriptAccount {
		id, token := sys.Account(partner, ext)
		return scriptAccount{id: id, token: token, schema: "t_" + id[len("sub_"):]}
	}
	return sys, partner, account("a"), account("b")
}

// publish creates an interface with code and publishes it at method and
// path; it returns the interface's and the endpoint's ids.
func publish(t *testing.T, sys *tenantrytest.System, token, method, path, auth, code string) (ifc, endpoint string) {
	t.Helper()
	r := sys.Do("POST", "/api/interface", token, map[string]any{"name": method + " " + path, "raw_code": code})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	ifc = r.JSON["id"].(string)
	return ifc, publishInterface(t, sys, token, method, path, auth, ifc)
}

func publishInterface(t *testing.T, sys *tenantrytest.System, token, method, path, auth, ifc string) string {
	t.Helper()
	r := sys.Do("POST", "/api/endpoints", token, map[string]any{"path": path, "method": method, "interface_id": ifc, "auth": auth})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	return r.JSON["id"].(string)
}

// endpointRun waits for interface ifc's run id to be recorded and
// returns it.
func endpointRun(t *testing.T, sys *tenantrytest.System, token, ifc, id string) map[string]any {
	t.Helper()
	var found map[string]any
	require.Eventually(t, func() bool {
		r := sys.Do("GET", "/api/interface/"+ifc+"/runs", token, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		for _, item := range r.JSON["items"].([]any) {
			if run := item.(map[string]any); run["id"] == id {
				found = run
			}
		}
		return found != nil
	}, 10*time.Second, 20*time.Millisecond, "run %s is recorded", id)
	return found
}

func TestEndpointsAPI(t *testing.T) {
	t.Parallel()
	sys, partner, a, b := endpointsSetup(t, nil)
	ifc, id := publish(t, sys, a.token, "GET", "/orders", "jwt", "def handler(request):\n    return {}\n")

	got := sys.Do("GET", "/api/endpoints/"+id, a.token, nil)
	require.Equal(t, http.StatusOK, got.Status, string(got.Body))
	require.Equal(t, sys.URL+"/endpoints/"+a.id+"/orders", got.JSON["url"])
	require.Equal(t, map[string]any{"id": id, "subaccount_id": a.id, "interface_id": ifc, "path": "/orders",
		"method": "GET", "auth": "jwt", "url": got.JSON["url"], "created_at": got.JSON["created_at"]}, got.JSON)

	t.Run("Invalid", func(t *testing.T) {
		fields := func(r tenantrytest.Response) []string {
			require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
			require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
			var names []string
			for _, e := range r.JSON["errors"].([]any) {
				names = append(names, e.(map[string]any)["field"].(string))
			}
			return names
		}
		require.Equal(t, []string{"path", "method", "interface_id", "auth"}, fields(sys.Do("POST", "/api/endpoints", a.token, map[string]any{})))
		for name, body := range map[string]map[string]any{
			"path":         {"path": "orders", "method": "GET", "interface_id": ifc, "auth": "jwt"},
			"path ":        {"path": "/a/../b", "method": "GET", "interface_id": ifc, "auth": "jwt"},
			"path  ":       {"path": "/a b", "method": "GET", "interface_id": ifc, "auth": "jwt"},
			"method":       {"path": "/x", "method": "FETCH", "interface_id": ifc, "auth": "jwt"},
			"auth":         {"path": "/x", "method": "GET", "interface_id": ifc, "auth": "basic"},
			"interface_id": {"path": "/x", "method": "GET", "interface_id": "ifc_nope", "auth": "jwt"},
		} {
			require.Equal(t, []string{strings.TrimSpace(name)}, fields(sys.Do("POST", "/api/endpoints", a.token, body)), name)
		}
		other := sys.Do("POST", "/api/interface", b.token, map[string]any{"name": "b", "raw_code": "def handler(request):\n    return {}\n"})
		require.Equal(t, []string{"interface_id"}, fields(sys.Do("POST", "/api/endpoints", a.token,
			map[string]any{"path": "/x", "method": "GET", "interface_id": other.JSON["id"], "auth": "jwt"})), "another account's interface")
		noHandler := sys.Do("POST", "/api/interface", a.token, map[string]any{"name": "main only", "raw_code": "def main():\n    return 1\n"})
		r := sys.Do("POST", "/api/endpoints", a.token, map[string]any{"path": "/x", "method": "GET", "interface_id": noHandler.JSON["id"], "auth": "jwt"})
		require.Equal(t, []string{"interface_id"}, fields(r))
		require.Contains(t, r.JSON["detail"], "handler(request)")
	})

	dup := sys.Do("POST", "/api/endpoints", a.token, map[string]any{"path": "/orders", "method": "get", "interface_id": ifc, "auth": "public"})
	require.Equal(t, http.StatusConflict, dup.Status, string(dup.Body))
	require.Equal(t, "path", dup.JSON["errors"].([]any)[0].(map[string]any)["field"])
	post := publishInterface(t, sys, a.token, "POST", "/orders", "public", ifc)
	require.Equal(t, http.StatusForbidden, sys.Do("POST", "/api/endpoints", partner,
		map[string]any{"path": "/p", "method": "GET", "interface_id": ifc, "auth": "jwt"}).Status, "a partner token cannot publish")

	require.Len(t, sys.Do("GET", "/api/endpoints", a.token, nil).JSON["items"], 2)
	require.Len(t, sys.Do("GET", "/api/endpoints", partner, nil).JSON["items"], 2, "the partner sees its accounts'")
	require.Empty(t, sys.Do("GET", "/api/endpoints", b.token, nil).JSON["items"])
	require.Equal(t, http.StatusNotFound, sys.Do("GET", "/api/endpoints/"+id, b.token, nil).Status)
	require.Equal(t, http.StatusNotFound, sys.Do("DELETE", "/api/endpoints/"+id, b.token, nil).Status)

	require.Equal(t, http.StatusOK, sys.Do("POST", "/endpoints/"+a.id+"/orders", "", nil).Status)
	require.Equal(t, http.StatusNoContent, sys.Do("DELETE", "/api/endpoints/"+post, a.token, nil).Status)
	require.Equal(t, http.StatusNotFound, sys.Do("GET", "/api/endpoints/"+post, a.token, nil).Status)
	gone := sys.Do("POST", "/endpoints/"+a.id+"/orders", "", nil)
	require.Equal(t, http.StatusMethodNotAllowed, gone.Status, "unpublished at once on the replica that deleted it: %s", gone.Body)
	require.Equal(t, "GET", gone.Header.Get("Allow"))
}

// TestEndpointExample runs docs/scripts.md's endpoint example as
// written, published, through its URL.
func TestEndpointExample(t *testing.T) {
	t.Parallel()
	sys, _, a, _ := endpointsSetup(t, nil)
	_, err := sys.Node.Store.Pool().Exec(context.Background(), `CREATE TABLE `+a.schema+`.orders (id int, status text);
		INSERT INTO `+a.schema+`.orders SELECT i, CASE WHEN i % 2 = 0 THEN 'paid' ELSE 'open' END FROM generate_series(1, 10) i`)
	require.NoError(t, err)
	storeSecret(t, sys, a.token, "endpoint_api_key", "k-123")
	publish(t, sys, a.token, "GET", "/orders", "public", handlerExample)
	url := "/endpoints/" + a.id + "/orders"

	r := sys.Do("GET", url+"?status=paid&limit=3", "", nil, "X-Api-Key", "k-123")
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	require.Equal(t, "application/json", r.Header.Get("Content-Type"))
	require.JSONEq(t, `{"orders": [{"id": 2, "status": "paid"}, {"id": 4, "status": "paid"}, {"id": 6, "status": "paid"}]}`, string(r.Body))

	open := sys.Do("GET", url+"?status=open&limit=2", "", nil, "X-Api-Key", "k-123")
	require.JSONEq(t, `{"orders": [{"id": 1, "status": "open"}, {"id": 3, "status": "open"}]}`, string(open.Body))

	wrong := sys.Do("GET", url, "", nil, "X-Api-Key", "nope")
	require.Equal(t, http.StatusUnauthorized, wrong.Status)
	require.JSONEq(t, `{"error": "invalid API key"}`, string(wrong.Body))
	require.Equal(t, http.StatusUnauthorized, sys.Do("GET", url, "", nil).Status, "no key at all")

	bad := sys.Do("GET", url+"?status=lost", "", nil, "X-Api-Key", "k-123")
	require.Equal(t, http.StatusBadRequest, bad.Status)
	require.JSONEq(t, `{"error": "unknown status"}`, string(bad.Body))
}

// authEcho answers with what it saw of the caller's credentials.
const authEcho = `
def handler(request):
    if request["headers"].get("X-Api-Key") != "let-me-in" and request["path"] == "/public":
        return (401, {"error": "bad key"}, {"WWW-Authenticate": "ApiKey"})
    return {"authorization": request["headers"].get("Authorization", "")}
`

func TestEndpointAuth(t *testing.T) {
	t.Parallel()
	sys, partner, a, b := endpointsSetup(t, nil)
	ifc, _ := publish(t, sys, a.token, "GET", "/private", "jwt", authEcho)
	publishInterface(t, sys, a.token, "GET", "/public", "public", ifc)
	private, public := "/endpoints/"+a.id+"/private", "/endpoints/"+a.id+"/public"

	t.Run("JWT", func(t *testing.T) {
		for name, c := range map[string]struct {
			token  string
			status int
		}{
			"Missing":        {"", http.StatusUnauthorized},
			"Invalid":        {"not-a-token", http.StatusUnauthorized},
			"OtherAccount":   {b.token, http.StatusForbidden},
			"PartnerToken":   {partner, http.StatusForbidden},
			"AccountsOwnJWT": {a.token, http.StatusOK},
		} {
			r := sys.Do("GET", private, c.token, nil)
			require.Equal(t, c.status, r.Status, "%s: %s", name, r.Body)
			if c.status != http.StatusOK {
				require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"), name)
				require.Empty(t, r.Header.Get("X-Tenantry-Run-Id"), "%s: the script did not run", name)
			}
		}
		r := sys.Do("GET", private, "", nil, "Authorization", "JWT "+a.token)
		require.Equal(t, http.StatusOK, r.Status, "the JWT scheme: %s", r.Body)
		require.Equal(t, "", r.JSON["authorization"], "the script never sees the account's token")
	})

	t.Run("Public", func(t *testing.T) {
		r := sys.Do("GET", public, "", nil)
		require.Equal(t, http.StatusUnauthorized, r.Status, "the script refused: %s", r.Body)
		require.Equal(t, "ApiKey", r.Header.Get("WWW-Authenticate"))
		require.JSONEq(t, `{"error": "bad key"}`, string(r.Body))
		ok := sys.Do("GET", public, "", nil, "X-Api-Key", "let-me-in", "Authorization", "Basic dXNlcjpwdw==")
		require.Equal(t, http.StatusOK, ok.Status, string(ok.Body))
		require.Equal(t, "Basic dXNlcjpwdw==", ok.JSON["authorization"], "a public endpoint's script sees Authorization")
		require.Equal(t, http.StatusOK, sys.Do("GET", public, b.token, nil, "X-Api-Key", "let-me-in").Status,
			"any token, or none: the script decides")
	})
}

// shapes answers each path with another shape of return value.
const shapes = `
def handler(request):
    p = request["path"]
    if p == "/created":
        return (201, {"created": True}, {"X-Thing": "yes", "Set-Cookie": ["a=1", "b=2"]})
    if p == "/csv":
        return (200, "a,b\n1,2\n", {"Content-Type": "text/csv"})
    if p == "/bytes":
        return (200, b"\x00\x01\xff", {})
    if p == "/short":
        return (404, None)
    if p == "/text":
        return "hello"
    if p == "/none":
        return None
    if p == "/list":
        return [200, {"a": 1}, {}]
    if p == "/badstatus":
        return (700, "x", {})
    if p == "/badheader":
        return (200, "x", {"Bad Header": "v"})
    if p == "/crlf":
        return (200, "x", {"X-A": "a\r\nInjected: 1"})
    return {k: request[k] for k in ("method", "url", "path", "query_string", "data", "form")}
`

func TestEndpointResponses(t *testing.T) {
	t.Parallel()
	sys, _, a, _ := endpointsSetup(t, nil)
	ifc, _ := publish(t, sys, a.token, "GET", "/created", "public", shapes)
	for _, p := range []string{"/csv", "/bytes", "/short", "/text", "/none", "/list", "/badstatus", "/badheader", "/crlf"} {
		publishInterface(t, sys, a.token, "GET", p, "public", ifc)
	}
	publishInterface(t, sys, a.token, "POST", "/echo", "public", ifc)
	call := func(method, path string, body any, headers ...string) tenantrytest.Response {
		return sys.Do(method, "/endpoints/"+a.id+path, "", body, headers...)
	}

	created := call("GET", "/created", nil)
	require.Equal(t, http.StatusCreated, created.Status)
	require.JSONEq(t, `{"created": true}`, string(created.Body))
	require.Equal(t, "application/json", created.Header.Get("Content-Type"))
	require.Equal(t, "yes", created.Header.Get("X-Thing"))
	require.Equal(t, []string{"a=1", "b=2"}, created.Header.Values("Set-Cookie"))
	require.NotEmpty(t, created.Header.Get("X-Tenantry-Run-Id"))

	csv := call("GET", "/csv", nil)
	require.Equal(t, "a,b\n1,2\n", string(csv.Body))
	require.Equal(t, "text/csv", csv.Header.Get("Content-Type"))
	bin := call("GET", "/bytes", nil)
	require.Equal(t, []byte{0, 1, 0xff}, bin.Body)
	require.Equal(t, "application/octet-stream", bin.Header.Get("Content-Type"))
	short := call("GET", "/short", nil)
	require.Equal(t, http.StatusNotFound, short.Status)
	require.Empty(t, short.Body)
	text := call("GET", "/text", nil)
	require.Equal(t, "hello", string(text.Body))
	require.Equal(t, "text/plain; charset=utf-8", text.Header.Get("Content-Type"))
	require.Equal(t, http.StatusNoContent, call("GET", "/none", nil).Status)
	list := call("GET", "/list", nil)
	require.Equal(t, http.StatusOK, list.Status)
	require.JSONEq(t, `[200, {"a": 1}, {}]`, string(list.Body), "a list is data, not the (status, body, headers) form")

	for _, p := range []string{"/badstatus", "/badheader", "/crlf"} {
		r := call("GET", p, nil)
		require.Equal(t, http.StatusInternalServerError, r.Status, "%s: %s", p, r.Body)
		require.Empty(t, r.Header.Get("Injected"))
		run := endpointRun(t, sys, a.token, ifc, r.JSON["run_id"].(string))
		require.Equal(t, "failed", run["status"])
		t.Logf("%s: %v", p, run["error"])
		require.Contains(t, run["error"].(map[string]any)["message"], map[string]string{"/badstatus": "from 200 to 599",
			"/badheader": `"Bad Header"`, "/crlf": "not a valid header value"}[p])
	}

	t.Run("Request", func(t *testing.T) {
		j := call("POST", "/echo?x=1&y=%20z", map[string]any{"n": 1, "s": "é"})
		require.Equal(t, http.StatusOK, j.Status, string(j.Body))
		require.Equal(t, map[string]any{"method": "POST", "url": sys.URL + "/endpoints/" + a.id + "/echo?x=1&y=%20z",
			"path": "/echo", "query_string": "x=1&y=%20z", "data": map[string]any{"n": float64(1), "s": "é"}, "form": map[string]any{}}, j.JSON)
		form := call("POST", "/echo", "a=1&b=two&a=3", "Content-Type", "application/x-www-form-urlencoded")
		require.Equal(t, map[string]any{"a": "1", "b": "two"}, form.JSON["form"])
		require.Equal(t, "a=1&b=two&a=3", form.JSON["data"])
		plain := call("POST", "/echo", "just text", "Content-Type", "text/plain")
		require.Equal(t, "just text", plain.JSON["data"])
		require.Nil(t, call("POST", "/echo", nil).JSON["data"])

		require.Equal(t, http.StatusBadRequest, call("POST", "/echo", "{not json").Status)
		require.Equal(t, http.StatusBadRequest, call("POST", "/echo", []byte{0xff, 0xfe}, "Content-Type", "application/octet-stream").Status)
		big := call("POST", "/echo", strings.Repeat("x", 600<<10), "Content-Type", "text/plain")
		require.Equal(t, http.StatusRequestEntityTooLarge, big.Status)
	})
}

func TestEndpointErrors(t *testing.T) {
	t.Parallel()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	sys, _, a, b := endpointsSetup(t, func(c *node.Config) { c.Endpoints.API.Timeout = 1500 * time.Millisecond })
	ifc, _ := publish(t, sys, a.token, "GET", "/fails", "public", `
def handler(request):
    print("about to fail")
    fail("the password is hunter2")
`)
	slowIfc, _ := publish(t, sys, a.token, "GET", "/slow", "public", `
def handler(request):
    return {"status": http.get("`+slow.URL+`").status_code}
`)
	publish(t, sys, a.token, "GET", "/fast", "jwt", "def handler(request):\n    return {'ok': True}\n")
	base := "/endpoints/" + a.id

	t.Run("ScriptError", func(t *testing.T) {
		r := sys.Do("GET", base+"/fails", "", nil)
		require.Equal(t, http.StatusInternalServerError, r.Status, string(r.Body))
		require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
		require.Equal(t, "script_error", r.JSON["code"])
		runID, _ := r.JSON["run_id"].(string)
		require.True(t, strings.HasPrefix(runID, "run_"), "the problem names the run: %s", r.Body)
		require.Equal(t, runID, r.Header.Get("X-Tenantry-Run-Id"))
		for _, internal := range []string{"hunter2", "about to fail", "line", "Traceback", "fail("} {
			require.NotContains(t, string(r.Body), internal)
		}
		run := endpointRun(t, sys, a.token, ifc, runID)
		require.Equal(t, "endpoint", run["trigger"])
		require.Equal(t, "failed", run["status"])
		require.Equal(t, "", run["job_id"])
		require.Equal(t, "about to fail\n", run["log"])
		e := run["error"].(map[string]any)
		require.Equal(t, "error", e["kind"])
		require.Equal(t, float64(4), e["line"])
		require.Contains(t, e["message"], "hunter2", "the script's author sees why, in the run")
	})

	t.Run("Timeout", func(t *testing.T) {
		start := time.Now()
		r := sys.Do("GET", base+"/slow", "", nil)
		require.Equal(t, http.StatusGatewayTimeout, r.Status, string(r.Body))
		require.Equal(t, "timeout", r.JSON["code"])
		require.Less(t, time.Since(start), 5*time.Second)
		require.Eventually(t, func() bool {
			runs := sys.Do("GET", "/api/interface/"+slowIfc+"/runs", a.token, nil).JSON["items"].([]any)
			return len(runs) == 1 && runs[0].(map[string]any)["error"].(map[string]any)["kind"] == "timeout"
		}, 10*time.Second, 20*time.Millisecond, "the stopped run is recorded")
		fast := sys.Do("GET", base+"/fast", a.token, nil)
		require.Equal(t, http.StatusOK, fast.Status, "the worker goes on answering: %s", fast.Body)
	})

	t.Run("NotFound", func(t *testing.T) {
		for _, path := range []string{base + "/nope", base + "/fast/", base + "/FAST", "/endpoints/" + b.id + "/fast", "/endpoints/sub_x/fast", base} {
			r := sys.Do("GET", path, a.token, nil)
			require.Equal(t, http.StatusNotFound, r.Status, "%s: %s", path, r.Body)
			require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"), path)
		}
	})

	t.Run("MethodNotAllowed", func(t *testing.T) {
		r := sys.Do("POST", base+"/fast", a.token, map[string]any{})
		require.Equal(t, http.StatusMethodNotAllowed, r.Status, string(r.Body))
		require.Equal(t, "GET", r.Header.Get("Allow"))
	})

	t.Run("NoWorker", func(t *testing.T) {
		// An API alone on a NATS no worker listens to: 503, promptly.
		ns := tenantrytest.NATS(t)
		api := tenantrytest.StartWithNATS(t, ns, func(c *node.Config) { c.Worker = false })
		r := api.Do("GET", base+"/fast", a.token, nil)
		require.Equal(t, http.StatusServiceUnavailable, r.Status, string(r.Body))
		require.Equal(t, "1", r.Header.Get("Retry-After"))
		ns.Shutdown()
		ns.WaitForShutdown()
		// Once the API has noticed (its readiness says so), calls are
		// refused at once rather than waiting out the call's timeout.
		require.Eventually(t, func() bool { return api.Do("GET", "/readyz", "", nil).Status == http.StatusServiceUnavailable },
			10*time.Second, 20*time.Millisecond)
		r = api.Do("GET", base+"/fast", a.token, nil)
		require.Equal(t, http.StatusServiceUnavailable, r.Status, "NATS down: %s", r.Body)
	})
}

// TestEndpointBusy: a worker holding MaxPending calls answers the next one
// at once with 503 and Retry-After instead of queueing it, and takes
// calls again once one is done.
func TestEndpointBusy(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	held := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
	}))
	t.Cleanup(held.Close)
	sys, _, a, _ := endpointsSetup(t, func(c *node.Config) { c.Endpoints.Worker.MaxPending = 1 })
	publish(t, sys, a.token, "GET", "/held", "public", `
def handler(request):
    return {"status": http.get("`+held.URL+`").status_code}
`)
	publish(t, sys, a.token, "GET", "/fast", "public", "def handler(request):\n    return {'ok': True}\n")
	base := "/endpoints/" + a.id

	first := make(chan int, 1)
	go func() { first <- sys.Do("GET", base+"/held", "", nil).Status }()
	<-arrived // the worker holds its one call
	r := sys.Do("GET", base+"/fast", "", nil)
	require.Equal(t, http.StatusServiceUnavailable, r.Status, string(r.Body))
	require.Equal(t, "1", r.Header.Get("Retry-After"))

	close(release)
	require.Equal(t, http.StatusOK, <-first)
	require.Equal(t, http.StatusOK, sys.Do("GET", base+"/fast", "", nil).Status, "a call is taken again once one is done")
}
