package script_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/http/httpguts"

	"github.com/tenantry/tenantry/script"
)

// TestHandlerResponses runs handlers returning each shape of value and
// checks the HTTP response each stands for.
func TestHandlerResponses(t *testing.T) {
	t.Parallel()
	p := newPool(t, script.Config{Runners: 1})
	handle := func(t *testing.T, ret string) (*script.Response, error) {
		prog, err := p.Compile("def handler(request):\n    return " + ret + "\n")
		require.NoError(t, err)
		res, err := p.Run(context.Background(), script.Request{Program: prog, Entry: script.EntryHandler, Input: []byte(`{"path": "/x"}`)})
		require.NoError(t, err)
		require.Nil(t, res.Failure)
		return res.Response()
	}
	for name, c := range map[string]struct {
		ret, body, ctype string
		status           int
		header           http.Header
	}{
		"Dict":          {`{"a": request["path"]}`, `{"a":"/x"}`, "application/json", 200, nil},
		"List":          {`[201, "x", {}]`, `[201,"x",{}]`, "application/json", 200, nil},
		"Number":        {`42`, `42`, "application/json", 200, nil},
		"String":        {`"hi"`, `hi`, "text/plain; charset=utf-8", 200, nil},
		"None":          {`None`, ``, "", 204, nil},
		"DEL":           {`{"s": "a\x7fb\\x7f"}`, `{"s":"a\u007fb\\x7f"}`, "application/json", 200, nil},
		"Tuple":         {`(201, {"id": 1}, {"Location": "/x/1"})`, `{"id":1}`, "application/json", 201, http.Header{"Location": {"/x/1"}}},
		"TupleOfTwo":    {`(202, "ok")`, `ok`, "text/plain; charset=utf-8", 202, nil},
		"TupleBytes":    {`(200, b"\x00\xff", {"Content-Type": "image/png"})`, "\x00\xff", "image/png", 200, nil},
		"TupleNone":     {`(304, None, {})`, ``, "", 304, nil},
		"RepeatedValue": {`(200, "", {"set-cookie": ["a=1", "b=2"]})`, ``, "text/plain; charset=utf-8", 200, http.Header{"Set-Cookie": {"a=1", "b=2"}}},
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := handle(t, c.ret)
			require.NoError(t, err)
			require.Equal(t, c.status, resp.Status)
			require.Equal(t, c.body, string(resp.Body))
			require.Equal(t, c.ctype, resp.Header.Get("Content-Type"))
			for k, v := range c.header {
				require.Equal(t, v, resp.Header.Values(k))
			}
		})
	}
	for name, ret := range map[string]string{
		"StatusTooHigh":   `(600, "x")`,
		"Informational":   `(101, "x")`,
		"StatusNotInt":    `("200", "x")`,
		"StatusFloat":     `(200.5, "x")`,
		"TooShort":        `(200,)`,
		"TooLong":         `(200, "x", {}, 1)`,
		"HeadersNotDict":  `(200, "x", ["a"])`,
		"BadHeaderName":   `(200, "x", {"a b": "1"})`,
		"HeaderLineBreak": `(200, "x", {"X-A": "1\r\nX-B: 2"})`,
		"HeaderNotString": `(200, "x", {"X-A": 1})`,
		"ManagedHeader":   `(200, "x", {"Content-Length": "1"})`,
		"RequestIDHeader": `(200, "x", {"x-request-id": "mine"})`,
		"TenantryHeader":  `(200, "x", {"X-Tenantry-Run-Id": "mine"})`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := handle(t, ret)
			require.Error(t, err, ret)
		})
	}
}

// FuzzResponse: whatever a handler's value, Response is a valid HTTP
// response or an error, never a panic.
func FuzzResponse(f *testing.F) {
	for _, seed := range []string{`{}`, `[200, "x", {}]`, `[99, 1]`, `[200, null, {"a": ["b", 1]}]`, `"\u0000"`, `[1e400]`, `null`, ``} {
		f.Add([]byte(seed), true, false)
	}
	f.Fuzz(func(t *testing.T, value []byte, tuple, binary bool) {
		resp, err := (&script.Result{Value: value, Tuple: tuple, Binary: binary}).Response()
		if err != nil {
			return
		}
		if resp.Status < 200 || resp.Status > 599 {
			t.Fatalf("status %d", resp.Status)
		}
		for k, vs := range resp.Header {
			for _, v := range vs {
				if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
					t.Fatalf("header %q: %q", k, v)
				}
			}
		}
	})
}
