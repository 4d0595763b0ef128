package tenantry_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
)

// TestEndpointMessages: a call and a reply survive the trip through
// their wire form, payloads byte for byte (newlines, binary, empty), and
// a message without the separator is refused.
func TestEndpointMessages(t *testing.T) {
	call := tenantry.EndpointCall{EndpointID: "ept_1", InterfaceID: "ifc_1", Version: time.Unix(1700000000, 0).UTC(),
		PartnerID: "ptn_1", AccountID: "sub_1", RequestID: "req\n1", TimeoutMS: 10000,
		Request: []byte("{\"data\": \"a\\nb\",\n \"x\": 1}")}
	data, err := call.Encode()
	require.NoError(t, err)
	var got tenantry.EndpointCall
	require.NoError(t, got.Decode(data))
	require.Equal(t, call, got)

	for _, body := range [][]byte{nil, []byte("line 1\nline 2\n"), {0, 0xff, '\n', 0x80}} {
		reply := tenantry.EndpointReply{RunID: "run_1", Status: 201, Header: http.Header{"X-A": {"1", "2"}}, Body: body}
		data, err := reply.Encode()
		require.NoError(t, err)
		var back tenantry.EndpointReply
		require.NoError(t, back.Decode(data))
		require.Equal(t, reply.Status, back.Status)
		require.Equal(t, reply.Header, back.Header)
		require.Equal(t, string(body), string(back.Body))
	}

	var r tenantry.EndpointReply
	require.Error(t, r.Decode([]byte(`{"status": 200}`)))
	require.Error(t, r.Decode([]byte("{\"status\": \n200}")))
}
