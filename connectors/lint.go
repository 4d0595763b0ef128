package connectors

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

var (
	authTypes = []string{AuthOAuth2, AuthAPIKey, AuthBasic, AuthSecretStore, AuthNone}
	idPattern = regexp.MustCompile(`^[a-z0-9_]{2,40}$`)
	// oauthParams are set by the OAuth2 client; extra_params may not.
	oauthParams = []string{"client_id", "client_secret", "redirect_uri", "response_type",
		"scope", "state", "code_challenge", "code_challenge_method"}
)

// linter collects every problem of one definition file.
type linter struct {
	file string
	d    *Definition
	errs []error
}

func (l *linter) add(path, format string, args ...any) {
	l.errs = append(l.errs, &DefinitionError{File: l.file, Path: path, Message: fmt.Sprintf(format, args...)})
}

// prepare validates d, decoded from the file named file, fills in its
// defaults and compiles its templates and patterns. The error joins one
// *DefinitionError per problem.
func prepare(file string, d *Definition) error {
	l := &linter{file: file, d: d}
	l.identity(strings.TrimSuffix(baseName(file), ".yaml"))
	l.auth()
	l.form()
	if d.Auth.Type == AuthSecretStore {
		l.noHTTP()
	} else {
		l.http()
	}
	l.streams()
	l.webhooks()
	l.defaults()
	return errors.Join(l.errs...)
}

func (l *linter) identity(stem string) {
	switch d := l.d; {
	case !idPattern.MatchString(d.ID):
		l.add("id", "%q must be 2 to 40 lower-case letters, digits or _", d.ID)
	case d.ID != stem:
		l.add("id", "%q must equal the file name without .yaml (%q)", d.ID, stem)
	}
	if strings.TrimSpace(l.d.Name) == "" {
		l.add("name", "is required")
	}
	if l.d.DocsURL != "" && !absoluteHTTP(l.d.DocsURL) {
		l.add("docs_url", "%q must be an absolute http or https URL", l.d.DocsURL)
	}
}

func (l *linter) auth() {
	a := l.d.Auth
	switch {
	case a.Type == "":
		l.add("auth.type", "is required: one of %s", strings.Join(authTypes, "|"))
	case !slices.Contains(authTypes, a.Type):
		l.add("auth.type", "%q is not one of %s", a.Type, strings.Join(authTypes, "|"))
	case a.Type == AuthOAuth2 && a.OAuth2 == nil:
		l.add("auth.oauth2", "is required when auth.type is oauth2")
	case a.Type != AuthOAuth2 && a.OAuth2 != nil:
		l.add("auth.oauth2", "is only allowed when auth.type is oauth2")
	case a.OAuth2 != nil:
		l.oauth2(a.OAuth2)
	}
}

func (l *linter) oauth2(o *OAuth2) {
	for _, kv := range [][2]string{{"authorize_url", o.AuthorizeURL}, {"token_url", o.TokenURL}} {
		path, u := kv[0], kv[1]
		switch {
		case u == "":
			l.add("auth.oauth2."+path, "is required")
		case !absoluteHTTP(u) || strings.Contains(u, "{{"):
			l.add("auth.oauth2."+path, "%q must be an absolute http or https URL without placeholders", u)
		}
	}
	if o.ScopeSeparator == "" {
		o.ScopeSeparator = " "
	}
	for i, s := range o.Scopes {
		if strings.TrimSpace(s) == "" || strings.Contains(s, o.ScopeSeparator) {
			l.add(fmt.Sprintf("auth.oauth2.scopes[%d]", i), "%q must be non-empty and not contain the scope separator %q", s, o.ScopeSeparator)
		}
	}
	if o.ClientAuth == "" {
		o.ClientAuth = "basic"
	}
	if o.ClientAuth != "basic" && o.ClientAuth != "post" {
		l.add("auth.oauth2.client_auth", "%q is not one of basic|post", o.ClientAuth)
	}
	for _, k := range slices.Sorted(maps.Keys(o.ExtraParams)) {
		if slices.Contains(oauthParams, k) {
			l.add("auth.oauth2.extra_params."+k, "is set by tenantry and cannot be overridden")
		}
	}
}

// absoluteHTTP reports whether s is an absolute http or https URL.
func absoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// baseName is the last element of a slash- or backslash-separated path.
func baseName(p string) string {
	return p[strings.LastIndexAny(p, `/\`)+1:]
}
