package connectors

import (
	"regexp"
	"strings"
)

// Auth types: how an end-customer proves who they are to the app.
const (
	AuthOAuth2      = "oauth2"       // an OAuth2 authorization-code popup
	AuthAPIKey      = "api_key"      // a key or token typed into the form
	AuthBasic       = "basic"        // a user name and password (apply.basic)
	AuthSecretStore = "secret_store" // values kept for scripts; no API behind them
	AuthNone        = "none"         // a public API
)

// Form field types.
const (
	FieldString   = "string"
	FieldPassword = "password" // always secret
	FieldURL      = "url"      // an absolute http or https URL
	FieldNumber   = "number"
	FieldSelect   = "select" // one of Options
	FieldTextarea = "textarea"
)

// Token fields: the values an OAuth2 connection holds besides its form
// values, usable as placeholders in an oauth2 definition. instance_url is
// the API host some providers (Salesforce) return with the token.
const (
	TokenAccessToken  = "access_token"
	TokenRefreshToken = "refresh_token"
	TokenInstanceURL  = "instance_url"
)

// Definition is one connector, decoded from <id>.yaml. A Definition
// returned by a Catalog has passed validation and has its defaults
// filled in; it is shared and safe for concurrent use, and callers must
// not modify it.
type Definition struct {
	ID          string `yaml:"id"`
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	DocsURL     string `yaml:"docs_url"`
	Auth        Auth   `yaml:"auth"`
	// Form is the connect form, in display order.
	Form []Field `yaml:"form"`
	// BaseURLTemplate is base_url with its {{placeholders}}; BaseURL
	// expands it.
	BaseURLTemplate string `yaml:"base_url"`
	Apply           Apply  `yaml:"apply"`
	// Check is the credential check; nil when the definition has none.
	Check *Check `yaml:"check"`
	// Streams are the collections of records a connector can sync, in
	// the order of the file (see Stream).
	Streams []Stream `yaml:"streams"`
	// Webhooks, when set, gives each connection its own webhook URL
	// whose requests must carry the provider's signature.
	Webhooks *Webhooks `yaml:"webhooks"`
	// Source says where the definition came from: "embedded" or the
	// path of the custom file.
	Source string `yaml:"-"`

	fields  map[string]*Field
	base    template
	check   template // check.path or check.url
	headers []pair
	query   []pair
	basic   *[2]template // user name, password
}

// Auth says how the end-customer authenticates.
type Auth struct {
	// Type is one of the Auth* constants.
	Type string `yaml:"type"`
	// OAuth2 is set exactly when Type is AuthOAuth2.
	OAuth2 *OAuth2 `yaml:"oauth2"`
}

// OAuth2 describes a provider's authorization-code flow. The client id
// and secret are not part of a definition: they come from the operator's
// configuration.
type OAuth2 struct {
	AuthorizeURL string   `yaml:"authorize_url"`
	TokenURL     string   `yaml:"token_url"`
	Scopes       []string `yaml:"scopes"`
	// ScopeSeparator joins Scopes in the scope parameter; default " ".
	ScopeSeparator string `yaml:"scope_separator"`
	// PKCE asks for an S256 code_challenge on the authorize URL.
	PKCE bool `yaml:"pkce"`
	// ClientAuth is how the client id and secret reach the token
	// endpoint: "basic" (HTTP Basic, the default) or "post" (form body).
	ClientAuth string `yaml:"client_auth"`
	// ExtraParams are added to the authorize URL.
	ExtraParams map[string]string `yaml:"extra_params"`
}

// Scope returns the scope parameter: Scopes joined by ScopeSeparator.
func (o *OAuth2) Scope() string {
	return strings.Join(o.Scopes, o.ScopeSeparator)
}

// Field is one connect-form field.
type Field struct {
	Name     string `yaml:"name"`
	Label    string `yaml:"label"`
	Type     string `yaml:"type"` // one of the Field* constants; default string
	Required bool   `yaml:"required"`
	// Secret values are sealed at rest and never returned; a password
	// field is always secret.
	Secret  bool     `yaml:"secret"`
	Help    string   `yaml:"help"`
	Pattern string   `yaml:"pattern"` // Go RE2, unanchored unless it says ^…$
	Options []string `yaml:"options"` // set exactly when Type is select
	Default string   `yaml:"default"` // only on optional fields

	re   *regexp.Regexp
	part urlPart // where a URL uses the value, if it does
}

// Apply says how credentials go on every request to the API. Keys and
// values may hold placeholders, substituted as they are.
type Apply struct {
	Headers map[string]string `yaml:"headers"`
	Query   map[string]string `yaml:"query"`
	Basic   *Basic            `yaml:"basic"`
}

// Basic is HTTP Basic authentication.
type Basic struct {
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

// Check is the request that proves a connection's credentials work:
// Method on base_url + Path, or on the absolute URL (exactly one of the
// two is set). It succeeds when the status is one of ExpectStatus.
type Check struct {
	Method       string `yaml:"method"` // GET (the default), HEAD or POST
	Path         string `yaml:"path"`
	URL          string `yaml:"url"`
	ExpectStatus []int  `yaml:"expect_status"` // default [200]
}

// field returns the form field called name, or nil.
func (d *Definition) field(name string) *Field {
	return d.fields[name]
}

// Secret reports whether name is a secret form field, whose value must be
// sealed at rest and never returned. It is false for unknown names.
func (d *Definition) Secret(name string) bool {
	f := d.field(name)
	return f != nil && f.Secret
}
