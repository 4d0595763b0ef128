package auth

import (
	"encoding/base64"
	"slices"
	"strings"
	"time"
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

// JWKSMaxAge is how long a verifier may cache the JWKS: half of
// PublishAhead. A replica publishes a new key within KeyRefresh (at most
// half of PublishAhead) of its creation, so a verifier that fetched the
// JWKS from a replica that did not know the key yet refetches before the
// key signs.
func (i *Issuer) JWKSMaxAge() time.Duration { return i.cfg.PublishAhead / 2 }
