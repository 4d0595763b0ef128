package worker

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/tenantry/tenantry/store"
)

// Limits of one batch of recorded endpoint runs.
const (
	recordBatch      = 500
	recordBatchBytes = 4 << 20 // of logs
	recordQueue      = 10000
)

// runRecorder writes endpoint runs in the background, in batches, so a
// call's answer never waits for Postgres. A run that finds the queue full
// (Postgres far behind) is logged and dropped: the answer matters more
// than its record.
type runRecorder struct {
	store *store.Store
	every time.Duration
	log   *zap.Logger
	runs  chan store.EndpointRun
	done  chan struct{}
}

func newRunRecorder(st *store.Store, every time.Duration, log *zap.Logger) *runRecorder {
	return &runRecorder{store: st, every: every, log: log, runs: make(chan store.EndpointRun, recordQueue),
		done: make(chan struct{})}
}

// add queues run; it must not be called after stop.
func (r *runRecorder) add(run store.EndpointRun) {
	select {
	case r.runs <- run:
	default:
		r.log.Warn("endpoint run not recorded: the recorder is behind", zap.String("run_id", run.ID))
	}
}

// stop writes what is queued and returns; run must have been started.
func (r *runRecorder) stop() {
	close(r.runs)
	<-r.done
}

// run writes batches until stop: every r.every, or sooner when one is
// full.
func (r *runRecorder) run() {
	defer close(r.done)
	t := time.NewTicker(r.every)
	defer t.Stop()
	var batch []store.EndpointRun
	size := 0
	for {
		select {
		case run, ok := <-r.runs:
			if !ok {
				r.write(batch)
				return
			}
			batch, size = append(batch, run), size+len(run.Outcome.Log)
			if len(batch) < recordBatch && size < recordBatchBytes {
				continue
			}
		case <-t.C:
		}
		r.write(batch)
		batch, size = nil, 0
	}
}

func (r *runRecorder) write(batch []store.EndpointRun) {
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.store.RecordEndpointRuns(ctx, batch); err != nil {
		r.log.Error("record endpoint runs", zap.Int("runs", len(batch)), zap.Error(err))
	}
}
