package handlers

import (
	"html/template"
	"net/http"

	"github.com/tenantry/tenantry"
)

// The OAuth pages: sign-in, consent, and the error page for requests that
// cannot go back to their client. They work without JavaScript.
var oauthPage = template.Must(template.New("oauth").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{if .App}}{{.App}} – {{end}}sign in</title>
<style>body{font:16px system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem}
label,input[type=email],input[type=password],button{display:block;width:100%;margin:.4rem 0}
input,button{padding:.5rem;box-sizing:border-box}.error{color:#b00020}</style></head><body>
{{if .Fatal}}<h1>This request cannot go on</h1><p class="error">{{.Fatal}}</p>
{{else if .Consent}}<h1>Allow {{.App}}?</h1>
<form method="post" action="/oauth/authorize">
<input type="hidden" name="step" value="consent"><input type="hidden" name="consent" value="{{.Consent}}">
<p>{{.App}} asks to act on your behalf in {{if eq (len .Accounts) 1}}{{(index .Accounts 0).Name}}{{else}}the account you choose{{end}}:
to read its data and manage its connections.</p>
{{if gt (len .Accounts) 1}}{{range $i, $a := .Accounts}}<label><input type="radio" name="user" value="{{$a.UserID}}"{{if eq $i 0}} checked{{end}}> {{$a.Name}} ({{$a.Role}})</label>{{end}}
{{else}}<input type="hidden" name="user" value="{{(index .Accounts 0).UserID}}">{{end}}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
{{else}}<h1>Sign in to continue to {{.App}}</h1>
{{if .Error}}<p class="error">{{.Error}}</p>{{end}}
<form method="post" action="/oauth/authorize">
<input type="hidden" name="step" value="login">
{{with .Request}}<input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="response_type" value="{{.ResponseType}}">
<input type="hidden" name="response_mode" value="{{.ResponseMode}}">
<input type="hidden" name="state" value="{{.State}}">
<input type="hidden" name="code_challenge" value="{{.Challenge}}">
<input type="hidden" name="code_challenge_method" value="{{.Method}}">{{end}}
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>{{end}}
</body></html>
`))

type oauthView struct {
	App      string
	Request  authorizeRequest
	Error    string // beside the sign-in form
	Fatal    string // instead of any form
	Consent  string
	Accounts []oauthAccount
}

type oauthAccount struct{ UserID, Name, Role string }

// renderOAuthError shows err on the error page; internal errors are
// logged with the request id and shown as such.
func (s *Server) renderOAuthError(w http.ResponseWriter, r *http.Request, err error) {
	code := tenantry.ErrorCode(err)
	if code == tenantry.EINTERNAL {
		s.writeError(w, r, err)
		return
	}
	s.renderOAuth(w, statuses[code], oauthView{Fatal: tenantry.ErrorMessage(err)})
}

func (s *Server) renderOAuth(w http.ResponseWriter, status int, v oauthView) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	// No form-action: the consent form's answer redirects to the client.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_ = oauthPage.Execute(w, v)
}
