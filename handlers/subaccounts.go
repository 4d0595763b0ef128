package handlers

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/tenantry/tenantry"
)

// accepted is the 202 answer to a request that started a job.
type accepted struct {
	*tenantry.Subaccount
	JobID string `json:"job_id"`
}

// createSubaccount accepts a new subaccount: the row, its provisioning
// job and command commit together, then the command is published.
func (s *Server) createSubaccount(w http.ResponseWriter, r *http.Request) error {
	var in tenantry.SubaccountFields
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	if err := validateSubaccount(in, true); err != nil {
		return err
	}
	a := &tenantry.Subaccount{PartnerID: caller(r).PartnerID, ExternalID: *in.ExternalID,
		FirstName: deref(in.FirstName), LastName: deref(in.LastName), Email: deref(in.Email),
		Language: deref(in.Language), CompanyName: deref(in.CompanyName)}
	cmd := &tenantry.Command{Kind: tenantry.KindProvision, RequestID: requestID(r.Context())}
	if err := s.store.CreateSubaccount(r.Context(), a, cmd); err != nil {
		return err
	}
	s.accept(r.Context(), cmd.Message())
	w.Header().Set("Location", "/api/subaccount/"+a.ID)
	return writeJSON(w, http.StatusAccepted, accepted{Subaccount: a, JobID: cmd.JobID})
}

func (s *Server) getSubaccount(w http.ResponseWriter, r *http.Request) error {
	a, err := s.store.Subaccount(r.Context(), caller(r), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

func (s *Server) listSubaccounts(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r)
	if err != nil {
		return err
	}
	f := tenantry.SubaccountFilter{ExternalID: r.URL.Query().Get("external_id"), Page: page}
	items, next, err := s.store.Subaccounts(r.Context(), caller(r), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(items, next))
}

func (s *Server) updateSubaccount(w http.ResponseWriter, r *http.Request) error {
	var in tenantry.SubaccountFields
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	if err := validateSubaccount(in, false); err != nil {
		return err
	}
	a, err := s.store.UpdateSubaccount(r.Context(), caller(r), chi.URLParam(r, "id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

// deleteSubaccount accepts the deletion; the worker drops the schema and
// role, and the subaccount reads as deleted (then 404) once it is done.
func (s *Server) deleteSubaccount(w http.ResponseWriter, r *http.Request) error {
	cmd := &tenantry.Command{Kind: tenantry.KindDeprovision, RequestID: requestID(r.Context())}
	a, err := s.store.DeleteSubaccount(r.Context(), caller(r), chi.URLParam(r, "id"), cmd)
	if err != nil {
		return err
	}
	s.accept(r.Context(), cmd.Message())
	return writeJSON(w, http.StatusAccepted, accepted{Subaccount: a, JobID: cmd.JobID})
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
