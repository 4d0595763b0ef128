package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/tenantry/tenantry"
)

// BlockedError is the error a Client's dial returns, wrapped in the
// *url.Error and *net.OpError of net/http, when the egress guard refuses the
// address a host resolved to. No connection was attempted. It unwraps to a
// *tenantry.Error with code EFORBIDDEN, so tenantry.ErrorCode reports
// EFORBIDDEN for any error that carries it.
type BlockedError struct {
	Host string     // the host as named in the request URL
	IP   netip.Addr // the resolved address refused; zero if unparseable
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("egress: dial %s: address %s is not allowed", e.Host, e.IP)
}

// Unwrap returns the EFORBIDDEN *tenantry.Error. Its message names the host
// but not the IP, so callers are not told how internal names resolve.
func (e *BlockedError) Unwrap() error {
	return tenantry.Errorf(tenantry.EFORBIDDEN, "outbound connections to %s are not allowed", e.Host)
}

// blocked lists the networks the guard refuses. IPv4-mapped IPv6 addresses
// are unmapped before the lookup, so ::ffff:10.0.0.1 is refused as 10.0.0.1.
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),         // "this network", incl. unspecified 0.0.0.0
	netip.MustParsePrefix("10.0.0.0/8"),        // private
	netip.MustParsePrefix("100.64.0.0/10"),     // carrier-grade NAT
	netip.MustParsePrefix("127.0.0.0/8"),       // loopback
	netip.MustParsePrefix("169.254.0.0/16"),    // link-local, incl. metadata 169.254.169.254
	netip.MustParsePrefix("172.16.0.0/12"),     // private
	netip.MustParsePrefix("192.168.0.0/16"),    // private
	netip.MustParsePrefix("224.0.0.0/4"),       // multicast
	netip.MustParsePrefix("240.0.0.0/4"),       // reserved, incl. broadcast 255.255.255.255
	netip.MustParsePrefix("::/128"),            // unspecified
	netip.MustParsePrefix("::1/128"),           // loopback
	netip.MustParsePrefix("fc00::/7"),          // unique local, incl. fd00:ec2::254
	netip.MustParsePrefix("fd00:ec2::254/128"), // AWS IPv6 metadata, named for clarity
	netip.MustParsePrefix("fe80::/10"),         // link-local
	netip.MustParsePrefix("ff00::/8"),          // multicast
}

// isBlocked reports whether err carries a *BlockedError.
func isBlocked(err error) bool {
	var b *BlockedError
	return errors.As(err, &b)
}

// guard decides which addresses a Client may connect to.
type guard struct {
	allow []netip.Prefix
}

// permits reports whether ip may be dialled: it is in an Allow prefix, or
// in none of the blocked networks.
func (g guard) permits(ip netip.Addr) bool {
	ip = ip.WithZone("").Unmap() // Prefix.Contains never matches a zoned address
	if !ip.IsValid() {
		return false
	}
	return containsAny(g.allow, ip) || !containsAny(blocked, ip)
}

func containsAny(prefixes []netip.Prefix, ip netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// dialContext dials through d with the guard installed as the socket's
// ControlContext, which runs on the resolved address just before connect.
func (g guard) dialContext(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		hop := *d
		hop.ControlContext = func(_ context.Context, _, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !g.permits(ap.Addr()) {
				return &BlockedError{Host: host, IP: ap.Addr()} // fail closed
			}
			return nil
		}
		return hop.DialContext(ctx, network, addr)
	}
}
