package connectors

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Webhook signature schemes.
const (
	// SchemeStandard is Standard Webhooks (standardwebhooks.com):
	// webhook-id, webhook-timestamp and webhook-signature headers,
	// HMAC-SHA256 over "id.timestamp.body", secrets "whsec_<base64>".
	SchemeStandard = "standard_webhooks"
	// SchemeHMAC is a provider's own HMAC scheme, described by the other
	// keys of Webhooks.
	SchemeHMAC = "hmac"
)

// Placeholders of Webhooks.Signed.
const (
	SignedBody      = "{body}"
	SignedTimestamp = "{timestamp}"
	SignedID        = "{id}"
)

// MaxTolerance bounds Webhooks.Tolerance, in seconds.
const MaxTolerance = 3600

// Webhooks says how a connector's provider signs the webhooks it sends,
// so each connection gets its own URL whose requests are checked. A
// Webhooks of a Definition from a Catalog has passed validation, has its
// defaults filled in, and must not be modified.
type Webhooks struct {
	// Scheme is SchemeStandard or SchemeHMAC.
	Scheme string `yaml:"scheme"`
	// Secret names the secret connect-form field holding the signing
	// secret. Several secrets separated by spaces are all accepted, so a
	// secret can be rotated without losing deliveries.
	Secret string `yaml:"secret"`
	// Tolerance is how far a signed timestamp may be from now, in
	// seconds; default 300.
	Tolerance int `yaml:"tolerance"`

	// The keys below describe an hmac scheme; a standard_webhooks one
	// has none of them.

	// Header carries the signature, e.g. X-Hub-Signature-256.
	Header string `yaml:"header"`
	// Algorithm is sha1, sha256 (the default) or sha512.
	Algorithm string `yaml:"algorithm"`
	// Encoding of the signature: hex (the default) or base64.
	Encoding string `yaml:"encoding"`
	// Prefix comes before each signature, e.g. "sha256=".
	Prefix string `yaml:"prefix"`
	// SignatureParam, when set, makes Header a comma-separated list of
	// key=value pairs (Stripe: t=…,v1=…,v1=…) whose values under this
	// key are the signatures (any one may match).
	SignatureParam string `yaml:"signature_param"`
	// TimestampParam is the key of the timestamp among those pairs.
	TimestampParam string `yaml:"timestamp_param"`
	// TimestampHeader is a header carrying the timestamp instead.
	TimestampHeader string `yaml:"timestamp_header"`
	// Signed is what the provider signs: {body} (the raw body, the
	// default), optionally with {timestamp} and {id}, e.g.
	// "{timestamp}.{body}".
	Signed string `yaml:"signed"`
	// IDHeader is the header carrying the delivery id, which makes a
	// redelivery of the same event a duplicate.
	IDHeader string `yaml:"id_header"`
	// IDPointer is a JSON pointer to the delivery id in the body, when
	// there is no id header.
	IDPointer string `yaml:"id_pointer"`
}

// Timestamped reports whether the scheme signs a timestamp, which must
// then be within Tolerance of now.
func (w *Webhooks) Timestamped() bool {
	return w.Scheme == SchemeStandard || strings.Contains(w.Signed, SignedTimestamp)
}

var (
	webhookSchemes  = []string{SchemeStandard, SchemeHMAC}
	hmacAlgorithms  = []string{"sha1", "sha256", "sha512"}
	hmacEncodings   = []string{"hex", "base64"}
	signedPlacehold = regexp.MustCompile(`\{[a-z_]*\}`)
	headerName      = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
)

// webhooks checks the webhooks section and fills its defaults.
func (l *linter) webhooks() {
	w := l.d.Webhooks
	if w == nil {
		return
	}
	switch {
	case w.Scheme == "":
		l.add("webhooks.scheme", "is required: one of %s", strings.Join(webhookSchemes, "|"))
	case !slices.Contains(webhookSchemes, w.Scheme):
		l.add("webhooks.scheme", "%q is not one of %s", w.Scheme, strings.Join(webhookSchemes, "|"))
	}
	l.webhookSecret(w.Secret)
	if w.Tolerance == 0 {
		w.Tolerance = 300
	}
	if w.Tolerance < 1 || w.Tolerance > MaxTolerance {
		l.add("webhooks.tolerance", "%d must be between 1 and %d seconds", w.Tolerance, MaxTolerance)
	}
	if w.Scheme == SchemeStandard {
		for k, v := range w.hmacKeys() {
			if v != "" {
				l.add("webhooks."+k, "is not used by scheme standard_webhooks")
			}
		}
		return
	}
	if w.Scheme == SchemeHMAC {
		l.hmac(w)
	}
}

