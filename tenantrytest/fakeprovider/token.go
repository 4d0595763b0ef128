package fakeprovider

import (
	"math"
	"mime"
	"net/http"
	"net/url"
	"time"
)

// grant is one authorization: the family of every token issued from one
// authorization code and the refreshes that followed it.
type grant struct {
	clientID, scope string
	revoked         bool
}

type accessToken struct {
	grant   *grant
	expires time.Time
}

type refreshToken struct {
	grant *grant
	used  bool // rotated: presenting it again revokes the grant
}

// tokenResponse is the successful token response (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// oauthError is an error response of the token endpoint (RFC 6749 §5.2).
type oauthError struct {
	status     int
	code, desc string
}

func invalidGrant(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_grant", desc: desc}
}

func invalidRequest(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_request", desc: desc}
}

func (e *oauthError) write(w http.ResponseWriter) {
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="fakeprovider"`)
	}
	noStore(w)
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.desc})
}

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// token is the token endpoint (RFC 6749 §3.2).
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	form, oerr := tokenForm(r)
	if oerr != nil {
		oerr.write(w)
		return
	}
	if f, ok := p.takeTokenFault(form.Get("grant_type")); ok {
		noStore(w)
		writeJSON(w, f.status, map[string]string{"error": "server_error", "error_description": "injected failure (FailTokenEndpoint)"})
		return
	}
	var resp tokenResponse
	clientID, oerr := p.authenticateClient(r, form)
	if oerr == nil {
		switch form.Get("grant_type") {
		case "authorization_code":
			resp, oerr = p.exchangeCode(clientID, form)
		case "refresh_token":
			resp, oerr = p.refreshGrant(r, clientID, form.Get("refresh_token"))
		case "":
			oerr = invalidRequest("grant_type is required")
		default:
			oerr = &oauthError{status: http.StatusBadRequest, code: "unsupported_grant_type", desc: form.Get("grant_type")}
		}
	}
	if oerr != nil {
		oerr.write(w)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, resp)
}

// tokenForm reads the form body; parameters come only from the body and
// at most once each (RFC 6749 §3.2, §3.1).
func tokenForm(r *http.Request) (url.Values, *oauthError) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return nil, invalidRequest("Content-Type must be application/x-www-form-urlencoded")
	}
	if err := r.ParseForm(); err != nil {
		return nil, invalidRequest(err.Error())
	}
	for k, vs := range r.PostForm {
		if len(vs) > 1 {
			return nil, invalidRequest("parameter " + k + " is repeated")
		}
	}
	return r.PostForm, nil
}

// takeTokenFault counts refresh calls and consumes an injected failure.
func (p *Provider) takeTokenFault(grantType string) (fault, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if grantType == "refresh_token" {
		p.refreshCalls++
	}
	return p.tokenFaults.take()
}

// authenticateClient accepts HTTP Basic (with form-encoded credentials,
// RFC 6749 §2.3.1) or client_id and client_secret in the body, not both.
func (p *Provider) authenticateClient(r *http.Request, form url.Values) (string, *oauthError) {
	id, secret, basic := r.BasicAuth()
	if basic {
		if form.Has("client_secret") {
			return "", invalidRequest("more than one client authentication method")
		}
		id, secret = formUnescape(id), formUnescape(secret)
		if form.Has("client_id") && form.Get("client_id") != id {
			return "", &oauthError{status: http.StatusUnauthorized, code: "invalid_client", desc: "client_id differs from the Basic credentials"}
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if id != p.opts.ClientID || secret != p.opts.ClientSecret {
		return "", &oauthError{status: http.StatusUnauthorized, code: "invalid_client", desc: "client authentication failed"}
	}
	return id, nil
}

func formUnescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// issueTokens adds an access and a refresh token to g. Callers hold p.mu.
func (p *Provider) issueTokens(g *grant) tokenResponse {
	resp := tokenResponse{
		AccessToken: newSecret("at_"), TokenType: "Bearer", RefreshToken: newSecret("rt_"), Scope: g.scope,
		ExpiresIn: int64(math.Ceil(p.opts.AccessTokenTTL.Seconds())),
	}
	p.access[resp.AccessToken] = &accessToken{grant: g, expires: p.now().Add(p.opts.AccessTokenTTL)}
	p.refresh[resp.RefreshToken] = &refreshToken{grant: g}
	return resp
}

// FailTokenEndpoint makes the next n token endpoint calls (of any grant
// type) answer status with {"error":"server_error"} before looking at
// them: no code is consumed and no refresh token rotated. It replaces any
// failures still pending from an earlier call.
func (p *Provider) FailTokenEndpoint(n int, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokenFaults = fault{n: n, status: status}
}
