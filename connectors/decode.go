package connectors

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DefinitionError is one problem in a definition file: the file, the
// path of the key at fault (such as form[1].type; empty for the whole
// file) and what is wrong.
type DefinitionError struct {
	File    string
	Path    string
	Message string
}

// Error reads "connectors: <file>: <path>: <message>".
func (e *DefinitionError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("connectors: %s: %s", e.File, e.Message)
	}
	return fmt.Sprintf("connectors: %s: %s: %s", e.File, e.Path, e.Message)
}

// decode parses one definition. Unknown keys and values of the wrong
// type are errors naming the path of the key at fault.
func decode(file string, data []byte) (*Definition, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if h := hint(data); h != "" {
			msg += " (" + h + ")"
		}
		return nil, &DefinitionError{File: file, Message: msg}
	}
	if len(root.Content) == 0 {
		return nil, &DefinitionError{File: file, Message: "the file is empty"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var d Definition
	err := dec.Decode(&d)
	var te *yaml.TypeError
	switch {
	case errors.As(err, &te):
		paths := keyPaths(&root, "", map[int][]string{})
		errs := make([]error, len(te.Errors))
		for i, msg := range te.Errors {
			errs[i] = locate(file, msg, hint(data), paths)
		}
		return nil, errors.Join(errs...)
	case err != nil:
		return nil, &DefinitionError{File: file, Message: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	return &d, nil
}

// keyPaths indexes the path of every key and sequence item by line, so
// yaml's "line 7: …" errors can name the key instead.
func keyPaths(n *yaml.Node, path string, out map[int][]string) map[int][]string {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			keyPaths(c, path, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Kind != yaml.ScalarNode {
				continue // an unquoted {{x}}, read as a flow mapping
			}
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			out[n.Content[i].Line] = append(out[n.Content[i].Line], p)
			keyPaths(n.Content[i+1], p, out)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			out[c.Line] = append(out[c.Line], p)
			keyPaths(c, p, out)
		}
	}
	return out
}

var (
	unquoted     = regexp.MustCompile(`(?m)(:|^\s*-)\s+\{\{`)
	yamlLine     = regexp.MustCompile(`^line (\d+): (.*)$`)
	unknownField = regexp.MustCompile(`^field (\S+) not found in type`)
)

// locate turns one of yaml's messages into a DefinitionError at the path
// of the key on the line it names.
func locate(file, msg, hint string, paths map[int][]string) error {
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		return &DefinitionError{File: file, Message: msg}
	}
	line, _ := strconv.Atoi(m[1])
	candidates, text := paths[line], m[2]
	suffix := fmt.Sprintf(" (line %d)", line)
	if strings.Contains(text, "!!map into") && hint != "" {
		suffix = fmt.Sprintf(" (line %d; %s)", line, hint)
	}
	if u := unknownField.FindStringSubmatch(text); u != nil {
		for _, p := range candidates {
			if p == u[1] || strings.HasSuffix(p, "."+u[1]) {
				return &DefinitionError{File: file, Path: p, Message: "unknown key" + suffix}
			}
		}
		return &DefinitionError{File: file, Message: fmt.Sprintf("unknown key %q%s", u[1], suffix)}
	}
	if strings.HasSuffix(text, "into connectors.Definition") {
		return &DefinitionError{File: file, Message: "must be a mapping with keys such as id, name and auth" + suffix}
	}
	if len(candidates) == 0 {
		return &DefinitionError{File: file, Message: text + suffix}
	}
	return &DefinitionError{File: file, Path: candidates[len(candidates)-1], Message: text + suffix}
}

// hint explains the usual cause of a confusing YAML error: a value that
// starts with {{ unquoted is a flow mapping to YAML.
func hint(data []byte) string {
	if unquoted.Match(data) {
		return "quote values that start with {{"
	}
	return ""
}
