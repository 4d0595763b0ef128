package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/auth"
	"github.com/tenantry/tenantry/secret"
	"github.com/tenantry/tenantry/tenantrytest"
)

// newKey creates an API key with the partner credential token and returns
// its id and the key.
func newKey(t *testing.T, sys *tenantrytest.System, token, name, role string) (id, key string) {
	t.Helper()
	r := sys.Do("POST", "/api/keys", token, map[string]any{"name": name, "role": role})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	return r.JSON["id"].(string), r.JSON["key"].(string)
}

// listedKey returns key id as GET /api/keys lists it, or nil.
func listedKey(t *testing.T, sys *tenantrytest.System, token, id string) map[string]any {
	t.Helper()
	r := sys.Do("GET", "/api/keys?limit=200", token, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	for _, item := range r.JSON["items"].([]any) {
		if k := item.(map[string]any); k["id"] == id {
			return k
		}
	}
	return nil
}

// keyCaller is the caller a token exchanged for key id stands for.
func keyCaller(t *testing.T, sys *tenantrytest.System, id string) tenantry.Caller {
	t.Helper()
	c := tenantry.Caller{Kind: tenantry.KindPartnerToken, KeyID: id}
	err := sys.Node.Store.Pool().QueryRow(context.Background(), `SELECT partner_id, role FROM core.api_keys WHERE id = $1`, id).
		Scan(&c.PartnerID, &c.Role)
	require.NoError(t, err)
	return c
}

// masterSealer opens what the test systems sealed.
func masterSealer(t *testing.T) *secret.Sealer {
	t.Helper()
	sealer, err := secret.ParseMasterKeys(tenantrytest.MasterKey)
	require.NoError(t, err)
	return sealer
}

func TestAPIKeyCreate(t *testing.T) {
	t.Parallel()
	sys, token := setup(t)
	r := sys.Do("POST", "/api/keys", token, map[string]any{"name": "billing sync"})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	key, id := r.JSON["key"].(string), r.JSON["id"].(string)
	require.Equal(t, "no-store", r.Header.Get("Cache-Control"))
	require.Regexp(t, `^tk_live_[0-9A-Za-z]{43}$`, key)
	require.True(t, strings.HasPrefix(key, r.JSON["prefix"].(string)))
	require.Len(t, r.JSON["prefix"], len("tk_live_")+6)
	require.Equal(t, "member", r.JSON["role"], "least privilege by default")
	require.Equal(t, "active", r.JSON["status"])

	t.Run("ShownOnce", func(t *testing.T) {
		k := listedKey(t, sys, token, id)
		require.NotNil(t, k)
		require.NotContains(t, k, "key")
		require.Equal(t, "billing sync", k["name"])
		require.Equal(t, r.JSON["prefix"], k["prefix"])
		var row string
		err := sys.Node.Store.Pool().QueryRow(context.Background(),
			`SELECT row_to_json(k)::text FROM core.api_keys k WHERE hash = $1`, auth.HashAPIKey(key)).Scan(&row)
		require.NoError(t, err, "stored under its SHA-256")
		require.NotContains(t, row, key[len("tk_live_")+6:], "only the visible prefix of the key is stored")
	})
	t.Run("Distinct", func(t *testing.T) {
		_, other := newKey(t, sys, token, "other", "member")
		require.NotEqual(t, key, other)
	})
	t.Run("Invalid", func(t *testing.T) {
		for _, tc := range []struct {
			body  any
			field string
		}{
			{map[string]any{"name": ""}, "name"},
			{map[string]any{"name": "   "}, "name"},
			{map[string]any{"name": strings.Repeat("n", 101)}, "name"},
			{map[string]any{"name": "x", "role": "owner"}, "role"},
			{map[string]any{"name": "x", "role": "root"}, "role"},
			{map[string]any{"name": "x", "scopes": []string{"all"}}, "scopes"},
		} {
			r := sys.Do("POST", "/api/keys", token, tc.body)
			require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
			require.Equal(t, tc.field, r.JSON["errors"].([]any)[0].(map[string]any)["field"], string(r.Body))
		}
	})
	t.Run("LastUsed", func(t *testing.T) {
		id, key := newKey(t, sys, token, "used", "member")
		require.Nil(t, listedKey(t, sys, token, id)["last_used_at"])
		require.Equal(t, http.StatusOK, sys.Do("GET", "/api/subaccount", key, nil).Status)
		first := listedKey(t, sys, token, id)["last_used_at"]
		require.NotNil(t, first)
		require.Equal(t, http.StatusOK, sys.Do("GET", "/api/subaccount", key, nil).Status)
		require.Equal(t, first, listedKey(t, sys, token, id)["last_used_at"], "recorded at most once a minute")
	})
}

// TestAPIKeyLifecycle drives a key through every operation from every
// state of active → revoked → deleted and checks the answer, the state
// the key is then in, and whether it authenticates.
func TestAPIKeyLifecycle(t *testing.T) {
	t.Parallel()
	sys, token := setup(t)
	type op struct{ method, suffix string }
	var (
		revoke     = op{"POST", "/revoke"}
		reactivate = op{"POST", "/reactivate"}
		del        = op{"DELETE", ""}
	)
	// into drives a fresh key to state.
	into := map[string][]op{"active": nil, "revoked": {revoke}, "deleted": {revoke, del}}
	for _, tc := range []struct {
		from   string
		op     op
		status int
		to     string
	}{
		{"active", revoke, 200, "revoked"},
		{"active", reactivate, 200, "active"},
		{"active", del, 409, "active"},
		{"revoked", revoke, 200, "revoked"},
		{"revoked", reactivate, 200, "active"},
		{"revoked", del, 204, "deleted"},
		{"deleted", revoke, 404, "deleted"},
		{"deleted", reactivate, 404, "deleted"},
		{"deleted", del, 404, "deleted"},
	} {
		t.Run(tc.from+tc.op.method+tc.op.suffix, func(t *testing.T) {
			id, key := newKey(t, sys, token, "lifecycle", "member")
			for _, o := range into[tc.from] {
				require.Less(t, sys.Do(o.method, "/api/keys/"+id+o.suffix, token, nil).Status, 300)
			}
			before := listedKey(t, sys, token, id)
			r := sys.Do(tc.op.method, "/api/keys/"+id+tc.op.suffix, token, nil)
			require.Equal(t, tc.status, r.Status, string(r.Body))
			if tc.status >= 400 {
				require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
			}

			after := listedKey(t, sys, token, id)
			uses := sys.Do("GET", "/api/subaccount", key, nil).Status
			switch tc.to {
			case "deleted":
				require.Nil(t, after)
				require.Equal(t, http.StatusUnauthorized, uses)
			case "revoked":
				require.Equal(t, "revoked", after["status"])
				require.NotNil(t, after["revoked_at"])
				if before != nil && before["status"] == "revoked" {
					require.Equal(t, before["revoked_at"], after["revoked_at"], "revoking again changes nothing")
				}
				require.Equal(t, http.StatusUnauthorized, uses)
			case "active":
				require.Equal(t, "active", after["status"])
				require.Nil(t, after["revoked_at"])
				require.Equal(t, http.StatusOK, uses)
			}
			if tc.status == 200 {
				require.Equal(t, after["status"], r.JSON["status"], "the answer is the key's new state")
			}
		})
	}
}

func TestAPIKeyPermissions(t *testing.T) {
	t.Parallel()
	sys, owner := setup(t)
	_, admin := newKey(t, sys, owner, "admin", "admin")
	memberID, member := newKey(t, sys, owner, "member", "member")
	id := create(t, sys, owner, "perm")
	acct := sys.Do("GET", "/api/subaccount/"+id+"/token", owner, nil).JSON["token"].(string)

	t.Run("AdminManagesKeys", func(t *testing.T) {
		kid, _ := newKey(t, sys, admin, "made by admin", "admin")
		require.Equal(t, http.StatusOK, sys.Do("POST", "/api/keys/"+kid+"/revoke", admin, nil).Status)
		require.Equal(t, http.StatusNoContent, sys.Do("DELETE", "/api/keys/"+kid, admin, nil).Status)
	})
	t.Run("MemberWorksButCannotManageKeys", func(t *testing.T) {
		require.Equal(t, http.StatusOK, sys.Do("GET", "/api/subaccount/"+id, member, nil).Status)
		require.Equal(t, http.StatusOK, sys.Do("GET", "/api/subaccount/"+id+"/token", member, nil).Status)
		for _, req := range []struct{ method, path string }{
			{"GET", "/api/keys"}, {"POST", "/api/keys"}, {"POST", "/api/keys/" + memberID + "/revoke"},
			{"POST", "/api/keys/" + memberID + "/reactivate"}, {"DELETE", "/api/keys/" + memberID},
		} {
			r := sys.Do(req.method, req.path, member, map[string]any{"name": "escalate", "role": "admin"})
			require.Equal(t, http.StatusForbidden, r.Status, "%s %s: %s", req.method, req.path, r.Body)
		}
	})
	t.Run("AccountTokenCannot", func(t *testing.T) {
		require.Equal(t, http.StatusForbidden, sys.Do("GET", "/api/keys", acct, nil).Status)
		require.Equal(t, http.StatusForbidden, sys.Do("POST", "/api/keys", acct, map[string]any{"name": "x"}).Status)
	})
	t.Run("OtherPartner", func(t *testing.T) {
		_, other := sys.Partner()
		for _, req := range []struct{ method, path string }{
			{"POST", "/api/keys/" + memberID + "/revoke"}, {"POST", "/api/keys/" + memberID + "/reactivate"},
			{"DELETE", "/api/keys/" + memberID},
		} {
			require.Equal(t, http.StatusNotFound, sys.Do(req.method, req.path, other, nil).Status)
		}
		require.Nil(t, listedKey(t, sys, other, memberID))
	})
	t.Run("KeySeesOnlyItsPartner", func(t *testing.T) {
		_, other := sys.Partner()
		_, otherKey := newKey(t, sys, other, "theirs", "admin")
		require.Equal(t, http.StatusNotFound, sys.Do("GET", "/api/subaccount/"+id, otherKey, nil).Status)
	})
	t.Run("UnknownKey", func(t *testing.T) {
		fake, _, _ := auth.NewAPIKey()
		r := sys.Do("GET", "/api/subaccount", fake, nil)
		require.Equal(t, http.StatusUnauthorized, r.Status)
		require.NotEmpty(t, r.Header.Get("WWW-Authenticate"))
	})
}

func TestKeyExchange(t *testing.T) {
	t.Parallel()
	sys, owner := setup(t)
	keyID, key := newKey(t, sys, owner, "exchange", "member")
	exchange := func(credential string) (string, int) {
		r := sys.Do("POST", "/api/auth/token", credential, nil)
		if r.Status != http.StatusOK {
			return "", r.Status
		}
		require.EqualValues(t, 3600, r.JSON["expires_in"])
		require.Equal(t, "Bearer", r.JSON["token_type"])
		require.Equal(t, "no-store", r.Header.Get("Cache-Control"))
		return r.JSON["token"].(string), r.Status
	}
	token, status := exchange(key)
	require.Equal(t, http.StatusOK, status)

	t.Run("Works", func(t *testing.T) {
		require.Equal(t, http.StatusOK, sys.Do("GET", "/api/subaccount", token, nil).Status)
		again, _ := exchange(key)
		require.NotEqual(t, token, again)
		require.Equal(t, http.StatusOK, sys.Do("GET", "/api/subaccount", token, nil).Status, "reusable until it expires")
	})
	t.Run("OnlyKeysExchange", func(t *testing.T) {
		id := create(t, sys, owner, "exchange")
		acct := sys.Do("GET", "/api/subaccount/"+id+"/token", owner, nil).JSON["token"].(string)
		for name, credential := range map[string]string{"ExchangedToken": token, "PartnerToken": owner, "AccountToken": acct} {
			_, status := exchange(credential)
			require.Equal(t, http.StatusForbidden, status, name)
		}
		_, status := exchange("")
		require.Equal(t, http.StatusUnauthorized, status)
	})
	t.Run("CarriesTheKeysRole", func(t *testing.T) {
		require.Equal(t, http.StatusForbidden, sys.Do("GET", "/api/keys", token, nil).Status, "a member key's token")
		_, admin := newKey(t, sys, owner, "admin", "admin")
		adminToken, _ := exchange(admin)
		require.Equal(t, http.StatusOK, sys.Do("GET", "/api/keys", adminToken, nil).Status)
	})
	t.Run("Expiry", func(t *testing.T) {
		sealer := masterSealer(t)
		at := func(offset time.Duration) string {
			past, err := auth.NewIssuer(context.Background(), auth.Config{}, sys.Node.Store, sealer,
				func() time.Time { return time.Now().Add(offset) })
			require.NoError(t, err)
			tok, _, err := past.Issue(context.Background(), keyCaller(t, sys, keyID), time.Hour)
			require.NoError(t, err)
			return tok
		}
		require.Equal(t, http.StatusOK, sys.Do("GET", "/api/subaccount", at(-59*time.Minute), nil).Status)
		r := sys.Do("GET", "/api/subaccount", at(-time.Hour-90*time.Second), nil)
		require.Equal(t, http.StatusUnauthorized, r.Status)
		require.Contains(t, r.JSON["detail"], "expired")
	})
	t.Run("RevokedWithTheKey", func(t *testing.T) {
		id, key := newKey(t, sys, owner, "to revoke", "member")
		before, _ := exchange(key)
		require.Equal(t, http.StatusOK, sys.Do("GET", "/api/subaccount", before, nil).Status)

		require.Equal(t, http.StatusOK, sys.Do("POST", "/api/keys/"+id+"/revoke", owner, nil).Status)
		// The bound is zero: the next request after the revocation fails.
		r := sys.Do("GET", "/api/subaccount", before, nil)
		require.Equal(t, http.StatusUnauthorized, r.Status)
		_, status := exchange(key)
		require.Equal(t, http.StatusUnauthorized, status)

		require.Equal(t, http.StatusOK, sys.Do("POST", "/api/keys/"+id+"/reactivate", owner, nil).Status)
		require.Equal(t, http.StatusUnauthorized, sys.Do("GET", "/api/subaccount", before, nil).Status,
			"a reactivation does not revive tokens exchanged before the revocation")
		after, status := exchange(key)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, http.StatusOK, sys.Do("GET", "/api/subaccount", after, nil).Status)

		require.Equal(t, http.StatusOK, sys.Do("POST", "/api/keys/"+id+"/revoke", owner, nil).Status)
		require.Equal(t, http.StatusNoContent, sys.Do("DELETE", "/api/keys/"+id, owner, nil).Status)
		require.Equal(t, http.StatusUnauthorized, sys.Do("GET", "/api/subaccount", after, nil).Status)
	})
}

