package fakeprovider

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

const (
	defaultLimit = 100
	maxLimit     = 1000
)

// record is one record of the REST API; records are ordered by key.
type record struct {
	key  recordKey
	data map[string]any
}

type recordKey struct {
	UpdatedAt time.Time `json:"u"`
	ID        string    `json:"i"`
}

func (k recordKey) compare(o recordKey) int {
	if c := k.UpdatedAt.Compare(o.UpdatedAt); c != 0 {
		return c
	}
	return cmpString(k.ID, o.ID)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// SetRecords replaces the REST API's record set. Each record needs a
// string "id", unique in the set, and an "updated_at" in RFC 3339; one
// without fails the test (t.Errorf) and is left out. The maps are copied,
// their values are not: do not change them afterwards. The API returns
// each record as given, ordered by (updated_at, id).
func (p *Provider) SetRecords(recs []map[string]any) {
	rs := make([]record, 0, len(recs))
	seen := map[string]bool{}
	for i, m := range recs {
		id, _ := m["id"].(string)
		ts, _ := m["updated_at"].(string)
		at, err := time.Parse(time.RFC3339, ts)
		if id == "" || seen[id] || err != nil {
			p.t.Errorf("fakeprovider: SetRecords: record %d needs a unique string id and an RFC 3339 updated_at: %v", i, m)
			continue
		}
		seen[id] = true
		rs = append(rs, record{key: recordKey{UpdatedAt: at, ID: id}, data: maps.Clone(m)})
	}
	slices.SortFunc(rs, func(a, b record) int { return a.key.compare(b.key) })
	p.mu.Lock()
	defer p.mu.Unlock()
	p.records = rs
}

// DeleteRecord removes the record with this id, if there is one. The API
// keeps no tombstone: an incremental sync cannot see the deletion.
func (p *Provider) DeleteRecord(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.records = slices.DeleteFunc(slices.Clone(p.records), func(r record) bool { return r.key.ID == id })
}

// listing is the part of a records request every pagination style shares.
type listing struct {
	recs  []record // matching updated_since, in order
	limit int
	query url.Values
}

// list authorizes a records request and reads limit and updated_since
// (inclusive). It answers the request itself when it returns false.
func (p *Provider) list(w http.ResponseWriter, r *http.Request) (listing, bool) {
	if !p.apiKeyOK(r) && !p.bearerOK(w, r) {
		return listing{}, false
	}
	q := r.URL.Query()
	limit, err := intParam(q, "limit", defaultLimit, 1)
	if err != nil {
		badRequest(w, err)
		return listing{}, false
	}
	var since time.Time
	if s := q.Get("updated_since"); s != "" {
		if since, err = time.Parse(time.RFC3339, s); err != nil {
			badRequest(w, fmt.Errorf("updated_since: %w", err))
			return listing{}, false
		}
	}
	p.mu.Lock()
	all := p.records
	p.mu.Unlock()
	from, _ := slices.BinarySearchFunc(all, since, func(r record, t time.Time) int { return r.key.UpdatedAt.Compare(t) })
	return listing{recs: all[from:], limit: min(limit, maxLimit), query: q}, true
}

// intParam reads an integer parameter of at least lowest.
func intParam(q url.Values, name string, def, lowest int) (int, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lowest {
		return 0, fmt.Errorf("%s must be an integer of at least %d", name, lowest)
	}
	return n, nil
}

func badRequest(w http.ResponseWriter, err error) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": err.Error()})
}
