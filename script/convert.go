package script

import (
	"encoding/json"
	"fmt"
	"strings"

	starjson "go.starlark.net/lib/json"
	"go.starlark.net/starlark"
)

// encodeJSON is json.encode(v), the scripts' own notion of JSON, made
// valid: json.encode writes DEL (0x7f) as \x7f, which JSON has not.
func encodeJSON(thread *starlark.Thread, v starlark.Value) (string, error) {
	out, err := starlark.Call(thread, starjson.Module.Members["encode"], starlark.Tuple{v}, nil)
	if err != nil {
		return "", err
	}
	s := string(out.(starlark.String))
	if strings.Contains(s, `\x7f`) {
		s = fixDEL(s)
	}
	return s, nil
}

// fixDEL rewrites the \x7f escapes of json.encode's output as \u007f.
// Its only escapes are \", \\, \x7f and those of encoding/json.
func fixDEL(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] != '\\' || i+1 == len(s):
			b.WriteByte(s[i])
		case strings.HasPrefix(s[i+1:], "x7f"):
			b.WriteString(`\u007f`)
			i += 3
		default:
			b.WriteString(s[i : i+2])
			i++
		}
	}
	return b.String()
}

// decodeJSON is json.decode(data); empty data is None.
func decodeJSON(thread *starlark.Thread, data json.RawMessage) (starlark.Value, error) {
	if len(data) == 0 {
		return starlark.None, nil
	}
	return starlark.Call(thread, starjson.Module.Members["decode"], starlark.Tuple{starlark.String(data)}, nil)
}

// toJSON converts a host-call argument (a dict, list or scalar) to JSON.
func toJSON(thread *starlark.Thread, fn string, v starlark.Value) (json.RawMessage, error) {
	s, err := encodeJSON(thread, v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	return json.RawMessage(s), nil
}
