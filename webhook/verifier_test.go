package webhook_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connectors"
	"github.com/tenantry/tenantry/webhook"
)

// definition loads a connector whose webhooks section is section.
func definition(t *testing.T, section string) *connectors.Definition {
	t.Helper()
	dir := t.TempDir()
	body := `id: acme
name: Acme
auth: {type: api_key}
form:
  - {name: api_key, label: API key, type: password, required: true}
  - {name: signing_secret, label: Webhook signing secret, type: password}
base_url: https://api.acme.example
apply: {headers: {Authorization: "Bearer {{api_key}}"}}
webhooks:
` + section
	require.NoError(t, os.WriteFile(filepath.Join(dir, "acme.yaml"), []byte(body), 0o600))
	c, err := connectors.LoadCatalog(dir)
	require.NoError(t, err)
	d, _ := c.Get("acme")
	return d
}

func mac(h func() hash.Hash, key, msg string) []byte {
	m := hmac.New(h, []byte(key))
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func TestVerifierHMAC(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	body := `{"id":"evt_1","type":"charge.succeeded"}`
	ts := strconv.FormatInt(now.Unix(), 10)
	github := definition(t, `  scheme: hmac
  secret: signing_secret
  header: X-Hub-Signature-256
  prefix: "sha256="
  id_header: X-GitHub-Delivery
`)
	stripe := definition(t, `  scheme: hmac
  secret: signing_secret
  header: Stripe-Signature
  signature_param: v1
  timestamp_param: t
  signed: "{timestamp}.{body}"
  id_pointer: /id
`)
	shopify := definition(t, `  scheme: hmac
  secret: signing_secret
  header: X-Shopify-Hmac-Sha256
  encoding: base64
  algorithm: sha1
  id_header: X-Shopify-Webhook-Id
`)
	ghSig := "sha256=" + hex.EncodeToString(mac(sha256.New, "s3cret", body))
	stripeSig := func(key string, at string) string { return hex.EncodeToString(mac(sha256.New, key, at+"."+body)) }
	shopSig := base64.StdEncoding.EncodeToString(mac(sha1.New, "s3cret", body))
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	for _, tc := range []struct {
		name, secret string
		d            *connectors.Definition
		h            http.Header
		body         string
		wantID, code string
	}{
		{"GitHub", "s3cret", github, h("X-Hub-Signature-256", ghSig, "X-GitHub-Delivery", "d-1"), body, "d-1", ""},
		{"GitHubRotatedSecret", "new-one s3cret", github, h("X-Hub-Signature-256", ghSig, "X-GitHub-Delivery", "d-1"), body, "d-1", ""},
		{"GitHubErrWrongSecret", "other", github, h("X-Hub-Signature-256", ghSig, "X-GitHub-Delivery", "d-1"), body, "", tenantry.EUNAUTHORIZED},
		{"GitHubErrNoPrefix", "s3cret", github, h("X-Hub-Signature-256", ghSig[7:], "X-GitHub-Delivery", "d-1"), body, "", tenantry.EUNAUTHORIZED},
		{"GitHubErrMissing", "s3cret", github, h("X-GitHub-Delivery", "d-1"), body, "", tenantry.EUNAUTHORIZED},
		{"GitHubErrNoID", "s3cret", github, h("X-Hub-Signature-256", ghSig), body, "", tenantry.EINVALID},
		{"Stripe", "whsec_x", stripe, h("Stripe-Signature", "t="+ts+",v1="+stripeSig("whsec_x", ts)), body, "evt_1", ""},
		{"StripeSecondSignature", "whsec_x", stripe, h("Stripe-Signature", "t="+ts+",v1="+stripeSig("old", ts)+",v1="+stripeSig("whsec_x", ts)+",v0=zz"), body, "evt_1", ""},
		{"StripeErrTimestampSwapped", "whsec_x", stripe, h("Stripe-Signature", "t="+strconv.FormatInt(now.Unix()-1, 10)+",v1="+stripeSig("whsec_x", ts)), body, "", tenantry.EUNAUTHORIZED},
		{"StripeErrStale", "whsec_x", stripe, h("Stripe-Signature", "t=1700000000,v1="+stripeSig("whsec_x", "1700000000")), body, "", tenantry.EUNAUTHORIZED},
		{"StripeErrNoTimestamp", "whsec_x", stripe, h("Stripe-Signature", "v1="+stripeSig("whsec_x", ts)), body, "", tenantry.EINVALID},
		{"StripeErrNoIDInBody", "whsec_x", stripe, h("Stripe-Signature", "t="+ts+",v1="+hex.EncodeToString(mac(sha256.New, "whsec_x", ts+".{}"))), "{}", "", tenantry.EINVALID},
		{"Shopify", "s3cret", shopify, h("X-Shopify-Hmac-Sha256", shopSig, "X-Shopify-Webhook-Id", "w-9"), body, "w-9", ""},
		{"ShopifyErrHexGiven", "s3cret", shopify, h("X-Shopify-Hmac-Sha256", hex.EncodeToString(mac(sha1.New, "s3cret", body)), "X-Shopify-Webhook-Id", "w-9"), body, "", tenantry.EUNAUTHORIZED},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := webhook.NewVerifier(tc.d.Webhooks, tc.secret)
			require.NoError(t, err)
			id, err := v.Verify(tc.h, []byte(tc.body), now)
			require.Equal(t, tc.code, tenantry.ErrorCode(err), "%v", err)
			require.Equal(t, tc.wantID, id)
		})
	}
}

func TestVerifierStandard(t *testing.T) {
	t.Parallel()
	d := definition(t, "  scheme: standard_webhooks\n  secret: signing_secret\n")
	key, _ := webhook.DecodeSecret(vectorSecret)
	v, err := webhook.NewVerifier(d.Webhooks, webhook.NewSecret()+" "+vectorSecret)
	require.NoError(t, err)
	id, err := v.Verify(standardRequest([][]byte{key}, vectorID, vectorAt, vectorBody), []byte(vectorBody), vectorAt)
	require.NoError(t, err)
	require.Equal(t, vectorID, id)

	_, err = webhook.NewVerifier(d.Webhooks, "")
	require.Equal(t, tenantry.EUNAUTHORIZED, tenantry.ErrorCode(err), "no secret yet: nothing can be verified")
	_, err = webhook.NewVerifier(d.Webhooks, "not-a-whsec-secret!")
	require.Equal(t, tenantry.EINVALID, tenantry.ErrorCode(err))
}

func TestParams(t *testing.T) {
	t.Parallel()
	h := "t=1, v1=a,v1=b ,v0=c,junk,=x,t=2"
	require.Equal(t, map[string]string{"t": "1", "v1": "a", "v0": "c", "": "x"}, webhook.Params(h))
	require.Equal(t, []string{"a", "b"}, webhook.ParamValues(h, "v1"))
}
