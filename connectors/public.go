package connectors

import "slices"

// PublicDefinition is what GET /api/servertypes shows of a connector:
// enough to draw its connect form, and nothing about how tenantry talks
// to the provider.
type PublicDefinition struct {
	ID          string        `json:"id"`
	Name        string        `json:"name"`
	Description string        `json:"description"`
	DocsURL     string        `json:"docs_url"`
	AuthType    string        `json:"auth_type"`
	Form        []PublicField `json:"form"`
	OAuth2      *PublicOAuth2 `json:"oauth2,omitempty"`
}

// PublicField is one field of a connect form.
type PublicField struct {
	Name     string   `json:"name"`
	Label    string   `json:"label"`
	Type     string   `json:"type"`
	Required bool     `json:"required"`
	Secret   bool     `json:"secret"`
	Help     string   `json:"help,omitempty"`
	Pattern  string   `json:"pattern,omitempty"`
	Options  []string `json:"options,omitempty"`
	Default  string   `json:"default,omitempty"`
}

// PublicOAuth2 tells the end-customer what an OAuth2 connection asks for.
type PublicOAuth2 struct {
	Scopes []string `json:"scopes"`
}

// Public returns the connector's public view, a copy the caller may
// modify. Form is never nil, so it encodes as [].
func (d *Definition) Public() PublicDefinition {
	p := PublicDefinition{ID: d.ID, Name: d.Name, Description: d.Description, DocsURL: d.DocsURL,
		AuthType: d.Auth.Type, Form: make([]PublicField, len(d.Form))}
	for i, f := range d.Form {
		p.Form[i] = PublicField{Name: f.Name, Label: f.Label, Type: f.Type, Required: f.Required,
			Secret: f.Secret, Help: f.Help, Pattern: f.Pattern, Options: slices.Clone(f.Options), Default: f.Default}
	}
	if o := d.Auth.OAuth2; o != nil {
		p.OAuth2 = &PublicOAuth2{Scopes: append([]string{}, o.Scopes...)}
	}
	return p
}
