package worker

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/tenantry/tenantry/store"
)

// defaultOutageWait is how long a delivery waits out an unreachable
// Postgres unless configured otherwise.
const defaultOutageWait = 10 * time.Minute

// awaitPostgres runs fn again while it fails only because Postgres is
// unreachable, up to wait: a database outage is waited out inside the
// delivery (the consumer's heartbeats keep the message) instead of
// spending the message's deliveries.
func awaitPostgres(ctx context.Context, log *zap.Logger, wait time.Duration, fn func() error) error {
	deadline := time.Now().Add(wait)
	delay := 100 * time.Millisecond
	for {
		err := fn()
		if !store.IsUnavailable(err) || time.Now().After(deadline) {
			return err
		}
		log.Warn("postgres unavailable; waiting", zap.Duration("retry_in", delay), zap.Error(err))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
}
