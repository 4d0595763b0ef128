package handlers_test

import (
	"net/http"
	"testing"

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
	sys := tenantrytest.Start(f, nil)
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
