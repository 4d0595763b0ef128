package connectors

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/tenantry/tenantry"
)

// Pagination types: how a stream's next page is found.
const (
	PageNone   = "none"   // one request returns everything
	PageCursor = "cursor" // a cursor from the body (or the last record) goes back as a parameter
	PageLink   = "link"   // the next page's URL is in the Link header (RFC 8288, rel="next")
	PageNumber = "page"   // a page number parameter, counted from 1
	PageOffset = "offset" // an offset parameter: how many records to skip
)

// Where a cursor pagination's next cursor comes from.
const (
	CursorFromBody       = "body"        // the value at Pagination.NextCursor
	CursorFromLastRecord = "last_record" // the Pagination.CursorField of the page's last record
)

// MinSchedule is the shortest Stream.Schedule, in seconds.
const MinSchedule = 60

// Stream is one collection of records a connector can sync, such as
// HubSpot contacts. Field paths are RFC 6901 JSON pointers into a
// response body ("" is the body itself). Streams of a Definition from a
// Catalog have passed validation and must not be modified.
type Stream struct {
	// Name is unique in the definition: [a-z][a-z0-9_]{0,49}.
	Name string `yaml:"name"`
	// Path is below base_url, with placeholders as check.path has them.
	Path string `yaml:"path"`
	// Params are query parameters added to every request of the stream
	// except link-pagination next pages, which are followed as given.
	Params map[string]string `yaml:"params"`
	// Records points to the array of records in the response body.
	Records string `yaml:"records"`
	// PrimaryKey is the top-level record field that identifies a record.
	PrimaryKey  string       `yaml:"primary_key"`
	Pagination  Pagination   `yaml:"pagination"`
	Incremental *Incremental `yaml:"incremental"`
	// Schedule is how often the stream should be synced, in seconds; 0
	// when the definition does not say.
	Schedule int `yaml:"schedule"`

	path template
}

// Pagination says how to walk a stream's pages. Which fields are set
// depends on Type; the others are empty.
type Pagination struct {
	Type string `yaml:"type"` // one of the Page* constants
	// cursor: the parameter the cursor goes in, and where it comes from.
	CursorParam string `yaml:"cursor_param"`
	CursorFrom  string `yaml:"cursor_from"` // a CursorFrom* constant; default body
	NextCursor  string `yaml:"next_cursor"` // pointer, with cursor_from body
	CursorField string `yaml:"cursor_field"`
	// HasMore (cursor, optional) points to a boolean; false ends the stream.
	HasMore string `yaml:"has_more"`
	// page: the page-number parameter and, optionally, the page count.
	PageParam  string `yaml:"page_param"`
	TotalPages string `yaml:"total_pages"`
	// offset: the offset parameter and, optionally, the record count.
	OffsetParam string `yaml:"offset_param"`
	Total       string `yaml:"total"`
	// LimitParam carries PageSize on every request; both or neither.
	LimitParam string `yaml:"limit_param"`
	PageSize   int    `yaml:"page_size"`
}

// Incremental lets a sync ask only for records changed since the last
// one: the largest CursorField value seen goes in Param next time.
type Incremental struct {
	CursorField string `yaml:"cursor_field"`
	Param       string `yaml:"param"`
}

// Stream returns the stream called name.
func (d *Definition) Stream(name string) (*Stream, bool) {
	i := slices.IndexFunc(d.Streams, func(s Stream) bool { return s.Name == name })
	if i < 0 {
		return nil, false
	}
	return &d.Streams[i], true
}

// StreamURL returns the URL of the first page of the stream called name:
// base_url, the stream's path and its params, expanded with values as
// BaseURL does. Errors are those of BaseURL, and ENOTFOUND for an
// unknown stream.
func (d *Definition) StreamURL(name string, values map[string]string) (*url.URL, error) {
	s, ok := d.Stream(name)
	if !ok {
		return nil, tenantry.Errorf(tenantry.ENOTFOUND, "connector %s has no stream %q", d.ID, name)
	}
	base, err := d.BaseURL(values)
	if err != nil {
		return nil, err
	}
	path, err := s.path.expand(values)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(base + path)
	if err != nil {
		return nil, fmt.Errorf("connectors: %s: stream %s: parse URL: %w", d.ID, name, err)
	}
	if len(s.Params) > 0 {
		q := u.Query()
		for k, v := range s.Params {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
	}
	return u, nil
}

// validPointer reports whether p is an RFC 6901 JSON pointer: "" or
// "/"-separated tokens in which "~" only starts "~0" or "~1".
func validPointer(p string) bool {
	if p != "" && !strings.HasPrefix(p, "/") {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '~' && (i+1 == len(p) || (p[i+1] != '0' && p[i+1] != '1')) {
			return false
		}
	}
	return true
}
