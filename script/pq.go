package script

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// pqModule is the platform, as scripts see it. Every function is a host
// call: the runner itself reaches nothing.
var pqModule = &starlarkstruct.Module{Name: "pq", Members: starlark.StringDict{
	"dbconnect":  starlark.NewBuiltin("pq.dbconnect", dbconnect),
	"get_secret": starlark.NewBuiltin("pq.get_secret", getSecret),
	"log":        starlark.NewBuiltin("pq.log", pqLog),
}}

// dbconnect returns the tenant's warehouse connection. The name is kept
// for scripts written against other platforms, where it chose among
// several databases; a tenant has one warehouse.
func dbconnect(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name); err != nil {
		return nil, err
	}
	return starlarkstruct.FromStringDict(starlark.String("connection"), starlark.StringDict{
		"name":   starlark.String(name),
		"fetch":  starlark.NewBuiltin("fetch", fetch),
		"insert": starlark.NewBuiltin("insert", write(FnInsert)),
		"upsert": starlark.NewBuiltin("upsert", write(FnUpsert)),
	}), nil
}

// fetch(db, schema, table, where=None, limit=None) → a list of dicts.
func fetch(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var db, table string
	var schema, where starlark.Value = starlark.None, starlark.None
	limit := 0
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "db", &db, "schema", &schema, "table", &table,
		"where?", &where, "limit?", &limit); err != nil {
		return nil, err
	}
	in := map[string]any{"db": db, "table": table, "limit": limit}
	for name, v := range map[string]starlark.Value{"schema": schema, "where": where} {
		s, err := optString(b.Name(), name, v)
		if err != nil {
			return nil, err
		}
		in[name] = s
	}
	out, err := hostCall(thread, b.Name(), FnFetch, in)
	if err != nil {
		return nil, err
	}
	var reply struct {
		Rows json.RawMessage `json:"rows"`
	}
	if err := json.Unmarshal(out, &reply); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return decodeJSON(thread, reply.Rows)
}

// write makes insert(db, schema, table, record) and upsert(db, schema,
// table, key, record); both return the record's key.
func write(fn string) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var db, table string
		var schema, key starlark.Value = starlark.None, starlark.None
		var record *starlark.Dict
		var err error
		if fn == FnUpsert {
			err = starlark.UnpackArgs(b.Name(), args, kwargs, "db", &db, "schema", &schema, "table", &table, "key", &key, "record", &record)
		} else {
			err = starlark.UnpackArgs(b.Name(), args, kwargs, "db", &db, "schema", &schema, "table", &table, "record", &record)
		}
		if err != nil {
			return nil, err
		}
		s, err := optString(b.Name(), "schema", schema)
		if err != nil {
			return nil, err
		}
		rec, err := toJSON(thread, b.Name(), record)
		if err != nil {
			return nil, err
		}
		in := map[string]any{"db": db, "schema": s, "table": table, "record": rec}
		if fn == FnUpsert {
			in["key"] = plain(key)
		}
		out, err := hostCall(thread, b.Name(), fn, in)
		if err != nil {
			return nil, err
		}
		var reply struct {
			Key string `json:"key"`
		}
		if err := json.Unmarshal(out, &reply); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		return starlark.String(reply.Key), nil
	}
}

// getSecret(name) is the value of the tenant's Secret Store connection
// called name.
func getSecret(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name); err != nil {
		return nil, err
	}
	out, err := hostCall(thread, b.Name(), FnGetSecret, map[string]any{"name": name})
	if err != nil {
		return nil, err
	}
	var reply struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(out, &reply); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return starlark.String(reply.Value), nil
}

// pqLog writes its arguments, separated by spaces, to the run's log.
func pqLog(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf("%s: unexpected keyword arguments", b.Name())
	}
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = plain(a)
	}
	runOf(thread).log(strings.Join(parts, " "))
	return starlark.None, nil
}

// hostCall performs fn on the host for the run thread belongs to; a
// refusal becomes the builtin's error.
func hostCall(thread *starlark.Thread, name, fn string, args any) (json.RawMessage, error) {
	out, err := runOf(thread).call(fn, args)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return out, nil
}

// optString accepts None (as "") or a string.
func optString(fn, param string, v starlark.Value) (string, error) {
	if v == starlark.None {
		return "", nil
	}
	s, ok := starlark.AsString(v)
	if !ok {
		return "", fmt.Errorf("%s: %s must be a string or None, not %s", fn, param, v.Type())
	}
	return s, nil
}

