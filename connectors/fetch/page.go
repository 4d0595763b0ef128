package fetch

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tenantry/tenantry/connectors"
)

// decode reads a JSON body, numbers as json.Number.
func decode(r io.Reader) (any, error) {
	dec := json.NewDecoder(io.LimitReader(r, MaxBodyBytes))
	dec.UseNumber()
	var body any
	if err := dec.Decode(&body); err != nil {
		return nil, err
	}
	return body, nil
}

// page builds the Page of a decoded body fetched from u.
func (f *Fetcher) page(u *url.URL, checkpoint string, h http.Header, body any) (*Page, error) {
	recs, err := f.records(body)
	if err != nil {
		return nil, err
	}
	p := &Page{Records: recs, MaxCursor: f.maxCursor(recs)}
	next, err := f.next(u, checkpoint, h, body, recs)
	if err != nil {
		return nil, err
	}
	if next == "" {
		p.Done = true
		return p, nil
	}
	if next == checkpoint {
		return nil, f.invalid("the provider returned the same page position %q again", next)
	}
	p.Checkpoint = next
	return p, nil
}

// records finds the records array and checks each record.
func (f *Fetcher) records(body any) ([]map[string]any, error) {
	s := f.stream
	v, found := lookup(body, s.Records)
	arr, ok := v.([]any)
	if !found || (!ok && v != nil) { // null is an empty page (Pipedrive)
		return nil, f.invalid("the response has no array of records at %q", s.Records)
	}
	recs := make([]map[string]any, len(arr))
	for i, r := range arr {
		m, ok := r.(map[string]any)
		if !ok {
			return nil, f.invalid("record %d is not a JSON object", i)
		}
		if m[s.PrimaryKey] == nil {
			return nil, f.invalid("record %d has no primary key %q", i, s.PrimaryKey)
		}
		recs[i] = m
	}
	return recs, nil
}

// maxCursor returns the largest incremental cursor value among recs.
func (f *Fetcher) maxCursor(recs []map[string]any) string {
	inc := f.stream.Incremental
	if inc == nil {
		return ""
	}
	var max string
	for _, r := range recs {
		if v, ok := scalar(r[inc.CursorField]); ok {
			max = LaterCursor(max, v)
		}
	}
	return max
}

// next returns the checkpoint of the page after this one, "" when this
// is the last page.
func (f *Fetcher) next(u *url.URL, checkpoint string, h http.Header, body any, recs []map[string]any) (string, error) {
	p := f.stream.Pagination
	switch p.Type {
	case connectors.PageCursor:
		return f.nextCursor(body, recs)
	case connectors.PageLink:
		return f.nextLink(u, h)
	case connectors.PageNumber:
		n := atoi(checkpoint, 1)
		if len(recs) == 0 || f.short(recs) || f.reached(body, p.TotalPages, n) {
			return "", nil
		}
		return strconv.Itoa(n + 1), nil
	case connectors.PageOffset:
		n := atoi(checkpoint, 0) + len(recs)
		if len(recs) == 0 || f.short(recs) || f.reached(body, p.Total, n) {
			return "", nil
		}
		return strconv.Itoa(n), nil
	}
	return "", nil
}

func (f *Fetcher) nextCursor(body any, recs []map[string]any) (string, error) {
	p := f.stream.Pagination
	if len(recs) == 0 {
		return "", nil
	}
	if p.HasMore != "" {
		if more, _ := lookup(body, p.HasMore); more == false {
			return "", nil
		}
	}
	if p.CursorFrom == connectors.CursorFromLastRecord {
		c, ok := scalar(recs[len(recs)-1][p.CursorField])
		if !ok || c == "" {
			return "", f.invalid("the last record has no cursor field %q", p.CursorField)
		}
		return c, nil
	}
	v, _ := lookup(body, p.NextCursor)
	c, _ := scalar(v) // absent or null: the last page
	return c, nil
}

func (f *Fetcher) nextLink(u *url.URL, h http.Header) (string, error) {
	target := nextLink(h)
	if target == "" {
		return "", nil
	}
	ref, err := url.Parse(target)
	if err != nil {
		return "", f.invalid("the next link %q is not a URL", target)
	}
	next, err := f.linkURL(u.ResolveReference(ref).String())
	if err != nil {
		return "", err
	}
	return f.withoutCredentials(next), nil
}

// short reports a page with fewer records than asked for: the last.
func (f *Fetcher) short(recs []map[string]any) bool {
	size := f.stream.Pagination.PageSize
	return size > 0 && len(recs) < size
}

// reached reports whether n has reached the count at ptr, if the
// definition names one and the body has it.
func (f *Fetcher) reached(body any, ptr string, n int) bool {
	if ptr == "" {
		return false
	}
	v, _ := lookup(body, ptr)
	s, _ := scalar(v)
	total, err := strconv.Atoi(s)
	return err == nil && n >= total
}

// atoi reads a checkpoint pageURL has already checked; "" is def.
func atoi(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}

// cursorLess orders incremental cursor values for LaterCursor.
func cursorLess(a, b string) bool {
	switch {
	case a == "" || b == "":
		return a == "" && b != ""
	}
	if x, err := strconv.ParseFloat(a, 64); err == nil {
		if y, err := strconv.ParseFloat(b, 64); err == nil {
			return x < y
		}
	}
	if x, err := time.Parse(time.RFC3339Nano, a); err == nil {
		if y, err := time.Parse(time.RFC3339Nano, b); err == nil {
			return x.Before(y)
		}
	}
	return a < b
}
