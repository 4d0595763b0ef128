package handlers_test

import (
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/webhook"
)

// FuzzWebhookBodies sends arbitrary JSON bodies to the webhook,
// notification and admin routes that take one (POST, and PUT
// /api/webhooks): never a 500, and every error is a problem document. Seeds live in
// testdata/fuzz/FuzzWebhookBodies.
func FuzzWebhookBodies(f *testing.F) {
	for _, seed := range []string{
		`{"url":"https://example.com/hook","events":["*"]}`, `{"url":1,"events":"server.connected"}`,
		`{"subaccount_id":"sub_x","grace_seconds":1e99}`, `{"grace_seconds":-1}`,
		`{"stream":"WEBHOOKS","since":"2026-01-01T00:00:00Z","dry_run":true}`, `{"stream":"COMMANDS","since":"yesterday"}`,
		`{"seqs":[1,2,3]}`, `{"seqs":[-1]}`, `{"subject":"hook.>"}`, `{"all":"yes"}`, `null`, `[]`, `{`, "\x00",
		`{"handler_interface_id":"ifc_x"}`, `{"handler_interface_id":null}`, `{"handler_interface_id":1}`,
		`{"subaccount_id":"sub_x","handler_interface_id":""}`,
	} {
		f.Add([]byte(seed))
	}
	sys, partner := hookSetup(f, func(c *node.Config) { c.Webhooks.AdminTokens = []string{adminToken} })
	_, account := sys.Account(partner, "fuzz")
	routes := []struct{ method, path, token string }{
		{"POST", "/api/notifications/endpoints", partner}, {"POST", "/api/webhooks/rotate", account},
		{"POST", "/api/webhooks/rotate", partner}, {"PUT", "/api/webhooks", account}, {"PUT", "/api/webhooks", partner},
		{"POST", "/api/admin/replay", adminToken}, {"POST", "/api/admin/dlq/redrive", adminToken},
		{"POST", "/api/admin/dlq/purge", adminToken},
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, rt := range routes {
			r := sys.For(t).Do(rt.method, rt.path, rt.token, body)
			if r.Status >= 500 {
				t.Fatalf("%s %s %q → %d %s", rt.method, rt.path, body, r.Status, r.Body)
			}
			if r.Status >= 400 && (r.Header.Get("Content-Type") != "application/problem+json" || r.JSON["code"] == nil) {
				t.Fatalf("%s %s %q → %d without a problem document: %s", rt.method, rt.path, body, r.Status, r.Body)
			}
		}
	})
}

// FuzzWebhookIngress sends arbitrary Standard Webhooks headers and
// bodies to a connection's URL, which anyone can reach: the answer is a
// 202 only for a valid signature, else 400, 401 or 413 — never a 500.
func FuzzWebhookIngress(f *testing.F) {
	f.Add("msg_1", "1700000000", "v1,abc", []byte(`{}`), true)
	f.Add("", "", "", []byte{}, false)
	f.Add("a b", "-1", "v1,,v1", []byte{0xff, 0}, false)
	f.Add("msg_"+string(make([]byte, 300)), "99999999999999999999", "v2,x", []byte("x"), true)
	sys, partner := hookSetup(f, nil)
	_, token := sys.Account(partner, "fuzz-ingress")
	secret := webhook.NewSecret()
	key, _ := webhook.DecodeSecret(secret)
	r := sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "hooked", "api_key": "k", "signing_secret": secret})
	if r.Status != http.StatusAccepted {
		f.Fatalf("create connection: %d %s", r.Status, r.Body)
	}
	u := sys.Do("GET", "/api/webhooks", token, nil).JSON["servers"].([]any)[0].(map[string]any)["url"].(string)
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte, sign bool) {
		for _, v := range []string{id, ts, sig} {
			if !httpguts.ValidHeaderFieldValue(v) {
				return
			}
		}
		h := http.Header{}
		h.Set(webhook.HeaderID, id)
		h.Set(webhook.HeaderTimestamp, ts)
		h.Set(webhook.HeaderSignature, sig)
		if sign {
			webhook.SignHeaders(h, [][]byte{key}, id, time.Now(), body)
		}
		r := postHook(t, sys.For(t), u, body, webhook.HeaderID, h.Get(webhook.HeaderID), webhook.HeaderTimestamp,
			h.Get(webhook.HeaderTimestamp), webhook.HeaderSignature, h.Get(webhook.HeaderSignature))
		switch r.Status {
		case http.StatusAccepted, http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("id %q ts %q sig %q sign %v → %d %s", id, ts, sig, sign, r.Status, r.Body)
		}
		if r.Status == http.StatusAccepted && !sign {
			t.Fatalf("unsigned request accepted: id %q ts %q sig %q", id, ts, sig)
		}
	})
}
