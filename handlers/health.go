package handlers

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/tenantry/tenantry"
)

// healthz says the process is alive; it checks nothing else.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	_ = writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz runs every readiness check (Postgres, NATS); 503 naming the
// failing ones if any fails.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var failing []tenantry.FieldError
	for name, check := range s.ready {
		if err := check(ctx); err != nil {
			failing = append(failing, tenantry.FieldError{Field: name, Message: "not ready"})
		}
	}
	if len(failing) > 0 {
		sort.Slice(failing, func(i, j int) bool { return failing[i].Field < failing[j].Field })
		return &tenantry.Error{Code: tenantry.EUNAVAILABLE, Message: "a dependency is not ready", Fields: failing}
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