// hmacKeys are the keys only an hmac scheme has.
func (w *Webhooks) hmacKeys() map[string]string {
	return map[string]string{"header": w.Header, "algorithm": w.Algorithm, "encoding": w.Encoding,
		"prefix": w.Prefix, "signature_param": w.SignatureParam, "timestamp_param": w.TimestampParam,
		"timestamp_header": w.TimestampHeader, "signed": w.Signed, "id_header": w.IDHeader, "id_pointer": w.IDPointer}
}

func (l *linter) webhookSecret(name string) {
	switch f := l.d.field(name); {
	case name == "":
		l.add("webhooks.secret", "is required: the secret form field holding the signing secret")
	case f == nil:
		l.add("webhooks.secret", "%q is not a field of the form", name)
	case !f.Secret:
		l.add("webhooks.secret", "form field %q must be secret (type password, or secret: true)", name)
	}
}

func (l *linter) hmac(w *Webhooks) {
	l.headerKey("webhooks.header", w.Header, true)
	l.headerKey("webhooks.timestamp_header", w.TimestampHeader, false)
	l.headerKey("webhooks.id_header", w.IDHeader, false)
	w.Algorithm = cmpOr(w.Algorithm, "sha256")
	if !slices.Contains(hmacAlgorithms, w.Algorithm) {
		l.add("webhooks.algorithm", "%q is not one of %s", w.Algorithm, strings.Join(hmacAlgorithms, "|"))
	}
	w.Encoding = cmpOr(w.Encoding, "hex")
	if !slices.Contains(hmacEncodings, w.Encoding) {
		l.add("webhooks.encoding", "%q is not one of %s", w.Encoding, strings.Join(hmacEncodings, "|"))
	}
	w.Signed = cmpOr(w.Signed, SignedBody)
	l.signed(w)
	if w.TimestampParam != "" && w.SignatureParam == "" {
		l.add("webhooks.timestamp_param", "needs signature_param: the header is then a list of key=value pairs")
	}
	if w.TimestampParam != "" && w.TimestampHeader != "" {
		l.add("webhooks.timestamp_header", "give the timestamp's place once: timestamp_param or timestamp_header")
	}
	if w.IDHeader != "" && w.IDPointer != "" {
		l.add("webhooks.id_pointer", "give the delivery id's place once: id_header or id_pointer")
	}
	if w.IDPointer != "" && (!validPointer(w.IDPointer) || w.IDPointer == "/") {
		l.add("webhooks.id_pointer", "%q must be a JSON pointer starting with /", w.IDPointer)
	}
}

// signed checks the signed template: {body} exactly once, and a place
// for each other placeholder it uses.
func (l *linter) signed(w *Webhooks) {
	if n := strings.Count(w.Signed, SignedBody); n != 1 {
		l.add("webhooks.signed", "%q must contain {body} exactly once", w.Signed)
	}
	for _, p := range signedPlacehold.FindAllString(w.Signed, -1) {
		if p != SignedBody && p != SignedTimestamp && p != SignedID {
			l.add("webhooks.signed", "%s is not one of {body}, {timestamp}, {id}", p)
		}
	}
	if strings.Contains(w.Signed, SignedTimestamp) && w.TimestampParam == "" && w.TimestampHeader == "" {
		l.add("webhooks.signed", "uses {timestamp}: set timestamp_param or timestamp_header")
	}
	if strings.Contains(w.Signed, SignedID) && w.IDHeader == "" {
		l.add("webhooks.signed", "uses {id}: set id_header")
	}
	if (w.TimestampParam != "" || w.TimestampHeader != "") && !strings.Contains(w.Signed, SignedTimestamp) {
		l.add("webhooks.signed", "must include {timestamp}: an unsigned timestamp proves nothing")
	}
}

func (l *linter) headerKey(path, v string, required bool) {
	switch {
	case v == "" && required:
		l.add(path, "is required")
	case v != "" && !headerName.MatchString(v):
		l.add(path, "%q is not an HTTP header name", v)
	}
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// String names the scheme for logs and the API, e.g. "hmac-sha256".
func (w *Webhooks) String() string {
	if w.Scheme == SchemeHMAC {
		return fmt.Sprintf("hmac-%s", w.Algorithm)
	}
	return w.Scheme
}
