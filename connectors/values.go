package connectors

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tenantry/tenantry"
)

// MaxValueBytes is the longest form value accepted.
const MaxValueBytes = 4096

// Validate checks connect-form values as decoded from a JSON body: only
// form fields (the caller removes servertype_id and name), strings, and
// for number fields a JSON number or a numeric string. A field that is
// absent, null or empty counts as not given: a required one is an error,
// an optional one takes its default, if any. Every other value must be
// valid UTF-8 of at most MaxValueBytes, without control characters (a
// textarea may hold line breaks and tabs), and fit the field's type,
// options and pattern.
//
// clean holds the value of every field given or defaulted, as a string
// (numbers in their shortest form); secret ones are among them, so use
// Secret to tell which to seal. The error is tenantry.Invalid with one
// FieldError per bad field, sorted by field name, names as given.
func (d *Definition) Validate(values map[string]any) (clean map[string]string, err error) {
	var errs []tenantry.FieldError
	for name := range values {
		if d.field(name) == nil {
			errs = append(errs, tenantry.FieldError{Field: name, Message: "is not a field of this connector"})
		}
	}
	clean = make(map[string]string, len(d.Form))
	for i := range d.Form {
		f := &d.Form[i]
		s, msg := f.value(values[f.Name])
		switch {
		case msg != "":
		case s == "" && f.Required:
			msg = "is required"
		case s == "" && f.Default != "":
			clean[f.Name] = f.Default
		case s != "":
			if msg = f.check(s); msg == "" {
				clean[f.Name] = s
			}
		}
		if msg != "" {
			errs = append(errs, tenantry.FieldError{Field: f.Name, Message: msg})
		}
	}
	if len(errs) > 0 {
		slices.SortFunc(errs, func(a, b tenantry.FieldError) int { return strings.Compare(a.Field, b.Field) })
		return nil, tenantry.Invalid(errs...)
	}
	return clean, nil
}

// value turns a JSON value into the field's string form; "" means not
// given. A message says why the value is of the wrong kind.
func (f *Field) value(v any) (string, string) {
	switch v := v.(type) {
	case nil:
		return "", ""
	case string:
		if strings.TrimSpace(v) == "" {
			return "", ""
		}
		return v, ""
	case float64:
		if f.Type == FieldNumber {
			return strconv.FormatFloat(v, 'f', -1, 64), ""
		}
	case json.Number:
		if f.Type == FieldNumber {
			return v.String(), ""
		}
	}
	if f.Type == FieldNumber {
		return "", "must be a number"
	}
	return "", "must be a string"
}

// check returns why s does not fit the field, or "".
func (f *Field) check(s string) string {
	switch {
	case len(s) > MaxValueBytes:
		return "must be at most " + strconv.Itoa(MaxValueBytes) + " bytes"
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case strings.IndexFunc(s, f.control) >= 0:
		return "must not contain control characters"
	case f.Type == FieldNumber && !isNumber(s):
		return "must be a number"
	case f.Type == FieldURL && !absoluteHTTP(s):
		return "must be an absolute http or https URL such as https://api.example.com"
	case f.Type == FieldSelect && !slices.Contains(f.Options, s):
		return "must be one of " + strings.Join(f.Options, ", ")
	case f.re != nil && !f.re.MatchString(s):
		return "does not have the expected format (" + f.Pattern + ")"
	}
	if _, err := f.part.escape(s); err != nil {
		return err.Error() // it could not be placed where the URL needs it
	}
	return ""
}

// control reports whether r is a control character not allowed in the
// field: a textarea may hold line breaks and tabs.
func (f *Field) control(r rune) bool {
	if f.Type == FieldTextarea && (r == '\n' || r == '\r' || r == '\t') {
		return false
	}
	return unicode.IsControl(r)
}

func isNumber(s string) bool {
	n, err := strconv.ParseFloat(s, 64)
	return err == nil && !math.IsInf(n, 0) && !math.IsNaN(n)
}
