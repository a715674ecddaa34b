package dataplane

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"vpcflow/internal/policy"
	"vpcflow/internal/vpc"
)

// servicesTopo has an interface endpoint, a Network Load Balancer, a
// customer DNS server, a Local Zone subnet and an interface owned by
// another account, to check what is (not) logged and the record-facing
// facts of each observation.
const servicesTopo = `account: "123456789012"
region: us-west-2
vpcs: [{id: vpc-0svc, cidr: 10.9.0.0/16}]
subnets:
  - {id: subnet-0svca, vpc: vpc-0svc, cidr: 10.9.1.0/24, az: us-west-2a}
  - {id: subnet-0svcb, vpc: vpc-0svc, cidr: 10.9.2.0/24, az: us-west-2b, network_acl: acl-0svcb}
  - {id: subnet-0svcl, vpc: vpc-0svc, cidr: 10.9.3.0/24, az: us-west-2-lax-1a, sublocation_type: localzone, sublocation_id: us-west-2-lax-1}
security_groups:
  - id: sg-0svc
    name: open
    vpc: vpc-0svc
    ingress: [{protocol: all, cidr: 10.9.0.0/16}]
network_acls:
  - id: acl-0svcb
    vpc: vpc-0svc
    ingress:
      - {rule: 200, protocol: all, cidr: 0.0.0.0/0, action: allow}
      - {rule: 100, protocol: udp, ports: 53, cidr: 10.9.1.0/24, action: deny}
    egress:
      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
network_interfaces:
  - {id: eni-0vpce, subnet: subnet-0svca, interface_type: vpc_endpoint, owner: vpc_endpoint, requester_managed: true, private_ip: 10.9.1.10, security_groups: [sg-0svc]}
  - {id: eni-0nlb, subnet: subnet-0svcb, interface_type: network_load_balancer, owner: elb, requester_managed: true, private_ip: 10.9.2.10, security_groups: [sg-0svc]}
  - {id: eni-0app, subnet: subnet-0svca, instance_id: i-0app, private_ip: 10.9.1.20, security_groups: [sg-0svc]}
  - {id: eni-0dns, subnet: subnet-0svcb, instance_id: i-0dns, private_ip: 10.9.2.53, security_groups: [sg-0svc]}
  - {id: eni-0lz, subnet: subnet-0svcl, instance_id: i-0lz, private_ip: 10.9.3.20, account: "210987654321", security_groups: [sg-0svc]}
`

