package fetch

import (
	"net/http"
	"strings"
)

// nextLink returns the target of the first rel="next" link in h's Link
// headers (RFC 8288), or "" when there is none. rel may be quoted or
// not, and may hold several relation types ("next last").
func nextLink(h http.Header) string {
	for _, v := range h.Values("Link") {
		for {
			v = strings.TrimLeft(v, " \t,")
			end := strings.IndexByte(v, '>')
			if !strings.HasPrefix(v, "<") || end < 0 {
				break
			}
			target := v[1:end]
			params, rest := linkParams(v[end+1:])
			if isNext(params) {
				return target
			}
			v = rest
		}
	}
	return ""
}

// linkParams splits the ";"-separated parameters of one link-value off
// s, stopping at the "," that starts the next link-value; separators
// inside quoted strings do not count.
func linkParams(s string) (params []string, rest string) {
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			quoted = !quoted
		case c == '\\' && quoted:
			i++
		case c == ';' && !quoted:
			params = append(params, s[start:i])
			start = i + 1
		case c == ',' && !quoted:
			return append(params, s[start:i]), s[i+1:]
		}
	}
	return append(params, s[start:]), ""
}

// isNext reports whether the parameters hold rel with "next" among its
// relation types.
func isNext(params []string) bool {
	for _, p := range params {
		name, value, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "rel") {
			continue
		}
		for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(value), `"`)) {
			if strings.EqualFold(rel, "next") {
				return true
			}
		}
	}
	return false
}
