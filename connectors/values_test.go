package connectors_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	d := define(t, acme)
	tests := []struct {
		name   string
		values map[string]any
		want   map[string]string     // clean values, when valid
		errs   []tenantry.FieldError // else these, in order
	}{
		{"OK", map[string]any{"subdomain": "shop-1", "api_key": "k3y", "region": "us", "page_size": 50.0, "webhook_url": "https://hooks.example/x"},
			map[string]string{"subdomain": "shop-1", "api_key": "k3y", "region": "us", "page_size": "50", "webhook_url": "https://hooks.example/x"}, nil},
		{"DefaultsApplied", map[string]any{"subdomain": "shop", "api_key": "k", "region": nil, "notes": ""},
			map[string]string{"subdomain": "shop", "api_key": "k", "region": "eu"}, nil},
		{"NumericString", map[string]any{"subdomain": "shop", "api_key": "k", "page_size": "2.5e1"},
			map[string]string{"subdomain": "shop", "api_key": "k", "region": "eu", "page_size": "2.5e1"}, nil},
		{"JSONNumber", map[string]any{"subdomain": "shop", "api_key": "k", "page_size": json.Number("7")},
			map[string]string{"subdomain": "shop", "api_key": "k", "region": "eu", "page_size": "7"}, nil},
		{"TextareaLineBreaks", map[string]any{"subdomain": "shop", "api_key": "k", "notes": "a\nb\tc"},
			map[string]string{"subdomain": "shop", "api_key": "k", "region": "eu", "notes": "a\nb\tc"}, nil},
		{"MissingRequired", map[string]any{"subdomain": "  "}, nil, []tenantry.FieldError{
			{Field: "api_key", Message: "is required"}, {Field: "subdomain", Message: "is required"}}},
		{"UnknownField", map[string]any{"subdomain": "shop", "api_key": "k", "Region": "eu", "servertype_id": "acme"}, nil, []tenantry.FieldError{
			{Field: "Region", Message: "is not a field of this connector"},
			{Field: "servertype_id", Message: "is not a field of this connector"}}},
		{"BadValues", map[string]any{
			"subdomain": "Shop!", "api_key": true, "region": "asia", "page_size": "many",
			"webhook_url": "ftp://files.example", "notes": strings.Repeat("x", 4097)}, nil, []tenantry.FieldError{
			{Field: "api_key", Message: "must be a string"},
			{Field: "notes", Message: "must be at most 4096 bytes"},
			{Field: "page_size", Message: "must be a number"},
			{Field: "region", Message: "must be one of eu, us"},
			{Field: "subdomain", Message: "does not have the expected format (^[a-z0-9-]+$)"},
			{Field: "webhook_url", Message: "must be an absolute http or https URL such as https://api.example.com"}}},
		{"WrongKinds", map[string]any{"subdomain": 5.0, "api_key": "k", "page_size": true, "notes": map[string]any{}}, nil, []tenantry.FieldError{
			{Field: "notes", Message: "must be a string"},
			{Field: "page_size", Message: "must be a number"},
			{Field: "subdomain", Message: "must be a string"}}},
		{"ControlCharacters", map[string]any{"subdomain": "shop", "api_key": "k\r\nX-Evil: 1"}, nil, []tenantry.FieldError{
			{Field: "api_key", Message: "must not contain control characters"}}},
		{"InvalidUTF8", map[string]any{"subdomain": "shop", "api_key": "\xff"}, nil, []tenantry.FieldError{
			{Field: "api_key", Message: "must be valid UTF-8"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clean, err := d.Validate(tt.values)
			if tt.errs == nil {
				require.NoError(t, err)
				assert.Equal(t, tt.want, clean)
				return
			}
			assert.Nil(t, clean)
			require.Equal(t, tenantry.EINVALID, tenantry.ErrorCode(err))
			var e *tenantry.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.errs, e.Fields)
		})
	}
}

func TestValidateHostLabel(t *testing.T) {
	t.Parallel()
	// subdomain is the base URL's host: Validate refuses what BaseURL would.
	d := define(t, strings.Replace(acme, "    pattern: '^[a-z0-9-]+$'\n", "", 1))
	for _, v := range []string{"evil.com/x", "a.b", "-a", "a_b", "a:80", "a@b"} {
		_, err := d.Validate(map[string]any{"subdomain": v, "api_key": "k"})
		var e *tenantry.Error
		require.ErrorAs(t, err, &e, v)
		assert.Equal(t, "subdomain", e.Fields[0].Field, v)
		assert.Contains(t, e.Fields[0].Message, "host name label", v)
	}
	_, err := d.Validate(map[string]any{"subdomain": "Acme-2", "api_key": "k"})
	assert.NoError(t, err)
}

func TestSecret(t *testing.T) {
	t.Parallel()
	d := define(t, strings.Replace(acme, "    type: textarea\n", "    type: textarea\n    secret: true\n", 1))
	assert.True(t, d.Secret("api_key"), "a password field is secret")
	assert.True(t, d.Secret("notes"), "secret: true")
	assert.False(t, d.Secret("subdomain"))
	assert.False(t, d.Secret("nope"))
}
