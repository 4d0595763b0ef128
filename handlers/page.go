package handlers

import (
	"encoding/base64"
	"net/http"
	"strconv"

	"github.com/tenantry/tenantry"
)

const (
	defaultLimit = 50
	maxLimit     = 200
)

// parsePage reads ?limit= (1–200, default 50) and ?cursor= (opaque).
func parsePage(r *http.Request) (tenantry.Page, error) {
	q := r.URL.Query()
	p := tenantry.Page{Limit: defaultLimit}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return p, tenantry.Invalid(tenantry.FieldError{Field: "limit", Message: "must be an integer from 1 to 200"})
		}
		p.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil {
			return p, tenantry.Invalid(tenantry.FieldError{Field: "cursor", Message: "is not a cursor this API returned"})
		}
		p.Cursor = string(raw)
	}
	return p, nil
}

func newList[T any](items []T, next string) list[T] {
	l := list[T]{Items: items}
	if l.Items == nil {
		l.Items = []T{}
	}
	if next != "" {
		c := base64.RawURLEncoding.EncodeToString([]byte(next))
		l.NextCursor = &c
	}
	return l
}
