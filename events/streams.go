package events

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream names.
const (
	StreamCommands = "COMMANDS"
	StreamEvents   = "EVENTS"
	StreamWebhooks = "WEBHOOKS"
	StreamDLQ      = "DLQ"
)

// StreamConfigs returns tenantry's streams with the given replica count
// (1 on a single server, 3 on a cluster).
func StreamConfigs(replicas int) []jetstream.StreamConfig {
	day := 24 * time.Hour
	base := func(name, subject string, maxAge time.Duration) jetstream.StreamConfig {
		return jetstream.StreamConfig{
			Name: name, Subjects: []string{subject}, Retention: jetstream.LimitsPolicy,
			Storage: jetstream.FileStorage, Replicas: replicas, MaxAge: maxAge,
			// Re-publishing an accepted command within this window is
			// dropped by JetStream; after it, the worker's job check makes
			// it a no-op.
			Duplicates: 10 * time.Minute, Discard: jetstream.DiscardOld,
		}
	}
	webhooks := base(StreamWebhooks, "hook.>", 7*day)
	webhooks.MaxBytes = 10 << 30
	return []jetstream.StreamConfig{
		base(StreamCommands, "cmd.>", 7*day),
		base(StreamEvents, "evt.>", 7*day),
		webhooks,
		base(StreamDLQ, "dlq.>", 90*day),
	}
}

// EnsureStreams creates or updates tenantry's streams; safe to run on
// every start of every replica.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, replicas int) error {
	for _, cfg := range StreamConfigs(replicas) {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("ensure stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}
