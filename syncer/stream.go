package syncer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connections"
	"github.com/tenantry/tenantry/connectors/fetch"
	"github.com/tenantry/tenantry/store"
)

// plan decides the streams of a run starting for the first time: those
// requested, or every stream of the connector; for a scheduled run only
// those due by their own schedule. A redelivered run keeps its plan (the
// store ignores a second one).
func (s *Syncer) plan(ctx context.Context, run *tenantry.SyncRun, requested []string, src *connections.Source) ([]store.SyncStreamStart, error) {
	d := src.Definition
	names := requested
	if len(names) == 0 {
		for _, st := range d.Streams {
			names = append(names, st.Name)
		}
	}
	var synced map[string]time.Time
	if run.Trigger == tenantry.SyncTriggerSchedule && len(requested) == 0 {
		var err error
		if synced, err = s.store.SyncedAt(ctx, run.ConnectionID); err != nil {
			return nil, err
		}
	}
	var plan []store.SyncStreamStart
	for _, name := range names {
		st, ok := d.Stream(name)
		if !ok {
			return nil, tenantry.Errorf(tenantry.EINVALID, "connector %s has no stream %q", d.ID, name)
		}
		if at, ok := synced[name]; ok && st.Schedule > 0 && s.now().Before(at.Add(time.Duration(st.Schedule)*time.Second)) {
			continue // synced more recently than its schedule asks
		}
		table, err := store.StreamTable(run.ConnectionID, name)
		if err != nil {
			return nil, err
		}
		plan = append(plan, store.SyncStreamStart{Stream: name, Table: table, Incremental: st.Incremental != nil && !run.FullRefresh})
	}
	return plan, nil
}

// stream syncs one stream from its committed checkpoint to its end. The
// next page is fetched and decoded while the current one is written, so
// the provider, the decoding and Postgres work at the same time; only the
// writes advance the checkpoint.
func (s *Syncer) stream(ctx context.Context, run *tenantry.SyncRun, src *connections.Source, schema string, st tenantry.SyncStream) error {
	f, err := src.Fetcher(st.Stream)
	if err != nil {
		return err
	}
	def, _ := src.Definition.Stream(st.Stream)
	p := store.SyncPage{Run: run, Stream: st.Stream, Schema: schema, Table: st.Table, After: st.Pages,
		CursorAfter: st.CursorAfter, DetectDeletes: run.FullRefresh || def.Incremental == nil}
	ctx, cancel := context.WithCancel(ctx)
	pages := make(chan fetched, 1)
	var wg sync.WaitGroup
	wg.Go(func() { s.prefetch(ctx, f, def.PrimaryKey, st.Checkpoint, st.CursorBefore, pages) })
	defer wg.Wait()
	defer cancel()
	empty := 0
	for fp := range pages {
		if fp.err != nil {
			return fp.err
		}
		p.Records, p.Checkpoint, p.Done = fp.records, fp.page.Checkpoint, fp.page.Done
		p.CursorAfter = fetch.LaterCursor(p.CursorAfter, fp.page.MaxCursor)
		p.StateCursor = fetch.LaterCursor(st.CursorBefore, p.CursorAfter)
		if err := s.store.WriteSyncPage(ctx, p); err != nil {
			if tenantry.ErrorCode(err) == tenantry.ECONFLICT {
				// Another delivery of the job got there first: let it finish.
				return tenantry.Errorf(tenantry.EUNAVAILABLE, "stream %s: %s", st.Stream, tenantry.ErrorMessage(err))
			}
			return err
		}
		if p.Done {
			return nil
		}
		if empty = emptyRun(empty, fp.page); empty >= s.cfg.MaxEmptyPages {
			return stalled("%d pages in a row without records", empty)
		}
		p.After++
	}
	return ctx.Err()
}

// fetched is a page read ahead of the writer, or why reading stopped.
type fetched struct {
	page    *fetch.Page
	records []store.SyncedRecord
	err     error
}

// prefetch reads pages from checkpoint on into out, which holds one page
// while the writer works on the one before, and closes out after the
// last page, an error, or when ctx is done.
func (s *Syncer) prefetch(ctx context.Context, f *fetch.Fetcher, primaryKey, checkpoint, since string, out chan<- fetched) {
	defer close(out)
	for {
		var fp fetched
		fp.page, fp.err = s.next(ctx, f, checkpoint, since)
		if fp.err == nil {
			fp.records, fp.err = records(fp.page.Records, primaryKey)
		}
		select {
		case out <- fp:
		case <-ctx.Done():
			return
		}
		if fp.err != nil || fp.page.Done {
			return
		}
		checkpoint = fp.page.Checkpoint
	}
}

func emptyRun(n int, page *fetch.Page) int {
	if len(page.Records) == 0 {
		return n + 1
	}
	return 0
}

// next fetches one page within the stall timeout.
func (s *Syncer) next(ctx context.Context, f *fetch.Fetcher, checkpoint, since string) (*fetch.Page, error) {
	pctx, cancel := context.WithTimeout(ctx, s.cfg.StallTimeout)
	defer cancel()
	page, err := f.Next(pctx, checkpoint, since)
	if err != nil && ctx.Err() == nil && errors.Is(pctx.Err(), context.DeadlineExceeded) {
		return nil, stalled("no page within %s", s.cfg.StallTimeout)
	}
	return page, err
}

// records encodes a page's records for the warehouse, keyed by their
// primary key.
func records(recs []map[string]any, primaryKey string) ([]store.SyncedRecord, error) {
	out := make([]store.SyncedRecord, len(recs))
	for i, r := range recs {
		key, ok := fetch.RecordKey(r, primaryKey)
		if !ok {
			return nil, tenantry.Errorf(tenantry.EINVALID, "record %d: primary key %q is not a string or a number", i, primaryKey)
		}
		data, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("encode record %s: %w", key, err)
		}
		out[i] = store.SyncedRecord{Key: key, Data: data}
	}
	return out, nil
}
