package main

import (
	"context"
	"net/http"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/connectors"
	"github.com/tenantry/tenantry/connectors/egress"
	"github.com/tenantry/tenantry/connectors/fetch"
)

// TestSyncSource reads the fake API through the bench's own connector
// definition, as a sync does: every record once, in 1000-record pages.
func TestSyncSource(t *testing.T) {
	t.Parallel()
	src, err := startSyncSource(2500)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, src.Close()) })
	require.InDelta(t, 400, src.size(), 100, "records of a realistic size")

	catalog, err := connectors.LoadCatalog(src.Dir)
	require.NoError(t, err)
	def, ok := catalog.Get("bench_api")
	require.True(t, ok)
	f, err := fetch.New(fetch.Config{Definition: def, Stream: "customers", Values: map[string]string{"api_key": syncAPIKey},
		Doer: egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})})
	require.NoError(t, err)
	var keys []string
	var sizes []int
	for checkpoint, done := "", false; !done; {
		page, err := f.Next(context.Background(), checkpoint, "")
		require.NoError(t, err)
		for _, r := range page.Records {
			keys = append(keys, r["id"].(string))
		}
		sizes = append(sizes, len(page.Records))
		checkpoint, done = page.Checkpoint, page.Done
	}
	require.Equal(t, []int{1000, 1000, 500}, sizes)
	require.Equal(t, src.keys, keys)

	t.Run("RefusesShortReads", func(t *testing.T) {
		for path, want := range map[string]int{
			"/v1/customers?limit=1000":                          http.StatusUnauthorized, // no key
			"/v1/customers?limit=10":                            http.StatusBadRequest,
			"/v1/customers?limit=1000&updated_since=2025-01-01": http.StatusBadRequest,
			"/v1/customers?limit=1000&cursor=p9":                http.StatusBadRequest,
		} {
			req, err := http.NewRequest(http.MethodGet, src.URL+path, nil)
			require.NoError(t, err)
			if want != http.StatusUnauthorized {
				req.Header.Set("X-Api-Key", syncAPIKey)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, want, resp.StatusCode, path)
		}
	})
}
