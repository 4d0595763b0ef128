package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"math/big"
	"strings"
)

// APIKeyPrefix starts every API key, so that a key is recognisable (to
// people, log scrubbers and secret scanners) and never mistaken for a JWT.
const APIKeyPrefix = "tk_live_"

const (
	base62       = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	apiKeyChars  = 43 // 32 random bytes in base62
	visibleChars = 6  // of the random part, shown in listings
)

// NewAPIKey returns a fresh key (the prefix and 256 random bits in
// base62), the part of it that may be shown again (the prefix and its
// first characters), and the hash to store.
func NewAPIKey() (key, visible string, hash []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	n := new(big.Int).SetBytes(b)
	out := make([]byte, apiKeyChars)
	base, mod := big.NewInt(62), new(big.Int)
	for i := apiKeyChars - 1; i >= 0; i-- {
		n.DivMod(n, base, mod)
		out[i] = base62[mod.Int64()]
	}
	key = APIKeyPrefix + string(out)
	return key, key[:len(APIKeyPrefix)+visibleChars], HashAPIKey(key)
}

// IsAPIKey reports whether a bearer credential is an API key rather
// than a token.
func IsAPIKey(credential string) bool { return strings.HasPrefix(credential, APIKeyPrefix) }

// HashAPIKey is what is stored of a key: its SHA-256. A key carries 256
// random bits, so a slow password hash would add nothing but latency.
func HashAPIKey(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}
