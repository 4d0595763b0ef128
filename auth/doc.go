// Package auth issues and verifies tenantry's credentials: JWTs signed
// with Ed25519 (EdDSA only) under a key id, with a fixed issuer and
// audience; API keys (tk_live_…, stored as a SHA-256); and user passwords
// (argon2id).
//
// Each token names its kind (partner, account, key — exchanged for an
// API key —, single_use, oauth) in both the "typ" header and the "knd"
// claim, each kind has claims it requires and claims it must not carry,
// and a token of one kind is never accepted as another. Tokens checked on
// every use (non-expiring ones, exchanged-key tokens, tokens minted by an
// API key, OAuth access tokens) are recorded so they can be revoked;
// callers confirm them with store.CheckCaller.
//
// Signing keys rotate without downtime (Issuer.Start): a new key is
// published (JWKS, every replica) before it signs, and an old one keeps
// verifying until nothing it signed can still be valid. See docs/auth.md.
package auth
