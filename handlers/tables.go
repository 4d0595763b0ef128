package handlers

import (
	"database/sql/driver"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/tenantry/tenantry"
)

type tableRequest struct {
	Name  string `json:"name"`
	Query string `json:"query"`
}

// createTable stores a named query over the end-customer's warehouse,
// after planning it in the tenant's sandbox: a query that cannot run
// there (syntax, another tenant's or the core schema) is a 400 naming
// query.
func (s *Server) createTable(w http.ResponseWriter, r *http.Request) error {
	c := caller(r)
	if c.AccountID == "" {
		return tenantry.Errorf(tenantry.EFORBIDDEN, "query tables are made with the end-customer's token")
	}
	var in tableRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	var errs []tenantry.FieldError
	if in.Name = strings.TrimSpace(in.Name); in.Name == "" || utf8.RuneCountInString(in.Name) > 100 || strings.ContainsRune(in.Name, 0) {
		errs = append(errs, tenantry.FieldError{Field: "name", Message: "is required: 1 to 100 characters"})
	}
	if strings.TrimSpace(in.Query) == "" || len(in.Query) > 64<<10 || strings.ContainsRune(in.Query, 0) {
		errs = append(errs, tenantry.FieldError{Field: "query", Message: "is required: one SQL query, at most 64 KiB"})
	}
	if len(errs) > 0 {
		return tenantry.Invalid(errs...)
	}
	if err := s.wh.Check(r.Context(), c.AccountID, in.Query); err != nil {
		return err
	}
	t := &tenantry.QueryTable{Name: in.Name, Query: in.Query}
	if err := s.store.CreateTable(r.Context(), c, t); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/table/"+t.ID)
	return writeJSON(w, http.StatusCreated, t)
}

func (s *Server) getTable(w http.ResponseWriter, r *http.Request) error {
	t, err := s.store.Table(r.Context(), caller(r), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

func (s *Server) listTables(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r)
	if err != nil {
		return err
	}
	items, next, err := s.store.Tables(r.Context(), caller(r), page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(items, next))
}

func (s *Server) deleteTable(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteTable(r.Context(), caller(r), chi.URLParam(r, "id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// tableRows runs a query table in its tenant's sandbox: ?limit= rows (1 to
// 10000, default 1000), as JSON, or CSV with Accept: text/csv.
func (s *Server) tableRows(w http.ResponseWriter, r *http.Request) error {
	limit := 1000
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return tenantry.Invalid(tenantry.FieldError{Field: "limit", Message: "must be an integer from 1 to 10000"})
		}
		limit = n
	}
	t, err := s.store.Table(r.Context(), caller(r), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	rows, err := s.wh.Query(r.Context(), t.AccountID, t.Query, limit)
	if err != nil {
		return err
	}
	if strings.Contains(r.Header.Get("Accept"), "text/csv") {
		return writeCSV(w, rows)
	}
	return writeJSON(w, http.StatusOK, rows)
}

// cell is v as CSV text: Postgres's own text for numerics and the like,
// RFC 3339 for times, JSON for structured values, empty for NULL.
func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case time.Time:
		return v.Format(time.RFC3339Nano)
	case driver.Valuer:
		if dv, err := v.Value(); err == nil && dv != nil {
			return fmt.Sprint(dv)
		}
		return ""
	case map[string]any, []any:
		b, _ := json.Marshal(v)
		return string(b)
	}
	return fmt.Sprint(v)
}

func writeCSV(w http.ResponseWriter, rows *tenantry.Rows) error {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	if rows.Truncated {
		w.Header().Set("Tenantry-Truncated", "true")
	}
	out := csv.NewWriter(w)
	_ = out.Write(rows.Columns)
	for _, row := range rows.Rows {
		rec := make([]string, len(row))
		for i, v := range row {
			rec[i] = cell(v)
		}
		_ = out.Write(rec)
	}
	out.Flush()
	return nil
}
