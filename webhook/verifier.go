package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"hash"
	"net/http"
	"strings"
	"time"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connectors"
)

// Verifier checks that a request to a connection's webhook URL was
// signed by the provider, per the connector's webhooks section. It is
// immutable and safe for concurrent use.
type Verifier struct {
	spec *connectors.Webhooks
	keys [][]byte
}

// NewVerifier returns the verifier for spec with secret, the value of the
// connection's secret field: one secret, or several separated by spaces
// (any one may have signed). EUNAUTHORIZED when there is no secret yet;
// EINVALID when a Standard Webhooks secret is malformed.
func NewVerifier(spec *connectors.Webhooks, secret string) (*Verifier, error) {
	v := &Verifier{spec: spec}
	for _, s := range strings.Fields(secret) {
		key := []byte(s)
		if spec.Scheme == connectors.SchemeStandard {
			var err error
			if key, err = DecodeSecret(s); err != nil {
				return nil, err
			}
		}
		v.keys = append(v.keys, key)
	}
	if len(v.keys) == 0 {
		return nil, tenantry.Errorf(tenantry.EUNAUTHORIZED, "the connection has no webhook signing secret (form field %s)", spec.Secret)
	}
	return v, nil
}

// Verify checks the request's signature and returns its delivery id
// ("" when the scheme has no id). EINVALID names a malformed header;
// EUNAUTHORIZED says the signature is missing or wrong, or its timestamp
// is more than the tolerance from now. Comparisons are constant time.
func (v *Verifier) Verify(h http.Header, body []byte, now time.Time) (string, error) {
	tolerance := time.Duration(v.spec.Tolerance) * time.Second
	if v.spec.Scheme == connectors.SchemeStandard {
		return VerifyStandard(v.keys, h, body, now, tolerance)
	}
	value := h.Get(v.spec.Header)
	if value == "" {
		return "", tenantry.Errorf(tenantry.EUNAUTHORIZED, "missing signature header %s", v.spec.Header)
	}
	sigs, ts := v.signatures(value), ""
	if v.spec.TimestampParam != "" {
		ts = Params(value)[v.spec.TimestampParam]
	} else if v.spec.TimestampHeader != "" {
		ts = h.Get(v.spec.TimestampHeader)
	}
	if v.spec.Timestamped() {
		if err := v.checkTime(ts, now, tolerance); err != nil {
			return "", err
		}
	}
	id, err := v.deliveryID(h, body)
	if err != nil {
		return "", err
	}
	signed := v.signed(ts, id, body)
	for _, k := range v.keys {
		m := hmac.New(v.hash(), k)
		m.Write(signed)
		if anyEqual(m.Sum(nil), sigs) {
			return id, nil
		}
	}
	return "", tenantry.Errorf(tenantry.EUNAUTHORIZED, "no webhook signature matches")
}

func (v *Verifier) checkTime(ts string, now time.Time, tolerance time.Duration) error {
	field := v.spec.TimestampHeader
	if field == "" {
		field = v.spec.Header
	}
	if ts == "" {
		return tenantry.Invalid(tenantry.FieldError{Field: field, Message: "has no timestamp"})
	}
	at, err := parseTimestamp(field, ts)
	if err != nil {
		return err
	}
	return fresh(at, now, tolerance)
}

// signatures decodes the header's signatures; undecodable ones are
// skipped (they cannot match).
func (v *Verifier) signatures(value string) [][]byte {
	raw := []string{value}
	if v.spec.SignatureParam != "" {
		raw = ParamValues(value, v.spec.SignatureParam)
	}
	var out [][]byte
	for _, s := range raw {
		s, ok := strings.CutPrefix(strings.TrimSpace(s), v.spec.Prefix)
		if !ok {
			continue
		}
		var b []byte
		var err error
		if v.spec.Encoding == "base64" {
			b, err = base64.StdEncoding.DecodeString(s)
		} else {
			b, err = hex.DecodeString(s)
		}
		if err == nil {
			out = append(out, b)
		}
	}
	return out
}

// deliveryID reads the delivery id where the definition says it is.
func (v *Verifier) deliveryID(h http.Header, body []byte) (string, error) {
	switch {
	case v.spec.IDHeader != "":
		id := h.Get(v.spec.IDHeader)
		return id, checkID(v.spec.IDHeader, id)
	case v.spec.IDPointer != "":
		id, ok := pointer(body, v.spec.IDPointer)
		if !ok {
			return "", tenantry.Invalid(tenantry.FieldError{Field: "body" + v.spec.IDPointer, Message: "must hold the event id"})
		}
		return id, checkID("body"+v.spec.IDPointer, id)
	}
	return "", nil
}

// signed builds what the provider signed: the Signed template with the
// raw body (never re-encoded) and the timestamp and id as received.
func (v *Verifier) signed(ts, id string, body []byte) []byte {
	before, after, _ := strings.Cut(v.spec.Signed, connectors.SignedBody)
	r := strings.NewReplacer(connectors.SignedTimestamp, ts, connectors.SignedID, id)
	var b bytes.Buffer
	b.WriteString(r.Replace(before))
	b.Write(body)
	b.WriteString(r.Replace(after))
	return b.Bytes()
}

func (v *Verifier) hash() func() hash.Hash {
	switch v.spec.Algorithm {
	case "sha1":
		return sha1.New
	case "sha512":
		return sha512.New
	}
	return sha256.New
}

// pointer returns the string (or number, as written) at the JSON pointer
// p of body.
func pointer(body []byte, p string) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if dec.Decode(&doc) != nil {
		return "", false
	}
	for _, tok := range strings.Split(p[1:], "/") {
		obj, ok := doc.(map[string]any)
		if !ok {
			return "", false
		}
		doc, ok = obj[strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)]
		if !ok {
			return "", false
		}
	}
	switch s := doc.(type) {
	case string:
		return s, true
	case json.Number:
		return s.String(), true
	}
	return "", false
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
