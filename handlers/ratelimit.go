package handlers

import (
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/tenantry/tenantry"
)

// RateLimit is a quota: at most Limit requests in any Window (a sliding
// window of whole seconds).
type RateLimit struct {
	Limit  int
	Window time.Duration
}

// RateLimits are the quotas of each credential per route class; a request
// is counted against its credential (an API key and the tokens exchanged
// for it count as one), or its client IP where there is none. Zero fields
// take the defaults.
type RateLimits struct {
	Read  RateLimit     // GET and HEAD under /api; default 6000 per minute
	Write RateLimit     // other methods under /api; default 3000 per minute
	Auth  RateLimit     // token exchange, invitation accepts, OAuth sign-ins and token calls; default 60 per minute
	Share time.Duration // how often a replica shares its counts with the others; default 250ms
	Off   bool          // no rate limits at all
	// TrustedProxies are the reverse proxies in front of the API
	// (TENANTRY_TRUSTED_PROXIES): behind one, a client's address is taken
	// from X-Forwarded-For, so each client has its own per-address quota.
	TrustedProxies []netip.Prefix
}

// ParseRateLimits reads quotas written as "read=6000/1m,write=3000/1m,
// auth=60/1m" (any subset; the rest keep their defaults), or "off".
// EINVALID names the part it cannot read.
func ParseRateLimits(v string) (RateLimits, error) {
	var l RateLimits
	if strings.TrimSpace(v) == "off" {
		l.Off = true
		return l, nil
	}
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		class, quota, _ := strings.Cut(part, "=")
		limit, window, _ := strings.Cut(quota, "/")
		n, err := strconv.Atoi(limit)
		d, derr := time.ParseDuration(window)
		q := map[string]*RateLimit{classRead: &l.Read, classWrite: &l.Write, classAuth: &l.Auth}[class]
		if q == nil || err != nil || n < 1 || derr != nil || d < time.Second {
			return l, tenantry.Errorf(tenantry.EINVALID, "%q: want class=limit/window, class read, write or auth, such as read=6000/1m", part)
		}
		*q = RateLimit{Limit: n, Window: d}
	}
	return l, l.Validate()
}

// Route classes, named in the RateLimit-Policy and RateLimit headers.
const (
	classRead  = "read"
	classWrite = "write"
	classAuth  = "auth"
)

// Validate fills defaults and checks that windows are whole seconds.
func (l *RateLimits) Validate() error {
	for _, q := range []struct {
		name string
		q    *RateLimit
		def  int
	}{{classRead, &l.Read, 6000}, {classWrite, &l.Write, 3000}, {classAuth, &l.Auth, 60}} {
		if q.q.Limit <= 0 {
			q.q.Limit = q.def
		}
		if q.q.Window <= 0 {
			q.q.Window = time.Minute
		}
		if q.q.Window%time.Second != 0 {
			return fmt.Errorf("rate limit %s: window %s must be whole seconds", q.name, q.q.Window)
		}
	}
	if l.Share <= 0 {
		l.Share = 250 * time.Millisecond
	}
	return nil
}

func (l *RateLimits) quota(class string) RateLimit {
	switch class {
	case classRead:
		return l.Read
	case classAuth:
		return l.Auth
	}
	return l.Write
}

// rateLimit applies the read quota to GET and HEAD and the write quota to
// other methods.
func (s *Server) rateLimit(next http.Handler) http.Handler { return s.rateLimitAs("")(next) }

// rateLimitAs applies the quota of class ("" for by method). It answers
// 429 with Retry-After once the caller's quota is spent, and every
// response it lets through carries RateLimit-Policy and RateLimit
// (draft-ietf-httpapi-ratelimit-headers).
func (s *Server) rateLimitAs(class string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return s.wrap(func(w http.ResponseWriter, r *http.Request) error {
			if err := s.limit(w, r, class, s.rateKey(r)); err != nil {
				return err
			}
			next.ServeHTTP(w, r)
			return nil
		})
	}
}

// limit counts r against key's quota of class ("" for by method), sets
// the RateLimit headers, and returns ERATELIMIT (with Retry-After set)
// once the quota is spent.
func (s *Server) limit(w http.ResponseWriter, r *http.Request, class, key string) error {
	limits := &s.cfg.RateLimits
	if limits.Off {
		return nil
	}
	if class == "" {
		class = classWrite
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			class = classRead
		}
	}
	q := limits.quota(class)
	d := s.limiter.allow(class+":"+key, q)
	h := w.Header()
	h.Set("RateLimit-Policy", fmt.Sprintf(`"%s";q=%d;w=%d`, class, q.Limit, int(q.Window/time.Second)))
	h.Set("RateLimit", fmt.Sprintf(`"%s";r=%d;t=%d`, class, d.remaining, seconds(d.reset)))
	if d.allowed {
		return nil
	}
	h.Set("Retry-After", strconv.Itoa(seconds(d.retryAfter)))
	h.Set("RateLimit", fmt.Sprintf(`"%s";r=0;t=%d`, class, seconds(d.retryAfter)))
	return tenantry.Errorf(tenantry.ERATELIMIT, "rate limit exceeded: %d %s requests per %s per credential; retry in %d s",
		q.Limit, class, q.Window, seconds(d.retryAfter))
}

// rateKey is what a request is counted against: its credential, or the
// client's address on routes that need none.
func (s *Server) rateKey(r *http.Request) string {
	if c, ok := tenantry.CallerFrom(r.Context()); ok {
		return "cred:" + c.Credential()
	}
	return clientKey(r, s.cfg.RateLimits.TrustedProxies)
}

// limitAddress counts an unauthenticated attempt at something guessable
// or slow on purpose (a sign-in, an invitation accept) against the auth
// quota of the client's address, so that one client cannot try many
// people or links, nor make the server hash passwords, without bound.
func (s *Server) limitAddress(w http.ResponseWriter, r *http.Request) error {
	return s.limit(w, r, classAuth, clientKey(r, s.cfg.RateLimits.TrustedProxies))
}

// clientKey names the client a request came from: its address (see
// clientAddr), or the /64 of an IPv6 one (a single host usually holds a
// whole /64).
func clientKey(r *http.Request, trusted []netip.Prefix) string {
	a, ok := clientAddr(r, trusted)
	if !ok {
		return "ip:" + r.RemoteAddr
	}
	if a.Is6() {
		p, _ := a.WithZone("").Prefix(64)
		return "ip:" + p.String()
	}
	return "ip:" + a.String()
}

// clientAddr is the address a request came from: its peer's, unless the
// peer is a trusted proxy; then the right-most X-Forwarded-For address
// that is not a trusted proxy (each proxy appends the address it saw, so
// what a client wrote itself is further left and never chosen). Without
// trusted proxies X-Forwarded-For is ignored: any client can send it.
func clientAddr(r *http.Request, trusted []netip.Prefix) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	a := ap.Addr().Unmap()
	if !inPrefixes(a, trusted) {
		return a, true
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return a, true // a hop our proxies did not write: count the proxy
		}
		if h = h.Unmap(); !inPrefixes(h, trusted) {
			return h, true
		}
	}
	return a, true
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a.WithZone("")) {
			return true
		}
	}
	return false
}

// seconds rounds d up to whole seconds, at least 1.
func seconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
