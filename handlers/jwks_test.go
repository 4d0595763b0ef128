package handlers_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/tenantrytest"
)

// jwks fetches the JWKS and returns its public keys by kid.
func jwks(t *testing.T, sys *tenantrytest.System) map[string]ed25519.PublicKey {
	t.Helper()
	r := sys.Do("GET", "/.well-known/jwks.json", "", nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	keys := map[string]ed25519.PublicKey{}
	for _, k := range r.JSON["keys"].([]any) {
		k := k.(map[string]any)
		require.Equal(t, "OKP", k["kty"])
		require.Equal(t, "Ed25519", k["crv"])
		require.Equal(t, "EdDSA", k["alg"])
		require.Equal(t, "sig", k["use"])
		require.NotContains(t, k, "d", "never the private key")
		x, err := base64.RawURLEncoding.DecodeString(k["x"].(string))
		require.NoError(t, err)
		require.Len(t, x, ed25519.PublicKeySize)
		keys[k["kid"].(string)] = x
	}
	return keys
}

// kidOf returns the kid a token was signed with.
func kidOf(t *testing.T, token string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	require.NoError(t, err)
	return tok.Header["kid"].(string)
}

func TestJWKS(t *testing.T) {
	t.Parallel()
	sys, token := setup(t)
	r := sys.Do("GET", "/.well-known/jwks.json", "", nil)
	require.Equal(t, "public, max-age=300", r.Header.Get("Cache-Control"), "half of PublishAhead (10 minutes)")
	keys := jwks(t, sys)
	pub, ok := keys[kidOf(t, token)]
	require.True(t, ok, "the JWKS has the key that signed a token")
	_, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithAudience("tenantry-api"), jwt.WithIssuer("tenantry"))
	require.NoError(t, err, "a third party verifies our tokens with the JWKS alone")
}

// twoReplicas starts two API replicas on a database of their own (keys
// rotate and retire there without touching other tests' tokens).
func twoReplicas(t *testing.T, edit func(*node.Config)) (a, b *tenantrytest.System) {
	t.Helper()
	db := tenantrytest.Database(t)
	a = tenantrytest.Start(t, func(c *node.Config) { c.DatabaseURL = db; edit(c) })
	b = tenantrytest.Start(t, func(c *node.Config) { c.DatabaseURL, c.Worker = db, false; edit(c) })
	return a, b
}

// TestSigningKeyRotation: a rotated-in key is published first and signs
// later, old tokens keep working, and a key is retired only once nothing
// it signed can be valid.
func TestSigningKeyRotation(t *testing.T) {
	t.Parallel()
	a, b := twoReplicas(t, func(c *node.Config) {
		c.Auth.KeyRefresh, c.Auth.PublishAhead = 100*time.Millisecond, time.Second
	})
	ctx := context.Background()
	pid, partner := a.Partner()
	id := create(t, a, partner, "rotation")
	old := a.Do("GET", "/api/subaccount/"+id+"/token", partner, nil).JSON["token"].(string)
	oldKid := kidOf(t, old)

	r := a.Do("GET", "/.well-known/jwks.json", "", nil)
	require.Equal(t, "public, max-age=0", r.Header.Get("Cache-Control"),
		"a verifier must not keep the JWKS past half of PublishAhead (1s here), or it meets kids it has not seen")
	newKid, err := a.Node.Issuer.Rotate(ctx)
	require.NoError(t, err)
	require.Contains(t, jwks(t, a), newKid, "published at once")
	require.Eventually(t, func() bool { _, ok := jwks(t, b)[newKid]; return ok }, 5*time.Second, 50*time.Millisecond,
		"every replica publishes it within KeyRefresh")
	early := a.Do("GET", "/api/subaccount/"+id+"/token", partner, nil).JSON["token"].(string)
	require.Equal(t, oldKid, kidOf(t, early), "it does not sign before PublishAhead")

	var fresh string
	require.Eventually(t, func() bool {
		fresh = a.Do("GET", "/api/subaccount/"+id+"/token", partner, nil).JSON["token"].(string)
		return kidOf(t, fresh) == newKid
	}, 5*time.Second, 50*time.Millisecond, "then it signs")
	for _, sys := range []*tenantrytest.System{a, b} {
		require.Equal(t, http.StatusOK, sys.Do("GET", "/api/subaccount/"+id, fresh, nil).Status)
		require.Equal(t, http.StatusOK, sys.Do("GET", "/api/subaccount/"+id, old, nil).Status, "old kid still verified")
	}

	t.Run("RetiredOnlyWhenUnused", func(t *testing.T) {
		// As if RetireAfter had passed since the new key began to sign.
		later := time.Now().Add(time.Minute)
		retired, err := a.Node.Store.RetireSigningKeys(ctx, later)
		require.NoError(t, err)
		require.Empty(t, retired, "the partner's non-expiring token was signed with the old key")
		_, err = a.Node.Store.RevokePartnerTokens(ctx, pid)
		require.NoError(t, err)
		retired, err = a.Node.Store.RetireSigningKeys(ctx, later)
		require.NoError(t, err)
		require.Equal(t, []string{oldKid}, retired)
		for _, sys := range []*tenantrytest.System{a, b} {
			require.Eventually(t, func() bool { _, ok := jwks(t, sys)[oldKid]; return !ok }, 5*time.Second, 50*time.Millisecond)
			require.Equal(t, http.StatusUnauthorized, sys.Do("GET", "/api/subaccount/"+id, old, nil).Status)
			require.Equal(t, http.StatusOK, sys.Do("GET", "/api/subaccount/"+id, fresh, nil).Status)
		}
	})
}

// TestRotationWithoutDowntime rotates keys every half second while tokens
// issued by one replica are used at once on the other: none is refused.
func TestRotationWithoutDowntime(t *testing.T) {
	t.Parallel()
	a, b := twoReplicas(t, func(c *node.Config) {
		c.Auth.KeyRefresh, c.Auth.PublishAhead, c.Auth.RotateEvery = 100*time.Millisecond, 300*time.Millisecond, 500*time.Millisecond
	})
	_, partner := a.Partner()
	id := create(t, a, partner, "no-downtime")
	kids := map[string]bool{}
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		r := a.Do("GET", "/api/subaccount/"+id+"/token", partner, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		token := r.JSON["token"].(string)
		kids[kidOf(t, token)] = true
		r = b.Do("GET", "/api/subaccount/"+id, token, nil)
		require.Equal(t, http.StatusOK, r.Status, "a token signed at %s on one replica, used on the other: %s", time.Now(), r.Body)
		time.Sleep(10 * time.Millisecond)
	}
	require.GreaterOrEqual(t, len(kids), 3, "keys rotated during the test")
}
