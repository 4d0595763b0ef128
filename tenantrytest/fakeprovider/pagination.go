package fakeprovider

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
)

// data is the records as the API shows them: as SetRecords got them.
func data(rs []record) []map[string]any {
	out := make([]map[string]any, len(rs))
	for i, r := range rs {
		out[i] = r.data
	}
	return out
}

// afterCursor returns the page that follows cursor (keyset pagination:
// records changed meanwhile move to the end rather than shift pages) and
// the cursor of the page after it, "" on the last page.
func (l listing) afterCursor() (page []record, next string, err error) {
	recs := l.recs
	if c := l.query.Get("cursor"); c != "" {
		var k recordKey
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err == nil {
			err = json.Unmarshal(b, &k)
		}
		if err != nil {
			return nil, "", errors.New("invalid cursor")
		}
		i, found := slices.BinarySearchFunc(recs, k, func(r record, k recordKey) int { return r.key.compare(k) })
		if found {
			i++
		}
		recs = recs[i:]
	}
	if len(recs) <= l.limit {
		return recs, "", nil
	}
	b, _ := json.Marshal(recs[l.limit-1].key)
	return recs[:l.limit], base64.RawURLEncoding.EncodeToString(b), nil
}

// recordsByCursor answers {"data": [...], "next_cursor": "..." | null}.
func (p *Provider) recordsByCursor(w http.ResponseWriter, r *http.Request) {
	l, ok := p.list(w, r)
	if !ok {
		return
	}
	page, next, err := l.afterCursor()
	if err != nil {
		badRequest(w, err)
		return
	}
	var nextCursor *string
	if next != "" {
		nextCursor = &next
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data(page), "next_cursor": nextCursor})
}

// recordsByLink answers {"results": [...]} with the next page's absolute
// URL, all other parameters kept, in an RFC 8288 Link header.
func (p *Provider) recordsByLink(w http.ResponseWriter, r *http.Request) {
	l, ok := p.list(w, r)
	if !ok {
		return
	}
	page, next, err := l.afterCursor()
	if err != nil {
		badRequest(w, err)
		return
	}
	if next != "" {
		q := maps.Clone(l.query)
		q.Set("cursor", next)
		w.Header().Set("Link", fmt.Sprintf(`<%s%s?%s>; rel="next"`, p.URL, r.URL.Path, q.Encode()))
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": data(page)})
}

// recordsByPage answers {"items": [...], "page": N, "total_pages": M},
// pages numbered from 1; a page past the last is empty.
func (p *Provider) recordsByPage(w http.ResponseWriter, r *http.Request) {
	l, ok := p.list(w, r)
	if !ok {
		return
	}
	n, err := intParam(l.query, "page", 1, 1)
	if err != nil {
		badRequest(w, err)
		return
	}
	total := (len(l.recs) + l.limit - 1) / l.limit
	from := len(l.recs) // past the last page; also keeps (n-1)*limit from overflowing
	if n <= total {
		from = (n - 1) * l.limit
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": data(window(l.recs, from, l.limit)), "page": n, "total_pages": total})
}

// recordsByOffset answers {"records": [...], "total": T}.
func (p *Provider) recordsByOffset(w http.ResponseWriter, r *http.Request) {
	l, ok := p.list(w, r)
	if !ok {
		return
	}
	off, err := intParam(l.query, "offset", 0, 0)
	if err != nil {
		badRequest(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"records": data(window(l.recs, off, l.limit)), "total": len(l.recs)})
}

func window(rs []record, from, n int) []record {
	from = min(from, len(rs))
	return rs[from:min(from+n, len(rs))]
}
