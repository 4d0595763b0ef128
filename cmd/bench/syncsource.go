package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// syncPageSize is the records in one page of the fake API.
const syncPageSize = 1000

// syncConnector is the connector the bench's syncs go through: an API
// key in a header, a credential check, and one stream with cursor
// pagination and an incremental cursor, like a typical SaaS list API.
const syncConnector = `id: bench_api
name: Bench fake API
auth: {type: api_key}
form:
  - {name: api_key, label: API key, type: password, required: true}
base_url: SOURCE
apply: {headers: {X-Api-Key: "{{api_key}}"}}
check: {path: /v1/me}
streams:
  - name: customers
    path: /v1/customers
    records: /data
    primary_key: id
    pagination: {type: cursor, cursor_param: cursor, next_cursor: /next_cursor, limit_param: limit, page_size: PAGE}
    incremental: {cursor_field: updated_at, param: updated_since}
`

// syncSource is the fake provider the syncs read: a paginated JSON API
// on loopback serving the same rows on every sync. Its pages are
// encoded once, up front, so serving one costs a write and little else.
type syncSource struct {
	URL   string
	Dir   string   // the connector definition, for node.Config.ConnectorsDir
	keys  []string // the records' primary keys, in order
	recs  [][]byte // the records' JSON, as served
	pages [][]byte // response bodies
	srv   *http.Server
	done  chan struct{}
}

const syncAPIKey = "bench-key"

// startSyncSource builds rows records and serves them until Close.
func startSyncSource(rows int) (*syncSource, error) {
	s := &syncSource{done: make(chan struct{})}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range rows {
		key, data, err := record(i, base)
		if err != nil {
			return nil, err
		}
		s.keys, s.recs = append(s.keys, key), append(s.recs, data)
	}
	for first := 0; first < rows; first += syncPageSize {
		s.pages = append(s.pages, page(s.recs[first:min(first+syncPageSize, rows)], first+syncPageSize < rows, len(s.pages)+1))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fake sync API: %w", err)
	}
	s.URL = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { defer close(s.done); _ = s.srv.Serve(ln) }()
	if err := s.writeConnector(); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

// record is the i-th customer record, about 400 bytes of JSON: strings,
// numbers, a boolean, a list and nested objects.
func record(i int, base time.Time) (key string, data []byte, err error) {
	key = fmt.Sprintf("cus_%08d", i+1)
	data, err = json.Marshal(map[string]any{
		"id": key, "object": "customer",
		"created_at": base.Add(time.Duration(i) * time.Second).Format(time.RFC3339),
		"updated_at": base.Add(time.Duration(i)*time.Second + 90*24*time.Hour).Format(time.RFC3339),
		"name":       fmt.Sprintf("Customer %d Lovelace", i+1), "email": fmt.Sprintf("customer%d@example.com", i+1),
		"phone": fmt.Sprintf("+44 20 7946 %04d", i%10000), "currency": "eur",
		"balance_cents": (i * 7919) % 1_000_000, "lifetime_value": float64(i%100_000) * 1.37,
		"delinquent": i%17 == 0, "tags": []string{"bench", "tier-" + strconv.Itoa(i%4)},
		"address": map[string]any{"line1": fmt.Sprintf("%d Analytical Engine Street", i%500+1),
			"city": "London", "postal_code": fmt.Sprintf("EC%dA %dBB", i%9+1, i%9), "country": "GB"},
		"metadata": map[string]any{"plan": []string{"free", "team", "business"}[i%3], "seats": i%50 + 1, "source": "bench"},
	})
	return key, data, err
}

// page is one response body: the records, and the next page's cursor
// unless it is the last.
func page(recs [][]byte, more bool, next int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"object":"list","data":[`)
	b.Write(bytes.Join(recs, []byte(",")))
	b.WriteString(`],"has_more":` + strconv.FormatBool(more))
	if more {
		fmt.Fprintf(&b, `,"next_cursor":"p%d"`, next)
	}
	b.WriteString("}")
	return b.Bytes()
}

func (s *syncSource) writeConnector() (err error) {
	if s.Dir, err = os.MkdirTemp("", "tenantry-bench-connectors-"); err != nil {
		return err
	}
	def := strings.NewReplacer("SOURCE", s.URL, "PAGE", strconv.Itoa(syncPageSize)).Replace(syncConnector)
	return os.WriteFile(filepath.Join(s.Dir, "bench_api.yaml"), []byte(def), 0o600)
}

// ServeHTTP answers the credential check and the pages of customers. It
// refuses what would make a sync read less than every row (another page
// size, an incremental cursor), so a figure cannot rest on a short read.
func (s *syncSource) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Api-Key") != syncAPIKey {
		http.Error(w, `{"error":"bad api key"}`, http.StatusUnauthorized)
		return
	}
	q := r.URL.Query()
	switch {
	case r.URL.Path == "/v1/me":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"acct_bench"}`))
	case r.URL.Path != "/v1/customers":
		http.NotFound(w, r)
	case q.Get("limit") != strconv.Itoa(syncPageSize) || q.Get("updated_since") != "":
		http.Error(w, `{"error":"the bench API serves only full reads of 1000-record pages"}`, http.StatusBadRequest)
	default:
		n := 0
		if c := q.Get("cursor"); c != "" {
			var err error
			if n, err = strconv.Atoi(strings.TrimPrefix(c, "p")); err != nil || n < 1 || n >= len(s.pages) {
				http.Error(w, `{"error":"bad cursor"}`, http.StatusBadRequest)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.pages[n])
	}
}

// size is the records' mean JSON size in bytes.
func (s *syncSource) size() int {
	total := 0
	for _, r := range s.recs {
		total += len(r)
	}
	return total / max(len(s.recs), 1)
}

// Close stops the server and removes the connector's directory. Safe to
// call twice.
func (s *syncSource) Close() error {
	var err error
	if s.srv != nil {
		err = s.srv.Close()
		<-s.done
	}
	if s.Dir != "" {
		err = errors.Join(err, os.RemoveAll(s.Dir))
	}
	return err
}
