package egress

import "net/netip"

// Permits exposes the guard's decision for table tests.
func Permits(allow []netip.Prefix, ip netip.Addr) bool {
	return guard{allow: allow}.permits(ip)
}
