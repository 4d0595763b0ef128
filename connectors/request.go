package connectors

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// ErrNoCheck is returned by CheckRequest for a definition without a check.
var ErrNoCheck = errors.New("connectors: the definition has no check")

// BaseURL expands base_url with values: the connection's form values
// merged, for oauth2, with its token fields. Each value is checked and
// escaped for its place (see docs/connectors.md); a value that does not
// fit, such as a host label holding a dot or a slash, is a
// tenantry.Invalid error naming the field. A secret_store definition has
// no base URL and returns an error.
func (d *Definition) BaseURL(values map[string]string) (string, error) {
	if d.base == nil {
		return "", fmt.Errorf("connectors: %s has no base_url", d.ID)
	}
	return d.base.expand(values)
}

// Authorize puts the connection's credentials on req as apply says:
// headers are set (replacing any of the same name), query parameters set
// (the query is re-encoded), Basic authentication set. Values are
// substituted as they are; one that would break a header is a
// tenantry.Invalid error naming the field.
//
// Credentials go only where the connector's API is: Authorize refuses a
// request whose scheme and host differ from those of BaseURL(values) and
// of an absolute check URL, so a link followed from a response (a next
// page on another host) cannot carry them away.
func (d *Definition) Authorize(req *http.Request, values map[string]string) error {
	if err := d.sameAPI(req.URL, values); err != nil {
		return err
	}
	for _, h := range d.headers {
		k, v, err := h.header(values)
		if err != nil {
			return err
		}
		req.Header.Set(k, v)
	}
	if len(d.query) > 0 {
		q := req.URL.Query()
		for _, p := range d.query {
			k, v, err := p.expand(values)
			if err != nil {
				return err
			}
			q.Set(k, v)
		}
		req.URL.RawQuery = q.Encode()
	}
	if d.basic != nil {
		user, err := d.basic[0].expand(values)
		if err != nil {
			return err
		}
		pass, err := d.basic[1].expand(values)
		if err != nil {
			return err
		}
		req.SetBasicAuth(user, pass)
	}
	return nil
}

// CheckRequest builds the credential check: check.method on base_url +
// check.path, or on check.url, with Accept: application/json and the
// credentials applied. Errors are those of BaseURL and Authorize, and
// ErrNoCheck when the definition has no check.
func (d *Definition) CheckRequest(ctx context.Context, values map[string]string) (*http.Request, error) {
	if d.Check == nil {
		return nil, ErrNoCheck
	}
	u, err := d.checkURL(values)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, d.Check.Method, u, nil)
	if err != nil {
		return nil, fmt.Errorf("connectors: %s: build check request: %w", d.ID, err)
	}
	req.Header.Set("Accept", "application/json")
	if err := d.Authorize(req, values); err != nil {
		return nil, err
	}
	return req, nil
}

func (d *Definition) checkURL(values map[string]string) (string, error) {
	path, err := d.check.expand(values)
	if err != nil || d.Check.URL != "" {
		return path, err
	}
	base, err := d.BaseURL(values)
	if err != nil {
		return "", err
	}
	return base + path, nil
}

// sameAPI refuses a URL outside the connector's API.
func (d *Definition) sameAPI(u *url.URL, values map[string]string) error {
	base, err := d.BaseURL(values)
	if err != nil {
		return err
	}
	allowed := []string{base}
	if d.Check != nil && d.Check.URL != "" {
		if check, err := d.check.expand(values); err == nil {
			allowed = append(allowed, check)
		}
	}
	for _, a := range allowed {
		if au, err := url.Parse(a); err == nil && au.Scheme == u.Scheme && strings.EqualFold(au.Host, u.Host) {
			return nil
		}
	}
	return fmt.Errorf("connectors: %s: refusing to send credentials to %s://%s, which is not the connector's API", d.ID, u.Scheme, u.Host)
}
