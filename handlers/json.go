package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tenantry/tenantry"
)

// readBody reads the whole request body, at most max bytes (ETOOLARGE
// beyond), and leaves r.Body readable again.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, tenantry.Errorf(tenantry.ETOOLARGE, "the request body exceeds %d bytes", max)
	}
	if err != nil {
		return nil, tenantry.Errorf(tenantry.EINVALID, "could not read the request body")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

// decodeJSON decodes the body into dst: one JSON object, no unknown
// fields, at most max bytes. Errors name the offending field.
func decodeJSON(w http.ResponseWriter, r *http.Request, max int64, dst any) error {
	body, err := readBody(w, r, max)
	if err != nil {
		return err
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return tenantry.Errorf(tenantry.EINVALID, "Content-Type must be application/json")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return tenantry.Errorf(tenantry.EINVALID, "the body must hold a single JSON object")
	}
	return nil
}

// decodeOptionalJSON is decodeJSON for a body that may be left out: an
// empty (or blank) body leaves dst as it is.
func decodeOptionalJSON(w http.ResponseWriter, r *http.Request, max int64, dst any) error {
	body, err := readBody(w, r, max)
	if err != nil || len(bytes.TrimSpace(body)) == 0 {
		return err
	}
	return decodeJSON(w, r, max, dst)
}

func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return tenantry.Invalid(tenantry.FieldError{Field: typeErr.Field, Message: "must be a " + typeName(typeErr.Type.Kind().String())})
	case errors.As(err, &typeErr):
		return tenantry.Errorf(tenantry.EINVALID, "the body must be a JSON object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return tenantry.Invalid(tenantry.FieldError{Field: field, Message: "unknown field"})
	case errors.As(err, &syntaxErr):
		return tenantry.Errorf(tenantry.EINVALID, "malformed JSON at byte %d", syntaxErr.Offset)
	case errors.Is(err, io.EOF):
		return tenantry.Errorf(tenantry.EINVALID, "the body is empty; a JSON object is required")
	}
	return tenantry.Errorf(tenantry.EINVALID, "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func typeName(kind string) string {
	switch kind {
	case "ptr", "string":
		return "string"
	case "bool":
		return "boolean"
	case "struct", "map":
		return "object"
	case "slice":
		return "array"
	}
	return kind
}

// writeJSON sends v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	writeBody(w, status, v)
	return nil
}

func writeBody(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		body = []byte(fmt.Sprintf(`{"status":500,"code":"internal","detail":"encode: %q"}`, err.Error()))
		status = http.StatusInternalServerError
	}
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// list is the envelope of every list response.
type list[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}
