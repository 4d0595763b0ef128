package connectors_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/connectors"
)

// FuzzCheckRequestStaysOnHost: whatever an end-customer types, a value
// Validate accepts yields a check request to the connector's own host.
func FuzzCheckRequestStaysOnHost(f *testing.F) {
	f.Add("acme", "/me")
	f.Add("evil.com/x", "/../admin")
	f.Add("a@b", "//evil.example/x")
	f.Add("xn--bcher-kva", "/a?b#c")
	c, err := connectors.LoadCatalog("")
	require.NoError(f, err)
	pipedrive, _ := c.Get("pipedrive")
	bearer, _ := c.Get("rest_bearer")
	f.Fuzz(func(t *testing.T, domain, path string) {
		ctx := context.Background()
		if v, err := pipedrive.Validate(map[string]any{"company_domain": domain, "api_token": "t"}); err == nil {
			req, err := pipedrive.CheckRequest(ctx, v)
			require.NoError(t, err, "Validate accepted %q", domain)
			assert.True(t, strings.EqualFold(domain+".pipedrive.com", req.URL.Host), req.URL)
		}
		v, err := bearer.Validate(map[string]any{"base_url": "https://api.example.com/v1", "token": "t", "check_path": path})
		if err != nil {
			return
		}
		req, err := bearer.CheckRequest(ctx, v)
		require.NoError(t, err, "Validate accepted %q", path)
		assert.Equal(t, "api.example.com", req.URL.Host)
		assert.True(t, strings.HasPrefix(req.URL.Path, "/v1/"), req.URL)
		assert.Empty(t, req.URL.RawQuery)
		for _, seg := range strings.Split(req.URL.Path, "/") {
			assert.NotContains(t, []string{".", ".."}, seg, req.URL)
		}
	})
}

// FuzzDefinition: no file makes the loader panic, and whatever loads
// has a public view.
func FuzzDefinition(f *testing.F) {
	f.Add(acme)
	f.Add(oauthAcme)
	f.Add(applyAll)
	f.Add("id: acme\nname: x\nauth: {type: none}\nbase_url: 'https://{{a}}'\n")
	f.Fuzz(func(t *testing.T, body string) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "acme.yaml"), []byte(body), 0o600))
		c, err := connectors.LoadCatalog(dir)
		if err != nil {
			return
		}
		d, _ := c.Get("acme")
		_, err = json.Marshal(d.Public())
		require.NoError(t, err)
	})
}
