package handlers

import (
	"fmt"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSlidingWindow checks the limiter's arithmetic on a moving clock:
// the quota, the previous window sliding out, and Retry-After being
// exactly when the next request is allowed again.
func TestSlidingWindow(t *testing.T) {
	t.Parallel()
	q := RateLimit{Limit: 10, Window: time.Minute}
	now := time.Unix(0, 0).Add(1000 * time.Minute).Add(30 * time.Second) // halfway into a window
	l := newLimiter(nil, time.Second, nil)
	l.now = func() time.Time { return now }

	for i := range 10 {
		d := l.allow("k", q)
		require.True(t, d.allowed, i)
		require.Equal(t, 9-i, d.remaining)
		require.Equal(t, 30*time.Second, d.reset)
	}
	d := l.allow("k", q)
	require.False(t, d.allowed)
	// 10 in this window: the next window must start and 10% of it pass
	// (10 × 0.9 = 9 ≤ limit − 1).
	require.InDelta(t, 36, d.retryAfter.Seconds(), 1e-6)
	require.Equal(t, 36, seconds(d.retryAfter), "Retry-After, in whole seconds")

	retry := time.Duration(seconds(d.retryAfter)) * time.Second
	now = now.Add(retry - time.Second)
	require.False(t, l.allow("k", q).allowed, "one second early")
	now = now.Add(time.Second)
	d = l.allow("k", q)
	require.True(t, d.allowed, "at Retry-After")
	require.Equal(t, 0, d.remaining)

	// Halfway through: the previous window weighs 5, this one holds 1.
	now = now.Add(24 * time.Second)
	for range 4 {
		require.True(t, l.allow("k", q).allowed)
	}
	d = l.allow("k", q)
	require.False(t, d.allowed)
	require.InDelta(t, 6, d.retryAfter.Seconds(), 1e-6, "until the previous window's weight is 4")

	require.True(t, l.allow("other", q).allowed, "keys are apart")
	now = now.Add(3 * q.Window)
	require.Equal(t, 9, l.allow("k", q).remaining, "both windows long gone")
}

// TestLimiterKeysBounded: keys made of what clients send (a new one per
// request) never hold more than maxKeys counters, and a key in use is not
// the one evicted: it stays limited.
func TestLimiterKeysBounded(t *testing.T) {
	t.Parallel()
	q := RateLimit{Limit: 2, Window: time.Hour}
	now := time.Unix(0, 0).Add(1000 * time.Hour)
	l := newLimiter(nil, time.Second, nil)
	l.now, l.maxKeys = func() time.Time { return now }, 100
	require.True(t, l.allow("hot", q).allowed)
	require.True(t, l.allow("hot", q).allowed)
	for i := range 10_000 {
		now = now.Add(time.Millisecond)
		require.True(t, l.allow(fmt.Sprintf("junk-%d", i), q).allowed)
		require.False(t, l.allow("hot", q).allowed, "after %d junk keys", i)
	}
	require.LessOrEqual(t, len(l.counters), 100)
}

func TestClientKey(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"192.0.2.7:4321":                 "ip:192.0.2.7",
		"[::ffff:192.0.2.7]:4321":        "ip:192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:4321":    "ip:2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1%eth0]:80": "ip:2001:db8:1:2::/64",
		"@":                              "ip:@", // not an address (a Unix socket): as is
	} {
		r := httptest.NewRequest("POST", "/oauth/authorize", nil)
		r.RemoteAddr = addr
		r.Header.Set("X-Forwarded-For", "198.51.100.1")
		require.Equal(t, want, clientKey(r, nil), addr)
	}
}

// TestClientKeyBehindProxy: X-Forwarded-For is believed only from a
// trusted proxy, and only its right-most untrusted hop: what a client
// writes into the header itself never picks its quota.
func TestClientKeyBehindProxy(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for name, tc := range map[string]struct {
		peer, xff, want string
	}{
		"FromProxy":          {"10.1.2.3:80", "198.51.100.1", "ip:198.51.100.1"},
		"ChainOfProxies":     {"10.1.2.3:80", "198.51.100.1, 10.9.9.9", "ip:198.51.100.1"},
		"ClientForgesHeader": {"10.1.2.3:80", "203.0.113.66, 198.51.100.1", "ip:198.51.100.1"},
		"SeveralHeaders":     {"10.1.2.3:80", "", "ip:198.51.100.7"},
		"NotFromProxy":       {"198.51.100.9:80", "203.0.113.66", "ip:198.51.100.9"},
		"Garbage":            {"10.1.2.3:80", "nonsense", "ip:10.1.2.3"},
		"OnlyProxies":        {"10.1.2.3:80", "10.4.4.4", "ip:10.1.2.3"},
		"NoHeader":           {"10.1.2.3:80", "-", "ip:10.1.2.3"},
	} {
		r := httptest.NewRequest("POST", "/oauth/authorize", nil)
		r.RemoteAddr = tc.peer
		switch tc.xff {
		case "":
			r.Header.Add("X-Forwarded-For", "203.0.113.66")
			r.Header.Add("X-Forwarded-For", "198.51.100.7")
		case "-":
		default:
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		require.Equal(t, tc.want, clientKey(r, trusted), name)
	}
}
