package handlers_test

import (
	"net/http"
	"testing"

	"golang.org/x/net/http/httpguts"

	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/tenantrytest"
)

// FuzzEndpointBodies sends arbitrary bodies to POST /api/endpoints, and
// arbitrary bodies and content types to a published endpoint that echoes
// its request: the answer is always deliberate, never a 500, and every
// error is a problem document.
func FuzzEndpointBodies(f *testing.F) {
	for _, seed := range []struct{ body, ctype string }{
		{`{"path":"/x","method":"GET","interface_id":"ifc_x","auth":"jwt"}`, "application/json"},
		{`{"path":"/x/../y","method":"get","auth":"public"}`, "application/json"},
		{`{"path":1,"method":null}`, "application/vnd.api+json"},
		{"a=1&b=%zz", "application/x-www-form-urlencoded"},
		{"\x7f", "text/plain"}, // json.encode wrote DEL as \x7f, not JSON: the run could not finish
		{"\xff\x00", "text/plain"}, {`[]`, ""}, {`{`, "application/json; charset=utf-8"}, {``, "multipart/form-data"},
	} {
		f.Add([]byte(seed.body), seed.ctype)
	}
	sys := tenantrytest.Start(f, func(c *node.Config) { c.HTTP.RateLimits.Off = true })
	_, partner := sys.Partner()
	_, token := sys.Account(partner, "fuzz")
	r := sys.Do("POST", "/api/interface", token, map[string]any{"name": "echo", "raw_code": "def handler(request):\n    return request\n"})
	if r.Status != http.StatusCreated {
		f.Fatalf("create interface: %d %s", r.Status, r.Body)
	}
	r = sys.Do("POST", "/api/endpoints", token, map[string]any{"path": "/echo", "method": "POST", "interface_id": r.JSON["id"], "auth": "jwt"})
	if r.Status != http.StatusCreated {
		f.Fatalf("publish: %d %s", r.Status, r.Body)
	}
	echo := r.JSON["url"].(string)[len(sys.URL):]
	allowed := map[int]bool{http.StatusCreated: true, http.StatusOK: true, http.StatusBadRequest: true,
		http.StatusConflict: true, http.StatusRequestEntityTooLarge: true}
	f.Fuzz(func(t *testing.T, body []byte, ctype string) {
		if !httpguts.ValidHeaderFieldValue(ctype) {
			return // no client sends it
		}
		s := sys.For(t)
		for _, path := range []string{"/api/endpoints", echo} {
			r := s.Do("POST", path, token, body, "Content-Type", ctype)
			if !allowed[r.Status] {
				t.Fatalf("POST %s %q (%q) → %d %s", path, body, ctype, r.Status, r.Body)
			}
			if r.Status >= 400 && (r.Header.Get("Content-Type") != "application/problem+json" || r.JSON["code"] == nil) {
				t.Fatalf("POST %s %q → %d without a problem document: %s", path, body, r.Status, r.Body)
			}
		}
	})
}
