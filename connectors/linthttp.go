package connectors

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
)

var checkMethods = []string{"GET", "HEAD", "POST"}

// pair is one header or query parameter of apply, both sides templates.
type pair struct{ key, value template }

// noHTTP refuses what a secret_store connector has no use for.
func (l *linter) noHTTP() {
	d := l.d
	if d.BaseURLTemplate != "" || d.Check != nil || len(d.Apply.Headers)+len(d.Apply.Query) > 0 || d.Apply.Basic != nil {
		l.add("", "a secret_store connector has no base_url, apply or check")
	}
}

func (l *linter) http() {
	d := l.d
	if d.BaseURLTemplate == "" {
		l.add("base_url", "is required")
	} else if strings.Contains(d.BaseURLTemplate, "?") {
		l.add("base_url", "must not have a query: put credentials in apply.query")
	} else {
		d.base = l.url("base_url", d.BaseURLTemplate, true)
	}
	l.apply()
	if d.Check != nil {
		l.check(d.Check)
	}
}

func (l *linter) apply() {
	a := &l.d.Apply
	if len(a.Headers)+len(a.Query) == 0 && a.Basic == nil {
		if l.d.Auth.Type != AuthNone {
			l.add("apply", "is required: say how credentials go on each request")
		}
		return
	}
	if l.d.Auth.Type == AuthBasic && a.Basic == nil {
		l.add("apply.basic", "is required when auth.type is basic")
	}
	l.d.headers = l.pairs("apply.headers", a.Headers, true)
	l.d.query = l.pairs("apply.query", a.Query, false)
	if b := a.Basic; b != nil {
		if b.Username == "" {
			l.add("apply.basic.username", "is required")
		}
		l.d.basic = &[2]template{l.text("apply.basic.username", b.Username), l.text("apply.basic.password", b.Password)}
	}
}

func (l *linter) pairs(path string, m map[string]string, header bool) []pair {
	var out []pair
	for _, k := range slices.Sorted(maps.Keys(m)) {
		p := path + "." + k
		if header && !strings.Contains(k, "{{") {
			if err := checkHeader(k, m[k]); err != nil {
				l.add(p, "%s", err)
			}
		}
		if k == "" {
			l.add(path, "has an empty key")
		}
		out = append(out, pair{key: l.text(p, k), value: l.text(p, m[k])})
	}
	return out
}

func (l *linter) check(c *Check) {
	if c.Method == "" {
		c.Method = "GET"
	}
	if !slices.Contains(checkMethods, c.Method) {
		l.add("check.method", "%q is not one of %s", c.Method, strings.Join(checkMethods, "|"))
	}
	switch {
	case (c.Path == "") == (c.URL == ""):
		l.add("check", "needs exactly one of path (relative to base_url) and url (absolute)")
	case c.Path != "":
		l.d.check = l.url("check.path", c.Path, false)
	default:
		l.d.check = l.url("check.url", c.URL, true)
	}
	if len(c.ExpectStatus) == 0 {
		c.ExpectStatus = []int{200}
	}
	for i, s := range c.ExpectStatus {
		if s < 100 || s > 599 {
			l.add(fmt.Sprintf("check.expect_status[%d]", i), "%d is not an HTTP status", s)
		}
	}
}

// text parses a template used outside URLs.
func (l *linter) text(path, s string) template {
	t, err := parseTemplate(s)
	if err != nil {
		l.add(path, "%s", err)
		return nil
	}
	l.placeholders(path, t)
	return t
}

// url parses a URL template and proves it yields a usable URL.
func (l *linter) url(path, s string, absolute bool) template {
	t := l.text(path, s)
	if t == nil {
		return nil
	}
	if err := t.markURL(absolute); err != nil {
		l.add(path, "%s", err)
		return nil
	}
	u, err := url.Parse(t.sample())
	switch {
	case err != nil:
		l.add(path, "%q is not a URL: %s", s, err)
	case absolute && ((u.Scheme != "http" && u.Scheme != "https") || u.Host == ""):
		l.add(path, "%q must be an absolute http or https URL", s)
	}
	for _, p := range t {
		l.placement(path, p)
	}
	return t
}
