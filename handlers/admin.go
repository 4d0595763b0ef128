package handlers

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/events"
)

// MinAdminTokenLength is the shortest operator token accepted, so that
// guessing one is out of reach.
const MinAdminTokenLength = 32

// Admin is what the operator API (/api/admin/…) works with. Its
// credential is an operator token, independent of every partner: the
// DLQ and the streams hold every partner's messages.
type Admin struct {
	// Tokens are the accepted operator tokens (TENANTRY_ADMIN_TOKEN,
	// comma-separated so one can be rotated in before the old is
	// dropped). Each is at least MinAdminTokenLength characters.
	Tokens []string
	DLQ    *events.DeadLetters
	// Replayer runs POST /api/admin/replay; its check decides which
	// messages, applied already, are not published again.
	Replayer *events.Replayer
}

// UseAdmin turns on the operator API with a's tokens; without it (or
// without tokens) /api/admin/… answers 404. Call it before Router. It
// fails on a token shorter than MinAdminTokenLength.
func (s *Server) UseAdmin(a Admin) error {
	for _, t := range a.Tokens {
		if len(t) < MinAdminTokenLength {
			return tenantry.Errorf(tenantry.EINVALID, "an admin token must be at least %d characters", MinAdminTokenLength)
		}
		h := sha256.Sum256([]byte(t))
		s.adminTokens = append(s.adminTokens, h[:])
	}
	s.admin = &a
	return nil
}

// adminOnly lets through requests bearing an operator token. Tokens are
// compared as SHA-256 digests in constant time.
func (s *Server) adminOnly(next http.Handler) http.Handler {
	return s.wrap(func(w http.ResponseWriter, r *http.Request) error {
		token, err := bearerToken(r.Header.Get("Authorization"))
		if err != nil {
			return err
		}
		h := sha256.Sum256([]byte(token))
		ok := 0
		for _, want := range s.adminTokens {
			ok |= subtle.ConstantTimeCompare(h[:], want)
		}
		if ok != 1 {
			return tenantry.Errorf(tenantry.EUNAUTHORIZED, "this route needs an operator token (TENANTRY_ADMIN_TOKEN)")
		}
		next.ServeHTTP(w, r)
		return nil
	})
}

// adminRoutes are the operator API's routes, behind adminOnly.
func (s *Server) adminRoutes(r chi.Router) {
	r.Use(s.adminOnly)
	r.Get("/dlq", s.wrap(s.listDLQ))
	r.Get("/dlq/{seq}", s.wrap(s.getDLQ))
	r.Post("/dlq/redrive", s.wrap(s.redriveDLQ))
	r.Post("/dlq/purge", s.wrap(s.purgeDLQ))
	r.Post("/replay", s.wrap(s.replay))
}

// listDLQ lists dead letters, oldest first, without their data:
// ?subject= (the original subject, wildcards allowed), ?limit=, ?cursor=.
func (s *Server) listDLQ(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r)
	if err != nil {
		return err
	}
	var after uint64
	if page.Cursor != "" {
		if after, err = strconv.ParseUint(page.Cursor, 10, 64); err != nil {
			return tenantry.Invalid(tenantry.FieldError{Field: "cursor", Message: "is not a cursor this API returned"})
		}
	}
	items, next, err := s.admin.DLQ.List(r.Context(), events.DLQFilter{Subject: r.URL.Query().Get("subject"), After: after, Limit: page.Limit})
	if err != nil {
		return err
	}
	cursor := ""
	if next != 0 {
		cursor = strconv.FormatUint(next, 10)
	}
	return writeJSON(w, http.StatusOK, newList(items, cursor))
}

// getDLQ shows one dead letter with its headers and data (base64).
func (s *Server) getDLQ(w http.ResponseWriter, r *http.Request) error {
	seq, err := strconv.ParseUint(chi.URLParam(r, "seq"), 10, 64)
	if err != nil {
		return tenantry.Errorf(tenantry.ENOTFOUND, "dead letter %s not found", chi.URLParam(r, "seq"))
	}
	dl, err := s.admin.DLQ.Get(r.Context(), seq)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, dl)
}

// redriveDLQ publishes dead letters back to their subjects: body
// {"seqs": [...]} | {"subject": "cmd.>"} | {"all": true}.
func (s *Server) redriveDLQ(w http.ResponseWriter, r *http.Request) error {
	var sel events.DLQSelect
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &sel); err != nil {
		return err
	}
	n, err := s.admin.DLQ.Redrive(r.Context(), sel)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int{"redriven": n})
}

// purgeDLQ deletes dead letters for good; the same body as redrive.
func (s *Server) purgeDLQ(w http.ResponseWriter, r *http.Request) error {
	var sel events.DLQSelect
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &sel); err != nil {
		return err
	}
	n, err := s.admin.DLQ.Purge(r.Context(), sel)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]uint64{"purged": n})
}

// replay replays a stream range (events.ReplaySpec as JSON) and answers
// when it is done with the counts (events.ReplayProgress); messages the
// Replayer's check finds applied already are counted, not published.
// dry_run only counts. Long replays are better run with `tenantry
// replay`, which shows progress.
func (s *Server) replay(w http.ResponseWriter, r *http.Request) error {
	var spec events.ReplaySpec
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &spec); err != nil {
		return err
	}
	p, err := s.admin.Replayer.Replay(r.Context(), spec, nil)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}
