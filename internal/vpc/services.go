package vpc

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"slices"
)

// ServiceRange is one ip-ranges.json style entry.
type ServiceRange struct {
	Prefix  netip.Prefix
	Service string // S3, DYNAMODB, EC2, AMAZON, ...
}

// ServiceRanges answers which AWS service an address belongs to, for the
// pkt-src-aws-service and pkt-dst-aws-service fields.
type ServiceRanges struct {
	ranges []ServiceRange // most specific first, AMAZON after any other service
	table  *serviceTable
}

// NewServiceRanges builds a lookup table. Overlaps resolve to the longest
// prefix; at equal length a specific service wins over AMAZON, as AWS shows
// S3 (never AMAZON) for S3 addresses.
func NewServiceRanges(rs []ServiceRange) *ServiceRanges {
	out := slices.Clone(rs)
	for i := range out {
		out[i].Prefix = out[i].Prefix.Masked()
	}
	slices.SortStableFunc(out, func(a, b ServiceRange) int {
		if c := cmp.Compare(b.Prefix.Bits(), a.Prefix.Bits()); c != 0 {
			return c
		}
		return cmp.Compare(boolInt(a.Service == "AMAZON"), boolInt(b.Service == "AMAZON"))
	})
	return &ServiceRanges{ranges: out, table: newServiceTable(out)}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Lookup returns the service code for a, or "" when a is not in any range.
// A specific service wins over AMAZON even when the AMAZON prefix is longer.
func (s *ServiceRanges) Lookup(a netip.Addr) string {
	if s == nil || !a.IsValid() {
		return ""
	}
	return s.table.lookup(a.Unmap())
}

// Ranges returns a copy of the table.
func (s *ServiceRanges) Ranges() []ServiceRange { return slices.Clone(s.ranges) }

// SampleServiceRanges is a small bundled SAMPLE of AWS's ip-ranges.json,
// enough for realistic pkt-*-aws-service values in simulations. It is not the
// real, current list: load that with ParseIPRanges.
func SampleServiceRanges() []ServiceRange {
	p := netip.MustParsePrefix
	return []ServiceRange{
		// S3 (52.95.128.179 is S3 in AWS's own flow log example, ap-southeast-2).
		{p("52.95.128.0/21"), "S3"},
		{p("52.216.0.0/15"), "S3"},
		{p("3.5.0.0/19"), "S3"},
		// DynamoDB.
		{p("52.94.0.0/22"), "DYNAMODB"},
		{p("3.218.180.0/22"), "DYNAMODB"},
		// EC2 public address space.
		{p("3.80.0.0/12"), "EC2"},
		{p("54.144.0.0/14"), "EC2"},
		{p("13.236.0.0/14"), "EC2"},
		// CloudFront and Route 53 health checks.
		{p("13.32.0.0/15"), "CLOUDFRONT"},
		{p("54.243.31.192/26"), "ROUTE53_HEALTHCHECKS"},
		// AMAZON covers everything above and more.
		{p("52.94.0.0/15"), "AMAZON"},
		{p("52.216.0.0/14"), "AMAZON"},
		{p("3.0.0.0/9"), "AMAZON"},
		{p("54.144.0.0/12"), "AMAZON"},
		{p("13.32.0.0/12"), "AMAZON"},
		{p("13.236.0.0/14"), "AMAZON"},
	}
}

// DefaultServiceRanges returns the bundled sample table.
func DefaultServiceRanges() *ServiceRanges { return NewServiceRanges(SampleServiceRanges()) }

// ParseIPRanges reads AWS's ip-ranges.json.
func ParseIPRanges(r io.Reader) (*ServiceRanges, error) {
	var doc struct {
		Prefixes []struct {
			IPPrefix string `json:"ip_prefix"`
			Service  string `json:"service"`
		} `json:"prefixes"`
		IPv6Prefixes []struct {
			IPv6Prefix string `json:"ipv6_prefix"`
			Service    string `json:"service"`
		} `json:"ipv6_prefixes"`
	}
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode ip-ranges.json: %w", err)
	}
	var rs []ServiceRange
	add := func(i int, s, svc string) error {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("ip-ranges.json prefix %d: %w", i, err)
		}
		rs = append(rs, ServiceRange{p, svc})
		return nil
	}
	for i, x := range doc.Prefixes {
		if err := add(i, x.IPPrefix, x.Service); err != nil {
			return nil, err
		}
	}
	for i, x := range doc.IPv6Prefixes {
		if err := add(i, x.IPv6Prefix, x.Service); err != nil {
			return nil, err
		}
	}
	return NewServiceRanges(rs), nil
}
