// Package fakeprovider is a third-party SaaS provider for tests: an
// httptest server that speaks real OAuth 2.0 (RFC 6749: authorization
// code grant with a consent page, refresh tokens with rotation and reuse
// detection), PKCE (RFC 7636, S256 only), bearer tokens (RFC 6750), an
// API-key check, and a paginated REST API in the four shapes real APIs
// use (cursor, Link header, page number, offset).
//
// tenantry talks to it exactly as it talks to a real provider, over HTTP;
// tests steer it with methods that a real provider's admin console or a
// bad day would supply: revoke the grant, expire the tokens, fail the next
// calls. It is strict where real providers are strict, because tenantry
// must survive the strictest one: an authorization code is single use, a
// rotated refresh token presented again revokes the whole grant, and
// there is no grace period for either.
//
// Every Provider method is safe for concurrent use.
package fakeprovider
