package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/events"
)

func TestIngressBody(t *testing.T) {
	t.Parallel()
	for _, size := range []int{1024, 4096} {
		b := ingressBody(size)
		require.Len(t, b, size)
		require.True(t, json.Valid(b), "%s", b)
	}
}

func TestBareServer(t *testing.T) {
	t.Parallel()
	ns, err := events.StartServer(t.TempDir(), -1)
	require.NoError(t, err)
	t.Cleanup(ns.Shutdown)
	nc, _, err := events.Connect(ns.ClientURL(), "bench-test")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	s, err := startBareServer(nc)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	ctx, client := context.Background(), loadClient(2)

	status, body, err := send(ctx, client, s.URL+"/hook", ingressBody(1024), http.Header{"Webhook-Id": {"w1"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, status)
	require.JSONEq(t, `{"id":"whk_bare","webhook_id":"w1"}`, string(body))
	status, body, err = send(ctx, client, s.URL+"/endpoint", []byte(`{"id":1}`), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, checkOK(1, body))
	status, body, err = send(ctx, client, s.URL+"/relay", []byte(`{"id":1}`), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, checkOK(1, body))

	require.Error(t, s.check("bare", 2), "three requests were answered")
	require.NoError(t, s.check("bare", 0), "check counts from the last check")
}
