package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tenantry/tenantry"
)

// Standard Webhooks headers (standardwebhooks.com).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is how far a signed timestamp may be from now.
const DefaultTolerance = 5 * time.Minute

// SecretPrefix starts a Standard Webhooks secret: whsec_<base64 key>.
const SecretPrefix = "whsec_"

// NewSecret returns a fresh Standard Webhooks secret (24 random bytes).
func NewSecret() string { return SecretPrefix + base64.StdEncoding.EncodeToString(randomBytes(24)) }

// DecodeSecret returns the key of a Standard Webhooks secret: the base64
// after the optional whsec_ prefix. EINVALID if it is not base64 or
// shorter than 16 bytes.
func DecodeSecret(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
	if err != nil || len(key) < 16 {
		return nil, tenantry.Errorf(tenantry.EINVALID, "a Standard Webhooks secret is whsec_ and the base64 of at least 16 bytes")
	}
	return key, nil
}

// Sign returns one webhook-signature entry, "v1,<base64>", for key over
// "id.timestamp.body". Join the entries of several keys with a space.
func Sign(key []byte, id string, at time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(standardMAC(key, id, strconv.FormatInt(at.Unix(), 10), body))
}

// SignHeaders sets the three Standard Webhooks headers on h, signing with
// every key (a receiver accepts any one while a secret rotates).
func SignHeaders(h http.Header, keys [][]byte, id string, at time.Time, body []byte) {
	sigs := make([]string, len(keys))
	for i, k := range keys {
		sigs[i] = Sign(k, id, at, body)
	}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(HeaderSignature, strings.Join(sigs, " "))
}

func standardMAC(key []byte, id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	return m.Sum(nil)
}

// ParseSignatures returns the v1 signatures of a webhook-signature
// header: space-separated "<version>,<base64>" entries. Entries of other
// versions (v1a is asymmetric) and malformed ones are skipped, so a
// sender adding a scheme does not break a receiver.
func ParseSignatures(header string) [][]byte {
	var out [][]byte
	for _, entry := range strings.Fields(header) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(sig)
		if err != nil || len(raw) != sha256.Size {
			continue
		}
		out = append(out, raw)
	}
	return out
}

// VerifyStandard checks a Standard Webhooks request against keys (any
// one may have signed it) and returns its webhook-id. The timestamp must
// be within tolerance of now either way. EINVALID names a missing or
// malformed webhook-id or webhook-timestamp; EUNAUTHORIZED says the
// timestamp is stale or no signature matches. Comparisons are constant
// time.
func VerifyStandard(keys [][]byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) (string, error) {
	id := h.Get(HeaderID)
	if err := checkID(HeaderID, id); err != nil {
		return "", err
	}
	ts := h.Get(HeaderTimestamp)
	at, err := parseTimestamp(HeaderTimestamp, ts)
	if err != nil {
		return "", err
	}
	if err := fresh(at, now, tolerance); err != nil {
		return "", err
	}
	sigs := ParseSignatures(h.Get(HeaderSignature))
	for _, k := range keys {
		if anyEqual(standardMAC(k, id, ts, body), sigs) {
			return id, nil
		}
	}
	return "", tenantry.Errorf(tenantry.EUNAUTHORIZED, "no webhook signature matches")
}

// anyEqual reports, in constant time per candidate, whether mac is one
// of sigs.
func anyEqual(mac []byte, sigs [][]byte) bool {
	ok := false
	for _, s := range sigs {
		if hmac.Equal(mac, s) {
			ok = true
		}
	}
	return ok
}

// parseTimestamp reads Unix seconds (as every scheme we know sends
// them) or an RFC 3339 time. EINVALID names field.
func parseTimestamp(field, v string) (time.Time, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 && n < 1<<40 {
		return time.Unix(n, 0), nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Time{}, tenantry.Invalid(tenantry.FieldError{Field: field, Message: "must be a Unix time in seconds"})
}

// fresh refuses a timestamp more than tolerance away from now: a
// captured request cannot be replayed later.
func fresh(at, now time.Time, tolerance time.Duration) error {
	if d := now.Sub(at); d > tolerance || d < -tolerance {
		return tenantry.Errorf(tenantry.EUNAUTHORIZED, "the webhook timestamp is %s from now, beyond the %s tolerance",
			d.Round(time.Second), tolerance)
	}
	return nil
}

// MaxIDLength bounds a delivery id.
const MaxIDLength = 200

// checkID accepts 1 to MaxIDLength visible ASCII characters.
func checkID(field, id string) error {
	if id == "" {
		return tenantry.Invalid(tenantry.FieldError{Field: field, Message: "is required"})
	}
	if len(id) > MaxIDLength || strings.IndexFunc(id, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return tenantry.Invalid(tenantry.FieldError{Field: field, Message: "must be 1 to 200 visible ASCII characters"})
	}
	return nil
}
