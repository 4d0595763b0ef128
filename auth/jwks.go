package auth

import (
	"encoding/base64"
	"slices"
	"strings"
)

// JWK is one public signing key in JWKS form (RFC 8037: an Ed25519 key
// is an OKP key on curve Ed25519).
type JWK struct {
	KeyType   string `json:"kty"`
	Curve     string `json:"crv"`
	X         string `json:"x"`
	KeyID     string `json:"kid"`
	Algorithm string `json:"alg"`
	Use       string `json:"use"`
}

// JWKS returns the public half of every signing key this replica verifies
// with, including keys published but not signing yet, sorted by kid.
// Retired keys are absent. Safe for concurrent use.
func (i *Issuer) JWKS() []JWK {
	i.mu.RLock()
	defer i.mu.RUnlock()
	keys := make([]JWK, 0, len(i.public))
	for kid, pub := range i.public {
		keys = append(keys, JWK{KeyType: "OKP", Curve: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub),
			KeyID: kid, Algorithm: "EdDSA", Use: "sig"})
	}
	slices.SortFunc(keys, func(a, b JWK) int { return strings.Compare(a.KeyID, b.KeyID) })
	return keys
}
