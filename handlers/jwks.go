package handlers

import (
	"fmt"
	"net/http"
	"time"

	"github.com/tenantry/tenantry/auth"
)

// jwks serves the public signing keys (RFC 7517), including keys
// published ahead of signing, so verifiers can refresh before they meet a
// new kid. Caches may keep it for auth.Issuer.JWKSMaxAge (half of
// auth.Config.PublishAhead: 5 minutes by default), so they refetch before
// a newly published key signs.
func (s *Server) jwks(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(s.issuer.JWKSMaxAge()/time.Second)))
	_ = writeJSON(w, http.StatusOK, struct {
		Keys []auth.JWK `json:"keys"`
	}{s.issuer.JWKS()})
}
