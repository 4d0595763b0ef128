package warehouse

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Logging in as a tenant's SQL role costs a connection and a SCRAM
// exchange, far more than a query, so logged-in connections are kept for
// the account's next query. Each process runs at most perAccount of an
// account's queries at once (the others wait their turn) and keeps at
// most idlePerAccount of its connections idle: an api and a worker
// process together stay below the login role's CONNECTION LIMIT 5.
const (
	perAccount     = 2
	idlePerAccount = 1
	idleTotal      = 16
	idleFor        = time.Minute
	resetTimeout   = 2 * time.Second
)

// idleConn is a logged-in tenant connection waiting for its next query.
type idleConn struct {
	conn            *pgx.Conn
	account, schema string
	since           time.Time
}

// connCache keeps idle connections per account and admits an account's
// queries perAccount at a time. A connection only ever serves the
// account it logged in as. Idle connections are closed when they have
// waited idleFor, checked whenever the cache is used, and by close.
// Safe for concurrent use.
type connCache struct {
	mu     sync.Mutex
	idle   []idleConn // oldest first
	closed bool
	turns  map[string]*turn // accounts with queries running or waiting
}

// turn admits perAccount queries of one account at a time.
type turn struct {
	slots chan struct{}
	users int // running or waiting
}

// acquire waits for account's turn to run a query; ctx's error if it
// ends first. Call release after.
func (c *connCache) acquire(ctx context.Context, account string) error {
	c.mu.Lock()
	if c.turns == nil {
		c.turns = map[string]*turn{}
	}
	t := c.turns[account]
	if t == nil {
		t = &turn{slots: make(chan struct{}, perAccount)}
		c.turns[account] = t
	}
	t.users++
	c.mu.Unlock()
	select {
	case t.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		c.leave(account, false)
		return ctx.Err()
	}
}

// release ends a query acquire admitted.
func (c *connCache) release(account string) { c.leave(account, true) }

func (c *connCache) leave(account string, admitted bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.turns[account]
	if admitted {
		<-t.slots
	}
	if t.users--; t.users == 0 {
		delete(c.turns, account)
	}
}

// get returns an idle connection of account and its schema, or nil.
func (c *connCache) get(account string) (*pgx.Conn, string) {
	c.mu.Lock()
	stale := c.expire()
	var got idleConn
	for i := len(c.idle) - 1; i >= 0; i-- {
		if c.idle[i].account == account {
			got = c.idle[i]
			c.idle = append(c.idle[:i], c.idle[i+1:]...)
			break
		}
	}
	c.mu.Unlock()
	closeAll(stale)
	return got.conn, got.schema
}

// put keeps conn for account's next query if it is healthy and its
// session resets within resetTimeout, closing what goes beyond the
// limits; otherwise it closes conn. Tenant transactions always roll back,
// which undoes set_config(…, false) too; the reset is the second guard,
// and drops session advisory locks, which a rollback keeps.
func (c *connCache) put(account, schema string, conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), resetTimeout)
	defer cancel()
	if conn.IsClosed() || conn.PgConn().TxStatus() != 'I' || reset(ctx, conn) != nil {
		_ = conn.Close(ctx)
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = conn.Close(ctx)
		return
	}
	c.idle = append(c.idle, idleConn{conn: conn, account: account, schema: schema, since: time.Now()})
	evict := c.expire()
	n := 0
	for i := len(c.idle) - 1; i >= 0; i-- {
		if c.idle[i].account != account {
			continue
		}
		if n++; n > idlePerAccount {
			evict = append(evict, c.idle[i].conn)
			c.idle = append(c.idle[:i], c.idle[i+1:]...)
		}
	}
	for len(c.idle) > idleTotal {
		evict = append(evict, c.idle[0].conn)
		c.idle = c.idle[1:]
	}
	c.mu.Unlock()
	closeAll(evict)
}

// reset returns the session to a fresh login's state: settings,
// advisory locks, prepared statements, temporary tables. (Tenant
// connections prepare nothing of their own: login sets DescribeExec.)
func reset(ctx context.Context, conn *pgx.Conn) error {
	_, err := conn.Exec(ctx, `DISCARD ALL`)
	return err
}

// expire takes out the connections idle for longer than idleFor, for the
// caller to close once c.mu is released.
func (c *connCache) expire() []*pgx.Conn {
	var out []*pgx.Conn
	for len(c.idle) > 0 && time.Since(c.idle[0].since) > idleFor {
		out = append(out, c.idle[0].conn)
		c.idle = c.idle[1:]
	}
	return out
}

// close closes every idle connection; later puts close theirs.
func (c *connCache) close() {
	c.mu.Lock()
	c.closed = true
	var all []*pgx.Conn
	for _, ic := range c.idle {
		all = append(all, ic.conn)
	}
	c.idle = nil
	c.mu.Unlock()
	closeAll(all)
}

func closeAll(conns []*pgx.Conn) {
	for _, conn := range conns {
		ctx, cancel := context.WithTimeout(context.Background(), resetTimeout)
		_ = conn.Close(ctx)
		cancel()
	}
}
