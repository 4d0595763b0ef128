package warehouse

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Idle tenant connections kept for reuse: logging in as a tenant's SQL
// role costs a connection and a SCRAM exchange, far more than a query.
// perAccount queries of one account run at once in one process (the
// others wait their turn), below the login role's CONNECTION LIMIT 5, so
// one process alone never meets it.
const (
	perAccount = 4
	idleTotal  = 64
	idleFor    = time.Minute
)

// idleConn is a logged-in tenant connection waiting for its next query.
type idleConn struct {
	conn            *pgx.Conn
	account, schema string
	since           time.Time
}

// connCache keeps idle connections per account, newest last. A
// connection only ever serves the account it logged in as, and its
// session settings are reset before it is kept. Safe for concurrent use.
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

// acquire waits for account's turn to run a query. Call release after.
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

// get returns an idle connection of account and its schema, or nil;
// connections idle for longer than idleFor are closed on the way.
func (c *connCache) get(account string) (*pgx.Conn, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire()
	for i := len(c.idle) - 1; i >= 0; i-- {
		if ic := c.idle[i]; ic.account == account {
			c.idle = append(c.idle[:i], c.idle[i+1:]...)
			return ic.conn, ic.schema
		}
	}
	return nil, ""
}

// put keeps conn for account's next query if it is healthy and its
// session state resets, closing the oldest idle connection beyond the
// limits; otherwise it closes conn.
func (c *connCache) put(ctx context.Context, account, schema string, conn *pgx.Conn) {
	// Tenant transactions always roll back, which undoes set_config(…,
	// false) too; RESET ALL is the second guard, and each query sets its
	// own guards again.
	if conn.IsClosed() || conn.PgConn().TxStatus() != 'I' {
		_ = conn.Close(ctx)
		return
	}
	if _, err := conn.Exec(ctx, `RESET ALL`); err != nil {
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
	var evict []*pgx.Conn
	n := 0
	for i := len(c.idle) - 1; i >= 0; i-- {
		if c.idle[i].account == account {
			n++
		}
		if c.idle[i].account == account && n > perAccount {
			evict = append(evict, c.idle[i].conn)
			c.idle = append(c.idle[:i], c.idle[i+1:]...)
		}
	}
	for len(c.idle) > idleTotal {
		evict = append(evict, c.idle[0].conn)
		c.idle = c.idle[1:]
	}
	c.mu.Unlock()
	for _, conn := range evict {
		_ = conn.Close(ctx)
	}
}

// expire closes connections idle for longer than idleFor; c.mu is held.
func (c *connCache) expire() {
	cut := 0
	for cut < len(c.idle) && time.Since(c.idle[cut].since) > idleFor {
		_ = c.idle[cut].conn.Close(context.Background())
		cut++
	}
	c.idle = c.idle[cut:]
}

// close closes every idle connection; later puts close theirs.
func (c *connCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for _, ic := range c.idle {
		_ = ic.conn.Close(context.Background())
	}
	c.idle = nil
}
