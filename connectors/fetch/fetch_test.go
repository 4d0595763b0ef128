package fetch_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connectors/fetch"
	"github.com/tenantry/tenantry/tenantrytest/fakeprovider"
)

func TestNextEveryStyle(t *testing.T) {
	t.Parallel()
	for name, stream := range styles {
		// 10 records end on a short page, 9 on a full one (then, without
		// a total, an empty page).
		for _, n := range []int{10, 9, 0} {
			t.Run(fmt.Sprintf("%s/%d", name, n), func(t *testing.T) {
				t.Parallel()
				_, f := setup(t, stream, n)
				got, pages, _ := walk(t, f, "", "")
				assert.Equal(t, ids(n, 0), got, "every record once, in order")
				assert.LessOrEqual(t, len(pages), n/3+2)
				// Resuming from any page's checkpoint, with a fresh
				// Fetcher, continues without duplicates or gaps.
				seen := 0
				for _, p := range pages[:len(pages)-1] {
					seen += len(p.Records)
					rest, _, _ := walk(t, f, p.Checkpoint, "")
					assert.Equal(t, ids(n, seen), rest, "resumed at %q", p.Checkpoint)
				}
			})
		}
	}
}

func TestNextIncremental(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"Cursor", "Link"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, f := setup(t, styles[name], 10)
			got, _, maxCursor := walk(t, f, "", "")
			assert.Equal(t, ids(10, 0), got)
			assert.Equal(t, updatedAt(9), maxCursor)

			// The fake provider's updated_since is inclusive.
			got, pages, maxCursor := walk(t, f, "", updatedAt(6))
			assert.Equal(t, ids(10, 6), got, "only records changed since")
			assert.Equal(t, updatedAt(9), maxCursor)
			assert.Equal(t, updatedAt(8), pages[0].MaxCursor, "per page")
		})
	}
}

func TestLaterCursor(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "10", fetch.LaterCursor("9", "10"), "numbers")
	assert.Equal(t, "2026-01-01T01:00:00+01:00", fetch.LaterCursor("2026-01-01T01:00:00+01:00", "2025-12-31T23:30:00Z"), "times")
	assert.Equal(t, "b", fetch.LaterCursor("b", "a"), "strings")
	assert.Equal(t, "a", fetch.LaterCursor("", "a"))
}

func TestNextRateLimited(t *testing.T) {
	t.Parallel()
	t.Run("AbsorbedByRetries", func(t *testing.T) {
		t.Parallel()
		p, f := setup(t, styles["Cursor"], 4)
		p.FailNext(1, http.StatusTooManyRequests, "1")
		page, err := f.Next(context.Background(), "", "")
		require.NoError(t, err)
		assert.Len(t, page.Records, 3)
		assert.Equal(t, 2, p.Requests("/api/records/cursor"))
	})
	t.Run("AfterRetries", func(t *testing.T) {
		t.Parallel()
		p := fakeprovider.New(t, fakeprovider.Options{})
		d := load(t, fmt.Sprintf(apiKeyConnector, keyHeader, styles["Cursor"]))
		f, err := fetch.New(fetch.Config{Definition: d, Stream: "records", Doer: client(-1),
			Values: map[string]string{"base_url": p.URL, "api_key": "key-123"}})
		require.NoError(t, err)
		p.FailNext(1, http.StatusTooManyRequests, "7")
		_, err = f.Next(context.Background(), "", "")
		var rl *fetch.RateLimitError
		require.ErrorAs(t, err, &rl)
		assert.Equal(t, 7*time.Second, rl.RetryAfter)
		assert.Equal(t, tenantry.EUNAVAILABLE, tenantry.ErrorCode(err))
	})
}

func TestNextStatusErrors(t *testing.T) {
	t.Parallel()
	p, f := setup(t, styles["Cursor"], 4)
	p.FailNext(1, http.StatusNotFound, "")
	_, err := f.Next(context.Background(), "", "")
	assert.Equal(t, tenantry.EINVALID, tenantry.ErrorCode(err), "a 4xx is permanent")
	assert.Contains(t, tenantry.ErrorMessage(err), "HTTP 404")

	p.FailNext(4, http.StatusServiceUnavailable, "")
	_, err = f.Next(context.Background(), "", "")
	assert.Equal(t, tenantry.EINTERNAL, tenantry.ErrorCode(err), "a 5xx after retries is worth retrying later")
	assert.ErrorContains(t, err, "HTTP 503")

	d := load(t, fmt.Sprintf(apiKeyConnector, keyHeader, styles["Cursor"]))
	_, err = newFetcher(t, d, p.URL, map[string]string{"api_key": "wrong"}).Next(context.Background(), "", "")
	assert.Equal(t, tenantry.EUNAUTHORIZED, tenantry.ErrorCode(err), "a 401 without Refresh: %v", err)
}

