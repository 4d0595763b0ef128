package handlers

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"github.com/tenantry/tenantry"
)

// syncStarted is the answer to a sync request.
type syncStarted struct {
	ID     string `json:"id"`
	JobID  string `json:"job_id"`
	Status string `json:"status"`
}

// requestSync queues a sync of a connection: 202 with the run's job. The
// body is optional: {streams: [...], full_refresh: bool}. While another
// sync of the connection is queued or running the answer is 409, naming
// its job: one sync at a time, and the caller decides whether to wait
// for that one or ask again.
func (s *Server) requestSync(w http.ResponseWriter, r *http.Request) error {
	var in tenantry.SyncRequest
	if err := decodeOptionalJSON(w, r, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	id := chi.URLParam(r, "id")
	conn, err := s.store.Connection(r.Context(), caller(r), id)
	if err != nil {
		return err
	}
	if err := s.checkStreams(conn.ServerTypeID, in.Streams); err != nil {
		return err
	}
	in.RequestID = requestID(r.Context())
	run, msgs, err := s.store.RequestSync(r.Context(), caller(r), id, in, tenantry.SyncTriggerAPI)
	if err != nil {
		return err
	}
	s.accept(r.Context(), msgs...)
	w.Header().Set("Location", "/api/jobs/"+run.JobID)
	return writeJSON(w, http.StatusAccepted, syncStarted{ID: run.ID, JobID: run.JobID, Status: run.Status})
}

// checkStreams checks that streams names streams of the connector, once each.
func (s *Server) checkStreams(serverType string, streams []string) error {
	d, ok := s.conns.Catalog().Get(serverType)
	if !ok {
		return tenantry.Errorf(tenantry.ECONFLICT, "connector %q is no longer in the catalog", serverType)
	}
	if len(d.Streams) == 0 {
		return tenantry.Errorf(tenantry.ECONFLICT, "connector %s has no streams to sync", serverType)
	}
	for i, name := range streams {
		field := fmt.Sprintf("streams[%d]", i)
		if _, ok := d.Stream(name); !ok {
			return tenantry.Invalid(tenantry.FieldError{Field: field, Message: fmt.Sprintf("connector %s has no stream %q", serverType, name)})
		}
		if slices.Index(streams, name) < i {
			return tenantry.Invalid(tenantry.FieldError{Field: field, Message: "is listed twice"})
		}
	}
	return nil
}

// listSyncs lists a connection's sync runs, newest first.
func (s *Server) listSyncs(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r)
	if err != nil {
		return err
	}
	runs, next, err := s.store.SyncRuns(r.Context(), caller(r), chi.URLParam(r, "id"), page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(runs, next))
}

// syncSchedule is a connection's sync interval; 0 means none.
type syncSchedule struct {
	SyncEvery *int `json:"sync_every"`
}

// putSyncSchedule sets how often the scheduler syncs a connection, in
// seconds (at least 60; 0 stops it).
func (s *Server) putSyncSchedule(w http.ResponseWriter, r *http.Request) error {
	var in syncSchedule
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	if in.SyncEvery == nil || (*in.SyncEvery != 0 && *in.SyncEvery < 60) || *in.SyncEvery > 366*24*3600 {
		return tenantry.Invalid(tenantry.FieldError{Field: "sync_every", Message: "is required: seconds between syncs, from 60 to a year, or 0 for none"})
	}
	if err := s.store.SetSyncSchedule(r.Context(), caller(r), chi.URLParam(r, "id"), *in.SyncEvery); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, in)
}
