package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/script"
)

// interfaceRequest is the body of POST and PUT /api/interface. schedule
// may be seconds as a number or a string, a cron expression, or null or
// "" for none.
type interfaceRequest struct {
	Name     *string         `json:"name"`
	RawCode  *string         `json:"raw_code"`
	Schedule json.RawMessage `json:"schedule"`
}

// interfaceFields validates a request, reporting every bad field; a
// script that does not compile is named with its line and column.
func interfaceFields(in interfaceRequest, create bool, now time.Time) (tenantry.InterfaceFields, error) {
	var f tenantry.InterfaceFields
	var errs []tenantry.FieldError
	add := func(field, msg string) { errs = append(errs, tenantry.FieldError{Field: field, Message: msg}) }
	if in.Name != nil || create {
		name := strings.TrimSpace(deref(in.Name))
		if name == "" || utf8.RuneCountInString(name) > 100 || strings.ContainsRune(name, 0) {
			add("name", "is required: 1 to 100 characters")
		}
		f.Name = &name
	}
	if in.RawCode != nil || create {
		code := deref(in.RawCode)
		if strings.TrimSpace(code) == "" {
			add("raw_code", "is required: a Starlark script")
		} else if _, err := script.Compile(code); err != nil {
			add("raw_code", compileMessage(err))
		}
		f.RawCode = &code
	}
	if len(in.Schedule) > 0 {
		sched, next, err := parseSchedule(in.Schedule, now)
		if err != nil {
			add("schedule", err.Error())
		}
		f.Schedule, f.NextRunAt = &sched, next
	}
	if len(errs) > 0 {
		return f, tenantry.Invalid(errs...)
	}
	return f, nil
}

// compileMessage says where and why a script does not compile.
func compileMessage(err error) string {
	var ce *script.CompileError
	if errors.As(err, &ce) {
		return ce.Error()
	}
	return "does not compile"
}

// parseSchedule reads a schedule and its first slot after now; "" and
// null mean none.
func parseSchedule(raw json.RawMessage, now time.Time) (string, *time.Time, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", nil, errors.New("must be seconds or a cron expression")
	}
	var s string
	switch v := v.(type) {
	case nil:
	case string:
		s = strings.TrimSpace(v)
	case float64:
		s = strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return "", nil, errors.New("must be seconds or a cron expression")
	}
	if s == "" {
		return "", nil, nil
	}
	sched, err := script.ParseSchedule(s)
	var e *tenantry.Error
	if errors.As(err, &e) && len(e.Fields) > 0 {
		return "", nil, errors.New(e.Fields[0].Message)
	}
	if err != nil {
		return "", nil, err
	}
	next := sched.Next(now)
	return s, &next, nil
}

// createInterface stores an end-customer's script after compiling it: a
// script that does not compile is a 400 naming raw_code, with the line
// and column.
func (s *Server) createInterface(w http.ResponseWriter, r *http.Request) error {
	c := caller(r)
	if c.AccountID == "" {
		return tenantry.Errorf(tenantry.EFORBIDDEN, "interfaces are made with the end-customer's token")
	}
	var in interfaceRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	f, err := interfaceFields(in, true, time.Now())
	if err != nil {
		return err
	}
	i := &tenantry.Interface{Name: *f.Name, RawCode: *f.RawCode, Schedule: deref(f.Schedule), NextRunAt: f.NextRunAt}
	if err := s.store.CreateInterface(r.Context(), c, i); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/interface/"+i.ID)
	return writeJSON(w, http.StatusCreated, i)
}

func (s *Server) getInterface(w http.ResponseWriter, r *http.Request) error {
	i, err := s.store.Interface(r.Context(), caller(r), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, i)
}

func (s *Server) listInterfaces(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r)
	if err != nil {
		return err
	}
	items, next, err := s.store.Interfaces(r.Context(), caller(r), page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(items, next))
}

// updateInterface changes the fields given; a new schedule starts from
// now.
func (s *Server) updateInterface(w http.ResponseWriter, r *http.Request) error {
	var in interfaceRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	f, err := interfaceFields(in, false, time.Now())
	if err != nil {
		return err
	}
	i, err := s.store.UpdateInterface(r.Context(), caller(r), chi.URLParam(r, "id"), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, i)
}

func (s *Server) deleteInterface(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteInterface(r.Context(), caller(r), chi.URLParam(r, "id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// runInterface accepts a run: 202 with the run (status queued) and its
// job_id; GET /api/interface/{id}/runs and GET /api/jobs/{job_id} tell
// the outcome.
func (s *Server) runInterface(w http.ResponseWriter, r *http.Request) error {
	run, msg, err := s.store.QueueScriptRun(r.Context(), caller(r), chi.URLParam(r, "id"), requestID(r.Context()))
	if err != nil {
		return err
	}
	s.accept(r.Context(), msg)
	return writeJSON(w, http.StatusAccepted, run)
}

// listRuns lists an interface's runs, newest first.
func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r)
	if err != nil {
		return err
	}
	items, next, err := s.store.ScriptRuns(r.Context(), caller(r), chi.URLParam(r, "id"), page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(items, next))
}
