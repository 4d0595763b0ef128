package handlers

import (
	"net/http"

	"github.com/tenantry/tenantry/auth"
)

// jwks serves the public signing keys (RFC 7517), including keys
// published ahead of signing, so verifiers can refresh before they meet a
// new kid. Caches may keep it for 5 minutes, less than the time a new key
// is published before it signs (auth.Config.PublishAhead, 10 minutes).
func (s *Server) jwks(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = writeJSON(w, http.StatusOK, struct {
		Keys []auth.JWK `json:"keys"`
	}{s.issuer.JWKS()})
}
