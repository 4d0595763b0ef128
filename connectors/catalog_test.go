package connectors_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/connectors"
)

// acme is a valid custom definition the tests start from.
const acme = `id: acme
name: Acme
description: Acme's widgets.
docs_url: https://docs.acme.example/api
auth:
  type: api_key
form:
  - name: subdomain
    label: Subdomain
    required: true
    pattern: '^[a-z0-9-]+$'
  - name: api_key
    label: API key
    type: password
    required: true
  - name: region
    label: Region
    type: select
    options: [eu, us]
    default: eu
  - name: page_size
    label: Page size
    type: number
  - name: notes
    label: Notes
    type: textarea
  - name: webhook_url
    label: Webhook URL
    type: url
base_url: https://{{subdomain}}.acme.example/api/{{region}}
apply:
  headers: {X-Api-Key: "{{api_key}}"}
  query: {region: "{{region}}"}
check:
  path: /me?verbose=1
  expect_status: [200, 204]
streams:
  - name: widgets
    path: /widgets
    primary_key: id
`

// setup writes files into a fresh custom directory and loads the catalog.
func setup(t *testing.T, files map[string]string) (*connectors.Catalog, error) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600))
	}
	return connectors.LoadCatalog(dir)
}

// define loads one custom definition and returns it.
func define(t *testing.T, body string) *connectors.Definition {
	t.Helper()
	c, err := setup(t, map[string]string{"acme.yaml": body})
	require.NoError(t, err)
	d, ok := c.Get("acme")
	require.True(t, ok)
	return d
}

func TestLoadCatalogEmbedded(t *testing.T) {
	t.Parallel()
	c, err := connectors.LoadCatalog("")
	require.NoError(t, err)
	var ids []string
	for _, d := range c.List() {
		ids = append(ids, d.ID)
		assert.Equal(t, "embedded", d.Source)
		assert.NotEmpty(t, d.Name, d.ID)
		if d.Auth.Type != connectors.AuthSecretStore {
			assert.NotNil(t, d.Check, "%s has a credential check", d.ID)
		}
	}
	want := []string{"github", "google_sheets", "hubspot", "pipedrive", "rest_api_key_header",
		"rest_basic", "rest_bearer", "salesforce", "secret_store", "shopify", "stripe"}
	assert.Equal(t, want, ids, "List is every embedded connector, sorted by id")

	d, ok := c.Get("salesforce")
	require.True(t, ok)
	assert.True(t, d.Auth.OAuth2.PKCE)
	assert.Equal(t, "api refresh_token", d.Auth.OAuth2.Scope())
	_, ok = c.Get("nope")
	assert.False(t, ok)
}

func TestLoadCatalogCustom(t *testing.T) {
	t.Parallel()
	stripe := strings.NewReplacer("id: acme", "id: stripe", "name: Acme", "name: Stripe (EU proxy)").Replace(acme)
	c, err := setup(t, map[string]string{
		"acme.yaml":   acme,
		"stripe.yaml": stripe,
		"README.md":   "not a definition",
	})
	require.NoError(t, err)

	d, ok := c.Get("acme")
	require.True(t, ok, "a custom file adds a connector")
	assert.True(t, strings.HasSuffix(d.Source, "acme.yaml"))
	d, ok = c.Get("stripe")
	require.True(t, ok)
	assert.Equal(t, "Stripe (EU proxy)", d.Name, "a custom file overrides the embedded one")
	_, ok = c.Get("github")
	assert.True(t, ok, "embedded connectors stay")

	ids := []string{}
	for _, d := range c.List() {
		ids = append(ids, d.ID)
	}
	assert.True(t, slices.IsSorted(ids))
	assert.Equal(t, 1, strings.Count(strings.Join(ids, ","), "stripe"))
}

func TestLoadCatalogDirectoryErrors(t *testing.T) {
	t.Parallel()
	_, err := connectors.LoadCatalog(filepath.Join(t.TempDir(), "missing"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing")

	_, err = setup(t, map[string]string{"acme.yml": acme})
	require.Error(t, err, "a .yml file is refused, not skipped")
	assert.Contains(t, err.Error(), "acme.yml: name definition files <id>.yaml")
}

func TestLoadCatalogDefaults(t *testing.T) {
	t.Parallel()
	d := define(t, strings.Replace(acme, "  expect_status: [200, 204]\n", "", 1))
	assert.Equal(t, "GET", d.Check.Method)
	assert.Equal(t, []int{200}, d.Check.ExpectStatus)
	assert.Equal(t, "string", d.Form[0].Type)
	assert.True(t, d.Form[1].Secret, "a password field is secret")
}
