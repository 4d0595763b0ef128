package fakeprovider

import (
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"time"
)

// codeTTL is how long an authorization code may wait for its exchange
// (RFC 6749 §4.1.2 recommends at most ten minutes; providers use less).
const codeTTL = 60 * time.Second

// authCode is an issued authorization code and what it was issued for.
type authCode struct {
	clientID, redirectURI, scope, challenge string
	expires                                 time.Time
	used                                    bool
	grant                                   *grant // set by a successful exchange
}

func (p *Provider) issueCode(ar authRequest) string {
	code := newSecret("code_")
	p.mu.Lock()
	defer p.mu.Unlock()
	p.codes[code] = &authCode{
		clientID: ar.ClientID, redirectURI: ar.RedirectURI, scope: ar.Scope,
		challenge: ar.Challenge, expires: p.now().Add(codeTTL),
	}
	return code
}

// exchangeCode is the authorization_code grant (RFC 6749 §4.1.3). Any
// attempt consumes the code; a second attempt also revokes the tokens
// the first one got (§4.1.2).
func (p *Provider) exchangeCode(clientID string, form url.Values) (tokenResponse, *oauthError) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.codes[form.Get("code")]
	switch {
	case c == nil || c.clientID != clientID:
		return tokenResponse{}, invalidGrant("unknown authorization code")
	case c.used:
		if c.grant != nil {
			c.grant.revoked = true
		}
		return tokenResponse{}, invalidGrant("authorization code already used; tokens issued for it are revoked")
	}
	c.used = true
	switch {
	case !p.now().Before(c.expires):
		return tokenResponse{}, invalidGrant("authorization code expired")
	case form.Get("redirect_uri") != c.redirectURI:
		return tokenResponse{}, invalidGrant("redirect_uri differs from the authorization request's")
	case !verifierMatches(c.challenge, form.Get("code_verifier")):
		return tokenResponse{}, invalidGrant("code_verifier does not match the code_challenge")
	}
	c.grant = &grant{clientID: clientID, scope: c.scope}
	p.grants = append(p.grants, c.grant)
	return p.issueTokens(c.grant), nil
}

// verifierMatches checks a code_verifier against an S256 challenge (RFC
// 7636 §4.6). Without a challenge, a verifier is refused too (RFC 9700
// §2.1.1): the client thinks it is using PKCE and is not.
func verifierMatches(challenge, verifier string) bool {
	if challenge == "" || verifier == "" {
		return challenge == verifier
	}
	if len(verifier) < 43 || len(verifier) > 128 || !unreserved(verifier) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:]) == challenge
}

func isS256Challenge(s string) bool {
	_, err := base64.RawURLEncoding.DecodeString(s)
	return len(s) == 43 && err == nil
}

// unreserved reports whether s uses only RFC 3986 unreserved characters.
func unreserved(s string) bool {
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}
