package egress_test

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connectors/egress"
)

func TestGuardRefusesInternalAddresses(t *testing.T) {
	t.Parallel()
	p := newProvider(t, status(http.StatusOK))
	_, port, err := net.SplitHostPort(p.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() {
		assert.Zero(t, p.conns.Load(), "the guard let a connection through")
	})

	for _, host := range []string{
		"127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "localhost", "10.0.0.1", "169.254.169.254",
	} {
		t.Run(host, func(t *testing.T) {
			t.Parallel()
			// A one-second backoff would show if a blocked dial were retried.
			c := egress.New(egress.Config{BackoffBase: time.Second})
			start := time.Now()

			resp, err := get(t, c, "http://"+net.JoinHostPort(trimBrackets(host), port)+"/")

			require.Error(t, err)
			assert.Nil(t, resp)
			assert.Less(t, time.Since(start), 400*time.Millisecond)
			var blocked *egress.BlockedError
			require.ErrorAs(t, err, &blocked)
			assert.Equal(t, trimBrackets(host), blocked.Host)
			assert.True(t, blocked.IP.IsValid())
			assert.Contains(t, err.Error(), "is not allowed")
			assert.Equal(t, tenantry.EFORBIDDEN, tenantry.ErrorCode(err))
			var urlErr *url.Error
			assert.ErrorAs(t, err, &urlErr, "Do returns net/http's error, unwrapped")
		})
	}
}

func TestGuardAllowListReachesProvider(t *testing.T) {
	t.Parallel()
	p := newProvider(t, status(http.StatusOK))

	resp, err := get(t, localClient(egress.Config{}), p.URL)

	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.EqualValues(t, 1, p.hits.Load())
}

func TestGuardPermits(t *testing.T) {
	t.Parallel()
	refused := []string{
		"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
		"10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "fc00::1", "fd12::1",
		"169.254.169.254", "fe80::1", "fe80::1%eth0", "fd00:ec2::254",
		"0.0.0.0", "::", "100.64.0.1", "100.127.255.255",
		"224.0.0.1", "239.255.255.250", "ff02::1", "255.255.255.255",
	}
	permitted := []string{
		"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2001:4860:4860::8888", "::ffff:8.8.8.8",
	}
	for _, s := range refused {
		assert.False(t, egress.Permits(nil, netip.MustParseAddr(s)), "%s permitted", s)
	}
	for _, s := range permitted {
		assert.True(t, egress.Permits(nil, netip.MustParseAddr(s)), "%s refused", s)
	}
	assert.False(t, egress.Permits(nil, netip.Addr{}), "the zero address is refused")

	t.Run("AllowExempts", func(t *testing.T) {
		t.Parallel()
		allow := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.1.0.0/16")}
		assert.True(t, egress.Permits(allow, netip.MustParseAddr("127.0.0.1")))
		assert.True(t, egress.Permits(allow, netip.MustParseAddr("::ffff:127.0.0.1")))
		assert.True(t, egress.Permits(allow, netip.MustParseAddr("10.1.2.3")))
		assert.False(t, egress.Permits(allow, netip.MustParseAddr("127.0.0.2")))
		assert.False(t, egress.Permits(allow, netip.MustParseAddr("10.2.0.1")))
	})
}

func trimBrackets(host string) string {
	if len(host) > 1 && host[0] == '[' {
		return host[1 : len(host)-1]
	}
	return host
}
