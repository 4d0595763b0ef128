package handlers_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/auth"
	"github.com/tenantry/tenantry/secret"
	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/tenantrytest"
)

// signingKey opens the newest signing key from the database, so tests can
// forge tokens that are correctly signed but wrong in some other way.
func signingKey(t *testing.T, sys *tenantrytest.System) (kid string, key ed25519.PrivateKey) {
	t.Helper()
	keys, err := sys.Node.Store.SigningKeys(context.Background())
	require.NoError(t, err)
	sealer, err := secret.ParseMasterKeys(tenantrytest.MasterKey)
	require.NoError(t, err)
	seed, err := sealer.Open(keys[0].Private, []byte("signing_key:"+keys[0].KID))
	require.NoError(t, err)
	return keys[0].KID, ed25519.NewKeyFromSeed(seed)
}

func TestAuthSchemes(t *testing.T) {
	t.Parallel()
	sys, token := setup(t)
	for _, tc := range []struct {
		name, header string
		status       int
	}{
		{"Bearer", "Bearer " + token, 200},
		{"JWT", "JWT " + token, 200},
		{"LowercaseBearer", "bearer " + token, 200},
		{"Missing", "", 401},
		{"Basic", "Basic dXNlcjpwYXNz", 401},
		{"Garbage", "Bearer not.a.jwt", 401},
		{"EmptyToken", "Bearer ", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := sys.Do("GET", "/api/subaccount", "", nil, "Authorization", tc.header)
			require.Equal(t, tc.status, r.Status, string(r.Body))
			if tc.status == 401 {
				require.Equal(t, "unauthorized", r.JSON["code"])
				require.NotEmpty(t, r.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	sys, token := setup(t)
	id := create(t, sys, token, "expiry")

	r := sys.Do("GET", "/api/subaccount/"+id+"/token", token, nil)
	require.Equal(t, 200, r.Status)
	exp, err := time.Parse(time.RFC3339, r.JSON["expires_at"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(time.Hour), exp, 5*time.Second, "client-side tokens last one hour")
	require.Equal(t, 200, sys.Do("GET", "/api/subaccount/"+id, r.JSON["token"].(string), nil).Status)

	forever := sys.Do("GET", "/api/subaccount/"+id+"/token?expire=false", token, nil)
	require.Equal(t, 200, forever.Status)
	require.Nil(t, forever.JSON["expires_at"])
	require.Equal(t, 200, sys.Do("GET", "/api/subaccount/"+id, forever.JSON["token"].(string), nil).Status)

	require.Equal(t, 400, sys.Do("GET", "/api/subaccount/"+id+"/token?expire=maybe", token, nil).Status)

	sealer, err := secret.ParseMasterKeys(tenantrytest.MasterKey)
	require.NoError(t, err)
	at := func(offset time.Duration) string {
		past, err := auth.NewIssuer(context.Background(), auth.Config{}, sys.Node.Store, sealer,
			func() time.Time { return time.Now().Add(offset) })
		require.NoError(t, err)
		c := tenantry.Caller{Kind: tenantry.KindAccountToken, PartnerID: sys.PartnerOf(id), AccountID: id}
		tok, _, err := past.Issue(context.Background(), c, time.Hour)
		require.NoError(t, err)
		return tok
	}
	t.Run("ExpiredLongAgo", func(t *testing.T) {
		r := sys.Do("GET", "/api/subaccount/"+id, at(-2*time.Hour), nil)
		require.Equal(t, 401, r.Status)
		require.Contains(t, r.JSON["detail"], "expired")
	})
	t.Run("WithinLeeway", func(t *testing.T) {
		require.Equal(t, 200, sys.Do("GET", "/api/subaccount/"+id, at(-time.Hour-10*time.Second), nil).Status)
	})
	t.Run("PastLeeway", func(t *testing.T) {
		require.Equal(t, 401, sys.Do("GET", "/api/subaccount/"+id, at(-time.Hour-90*time.Second), nil).Status)
	})
	t.Run("NotBeyondMaxTokenTTL", func(t *testing.T) {
		short, err := auth.NewIssuer(context.Background(), auth.Config{MaxTokenTTL: time.Hour}, sys.Node.Store, sealer, nil)
		require.NoError(t, err)
		c := tenantry.Caller{Kind: tenantry.KindAccountToken, PartnerID: sys.PartnerOf(id), AccountID: id}
		_, _, err = short.Issue(context.Background(), c, time.Hour+time.Second)
		require.ErrorContains(t, err, "MaxTokenTTL", "its key could be retired while it lives")
		_, _, err = short.Issue(context.Background(), c, time.Hour)
		require.NoError(t, err)
	})
	t.Run("ByExternalID", func(t *testing.T) {
		r := sys.Do("GET", "/api/subaccount/token?external_id=expiry", token, nil)
		require.Equal(t, 200, r.Status)
		require.Equal(t, 200, sys.Do("GET", "/api/subaccount/"+id, r.JSON["token"].(string), nil).Status)
		require.Equal(t, 404, sys.Do("GET", "/api/subaccount/token?external_id=nobody", token, nil).Status)
		require.Equal(t, 400, sys.Do("GET", "/api/subaccount/token", token, nil).Status)
	})
	t.Run("AccountTokensRevoked", func(t *testing.T) {
		forever := sys.Do("GET", "/api/subaccount/"+id+"/token?expire=false", token, nil).JSON["token"].(string)
		require.Equal(t, 200, sys.Do("GET", "/api/subaccount/"+id, forever, nil).Status)
		r := sys.Do("DELETE", "/api/subaccount/"+id+"/tokens", token, nil)
		require.Equal(t, 200, r.Status, string(r.Body))
		require.GreaterOrEqual(t, r.JSON["revoked"], float64(1))
		require.Equal(t, 401, sys.Do("GET", "/api/subaccount/"+id, forever, nil).Status)
		_, other := sys.Partner()
		require.Equal(t, 404, sys.Do("DELETE", "/api/subaccount/"+id+"/tokens", other, nil).Status)
	})
	t.Run("Revoked", func(t *testing.T) {
		pid, partnerToken := sys.Partner()
		require.Equal(t, 200, sys.Do("GET", "/api/subaccount", partnerToken, nil).Status)
		n, err := sys.Node.Store.RevokePartnerTokens(context.Background(), pid)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		require.Equal(t, 401, sys.Do("GET", "/api/subaccount", partnerToken, nil).Status)
	})
}

func TestTokenKinds(t *testing.T) {
	t.Parallel()
	sys, token := setup(t)
	id := create(t, sys, token, "kinds")
	pid := sys.PartnerOf(id)
	acct := sys.Do("GET", "/api/subaccount/"+id+"/token", token, nil).JSON["token"].(string)

	t.Run("AccountTokenOnPartnerRoute", func(t *testing.T) {
		for _, route := range []string{"/api/subaccount", "/api/subaccount/" + id + "/token"} {
			r := sys.Do("GET", route, acct, nil)
			require.Equal(t, http.StatusForbidden, r.Status, route)
		}
		r := sys.Do("POST", "/api/subaccount", acct, map[string]any{"external_id": "sneaky"})
		require.Equal(t, http.StatusForbidden, r.Status)
		r = sys.Do("PUT", "/api/subaccount/"+id, acct, map[string]any{"company_name": "mine"})
		require.Equal(t, http.StatusForbidden, r.Status, "an end-customer cannot edit its own account")
		require.Equal(t, http.StatusForbidden, sys.Do("DELETE", "/api/subaccount/"+id, acct, nil).Status)
		require.Equal(t, http.StatusForbidden, sys.Do("DELETE", "/api/subaccount/"+id+"/tokens", acct, nil).Status)
	})

	kid, key := signingKey(t, sys)
	now := time.Now()
	base := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": "tenantry", "aud": []string{"tenantry-api"}, "iat": now.Unix(),
			"exp": now.Add(time.Hour).Unix(), "jti": "tok_forged", "knd": "account", "pid": pid, "aid": id}
	}
	signWith := func(kid string, key ed25519.PrivateKey, typ string, claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
		tok.Header["kid"], tok.Header["typ"] = kid, typ
		s, err := tok.SignedString(key)
		require.NoError(t, err)
		return s
	}
	sign := func(typ string, claims jwt.MapClaims) string { return signWith(kid, key, typ, claims) }
	_, foreign, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	require.Equal(t, 200, sys.Do("GET", "/api/subaccount/"+id, sign("account+jwt", base()), nil).Status,
		"control: a well-formed forged-by-test token is accepted")

	with := func(k string, v any) jwt.MapClaims { c := base(); c[k] = v; return c }
	without := func(k string) jwt.MapClaims { c := base(); delete(c, k); return c }
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, base())
	hs.Header["kid"] = kid
	hsToken, err := hs.SignedString([]byte(key.Public().(ed25519.PublicKey)))
	require.NoError(t, err)
	none := jwt.NewWithClaims(jwt.SigningMethodNone, base())
	noneToken, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)

	for name, tok := range map[string]string{
		"TypMismatch":           sign("partner+jwt", base()),
		"AccountKindAsPartner":  sign("partner+jwt", with("knd", "partner")),
		"UnknownKind":           sign("admin+jwt", with("knd", "admin")),
		"AccountWithoutAccount": sign("account+jwt", without("aid")),
		"WrongIssuer":           sign("account+jwt", with("iss", "someone-else")),
		"WrongAudience":         sign("account+jwt", with("aud", []string{"other-api"})),
		"NoIssuer":              sign("account+jwt", without("iss")),
		"AlgHS256":              hsToken,
		"AlgNone":               noneToken,
		"Tampered":              strings.Replace(sign("account+jwt", base()), ".", ".e", 1),
		"NoAudience":            sign("account+jwt", without("aud")),
		"IssuedInTheFuture":     sign("account+jwt", with("iat", now.Add(5*time.Minute).Unix())),
		"ForeignKid":            signWith("kid_foreign", foreign, "account+jwt", base()),
		"KnownKidForeignKey":    signWith(kid, foreign, "account+jwt", base()),
		"AccountWithRole":       sign("account+jwt", with("rol", "owner")),
		// A key's account tokens are recorded, so one not recorded is forged.
		"KeyMintedNotRecorded": sign("account+jwt", with("key", "key_forged")),
		"SingleUseAsAccount":   sign("account+jwt", with("knd", "single_use")),
	} {
		t.Run(name, func(t *testing.T) {
			r := sys.Do("GET", "/api/subaccount/"+id, tok, nil)
			require.Equal(t, http.StatusUnauthorized, r.Status, string(r.Body))
		})
	}

	// Exchanged-key tokens are recorded, so the forged ones are too: only
	// their shape can then make them fail.
	keyID, _ := newKey(t, sys, token, "forged", "member")
	keyClaims := func(jti string, edit func(jwt.MapClaims)) jwt.MapClaims {
		jti += "_" + keyID // token ids are global: unique per run of the test
		c := jwt.MapClaims{"iss": "tenantry", "aud": []string{"tenantry-api"}, "iat": now.Unix(),
			"exp": now.Add(time.Hour).Unix(), "jti": jti, "knd": "key", "pid": pid, "key": keyID, "rol": "member"}
		if edit != nil {
			edit(c)
		}
		caller := tenantry.Caller{Kind: tenantry.KindPartnerToken, PartnerID: pid, KeyID: keyID, TokenID: jti}
		exp := now.Add(time.Hour)
		require.NoError(t, sys.Node.Store.RecordToken(context.Background(), store.TokenRecord{Kind: "key", Caller: caller, KID: kid, ExpiresAt: &exp}))
		return c
	}
	require.Equal(t, 200, sys.Do("GET", "/api/subaccount", sign("key+jwt", keyClaims("tok_forged_key", nil)), nil).Status,
		"control: a well-formed, recorded key token is accepted")
	for name, tok := range map[string]string{
		"KeyAsPartner":     sign("partner+jwt", keyClaims("tok_k1", func(c jwt.MapClaims) { c["knd"] = "partner" })),
		"PartnerTypOnKey":  sign("partner+jwt", keyClaims("tok_k2", nil)),
		"KeyWithOwnerRole": sign("key+jwt", keyClaims("tok_k3", func(c jwt.MapClaims) { c["rol"] = "owner" })),
		"KeyWithoutRole":   sign("key+jwt", keyClaims("tok_k4", func(c jwt.MapClaims) { delete(c, "rol") })),
		"KeyWithoutExpiry": sign("key+jwt", keyClaims("tok_k5", func(c jwt.MapClaims) { delete(c, "exp") })),
		"KeyWithAccount":   sign("key+jwt", keyClaims("tok_k6", func(c jwt.MapClaims) { c["aid"] = id })),
		"KeyWithoutKey":    sign("key+jwt", keyClaims("tok_k7", func(c jwt.MapClaims) { delete(c, "key") })),
		"KeyNotRecorded":   sign("key+jwt", func() jwt.MapClaims { c := keyClaims("tok_k8", nil); c["jti"] = "tok_unrecorded"; return c }()),
	} {
		t.Run(name, func(t *testing.T) {
			r := sys.Do("GET", "/api/subaccount", tok, nil)
			require.Equal(t, http.StatusUnauthorized, r.Status, string(r.Body))
		})
	}
}

func TestCrossTenantAccess(t *testing.T) {
	t.Parallel()
	sys, tokenA := setup(t)
	_, tokenB := sys.Partner()
	a1 := sys.Do("POST", "/api/subaccount", tokenA, map[string]any{"external_id": "a1"})
	jobA1 := a1.JSON["job_id"].(string)
	sys.WaitJob(tokenA, jobA1)
	idA1 := a1.JSON["id"].(string)
	idA2 := create(t, sys, tokenA, "a2")

	t.Run("OtherPartner", func(t *testing.T) {
		for _, req := range []struct{ method, path string }{
			{"GET", "/api/subaccount/" + idA1},
			{"PUT", "/api/subaccount/" + idA1},
			{"DELETE", "/api/subaccount/" + idA1},
			{"GET", "/api/subaccount/" + idA1 + "/token"},
			{"GET", "/api/subaccount/token?external_id=a1"},
			{"GET", "/api/jobs/" + jobA1},
		} {
			var body any
			if req.method == "PUT" {
				body = map[string]any{"company_name": "mine now"}
			}
			r := sys.Do(req.method, req.path, tokenB, body)
			require.Equal(t, http.StatusNotFound, r.Status, "%s %s: %s", req.method, req.path, r.Body)
		}
		require.Empty(t, sys.Do("GET", "/api/subaccount", tokenB, nil).JSON["items"])
		require.Equal(t, "active", sys.Do("GET", "/api/subaccount/"+idA1, tokenA, nil).JSON["status"], "untouched")
	})

	t.Run("OtherAccount", func(t *testing.T) {
		acct1 := sys.Do("GET", "/api/subaccount/"+idA1+"/token", tokenA, nil).JSON["token"].(string)
		require.Equal(t, http.StatusOK, sys.Do("GET", "/api/subaccount/"+idA1, acct1, nil).Status)
		require.Equal(t, http.StatusOK, sys.Do("GET", "/api/jobs/"+jobA1, acct1, nil).Status, "its own job")
		require.Equal(t, http.StatusNotFound, sys.Do("GET", "/api/subaccount/"+idA2, acct1, nil).Status)
		a2 := sys.Do("GET", "/api/subaccount?external_id=a2", tokenA, nil).JSON["items"].([]any)[0].(map[string]any)
		require.Equal(t, idA2, a2["id"])
		del := sys.Do("DELETE", "/api/subaccount/"+idA2, tokenA, nil)
		require.Equal(t, http.StatusAccepted, del.Status)
		require.Equal(t, http.StatusNotFound, sys.Do("GET", "/api/jobs/"+del.JSON["job_id"].(string), acct1, nil).Status,
			"another account's job")
	})
}

func TestCORS(t *testing.T) {
	t.Parallel()
	const origin = "https://app.partner-a.example"
	sys, token := setup(t, origin)
	_, otherToken := sys.Partner("https://partner-b.example")

	t.Run("Preflight", func(t *testing.T) {
		r := sys.Do("OPTIONS", "/api/subaccount", "", nil, "Origin", origin,
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization, content-type, idempotency-key")
		require.Equal(t, http.StatusNoContent, r.Status)
		require.Equal(t, origin, r.Header.Get("Access-Control-Allow-Origin"))
		require.Contains(t, r.Header.Get("Access-Control-Allow-Methods"), "POST")
		require.Contains(t, r.Header.Get("Access-Control-Allow-Headers"), "Authorization")
		require.Contains(t, r.Header.Get("Access-Control-Allow-Headers"), "Idempotency-Key")
		require.Contains(t, r.Header.Values("Vary"), "Origin")
	})
	t.Run("PreflightUnknownOrigin", func(t *testing.T) {
		r := sys.Do("OPTIONS", "/api/subaccount", "", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
		require.Equal(t, http.StatusForbidden, r.Status)
		require.Empty(t, r.Header.Get("Access-Control-Allow-Origin"))
	})
	t.Run("Request", func(t *testing.T) {
		r := sys.Do("GET", "/api/subaccount", token, nil, "Origin", origin)
		require.Equal(t, http.StatusOK, r.Status)
		require.Equal(t, origin, r.Header.Get("Access-Control-Allow-Origin"))
		require.Contains(t, r.Header.Get("Access-Control-Expose-Headers"), "X-Request-Id")
	})
	t.Run("ErrorsReadable", func(t *testing.T) {
		r := sys.Do("GET", "/api/subaccount", "", nil, "Origin", origin)
		require.Equal(t, http.StatusUnauthorized, r.Status)
		require.Equal(t, origin, r.Header.Get("Access-Control-Allow-Origin"), "the browser may read the 401")
	})
	t.Run("OtherPartnersOrigin", func(t *testing.T) {
		r := sys.Do("GET", "/api/subaccount", otherToken, nil, "Origin", origin)
		require.Equal(t, http.StatusOK, r.Status)
		require.Empty(t, r.Header.Get("Access-Control-Allow-Origin"), "partner B does not allow partner A's origin")
	})
}

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	sys, token := setup(t)
	create(t, sys, token, "metrics")
	require.Equal(t, 200, sys.Do("GET", "/healthz", "", nil).Status)
	ready := sys.Do("GET", "/readyz", "", nil)
	require.Equal(t, 200, ready.Status, string(ready.Body))

	m := sys.Do("GET", "/metrics", "", nil)
	require.Equal(t, 200, m.Status)
	for _, want := range []string{
		`tenantry_http_request_duration_seconds_count{method="POST",route="/api/subaccount",status="202"} 1`,
		`tenantry_jobs_total{kind="subaccount.provision",status="succeeded"} 1`,
		`tenantry_consumer_lag{consumer="worker"}`,
		`tenantry_script_sandbox_layer{layer="rlimits"} 1`, // always on
	} {
		require.Contains(t, string(m.Body), want)
	}
	// The sandbox metrics say what the pool found: as many gaps as layers
	// off, or more (the probe).
	iso := sys.Node.ScriptPool().Isolation()
	for _, l := range iso.Layers {
		require.Contains(t, string(m.Body), fmt.Sprintf("tenantry_script_sandbox_layer{layer=%q} %d", l.Name, map[bool]int{true: 1}[l.On]))
	}
	require.Contains(t, string(m.Body), fmt.Sprintf("tenantry_script_sandbox_gaps %d\n", len(iso.Gaps())))

	sys.NATS.Shutdown()
	require.Eventually(t, func() bool { return sys.Do("GET", "/readyz", "", nil).Status == 503 }, 5*time.Second, 50*time.Millisecond)
	r := sys.Do("GET", "/readyz", "", nil)
	require.Equal(t, "nats", r.JSON["errors"].([]any)[0].(map[string]any)["field"])
}

func TestRoutingProblems(t *testing.T) {
	t.Parallel()
	sys, token := setup(t)
	r := sys.Do("GET", "/api/nope", token, nil)
	require.Equal(t, 404, r.Status)
	require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
	r = sys.Do("PATCH", "/api/subaccount", token, nil)
	require.Equal(t, 405, r.Status)
	require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
	require.NotEmpty(t, r.Header.Get("X-Request-Id"))
	r = sys.Do("GET", "/api/subaccount", token, nil, "X-Request-Id", "my-trace-123")
	require.Equal(t, "my-trace-123", r.Header.Get("X-Request-Id"))
}
