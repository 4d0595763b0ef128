package fetch

import (
	"encoding/json"
	"strconv"
	"strings"
)

var unescape = strings.NewReplacer("~1", "/", "~0", "~")

// lookup returns the value at the RFC 6901 JSON pointer ptr in doc, a
// value decoded with UseNumber. "" is doc itself. It reports false when
// the pointer leads nowhere.
func lookup(doc any, ptr string) (any, bool) {
	if ptr == "" {
		return doc, true
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, false
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = unescape.Replace(tok)
		switch v := doc.(type) {
		case map[string]any:
			var ok bool
			if doc, ok = v[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(v) || strconv.Itoa(i) != tok {
				return nil, false
			}
			doc = v[i]
		default:
			return nil, false
		}
	}
	return doc, true
}

// scalar returns a string or number as a string; anything else (null,
// booleans, objects, arrays) is not a scalar here.
func scalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

// RecordKey returns a record's primary key as text: a string as it is, a
// number as the provider wrote it. ok is false for any other value.
func RecordKey(rec map[string]any, primaryKey string) (key string, ok bool) {
	return scalar(rec[primaryKey])
}
