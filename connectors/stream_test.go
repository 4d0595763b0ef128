package connectors_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/connectors"
)

// withStream is acme with one more stream: its name and the YAML of its
// other keys.
func withStream(name, keys string) string {
	return acme + "  - name: " + name + "\n" + keys
}

func TestLoadCatalogBrokenStreams(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, stream, keys, want string }{
		{"BadName", "Gadgets", "    path: /g\n    primary_key: id\n", `streams[1].name: "Gadgets" must be a lower-case letter then up to 62 lower-case letters, digits or _`},
		{"DuplicateName", "widgets", "    path: /g\n    primary_key: id\n", `streams[1].name: "widgets" is already the name of streams[0]`},
		{"MissingPath", "gadgets", "    primary_key: id\n", `streams[1].path: is required`},
		{"RelativePath", "gadgets", "    path: g\n    primary_key: id\n", `streams[1].path: must start with / or be a single {{placeholder}}`},
		{"UnknownPlaceholder", "gadgets", "    path: /g/{{team}}\n    primary_key: id\n", `streams[1].path: {{team}} is not a form field`},
		{"MissingPrimaryKey", "gadgets", "    path: /g\n", `streams[1].primary_key: is required`},
		{"BadRecords", "gadgets", "    path: /g\n    primary_key: id\n    records: data\n", `streams[1].records: "data" must be a JSON pointer`},
		{"BadPaginationType", "gadgets", "    path: /g\n    primary_key: id\n    pagination: {type: pages}\n", `streams[1].pagination.type: "pages" is not one of none|cursor|link|page|offset`},
		{"CursorWithoutParam", "gadgets", "    path: /g\n    primary_key: id\n    pagination: {type: cursor, next_cursor: /next}\n", `streams[1].pagination.cursor_param: is required when type is cursor`},
		{"CursorWithoutNext", "gadgets", "    path: /g\n    primary_key: id\n    pagination: {type: cursor, cursor_param: c}\n", `streams[1].pagination.next_cursor: is required when cursor_from is body`},
		{"LastRecordWithoutField", "gadgets", "    path: /g\n    primary_key: id\n    pagination: {type: cursor, cursor_param: c, cursor_from: last_record}\n", `streams[1].pagination.cursor_field: is required when cursor_from is last_record`},
		{"BadCursorFrom", "gadgets", "    path: /g\n    primary_key: id\n    pagination: {type: cursor, cursor_param: c, cursor_from: header}\n", `streams[1].pagination.cursor_from: "header" is not one of body|last_record`},
		{"KeyOfAnotherType", "gadgets", "    path: /g\n    primary_key: id\n    pagination: {type: link, page_param: p}\n", `streams[1].pagination.page_param: is not used by pagination type link`},
		{"PageWithoutParam", "gadgets", "    path: /g\n    primary_key: id\n    pagination: {type: page}\n", `streams[1].pagination.page_param: is required when type is page`},
		{"BadTotal", "gadgets", "    path: /g\n    primary_key: id\n    pagination: {type: offset, offset_param: o, total: total}\n", `streams[1].pagination.total: "total" must be a JSON pointer starting with /`},
		{"LimitWithoutSize", "gadgets", "    path: /g\n    primary_key: id\n    pagination: {type: offset, offset_param: o, limit_param: limit}\n", `streams[1].pagination: limit_param and page_size go together: set both or neither`},
		{"UnknownPaginationKey", "gadgets", "    path: /g\n    primary_key: id\n    pagination: {type: none, size: 3}\n", `streams[1].pagination.size: unknown key`},
		{"IncrementalWithoutParam", "gadgets", "    path: /g\n    primary_key: id\n    incremental: {cursor_field: updated_at}\n", `streams[1].incremental.param: is required`},
		{"ParamSetByPagination", "gadgets", "    path: /g\n    primary_key: id\n    params: {page: '1'}\n    pagination: {type: page, page_param: page}\n", `streams[1].params.page: is set by the pagination or the incremental cursor`},
		{"ShortSchedule", "gadgets", "    path: /g\n    primary_key: id\n    schedule: 30\n", `streams[1].schedule: 30 must be at least 60 seconds`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := withStream(tt.stream, tt.keys)
			_, err := setup(t, map[string]string{"acme.yaml": body})
			require.Error(t, err)
			assert.Contains(t, err.Error(), "acme.yaml: "+tt.want)
		})
	}
}

func TestStreamURL(t *testing.T) {
	t.Parallel()
	d := define(t, strings.Replace(acme, "    path: /widgets\n", "    path: /teams/{{region}}/widgets?sort=name\n    params: {archived: 'false'}\n", 1))
	u, err := d.StreamURL("widgets", map[string]string{"subdomain": "acme", "region": "eu"})
	require.NoError(t, err)
	assert.Equal(t, "https://acme.acme.example/api/eu/teams/eu/widgets?archived=false&sort=name", u.String())
	_, err = d.StreamURL("gadgets", nil)
	assert.Error(t, err)
}

func TestShippedStreams(t *testing.T) {
	t.Parallel()
	c, err := connectors.LoadCatalog("")
	require.NoError(t, err)
	for id, names := range map[string][]string{
		"hubspot": {"contacts", "companies", "deals"}, "stripe": {"customers", "charges"},
		"github": {"repos"}, "pipedrive": {"deals", "persons"}, "shopify": {"orders"},
	} {
		d, ok := c.Get(id)
		require.True(t, ok, id)
		for _, n := range names {
			s, ok := d.Stream(n)
			require.True(t, ok, "%s has stream %s", id, n)
			assert.NotEmpty(t, s.PrimaryKey)
		}
	}
}
