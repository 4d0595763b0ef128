package fakeprovider

import (
	"net/http"
	"time"
)

// refreshGrant is the refresh_token grant with rotation (RFC 6749 §6,
// RFC 9700 §4.14.2): the old refresh token is spent at once, then
// RefreshDelay passes before the answer. A spent token presented again
// revokes the grant, including what its first use was issued.
func (p *Provider) refreshGrant(r *http.Request, clientID, token string) (tokenResponse, *oauthError) {
	resp, oerr := p.rotate(clientID, token)
	if oerr != nil || p.opts.RefreshDelay <= 0 {
		return resp, oerr
	}
	t := time.NewTimer(p.opts.RefreshDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done(): // the client gave up; its new tokens are lost, as with a real provider
	}
	return resp, nil
}

func (p *Provider) rotate(clientID, token string) (tokenResponse, *oauthError) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rt := p.refresh[token]
	switch {
	case token == "":
		return tokenResponse{}, invalidRequest("refresh_token is required")
	case rt == nil || rt.grant.clientID != clientID:
		return tokenResponse{}, invalidGrant("unknown refresh token")
	case rt.grant.revoked:
		return tokenResponse{}, invalidGrant("grant revoked")
	case rt.used:
		rt.grant.revoked = true
		return tokenResponse{}, invalidGrant("refresh token already used; grant revoked")
	}
	rt.used = true
	return p.issueTokens(rt.grant), nil
}

// RefreshCalls returns how many refresh_token grant requests the token
// endpoint has received, whatever their outcome (including those failed
// by FailTokenEndpoint or refused as invalid_grant).
func (p *Provider) RefreshCalls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refreshCalls
}

// RevokeGrant revokes every grant issued so far, as a user removing the
// app in the provider's settings would: their refresh tokens then get
// invalid_grant and their access tokens 401 invalid_token. Codes not yet
// exchanged, and grants made later, are unaffected.
func (p *Provider) RevokeGrant() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, g := range p.grants {
		g.revoked = true
	}
}
