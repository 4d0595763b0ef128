package events_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/events"
)

func TestPublish(t *testing.T) {
	t.Parallel()
	ctx, js := setup(t)
	pub := events.NewPublisher(js, 5*time.Second)
	m := tenantry.Message{ID: "job-1", Subject: "cmd.sync.run.t1", Data: []byte(`{"a":1}`), Header: map[string]string{
		tenantry.HeaderJob: "job-1", tenantry.HeaderTenant: "t1", tenantry.HeaderRequestID: "",
	}}
	require.NoError(t, pub.Publish(ctx, m))
	again := m
	again.Data = []byte(`{"a":2}`)
	require.NoError(t, pub.Publish(ctx, again), "a re-publish is not an error")

	s, err := js.Stream(ctx, events.StreamCommands)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(1), info.State.Msgs, "the re-publish must be dropped as a duplicate")

	got, err := s.GetMsg(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, m.Subject, got.Subject)
	require.Equal(t, m.Data, got.Data, "the first publish wins")
	require.Equal(t, "job-1", got.Header.Get(nats.MsgIdHdr))
	require.Equal(t, "job-1", got.Header.Get(tenantry.HeaderJob))
	require.Equal(t, "t1", got.Header.Get(tenantry.HeaderTenant))
	require.NotContains(t, got.Header, tenantry.HeaderRequestID, "empty headers are not sent")

	t.Run("OtherID", func(t *testing.T) {
		other := m
		other.ID = "job-2"
		require.NoError(t, pub.Publish(ctx, other))
		info, err := s.Info(ctx)
		require.NoError(t, err)
		require.Equal(t, uint64(2), info.State.Msgs)
	})
	t.Run("ErrNoStream", func(t *testing.T) {
		err := pub.Publish(ctx, tenantry.Message{ID: "x", Subject: "nowhere.x"})
		require.ErrorContains(t, err, "publish nowhere.x")
	})
}
