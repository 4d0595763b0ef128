package egress

import (
	"net/http"
	"net/netip"
	"time"
)

// Permits exposes the guard's decision for table tests.
func Permits(allow []netip.Prefix, ip netip.Addr) bool {
	return guard{allow: allow}.permits(ip)
}

// RetryAfter exposes the Retry-After parser with a fixed clock.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	return retryAfter(h, now)
}
