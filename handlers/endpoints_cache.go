package handlers

import (
	"sync"
	"time"

	"github.com/tenantry/tenantry/store"
)

// routeCache keeps, for a while, the endpoints of an account at a path —
// none included, so unknown paths do not each cost a query. An entry is
// used for at most ttl; the replica that creates or deletes an endpoint
// forgets its entry at once. Safe for concurrent use.
type routeCache struct {
	ttl time.Duration
	max int

	mu sync.Mutex
	m  map[routeKey]routeEntry
}

type routeKey struct{ account, path string }

type routeEntry struct {
	routes  []store.EndpointRoute
	expires time.Time
}

func newRouteCache(ttl time.Duration, max int) *routeCache {
	return &routeCache{ttl: ttl, max: max, m: map[routeKey]routeEntry{}}
}

func (c *routeCache) get(account, path string) ([]store.EndpointRoute, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[routeKey{account, path}]
	if !ok || time.Now().After(e.expires) {
		return nil, false
	}
	return e.routes, true
}

// put keeps routes; when the cache is full it first drops expired
// entries, then arbitrary ones.
func (c *routeCache) put(account, path string, routes []store.EndpointRoute) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if len(c.m) >= c.max {
		for k, e := range c.m {
			if now.After(e.expires) || len(c.m) >= c.max {
				delete(c.m, k)
			}
		}
	}
	c.m[routeKey{account, path}] = routeEntry{routes: routes, expires: now.Add(c.ttl)}
}

func (c *routeCache) forget(account, path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, routeKey{account, path})
}
