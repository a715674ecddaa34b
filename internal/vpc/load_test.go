package vpc

import (
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestLoadThreeTier(t *testing.T) {
	topo, err := LoadFile("testdata/three-tier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(topo.Interfaces); got != 9 {
		t.Errorf("interfaces = %d, want 9", got)
	}
	if topo.AccountID != "123456789012" || topo.Region != "us-east-1" {
		t.Errorf("account/region = %s/%s", topo.AccountID, topo.Region)
	}
	for _, tc := range []struct {
		ip, eni string
	}{
		{"10.0.10.15", "eni-0a0a00000000000d1"},
		{"10.0.10.16", "eni-0a0a00000000000d1"},    // secondary
		{"198.51.100.30", "eni-0ba5000000000b001"}, // Elastic IP
		{"198.51.100.10", "eni-0e0a00000000000c1"}, // NAT gateway EIP
		{"10.0.0.220", "eni-0e0a00000000000c1"},
	} {
		e := topo.InterfaceByIP(netip.MustParseAddr(tc.ip))
		if e == nil || e.ID != tc.eni {
			t.Errorf("InterfaceByIP(%s) = %v, want %s", tc.ip, e, tc.eni)
		}
	}
	nat := topo.Interface("eni-0e0a00000000000c1")
	if nat == nil || !nat.RequesterManaged || nat.Type != "nat_gateway" || nat.InstanceID != "" {
		t.Errorf("NAT interface = %+v", nat)
	}
	if got := len(topo.InterfacesInSubnet("subnet-0e1a00000000000a1")); got != 3 {
		t.Errorf("public-a interfaces = %d, want 3 (ALB, bastion, NAT)", got)
	}
	if got := len(topo.InterfacesInVPC("vpc-0a1b2c3d4e5f60718")); got != 9 {
		t.Errorf("VPC interfaces = %d", got)
	}
	db := topo.Subnet("subnet-0d1a00000000000a5")
	if db.RouteTableID != "rtb-0000000000000000a" || db.NetworkACLID != "acl-0d00000000000000b" {
		t.Errorf("db subnet associations = %s %s", db.RouteTableID, db.NetworkACLID)
	}
	app := topo.Subnet("subnet-0a1a00000000000a3")
	if app.NetworkACLID != "acl-0000000000000000b" {
		t.Errorf("app subnet NACL = %s, want the default", app.NetworkACLID)
	}
	// Longest prefix match: local beats 0/0, the prefix list beats 0/0.
	rt := topo.RouteTable(app.RouteTableID)
	for dst, want := range map[string]string{"10.0.20.25": "local", "203.0.113.5": "nat-0a1a1a1a1a1a1a1a1", "52.216.1.1": "vpce-05a3000000000001f"} {
		r, ok := topo.LookupRoute(rt, netip.MustParseAddr(dst))
		if !ok || r.TargetID != want {
			t.Errorf("route to %s = %+v, want %s", dst, r, want)
		}
	}
	if !topo.IsGroupMember("sg-0a990000000000a99", netip.MustParseAddr("10.0.11.22")) {
		t.Error("10.0.11.22 should be a member of the app group")
	}
	if topo.IsGroupMember("sg-0a990000000000a99", netip.MustParseAddr("198.51.100.30")) {
		t.Error("public addresses never match a group reference")
	}
}

func TestDefaults(t *testing.T) {
	topo, err := Load([]byte(`account: "123456789012"
region: eu-central-1
vpcs:
  - {id: vpc-0abc, cidr: 10.5.0.0/16, ipv6_cidr: "2001:db8:1234::/56"}
subnets:
  - {id: subnet-0abc, vpc: vpc-0abc, cidr: 10.5.0.0/24, az: eu-central-1b}
`), "defaults.yaml")
	if err != nil {
		t.Fatal(err)
	}
	v := topo.VPC("vpc-0abc")
	acl := topo.NetworkACL(v.DefaultNetworkACLID)
	sg := topo.SecurityGroup(v.DefaultSecurityGroupID)
	if acl == nil || sg == nil || topo.RouteTable(v.MainRouteTableID) == nil {
		t.Fatalf("defaults missing: %+v", v)
	}
	if len(acl.Ingress) != 2 || acl.Ingress[1].RuleNumber != 101 || !acl.Ingress[1].Allow {
		t.Errorf("default NACL ingress = %+v, want rules 100 and 101 (IPv6)", acl.Ingress)
	}
	if sg.Name != "default" || sg.Ingress[0].GroupID != sg.ID || len(sg.Egress) != 2 {
		t.Errorf("default SG = %+v", sg)
	}
	s := topo.Subnet("subnet-0abc")
	if s.AZID != "euc1-az2" || s.RouteTableID != v.MainRouteTableID || s.NetworkACLID != acl.ID {
		t.Errorf("subnet = %+v", s)
	}
	rt := topo.RouteTable(v.MainRouteTableID)
	if len(rt.Routes) != 2 || rt.Routes[0].Kind != TargetLocal {
		t.Errorf("main route table routes = %+v, want two local routes", rt.Routes)
	}
}

// TestBadTopologies compares the errors of each testdata/bad/*.yaml with
// its .golden file (go test -update rewrites them).
func TestBadTopologies(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatal("no bad topologies", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Load(data, filepath.Base(f))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Line == 0 {
				t.Errorf("first error has no position: %v", err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, string(want)); diff != "" {
				t.Errorf("errors (-got +want):\n%s", diff)
			}
		})
	}
}

