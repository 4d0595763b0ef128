package syncer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connections"
	"github.com/tenantry/tenantry/store"
)

// Config bounds a sync; zero values take the defaults.
type Config struct {
	// StallTimeout fails a stream whose next page does not arrive within
	// it (the provider hangs or trickles); default 5m.
	StallTimeout time.Duration
	// MaxEmptyPages fails a stream after this many pages in a row that
	// hold no records yet do not end it; default 20.
	MaxEmptyPages int
}

func (c *Config) defaults() {
	if c.StallTimeout <= 0 {
		c.StallTimeout = 5 * time.Minute
	}
	if c.MaxEmptyPages <= 0 {
		c.MaxEmptyPages = 20
	}
}

// Syncer runs sync jobs. Safe for concurrent use by several jobs.
type Syncer struct {
	cfg   Config
	store *store.Store
	conns *connections.Service
	log   *zap.Logger
	now   func() time.Time
}

// New returns a Syncer.
func New(cfg Config, st *store.Store, conns *connections.Service, log *zap.Logger) *Syncer {
	cfg.defaults()
	return &Syncer{cfg: cfg, store: st, conns: conns, log: log, now: time.Now}
}

// Run runs (or resumes) sync job id and finishes it. A stream that fails
// for good is recorded and the others go on; anything worth retrying (a
// provider down or rate limiting past the egress client's retries, the
// database unreachable) is returned, and the job's next delivery resumes
// from the checkpoints. Errors that retrying cannot fix (the connection
// deleted, its connector gone) are returned as they are: the worker fails
// the job, which fails the run. It returns the run's event to publish.
func (s *Syncer) Run(ctx context.Context, id string) ([]tenantry.Message, error) {
	run, requested, err := s.store.SyncRun(ctx, id)
	if err != nil {
		return nil, err
	}
	src, err := s.conns.Source(ctx, run.ConnectionID)
	if err != nil {
		return nil, err
	}
	plan, err := s.plan(ctx, run, requested, src)
	if err != nil {
		return nil, err
	}
	if run, err = s.store.StartSyncRun(ctx, id, plan); err != nil {
		return nil, err
	}
	schema, err := s.store.AccountSchema(ctx, run.AccountID)
	if err != nil {
		return nil, err
	}
	for _, st := range run.Streams {
		if st.Status == tenantry.SyncSucceeded || st.Status == tenantry.SyncFailed {
			continue
		}
		err := s.stream(ctx, run, src, schema, st)
		if err == nil {
			continue
		}
		if !streamFailure(err) {
			return nil, err
		}
		s.log.Info("stream failed", zap.String("job_id", id), zap.String("stream", st.Stream), zap.Error(err))
		if err := s.store.FailSyncStream(ctx, run, st.Stream, reason(err)); err != nil {
			return nil, err
		}
	}
	return s.store.FinishSyncRun(ctx, id)
}

// streamFailure reports whether err ends a stream for good: the provider
// refused it (bad request, credentials, a private address), sent what
// cannot be synced, or the stream stalled. Retrying the same requests
// could not help.
func streamFailure(err error) bool {
	var stall *stallError
	if errors.As(err, &stall) {
		return true
	}
	switch tenantry.ErrorCode(err) {
	case tenantry.EINVALID, tenantry.EUNAUTHORIZED, tenantry.EFORBIDDEN, tenantry.ECONFLICT, tenantry.ENOTFOUND:
		return true
	}
	return false
}

// stallError is the error of a stream that stopped making progress.
type stallError struct{ detail string }

func (e *stallError) Error() string { return "stalled: " + e.detail }

func stalled(format string, args ...any) error {
	return &stallError{detail: fmt.Sprintf(format, args...)}
}

// reason is what the ledger says of a failed stream: never internals.
func reason(err error) string {
	var stall *stallError
	if errors.As(err, &stall) {
		return stall.Error()
	}
	return tenantry.ErrorMessage(err)
}
