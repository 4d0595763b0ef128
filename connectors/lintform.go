package connectors

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

var (
	fieldTypes = []string{FieldString, FieldPassword, FieldURL, FieldNumber, FieldSelect, FieldTextarea}
	fieldName  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	// reservedFields are the other keys of a POST /api/servers body.
	reservedFields = []string{"name", "servertype_id"}
	tokenFields    = []string{TokenAccessToken, TokenRefreshToken, TokenInstanceURL}
)

// form checks the connect form and indexes it by name.
func (l *linter) form() {
	d := l.d
	d.fields = make(map[string]*Field, len(d.Form))
	if d.Auth.Type == AuthSecretStore && len(d.Form) == 0 {
		l.add("form", "is required when auth.type is secret_store: it holds the secrets")
	}
	seen := make(map[string]int, len(d.Form))
	for i := range d.Form {
		f, path := &d.Form[i], fmt.Sprintf("form[%d]", i)
		l.fieldName(path, f.Name)
		if prev, dup := seen[f.Name]; dup {
			l.add(path+".name", "%q is already the name of form[%d]", f.Name, prev)
		} else {
			seen[f.Name], d.fields[f.Name] = i, f
		}
		l.field(path, f)
	}
}

func (l *linter) fieldName(path, name string) {
	switch {
	case !fieldName.MatchString(name):
		l.add(path+".name", "%q must be a lower-case letter then up to 63 lower-case letters, digits or _", name)
	case slices.Contains(reservedFields, name):
		l.add(path+".name", "%q is reserved: it is another key of the POST /api/servers body", name)
	case l.d.Auth.Type == AuthOAuth2 && slices.Contains(tokenFields, name):
		l.add(path+".name", "%q is reserved for the OAuth2 token in an oauth2 connector", name)
	}
}

func (l *linter) field(path string, f *Field) {
	if strings.TrimSpace(f.Label) == "" {
		l.add(path+".label", "is required")
	}
	if f.Type == "" {
		f.Type = FieldString
	}
	if !slices.Contains(fieldTypes, f.Type) {
		l.add(path+".type", "%q is not one of %s", f.Type, strings.Join(fieldTypes, "|"))
	}
	f.Secret = f.Secret || f.Type == FieldPassword
	l.options(path, f)
	if f.Pattern != "" {
		re, err := regexp.Compile(f.Pattern)
		if err != nil {
			l.add(path+".pattern", "%s", err)
		}
		f.re = re
	}
	if f.Default != "" && f.Required {
		l.add(path+".default", "a required field cannot have a default: make it optional")
	}
}

// defaults checks every default as a submitted value, once the URLs have
// said where each field goes.
func (l *linter) defaults() {
	for i, f := range l.d.Form {
		if f.Default == "" || f.Required || (f.Pattern != "" && f.re == nil) {
			continue
		}
		if msg := f.check(f.Default); msg != "" {
			l.add(fmt.Sprintf("form[%d].default", i), "%q %s", f.Default, msg)
		}
	}
}

func (l *linter) options(path string, f *Field) {
	switch {
	case f.Type == FieldSelect && len(f.Options) == 0:
		l.add(path+".options", "is required when type is select")
	case f.Type != FieldSelect && len(f.Options) > 0:
		l.add(path+".options", "is only allowed when type is select")
	}
	for i, o := range f.Options {
		if o == "" || slices.Index(f.Options, o) < i {
			l.add(fmt.Sprintf("%s.options[%d]", path, i), "%q must be non-empty and unique", o)
		}
	}
}
