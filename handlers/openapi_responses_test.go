package handlers_test

import (
	"bytes"
	"fmt"
	"mime"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/tenantrytest"
)

// TestOpenAPIResponses checks real answers of a running system against
// the document: each status is documented for its route, and each body
// has a documented content type and matches its schema, with no field the
// schema leaves out. It proves the document true, not just consistent.
func TestOpenAPIResponses(t *testing.T) {
	t.Parallel()
	sys := tenantrytest.Start(t, func(c *node.Config) { c.Webhooks.AdminTokens = []string{adminToken} })
	spec := sys.Do("GET", "/openapi.json", "", nil)
	doc := loadOpenAPI(t, spec.Body)
	check := func(method, path string, r tenantrytest.Response, want int) tenantrytest.Response {
		t.Helper()
		require.Equal(t, want, r.Status, "%s %s: %s", method, path, r.Body)
		if err := doc.checkResponse(method, path, r); err != nil {
			t.Errorf("%s %s answered %d, which the document does not describe: %v\n%s", method, path, r.Status, err, r.Body)
		}
		return r
	}
	do := func(method, template, path, token string, body any, want int, headers ...string) tenantrytest.Response {
		t.Helper()
		return check(method, template, sys.Do(method, path, token, body, headers...), want)
	}
	check("GET", "/openapi.json", spec, 200)
	for _, path := range []string{"/docs", "/healthz", "/readyz", "/.well-known/jwks.json", "/embed.js", "/metrics"} {
		do("GET", path, path, "", nil, 200)
	}

	_, partner := sys.Partner()
	sub := do("POST", "/api/subaccount", "/api/subaccount", partner, map[string]any{"external_id": "openapi", "email": "ops@acme.example"}, 202)
	id := sub.JSON["id"].(string)
	sys.WaitJob(partner, sub.JSON["job_id"].(string))
	do("GET", "/api/jobs/{id}", "/api/jobs/"+sub.JSON["job_id"].(string), partner, nil, 200)
	do("GET", "/api/subaccount/{id}", "/api/subaccount/"+id, partner, nil, 200)
	do("PUT", "/api/subaccount/{id}", "/api/subaccount/"+id, partner, map[string]any{"company_name": "Acme"}, 200)
	do("GET", "/api/subaccount", "/api/subaccount?limit=1", partner, nil, 200)
	do("GET", "/api/subaccount/token", "/api/subaccount/token?external_id=openapi&expire=false", partner, nil, 200)
	account := do("GET", "/api/subaccount/{id}/token", "/api/subaccount/"+id+"/token", partner, nil, 200).JSON["token"].(string)

	t.Run("Problems", func(t *testing.T) {
		do("POST", "/api/subaccount", "/api/subaccount", partner, map[string]any{"email": "nope"}, 400)
		do("GET", "/api/subaccount", "/api/subaccount", "", nil, 401)
		do("GET", "/api/subaccount", "/api/subaccount", account, nil, 403)
		do("GET", "/api/subaccount/{id}", "/api/subaccount/sub_0195f0c1a2b37c4d8e5f60718293a4b5", partner, nil, 404)
		do("POST", "/api/subaccount", "/api/subaccount", partner, map[string]any{"external_id": "openapi"}, 409)
	})
	t.Run("Credentials", func(t *testing.T) {
		key := do("POST", "/api/keys", "/api/keys", partner, map[string]any{"name": "openapi"}, 201)
		do("GET", "/api/keys", "/api/keys", partner, nil, 200)
		do("POST", "/api/auth/token", "/api/auth/token", key.JSON["key"].(string), nil, 200)
		do("POST", "/api/keys/{id}/revoke", "/api/keys/"+key.JSON["id"].(string)+"/revoke", partner, nil, 200)
		do("DELETE", "/api/keys/{id}", "/api/keys/"+key.JSON["id"].(string), partner, nil, 204)
		do("POST", "/api/oauth/apps", "/api/oauth/apps", partner, map[string]any{"name": "app", "redirect_uris": []string{"https://app.example/cb"}}, 201)
		do("GET", "/api/oauth/apps", "/api/oauth/apps", partner, nil, 200)
		once := do("GET", "/api/subaccount/{id}/token", "/api/subaccount/"+id+"/token?single_use=true", partner, nil, 200).JSON["token"].(string)
		inv := do("POST", "/api/subaccount/{id}/invitations", "/api/subaccount/"+id+"/invitations", once,
			map[string]any{"email": "ada@acme.example", "role": "admin"}, 201)
		link, err := url.Parse(inv.JSON["accept_url"].(string))
		require.NoError(t, err)
		do("POST", "/api/invitations/accept", "/api/invitations/accept", "",
			map[string]any{"token": link.Query().Get("token"), "password": "correct horse battery"}, 201)
		do("GET", "/api/subaccount/{id}/users", "/api/subaccount/"+id+"/users", account, nil, 200)
	})
	t.Run("Connections", func(t *testing.T) {
		do("GET", "/api/servertypes", "/api/servertypes", account, nil, 200)
		srv := do("POST", "/api/servers", "/api/servers", account, map[string]any{"servertype_id": "secret_store", "name": "key", "secret": "s3cr3t"}, 202)
		sys.WaitJob(account, srv.JSON["job_id"].(string))
		do("GET", "/api/server/{id}", "/api/server/"+srv.JSON["id"].(string), account, nil, 200)
		do("GET", "/api/servers", "/api/servers", account, nil, 200)
		do("GET", "/api/server/{id}/logs", "/api/server/"+srv.JSON["id"].(string)+"/logs", account, nil, 200)
		do("GET", "/api/webhooks", "/api/webhooks", account, nil, 200)
		do("GET", "/api/webhooks/events", "/api/webhooks/events", account, nil, 200)
	})
	t.Run("Scripts", func(t *testing.T) {
		tbl := do("POST", "/api/table", "/api/table", account, map[string]any{"name": "who", "query": "SELECT current_user AS role, now() AS at, 1.5 AS n"}, 201)
		do("GET", "/api/table/{id}/rows", "/api/table/"+tbl.JSON["id"].(string)+"/rows", account, nil, 200)
		do("GET", "/api/table/{id}/rows", "/api/table/"+tbl.JSON["id"].(string)+"/rows", account, nil, 200, "Accept", "text/csv")
		code := "def main():\n    print('hi')\n    return {'n': 1}\n\ndef handler(request):\n    return {'ok': True}\n"
		ifc := do("POST", "/api/interface", "/api/interface", account, map[string]any{"name": "both", "raw_code": code, "schedule": 3600}, 201)
		ifcID := ifc.JSON["id"].(string)
		run := do("POST", "/api/interface/{id}/run", "/api/interface/"+ifcID+"/run", account, nil, 202)
		sys.WaitJob(account, run.JSON["job_id"].(string))
		do("GET", "/api/interface/{id}/runs", "/api/interface/"+ifcID+"/runs", account, nil, 200)
		do("POST", "/api/endpoints", "/api/endpoints", account, map[string]any{"path": "/hello", "method": "GET", "interface_id": ifcID, "auth": "jwt"}, 201)
		do("GET", "/api/endpoints", "/api/endpoints", partner, nil, 200)
		do("GET", "/endpoints/{account}/{path}", "/endpoints/"+id+"/hello", account, nil, 200)
		do("GET", "/endpoints/{account}/{path}", "/endpoints/"+id+"/nowhere", account, nil, 404)
	})
	t.Run("Operators", func(t *testing.T) {
		do("POST", "/api/notifications/endpoints", "/api/notifications/endpoints", partner,
			map[string]any{"url": "https://app.example/events", "events": []string{"sync.failed"}}, 201)
		do("GET", "/api/notifications/endpoints", "/api/notifications/endpoints", partner, nil, 200)
		do("GET", "/api/admin/dlq", "/api/admin/dlq", adminToken, nil, 200)
		do("DELETE", "/api/subaccount/{id}", "/api/subaccount/"+id, partner, nil, 202)
	})
}

