package connectors

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// urlPart is where a placeholder sits in a URL, which decides how its
// value is checked and escaped.
type urlPart int

const (
	partRaw     urlPart = iota // not in a URL (headers, query, basic): as is
	partScheme                 // never holds a placeholder
	partURL                    // starts the URL: an absolute http(s) URL
	partHost                   // in the host: exactly one DNS label
	partSegment                // in the path: one path segment, escaped
	partPath                   // the whole of check.path: a path, "/" kept
	partQuery                  // in the query: query-escaped
)

// hostLabel is one DNS label: a value cannot add dots, a port, user info
// or a path, so it cannot move credentials to another host.
var hostLabel = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

func (p urlPart) escape(v string) (string, error) {
	if v == "" && p != partRaw && p != partQuery {
		return "", errors.New("is required")
	}
	switch p {
	case partURL:
		return baseValue(v)
	case partHost:
		if !hostLabel.MatchString(v) {
			return "", errors.New("must be a host name label such as acme: letters, digits and inner hyphens, no dots or slashes")
		}
		return v, nil
	case partSegment:
		return url.PathEscape(v), nil
	case partPath:
		return pathValue(v)
	case partQuery:
		return url.QueryEscape(v), nil
	}
	return v, nil
}

func (p urlPart) sample() string {
	switch p {
	case partURL:
		return "https://example.com"
	case partPath:
		return "/x"
	}
	return "x"
}

// baseValue checks a whole-URL value and drops its trailing slashes so
// the template's path can follow it.
func baseValue(v string) (string, error) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(u.Host, ":") {
		return "", errors.New("must be an absolute http or https URL without user info, query or fragment, such as https://api.example.com/v1")
	}
	return strings.TrimRight(v, "/"), nil
}

// pathValue checks a whole-path value and escapes each segment: "/" keeps
// its meaning, "?" and "#" do not, and dot segments are refused so the
// path cannot climb above the base URL.
func pathValue(v string) (string, error) {
	if !strings.HasPrefix(v, "/") {
		return "", errors.New("must be a path starting with /")
	}
	segs := strings.Split(v, "/")
	for i, s := range segs {
		if s == "." || s == ".." {
			return "", errors.New("must not contain . or .. segments")
		}
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/"), nil
}

// markURL assigns each placeholder of a URL template its part. An
// absolute template may start with a whole-URL placeholder followed only
// by a path; a relative one (check.path) starts with "/" or is a single
// placeholder, which then holds a whole path. Placeholders in the scheme
// and fragments are refused.
func (t template) markURL(absolute bool) error {
	state := partScheme
	switch {
	case !absolute && len(t) == 1 && t[0].name != "":
		t[0].part = partPath
		return nil
	case !absolute && (t[0].name != "" || !strings.HasPrefix(t[0].lit, "/")):
		return errors.New("must start with / or be a single {{placeholder}}")
	case !absolute:
		state = partSegment
	case t[0].name != "":
		t[0].part, state = partURL, partSegment
		if len(t) > 1 && !strings.HasPrefix(t[1].lit, "/") {
			return fmt.Errorf("{{%s}} holds a whole URL, so only a path starting with / may follow it", t[0].name)
		}
	}
	for i := range t {
		if t[i].part == partURL {
			continue
		}
		if t[i].name == "" {
			var err error
			if state, err = advance(state, t[i].lit); err != nil {
				return err
			}
			continue
		}
		if state == partScheme {
			return fmt.Errorf("{{%s}}: placeholders are not allowed in the URL scheme", t[i].name)
		}
		t[i].part = state
	}
	return nil
}

// advance moves through a literal from state to the URL part at its end.
func advance(state urlPart, lit string) (urlPart, error) {
	if state == partScheme {
		i := strings.Index(lit, "://")
		if i < 0 {
			return state, nil
		}
		state, lit = partHost, lit[i+3:]
	}
	for _, c := range lit {
		switch {
		case c == '#':
			return state, errors.New("must not have a fragment (#)")
		case c == '?':
			state = partQuery
		case c == '/' && state == partHost:
			state = partSegment
		}
	}
	return state, nil
}
