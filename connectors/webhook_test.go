package connectors_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/connectors"
)

const hooked = `id: hooked
name: Hooked
auth: {type: api_key}
form:
  - {name: api_key, label: API key, type: password, required: true}
  - {name: signing_secret, label: Signing secret, type: password}
  - {name: region, label: Region}
base_url: https://api.hooked.example
apply: {headers: {Authorization: "Bearer {{api_key}}"}}
webhooks:
`

func loadHooked(t *testing.T, section string) (*connectors.Definition, error) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hooked.yaml"), []byte(hooked+section), 0o600))
	c, err := connectors.LoadCatalog(dir)
	if err != nil {
		return nil, err
	}
	d, _ := c.Get("hooked")
	return d, nil
}

func TestWebhooksSection(t *testing.T) {
	t.Parallel()
	t.Run("StandardDefaults", func(t *testing.T) {
		d, err := loadHooked(t, "  scheme: standard_webhooks\n  secret: signing_secret\n")
		require.NoError(t, err)
		require.Equal(t, 300, d.Webhooks.Tolerance)
		require.True(t, d.Webhooks.Timestamped())
		require.Equal(t, "standard_webhooks", d.Webhooks.String())
	})
	t.Run("HMACDefaults", func(t *testing.T) {
		d, err := loadHooked(t, "  scheme: hmac\n  secret: signing_secret\n  header: X-Sig\n")
		require.NoError(t, err)
		w := d.Webhooks
		require.Equal(t, []string{"sha256", "hex", "{body}"}, []string{w.Algorithm, w.Encoding, w.Signed})
		require.False(t, w.Timestamped())
		require.Equal(t, "hmac-sha256", w.String())
	})
	t.Run("NoSection", func(t *testing.T) {
		d, err := loadHooked(t, "")
		require.NoError(t, err)
		require.Nil(t, d.Webhooks)
	})
	for _, tc := range []struct{ name, section, want string }{
		{"ErrNoScheme", "  secret: signing_secret\n", "webhooks.scheme: is required: one of standard_webhooks|hmac"},
		{"ErrBadScheme", "  scheme: hmac256\n  secret: signing_secret\n", `webhooks.scheme: "hmac256" is not one of standard_webhooks|hmac`},
		{"ErrNoSecret", "  scheme: standard_webhooks\n", "webhooks.secret: is required"},
		{"ErrSecretNotAField", "  scheme: standard_webhooks\n  secret: nope\n", `webhooks.secret: "nope" is not a field of the form`},
		{"ErrSecretNotSecret", "  scheme: standard_webhooks\n  secret: region\n", `webhooks.secret: form field "region" must be secret`},
		{"ErrStandardWithHMACKeys", "  scheme: standard_webhooks\n  secret: signing_secret\n  header: X-Sig\n", "webhooks.header: is not used by scheme standard_webhooks"},
		{"ErrTolerance", "  scheme: standard_webhooks\n  secret: signing_secret\n  tolerance: 86400\n", "webhooks.tolerance: 86400 must be between 1 and 3600 seconds"},
		{"ErrNoHeader", "  scheme: hmac\n  secret: signing_secret\n", "webhooks.header: is required"},
		{"ErrBadHeader", "  scheme: hmac\n  secret: signing_secret\n  header: 'X Sig'\n", `webhooks.header: "X Sig" is not an HTTP header name`},
		{"ErrAlgorithm", "  scheme: hmac\n  secret: signing_secret\n  header: X-Sig\n  algorithm: md5\n", `webhooks.algorithm: "md5" is not one of sha1|sha256|sha512`},
		{"ErrEncoding", "  scheme: hmac\n  secret: signing_secret\n  header: X-Sig\n  encoding: base32\n", `webhooks.encoding: "base32" is not one of hex|base64`},
		{"ErrSignedWithoutBody", "  scheme: hmac\n  secret: signing_secret\n  header: X-Sig\n  signed: '{id}'\n  id_header: X-Id\n", `webhooks.signed: "{id}" must contain {body} exactly once`},
		{"ErrSignedUnknown", "  scheme: hmac\n  secret: signing_secret\n  header: X-Sig\n  signed: '{url}{body}'\n", "webhooks.signed: {url} is not one of {body}, {timestamp}, {id}"},
		{"ErrTimestampNowhere", "  scheme: hmac\n  secret: signing_secret\n  header: X-Sig\n  signed: '{timestamp}.{body}'\n", "webhooks.signed: uses {timestamp}: set timestamp_param or timestamp_header"},
		{"ErrTimestampUnsigned", "  scheme: hmac\n  secret: signing_secret\n  header: X-Sig\n  timestamp_header: X-Ts\n", "webhooks.signed: must include {timestamp}"},
		{"ErrTimestampParamAlone", "  scheme: hmac\n  secret: signing_secret\n  header: X-Sig\n  timestamp_param: t\n  signed: '{timestamp}.{body}'\n", "webhooks.timestamp_param: needs signature_param"},
		{"ErrTwoIDs", "  scheme: hmac\n  secret: signing_secret\n  header: X-Sig\n  id_header: X-Id\n  id_pointer: /id\n", "webhooks.id_pointer: give the delivery id's place once"},
		{"ErrIDPointer", "  scheme: hmac\n  secret: signing_secret\n  header: X-Sig\n  id_pointer: id\n", `webhooks.id_pointer: "id" must be a JSON pointer starting with /`},
		{"ErrUnknownKey", "  scheme: hmac\n  secret: signing_secret\n  header: X-Sig\n  hedaer: X\n", "webhooks.hedaer: unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadHooked(t, tc.section)
			require.Error(t, err)
			require.Contains(t, err.Error(), "hooked.yaml: "+tc.want)
			require.Equal(t, 1, strings.Count(err.Error(), "connectors: "), "one problem: %v", err)
		})
	}
}
