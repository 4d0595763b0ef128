package script

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"go.starlark.net/lib/json"
	"go.starlark.net/lib/math"
	"go.starlark.net/lib/time"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// loadable are the modules load() may name; each is also predeclared
// under the same name, so load() is only a matter of style.
var loadable = map[string]*starlarkstruct.Module{
	"json": json.Module, "time": time.Module, "math": math.Module,
	"base64": base64Module, "hashlib": hashlibModule, "hmac": hmacModule,
}

func loadRefusal(name string) string {
	names := make([]string, 0, len(loadable))
	for n := range loadable {
		names = append(names, n)
	}
	slices.Sort(names)
	return fmt.Sprintf("load(%q): only these modules can be loaded: %s", name, strings.Join(names, ", "))
}

// predeclared is every global a script sees besides Starlark's own
// builtins. pq and http reach the host through the run in the thread.
func predeclared() starlark.StringDict {
	d := starlark.StringDict{
		"struct":    starlark.NewBuiltin("struct", starlarkstruct.Make),
		"parse_qs":  starlark.NewBuiltin("parse_qs", parseQS),
		"urlencode": starlark.NewBuiltin("urlencode", urlencode),
		"pq":        pqModule,
		"http":      httpModule,
	}
	for name, m := range loadable {
		d[name] = m
	}
	return d
}

// predeclaredNames is what the resolver accepts as global names, and the
// globals every run starts with (read only: Init does not change it).
var predeclaredNames = predeclared()

func isPredeclared(name string) bool { return predeclaredNames.Has(name) }

var base64Module = &starlarkstruct.Module{Name: "base64", Members: starlark.StringDict{
	"encode":         b64encode("base64.encode", base64.StdEncoding),
	"decode":         b64decode("base64.decode", base64.StdEncoding),
	"urlsafe_encode": b64encode("base64.urlsafe_encode", base64.URLEncoding),
	"urlsafe_decode": b64decode("base64.urlsafe_decode", base64.URLEncoding),
}}

func b64encode(name string, enc *base64.Encoding) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var s starlark.Value
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &s); err != nil {
			return nil, err
		}
		raw, err := bytesOf(b.Name(), s)
		if err != nil {
			return nil, err
		}
		return starlark.String(enc.EncodeToString(raw)), nil
	})
}

// b64decode accepts input with or without padding, as decoders of
// webhook signatures and JWT parts must.
func b64decode(name string, enc *base64.Encoding) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var s string
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &s); err != nil {
			return nil, err
		}
		out, err := enc.WithPadding(base64.NoPadding).DecodeString(strings.TrimRight(strings.TrimSpace(s), "="))
		if err != nil {
			return nil, fmt.Errorf("%s: not valid base64: %v", b.Name(), err)
		}
		return starlark.String(out), nil
	})
}

var hashlibModule = &starlarkstruct.Module{Name: "hashlib", Members: starlark.StringDict{
	"sha256": starlark.NewBuiltin("hashlib.sha256", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var s starlark.Value
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &s); err != nil {
			return nil, err
		}
		raw, err := bytesOf(b.Name(), s)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(raw)
		return starlark.String(hex.EncodeToString(sum[:])), nil
	}),
}}

var hmacModule = &starlarkstruct.Module{Name: "hmac", Members: starlark.StringDict{
	"sha256":         starlark.NewBuiltin("hmac.sha256", hmacSHA256),
	"compare_digest": starlark.NewBuiltin("hmac.compare_digest", compareDigest),
}}

// hmacSHA256 is hmac.sha256(key, msg, encoding="hex"|"base64").
func hmacSHA256(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var key, msg starlark.Value
	encoding := "hex"
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "key", &key, "msg", &msg, "encoding?", &encoding); err != nil {
		return nil, err
	}
	k, err := bytesOf(b.Name(), key)
	if err != nil {
		return nil, err
	}
	m, err := bytesOf(b.Name(), msg)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, k)
	mac.Write(m)
	switch encoding {
	case "hex":
		return starlark.String(hex.EncodeToString(mac.Sum(nil))), nil
	case "base64":
		return starlark.String(base64.StdEncoding.EncodeToString(mac.Sum(nil))), nil
	}
	return nil, fmt.Errorf("%s: encoding must be \"hex\" or \"base64\"", b.Name())
}

// compareDigest compares two strings in time independent of where they
// differ, as signature checks must.
func compareDigest(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, y starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &x, &y); err != nil {
		return nil, err
	}
	a, err := bytesOf(b.Name(), x)
	if err != nil {
		return nil, err
	}
	c, err := bytesOf(b.Name(), y)
	if err != nil {
		return nil, err
	}
	return starlark.Bool(subtle.ConstantTimeCompare(a, c) == 1), nil
}

// parseQS is Python's urllib.parse.parse_qs: a query string to a dict of
// lists of values.
func parseQS(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &s); err != nil {
		return nil, err
	}
	values, err := url.ParseQuery(strings.TrimPrefix(s, "?"))
	if err != nil {
		return nil, fmt.Errorf("parse_qs: %v", err)
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := starlark.NewDict(len(values))
	for _, k := range keys {
		list := make([]starlark.Value, len(values[k]))
		for i, v := range values[k] {
			list[i] = starlark.String(v)
		}
		_ = out.SetKey(starlark.String(k), starlark.NewList(list))
	}
	return out, nil
}

// urlencode is Python's urllib.parse.urlencode over a dict; a list value
// repeats its key.
func urlencode(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var d *starlark.Dict
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &d); err != nil {
		return nil, err
	}
	q, err := queryOf(b.Name(), d)
	if err != nil {
		return nil, err
	}
	return starlark.String(q.Encode()), nil
}

// queryOf converts a dict of strings (or lists of them) to url.Values.
func queryOf(fn string, d *starlark.Dict) (url.Values, error) {
	q := url.Values{}
	for _, item := range d.Items() {
		k, ok := starlark.AsString(item[0])
		if !ok {
			return nil, fmt.Errorf("%s: keys must be strings, not %s", fn, item[0].Type())
		}
		if l, isList := item[1].(*starlark.List); isList {
			for i := range l.Len() {
				q.Add(k, plain(l.Index(i)))
			}
			continue
		}
		q.Add(k, plain(item[1]))
	}
	return q, nil
}

// plain is v as text: a string as itself, anything else as str(v).
func plain(v starlark.Value) string {
	if s, ok := starlark.AsString(v); ok {
		return s
	}
	return v.String()
}

// bytesOf accepts a string or bytes value.
func bytesOf(fn string, v starlark.Value) ([]byte, error) {
	switch v := v.(type) {
	case starlark.String:
		return []byte(v), nil
	case starlark.Bytes:
		return []byte(v), nil
	}
	return nil, fmt.Errorf("%s: want a string or bytes, not %s", fn, v.Type())
}
