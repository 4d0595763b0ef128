package handlers_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/tenantrytest"
)

func TestWebAssets(t *testing.T) {
	t.Parallel()

	t.Run("EmbedJS", func(t *testing.T) {
		sys := tenantrytest.Start(t, nil)
		r := sys.Do("GET", "/embed.js", "", nil)
		require.Equal(t, http.StatusOK, r.Status)
		require.Contains(t, string(r.Body), "export class Tenantry")
		require.Equal(t, "application/javascript; charset=utf-8", r.Header.Get("Content-Type"))
		require.Equal(t, "*", r.Header.Get("Access-Control-Allow-Origin"), "partners import it from their own origin")
		require.Equal(t, "nosniff", r.Header.Get("X-Content-Type-Options"))
		require.Equal(t, "no-cache", r.Header.Get("Cache-Control"))
		etag := r.Header.Get("ETag")
		require.NotEmpty(t, etag)
		require.Equal(t, http.StatusNotModified, sys.Do("GET", "/embed.js", "", nil, "If-None-Match", etag).Status)

		require.Equal(t, http.StatusNotFound, sys.Do("GET", "/demo", "", nil).Status, "no demo outside tenantry dev")
		require.Equal(t, http.StatusNotFound, sys.Do("GET", "/demo.js", "", nil).Status)
	})

	t.Run("Demo", func(t *testing.T) {
		sys := tenantrytest.Start(t, func(c *node.Config) { c.HTTP.Demo = true })
		r := sys.Do("GET", "/demo", "", nil)
		require.Equal(t, http.StatusOK, r.Status)
		require.Equal(t, "text/html; charset=utf-8", r.Header.Get("Content-Type"))
		csp := r.Header.Get("Content-Security-Policy")
		require.Contains(t, csp, "default-src 'none'")
		require.Contains(t, csp, "script-src 'self'")
		require.Contains(t, csp, "connect-src 'self'")
		require.NotContains(t, csp, "unsafe-eval")
		require.Equal(t, "no-referrer", r.Header.Get("Referrer-Policy"))
		require.Equal(t, "nosniff", r.Header.Get("X-Content-Type-Options"))
		require.Contains(t, string(r.Body), `src="/demo.js"`)

		js := sys.Do("GET", "/demo.js", "", nil)
		require.Equal(t, http.StatusOK, js.Status)
		require.Contains(t, string(js.Body), `from "/embed.js"`)
	})
}
