package handlers

import (
	"encoding/json"
	"net/http"

	"github.com/tenantry/tenantry/script"
)

// hopHeaders are request headers about the connection to the API, not
// the request: a handler does not see them.
var hopHeaders = map[string]bool{"Connection": true, "Keep-Alive": true, "Proxy-Authorization": true,
	"Proxy-Connection": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true}

// endpointInput is the handler's request dict, as JSON (built by
// script.NewHTTPRequest, as webhook handlers' are). The Authorization
// header of a jwt endpoint's call is tenantry's, checked already, and
// withheld from the script. EINVALID for a body that is malformed JSON, a
// malformed form, or not UTF-8.
func endpointInput(r *http.Request, body []byte, path, publicURL string, jwt bool) (json.RawMessage, error) {
	h := make(http.Header, len(r.Header)+1)
	for k, v := range r.Header {
		if !hopHeaders[k] && !(jwt && k == "Authorization") {
			h[k] = v
		}
	}
	h.Set("Host", r.Host)
	in, err := script.NewHTTPRequest(r.Method, publicURL+r.URL.RequestURI(), path, r.URL.RawQuery, h, body)
	if err != nil {
		return nil, err
	}
	return json.Marshal(in)
}
