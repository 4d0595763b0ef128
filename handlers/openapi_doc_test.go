package handlers_test

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
)

// openAPI is the OpenAPI document the API serves, its schemas compiled
// for validation (JSON Schema 2020-12, formats asserted).
type openAPI struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
}

// openapiURL names the document for the compiler; nothing is fetched.
const openapiURL = "https://tenantry.test/openapi.json"

// httpMethods are the operations a path item may hold.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func loadOpenAPI(t *testing.T, raw []byte) *openAPI {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	require.NoError(t, err, "the document is not JSON")
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	require.NoError(t, c.AddResource(openapiURL, doc))
	m, ok := doc.(map[string]any)
	require.True(t, ok, "the document is not an object")
	require.Equal(t, "3.1.0", m["openapi"])
	return &openAPI{doc: m, compiler: c}
}

// operation is an operation of the document, where it is.
type operation struct {
	section, path, method string // method in lower case, as a key
	item, op              map[string]any
}

// eachOperation lists the operations under paths and webhooks.
func (o *openAPI) eachOperation() []operation {
	var ops []operation
	for _, section := range []string{"paths", "webhooks"} {
		for path, item := range obj(o.doc[section]) {
			for _, m := range httpMethods {
				if op := obj(obj(item)[m]); op != nil {
					ops = append(ops, operation{section, path, m, obj(item), op})
				}
			}
		}
	}
	return ops
}

// operations returns every "METHOD /path" the document describes.
func (o *openAPI) operations() map[string]bool {
	ops := map[string]bool{}
	for _, op := range o.eachOperation() {
		if op.section == "paths" {
			ops[strings.ToUpper(op.method)+" "+op.path] = true
		}
	}
	return ops
}

func (o *openAPI) hasPath(path string) bool { return obj(o.doc["paths"])[path] != nil }

var templateParam = regexp.MustCompile(`\{([^}]+)\}`)

// pathParamMismatches lists operations whose path parameters are not
// exactly the template's.
func (o *openAPI) pathParamMismatches() []string {
	var bad []string
	for _, op := range o.eachOperation() {
		var want, got []string
		if op.section == "paths" {
			for _, m := range templateParam.FindAllStringSubmatch(op.path, -1) {
				want = append(want, m[1])
			}
		}
		for _, p := range append(list(op.item["parameters"]), list(op.op["parameters"])...) {
			if p := o.resolve(p); p["in"] == "path" {
				got = append(got, p["name"].(string))
			}
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			bad = append(bad, fmt.Sprintf("%s %s: path parameters %v", op.method, op.path, got))
		}
	}
	sort.Strings(bad)
	return bad
}

// operationIDProblems lists operations whose operationId is missing or
// taken by another: the reference page links to operations by it.
func (o *openAPI) operationIDProblems() []string {
	seen := map[string]bool{}
	var bad []string
	for _, op := range o.eachOperation() {
		id, _ := op.op["operationId"].(string)
		if id == "" || seen[id] {
			bad = append(bad, fmt.Sprintf("%s %s: operationId %q", op.method, op.path, id))
		}
		seen[id] = true
	}
	sort.Strings(bad)
	return bad
}

// validate checks v against the schema at ptr (a JSON pointer into the
// document, as segments), then that every field of v is one the schema
// declares: the document must not leave out what the API sends.
func (o *openAPI) validate(ptr []string, v any) error {
	s, err := o.compiler.Compile(openapiURL + "#" + pointer(ptr))
	if err != nil {
		return err
	}
	if err := s.Validate(v); err != nil {
		return err
	}
	if extra := o.undeclared(o.at(ptr), v, ""); len(extra) > 0 {
		return fmt.Errorf("fields the schema does not declare: %v", extra)
	}
	return nil
}

// undeclared lists the fields of v that schema s does not declare,
// following $ref, allOf, anyOf and oneOf, items and
// additionalProperties. A schema that declares no properties, or allows
// additional ones, takes any field.
func (o *openAPI) undeclared(s any, v any, at string) []string {
	parts := o.parts(s)
	var out []string
	switch v := v.(type) {
	case map[string]any:
		props, extra, open := map[string]any{}, any(nil), true
		for _, p := range parts {
			for k, ps := range obj(p["properties"]) {
				props[k], open = ps, false
			}
			if ap, ok := p["additionalProperties"]; ok && ap != false {
				extra = ap
			}
		}
		for k, val := range v {
			switch ps, ok := props[k]; {
			case ok:
				out = append(out, o.undeclared(ps, val, at+"/"+k)...)
			case extra != nil:
				out = append(out, o.undeclared(extra, val, at+"/"+k)...)
			case !open:
				out = append(out, at+"/"+k)
			}
		}
	case []any:
		for _, p := range parts {
			if items, ok := p["items"]; ok {
				for i, e := range v {
					out = append(out, o.undeclared(items, e, fmt.Sprintf("%s/%d", at, i))...)
				}
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// parts flattens a schema into itself and the schemas it is made of.
func (o *openAPI) parts(s any) []map[string]any {
	m := o.resolve(s)
	if m == nil {
		return nil
	}
	out := []map[string]any{m}
	for _, key := range []string{"allOf", "anyOf", "oneOf"} {
		for _, sub := range list(m[key]) {
			out = append(out, o.parts(sub)...)
		}
	}
	return out
}

// resolve follows $ref within the document.
func (o *openAPI) resolve(v any) map[string]any {
	m := obj(v)
	for ref, ok := m["$ref"].(string); ok && strings.HasPrefix(ref, "#/"); ref, ok = m["$ref"].(string) {
		var segs []string
		for _, s := range strings.Split(ref[2:], "/") {
			segs = append(segs, strings.NewReplacer("~1", "/", "~0", "~").Replace(s))
		}
		m = obj(o.at(segs))
	}
	return m
}

// at is the document's value at ptr.
func (o *openAPI) at(ptr []string) any {
	var v any = o.doc
	for _, seg := range ptr {
		switch c := v.(type) {
		case map[string]any:
			v = c[seg]
		case []any:
			var i int
			if _, err := fmt.Sscan(seg, &i); err != nil || i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	return v
}

func pointer(segs []string) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteString("/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(s))
	}
	return b.String()
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }

func list(v any) []any { l, _ := v.([]any); return l }
