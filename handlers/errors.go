package handlers

import (
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
)

// statuses maps every error code to its HTTP status; the one table.
var statuses = map[string]int{
	tenantry.EINVALID:      http.StatusBadRequest,
	tenantry.EUNAUTHORIZED: http.StatusUnauthorized,
	tenantry.EFORBIDDEN:    http.StatusForbidden,
	tenantry.ENOTFOUND:     http.StatusNotFound,
	tenantry.ECONFLICT:     http.StatusConflict,
	tenantry.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	tenantry.EMISMATCH:     http.StatusUnprocessableEntity,
	tenantry.ERATELIMIT:    http.StatusTooManyRequests,
	tenantry.EUNAVAILABLE:  http.StatusServiceUnavailable,
	tenantry.EINTERNAL:     http.StatusInternalServerError,
}

// problem is an RFC 9457 problem document.
type problem struct {
	Type      string                `json:"type"`
	Title     string                `json:"title"`
	Status    int                   `json:"status"`
	Detail    string                `json:"detail"`
	Code      string                `json:"code"`
	RequestID string                `json:"request_id,omitempty"`
	Errors    []tenantry.FieldError `json:"errors,omitempty"`
}

// writeError sends err as a problem document. Internal errors are logged
// with the request id and reach the client as a bare "internal error".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := tenantry.ErrorCode(err)
	status := statuses[code]
	p := problem{Type: "urn:tenantry:problem:" + code, Title: http.StatusText(status), Status: status,
		Detail: tenantry.ErrorMessage(err), Code: code, RequestID: requestID(r.Context())}
	var e *tenantry.Error
	if errors.As(err, &e) {
		p.Errors = e.Fields
	}
	if code == tenantry.EINTERNAL {
		s.log.Error("internal error", zap.String("request_id", p.RequestID), zap.Error(err))
	}
	if code == tenantry.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tenantry"`)
	}
	writeProblem(w, p)
}

func writeProblem(w http.ResponseWriter, p problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	writeBody(w, p.Status, p)
}

// handlerFunc is an HTTP handler that returns its error instead of
// writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// wrap turns a handlerFunc into an http.Handler that writes its error.
func (s *Server) wrap(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}
}
