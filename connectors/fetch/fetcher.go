package fetch

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connectors"
	"github.com/tenantry/tenantry/connectors/egress"
)

// MaxBodyBytes is the largest response body read for one page; a longer
// one fails to decode.
const MaxBodyBytes = 64 << 20

// Doer sends one request. *egress.Client is the production Doer: it
// retries 429 and 5xx, honouring Retry-After, before Next sees them.
type Doer interface {
	Do(ctx context.Context, req *http.Request) (*http.Response, error)
}

var _ Doer = (*egress.Client)(nil)

// Config is what a Fetcher reads one stream of one connection with.
type Config struct {
	Definition *connectors.Definition // from a Catalog; required
	Stream     string                 // the stream's name; required
	// Values are the connection's form values merged, for oauth2, with
	// its token fields (access_token, …). The Fetcher keeps a copy.
	Values map[string]string
	Doer   Doer // required
	// Refresh, optional, returns a new access token for staleToken (the
	// access_token the provider refused). Next calls it at most once per
	// page, when the provider answers 401, then retries the request once
	// with the new token, which later pages use too. Without Refresh a
	// 401 is an EUNAUTHORIZED error.
	Refresh func(ctx context.Context, staleToken string) (newToken string, err error)
}

// Fetcher reads the pages of one stream of one connection. It is not
// safe for concurrent use (pages are read one after another anyway, each
// from the previous one's checkpoint); it holds no state between pages
// but the connection's values.
type Fetcher struct {
	def     *connectors.Definition
	stream  *connectors.Stream
	values  map[string]string
	doer    Doer
	refresh func(context.Context, string) (string, error)
	base    *url.URL // base_url expanded: link pages must stay on its host
}

// Page is one page of a stream.
type Page struct {
	// Records are the page's records in the provider's order, decoded
	// with json.Decoder.UseNumber (numbers are json.Number). Each has
	// the stream's primary key.
	Records []map[string]any
	// Checkpoint is where the next page starts: pass it to Next. It is
	// opaque, holds no credentials, and is "" when Done.
	Checkpoint string
	// MaxCursor is the largest incremental cursor value on this page
	// ("" for a stream without incremental, or when no record has one).
	// Keep the largest across a sync's pages with LaterCursor, and pass
	// it as since once the sync has committed everything.
	MaxCursor string
	// Done reports that this is the stream's last page.
	Done bool
}

// New returns a Fetcher for cfg. It returns ENOTFOUND for a stream the
// definition does not have, EINVALID when cfg lacks a required field or
// the values cannot make the stream's URL (naming the field at fault).
func New(cfg Config) (*Fetcher, error) {
	if cfg.Definition == nil || cfg.Doer == nil {
		return nil, tenantry.Errorf(tenantry.EINVALID, "fetch: Definition and Doer are required")
	}
	s, ok := cfg.Definition.Stream(cfg.Stream)
	if !ok {
		return nil, tenantry.Errorf(tenantry.ENOTFOUND, "connector %s has no stream %q", cfg.Definition.ID, cfg.Stream)
	}
	f := &Fetcher{def: cfg.Definition, stream: s, values: maps.Clone(cfg.Values), doer: cfg.Doer, refresh: cfg.Refresh}
	base, err := f.def.BaseURL(f.values)
	if err != nil {
		return nil, err
	}
	if f.base, err = url.Parse(base); err != nil {
		return nil, fmt.Errorf("fetch: %s: parse base URL: %w", f.def.ID, err)
	}
	if _, err := f.def.StreamURL(s.Name, f.values); err != nil {
		return nil, err
	}
	return f, nil
}

// Next fetches the page that starts at checkpoint ("" for the first
// page). since is the incremental cursor of the last successful sync
// ("" for a full sync); it goes in the stream's incremental param, is
// ignored for a stream without incremental, and must be the same on
// every page of one sync.
//
// Errors, all naming the stream:
//   - EINVALID, permanent: a 4xx other than 401 and 429; a body that does
//     not hold the records array where the definition says; a record that
//     is not an object or lacks the primary key; a bad checkpoint; a next
//     link to another host (credentials never follow it); a provider
//     handing back the cursor it was given.
//   - EUNAUTHORIZED: 401, after Refresh if there is one.
//   - *RateLimitError (EUNAVAILABLE): 429 after the Doer's retries.
//   - anything else (5xx after retries, transport errors, a body that is
//     not JSON) is wrapped and worth retrying; a refused private address
//     keeps the Doer's EFORBIDDEN.
func (f *Fetcher) Next(ctx context.Context, checkpoint, since string) (*Page, error) {
	u, err := f.pageURL(checkpoint, since)
	if err != nil {
		return nil, err
	}
	resp, err := f.send(ctx, u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := f.statusError(resp); err != nil {
		return nil, err
	}
	body, err := decode(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("fetch: %s: stream %s: decode body: %w", f.def.ID, f.stream.Name, err)
	}
	return f.page(u, checkpoint, resp.Header, body)
}

// send sends a GET for u with the credentials applied and, on a 401,
// refreshes the access token once and sends it again.
func (f *Fetcher) send(ctx context.Context, u *url.URL) (*http.Response, error) {
	resp, err := f.do(ctx, u)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || f.refresh == nil {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	token, err := f.refresh(ctx, f.values[connectors.TokenAccessToken])
	if err != nil {
		return nil, fmt.Errorf("fetch: %s: refresh the access token: %w", f.def.ID, err)
	}
	f.values[connectors.TokenAccessToken] = token
	return f.do(ctx, u)
}

func (f *Fetcher) do(ctx context.Context, u *url.URL) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("fetch: %s: build request: %w", f.def.ID, err)
	}
	req.Header.Set("Accept", "application/json")
	if err := f.def.Authorize(req, f.values); err != nil {
		return nil, err
	}
	resp, err := f.doer.Do(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("fetch: %s: stream %s: %w", f.def.ID, f.stream.Name, err)
	}
	return resp, nil
}

// LaterCursor returns the later of two incremental cursor values: by
// number when both are numbers, by time when both are RFC 3339
// timestamps, else by string. "" is earlier than anything.
func LaterCursor(a, b string) string {
	if cursorLess(a, b) {
		return b
	}
	return a
}
