package handlers

import (
	"bytes"
	"crypto/sha256"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/store"
)

// bodyRecorder keeps a copy of what a handler writes.
type bodyRecorder struct {
	statusRecorder
	body bytes.Buffer
}

func (r *bodyRecorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.statusRecorder.Write(b)
}

// idempotent honours an Idempotency-Key header on a POST: the first
// successful response is stored per caller and key; the same key with the
// same request replays it (Idempotent-Replayed: true), with another
// request is 422, and while the first is in flight is 409. Keys whose
// request failed are released, so a corrected retry runs.
func (s *Server) idempotent(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			return h(w, r)
		}
		if len(key) > 255 || strings.IndexFunc(key, func(r rune) bool { return r < '!' || r > '~' }) >= 0 {
			return tenantry.Invalid(tenantry.FieldError{Field: "Idempotency-Key", Message: "1 to 255 visible ASCII characters"})
		}
		body, err := readBody(w, r, s.cfg.MaxBodyBytes)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(append([]byte(r.Method+" "+r.URL.Path+"\n"), body...))
		scope := caller(r).Scope()
		stored, claimed, err := s.store.BeginIdempotent(r.Context(), scope, key, sum[:])
		if err != nil {
			return err
		}
		if !claimed {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(stored.Status)
			_, _ = w.Write(stored.Body)
			return nil
		}
		rec := &bodyRecorder{statusRecorder: statusRecorder{ResponseWriter: w}}
		err = h(rec, r)
		if err != nil || rec.status >= 300 {
			if relErr := s.store.ReleaseIdempotent(r.Context(), scope, key); relErr != nil {
				s.log.Warn("release idempotency key", zap.Error(relErr))
			}
			return err
		}
		resp := store.StoredResponse{Status: rec.status, Body: rec.body.Bytes()}
		if err := s.store.CompleteIdempotent(r.Context(), scope, key, resp); err != nil {
			s.log.Warn("store idempotent response", zap.Error(err))
		}
		return nil
	}
}
