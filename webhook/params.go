package webhook

import "strings"

// Params parses a header of comma-separated key=value pairs, such as
// Stripe's "t=1700000000,v1=abc,v0=def". Where a key repeats, the first
// value wins; use ParamValues for every value of a key. Pairs without
// "=" are skipped.
func Params(header string) map[string]string {
	out := map[string]string{}
	for _, pair := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if _, seen := out[k]; ok && !seen {
			out[k] = v
		}
	}
	return out
}

// ParamValues returns every value of key in a header Params reads, in
// order: a provider rotating its secret sends one signature per secret.
func ParamValues(header, key string) []string {
	var out []string
	for _, pair := range strings.Split(header, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(pair), "="); ok && k == key {
			out = append(out, v)
		}
	}
	return out
}
