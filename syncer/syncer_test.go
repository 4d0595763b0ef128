package syncer_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/node"
)

func TestPaginationStyles(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	f.p.SetRecords(records(7))
	conn := f.connect()
	for _, name := range []string{"by_cursor", "by_link", "by_page", "by_offset"} {
		t.Run(name, func(t *testing.T) {
			run := f.sync(conn, map[string]any{"streams": []string{name}})
			require.Equal(t, "succeeded", run["status"], run)
			st := stream(t, run, name)
			require.EqualValues(t, 7, num(st["inserted"]))
			require.EqualValues(t, 0, num(st["updated"]))
			require.EqualValues(t, 3, num(st["pages"]), "7 records, 3 a page")
			rows := f.rows(conn, name)
			require.Len(t, rows, 7)
			for _, r := range records(7) {
				require.Contains(t, rows, r["id"])
			}
		})
	}
}

func TestIncrementalCursor(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	recs := records(5)
	f.p.SetRecords(recs)
	conn := f.connect()
	first := stream(t, f.sync(conn, map[string]any{"streams": []string{"by_cursor"}}), "by_cursor")
	require.Equal(t, "", first["cursor_before"])
	require.Equal(t, "2026-01-01T00:04:00Z", first["cursor_after"], "the largest updated_at")
	require.EqualValues(t, 5, num(first["inserted"]))

	// One record changes, one is new: the next sync asks from the cursor.
	recs[1] = map[string]any{"id": "r2", "name": "renamed", "updated_at": "2026-01-02T00:00:00Z"}
	recs = append(recs, map[string]any{"id": "r6", "name": "new", "updated_at": "2026-01-03T00:00:00Z"})
	f.p.SetRecords(recs)
	second := stream(t, f.sync(conn, map[string]any{"streams": []string{"by_cursor"}}), "by_cursor")
	require.Equal(t, "2026-01-01T00:04:00Z", second["cursor_before"])
	require.Equal(t, "2026-01-03T00:00:00Z", second["cursor_after"])
	require.EqualValues(t, 1, num(second["inserted"]))
	require.EqualValues(t, 1, num(second["updated"]))
	require.EqualValues(t, 1, num(second["pages"]), "only what changed since the cursor (inclusive) was fetched")
	require.Len(t, f.rows(conn, "by_cursor"), 6)

	require.Equal(t, "renamed", f.rows(conn, "by_cursor")["r2"].name, "the changed record was updated in place")
}

func TestFullRefreshDetectsDeletions(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	f.p.SetRecords(records(5))
	conn := f.connect()
	run := f.sync(conn, map[string]any{"streams": []string{"by_link", "by_page"}})
	require.Equal(t, "succeeded", run["status"], run)

	f.p.DeleteRecord("r3")
	// An incremental sync cannot see a deletion; a stream without an
	// incremental cursor is read whole every time, so it does.
	run = f.sync(conn, map[string]any{"streams": []string{"by_link", "by_page"}})
	require.EqualValues(t, 0, num(stream(t, run, "by_link")["deleted"]))
	require.EqualValues(t, 1, num(stream(t, run, "by_page")["deleted"]))
	require.False(t, f.rows(conn, "by_link")["r3"].deleted)

	run = f.sync(conn, map[string]any{"streams": []string{"by_link"}, "full_refresh": true})
	st := stream(t, run, "by_link")
	require.Equal(t, "", st["cursor_before"], "a full refresh starts from the beginning")
	require.EqualValues(t, 1, num(st["deleted"]))
	require.EqualValues(t, 0, num(st["inserted"]))
	rows := f.rows(conn, "by_link")
	require.True(t, rows["r3"].deleted, "r3 is marked deleted")
	require.False(t, rows["r2"].deleted)

	// A deleted record that comes back is live again.
	f.p.SetRecords(records(5))
	f.sync(conn, map[string]any{"streams": []string{"by_link"}, "full_refresh": true})
	require.False(t, f.rows(conn, "by_link")["r3"].deleted)
}

func TestRateLimitedProvider(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	f.p.SetRecords(records(7))
	conn := f.connect()
	before := f.p.Requests("/api/records/cursor")
	f.p.FailNext(1, http.StatusTooManyRequests, "1")
	start := time.Now()
	run := f.sync(conn, map[string]any{"streams": []string{"by_cursor"}})
	require.Equal(t, "succeeded", run["status"], run)
	require.GreaterOrEqual(t, time.Since(start), time.Second, "Retry-After was honoured")
	require.Equal(t, 4, f.p.Requests("/api/records/cursor")-before, "3 pages and the refused request")
	require.Len(t, f.rows(conn, "by_cursor"), 7)
}

func TestExpiredTokenRefreshedOnce(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	f.p.SetRecords(records(7))
	conn := f.connectOAuth()
	f.p.ExpireAccessTokens()
	refreshes := f.p.RefreshCalls()
	run := f.sync(conn, map[string]any{"streams": []string{"by_cursor"}})
	require.Equal(t, "succeeded", run["status"], run)
	require.Equal(t, refreshes+1, f.p.RefreshCalls(), "one refresh, then every page used the new token")
	require.Len(t, f.rows(conn, "by_cursor"), 7)
}

