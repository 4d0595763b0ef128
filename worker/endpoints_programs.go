package worker

import (
	"context"
	"sync"
	"time"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/script"
)

// programCache keeps endpoint scripts compiled, by account and
// interface, with the version (updated_at) they were loaded at: a call
// naming that version or an older one needs no Postgres read. The API
// names the version it saw, so an edited script runs once the API's
// route cache has it (handlers.EndpointConfig.CacheTTL). Safe for
// concurrent use.
type programCache struct {
	max int

	mu sync.Mutex
	m  map[string]cachedProgram
}

type cachedProgram struct {
	version time.Time
	prog    *script.Program
}

// program returns the call's script compiled: a *script.CompileError if
// it no longer compiles, ENOTFOUND if its interface was deleted.
func (e *Endpoints) program(ctx context.Context, call *tenantry.EndpointCall) (*script.Program, error) {
	key := call.AccountID + "/" + call.InterfaceID
	if p, ok := e.programs.get(key, call.Version); ok {
		return p, nil
	}
	code, version, err := e.store.EndpointScript(ctx, call.InterfaceID, call.AccountID)
	if err != nil {
		return nil, err
	}
	prog, err := e.scripts.Pool.Compile(code)
	if err != nil {
		return nil, err
	}
	e.programs.put(key, cachedProgram{version: version, prog: prog})
	return prog, nil
}

func (c *programCache) get(key string, version time.Time) (*script.Program, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[key]
	if !ok || p.version.Before(version) {
		return nil, false
	}
	return p.prog, true
}

// put keeps p, making room by forgetting an arbitrary other entry.
func (c *programCache) put(key string, p cachedProgram) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok && len(c.m) >= c.max {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[key] = p
}
