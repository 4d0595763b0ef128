package connectors_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/connectors"
)

func TestPublic(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(define(t, acme).Public())
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":"acme","name":"Acme","description":"Acme's widgets.",
		"docs_url":"https://docs.acme.example/api","auth_type":"api_key","form":[
		{"name":"subdomain","label":"Subdomain","type":"string","required":true,"secret":false,"pattern":"^[a-z0-9-]+$"},
		{"name":"api_key","label":"API key","type":"password","required":true,"secret":true},
		{"name":"region","label":"Region","type":"select","required":false,"secret":false,"options":["eu","us"],"default":"eu"},
		{"name":"page_size","label":"Page size","type":"number","required":false,"secret":false},
		{"name":"notes","label":"Notes","type":"textarea","required":false,"secret":false},
		{"name":"webhook_url","label":"Webhook URL","type":"url","required":false,"secret":false}]}`, string(b))
}

func TestPublicOAuth2(t *testing.T) {
	t.Parallel()
	c, err := connectors.LoadCatalog("")
	require.NoError(t, err)
	for _, d := range c.List() {
		b, err := json.Marshal(d.Public())
		require.NoError(t, err)
		var got map[string]any
		require.NoError(t, json.Unmarshal(b, &got))
		assert.NotNil(t, got["form"], "%s: form is a list, never null", d.ID)
		if d.Auth.Type != connectors.AuthOAuth2 {
			assert.NotContains(t, got, "oauth2", d.ID)
			continue
		}
		o := d.Auth.OAuth2
		assert.Equal(t, map[string]any{"scopes": toAny(o.Scopes)}, got["oauth2"], "%s: only the scopes", d.ID)
		for _, hidden := range []string{o.TokenURL, o.AuthorizeURL, d.BaseURLTemplate, "access_token"} {
			assert.NotContains(t, string(b), hidden, d.ID)
		}
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
