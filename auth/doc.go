// Package auth issues and verifies tenantry's JWTs: Ed25519 (EdDSA) only,
// signed under a key id, with a fixed issuer and audience. Each token
// names its kind (partner or account) in both the "typ" header and a
// claim, and a token of one kind is never accepted as another.
// Non-expiring tokens carry no "exp" and are recorded so they can be
// revoked; callers confirm them with store.CheckCaller.
package auth
