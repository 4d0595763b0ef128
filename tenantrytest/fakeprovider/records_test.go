package fakeprovider_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/tenantrytest/fakeprovider"
)

var base = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// setupRecords serves n records, three per updated_at so that ties are
// broken by id, handed over in shuffled order; it returns their ids in
// the order the API must list them.
func setupRecords(t *testing.T, n int) (*fakeprovider.Provider, []string) {
	t.Helper()
	p := fakeprovider.New(t, fakeprovider.Options{})
	recs := make([]map[string]any, n)
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("r%04d", i)
		recs[i] = map[string]any{"id": ids[i], "updated_at": stamp(i / 3), "name": "record " + strconv.Itoa(i)}
	}
	rand.Shuffle(n, func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	p.SetRecords(recs)
	return p, ids
}

func stamp(minutes int) string {
	return base.Add(time.Duration(minutes) * time.Minute).Format(time.RFC3339)
}

// maxCalls bounds every listing, so a provider that never ends a
// listing fails the test instead of hanging it.
const maxCalls = 1000

type style struct {
	name string
	list func(t *testing.T, p *fakeprovider.Provider, q url.Values) (ids []string, calls int)
}

var styles = []style{
	{"Cursor", listByCursor}, {"Link", listByLink}, {"Page", listByPage}, {"Offset", listByOffset},
}

func ids(t *testing.T, items any) []string {
	t.Helper()
	list, ok := items.([]any)
	require.True(t, ok, "records are a JSON array, not %v", items)
	out := make([]string, len(list))
	for i, it := range list {
		out[i] = it.(map[string]any)["id"].(string)
	}
	return out
}

func call(t *testing.T, p *fakeprovider.Provider, path string, q url.Values) result {
	t.Helper()
	r := get(t, p.URL+path+"?"+q.Encode())
	require.Equal(t, http.StatusOK, r.status, r.body)
	return r
}

func listByCursor(t *testing.T, p *fakeprovider.Provider, q url.Values) (all []string, calls int) {
	for ; ; calls++ {
		require.Less(t, calls, maxCalls, "pagination does not end")
		r := call(t, p, "/api/records/cursor", q)
		all = append(all, ids(t, r.body["data"])...)
		next, ok := r.body["next_cursor"].(string)
		if !ok {
			require.Contains(t, r.body, "next_cursor", "the last page says null")
			return all, calls + 1
		}
		q.Set("cursor", next)
	}
}

var nextLink = regexp.MustCompile(`^<([^>]+)>; rel="next"$`)

func listByLink(t *testing.T, p *fakeprovider.Provider, q url.Values) (all []string, calls int) {
	u := p.URL + "/api/records/link?" + q.Encode()
	for ; ; calls++ {
		require.Less(t, calls, maxCalls, "pagination does not end")
		r := get(t, u)
		require.Equal(t, http.StatusOK, r.status, r.body)
		all = append(all, ids(t, r.body["results"])...)
		link := r.header.Get("Link")
		if link == "" {
			return all, calls + 1
		}
		m := nextLink.FindStringSubmatch(link)
		require.NotNil(t, m, link)
		u = m[1]
	}
}

func listByPage(t *testing.T, p *fakeprovider.Provider, q url.Values) (all []string, calls int) {
	for page := 1; ; page++ {
		require.LessOrEqual(t, page, maxCalls, "pagination does not end")
		q.Set("page", strconv.Itoa(page))
		r := call(t, p, "/api/records/page", q)
		require.EqualValues(t, page, r.body["page"])
		all = append(all, ids(t, r.body["items"])...)
		if page >= int(r.body["total_pages"].(float64)) {
			return all, page
		}
	}
}