func TestNextRefreshesOn401(t *testing.T) {
	t.Parallel()
	p := fakeprovider.New(t, fakeprovider.Options{})
	p.SetRecords(records(5))
	access, refreshToken := connect(t, p)
	d := load(t, fmt.Sprintf(oauthConnector, styles["Cursor"]))
	var calls atomic.Int32
	f, err := fetch.New(fetch.Config{Definition: d, Stream: "records", Doer: client(3),
		Values: map[string]string{"base_url": p.URL, "access_token": access},
		Refresh: func(ctx context.Context, stale string) (string, error) {
			calls.Add(1)
			assert.Equal(t, access, stale)
			tok, err := token(p, map[string][]string{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
			if err != nil {
				return "", err
			}
			return tok["access_token"], nil
		}})
	require.NoError(t, err)

	p.ExpireAccessTokens()
	got, _, _ := walk(t, f, "", "")
	assert.Equal(t, ids(5, 0), got)
	assert.Equal(t, int32(1), calls.Load(), "refreshed once; the next page used the new token")
	assert.Equal(t, 3, p.Requests("/api/records/cursor"), "401, the retry, the second page")
}

func TestNextRefreshFails(t *testing.T) {
	t.Parallel()
	p := fakeprovider.New(t, fakeprovider.Options{})
	access, _ := connect(t, p)
	d := load(t, fmt.Sprintf(oauthConnector, styles["Cursor"]))
	f, err := fetch.New(fetch.Config{Definition: d, Stream: "records", Doer: client(3),
		Values:  map[string]string{"base_url": p.URL, "access_token": access},
		Refresh: func(context.Context, string) (string, error) { return "", errors.New("grant revoked") }})
	require.NoError(t, err)
	p.ExpireAccessTokens()
	_, err = f.Next(context.Background(), "", "")
	assert.ErrorContains(t, err, "grant revoked")
}

func TestNextRecordWithoutPrimaryKey(t *testing.T) {
	t.Parallel()
	stream := strings.Replace(styles["Offset"], "primary_key: id", "primary_key: sku", 1)
	p, f := setup(t, stream, 0)
	p.SetRecords([]map[string]any{
		{"id": "a", "updated_at": updatedAt(0), "sku": "A-1"},
		{"id": "b", "updated_at": updatedAt(1)},
	})
	_, err := f.Next(context.Background(), "", "")
	assert.Equal(t, tenantry.EINVALID, tenantry.ErrorCode(err))
	assert.Contains(t, tenantry.ErrorMessage(err), `stream records: record 1 has no primary key "sku"`)
}

func TestNextLinkStaysOnTheAPIHost(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.Write([]byte(`[]`))
	}))
	t.Cleanup(other.Close)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `<`+other.URL+`/steal?page=2>; rel="next"`)
		w.Write([]byte(`[{"id": 1}]`))
	}))
	t.Cleanup(api.Close)
	stream := "    path: /items\n    primary_key: id\n    pagination: {type: link}"
	f := newFetcher(t, load(t, fmt.Sprintf(apiKeyConnector, keyHeader, stream)), api.URL, nil)

	_, err := f.Next(context.Background(), "", "")
	assert.Equal(t, tenantry.EINVALID, tenantry.ErrorCode(err))
	assert.Contains(t, tenantry.ErrorMessage(err), "refusing to follow the next link")
	_, err = f.Next(context.Background(), other.URL+"/steal", "")
	assert.Equal(t, tenantry.EINVALID, tenantry.ErrorCode(err), "nor a checkpoint on another host")
	assert.Zero(t, elsewhere.Load())
}

func TestNextLinkCheckpointHoldsNoCredentials(t *testing.T) {
	t.Parallel()
	p := fakeprovider.New(t, fakeprovider.Options{})
	p.SetRecords(records(5))
	d := load(t, fmt.Sprintf(apiKeyConnector, `  query: {api_token: "{{api_key}}"}`, styles["Link"]))
	f := newFetcher(t, d, p.URL, nil)
	page, err := f.Next(context.Background(), "", "")
	require.NoError(t, err)
	require.False(t, page.Done)
	assert.NotContains(t, page.Checkpoint, "key-123")
	got, _, _ := walk(t, f, page.Checkpoint, "")
	assert.Equal(t, ids(5, 3), got)
}

func TestNextCursorFromLastRecord(t *testing.T) {
	t.Parallel()
	all := []string{"a", "b", "c", "d", "e"}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		after := r.URL.Query().Get("starting_after")
		i := 0
		for i < len(all) && after != "" && all[i] <= after {
			i++
		}
		j := min(i+2, len(all))
		var recs []string
		for _, id := range all[i:j] {
			recs = append(recs, fmt.Sprintf(`{"id": %q}`, id))
		}
		fmt.Fprintf(w, `{"data": [%s], "has_more": %t}`, strings.Join(recs, ","), j < len(all))
	}))
	t.Cleanup(api.Close)
	stream := `    path: /customers
    records: /data
    primary_key: id
    pagination: {type: cursor, cursor_from: last_record, cursor_field: id, cursor_param: starting_after, has_more: /has_more, limit_param: limit, page_size: 2}`
	f := newFetcher(t, load(t, fmt.Sprintf(apiKeyConnector, keyHeader, stream)), api.URL, nil)
	got, pages, _ := walk(t, f, "", "")
	assert.Equal(t, all, got)
	assert.Len(t, pages, 3, "has_more false ends the stream without an empty page")
}

func TestNewUnknownStream(t *testing.T) {
	t.Parallel()
	d := load(t, fmt.Sprintf(apiKeyConnector, keyHeader, styles["Cursor"]))
	_, err := fetch.New(fetch.Config{Definition: d, Stream: "nope", Doer: client(0),
		Values: map[string]string{"base_url": "http://127.0.0.1:1", "api_key": "k"}})
	assert.Equal(t, tenantry.ENOTFOUND, tenantry.ErrorCode(err))
}
