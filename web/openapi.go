package web

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"go.yaml.in/yaml/v3"
)

// openapiYAML is the API's OpenAPI 3.1 document, written as YAML for
// people; it is served as JSON, converted on the first request (most
// processes never serve it).
//
//go:embed openapi.yaml
var openapiYAML []byte

var (
	openapiRoot  = sync.OnceValue(func() *yaml.Node { return mustParseYAML(openapiYAML) })
	openapiAsset = sync.OnceValue(func() asset { return newAsset("openapi.json", "application/json", mustJSON(openapiRoot())) })
)

// OpenAPI serves the API's OpenAPI 3.1 document as JSON. Any origin may
// read it, so tools in the browser can load it.
func OpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	openapiAsset().serve(w, r)
}

// mustParseYAML parses the embedded document; it is checked by the
// tests, so a failure here is a build that cannot start.
func mustParseYAML(src []byte) *yaml.Node {
	// Decoding into a value too refuses duplicate keys, which a node
	// tree would keep silently.
	var probe any
	if err := yaml.Unmarshal(src, &probe); err != nil {
		panic(fmt.Sprintf("openapi.yaml: %v", err))
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		panic(fmt.Sprintf("openapi.yaml: %v", err))
	}
	return deref(&doc)
}

func mustJSON(n *yaml.Node) []byte {
	var b bytes.Buffer
	if err := writeJSON(&b, n); err != nil {
		panic(fmt.Sprintf("openapi.yaml: %v", err))
	}
	return b.Bytes()
}

// deref follows documents and aliases to the node they stand for.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && (n.Kind == yaml.DocumentNode || n.Kind == yaml.AliasNode) {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else if len(n.Content) > 0 {
			n = n.Content[0]
		} else {
			return nil
		}
	}
	return n
}

// writeJSON writes n as JSON, keeping the order of mappings so the JSON
// reads as the YAML does. Keys are always strings ("200" stays a key,
// not a number).
func writeJSON(b *bytes.Buffer, n *yaml.Node) error {
	n = deref(n)
	switch {
	case n == nil:
		b.WriteString("null")
	case n.Kind == yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Tag == "!!merge" {
				return fmt.Errorf("line %d: merge keys (<<) are not supported", n.Content[i].Line)
			}
			if i > 0 {
				b.WriteByte(',')
			}
			key, _ := json.Marshal(n.Content[i].Value)
			b.Write(key)
			b.WriteByte(':')
			if err := writeJSON(b, n.Content[i+1]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case n.Kind == yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, c); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	default:
		return writeScalar(b, n)
	}
	return nil
}

func writeScalar(b *bytes.Buffer, n *yaml.Node) error {
	var v any = n.Value
	if n.Tag != "!!timestamp" && n.Tag != "!!str" { // a timestamp stays the text written
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
	}
	out, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	b.Write(out)
	return nil
}
