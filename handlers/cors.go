package handlers

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/tenantry/tenantry/store"
)

// corsOrigins caches every partner's allowed origins, reloaded at most
// every refresh. A preflight carries no credential, so it is answered for
// any origin some partner allows; the actual request then keeps
// Access-Control-Allow-Origin only if the caller's own partner allows it.
type corsOrigins struct {
	store   *store.Store
	refresh time.Duration

	mu        sync.Mutex
	byPartner map[string][]string
	loaded    time.Time
}

func newCORSOrigins(st *store.Store, refresh time.Duration) *corsOrigins {
	return &corsOrigins{store: st, refresh: refresh}
}

func (c *corsOrigins) current(ctx context.Context) (map[string][]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byPartner != nil && time.Since(c.loaded) < c.refresh {
		return c.byPartner, nil
	}
	m, err := c.store.CORSOrigins(ctx)
	if err != nil {
		return c.byPartner, err
	}
	c.byPartner, c.loaded = m, time.Now()
	return m, nil
}

// anyAllows reports whether some partner allows origin.
func (c *corsOrigins) anyAllows(ctx context.Context, origin string) bool {
	m, _ := c.current(ctx)
	for _, origins := range m {
		if slices.Contains(origins, origin) {
			return true
		}
	}
	return false
}

// allows reports whether partner allows origin; a request without Origin
// is not a CORS request and is always allowed.
func (c *corsOrigins) allows(partner, origin string) bool {
	if origin == "" {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Contains(c.byPartner[partner], origin)
}

const (
	corsMethods = "GET, POST, PUT, DELETE, OPTIONS"
	corsHeaders = "Authorization, Content-Type, Idempotency-Key, X-Request-Id"
	corsExpose  = "X-Request-Id, Retry-After, Idempotent-Replayed, RateLimit, RateLimit-Policy"
)

// corsHeaders answers preflights and marks responses to allowed origins.
func (s *Server) corsHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Add("Vary", "Origin")
		allowed := s.cors.anyAllows(r.Context(), origin)
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if allowed {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Expose-Headers", corsExpose)
		}
		if !preflight {
			next.ServeHTTP(w, r)
			return
		}
		if !allowed {
			s.log.Debug("preflight from unknown origin", zap.String("origin", origin))
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.Header().Set("Access-Control-Allow-Methods", corsMethods)
		w.Header().Set("Access-Control-Allow-Headers", corsHeaders)
		w.Header().Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
	})
}
