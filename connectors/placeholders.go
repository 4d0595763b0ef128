package connectors

import (
	"slices"
	"strings"
)

// placeholders checks that every placeholder names a form field or, in
// an oauth2 connector, a token field.
func (l *linter) placeholders(path string, t template) {
	for _, name := range t.names() {
		if l.d.field(name) != nil || l.token(name) {
			continue
		}
		if l.d.Auth.Type == AuthOAuth2 {
			l.add(path, "{{%s}} is neither a form field nor a token field (%s)", name, strings.Join(tokenFields, ", "))
		} else {
			l.add(path, "{{%s}} is not a form field", name)
		}
	}
}

func (l *linter) token(name string) bool {
	return l.d.Auth.Type == AuthOAuth2 && slices.Contains(tokenFields, name)
}

// placement checks that a URL placeholder can hold what its place needs:
// a whole URL comes from a url field or instance_url; a host label comes
// from a form field that is not a URL.
func (l *linter) placement(path string, p piece) {
	f := l.d.field(p.name)
	if f == nil && !l.token(p.name) {
		return // reported by placeholders
	}
	if f != nil && (p.part == partURL || p.part == partHost || p.part == partPath) {
		f.part = p.part // so Validate refuses what BaseURL would
	}
	switch {
	case p.part == partURL && !(p.name == TokenInstanceURL && l.token(p.name)) && (f == nil || f.Type != FieldURL):
		l.add(path, "{{%s}} starts the URL, so it must be a url form field or instance_url", p.name)
	case p.part == partHost && (f == nil || f.Type == FieldURL):
		l.add(path, "{{%s}} is in the host, so it must be a form field holding one host name label", p.name)
	}
}
