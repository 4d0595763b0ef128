package events_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/events"
)

func TestEnsureStreams(t *testing.T) {
	t.Parallel()
	ctx, js := setup(t) // runs EnsureStreams once
	publish(t, js, "job-1", nil)
	require.NoError(t, events.EnsureStreams(ctx, js, 1), "second run, as on every restart")

	for name, want := range map[string]string{
		events.StreamCommands: "cmd.>",
		events.StreamEvents:   "evt.>",
		events.StreamWebhooks: "hook.>",
		events.StreamDLQ:      "dlq.>",
	} {
		t.Run(name, func(t *testing.T) {
			s, err := js.Stream(ctx, name)
			require.NoError(t, err)
			info, err := s.Info(ctx)
			require.NoError(t, err)
			require.Equal(t, []string{want}, info.Config.Subjects)
			require.Equal(t, 1, info.Config.Replicas)
		})
	}
	t.Run("KeepsMessages", func(t *testing.T) {
		s, err := js.Stream(ctx, events.StreamCommands)
		require.NoError(t, err)
		info, err := s.Info(ctx)
		require.NoError(t, err)
		require.Equal(t, uint64(1), info.State.Msgs, "a second run must not recreate the stream")
	})
	t.Run("NoOthers", func(t *testing.T) {
		var names []string
		for n := range js.StreamNames(ctx).Name() {
			names = append(names, n)
		}
		require.ElementsMatch(t, []string{"COMMANDS", "EVENTS", "WEBHOOKS", "DLQ"}, names)
	})
}

func TestEnsureStreamsUpdates(t *testing.T) {
	t.Parallel()
	_, js := connect(t)
	ctx := t.Context()
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: events.StreamCommands, Subjects: []string{"cmd.>"}, MaxAge: time.Hour})
	require.NoError(t, err)

	require.NoError(t, events.EnsureStreams(ctx, js, 1))
	s, err := js.Stream(ctx, events.StreamCommands)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, 7*24*time.Hour, info.Config.MaxAge, "an existing stream takes the current config")
	require.Equal(t, 10*time.Minute, info.Config.Duplicates)
}
