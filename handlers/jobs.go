package handlers

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// getJob returns a job the caller owns: a partner's, or for an
// end-customer, its account's. Others are 404.
func (s *Server) getJob(w http.ResponseWriter, r *http.Request) error {
	j, err := s.store.Job(r.Context(), caller(r), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, j)
}