// TestKeyMintedTokensDieWithTheKey: every token a key mints — used
// directly or exchanged first — is revoked with the key, whatever its
// kind: non-expiring and one-hour account tokens (by id and by
// external_id) and single-use tokens. A reactivation revives none, and
// tokens the partner token minted are untouched.
func TestKeyMintedTokensDieWithTheKey(t *testing.T) {
	t.Parallel()
	sys, owner := setup(t)
	id := create(t, sys, owner, "minted")
	keyID, key := newKey(t, sys, owner, "leaked", "member")
	exchanged := sys.Do("POST", "/api/auth/token", key, nil).JSON["token"].(string)
	mint := func(credential, query string) string {
		t.Helper()
		r := sys.Do("GET", "/api/subaccount/"+id+"/token?"+query, credential, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		return r.JSON["token"].(string)
	}
	byExternalID := sys.Do("GET", "/api/subaccount/token?external_id=minted&expire=false", key, nil)
	require.Equal(t, http.StatusOK, byExternalID.Status, string(byExternalID.Body))
	minted := map[string]string{
		"NonExpiring":            mint(key, "expire=false"),
		"NonExpiringByExternal":  byExternalID.JSON["token"].(string),
		"Expiring":               mint(key, ""),
		"NonExpiringViaExchange": mint(exchanged, "expire=false"),
		"ExpiringViaExchange":    mint(exchanged, ""),
	}
	singleUse := mint(key, "single_use=true")
	partnerMinted := mint(owner, "expire=false")
	// A single-use token is accepted by the invitations route (400 for an
	// empty body, which does not use it up) until it is revoked (401).
	invite := func(tok string) int {
		return sys.Do("POST", "/api/subaccount/"+id+"/invitations", tok, map[string]any{}).Status
	}
	uses := func(tok string) int { return sys.Do("GET", "/api/subaccount/"+id, tok, nil).Status }
	for name, tok := range minted {
		require.Equal(t, http.StatusOK, uses(tok), name)
	}
	require.Equal(t, http.StatusBadRequest, invite(singleUse))

	require.Equal(t, http.StatusOK, sys.Do("POST", "/api/keys/"+keyID+"/revoke", owner, nil).Status)
	for name, tok := range minted {
		require.Equal(t, http.StatusUnauthorized, uses(tok), "%s: revoked with its key", name)
	}
	require.Equal(t, http.StatusUnauthorized, invite(singleUse), "single-use: revoked with its key")
	require.Equal(t, http.StatusOK, uses(partnerMinted), "the partner token's tokens are not the key's")

	require.Equal(t, http.StatusOK, sys.Do("POST", "/api/keys/"+keyID+"/reactivate", owner, nil).Status)
	for name, tok := range minted {
		require.Equal(t, http.StatusUnauthorized, uses(tok), "%s: a reactivation revives nothing", name)
	}
	require.Equal(t, http.StatusUnauthorized, invite(singleUse))
	require.Equal(t, http.StatusOK, uses(mint(key, "expire=false")), "the reactivated key mints again")
}
