package connectors

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/tenantry/tenantry"
)

// A template is a string with {{name}} placeholders, parsed once at load.
// Outside URLs a value is substituted as it is; inside one, its part of
// the URL decides how it is checked and escaped (see urlPart).
type template []piece

type piece struct {
	lit  string  // literal text, when name is ""
	name string  // the placeholder's field
	part urlPart // where in a URL the placeholder sits
}

var placeholderName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// parseTemplate splits s into literals and placeholders. Every "{{" must
// open a placeholder with a valid name.
func parseTemplate(s string) (template, error) {
	var t template
	for s != "" {
		i := strings.Index(s, "{{")
		if i < 0 {
			return append(t, piece{lit: s}), nil
		}
		if i > 0 {
			t = append(t, piece{lit: s[:i]})
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("%q opens a placeholder that is never closed with }}", s[i:])
		}
		name := s[i+2 : i+j]
		if !placeholderName.MatchString(name) {
			return nil, fmt.Errorf("{{%s}} is not a placeholder: names are lower-case letters, digits and _, starting with a letter", name)
		}
		t = append(t, piece{name: name})
		s = s[i+j+2:]
	}
	return t, nil
}

// names returns the template's placeholder names in order.
func (t template) names() []string {
	var names []string
	for _, p := range t {
		if p.name != "" {
			names = append(names, p.name)
		}
	}
	return names
}

// expand substitutes values; an absent value is "". A value its part of
// the URL refuses is an EINVALID error naming the placeholder's field.
func (t template) expand(values map[string]string) (string, error) {
	var b strings.Builder
	for _, p := range t {
		if p.name == "" {
			b.WriteString(p.lit)
			continue
		}
		v, err := p.part.escape(values[p.name])
		if err != nil {
			return "", tenantry.Invalid(tenantry.FieldError{Field: p.name, Message: err.Error()})
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// sample expands the template with a harmless value for each part, so a
// definition's URLs can be checked before any real value exists.
func (t template) sample() string {
	var b strings.Builder
	for _, p := range t {
		b.WriteString(p.lit)
		if p.name != "" {
			b.WriteString(p.part.sample())
		}
	}
	return b.String()
}

// checkHeader refuses a header name or value net/http would refuse, so
// the caller learns which field is at fault rather than a transport error.
func checkHeader(name, value string) error {
	if name == "" || strings.IndexFunc(name, notTokenChar) >= 0 {
		return fmt.Errorf("header name %q is not a valid HTTP header name", name)
	}
	if strings.ContainsAny(value, "\r\n\x00") {
		return errors.New("header " + name + " would contain a line break or NUL")
	}
	return nil
}

// notTokenChar reports whether r may not appear in an HTTP token (RFC 9110).
func notTokenChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	}
	return !strings.ContainsRune("!#$%&'*+-.^_`|~", r)
}

// expand substitutes values into both sides of a header or parameter.
func (p pair) expand(values map[string]string) (key, value string, err error) {
	if key, err = p.key.expand(values); err != nil {
		return "", "", err
	}
	value, err = p.value.expand(values)
	return key, value, err
}

// header expands a header and checks the result, blaming the first field
// behind it.
func (p pair) header(values map[string]string) (string, string, error) {
	k, v, err := p.expand(values)
	if err != nil {
		return "", "", err
	}
	if err := checkHeader(k, v); err != nil {
		names := append(p.key.names(), p.value.names()...)
		if len(names) == 0 {
			return "", "", err
		}
		return "", "", tenantry.Invalid(tenantry.FieldError{Field: names[0], Message: err.Error()})
	}
	return k, v, nil
}
