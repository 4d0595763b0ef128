package handlers

import (
	"html/template"
	"net/http"

	"github.com/tenantry/tenantry"
)

// acceptPath is the accept link's page: a form where the invited user
// sets a password. It works without JavaScript.
const acceptPath = "/invitations/accept"

var acceptPage = template.Must(template.New("accept").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Accept your invitation</title>
<style>body{font:16px system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem}
label,input,button{display:block;width:100%;margin:.4rem 0}input,button{padding:.5rem;box-sizing:border-box}
.error{color:#b00020}</style></head><body>
{{if .User}}<h1>Welcome</h1><p>{{.User.Email}} can now sign in.</p>
{{else if .Final}}<h1>This link cannot be used</h1><p class="error">{{.Error}}</p>
{{else}}<h1>Accept your invitation</h1>
{{if .Error}}<p class="error">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="token" value="{{.Token}}">
<label for="password">Choose a password (at least 10 characters)</label>
<input id="password" name="password" type="password" autocomplete="new-password" minlength="10" maxlength="256" required>
<button type="submit">Set password</button>
</form>{{end}}
</body></html>
`))

type acceptView struct {
	Action, Token, Error string
	Final                bool
	User                 *tenantry.User
}

// acceptForm serves the accept link's page.
func (s *Server) acceptForm(w http.ResponseWriter, r *http.Request) {
	s.renderAccept(w, http.StatusOK, acceptView{Token: r.URL.Query().Get("token")})
}

// acceptSubmit accepts the invitation posted by the page's form and shows
// the outcome: the user, the form again for a password to fix, or why
// the link cannot be used.
func (s *Server) acceptSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.renderAccept(w, http.StatusBadRequest, acceptView{Final: true, Error: "The form could not be read."})
		return
	}
	in := acceptRequest{Token: r.PostForm.Get("token"), Password: r.PostForm.Get("password")}
	u, err := s.acceptInvitation(w, r, in)
	if err != nil {
		code := tenantry.ErrorCode(err)
		if code == tenantry.EINTERNAL {
			s.writeError(w, r, err) // logged with the request id; the page says nothing more
			return
		}
		v := acceptView{Token: in.Token, Error: tenantry.ErrorMessage(err), Final: code != tenantry.EINVALID}
		s.renderAccept(w, statuses[code], v)
		return
	}
	s.renderAccept(w, http.StatusCreated, acceptView{User: u})
}

func (s *Server) renderAccept(w http.ResponseWriter, status int, v acceptView) {
	v.Action = acceptPath
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer") // the URL carries the link's secret
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = acceptPage.Execute(w, v)
}
