package syncer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// stream syncs one stream from its committed checkpoint to its end.
func (s *Syncer) stream(ctx context.Context, run *tenantry.SyncRun, src *connections.Source, schema string, st tenantry.SyncStream) error {
	f, err := src.Fetcher(st.Stream)
	if err != nil {
		return err
	}
	def, _ := src.Definition.Stream(st.Stream)
	p := store.SyncPage{Run: run, Stream: st.Stream, Schema: schema, Table: st.Table, After: st.Pages,
		CursorAfter: st.CursorAfter, DetectDeletes: run.FullRefresh || def.Incremental == nil}
	checkpoint, empty := st.Checkpoint, 0
	for {
		page, err := s.next(ctx, f, checkpoint, st.CursorBefore)
		if err != nil {
			return err
		}
		if p.Records, err = records(page.Records, def.PrimaryKey); err != nil {
			return err
		}
		p.Checkpoint, p.Done = page.Checkpoint, page.Done
		p.CursorAfter = fetch.LaterCursor(p.CursorAfter, page.MaxCursor)
		p.StateCursor = fetch.LaterCursor(st.CursorBefore, p.CursorAfter)
		if _, _, _, err := s.store.WriteSyncPage(ctx, p); err != nil {
			if tenantry.ErrorCode(err) == tenantry.ECONFLICT {
				// Another delivery of the job got there first: let it finish.
				return tenantry.Errorf(tenantry.EUNAVAILABLE, "stream %s: %s", st.Stream, tenantry.ErrorMessage(err))
			}
			return err
		}
		if page.Done {
			return nil
		}
		if empty = emptyRun(empty, page); empty >= s.cfg.MaxEmptyPages {
			return stalled("%d pages in a row without records", empty)
		}
		checkpoint, p.After = page.Checkpoint, p.After+1
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
