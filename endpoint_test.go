package tenantry_test

import (
	"encoding/json"
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
	require.Error(t, r.Decode([]byte("{\"status\": \n200}")))
	require.Error(t, r.Decode([]byte(`{"status": "200"}`)))
}

// TestEndpointMessagesLegacy: calls and replies in the form of earlier
// releases (one JSON object, the body as base64) still decode, and a
// legacy call is marked so that its answer goes back in that form, which
// an earlier release decodes.
func TestEndpointMessagesLegacy(t *testing.T) {
	var call tenantry.EndpointCall
	require.NoError(t, call.Decode([]byte(`{"endpoint_id":"ept_1","account_id":"sub_1","timeout_ms":5000,"request":{"method":"GET"}}`)))
	require.True(t, call.Legacy)
	require.Equal(t, "ept_1", call.EndpointID)
	require.Equal(t, int64(5000), call.TimeoutMS)
	require.JSONEq(t, `{"method":"GET"}`, string(call.Request))
	current, err := (&tenantry.EndpointCall{EndpointID: "ept_1", Request: []byte(`{}`)}).Encode()
	require.NoError(t, err)
	require.NoError(t, call.Decode(current))
	require.False(t, call.Legacy)

	reply := tenantry.EndpointReply{RunID: "run_1", Status: 200, Header: http.Header{"X-A": {"1"}}, Body: []byte("a\nb")}
	data, err := reply.EncodeLegacy()
	require.NoError(t, err)
	var earlier struct { // as an earlier release's API reads it
		RunID  string      `json:"run_id"`
		Status int         `json:"status"`
		Header http.Header `json:"header"`
		Body   []byte      `json:"body"`
	}
	require.NoError(t, json.Unmarshal(data, &earlier))
	require.Equal(t, "run_1", earlier.RunID)
	require.Equal(t, 200, earlier.Status)
	require.Equal(t, "a\nb", string(earlier.Body))
	var back tenantry.EndpointReply
	require.NoError(t, back.Decode(data), "a reply from a worker not yet upgraded")
	require.Equal(t, reply.Header, back.Header)
	require.Equal(t, "a\nb", string(back.Body))
}