// checkResponse says what in r the document does not describe for the
// operation method path: its status, its content type, or its body.
func (o *openAPI) checkResponse(method, path string, r tenantrytest.Response) error {
	op := []string{"paths", path, strings.ToLower(method), "responses"}
	responses := obj(o.at(op))
	if responses == nil {
		return fmt.Errorf("no operation %s %s", method, path)
	}
	status := strconv.Itoa(r.Status)
	for _, key := range []string{status, status[:1] + "XX", "default"} {
		if responses[key] != nil {
			return o.checkContent(o.follow(append(op, key)), r)
		}
	}
	return fmt.Errorf("status %s is not documented", status)
}

func (o *openAPI) checkContent(resp []string, r tenantrytest.Response) error {
	if len(r.Body) == 0 {
		return nil
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return fmt.Errorf("Content-Type %q: %w", r.Header.Get("Content-Type"), err)
	}
	content := obj(obj(o.at(resp))["content"])
	key := mediaType
	if content[key] == nil {
		key = "*/*"
	}
	if content[key] == nil {
		return fmt.Errorf("content type %s is not documented", mediaType)
	}
	if mediaType != "application/json" && !strings.HasSuffix(mediaType, "+json") {
		return nil
	}
	body, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.Body))
	if err != nil {
		return err
	}
	return o.validate(append(resp, "content", key, "schema"), body)
}

// follow resolves the $ref at ptr, if any, to where it points.
func (o *openAPI) follow(ptr []string) []string {
	for ref, ok := obj(o.at(ptr))["$ref"].(string); ok; ref, ok = obj(o.at(ptr))["$ref"].(string) {
		ptr = nil
		for _, s := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			ptr = append(ptr, strings.NewReplacer("~1", "/", "~0", "~").Replace(s))
		}
	}
	return ptr
}
