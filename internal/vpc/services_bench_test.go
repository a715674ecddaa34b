package vpc

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// BenchmarkServiceLookup looks up addresses in a table the size of AWS's
// ip-ranges.json (about 8,000 IPv4 prefixes) and in the bundled sample.
func BenchmarkServiceLookup(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	var big []ServiceRange
	for range 8000 {
		a := netip.AddrFrom4([4]byte{byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()), 0})
		svc := "AMAZON"
		if rng.IntN(2) == 0 {
			svc = "EC2"
		}
		big = append(big, ServiceRange{Prefix: netip.PrefixFrom(a, 16+rng.IntN(9)).Masked(), Service: svc})
	}
	addrs := make([]netip.Addr, 1024)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())})
	}
	for _, c := range []struct {
		name   string
		ranges *ServiceRanges
	}{{"ip-ranges-size", NewServiceRanges(big)}, {"sample", DefaultServiceRanges()}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				c.ranges.Lookup(addrs[i%len(addrs)])
				i++
			}
		})
	}
}