func listByOffset(t *testing.T, p *fakeprovider.Provider, q url.Values) (all []string, calls int) {
	for ; ; calls++ {
		require.Less(t, calls, maxCalls, "pagination does not end")
		q.Set("offset", strconv.Itoa(len(all)))
		r := call(t, p, "/api/records/offset", q)
		all = append(all, ids(t, r.body["records"])...)
		if len(all) >= int(r.body["total"].(float64)) {
			return all, calls + 1
		}
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	p, want := setupRecords(t, 250)
	for _, s := range styles {
		t.Run(s.name, func(t *testing.T) {
			got, calls := s.list(t, p, url.Values{"limit": {"7"}, "api_token": {"key-123"}})
			require.Equal(t, want, got, "every record once, ordered by (updated_at, id)")
			require.Equal(t, 36, calls)
		})
	}
}

func TestPaginationDefaultAndMaxLimit(t *testing.T) {
	t.Parallel()
	p, want := setupRecords(t, 1001)
	for _, s := range styles {
		t.Run(s.name, func(t *testing.T) {
			got, calls := s.list(t, p, url.Values{"api_token": {"key-123"}})
			require.Equal(t, want, got)
			require.Equal(t, 11, calls, "100 a page by default")
			got, calls = s.list(t, p, url.Values{"limit": {"5000"}, "api_token": {"key-123"}})
			require.Equal(t, want, got)
			require.Equal(t, 2, calls, "at most 1000 a page")
		})
	}
}

func TestUpdatedSince(t *testing.T) {
	t.Parallel()
	p, all := setupRecords(t, 30)
	for _, s := range styles {
		t.Run(s.name, func(t *testing.T) {
			got, _ := s.list(t, p, url.Values{"limit": {"4"}, "api_token": {"key-123"}, "updated_since": {stamp(4)}})
			require.Equal(t, all[12:], got, "updated_since is inclusive")
			got, calls := s.list(t, p, url.Values{"api_token": {"key-123"}, "updated_since": {stamp(10)}})
			require.Empty(t, got)
			require.Equal(t, 1, calls)
		})
	}
}

func TestRecordsAuth(t *testing.T) {
	t.Parallel()
	p, want := setupRecords(t, 5)
	tok := connect(t, p)
	for _, path := range []string{"/api/records/cursor", "/api/records/link", "/api/records/page", "/api/records/offset"} {
		require.Equal(t, http.StatusOK, get(t, p.URL+path, "Authorization", "Bearer "+tok.str("access_token")).status, path)
		require.Equal(t, http.StatusOK, get(t, p.URL+path, "X-Api-Key", "key-123").status, path)
		require.Equal(t, http.StatusOK, get(t, p.URL+path+"?api_token=key-123").status, path)
		r := get(t, p.URL+path, "X-Api-Key", "wrong")
		require.Equal(t, http.StatusUnauthorized, r.status, path)
		require.NotEmpty(t, r.header.Get("WWW-Authenticate"))
		require.Equal(t, 4, p.Requests(path))
	}
	got, _ := listByLink(t, p, url.Values{"limit": {"2"}, "api_token": {"key-123"}})
	require.Equal(t, want, got, "the Link URL keeps the credentials and the limit")
}

func TestRecordsBadParams(t *testing.T) {
	t.Parallel()
	p, _ := setupRecords(t, 5)
	for _, q := range []string{
		"/api/records/cursor?limit=0", "/api/records/cursor?limit=x", "/api/records/cursor?cursor=garbage",
		"/api/records/link?updated_since=yesterday", "/api/records/page?page=0", "/api/records/offset?offset=-1",
	} {
		r := get(t, p.URL+q+"&api_token=key-123")
		require.Equal(t, http.StatusBadRequest, r.status, q)
		require.Equal(t, "invalid_request", r.body["error"], q)
	}
	r := call(t, p, "/api/records/page", url.Values{"page": {"99999999999999999"}, "api_token": {"key-123"}})
	require.Empty(t, r.body["items"], "a page past the last is empty")
}

func TestDeleteRecord(t *testing.T) {
	t.Parallel()
	p, all := setupRecords(t, 10)
	p.DeleteRecord(all[3])
	p.DeleteRecord("no-such-record")
	got, _ := listByCursor(t, p, url.Values{"api_token": {"key-123"}})
	require.Equal(t, append(append([]string{}, all[:3]...), all[4:]...), got)
}

// A record deleted between pages must not derail keyset pagination.
func TestCursorSurvivesDeletion(t *testing.T) {
	t.Parallel()
	p, all := setupRecords(t, 10)
	q := url.Values{"api_token": {"key-123"}, "limit": {"4"}}
	first := call(t, p, "/api/records/cursor", q)
	require.Equal(t, all[:4], ids(t, first.body["data"]))
	p.DeleteRecord(all[3])
	q.Set("cursor", first.body["next_cursor"].(string))
	require.Equal(t, all[4:8], ids(t, call(t, p, "/api/records/cursor", q).body["data"]))
}

// recorder is a testing.TB whose Errorf is noted instead of failing.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestSetRecordsRejectsInvalid(t *testing.T) {
	t.Parallel()
	rec := &recorder{TB: t}
	p := fakeprovider.New(rec, fakeprovider.Options{})
	p.SetRecords([]map[string]any{
		{"id": "b", "updated_at": "2026-01-01T10:00:00+02:00"}, // 08:00Z: listed first
		{"id": "a", "updated_at": "2026-01-01T09:00:00Z"},
		{"id": 7, "updated_at": "2026-01-01T09:00:00Z"},
		{"id": "c", "updated_at": "yesterday"},
		{"id": "a", "updated_at": "2026-01-01T09:00:00Z"},
		{"updated_at": "2026-01-01T09:00:00Z"},
	})
	require.Len(t, rec.errors, 4, rec.errors)
	got, _ := listByOffset(t, p, url.Values{"api_token": {"key-123"}})
	require.Equal(t, []string{"b", "a"}, got)
}
