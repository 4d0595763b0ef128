package web

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// The reference page is the OpenAPI document rendered once, on its first
// request, on the server: no script, no CDN, nothing fetched by the browser.

//go:embed reference.html
var referenceHTML string

// referenceCSP allows the page nothing but its own inline style.
const referenceCSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

var referenceAsset = sync.OnceValue(func() asset {
	return newAsset("docs.html", "text/html; charset=utf-8", mustRender(openapiRoot()))
})

// Reference serves the API reference: the OpenAPI document as one HTML
// page.
func Reference(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", referenceCSP)
	referenceAsset().serve(w, r)
}

var referencePage = template.Must(template.New("reference").Funcs(template.FuncMap{
	"md": markdown, "lower": strings.ToLower,
	"anchor": func(s string) string { return strings.ReplaceAll(strings.ToLower(s), " ", "-") },
}).Parse(referenceHTML))

// refPage is what the template shows.
type refPage struct {
	Title, Version, Summary, Description string
	Schemes                              []refItem
	Tags                                 []refTag
	Schemas                              []refItem
}

type refTag struct {
	Name, Description string
	Ops               []refOp
}

// refOp is an operation; Webhook marks one tenantry sends.
type refOp struct {
	ID, Method, Path, Summary, Description, Security string
	Webhook                                          bool
	Params                                           []refParam
	Body                                             []refContent
	Responses                                        []refResponse
}

type refParam struct {
	Name, In, Description string
	Required              bool
	Type                  template.HTML
}

type refContent struct {
	MediaType string
	Schema    template.HTML
	Example   string
}

type refResponse struct {
	Status, Description string
	Content             []refContent
}

// refItem is a named block: a security scheme or a schema.
type refItem struct {
	Name, Description string
	Body              template.HTML
	Example           string
}

func mustRender(root *yaml.Node) []byte {
	d := doc{root}
	var b bytes.Buffer
	if err := referencePage.Execute(&b, d.page()); err != nil {
		panic(fmt.Sprintf("reference page: %v", err))
	}
	return b.Bytes()
}

// doc reads the document's node tree.
type doc struct{ root *yaml.Node }

func (d doc) page() refPage {
	info := get(d.root, "info")
	p := refPage{Title: str(get(info, "title")), Version: str(get(info, "version")),
		Summary: str(get(info, "summary")), Description: str(get(info, "description"))}
	for _, kv := range pairs(get(get(d.root, "components"), "securitySchemes")) {
		p.Schemes = append(p.Schemes, refItem{Name: kv.key, Description: str(get(kv.val, "description")),
			Body: template.HTML(template.HTMLEscapeString(schemeSummary(kv.val)))})
	}
	byTag := map[string]*refTag{}
	for _, t := range items(get(d.root, "tags")) {
		p.Tags = append(p.Tags, refTag{Name: str(get(t, "name")), Description: str(get(t, "description"))})
	}
	for i := range p.Tags {
		byTag[p.Tags[i].Name] = &p.Tags[i]
	}
	for _, op := range append(d.operations("paths", false), d.operations("webhooks", true)...) {
		if t := byTag[op.tag]; t != nil {
			t.Ops = append(t.Ops, op.refOp)
		}
	}
	for _, kv := range pairs(get(get(d.root, "components"), "schemas")) {
		p.Schemas = append(p.Schemas, refItem{Name: kv.key, Description: str(get(kv.val, "description")),
			Body: d.schemaBlock(kv.val), Example: exampleText(first(get(kv.val, "examples")))})
	}
	return p
}

type taggedOp struct {
	tag string
	refOp
}

var methods = []string{"get", "head", "post", "put", "patch", "delete", "options", "trace"}

