package fetch

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/tenantry/tenantry/connectors"
)

// pageURL returns the URL of the page at checkpoint.
func (f *Fetcher) pageURL(checkpoint, since string) (*url.URL, error) {
	p := f.stream.Pagination
	if p.Type == connectors.PageLink && checkpoint != "" {
		return f.linkURL(checkpoint)
	}
	u, err := f.def.StreamURL(f.stream.Name, f.values)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	if p.LimitParam != "" {
		q.Set(p.LimitParam, strconv.Itoa(p.PageSize))
	}
	if inc := f.stream.Incremental; inc != nil && since != "" {
		q.Set(inc.Param, since)
	}
	switch {
	case checkpoint == "":
	case p.Type == connectors.PageCursor:
		q.Set(p.CursorParam, checkpoint)
	case p.Type == connectors.PageNumber || p.Type == connectors.PageOffset:
		if n, err := strconv.Atoi(checkpoint); err != nil || n < 0 {
			return nil, f.invalid("checkpoint %q is not a page number or offset", checkpoint)
		}
		param := p.PageParam
		if p.Type == connectors.PageOffset {
			param = p.OffsetParam
		}
		q.Set(param, checkpoint)
	default:
		return nil, f.invalid("a stream without pagination has no checkpoint, not %q", checkpoint)
	}
	u.RawQuery = q.Encode()
	return u, nil
}

// linkURL checks a next link (from a Link header, or from a checkpoint
// that held one): it must be an absolute URL on base_url's scheme and
// host, so that credentials never follow a link elsewhere.
func (f *Fetcher) linkURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() {
		return nil, f.invalid("the next link %q is not an absolute URL", s)
	}
	if u.Scheme != f.base.Scheme || !strings.EqualFold(u.Host, f.base.Host) {
		return nil, f.invalid("refusing to follow the next link to %s://%s: it is not the connector's API (%s)", u.Scheme, u.Host, f.base.Host)
	}
	return u, nil
}

// withoutCredentials returns u without the query parameters apply.query
// sets, so a next link kept as a checkpoint holds no secret; Authorize
// sets them again. (A parameter whose name is itself a placeholder is not
// recognised; no shipped connector has one.)
func (f *Fetcher) withoutCredentials(u *url.URL) string {
	if len(f.def.Apply.Query) == 0 {
		return u.String()
	}
	q := u.Query()
	for k := range f.def.Apply.Query {
		q.Del(k)
	}
	c := *u
	c.RawQuery = q.Encode()
	return c.String()
}
