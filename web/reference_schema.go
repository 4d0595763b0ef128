package web

import (
	"html/template"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file renders schemas and descriptions for the reference page, and
// reads the document's node tree.

var esc = template.HTMLEscapeString

// schemaType is a schema in one line: a link to a named schema, or its
// type with its enum, const or format.
func (d doc) schemaType(s *yaml.Node) template.HTML {
	s = deref(s)
	if s == nil {
		return ""
	}
	if ref := str(get(s, "$ref")); ref != "" {
		name := ref[strings.LastIndex(ref, "/")+1:]
		return template.HTML(`<a href="#schema-` + esc(name) + `">` + esc(name) + `</a>`)
	}
	for _, c := range []struct{ key, sep string }{{"allOf", " and "}, {"oneOf", " or "}, {"anyOf", " or "}} {
		if parts := items(get(s, c.key)); len(parts) > 0 {
			var out []string
			for _, p := range parts {
				out = append(out, string(d.schemaType(p)))
			}
			return template.HTML(strings.Join(out, c.sep))
		}
	}
	if c := get(s, "const"); c != nil {
		return template.HTML("<code>" + esc(exampleText(c)) + "</code>")
	}
	var types []string
	for _, t := range append(items(get(s, "type")), scalar(get(s, "type"))...) {
		switch t := str(t); {
		case t == "array":
			types = append(types, "array of "+string(d.schemaType(get(s, "items"))))
		case t == "object" && get(get(s, "additionalProperties"), "type") != nil:
			types = append(types, "map of "+string(d.schemaType(get(s, "additionalProperties"))))
		default:
			types = append(types, esc(t))
		}
	}
	if len(types) == 0 {
		types = []string{"any"}
	}
	out := strings.Join(types, " or ")
	if enum := items(get(s, "enum")); len(enum) > 0 {
		var vals []string
		for _, v := range enum {
			vals = append(vals, "<code>"+esc(str(v))+"</code>")
		}
		out += ": " + strings.Join(vals, ", ")
	}
	if f := str(get(s, "format")); f != "" {
		out += " (" + esc(f) + ")"
	}
	if p := str(get(s, "pattern")); p != "" {
		out += " matching <code>" + esc(p) + "</code>"
	}
	return template.HTML(out)
}

// schemaBlock is a schema's type and, when it declares properties
// itself (or in an inline part of allOf), a table of them.
func (d doc) schemaBlock(s *yaml.Node) template.HTML {
	s = deref(s)
	parts := append([]*yaml.Node{s}, items(get(s, "allOf"))...)
	var rows, also strings.Builder
	for _, p := range parts {
		if get(p, "$ref") != nil {
			continue
		}
		required := map[string]bool{}
		for _, r := range items(get(p, "required")) {
			required[str(r)] = true
			if get(p, "properties") == nil { // required here, declared in a part
				also.WriteString(" <code>" + esc(str(r)) + "</code>")
			}
		}
		for _, prop := range pairs(get(p, "properties")) {
			typ := d.schemaType(prop.val)
			switch {
			case get(prop.val, "properties") != nil:
				typ = d.schemaBlock(prop.val)
			case get(get(prop.val, "items"), "properties") != nil:
				typ = "array of " + d.schemaBlock(get(prop.val, "items"))
			}
			req := ""
			if required[prop.key] {
				req = " <span class=req>required</span>"
			}
			rows.WriteString("<tr><td><code>" + esc(prop.key) + "</code>" + req + "</td><td>" + string(typ) +
				"</td><td>" + string(markdown(str(get(prop.val, "description")))) + "</td></tr>")
		}
	}
	out := d.schemaType(s)
	if also.Len() > 0 {
		out += template.HTML(", with" + also.String() + " required")
	}
	if rows.Len() > 0 {
		out += template.HTML("<table class=props>" + rows.String() + "</table>")
	}
	return out
}

var (
	strong   = regexp.MustCompile(`\*\*([^*]+)\*\*`)
	emphasis = regexp.MustCompile(`\*([^*\s][^*]*)\*`)
)

// markdown renders the little markdown the document uses: paragraphs,
// "- " lists, `code`, **strong** and *emphasis*.
func markdown(s string) template.HTML {
	var b strings.Builder
	for _, para := range strings.Split(strings.TrimSpace(s), "\n\n") {
		lines := strings.Split(para, "\n")
		if !strings.HasPrefix(lines[0], "- ") {
			b.WriteString("<p>" + inline(strings.Join(lines, " ")) + "</p>")
			continue
		}
		b.WriteString("<ul>")
		for _, item := range strings.Split("\n"+para, "\n- ")[1:] {
			b.WriteString("<li>" + inline(strings.Join(strings.Fields(item), " ")) + "</li>")
		}
		b.WriteString("</ul>")
	}
	return template.HTML(b.String())
}

func inline(s string) string {
	parts := strings.Split(s, "`")
	for i, p := range parts {
		p = esc(p)
		if i%2 == 1 {
			parts[i] = "<code>" + p + "</code>"
			continue
		}
		parts[i] = emphasis.ReplaceAllString(strong.ReplaceAllString(p, "<strong>$1</strong>"), "<em>$1</em>")
	}
	return strings.Join(parts, "")
}

func joinText(texts ...string) string {
	return strings.Join(slices.DeleteFunc(texts, func(t string) bool { return t == "" }), "\n\n")
}

// Reading the node tree; every function takes nil and answers nil or "".

type pair struct {
	key string
	val *yaml.Node
}

// get is a mapping's value at key.
func get(n *yaml.Node, key string) *yaml.Node {
	if n = deref(n); n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return deref(n.Content[i+1])
		}
	}
	return nil
}

func pairs(n *yaml.Node) []pair {
	var out []pair
	if n = deref(n); n != nil && n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			out = append(out, pair{n.Content[i].Value, deref(n.Content[i+1])})
		}
	}
	return out
}

func items(n *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	if n = deref(n); n != nil && n.Kind == yaml.SequenceNode {
		for _, c := range n.Content {
			out = append(out, deref(c))
		}
	}
	return out
}

// scalar is n alone when it is a scalar: a "type" may be one or a list.
func scalar(n *yaml.Node) []*yaml.Node {
	if n = deref(n); n != nil && n.Kind == yaml.ScalarNode {
		return []*yaml.Node{n}
	}
	return nil
}

func first(n *yaml.Node) *yaml.Node {
	if all := items(n); len(all) > 0 {
		return all[0]
	}
	return nil
}

func str(n *yaml.Node) string {
	if n = deref(n); n != nil && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}
