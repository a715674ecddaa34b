package vpc

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestServiceTableMatchesRule: the interval table answers what the rule
// says (lookupReference) for random tables of nested and overlapping
// IPv4 and IPv6 prefixes, probed at every prefix's edges and at random.
func TestServiceTableMatchesRule(t *testing.T) {
	services := []string{"AMAZON", "AMAZON", "EC2", "S3", "ROUTE53"}
	rng := rand.New(rand.NewPCG(7, 9))
	for round := range 200 {
		var rs []ServiceRange
		var probes []netip.Addr
		for range 1 + rng.IntN(40) {
			var p netip.Prefix
			if rng.IntN(4) == 0 {
				var b [16]byte
				b[0] = []byte{0, 1, 0xff}[rng.IntN(3)] // few top bytes: prefixes nest, up to the last address
				for i := 1; i < 16; i++ {
					b[i] = byte(rng.Uint32())
				}
				p = netip.PrefixFrom(netip.AddrFrom16(b), rng.IntN(129)).Masked()
			} else {
				a := netip.AddrFrom4([4]byte{[]byte{0, 127, 255}[rng.IntN(3)], byte(rng.IntN(4)), byte(rng.Uint32()), byte(rng.Uint32())})
				p = netip.PrefixFrom(a, rng.IntN(33)).Masked()
			}
			rs = append(rs, ServiceRange{Prefix: p, Service: services[rng.IntN(len(services))]})
			lo, hi := spanOf(p, "").lo, spanOf(p, "").hi
			for _, x := range []u128{lo, hi, lo.prev(), hi.next()} {
				probes = append(probes, addrOf(x, p.Addr().Is4()))
			}
		}
		for range 50 {
			probes = append(probes, netip.AddrFrom4([4]byte{byte(rng.IntN(3) * 127), byte(rng.IntN(4)), byte(rng.Uint32()), byte(rng.Uint32())}))
		}
		sr := NewServiceRanges(rs)
		for _, a := range probes {
			if !a.IsValid() {
				continue
			}
			if got, want := sr.Lookup(a), lookupReference(sr.Ranges(), a); got != want {
				t.Fatalf("round %d: Lookup(%s) = %q, want %q (ranges %v)", round, a, got, want, rs)
			}
		}
	}
}

// TestServiceTableTopOfSpace: prefixes nested at the top of the address
// space (they end at the last address) keep the innermost service.
func TestServiceTableTopOfSpace(t *testing.T) {
	p := netip.MustParsePrefix
	for _, c := range []struct {
		ranges []ServiceRange
		addr   string
	}{
		{[]ServiceRange{{p("::/0"), "AMAZON"}, {p("ffff::/16"), "S3"}}, "ffff::1"},
		{[]ServiceRange{{p("::/0"), "EC2"}, {p("ffff::/16"), "S3"}}, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{[]ServiceRange{{p("::/0"), "AMAZON"}, {p("ffff::/16"), "S3"}, {p("ffff:ffff::/32"), "EC2"}}, "ffff:ffff::1"},
		{[]ServiceRange{{p("0.0.0.0/0"), "AMAZON"}, {p("255.0.0.0/8"), "S3"}, {p("255.255.0.0/16"), "EC2"}}, "255.255.255.255"},
		{[]ServiceRange{{p("::/0"), "EC2"}}, "fe80::1%eth0"},
	} {
		sr := NewServiceRanges(c.ranges)
		a := netip.MustParseAddr(c.addr)
		want := ""
		if a.Zone() == "" {
			want = lookupReference(sr.Ranges(), a)
		}
		if got := sr.Lookup(a); got != want {
			t.Errorf("Lookup(%s) in %v = %q, want %q", a, c.ranges, got, want)
		}
	}
}

// addrOf turns an interval bound back into an address (invalid when it
// wrapped outside the family).
func addrOf(x u128, is4 bool) netip.Addr {
	if is4 {
		if x.hi != 0 || x.lo > 0xffffffff {
			return netip.Addr{}
		}
		v := uint32(x.lo)
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	var b [16]byte
	for i := range 8 {
		b[i] = byte(x.hi >> (56 - 8*i))
		b[8+i] = byte(x.lo >> (56 - 8*i))
	}
	return netip.AddrFrom16(b)
}