func TestParsePortsAndProtocols(t *testing.T) {
	for in, want := range map[string]PortRange{"": AllPorts, "443": {443, 443}, "1024-65535": {1024, 65535}, "all": AllPorts} {
		got, err := ParsePorts(in)
		if err != nil || got != want {
			t.Errorf("ParsePorts(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"x", "70000", "10-5", "1-2-3", "-"} {
		if _, err := ParsePorts(in); err == nil {
			t.Errorf("ParsePorts(%q) succeeded", in)
		}
	}
	for in, want := range map[string]int16{"tcp": 6, "UDP": 17, "icmp": 1, "icmpv6": 58, "all": -1, "-1": -1, "50": 50} {
		got, err := ParseProtocol(in)
		if err != nil || got != want {
			t.Errorf("ParseProtocol(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "gre", "256", "-2"} {
		if _, err := ParseProtocol(in); err == nil {
			t.Errorf("ParseProtocol(%q) succeeded", in)
		}
	}
}

func TestServiceRanges(t *testing.T) {
	s := DefaultServiceRanges()
	for ip, want := range map[string]string{
		"52.95.128.179": "S3",       // AWS's own example; inside AMAZON too
		"52.94.1.1":     "DYNAMODB", // /22 beats the AMAZON /15
		"52.94.200.1":   "AMAZON",
		"3.80.1.1":      "EC2",
		"203.0.113.5":   "",
		"10.0.0.1":      "",
	} {
		if got := s.Lookup(netip.MustParseAddr(ip)); got != want {
			t.Errorf("Lookup(%s) = %q, want %q", ip, got, want)
		}
	}
	// A specific service wins over a longer AMAZON prefix.
	s = NewServiceRanges([]ServiceRange{{netip.MustParsePrefix("198.18.0.0/16"), "S3"}, {netip.MustParsePrefix("198.18.1.0/24"), "AMAZON"}})
	if got := s.Lookup(netip.MustParseAddr("198.18.1.1")); got != "S3" {
		t.Errorf("overlap = %q, want S3", got)
	}
	r, err := ParseIPRanges(strings.NewReader(`{"prefixes":[{"ip_prefix":"198.19.0.0/16","service":"EC2"}],"ipv6_prefixes":[{"ipv6_prefix":"2001:db8::/32","service":"S3"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Lookup(netip.MustParseAddr("2001:db8::1")) != "S3" || r.Lookup(netip.MustParseAddr("198.19.2.3")) != "EC2" {
		t.Errorf("ParseIPRanges lookups wrong: %+v", r.Ranges())
	}
	if _, err := ParseIPRanges(strings.NewReader(`{"prefixes":[{"ip_prefix":"nope"}]}`)); err == nil {
		t.Error("bad prefix accepted")
	}
}

func TestDefaultAZID(t *testing.T) {
	for az, want := range map[string]string{"us-east-1a": "use1-az1", "ap-southeast-2c": "apse2-az3", "eu-west-1b": "euw1-az2", "x": ""} {
		if got := defaultAZID(az); got != want {
			t.Errorf("defaultAZID(%s) = %q, want %q", az, got, want)
		}
	}
}

// TestShownInstanceID: flow logs give the instance id only for an instance
// the topology's account owns (spec §1.2): not for requester-managed
// interfaces, nor for another account's instance, whoever owns the
// interface.
func TestShownInstanceID(t *testing.T) {
	topo, err := Load([]byte(`account: "123456789012"
region: us-east-1
vpcs:
  - {id: vpc-0a, cidr: 10.0.0.0/16}
subnets:
  - {id: subnet-0a, vpc: vpc-0a, cidr: 10.0.1.0/24, az: us-east-1a}
security_groups:
  - {id: sg-0a, name: web, vpc: vpc-0a}
network_interfaces:
  - {id: eni-0own, subnet: subnet-0a, private_ip: 10.0.1.5, instance_id: i-0own, security_groups: [sg-0a]}
  - {id: eni-0shared, subnet: subnet-0a, private_ip: 10.0.1.6, account: "210987654321", instance_id: i-0shared, security_groups: [sg-0a]}
  - {id: eni-0theirs, subnet: subnet-0a, private_ip: 10.0.1.7, instance_id: i-0theirs, instance_owner: "210987654321", security_groups: [sg-0a]}
  - {id: eni-0ours, subnet: subnet-0a, private_ip: 10.0.1.8, account: "210987654321", instance_id: i-0ours, instance_owner: "123456789012", security_groups: [sg-0a]}
  - {id: eni-0rm, subnet: subnet-0a, private_ip: 10.0.1.9, requester_managed: true, security_groups: [sg-0a]}
`), "owners.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"eni-0own": "i-0own", "eni-0shared": "", "eni-0theirs": "", "eni-0ours": "i-0ours", "eni-0rm": ""} {
		if got := topo.ShownInstanceID(topo.Interface(id)); got != want {
			t.Errorf("%s: instance id %q, want %q", id, got, want)
		}
	}
}
