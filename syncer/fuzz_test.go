package syncer_test

import (
	"net/http"
	"testing"
)

// FuzzSyncBodies sends arbitrary bodies to POST /api/server/{id}/sync:
// each is accepted (202), refused as bad input (400, 413) or as a
// conflict with a running sync (409), never a 5xx.
func FuzzSyncBodies(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `{"streams":["by_page"]}`, `{"full_refresh":true}`, `{"streams":[]}`, `{"streams":null}`,
		`{"streams":["by_page","by_page"]}`, `{"streams":[1]}`, `{"streams":"by_page"}`, `{"full_refresh":"yes"}`,
		`[]`, `null`, `{`, `{"streams":["\u0000"]}`, `{"x":1}`, "\x00",
	} {
		f.Add([]byte(seed))
	}
	fx := setupFuzz(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := fx.sys.For(t).Do("POST", "/api/server/"+fx.conn+"/sync", fx.token, body)
		switch r.Status {
		case http.StatusAccepted, http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("%q: %d %s", body, r.Status, r.Body)
		}
	})
}