// httpModule is HTTP egress: every request goes through the host's
// guarded client, which refuses private and metadata addresses.
var httpModule = &starlarkstruct.Module{Name: "http", Members: starlark.StringDict{
	"get":     starlark.NewBuiltin("http.get", httpMethod("GET")),
	"post":    starlark.NewBuiltin("http.post", httpMethod("POST")),
	"put":     starlark.NewBuiltin("http.put", httpMethod("PUT")),
	"patch":   starlark.NewBuiltin("http.patch", httpMethod("PATCH")),
	"delete":  starlark.NewBuiltin("http.delete", httpMethod("DELETE")),
	"request": starlark.NewBuiltin("http.request", httpMethod("")),
}}

// httpMethod makes http.<method>(url, params=None, headers=None,
// json=None, data=None); http.request takes the method first.
func httpMethod(method string) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		m := method
		var rawURL string
		var params, headers *starlark.Dict
		var jsonBody, data starlark.Value = starlark.None, starlark.None
		spec := []any{"url", &rawURL, "params?", &params, "headers?", &headers, "json?", &jsonBody, "data?", &data}
		if m == "" {
			spec = append([]any{"method", &m}, spec...)
		}
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, spec...); err != nil {
			return nil, err
		}
		req, err := httpRequest(thread, b.Name(), strings.ToUpper(m), rawURL, params, headers, jsonBody, data)
		if err != nil {
			return nil, err
		}
		out, err := hostCall(thread, b.Name(), FnHTTP, req)
		if err != nil {
			return nil, err
		}
		return httpResponse(b.Name(), out)
	}
}

// httpRequest is the host call for one request: the query from params,
// the body from json (encoded, Content-Type set) or data (a string, or a
// dict sent as a form).
func httpRequest(thread *starlark.Thread, fn, method, rawURL string, params, headers *starlark.Dict,
	jsonBody, data starlark.Value) (map[string]any, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: %q is not an absolute http(s) URL", fn, rawURL)
	}
	if params != nil {
		q, err := queryOf(fn, params)
		if err != nil {
			return nil, err
		}
		extra := u.Query()
		for k, vs := range q {
			extra[k] = append(extra[k], vs...)
		}
		u.RawQuery = extra.Encode()
	}
	h := map[string]string{}
	if headers != nil {
		for _, item := range headers.Items() {
			h[plain(item[0])] = plain(item[1])
		}
	}
	var body string
	switch {
	case jsonBody != starlark.None:
		s, err := encodeJSON(thread, jsonBody)
		if err != nil {
			return nil, fmt.Errorf("%s: json: %w", fn, err)
		}
		body = s
		setDefault(h, "Content-Type", "application/json")
	case data != starlark.None:
		if d, ok := data.(*starlark.Dict); ok {
			q, err := queryOf(fn, d)
			if err != nil {
				return nil, err
			}
			body = q.Encode()
			setDefault(h, "Content-Type", "application/x-www-form-urlencoded")
		} else {
			body = plain(data)
		}
	}
	return map[string]any{"method": method, "url": u.String(), "headers": h, "body": body}, nil
}

func setDefault(h map[string]string, k, v string) {
	for name := range h {
		if strings.EqualFold(name, k) {
			return
		}
	}
	h[k] = v
}

// httpResponse is the response as scripts see it: status_code, ok,
// headers (lower-case names), text, and json() to decode text.
func httpResponse(fn string, out json.RawMessage) (starlark.Value, error) {
	var resp struct {
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	headers := starlark.NewDict(len(resp.Headers))
	for k, v := range resp.Headers {
		_ = headers.SetKey(starlark.String(strings.ToLower(k)), starlark.String(v))
	}
	text := starlark.String(resp.Body)
	decode := starlark.NewBuiltin("json", func(thread *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		return decodeJSON(thread, json.RawMessage(text))
	})
	return starlarkstruct.FromStringDict(starlark.String("response"), starlark.StringDict{
		"status_code": starlark.MakeInt(resp.Status),
		"ok":          starlark.Bool(resp.Status >= 200 && resp.Status < 300),
		"headers":     headers,
		"text":        text,
		"json":        decode,
	}), nil
}