// operations lists the operations under section ("paths" or
// "webhooks"), in the document's order.
func (d doc) operations(section string, webhook bool) []taggedOp {
	var ops []taggedOp
	for _, path := range pairs(get(d.root, section)) {
		for _, m := range methods {
			if o := get(path.val, m); o != nil {
				op := refOp{ID: str(get(o, "operationId")), Method: strings.ToUpper(m), Path: path.key, Webhook: webhook,
					Summary: str(get(o, "summary")), Description: joinText(str(get(o, "description")), str(get(path.val, "description"))),
					Security: d.security(o), Params: d.params(path.val, o), Responses: d.responses(o),
					Body: d.contents(get(d.resolve(get(o, "requestBody")), "content"), true)}
				ops = append(ops, taggedOp{tag: str(first(get(o, "tags"))), refOp: op})
			}
		}
	}
	return ops
}

// params are an operation's parameters, its path's first.
func (d doc) params(path, o *yaml.Node) []refParam {
	var out []refParam
	for _, p := range append(items(get(path, "parameters")), items(get(o, "parameters"))...) {
		p = d.resolve(p)
		out = append(out, refParam{Name: str(get(p, "name")), In: str(get(p, "in")),
			Required: str(get(p, "required")) == "true", Description: str(get(p, "description")),
			Type: d.schemaType(get(p, "schema"))})
	}
	return out
}

func (d doc) responses(o *yaml.Node) []refResponse {
	var out []refResponse
	for _, resp := range pairs(get(o, "responses")) {
		// A shared response (the problems) shows its example once, with
		// its schema, not under every operation.
		shared := get(resp.val, "$ref") != nil
		r := d.resolve(resp.val)
		out = append(out, refResponse{Status: resp.key, Description: str(get(r, "description")),
			Content: d.contents(get(r, "content"), !shared)})
	}
	return out
}

// security says which credentials an operation takes.
func (d doc) security(o *yaml.Node) string {
	sec := get(o, "security")
	if sec == nil {
		sec = get(d.root, "security")
	}
	var names []string
	for _, req := range items(sec) {
		var all []string
		for _, kv := range pairs(req) {
			all = append(all, kv.key)
		}
		if len(all) == 0 {
			all = []string{"none"}
		}
		names = append(names, strings.Join(all, " and "))
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", or ")
}

func (d doc) contents(content *yaml.Node, examples bool) []refContent {
	var out []refContent
	for _, kv := range pairs(content) {
		c := refContent{MediaType: kv.key, Schema: d.schemaBlock(get(kv.val, "schema"))}
		if ex := get(kv.val, "example"); ex != nil && examples {
			c.Example = exampleText(ex)
		}
		out = append(out, c)
	}
	return out
}

// resolve follows a $ref within the document.
func (d doc) resolve(n *yaml.Node) *yaml.Node {
	for ref := str(get(n, "$ref")); strings.HasPrefix(ref, "#/"); ref = str(get(n, "$ref")) {
		n = d.root
		for _, part := range strings.Split(ref[2:], "/") {
			n = get(n, strings.NewReplacer("~1", "/", "~0", "~").Replace(part))
		}
	}
	return n
}

func schemeSummary(s *yaml.Node) string {
	switch t := str(get(s, "type")); t {
	case "http":
		if f := str(get(s, "bearerFormat")); f != "" {
			return "HTTP " + str(get(s, "scheme")) + " (" + f + ")"
		}
		return "HTTP " + str(get(s, "scheme"))
	case "oauth2":
		return "OAuth2 authorization code: " + str(get(get(get(s, "flows"), "authorizationCode"), "authorizationUrl")) +
			", token " + str(get(get(get(s, "flows"), "authorizationCode"), "tokenUrl"))
	default:
		return t
	}
}

// exampleText is an example as indented JSON; a string example (CSV,
// say) as it is.
func exampleText(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	if n = deref(n); n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		return n.Value
	}
	var b, out bytes.Buffer
	if writeJSON(&b, n) != nil || json.Indent(&out, b.Bytes(), "", "  ") != nil {
		return ""
	}
	return out.String()
}
