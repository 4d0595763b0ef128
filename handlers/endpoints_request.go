package handlers

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/script"
)

// hopHeaders are request headers about the connection to the API, not
// the request: a handler does not see them.
var hopHeaders = map[string]bool{"Connection": true, "Keep-Alive": true, "Proxy-Authorization": true,
	"Proxy-Connection": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true}

// endpointInput is the handler's request dict, as JSON: body parsed as
// JSON for a JSON content type, else as text (and as form fields for a
// urlencoded form). The Authorization header of a jwt endpoint's call is
// tenantry's, checked already, and withheld from the script. EINVALID
// for a body that is malformed JSON, a malformed form, or not UTF-8.
func endpointInput(r *http.Request, body []byte, path, publicURL string, jwt bool) (json.RawMessage, error) {
	in := script.HTTPRequest{Method: r.Method, URL: publicURL + r.URL.RequestURI(), Path: path,
		QueryString: r.URL.RawQuery, Headers: make(map[string]string, len(r.Header)+1), Form: map[string]string{}}
	for k, v := range r.Header {
		if !hopHeaders[k] && !(jwt && k == "Authorization") {
			in.Headers[k] = strings.Join(v, ", ")
		}
	}
	in.Headers["Host"] = r.Host
	var err error
	if in.Data, err = endpointData(r.Header.Get("Content-Type"), body, in.Form); err != nil {
		return nil, err
	}
	return json.Marshal(in)
}

// endpointData is the body as the handler's request["data"], filling form
// from a urlencoded one.
func endpointData(contentType string, body []byte, form map[string]string) (json.RawMessage, error) {
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