func TestPartialRun(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	f.p.SetRecords(records(4))
	conn := f.connect()
	events := subscribe(t, f.sys.NATS.ClientURL())
	run := f.sync(conn, map[string]any{"streams": []string{"by_offset", "broken"}})
	require.Equal(t, "partial", run["status"], run)
	require.Contains(t, run["reason"], "broken:")
	require.Equal(t, "failed", stream(t, run, "broken")["status"])
	require.Equal(t, "succeeded", stream(t, run, "by_offset")["status"])
	require.Len(t, f.rows(conn, "by_offset"), 4)
	require.Equal(t, "succeeded", f.sys.Do("GET", "/api/jobs/"+run["job_id"].(string), f.token, nil).JSON["status"])

	ev := events.next(t, "sync.failed")
	require.Equal(t, run["id"], ev["run_id"])
	require.Equal(t, "partial", ev["status"])

	logs := f.sys.Do("GET", "/api/server/"+conn+"/logs", f.token, nil)
	var withJob int
	for _, l := range logs.JSON["items"].([]any) {
		if l.(map[string]any)["job_id"] == run["job_id"] {
			withJob++
		}
	}
	require.GreaterOrEqual(t, withJob, 3, "requested, a stream's result, the run's result: %s", logs.Body)
}

func TestStalledSyncFails(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *node.Config) { c.Jobs.Sync.StallTimeout = 300 * time.Millisecond })
	f.p.SetRecords(records(7))
	conn := f.connect()
	events := subscribe(t, f.sys.NATS.ClientURL())
	f.p.SetDelay(5 * time.Second)
	run := f.sync(conn, map[string]any{"streams": []string{"by_cursor"}})
	require.Equal(t, "failed", run["status"], run)
	require.Contains(t, run["reason"], "stalled")
	require.Equal(t, "failed", f.sys.Do("GET", "/api/jobs/"+run["job_id"].(string), f.token, nil).JSON["status"])
	require.Equal(t, "failed", events.next(t, "sync.failed")["status"])
}

func TestOneSyncAtATime(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	f.p.SetRecords(records(7))
	conn := f.connect()
	f.p.SetDelay(200 * time.Millisecond)
	var wg sync.WaitGroup
	statuses := make([]int, 5)
	bodies := make([]map[string]any, 5)
	for i := range statuses {
		wg.Go(func() {
			r := f.sys.Do("POST", "/api/server/"+conn+"/sync", f.token, nil)
			statuses[i], bodies[i] = r.Status, r.JSON
		})
	}
	wg.Wait()
	var accepted string
	for i, st := range statuses {
		if st == http.StatusAccepted {
			require.Empty(t, accepted, "only one sync is accepted")
			accepted = bodies[i]["job_id"].(string)
		}
	}
	require.NotEmpty(t, accepted)
	for i, st := range statuses {
		if st != http.StatusAccepted {
			require.Equal(t, http.StatusConflict, st)
			require.Contains(t, bodies[i]["detail"], accepted, "the 409 names the running job")
		}
	}
	require.Equal(t, "succeeded", f.sys.WaitJob(f.token, accepted)["status"])
	f.p.SetDelay(0)
	require.Equal(t, "succeeded", f.sync(conn, map[string]any{"streams": []string{"by_page"}})["status"], "once it is done, another sync is accepted")
}

func TestSyncRequestValidation(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	conn := f.connect()
	for name, tc := range map[string]struct {
		body  string
		field string
	}{
		"UnknownStream": {`{"streams": ["nope"]}`, "streams[0]"},
		"Twice":         {`{"streams": ["by_link", "by_link"]}`, "streams[1]"},
		"NotAList":      {`{"streams": "by_link"}`, "streams"},
		"UnknownField":  {`{"full": true}`, "full"},
	} {
		t.Run(name, func(t *testing.T) {
			r := f.sys.Do("POST", "/api/server/"+conn+"/sync", f.token, tc.body)
			require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
			require.Equal(t, tc.field, r.JSON["errors"].([]any)[0].(map[string]any)["field"])
		})
	}
	t.Run("PartnerToken", func(t *testing.T) {
		r := f.sys.Do("POST", "/api/server/"+conn+"/sync", f.partner, `{"streams": ["by_page"]}`)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		require.Equal(t, "succeeded", f.sys.WaitJob(f.partner, r.JSON["job_id"].(string))["status"])
	})
	t.Run("OtherTenant", func(t *testing.T) {
		_, partner := f.sys.Partner()
		_, other := f.sys.Account(partner, "other")
		require.Equal(t, http.StatusNotFound, f.sys.Do("POST", "/api/server/"+conn+"/sync", other, nil).Status)
		require.Equal(t, http.StatusNotFound, f.sys.Do("GET", "/api/server/"+conn+"/syncs", other, nil).Status)
	})
}

// eventStream reads the EVENTS stream's sync events as they arrive.
type eventStream struct {
	ch chan *nats.Msg
}

func subscribe(t *testing.T, url string) *eventStream {
	t.Helper()
	nc, err := nats.Connect(url)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	es := &eventStream{ch: make(chan *nats.Msg, 64)}
	_, err = nc.ChanSubscribe("evt.*.sync.*", es.ch)
	require.NoError(t, err)
	require.NoError(t, nc.FlushTimeout(5*time.Second))
	return es
}

// next returns the data of the next event of type typ.
func (es *eventStream) next(t *testing.T, typ string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		select {
		case m := <-es.ch:
			var ev struct {
				Type string         `json:"type"`
				Data map[string]any `json:"data"`
			}
			require.NoError(t, json.Unmarshal(m.Data, &ev))
			if ev.Type == typ {
				return ev.Data
			}
		case <-ctx.Done():
			t.Fatalf("no %s event", typ)
		}
	}
}
