package egress

import (
	"net/netip"
	"strings"

	"github.com/tenantry/tenantry"
)

// ParseAllow parses a comma-separated list of CIDR prefixes and bare IP
// addresses, the format of TENANTRY_EGRESS_ALLOW, into Config.Allow. A bare
// IP becomes a single-address prefix; blank entries are skipped, so "" gives
// an empty list. An entry that is neither returns an EINVALID error naming it.
func ParseAllow(s string) ([]netip.Prefix, error) {
	var allow []netip.Prefix
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		p, ok := parseAllowEntry(entry)
		if !ok {
			return nil, tenantry.Errorf(tenantry.EINVALID,
				"egress: allow list entry %q is neither an IP address nor a CIDR prefix", entry)
		}
		allow = append(allow, p)
	}
	return allow, nil
}

// parseAllowEntry parses one CIDR or bare IP. IPv4-mapped IPv6 addresses
// and prefixes (::ffff:10.0.0.0/104) are unmapped, since the guard compares
// unmapped addresses; zoned addresses are refused, as a prefix has no zone.
func parseAllowEntry(entry string) (netip.Prefix, bool) {
	if strings.Contains(entry, "/") {
		p, err := netip.ParsePrefix(entry)
		if err == nil && p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), err == nil
	}
	ip, err := netip.ParseAddr(entry)
	if err != nil || ip.Zone() != "" {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap()
	return netip.PrefixFrom(ip, ip.BitLen()), true
}
