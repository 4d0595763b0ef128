package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tenantry/tenantry"
)

// completions matches job events from a plain NATS subscription on
// "evt.>" to the requests waiting for them. An event may arrive before
// its request has read the job id from the 202, so whichever side comes
// first creates the entry.
type completions struct {
	mu      sync.Mutex
	pending map[string]*completion
}

type completion struct {
	done   chan struct{}
	closed bool
	at     time.Time // when the event arrived
	failed bool      // the job failed rather than succeeded
}

// outcomes are the events that end a hot path's or a sync's job, and
// whether each means it failed. A connection job that fails emits
// server.error or server.needs_reauth (and job.failed once it is given
// up on); a sync that is not wholly successful emits sync.failed.
var outcomes = map[string]bool{
	tenantry.EventSubaccountProvisioned:  false,
	"server.connected":                   false,
	tenantry.EventSyncSucceeded:          false,
	tenantry.EventSyncFailed:             true,
	tenantry.EventJobFailed:              true,
	"server." + tenantry.ConnError:       true,
	"server." + tenantry.ConnNeedsReauth: true,
}

// subscribe starts delivering job events from nc, until nc closes.
func subscribe(nc *nats.Conn) (*completions, error) {
	c := &completions{pending: map[string]*completion{}}
	sub, err := nc.Subscribe("evt.>", c.onEvent)
	if err != nil {
		return nil, fmt.Errorf("subscribe evt.>: %w", err)
	}
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return nil, err
	}
	return c, nc.Flush() // the server has the subscription before the first POST
}

func (c *completions) entry(jobID string) *completion {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.pending[jobID]
	if !ok {
		e = &completion{done: make(chan struct{})}
		c.pending[jobID] = e
	}
	return e
}

func (c *completions) onEvent(m *nats.Msg) {
	at := time.Now()
	failed, ok := outcomes[m.Header.Get(tenantry.HeaderKind)]
	if !ok {
		return
	}
	e := c.entry(m.Header.Get(tenantry.HeaderJob))
	c.mu.Lock()
	defer c.mu.Unlock()
	if !e.closed { // a re-published event reaches core subscribers again
		e.closed, e.at, e.failed = true, at, failed
		close(e.done)
	}
}

// wait returns when job jobID's event arrived.
func (c *completions) wait(ctx context.Context, jobID string) (time.Time, error) {
	e := c.entry(jobID)
	defer func() {
		c.mu.Lock()
		delete(c.pending, jobID)
		c.mu.Unlock()
	}()
	select {
	case <-ctx.Done():
		return time.Time{}, fmt.Errorf("no completion event: %w", ctx.Err())
	case <-e.done:
	}
	if e.failed {
		return time.Time{}, errors.New("job failed")
	}
	return e.at, nil
}
