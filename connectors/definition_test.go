package connectors_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/connectors"
)

const oauthAcme = `id: acme
name: Acme
auth:
  type: oauth2
  oauth2:
    authorize_url: https://acme.example/oauth/authorize
    token_url: https://acme.example/oauth/token
    scopes: [read]
base_url: "{{instance_url}}/api"
apply:
  headers: {Authorization: "Bearer {{access_token}}"}
check: {path: /me}
`

func TestLoadCatalogBrokenDefinitions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, body string
		want             string // the whole message after "connectors: "
	}{
		{"UnknownKey", "acme.yaml", strings.Replace(acme, "    label: Region\n", "    label: Region\n    lable: Region\n", 1),
			`acme.yaml: form[2].lable: unknown key (line 18)`},
		{"UnknownTopLevelKey", "acme.yaml", acme + "bogus: 1\n",
			`acme.yaml: bogus: unknown key (line 41)`},
		{"WrongValueType", "acme.yaml", strings.Replace(acme, "    required: true\n    pattern", "    required: sure\n    pattern", 1),
			"acme.yaml: form[0].required: cannot unmarshal !!str `sure` into bool (line 10)"},
		{"BadID", "Acme!.yaml", strings.Replace(acme, "id: acme", "id: Acme!", 1),
			`Acme!.yaml: id: "Acme!" must be 2 to 40 lower-case letters, digits or _`},
		{"IDNotFileName", "other.yaml", acme,
			`other.yaml: id: "acme" must equal the file name without .yaml ("other")`},
		{"BadAuthType", "acme.yaml", strings.Replace(acme, "type: api_key", "type: apikey", 1),
			`acme.yaml: auth.type: "apikey" is not one of oauth2|api_key|basic|secret_store|none`},
		{"OAuth2WithoutBlock", "acme.yaml", strings.Replace(acme, "type: api_key", "type: oauth2", 1),
			`acme.yaml: auth.oauth2: is required when auth.type is oauth2`},
		{"OAuth2MissingTokenURL", "acme.yaml", strings.Replace(oauthAcme, "    token_url: https://acme.example/oauth/token\n", "", 1),
			`acme.yaml: auth.oauth2.token_url: is required`},
		{"OAuth2ReservedParam", "acme.yaml", strings.Replace(oauthAcme, "    scopes: [read]\n", "    scopes: [read]\n    extra_params: {redirect_uri: x}\n", 1),
			`acme.yaml: auth.oauth2.extra_params.redirect_uri: is set by tenantry and cannot be overridden`},
		{"BadFieldType", "acme.yaml", strings.Replace(acme, "type: number", "type: strng", 1),
			`acme.yaml: form[3].type: "strng" is not one of string|password|url|number|select|textarea`},
		{"SelectWithoutOptions", "acme.yaml", strings.Replace(acme, "    options: [eu, us]\n", "", 1),
			`acme.yaml: form[2].options: is required when type is select`},
		{"BadPattern", "acme.yaml", strings.Replace(acme, "'^[a-z0-9-]+$'", "'^[a-z'", 1),
			"acme.yaml: form[0].pattern: error parsing regexp: missing closing ]: `[a-z`"},
		{"DefaultNotAnOption", "acme.yaml", strings.Replace(acme, "default: eu", "default: asia", 1),
			`acme.yaml: form[2].default: "asia" must be one of eu, us`},
		{"DuplicateField", "acme.yaml", strings.Replace(acme, "name: page_size", "name: region", 1),
			`acme.yaml: form[3].name: "region" is already the name of form[2]`},
		{"ReservedField", "acme.yaml", strings.Replace(acme, "name: notes", "name: servertype_id", 1),
			`acme.yaml: form[4].name: "servertype_id" is reserved: it is another key of the POST /api/servers body`},
		{"UnknownPlaceholder", "acme.yaml", strings.Replace(acme, "{{subdomain}}.acme", "{{company}}.acme", 1),
			`acme.yaml: base_url: {{company}} is not a form field`},
		{"UnknownPlaceholderOAuth2", "acme.yaml", strings.Replace(oauthAcme, "{{access_token}}", "{{token}}", 1),
			`acme.yaml: apply.headers.Authorization: {{token}} is neither a form field nor a token field (access_token, refresh_token, instance_url)`},
		{"TokenFieldOutsideOAuth2", "acme.yaml", strings.Replace(acme, "{{api_key}}", "{{access_token}}", 1),
			`acme.yaml: apply.headers.X-Api-Key: {{access_token}} is not a form field`},
		{"UnclosedPlaceholder", "acme.yaml", strings.Replace(acme, `"{{api_key}}"`, `"{{api_key"`, 1),
			`acme.yaml: apply.headers.X-Api-Key: "{{api_key" opens a placeholder that is never closed with }}`},
		{"PlaceholderInScheme", "acme.yaml", strings.Replace(acme, "base_url: https://{{subdomain}}.acme.example/api/{{region}}", "base_url: '{{subdomain}}://x/api'", 1),
			`acme.yaml: base_url: {{subdomain}} holds a whole URL, so only a path starting with / may follow it`},
		{"WholeURLFromStringField", "acme.yaml", strings.Replace(acme, "base_url: https://{{subdomain}}.acme.example/api/{{region}}", "base_url: '{{subdomain}}/api'", 1),
			`acme.yaml: base_url: {{subdomain}} starts the URL, so it must be a url form field or instance_url`},
		{"URLFieldInHost", "acme.yaml", strings.Replace(acme, "{{subdomain}}.acme", "{{webhook_url}}.acme", 1),
			`acme.yaml: base_url: {{webhook_url}} is in the host, so it must be a form field holding one host name label`},
		{"BaseURLQuery", "acme.yaml", strings.Replace(acme, "/api/{{region}}", "/api?r={{region}}", 1),
			`acme.yaml: base_url: must not have a query: put credentials in apply.query`},
		{"MissingBaseURL", "acme.yaml", strings.Replace(acme, "base_url: https://{{subdomain}}.acme.example/api/{{region}}\n", "", 1),
			`acme.yaml: base_url: is required`},
		{"CheckPathRelative", "acme.yaml", strings.Replace(acme, "path: /me?verbose=1", "path: me", 1),
			`acme.yaml: check.path: must start with / or be a single {{placeholder}}`},
		{"CheckPathAndURL", "acme.yaml", strings.Replace(acme, "path: /me?verbose=1", "path: /me\n  url: https://x.example/me", 1),
			`acme.yaml: check: needs exactly one of path (relative to base_url) and url (absolute)`},
		{"CheckStatus", "acme.yaml", strings.Replace(acme, "[200, 204]", "[200, 2040]", 1),
			`acme.yaml: check.expect_status[1]: 2040 is not an HTTP status`},
		{"BadHeaderName", "acme.yaml", strings.Replace(acme, "X-Api-Key:", "X Api Key:", 1),
			`acme.yaml: apply.headers.X Api Key: header name "X Api Key" is not a valid HTTP header name`},
		{"SecretStoreWithURL", "acme.yaml", "id: acme\nname: A\nauth: {type: secret_store}\nform: [{name: s, label: S, type: password}]\nbase_url: https://x.example\n",
			`acme.yaml: a secret_store connector has no base_url, apply or check`},
		{"BadFieldName", "acme.yaml", strings.Replace(acme, "name: notes", "name: Notes", 1),
			`acme.yaml: form[4].name: "Notes" must be a lower-case letter then up to 63 lower-case letters, digits or _`},
		{"TokenFieldInForm", "acme.yaml", strings.Replace(oauthAcme, "base_url:", "form: [{name: access_token, label: T}]\nbase_url:", 1),
			`acme.yaml: form[0].name: "access_token" is reserved for the OAuth2 token in an oauth2 connector`},
		{"OptionsOnString", "acme.yaml", strings.Replace(acme, "    type: number\n", "    type: number\n    options: [1, 2]\n", 1),
			`acme.yaml: form[3].options: is only allowed when type is select`},
		{"DuplicateOption", "acme.yaml", strings.Replace(acme, "[eu, us]", "[eu, us, eu]", 1),
			`acme.yaml: form[2].options[2]: "eu" must be non-empty and unique`},
		{"CheckURLRelative", "acme.yaml", strings.Replace(acme, "path: /me?verbose=1", "url: /me", 1),
			`acme.yaml: check.url: "/me" must be an absolute http or https URL`},
		{"Empty", "acme.yaml", "# nothing\n", `acme.yaml: the file is empty`},
		{"Syntax", "acme.yaml", "id: [acme\n", `acme.yaml: line 1: did not find expected ',' or ']'`},
		{"UnquotedPlaceholder", "acme.yaml", strings.Replace(acme, "check:\n  path: /me?verbose=1", "check:\n  path: {{region}}", 1),
			`acme.yaml: check.path: cannot unmarshal !!map into string (line 35; quote values that start with {{)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := setup(t, map[string]string{tt.file: tt.body})
			require.Error(t, err)
			var found bool
			for _, line := range strings.Split(err.Error(), "\n") {
				path, msg, _ := strings.Cut(line, ": ")
				assert.Equal(t, "connectors", path, line)
				assert.True(t, strings.HasSuffix(strings.SplitN(msg, ": ", 2)[0], ".yaml") ||
					strings.Contains(msg, ".yaml: "), "every line names the file: %s", line)
				found = found || strings.HasSuffix(msg, tt.want)
			}
			assert.True(t, found, "want %q in\n%s", tt.want, err)
			var de *connectors.DefinitionError
			assert.True(t, errors.As(err, &de), "errors are *DefinitionError")
		})
	}
}

func TestLoadCatalogReportsEveryProblem(t *testing.T) {
	t.Parallel()
	body := strings.NewReplacer("type: number", "type: strng", "{{api_key}}", "{{key}}").Replace(acme)
	_, err := setup(t, map[string]string{"acme.yaml": body, "beta.yaml": "id: gamma\n"})
	require.Error(t, err)
	for _, want := range []string{"acme.yaml: form[3].type", "acme.yaml: apply.headers.X-Api-Key: {{key}}",
		`beta.yaml: id: "gamma" must equal`, "beta.yaml: name: is required", "beta.yaml: auth.type: is required"} {
		assert.Contains(t, err.Error(), want)
	}
}
