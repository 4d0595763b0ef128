package script

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/tenantry/tenantry"
)

// NewHTTPRequest is the argument of handler(request) for an HTTP request
// made of these parts: header's repeated values joined with ", ", the
// body parsed by its Content-Type (see HTTPRequest's Data and Form).
// Published endpoints and webhook handlers both build it here, so one
// script sees one shape. EINVALID for a body that is malformed JSON, a
// malformed form, or not UTF-8.
func NewHTTPRequest(method, url, path, query string, header http.Header, body []byte) (*HTTPRequest, error) {
	in := &HTTPRequest{Method: method, URL: url, Path: path, QueryString: query,
		Headers: make(map[string]string, len(header)), Form: map[string]string{}}
	for k, v := range header {
		in.Headers[k] = strings.Join(v, ", ")
	}
	var err error
	if in.Data, err = requestData(header.Get("Content-Type"), body, in.Form); err != nil {
		return nil, err
	}
	return in, nil
}

// requestData is the body as request["data"], filling form from a
// urlencoded one.
func requestData(contentType string, body []byte, form map[string]string) (json.RawMessage, error) {
	if len(body) == 0 {
		return json.RawMessage("null"), nil
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/json" || strings.HasSuffix(mt, "+json") {
		if !json.Valid(body) {
			return nil, tenantry.Errorf(tenantry.EINVALID, "the body is not valid JSON")
		}
		return body, nil
	}
	if !utf8.Valid(body) {
		return nil, tenantry.Errorf(tenantry.EINVALID, "the body must be JSON, a urlencoded form or UTF-8 text")
	}
	if mt == "application/x-www-form-urlencoded" {
		values, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, tenantry.Errorf(tenantry.EINVALID, "the body is not a valid urlencoded form")
		}
		for k, v := range values {
			form[k] = v[0]
		}
	}
	return json.Marshal(string(body))
}
