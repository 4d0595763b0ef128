package egress_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connectors/egress"
)

func TestParseAllow(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		got, err := egress.ParseAllow("127.0.0.1/32, ::1, 10.1.0.0/16")
		require.NoError(t, err)
		assert.Equal(t, []netip.Prefix{
			netip.MustParsePrefix("127.0.0.1/32"),
			netip.MustParsePrefix("::1/128"),
			netip.MustParsePrefix("10.1.0.0/16"),
		}, got)
	})
	t.Run("Normalised", func(t *testing.T) {
		t.Parallel()
		got, err := egress.ParseAllow("10.1.2.3/16,,::ffff:192.168.0.7,::ffff:172.16.0.0/108")
		require.NoError(t, err)
		assert.Equal(t, []netip.Prefix{
			netip.MustParsePrefix("10.1.0.0/16"),
			netip.MustParsePrefix("192.168.0.7/32"),
			netip.MustParsePrefix("172.16.0.0/12"),
		}, got)
	})
	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		got, err := egress.ParseAllow(" ")
		require.NoError(t, err)
		assert.Empty(t, got)
	})
	for _, bad := range []string{"10.0.0.0/33", "nope", "fe80::1%eth0", "10.0.0.0/8/8"} {
		t.Run("Err/"+bad, func(t *testing.T) {
			t.Parallel()
			_, err := egress.ParseAllow("127.0.0.1/32, " + bad + ", ::1")
			assert.Equal(t, tenantry.EINVALID, tenantry.ErrorCode(err))
			assert.ErrorContains(t, err, `"`+bad+`"`)
		})
	}
}

// FuzzParseAllow checks that whatever ParseAllow accepts is a list of valid,
// canonical prefixes that parse back to themselves.
func FuzzParseAllow(f *testing.F) {
	for _, seed := range []string{"127.0.0.1/32, ::1, 10.1.0.0/16", "nope", "10.0.0.0/33", ",", "::ffff:1.2.3.4/120"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		allow, err := egress.ParseAllow(s)
		if err != nil {
			return
		}
		var again []string
		for _, p := range allow {
			require.True(t, p.IsValid())
			require.Equal(t, p.Masked(), p)
			again = append(again, p.String())
		}
		reparsed, err := egress.ParseAllow(strings.Join(again, ","))
		require.NoError(t, err)
		require.Equal(t, allow, reparsed)
	})
}
