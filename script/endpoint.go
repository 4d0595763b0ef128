package script

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"go.starlark.net/starlark"
	"golang.org/x/net/http/httpguts"
)

// HTTPRequest is the argument of a published endpoint's
// handler(request), as a dict.
type HTTPRequest struct {
	Method      string            `json:"method"`
	URL         string            `json:"url"`          // the full URL the client called
	Path        string            `json:"path"`         // the endpoint's path, as chosen when it was published
	QueryString string            `json:"query_string"` // undecoded, without "?"
	Headers     map[string]string `json:"headers"`      // canonical names (X-Api-Key); repeated headers joined with ", "
	// Data is the body: parsed for application/json, else the text
	// (None when empty).
	Data json.RawMessage `json:"data"`
	// Form holds the fields of an application/x-www-form-urlencoded body
	// (the first value of each); empty otherwise.
	Form map[string]string `json:"form"`
}

// Response is the HTTP response a handler's return value stands for.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Limits of a handler's response headers.
const (
	maxResponseHeaders     = 100
	maxResponseHeaderBytes = 8 << 10
)

// managedHeaders are response headers the platform sets; a handler may
// not.
var managedHeaders = map[string]bool{"Connection": true, "Content-Length": true, "Keep-Alive": true,
	"Proxy-Connection": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"X-Request-Id": true}

// Response turns what a handler returned into an HTTP response: a dict,
// list, number or boolean is a JSON 200, a string a text/plain 200, None
// a 204; a tuple (status, body[, headers]) says all three, its body
// encoded as the value would be (bytes as they are). The error, for a
// tuple that is not a response, is safe to show to the script's author.
// Call it on a successful run only.
func (r *Result) Response() (*Response, error) {
	if !r.Tuple {
		resp := &Response{Status: http.StatusOK, Header: http.Header{}}
		if bytes.Equal(r.Value, []byte("null")) || len(r.Value) == 0 {
			resp.Status = http.StatusNoContent
			return resp, nil
		}
		resp.Body = body(r.Value, false, resp.Header)
		return resp, nil
	}
	var parts []json.RawMessage
	if err := json.Unmarshal(r.Value, &parts); err != nil || len(parts) < 2 || len(parts) > 3 {
		return nil, fmt.Errorf("a tuple returned by handler must be (status, body) or (status, body, headers)")
	}
	resp := &Response{Header: http.Header{}}
	if err := json.Unmarshal(parts[0], &resp.Status); err != nil || resp.Status < 200 || resp.Status > 599 {
		return nil, fmt.Errorf("the status returned by handler must be an integer from 200 to 599, not %s", clip(parts[0]))
	}
	if len(parts) == 3 {
		if err := headers(parts[2], resp.Header); err != nil {
			return nil, err
		}
	}
	resp.Body = body(parts[1], r.Binary, resp.Header)
	return resp, nil
}

// body is the bytes of a body value, setting the Content-Type it implies
// unless h has one.
func body(v json.RawMessage, binary bool, h http.Header) []byte {
	var s string
	isString := json.Unmarshal(v, &s) == nil
	out, ctype := []byte(v), "application/json"
	switch {
	case bytes.Equal(v, []byte("null")):
		return nil
	case binary && isString:
		out, _ = base64.StdEncoding.DecodeString(s)
		ctype = "application/octet-stream"
	case isString:
		out, ctype = []byte(s), "text/plain; charset=utf-8"
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", ctype)
	}
	return out
}

// headers reads a handler's headers: a dict of names to a string, or a
// list of strings for a repeated header.
func headers(v json.RawMessage, h http.Header) error {
	var m map[string]any
	if err := json.Unmarshal(v, &m); err != nil {
		return fmt.Errorf("the headers returned by handler must be a dict of names to strings")
	}
	if len(m) > maxResponseHeaders {
		return fmt.Errorf("handler returned more than %d headers", maxResponseHeaders)
	}
	for name, val := range m {
		canonical := http.CanonicalHeaderKey(name)
		if !httpguts.ValidHeaderFieldName(name) || managedHeaders[canonical] || strings.HasPrefix(canonical, "X-Tenantry-") {
			return fmt.Errorf("handler may not return the header %q", clip([]byte(name)))
		}
		var values []string
		switch val := val.(type) {
		case string:
			values = []string{val}
		case []any:
			for _, x := range val {
				s, ok := x.(string)
				if !ok {
					return fmt.Errorf("the values of header %s must be strings", canonical)
				}
				values = append(values, s)
			}
		default:
			return fmt.Errorf("the value of header %s must be a string or a list of strings", canonical)
		}
		for _, s := range values {
			if !httpguts.ValidHeaderFieldValue(s) || len(s) > maxResponseHeaderBytes {
				return fmt.Errorf("the value of header %s is not a valid header value (no line breaks, at most %d KiB)",
					canonical, maxResponseHeaderBytes>>10)
			}
			h.Add(canonical, s)
		}
	}
	return nil
}

// clip shortens a value quoted in an error message.
func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// output encodes what the entry point returned into out. A handler's
// tuple keeps its shape (out.Tuple), and its body, when bytes, travels
// as base64 (out.Binary): JSON has no bytes.
func (ru *run) output(v starlark.Value, out *runOutcome) (err error) {
	if t, ok := v.(starlark.Tuple); ok && ru.req.Entry == EntryHandler {
		out.Tuple = true
		if len(t) >= 2 {
			if b, ok := t[1].(starlark.Bytes); ok {
				enc := starlark.String(base64.StdEncoding.EncodeToString([]byte(b)))
				v, out.Binary = append(starlark.Tuple{t[0], enc}, t[2:]...), true
			}
		}
	}
	out.Value, err = ru.encode(v)
	return err
}
