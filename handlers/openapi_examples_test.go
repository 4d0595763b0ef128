package handlers_test

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOpenAPIExamples checks that the document's schemas are valid JSON
// Schema, every example matches its schema (using no field the schema
// does not declare), and every successful JSON response has an example.
func TestOpenAPIExamples(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t, serveOpenAPI(t, fullRouter(t)))
	for name := range obj(obj(doc.doc["components"])["schemas"]) {
		_, err := doc.compiler.Compile(openapiURL + "#" + pointer([]string{"components", "schemas", name}))
		require.NoError(t, err, "schema %s is not valid JSON Schema 2020-12", name)
	}
	examples := doc.examples()
	require.Greater(t, len(examples), 50, "the walk found too few examples: is it still finding them?")
	for _, ex := range examples {
		if err := doc.validate(ex.schema, ex.value); err != nil {
			t.Errorf("the example at %s does not match %s: %v", pointer(ex.at), pointer(ex.schema), err)
		}
	}
	require.Empty(t, doc.responsesWithoutExample(), "successful JSON responses without an example")
}

// example is an example in the document and the schema it illustrates.
type example struct {
	at, schema []string
	value      any
}

// examples finds every example: a schema's examples (and its deprecated
// example), and the example or examples of a media type, parameter or
// header, which illustrate the schema beside them.
func (o *openAPI) examples() []example {
	var out []example
	var walk func(v any, at []string)
	walk = func(v any, at []string) {
		sub := func(segs ...string) []string { return append(slices.Clone(at), segs...) }
		switch v := v.(type) {
		case map[string]any:
			schema := at
			if _, ok := v["schema"]; ok {
				schema = sub("schema")
				for name, e := range obj(v["examples"]) {
					out = append(out, example{at: sub("examples", name), schema: schema, value: obj(e)["value"]})
				}
			}
			for i, e := range list(v["examples"]) {
				out = append(out, example{at: sub("examples", strconv.Itoa(i)), schema: schema, value: e})
			}
			if e, ok := v["example"]; ok {
				out = append(out, example{at: sub("example"), schema: schema, value: e})
			}
			for k, c := range v {
				if k != "example" && k != "examples" {
					walk(c, sub(k))
				}
			}
		case []any:
			for i, c := range v {
				walk(c, sub(strconv.Itoa(i)))
			}
		}
	}
	walk(o.doc, nil)
	return out
}

// responsesWithoutExample lists the 2xx application/json responses that
// have no example: neither beside their schema nor in it (a list's
// items count for the list).
func (o *openAPI) responsesWithoutExample() []string {
	var missing []string
	for _, op := range o.eachOperation() {
		for status, resp := range obj(op.op["responses"]) {
			media := obj(obj(o.resolve(resp)["content"])["application/json"])
			if !strings.HasPrefix(status, "2") || media == nil || media["example"] != nil || media["examples"] != nil {
				continue
			}
			if !o.hasExample(media["schema"]) {
				missing = append(missing, fmt.Sprintf("%s %s %s", op.method, op.path, status))
			}
		}
	}
	sort.Strings(missing)
	return missing
}

func (o *openAPI) hasExample(schema any) bool {
	s := o.resolve(schema)
	if len(list(s["examples"])) > 0 {
		return true
	}
	items := obj(obj(s["properties"])["items"])
	return items != nil && o.hasExample(items["items"])
}
