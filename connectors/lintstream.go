package connectors

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

var (
	streamName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,49}$`)
	pageTypes  = []string{PageNone, PageCursor, PageLink, PageNumber, PageOffset}
	// pageKeys are the keys each pagination type requires and allows,
	// besides type, limit_param and page_size.
	pageKeys = map[string]struct{ required, optional []string }{
		PageNone:   {},
		PageLink:   {},
		PageCursor: {[]string{"cursor_param"}, []string{"cursor_from", "next_cursor", "cursor_field", "has_more"}},
		PageNumber: {[]string{"page_param"}, []string{"total_pages"}},
		PageOffset: {[]string{"offset_param"}, []string{"total"}},
	}
	pointerKeys = []string{"next_cursor", "has_more", "total_pages", "total"}
)

// streams checks every stream and compiles its path.
func (l *linter) streams() {
	if len(l.d.Streams) > 0 && l.d.Auth.Type == AuthSecretStore {
		l.add("streams", "a secret_store connector has no API to sync from")
		return
	}
	seen := map[string]int{}
	for i := range l.d.Streams {
		s, path := &l.d.Streams[i], fmt.Sprintf("streams[%d]", i)
		switch prev, dup := seen[s.Name]; {
		case !streamName.MatchString(s.Name):
			l.add(path+".name", "%q must be a lower-case letter then up to 62 lower-case letters, digits or _", s.Name)
		case dup:
			l.add(path+".name", "%q is already the name of streams[%d]", s.Name, prev)
		default:
			seen[s.Name] = i
		}
		l.stream(path, s)
	}
}

func (l *linter) stream(path string, s *Stream) {
	if s.Path == "" {
		l.add(path+".path", "is required")
	} else {
		s.path = l.url(path+".path", s.Path, false)
	}
	if !validPointer(s.Records) {
		l.add(path+".records", "%q must be a JSON pointer: \"\" (the body) or starting with /", s.Records)
	}
	if strings.TrimSpace(s.PrimaryKey) == "" {
		l.add(path+".primary_key", "is required: the record field that identifies a record")
	}
	if s.Schedule != 0 && s.Schedule < MinSchedule {
		l.add(path+".schedule", "%d must be at least %d seconds", s.Schedule, MinSchedule)
	}
	l.pagination(path+".pagination", &s.Pagination)
	if inc := s.Incremental; inc != nil {
		if inc.CursorField == "" {
			l.add(path+".incremental.cursor_field", "is required: the record field that grows with each change, such as updated_at")
		}
		if inc.Param == "" {
			l.add(path+".incremental.param", "is required: the request parameter that takes the last sync's cursor")
		}
	}
	l.params(path, s)
}

func (l *linter) pagination(path string, p *Pagination) {
	if p.Type == "" {
		p.Type = PageNone
	}
	keys, ok := pageKeys[p.Type]
	if !ok {
		l.add(path+".type", "%q is not one of %s", p.Type, strings.Join(pageTypes, "|"))
		return
	}
	set := p.keys()
	for _, k := range slices.Sorted(maps.Keys(set)) {
		switch {
		case slices.Contains(keys.required, k), slices.Contains(keys.optional, k):
		case set[k] != "":
			l.add(path+"."+k, "is not used by pagination type %s", p.Type)
		}
	}
	for _, k := range keys.required {
		if set[k] == "" {
			l.add(path+"."+k, "is required when type is %s", p.Type)
		}
	}
	for _, k := range pointerKeys {
		if v := set[k]; v != "" && !validPointer(v) {
			l.add(path+"."+k, "%q must be a JSON pointer starting with /", v)
		}
	}
	if p.Type == PageCursor {
		l.cursor(path, p)
	}
	switch {
	case p.PageSize < 0 || p.PageSize > 10000:
		l.add(path+".page_size", "%d must be between 1 and 10000", p.PageSize)
	case (p.LimitParam == "") != (p.PageSize == 0):
		l.add(path, "limit_param and page_size go together: set both or neither")
	}
}

// cursor checks where a cursor pagination's next cursor comes from.
func (l *linter) cursor(path string, p *Pagination) {
	if p.CursorFrom == "" {
		p.CursorFrom = CursorFromBody
	}
	switch p.CursorFrom {
	case CursorFromBody:
		if p.NextCursor == "" {
			l.add(path+".next_cursor", "is required when cursor_from is body")
		}
		if p.CursorField != "" {
			l.add(path+".cursor_field", "is only allowed when cursor_from is last_record")
		}
	case CursorFromLastRecord:
		if p.CursorField == "" {
			l.add(path+".cursor_field", "is required when cursor_from is last_record")
		}
		if p.NextCursor != "" {
			l.add(path+".next_cursor", "is only allowed when cursor_from is body")
		}
	default:
		l.add(path+".cursor_from", "%q is not one of body|last_record", p.CursorFrom)
	}
}

// params refuses empty keys and keys the pagination or the incremental
// cursor sets, which would be overwritten.
func (l *linter) params(path string, s *Stream) {
	p := s.Pagination
	owned := []string{p.CursorParam, p.PageParam, p.OffsetParam, p.LimitParam}
	if s.Incremental != nil {
		owned = append(owned, s.Incremental.Param)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Params)) {
		switch {
		case k == "":
			l.add(path+".params", "has an empty key")
		case slices.Contains(owned, k):
			l.add(path+".params."+k, "is set by the pagination or the incremental cursor")
		}
	}
}

// keys returns the pagination's string keys, by their YAML names, with
// their values.
func (p *Pagination) keys() map[string]string {
	return map[string]string{
		"cursor_param": p.CursorParam, "cursor_from": p.CursorFrom, "next_cursor": p.NextCursor,
		"cursor_field": p.CursorField, "has_more": p.HasMore, "page_param": p.PageParam,
		"total_pages": p.TotalPages, "offset_param": p.OffsetParam, "total": p.Total,
	}
}
