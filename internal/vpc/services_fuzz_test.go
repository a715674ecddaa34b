package vpc

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzParseIPRanges feeds arbitrary ip-ranges.json documents and an
// address to ParseIPRanges and Lookup. It checks that errors name
// ip-ranges.json, and that Lookup answers what the rule says: the longest
// prefix of a specific service containing the address, else AMAZON when an
// AMAZON prefix contains it, else "".
func FuzzParseIPRanges(f *testing.F) {
	f.Add(`{"prefixes":[{"ip_prefix":"52.95.128.0/21","service":"S3"},{"ip_prefix":"52.94.0.0/15","service":"AMAZON"},{"ip_prefix":"52.95.128.0/24","service":"AMAZON"}],"ipv6_prefixes":[{"ipv6_prefix":"2600:1f00::/24","service":"EC2"}]}`, "52.95.128.179")
	f.Add(`{"prefixes":[{"ip_prefix":"10.0.0.0/8","service":"EC2"},{"ip_prefix":"10.1.0.0/16","service":"S3"},{"ip_prefix":"10.1.0.0/16","service":"DYNAMODB"}]}`, "::ffff:10.1.2.3")
	f.Add(`{"prefixes":[{"ip_prefix":"nope"}]}`, "1.2.3.4")
	f.Add(`{"prefixes":[{"ip_prefix":"10.0.0.1/8","service":"EC2"}]}`, "10.9.9.9")
	f.Fuzz(func(t *testing.T, doc, addr string) {
		sr, err := ParseIPRanges(strings.NewReader(doc))
		if err != nil {
			if !strings.Contains(err.Error(), "ip-ranges.json") {
				t.Fatalf("error does not name ip-ranges.json: %v", err)
			}
			return
		}
		a, err := netip.ParseAddr(addr)
		if err != nil {
			return
		}
		if got, want := sr.Lookup(a), lookupReference(sr.Ranges(), a.Unmap()); got != want {
			t.Fatalf("Lookup(%s) = %q, want %q (ranges %v)", a, got, want, sr.Ranges())
		}
	})
}

// lookupReference is Lookup's rule, spelt out over the unsorted table.
func lookupReference(rs []ServiceRange, a netip.Addr) string {
	best, bestBits, amazon := "", -1, false
	for _, r := range rs {
		if !r.Prefix.Contains(a) {
			continue
		}
		if r.Service == "AMAZON" {
			amazon = true
			continue
		}
		if r.Prefix.Bits() > bestBits {
			best, bestBits = r.Service, r.Prefix.Bits()
		}
	}
	if best == "" && bestBits < 0 && amazon {
		return "AMAZON"
	}
	return best
}
