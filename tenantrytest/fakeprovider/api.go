package fakeprovider

import (
	"net/http"
	"strings"
	"time"
)

// api wraps a REST endpoint with the delay SetDelay set and the failures
// FailNext injected.
func (p *Provider) api(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		f, ok := p.apiFaults.take()
		delay := p.delay
		p.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if !ok {
			h(w, r)
			return
		}
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		writeJSON(w, f.status, map[string]string{"error": http.StatusText(f.status)})
	})
}

// FailNext makes the next n calls to the REST API (every /api/ endpoint:
// /api/me, /api/key-check, the records endpoints) answer status, with a
// Retry-After header when retryAfter is not empty, before checking their
// credentials. It replaces any failures still pending from an earlier call.
func (p *Provider) FailNext(n int, status int, retryAfter string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.apiFaults = fault{n: n, status: status, retryAfter: retryAfter}
}

// SetDelay makes every later call to the REST API wait d before
// answering (a slow or hung provider); 0 removes the delay.
func (p *Provider) SetDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// ExpireAccessTokens makes every access token issued so far invalid, as
// if its lifetime had passed: the API answers 401 invalid_token to them.
// Refresh tokens stay valid, and tokens issued later are unaffected.
func (p *Provider) ExpireAccessTokens() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, at := range p.access {
		at.expires = time.Time{}
	}
}

// me is the identity endpoint a credential check calls with an OAuth token.
func (p *Provider) me(w http.ResponseWriter, r *http.Request) {
	if p.bearerOK(w, r) {
		writeJSON(w, http.StatusOK, map[string]string{"id": "user-1", "email": "user@example.com"})
	}
}

// keyCheck is the endpoint a credential check calls with an API key.
func (p *Provider) keyCheck(w http.ResponseWriter, r *http.Request) {
	if !p.apiKeyOK(r) {
		w.Header().Set("WWW-Authenticate", `ApiKey realm="fakeprovider"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_api_key"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// apiKeyOK accepts the key in the X-Api-Key header or the api_token query
// parameter.
func (p *Provider) apiKeyOK(r *http.Request) bool {
	return r.Header.Get("X-Api-Key") == p.opts.APIKey || r.URL.Query().Get("api_token") == p.opts.APIKey
}

// bearerOK reports whether the request carries a valid access token, and
// answers 401 with an RFC 6750 §3 challenge when it does not.
func (p *Provider) bearerOK(w http.ResponseWriter, r *http.Request) bool {
	token, found := bearer(r)
	if found && p.accessValid(token) {
		return true
	}
	challenge := `Bearer realm="fakeprovider"`
	desc := "missing bearer token"
	if found { // with no credentials at all, the challenge carries no error
		desc = "the access token is expired, revoked or unknown"
		challenge += `, error="invalid_token", error_description="` + desc + `"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": desc})
	return false
}

func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

func (p *Provider) accessValid(token string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	at := p.access[token]
	return at != nil && !at.grant.revoked && p.now().Before(at.expires)
}