func loadServices(t *testing.T) *vpc.Topology {
	t.Helper()
	topo, err := vpc.Load([]byte(servicesTopo), "services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// TestNotLoggedEndpointNLBAndOwnDNS: traffic between an endpoint interface
// and an NLB interface is not logged (spec §4), while traffic to your own
// DNS server is ("If you use your own DNS server, then all traffic to that
// DNS server is logged").
func TestNotLoggedEndpointNLBAndOwnDNS(t *testing.T) {
	d := newDP(t, loadServices(t))
	for _, tc := range []struct {
		name   string
		p      Packet
		reason Reason
		obs    int
	}{
		{"endpoint to NLB", tcp("10.9.1.10", "10.9.2.10", 40000, 443, 2, 0), ReasonNotLogged, 0},
		{"NLB to endpoint", tcp("10.9.2.10", "10.9.1.10", 443, 40000, 0x12, time.Second), ReasonNotLogged, 0},
		{"instance to NLB is logged", tcp("10.9.1.20", "10.9.2.10", 40001, 443, 2, 0), ReasonDelivered, 2},
		{"own DNS server is logged", Packet{Time: t0, Src: addr("10.9.2.20"), Dst: addr("10.9.2.53"), Protocol: 17, SrcPort: 40000, DstPort: 53, Size: 60}, ReasonDelivered, 1},
		{"own DNS server from an instance", Packet{Time: t0, Src: addr("10.9.3.20"), Dst: addr("10.9.2.53"), Protocol: 17, SrcPort: 40000, DstPort: 53, Size: 60}, ReasonDelivered, 2},
		{"Amazon DNS is not", Packet{Time: t0, Src: addr("10.9.1.20"), Dst: addr("10.9.0.2"), Protocol: 17, SrcPort: 40000, DstPort: 53, Size: 60}, ReasonNotLogged, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, res := run(t, d, tc.p)
			if res.Reason != tc.reason || len(got) != tc.obs {
				t.Errorf("reason %v (%s), %d observations %+v; want %v and %d", res.Reason, res.Detail, len(got), got, tc.reason, tc.obs)
			}
		})
	}
}

// TestNACLRulesInNumberOrder: rules written out of order are evaluated
// lowest number first (rule 100 deny before rule 200 allow).
func TestNACLRulesInNumberOrder(t *testing.T) {
	d := newDP(t, loadServices(t))
	got, res := run(t, d, Packet{Time: t0, Src: addr("10.9.1.20"), Dst: addr("10.9.2.53"), Protocol: 17, SrcPort: 40000, DstPort: 53, Size: 60})
	if res.Reason != ReasonRejected || len(got) != 2 || got[1].Decision != "nacl acl-0svcb ingress rule 100 deny" {
		t.Errorf("udp/53 from subnet A: %+v %+v", res, got)
	}
	got, _ = run(t, d, tcp("10.9.1.20", "10.9.2.53", 40000, 22, 2, 0))
	if len(got) != 2 || got[1].Action != "ACCEPT" {
		t.Errorf("tcp/22 from subnet A: %+v", got)
	}
}

// TestObservationInterfaceFacts: every observation carries the values the
// record fields need: account (the interface owner's), VPC, subnet,
// instance ("" = "-" for requester-managed and other accounts'), region, AZ id ("-" in a
// sublocation) and the sublocation fields.
func TestObservationInterfaceFacts(t *testing.T) {
	d := newDP(t, loadServices(t))
	var got []Interface
	_, err := d.Process(Packet{Time: t0, Src: addr("10.9.3.20"), Dst: addr("10.9.2.53"), Protocol: 17, SrcPort: 40000, DstPort: 53, Size: 60},
		func(o *Observation) { got = append(got, *o.Interface) })
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Process(tcp("10.9.1.20", "10.9.2.10", 40001, 443, 2, 0), func(o *Observation) { got = append(got, *o.Interface) })
	if err != nil {
		t.Fatal(err)
	}
	ip := addr
	want := []Interface{
		// Another account's interface and instance: no instance id (spec §1.2).
		{ID: "eni-0lz", AccountID: "210987654321", VPCID: "vpc-0svc", SubnetID: "subnet-0svcl", InstanceID: "", Region: "us-west-2",
			SublocationType: "localzone", SublocationID: "us-west-2-lax-1", PrimaryIPv4: ip("10.9.3.20"), Nitro: true},
		{ID: "eni-0dns", AccountID: "123456789012", VPCID: "vpc-0svc", SubnetID: "subnet-0svcb", InstanceID: "i-0dns", Region: "us-west-2",
			AZID: "usw2-az2", PrimaryIPv4: ip("10.9.2.53"), Nitro: true},
		{ID: "eni-0app", AccountID: "123456789012", VPCID: "vpc-0svc", SubnetID: "subnet-0svca", InstanceID: "i-0app", Region: "us-west-2",
			AZID: "usw2-az1", PrimaryIPv4: ip("10.9.1.20"), Nitro: true},
		{ID: "eni-0nlb", AccountID: "123456789012", VPCID: "vpc-0svc", SubnetID: "subnet-0svcb", Region: "us-west-2",
			AZID: "usw2-az2", PrimaryIPv4: ip("10.9.2.10"), InterfaceType: "network_load_balancer", Nitro: true},
	}
	// Index is the dataplane's table position, not a record fact.
	if diff := cmp.Diff(got, want, cmpopts.IgnoreFields(Interface{}, "Index"), cmp.Comparer(func(a, b interface{ String() string }) bool { return a.String() == b.String() })); diff != "" {
		t.Errorf("interfaces (-got +want):\n%s", diff)
	}
}

// TestConntrackTimeoutsConfigurable: the idle timeouts come from Options
// (for example the 350 s TCP established timeout of Nitro v6 instances),
// and an ICMP reply after the ICMP timeout is no longer tracked.
func TestConntrackTimeoutsConfigurable(t *testing.T) {
	topo := load(t, "testdata/rules.yaml")
	d, err := New(topo, Options{Timeouts: policy.Timeouts{TCPEstablished: 350 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Conntrack().Timeouts(); got.TCPEstablished != 350*time.Second || got.UDP != 30*time.Second || got.ICMP != 30*time.Second {
		t.Fatalf("timeouts %+v", got)
	}
	// b1 (sg-client: ssh from 203.0.113.1 only) opens an outbound connection;
	// sg-client has no inbound rule for the reply, so replies pass only
	// while the connection is tracked.
	if got, _ := run(t, d, tcp("10.1.2.10", "203.0.113.9", 41000, 443, 0x02, 0)); len(got) != 1 || got[0].Action != "ACCEPT" {
		t.Fatalf("syn: %+v", got)
	}
	if got, _ := run(t, d, tcp("203.0.113.9", "198.51.100.50", 443, 41000, 0x12, time.Second)); len(got) != 1 || got[0].Action != "ACCEPT" {
		t.Fatalf("syn-ack: %+v", got)
	}
	if got, _ := run(t, d, tcp("203.0.113.9", "198.51.100.50", 443, 41000, 0x10, 300*time.Second)); len(got) != 1 || got[0].Action != "ACCEPT" {
		t.Errorf("reply 299 s after the last packet: %+v", got)
	}
	if got, _ := run(t, d, tcp("203.0.113.9", "198.51.100.50", 443, 41000, 0x10, 651*time.Second)); len(got) != 1 || got[0].Action != "REJECT" {
		t.Errorf("reply 351 s idle (past the 350 s timeout): %+v", got)
	}
	// ICMP is always tracked; its entry lives 30 s.
	ping := Packet{Time: t0, Src: addr("10.1.2.10"), Dst: addr("203.0.113.9"), Protocol: 1, ICMPType: 8, Size: 84}
	if got, _ := run(t, d, ping); len(got) != 1 || got[0].Action != "ACCEPT" {
		t.Fatalf("ping: %+v", got)
	}
	reply := Packet{Time: t0.Add(29 * time.Second), Src: addr("203.0.113.9"), Dst: addr("198.51.100.50"), Protocol: 1, ICMPType: 0, Size: 84}
	if got, _ := run(t, d, reply); len(got) != 1 || got[0].Action != "ACCEPT" {
		t.Errorf("echo reply after 29 s: %+v", got)
	}
	reply.Time = t0.Add(60 * time.Second)
	if got, _ := run(t, d, reply); len(got) != 1 || got[0].Action != "REJECT" {
		t.Errorf("echo reply 31 s idle: %+v", got)
	}
}

// TestCheckOrder: a packet between subnets meets the checks in AWS's order
// (spec §8.1): source SG egress, source subnet NACL egress, routing,
// destination subnet NACL ingress, destination SG ingress.
func TestCheckOrder(t *testing.T) {
	d := newDP(t, load(t, "../vpc/testdata/three-tier.yaml"))
	order := func(p Packet) string {
		ex, err := d.Explain(p)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, st := range ex.Steps {
			if st.Interface == "" {
				s = append(s, st.Layer)
				continue
			}
			s = append(s, st.Interface[len(st.Interface)-3:]+" "+st.Direction.String()+" "+st.Layer+" "+st.Verdict.String())
		}
		return strings.Join(s, ", ")
	}
	// ALB (public-a) to app-a: both subnets' NACLs and both SGs.
	got := order(tcp("10.0.0.10", "10.0.10.15", 30000, 8080, 2, 0))
	want := "0f1 egress sg ACCEPT, 0f1 egress nacl ACCEPT, forward, 0d1 ingress nacl ACCEPT, 0d1 ingress sg ACCEPT"
	if got != want {
		t.Errorf("ALB to app:\n got %s\nwant %s", got, want)
	}
	// App to the internet through the NAT gateway: a NAT gateway has no
	// security group, only its subnet's NACL on the way in and out, with
	// the translation in between.
	got = order(tcp("10.0.10.15", "203.0.113.80", 42000, 443, 2, 0))
	want = "0d1 egress sg ACCEPT, 0d1 egress nacl ACCEPT, forward, 0c1 ingress nacl ACCEPT, forward, 0c1 egress nacl ACCEPT"
	if got != want {
		t.Errorf("app to internet via NAT:\n got %s\nwant %s", got, want)
	}
}

// TestTrafficPathNonNitroAndPeering pins the traffic-path values no other
// test reaches (spec §1.3.4): 5 for egress over an inter-region peering
// connection, 2 for a non-Nitro interface's egress through the internet
// gateway (a Nitro one reports 8), and none on ingress.
func TestTrafficPathNonNitroAndPeering(t *testing.T) {
	topo, err := vpc.Load([]byte(`account: "123456789012"
region: us-east-1
vpcs:
  - {id: vpc-0aaa, cidr: 10.10.0.0/16}
  - {id: vpc-0bbb, cidr: 10.20.0.0/16}
vpc_peering_connections:
  - {id: pcx-0ab, requester_vpc: vpc-0aaa, accepter_vpc: vpc-0bbb, cross_region: true}
internet_gateways:
  - {id: igw-0aaa, vpc: vpc-0aaa}
subnets:
  - {id: subnet-0aaa, vpc: vpc-0aaa, cidr: 10.10.1.0/24, az: us-east-1a, route_table: rtb-0aaa}
  - {id: subnet-0bbb, vpc: vpc-0bbb, cidr: 10.20.1.0/24, az: us-east-1b, route_table: rtb-0bbb}
route_tables:
  - id: rtb-0aaa
    vpc: vpc-0aaa
    routes:
      - {destination: 10.20.0.0/16, target: pcx-0ab}
      - {destination: 0.0.0.0/0, target: igw-0aaa}
  - id: rtb-0bbb
    vpc: vpc-0bbb
    routes:
      - {destination: 10.10.0.0/16, target: pcx-0ab}
security_groups:
  - {id: sg-0aaa, name: client, vpc: vpc-0aaa, ingress: [{protocol: all, cidr: 0.0.0.0/0}]}
  - {id: sg-0bbb, name: server, vpc: vpc-0bbb, ingress: [{protocol: all, cidr: 0.0.0.0/0}]}
network_interfaces:
  - {id: eni-0aaa, subnet: subnet-0aaa, instance_id: i-0aaa, private_ip: 10.10.1.10, public_ip: 54.1.1.1, nitro: false, security_groups: [sg-0aaa]}
  - {id: eni-0bbb, subnet: subnet-0bbb, instance_id: i-0bbb, private_ip: 10.20.1.10, security_groups: [sg-0bbb]}
`), "paths.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := newDP(t, topo)
	for _, tc := range []struct {
		name  string
		p     Packet
		paths []uint8 // per observation; 0 = "-"
	}{
		{"over inter-region peering", tcp("10.10.1.10", "10.20.1.10", 40000, 443, 2, 0), []uint8{5, 0}},
		{"reply over inter-region peering", tcp("10.20.1.10", "10.10.1.10", 443, 40000, 0x12, 0), []uint8{5, 0}},
		{"non-Nitro to the internet", tcp("10.10.1.10", "52.95.128.179", 40001, 443, 2, 0), []uint8{2}},
	} {
		got, _ := run(t, d, tc.p)
		var paths []uint8
		for _, o := range got {
			paths = append(paths, o.Path)
		}
		if !slices.Equal(paths, tc.paths) {
			t.Errorf("%s: traffic paths %v, want %v (%+v)", tc.name, paths, tc.paths, got)
		}
	}
}

// TestWayInFromOutside: a packet from an address outside the topology
// reaches a private address only through something that carries it: a
// VPN or transit gateway attached to the VPC, or the internet gateway
// when the interface has a public IP (a capture taken on the instance
// shows the translated address). Otherwise AWS drops it before any
// interface: no observation.
func TestWayInFromOutside(t *testing.T) {
	topo, err := vpc.Load([]byte(`account: "123456789012"
region: us-east-1
vpcs:
  - {id: vpc-0igw, cidr: 10.1.0.0/16}
  - {id: vpc-0vpn, cidr: 10.2.0.0/16}
  - {id: vpc-0nlb, cidr: 10.3.0.0/16}
internet_gateways:
  - {id: igw-0a, vpc: vpc-0igw}
  - {id: igw-0b, vpc: vpc-0nlb}
gateways:
  - {id: vgw-0a, vpcs: [vpc-0vpn]}
subnets:
  - {id: subnet-0igw, vpc: vpc-0igw, cidr: 10.1.1.0/24, az: us-east-1a}
  - {id: subnet-0vpn, vpc: vpc-0vpn, cidr: 10.2.1.0/24, az: us-east-1a}
  - {id: subnet-0nlb, vpc: vpc-0nlb, cidr: 10.3.1.0/24, az: us-east-1a}
security_groups:
  - {id: sg-0igw, name: a, vpc: vpc-0igw, ingress: [{protocol: all, cidr: 0.0.0.0/0}]}
  - {id: sg-0vpn, name: b, vpc: vpc-0vpn, ingress: [{protocol: all, cidr: 0.0.0.0/0}]}
  - {id: sg-0nlb, name: c, vpc: vpc-0nlb, ingress: [{protocol: all, cidr: 0.0.0.0/0}]}
network_interfaces:
  - {id: eni-0pub, subnet: subnet-0igw, private_ip: 10.1.1.10, public_ip: 54.1.1.10, security_groups: [sg-0igw]}
  - {id: eni-0priv, subnet: subnet-0igw, private_ip: 10.1.1.11, security_groups: [sg-0igw]}
  - {id: eni-0vpn, subnet: subnet-0vpn, private_ip: 10.2.1.10, security_groups: [sg-0vpn]}
  - {id: eni-0nlb, subnet: subnet-0nlb, interface_type: network_load_balancer, owner: elb, requester_managed: true, private_ip: 10.3.1.5, public_ip: 54.1.3.5, security_groups: [sg-0nlb]}
  - {id: eni-0tgt, subnet: subnet-0nlb, private_ip: 10.3.1.10, security_groups: [sg-0nlb]}
`), "ways.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := newDP(t, topo)
	for _, tc := range []struct {
		name     string
		src, dst string
		reason   Reason
		records  int
	}{
		{"internet to a public instance's private address", "203.0.113.9", "10.1.1.10", ReasonDelivered, 1},
		{"internet to a private instance", "203.0.113.9", "10.1.1.11", ReasonNoRoute, 0},
		{"unlisted host of the VPC", "10.1.1.99", "10.1.1.11", ReasonDelivered, 1},
		{"over the VPN", "192.168.7.7", "10.2.1.10", ReasonDelivered, 1},
		{"client address kept by the load balancer", "203.0.113.9", "10.3.1.10", ReasonDelivered, 1},
	} {
		got, res := run(t, d, tcp(tc.src, tc.dst, 40000, 443, 2, 0))
		if res.Reason != tc.reason || len(got) != tc.records {
			t.Errorf("%s: %v (%s), %d observations; want %v and %d", tc.name, res.Reason, res.Detail, len(got), tc.reason, tc.records)
		}
	}
	// S3's replies come in through the gateway endpoint the app subnets
	// route S3's prefix list to.
	d = newDP(t, load(t, "../vpc/testdata/three-tier.yaml"))
	run(t, d, tcp("10.0.10.15", "52.216.10.10", 41000, 443, 2, 0))
	got, res := run(t, d, tcp("52.216.10.10", "10.0.10.15", 443, 41000, 0x12, time.Millisecond))
	if res.Reason != ReasonDelivered || len(got) != 1 {
		t.Errorf("reply from S3: %v (%s), %d observations", res.Reason, res.Detail, len(got))
	}
}

// TestReplyViaNATAsAWSSeesIt: a capture taken on an instance behind a NAT
// gateway shows the replies after the translation back (internet address
// to the instance's private address). Replayed, such a reply goes through
// the NAT gateway as AWS carries it: the same observations as the reply to
// the NAT gateway's Elastic IP and port, NAT interface included. Without
// a translation it goes straight to the instance.
func TestReplyViaNATAsAWSSeesIt(t *testing.T) {
	topo := load(t, "../vpc/testdata/three-tier.yaml")
	captured, translated := newDP(t, topo), newDP(t, topo)
	var public netip.AddrPort
	for _, d := range []*Dataplane{captured, translated} {
		_, res := run(t, d, tcp("10.0.10.15", "1.1.1.1", 41000, 443, 2, 0))
		public = res.PublicSrc
	}
	if !public.IsValid() {
		t.Fatal("the request did not leave through the NAT gateway")
	}
	got, res := run(t, captured, tcp("1.1.1.1", "10.0.10.15", 443, 41000, 0x12, time.Millisecond))
	want, wantRes := run(t, translated, tcp("1.1.1.1", public.Addr().String(), 443, public.Port(), 0x12, time.Millisecond))
	if diff := cmp.Diff(got, want); diff != "" || len(got) != 3 {
		t.Errorf("reply as captured on the instance (-got +want as sent to %s):\n%s", public, diff)
	}
	if res.Reason != wantRes.Reason || !res.Delivered {
		t.Errorf("result %+v, want %+v", res, wantRes)
	}
	// No translation (the capture missed the request): straight to the
	// instance, as before.
	got, _ = run(t, captured, tcp("1.1.1.1", "10.0.10.15", 443, 42000, 0x12, time.Millisecond))
	if len(got) != 1 || got[0].ENI != "eni-0a0a00000000000d1" {
		t.Errorf("untranslated reply: %+v", got)
	}
}

// TestNoRouteIsLoggedAccept: flow logs do not look at route tables. A
// packet its subnet cannot route (no route, a blackhole route) still
// leaves the interface, which logs it ACCEPT when its security group and
// network ACL allow it; the VPC router drops it after ("ACCEPT, yet it
// does not get through", seed 001). Not delivered.
func TestNoRouteIsLoggedAccept(t *testing.T) {
	d := newDP(t, load(t, "testdata/rules.yaml"))
	got, res := run(t, d, tcp("10.1.2.10", "192.0.2.77", 40000, 443, 2, 0))
	if res.Delivered || res.Reason != ReasonNoRoute || len(got) != 1 || got[0].Dir != "egress" || got[0].Action != "ACCEPT" || got[0].Path != 0 {
		t.Errorf("blackhole: %v (%s), observations %+v", res.Reason, res.Detail, got)
	}
}

// TestHairpinThroughNAT: a private instance reaching the VPC's own public
// address goes out through its NAT gateway and comes back in through the
// internet gateway from the NAT gateway's Elastic IP, so the receiving
// interface logs it (and judges it) as internet traffic from that address.
func TestHairpinThroughNAT(t *testing.T) {
	d := newDP(t, load(t, "../vpc/testdata/three-tier.yaml"))
	got, res := run(t, d, tcp("10.0.10.15", "198.51.100.20", 41000, 443, 2, 0))
	if !res.Delivered || len(got) < 4 {
		t.Fatalf("%v (%s): %+v", res.Reason, res.Detail, got)
	}
	last := got[len(got)-1]
	if last.Dir != "ingress" || last.PktSrc != "198.51.100.10" || last.Action != "ACCEPT" {
		t.Errorf("the receiver sees %+v, want ingress from the NAT gateway's Elastic IP 198.51.100.10", last)
	}
}
