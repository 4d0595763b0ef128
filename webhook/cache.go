package webhook

import (
	"sync"
	"time"
)

// maxCached bounds each target cache; a full cache starts over.
const maxCached = 10_000

// targetCache remembers resolved webhook targets for a short while: a
// producer's burst costs one Postgres lookup (and, for a connection, one
// unseal of its signing secret) instead of one per request. Safe for
// concurrent use.
type targetCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cachedTarget
}

type cachedTarget struct {
	t       *Target
	expires time.Time
}

func (c *targetCache) get(key string, now time.Time) (*Target, bool) {
	if c.ttl <= 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || now.After(e.expires) {
		return nil, false
	}
	return e.t, true
}

func (c *targetCache) put(key string, t *Target, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCached {
		c.m = map[string]cachedTarget{}
	}
	c.m[key] = cachedTarget{t: t, expires: now.Add(c.ttl)}
}

// forget drops every entry: what this replica changed applies at once.
func (c *targetCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}

// drop drops key's entry.
func (c *targetCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}
