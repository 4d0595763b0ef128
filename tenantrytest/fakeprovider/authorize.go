package fakeprovider

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
)

// authRequest is an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3).
type authRequest struct {
	ResponseType, ClientID, RedirectURI, State, Scope string
	Challenge, ChallengeMethod                        string
}

func parseAuthRequest(v url.Values) authRequest {
	return authRequest{
		ResponseType: v.Get("response_type"), ClientID: v.Get("client_id"),
		RedirectURI: v.Get("redirect_uri"), State: v.Get("state"), Scope: v.Get("scope"),
		Challenge: v.Get("code_challenge"), ChallengeMethod: v.Get("code_challenge_method"),
	}
}

// hidden returns the request's parameters as the consent form carries them.
func (ar authRequest) hidden() []struct{ Name, Value string } {
	var fs []struct{ Name, Value string }
	for _, f := range [][2]string{
		{"response_type", ar.ResponseType}, {"client_id", ar.ClientID},
		{"redirect_uri", ar.RedirectURI}, {"state", ar.State}, {"scope", ar.Scope},
		{"code_challenge", ar.Challenge}, {"code_challenge_method", ar.ChallengeMethod},
	} {
		if f[1] != "" {
			fs = append(fs, struct{ Name, Value string }{f[0], f[1]})
		}
	}
	return fs
}

// validate reports what is wrong with ar. A fatal problem means the
// redirect URI cannot be trusted, so the user sees it instead of the
// client (RFC 6749 §4.1.2.1); otherwise code and desc go back to the
// client's redirect URI.
func (p *Provider) validate(ar authRequest) (fatal, code, desc string) {
	if ar.ClientID != p.opts.ClientID {
		return fmt.Sprintf("unknown client_id %q", ar.ClientID), "", ""
	}
	if u, err := url.Parse(ar.RedirectURI); err != nil || !u.IsAbs() || u.Fragment != "" {
		return fmt.Sprintf("invalid redirect_uri %q: an absolute URI without a fragment is required", ar.RedirectURI), "", ""
	}
	switch {
	case ar.ResponseType != "code":
		return "", "unsupported_response_type", "only response_type=code is supported"
	case ar.Challenge == "" && p.opts.RequirePKCE:
		return "", "invalid_request", "code challenge required"
	case ar.Challenge != "" && ar.ChallengeMethod != "S256":
		return "", "invalid_request", "transform algorithm not supported: code_challenge_method must be S256"
	case ar.Challenge != "" && !isS256Challenge(ar.Challenge):
		return "", "invalid_request", "code_challenge must be 43 characters of base64url"
	}
	return "", "", ""
}

// admit answers a request that fails validation and reports whether the
// caller may go on.
func (p *Provider) admit(w http.ResponseWriter, r *http.Request, ar authRequest) bool {
	fatal, code, desc := p.validate(ar)
	switch {
	case fatal != "":
		http.Error(w, "Authorization request refused: "+fatal, http.StatusBadRequest)
	case code != "":
		redirectBack(w, r, ar, url.Values{"error": {code}, "error_description": {desc}})
	}
	return fatal == "" && code == ""
}

// redirectBack sends the user agent to the client's redirect URI with
// params and the request's state added to its query.
func redirectBack(w http.ResponseWriter, r *http.Request, ar authRequest, params url.Values) {
	u, _ := url.Parse(ar.RedirectURI) // validated
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	if ar.State != "" {
		q.Set("state", ar.State)
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

var consentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Authorize {{.ClientID}}</title></head>
<body>
<h1>Authorize {{.ClientID}}</h1>
<p>{{.ClientID}} asks for access to your account{{with .Scope}} (scope: {{.}}){{end}}.</p>
<form method="post" action="/oauth/decide">
{{range .hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<button id="approve" type="submit" name="decision" value="approve">Allow</button>
<button id="deny" type="submit" name="decision" value="deny">Deny</button>
</form>
</body></html>
`))

// authorize is the authorization endpoint: it shows the consent page.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	ar := parseAuthRequest(r.URL.Query())
	if !p.admit(w, r, ar) {
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = consentPage.Execute(w, map[string]any{"ClientID": ar.ClientID, "Scope": ar.Scope, "hidden": ar.hidden()})
}

// decide receives the consent form. Its fields are the user agent's to
// forge, so the request is validated again.
func (p *Provider) decide(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ar := parseAuthRequest(r.PostForm)
	if !p.admit(w, r, ar) {
		return
	}
	switch r.PostForm.Get("decision") {
	case "approve":
		redirectBack(w, r, ar, url.Values{"code": {p.issueCode(ar)}})
	case "deny":
		redirectBack(w, r, ar, url.Values{"error": {"access_denied"}, "error_description": {"The user denied the request."}})
	default:
		http.Error(w, "decision must be approve or deny", http.StatusBadRequest)
	}
}
