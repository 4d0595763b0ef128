package handlers_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"

	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/tenantrytest"
)

// FuzzSubaccountBodies sends arbitrary bodies to POST and PUT
// /api/subaccount through the whole stack: the answer is always a
// deliberate status, never a 500, and every error is a problem document.
// Seeds live in testdata/fuzz/FuzzSubaccountBodies.
func FuzzSubaccountBodies(f *testing.F) {
	for _, seed := range []string{
		`{"external_id":"a"}`,
		`{"external_id":"a","first_name":"Ada","email":"ada@example.com","language":"pt-BR"}`,
		`{"external_id":null}`, `{"external_id":1e400}`, `{"external_id":"\ud800"}`, `{"first_name":{}}`,
		`[]`, `null`, `""`, `{`, `{"external_id":"a"} trailing`, "\x00", `{"email":"a@b","email":"c@d"}`,
	} {
		f.Add([]byte(seed))
	}
	sys := tenantrytest.Start(f, unlimited)
	_, token := sys.Partner()
	id := create(f, sys, token, "fuzz-target")
	allowed := map[int]bool{http.StatusAccepted: true, http.StatusOK: true, http.StatusBadRequest: true,
		http.StatusConflict: true, http.StatusRequestEntityTooLarge: true}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, req := range []struct{ method, path string }{{"POST", "/api/subaccount"}, {"PUT", "/api/subaccount/" + id}} {
			r := sys.For(t).Do(req.method, req.path, token, body)
			if !allowed[r.Status] {
				t.Fatalf("%s %q → %d %s", req.method, body, r.Status, r.Body)
			}
			if r.Status >= 400 && (r.Header.Get("Content-Type") != "application/problem+json" || r.JSON["code"] == nil) {
				t.Fatalf("%s %q → %d without a problem document: %s", req.method, body, r.Status, r.Body)
			}
		}
	})
}

// FuzzQueryAndPath sends arbitrary query parameters, path ids and
// Idempotency-Keys: never a 500.
func FuzzQueryAndPath(f *testing.F) {
	f.Add("", "", "", "sub_x", "key")
	f.Add("AA", "\x00", "0", "a\x00b", "\xff\xfe")
	f.Add("_w", "%ff", "9999999999999999999", "../../etc", "k e y")
	f.Add(base64Cursor("sub_01"), "ext", "-1", "job_"+strings.Repeat("f", 300), strings.Repeat("k", 300))
	sys := tenantrytest.Start(f, unlimited)
	_, token := sys.Partner()
	f.Fuzz(func(t *testing.T, cursor, external, limit, id, key string) {
		s := sys.For(t)
		q := url.Values{"cursor": {cursor}, "external_id": {external}, "limit": {limit}}.Encode()
		esc := url.PathEscape(id)
		for _, path := range []string{"/api/subaccount?" + q, "/api/subaccount/token?" + q,
			"/api/subaccount/" + esc, "/api/subaccount/" + esc + "/token", "/api/jobs/" + esc} {
			if r := s.Do("GET", path, token, nil); r.Status >= 500 {
				t.Fatalf("GET %s → %d %s", path, r.Status, r.Body)
			}
		}
		if !httpguts.ValidHeaderFieldValue(key) {
			return
		}
		r := s.Do("POST", "/api/subaccount", token, `{"external_id":"fuzz"}`, "Idempotency-Key", key)
		if r.Status >= 500 {
			t.Fatalf("Idempotency-Key %q → %d %s", key, r.Status, r.Body)
		}
	})
}

func base64Cursor(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// FuzzOAuthCallback sends arbitrary query strings to the OAuth callback,
// which is reachable without credentials: the popup always gets the
// callback page with a deliberate status, never a 500.
func FuzzOAuthCallback(f *testing.F) {
	f.Add("state", "code", "", "")
	f.Add("", "", "access_denied", "the user said no")
	f.Add("s", "", "\xff", "a\x00b")
	f.Add(strings.Repeat("s", 5000), strings.Repeat("c", 5000), "", strings.Repeat("é", 300))
	sys := tenantrytest.Start(f, unlimited)
	f.Fuzz(func(t *testing.T, state, code, oauthErr, desc string) {
		q := url.Values{"state": {state}, "code": {code}, "error": {oauthErr}, "error_description": {desc}}
		r := sys.For(t).Do("GET", "/oauth/callback?"+q.Encode(), "", nil)
		if r.Status >= 500 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("callback %v → %d %s %s", q, r.Status, r.Header.Get("Content-Type"), r.Body)
		}
	})
}

// unlimited turns rate limits off: fuzzing sends far more than a quota.
func unlimited(c *node.Config) { c.HTTP.RateLimits.Off = true }
