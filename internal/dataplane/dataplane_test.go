package dataplane

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"vpcflow/internal/flow"
	"vpcflow/internal/vpc"
)

// obs is the comparable view of an Observation used in tests.
type obs struct {
	ENI, Instance            string
	Dir, Action              string
	Src, Dst, PktSrc, PktDst string
	SrcPort, DstPort         uint16
	Packets, Bytes           int64
	Path                     uint8
	SrcSvc, DstSvc, Decision string
}

func view(o *Observation) obs {
	inst := o.Interface.InstanceID
	if inst == "" {
		inst = "-"
	}
	return obs{ENI: o.Interface.ID, Instance: inst, Dir: o.Direction.String(), Action: o.Action.String(),
		Src: o.SrcAddr.String(), Dst: o.DstAddr.String(), PktSrc: o.PktSrcAddr.String(), PktDst: o.PktDstAddr.String(),
		SrcPort: o.SrcPort, DstPort: o.DstPort, Packets: o.Packets, Bytes: o.Bytes, Path: o.TrafficPath,
		SrcSvc: o.PktSrcAWSService, DstSvc: o.PktDstAWSService, Decision: decisionText(o)}
}

func decisionText(o *Observation) string {
	if o.Decision.Layer == "" {
		return ""
	}
	return o.Decision.String()
}

func load(t testing.TB, path string) *vpc.Topology {
	t.Helper()
	topo, err := vpc.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// newDP builds a dataplane with opts (at most one; default Options{}).
func newDP(t testing.TB, topo *vpc.Topology, opts ...Options) *Dataplane {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	d, err := New(topo, o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var t0 = time.Unix(1432917027, 0)

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// run processes a packet and returns its observations (copied) and result.
func run(t testing.TB, d *Dataplane, p Packet) ([]obs, Result) {
	t.Helper()
	var got []obs
	res, err := d.Process(p, func(o *Observation) { got = append(got, view(o)) })
	if err != nil {
		t.Fatal(err)
	}
	return got, res
}

func tcp(src, dst string, sport, dport uint16, flags uint8, at time.Duration) Packet {
	return Packet{Time: t0.Add(at), Src: addr(src), Dst: addr(dst), Protocol: 6, SrcPort: sport, DstPort: dport, Size: 60, TCPFlags: flags}
}

// TestPingSpec73 reproduces spec §7.3: the security group allows the ping
// in, tracking lets the reply out, and the stateless NACL drops the reply.
func TestPingSpec73(t *testing.T) {
	topo := load(t, "testdata/ping.yaml")
	d := newDP(t, topo)
	req := Packet{Time: t0, Src: addr("203.0.113.12"), Dst: addr("198.51.100.139"), Protocol: 1, ICMPType: 8, Size: 84, Count: 4}
	got, res := run(t, d, req)
	want := []obs{{ENI: "eni-1235b8ca123456789", Instance: "i-01234567890123456", Dir: "ingress", Action: "ACCEPT",
		Src: "203.0.113.12", Dst: "172.31.16.139", PktSrc: "203.0.113.12", PktDst: "172.31.16.139",
		Packets: 4, Bytes: 336, Decision: "sg sg-0ping000000001 ingress allows icmp all from 0.0.0.0/0"}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("request (-got +want):\n%s", diff)
	}
	if !res.Delivered {
		t.Errorf("request not delivered: %+v", res)
	}
	reply := Packet{Time: t0.Add(time.Second), Src: addr("172.31.16.139"), Dst: addr("203.0.113.12"), Protocol: 1, ICMPType: 0, Size: 84, Count: 4}
	got, res = run(t, d, reply)
	want = []obs{{ENI: "eni-1235b8ca123456789", Instance: "i-01234567890123456", Dir: "egress", Action: "REJECT",
		Src: "172.31.16.139", Dst: "203.0.113.12", PktSrc: "172.31.16.139", PktDst: "203.0.113.12",
		Packets: 4, Bytes: 336, Path: 8, Decision: "nacl acl-0ping000000001 egress rule * deny"}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("reply (-got +want):\n%s", diff)
	}
	if res.Delivered || res.Reason != ReasonRejected {
		t.Errorf("reply result = %+v, want rejected", res)
	}

	// "If your network ACL permits outbound ICMP traffic, the flow log
	// displays two ACCEPT records."
	if err := d.Mutate(func(t *vpc.Topology) error {
		return t.CreateNetworkACLEntry("acl-0ping000000001", true, vpc.NACLEntry{RuleNumber: 110, Protocol: 1, ICMPType: -1, ICMPCode: -1,
			CIDR: netip.MustParsePrefix("0.0.0.0/0"), Allow: true})
	}); err != nil {
		t.Fatal(err)
	}
	reply.Time = t0.Add(2 * time.Second)
	got, _ = run(t, d, reply)
	if len(got) != 1 || got[0].Action != "ACCEPT" || got[0].Decision != "sg sg-0ping000000001: tracked connection: egress allowed as part of an existing connection" {
		t.Errorf("reply with NACL allowing ICMP out = %+v, want one tracked ACCEPT", got)
	}
	// The same entry, replaced in place by a deny: the NACL decides again
	// (decisions are cached by deciding entry within a topology generation).
	if err := d.Mutate(func(t *vpc.Topology) error {
		return t.ReplaceNetworkACLEntry("acl-0ping000000001", true, vpc.NACLEntry{RuleNumber: 110, Protocol: 1, ICMPType: -1, ICMPCode: -1,
			CIDR: netip.MustParsePrefix("0.0.0.0/0"), Allow: false})
	}); err != nil {
		t.Fatal(err)
	}
	reply.Time = t0.Add(3 * time.Second)
	if got, _ = run(t, d, reply); len(got) != 1 || got[0].Action != "REJECT" || got[0].Decision != "nacl acl-0ping000000001 egress rule 110 deny" {
		t.Errorf("reply after rule 110 became a deny = %+v, want a REJECT by rule 110", got)
	}

	// "If your security group denies inbound ICMP traffic, the flow log
	// displays a single REJECT record": a fresh dataplane (no tracking),
	// with the ICMP rule revoked.
	topo2 := load(t, "testdata/ping.yaml")
	if err := topo2.RevokeSecurityGroupIngress("sg-0ping000000001", vpc.SGRule{Protocol: 1, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix("0.0.0.0/0")}); err != nil {
		t.Fatal(err)
	}
	d2 := newDP(t, topo2)
	got, res = run(t, d2, req)
	want = []obs{{ENI: "eni-1235b8ca123456789", Instance: "i-01234567890123456", Dir: "ingress", Action: "REJECT",
		Src: "203.0.113.12", Dst: "172.31.16.139", PktSrc: "203.0.113.12", PktDst: "172.31.16.139",
		Packets: 4, Bytes: 336, Decision: "sg sg-0ping000000001: no ingress rule allows icmp/8:0 from 203.0.113.12"}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("SG denies (-got +want):\n%s", diff)
	}
	if res.Reason != ReasonRejected {
		t.Errorf("result = %+v", res)
	}
}

// TestNATGatewaySpec76 reproduces spec §7.6: the NAT gateway interface
// shows its private IP in dstaddr/srcaddr on the legs to and from the
// instance, while the instance interface shows identical address pairs.
func TestNATGatewaySpec76(t *testing.T) {
	d := newDP(t, load(t, "testdata/nat.yaml"))
	var got []obs
	emit := func(o *Observation) { got = append(got, view(o)) }
	out := tcp("10.0.1.5", "203.0.113.5", 40000, 443, 0x02, 0)
	res, err := d.Process(out, emit)
	if err != nil || res.Reason != ReasonLeftVPC {
		t.Fatalf("outbound: %+v %v", res, err)
	}
	back := tcp("203.0.113.5", "198.51.100.220", 443, 40000, 0x12, time.Second)
	res, err = d.Process(back, emit)
	if err != nil || res.Reason != ReasonDelivered {
		t.Fatalf("reply: %+v %v", res, err)
	}
	type addrs struct{ Instance, ENI, Src, Dst, PktSrc, PktDst, Dir string }
	var view []addrs
	for _, o := range got {
		view = append(view, addrs{o.Instance, o.ENI, o.Src, o.Dst, o.PktSrc, o.PktDst, o.Dir})
	}
	// The lines of spec §7.6, in path order.
	want := []addrs{
		{"i-01234567890123456", "eni-1111aaaa2222bbbb3", "10.0.1.5", "203.0.113.5", "10.0.1.5", "203.0.113.5", "egress"},
		{"-", "eni-1235b8ca123456789", "10.0.1.5", "10.0.0.220", "10.0.1.5", "203.0.113.5", "ingress"},
		{"-", "eni-1235b8ca123456789", "10.0.0.220", "203.0.113.5", "10.0.0.220", "203.0.113.5", "egress"},
		{"-", "eni-1235b8ca123456789", "203.0.113.5", "10.0.0.220", "203.0.113.5", "10.0.0.220", "ingress"},
		{"-", "eni-1235b8ca123456789", "10.0.0.220", "10.0.1.5", "203.0.113.5", "10.0.1.5", "egress"},
		{"i-01234567890123456", "eni-1111aaaa2222bbbb3", "203.0.113.5", "10.0.1.5", "203.0.113.5", "10.0.1.5", "ingress"},
	}
	if diff := cmp.Diff(view, want); diff != "" {
		t.Errorf("NAT observations (-got +want):\n%s", diff)
	}
	for _, o := range got {
		if o.Action != "ACCEPT" {
			t.Errorf("%s %s: %s (%s)", o.ENI, o.Dir, o.Action, o.Decision)
		}
	}
	// The NAT keeps the source port (free), and traffic-path is 1 to the
	// NAT, 8 from the NAT to the internet gateway.
	if got[0].Path != 1 || got[2].Path != 8 || got[2].SrcPort != 40000 || got[3].Path != 0 {
		t.Errorf("paths/ports: %+v", got)
	}

	// Unsolicited inbound traffic to the NAT's Elastic IP is dropped at the NAT.
	got = nil
	res, _ = d.Process(tcp("203.0.113.99", "198.51.100.220", 5555, 22, 0x02, 2*time.Second), emit)
	if res.Reason != ReasonRejected || len(got) != 1 || got[0].Action != "REJECT" {
		t.Errorf("unsolicited: %+v %+v", res, got)
	}
}

// TestNATPortAllocation: two inside hosts using the same source port to the
// same destination get distinct NAT ports.
func TestNATPortAllocation(t *testing.T) {
	topo := load(t, "testdata/nat.yaml")
	d := newDP(t, topo)
	var ports []uint16
	emit := func(o *Observation) {
		if o.Interface.ID == "eni-1235b8ca123456789" && o.Direction == flow.Egress {
			ports = append(ports, o.SrcPort)
		}
	}
	if _, err := d.Process(tcp("10.0.1.5", "203.0.113.5", 40000, 443, 2, 0), emit); err != nil {
		t.Fatal(err)
	}
	// Same tuple again: same mapping.
	if _, err := d.Process(tcp("10.0.1.5", "203.0.113.5", 40000, 443, 0x10, time.Second), emit); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ports, []uint16{40000, 40000}); diff != "" {
		t.Errorf("ports (-got +want):\n%s", diff)
	}
}

func TestSameSubnetSkipsNACL(t *testing.T) {
	topo := load(t, "testdata/rules.yaml")
	d := newDP(t, topo)
	// a1 and a2 share subnet A, whose NACL denies everything: only SGs apply.
	got, res := run(t, d, tcp("10.1.1.10", "10.1.1.11", 50000, 5432, 2, 0))
	if len(got) != 2 || got[0].Action != "ACCEPT" || got[1].Action != "ACCEPT" || !res.Delivered {
		t.Fatalf("same subnet: %+v %+v", got, res)
	}
	// a1 to b1 crosses into subnet B: subnet A's NACL denies it on the way out.
	got, res = run(t, d, tcp("10.1.1.10", "10.1.2.10", 50000, 5432, 2, time.Second))
	want := []obs{{ENI: "eni-0a1000000000000a1", Instance: "i-0a1000000000000a1", Dir: "egress", Action: "REJECT",
		Src: "10.1.1.10", Dst: "10.1.2.10", PktSrc: "10.1.1.10", PktDst: "10.1.2.10", SrcPort: 50000, DstPort: 5432,
		Packets: 1, Bytes: 60, Path: 1, Decision: "nacl acl-0deny00000000001 egress rule * deny"}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("cross subnet (-got +want):\n%s", diff)
	}
	if res.Reason != ReasonRejected || res.Decision.RuleNumber != 32767 {
		t.Errorf("result %+v", res)
	}
}

func TestSGReferencesSG(t *testing.T) {
	topo := load(t, "testdata/rules.yaml")
	d := newDP(t, topo)
	// b1 carries sg-client, which the db group allows: ACCEPT.
	got, _ := run(t, d, tcp("10.1.2.10", "10.1.2.12", 40001, 5432, 2, 0))
	if len(got) != 2 || got[1].Action != "ACCEPT" || got[1].Decision != "sg sg-0db0000000000001 ingress allows tcp 5432 from sg-0c00000000000001" {
		t.Fatalf("member: %+v", got)
	}
	// b2 is in the same subnet but not in sg-client: REJECT with the reason.
	got, _ = run(t, d, tcp("10.1.2.11", "10.1.2.12", 40002, 5432, 2, 0))
	if len(got) != 2 || got[1].Action != "REJECT" || got[1].Decision != "sg sg-0db0000000000001: no ingress rule allows tcp/5432 from 10.1.2.11" {
		t.Fatalf("non-member: %+v", got)
	}
	// Adding b2 to sg-client makes it a member.
	if err := d.Mutate(func(t *vpc.Topology) error {
		return t.ModifyInterfaceSecurityGroups("eni-0b2000000000000b2", []string{"sg-0c00000000000001"})
	}); err != nil {
		t.Fatal(err)
	}
	got, _ = run(t, d, tcp("10.1.2.11", "10.1.2.12", 40002, 5432, 2, time.Second))
	if len(got) != 2 || got[1].Action != "ACCEPT" {
		t.Fatalf("after membership change: %+v", got)
	}
}

// TestTrackedSurvivesRuleRemoval: a tracked connection is not broken by
// removing the rule that allowed it (spec §8.3); a new one is rejected.
func TestTrackedSurvivesRuleRemoval(t *testing.T) {
	topo := load(t, "testdata/rules.yaml")
	d := newDP(t, topo)
	syn := tcp("203.0.113.1", "198.51.100.50", 51000, 22, 0x02, 0)
	if got, _ := run(t, d, syn); len(got) != 1 || got[0].Action != "ACCEPT" {
		t.Fatalf("ssh syn: %+v", got)
	}
	if got, _ := run(t, d, tcp("10.1.2.10", "203.0.113.1", 22, 51000, 0x12, time.Second)); len(got) != 1 || got[0].Action != "ACCEPT" {
		t.Fatalf("ssh syn-ack: %+v", got)
	}
	if err := d.Mutate(func(t *vpc.Topology) error {
		return t.RevokeSecurityGroupIngress("sg-0c00000000000001", vpc.SGRule{Protocol: 6, Ports: vpc.PortRange{From: 22, To: 22}, ICMPType: -1, ICMPCode: -1,
			CIDR: netip.MustParsePrefix("203.0.113.1/32")})
	}); err != nil {
		t.Fatal(err)
	}
	got, _ := run(t, d, tcp("203.0.113.1", "198.51.100.50", 51000, 22, 0x10, 2*time.Second))
	if len(got) != 1 || got[0].Action != "ACCEPT" || got[0].Decision == "" {
		t.Fatalf("established after revoke: %+v", got)
	}
	got, _ = run(t, d, tcp("203.0.113.1", "198.51.100.50", 51001, 22, 0x02, 3*time.Second))
	if len(got) != 1 || got[0].Action != "REJECT" {
		t.Fatalf("new connection after revoke: %+v", got)
	}
	// After a RST and the closed timeout, late packets are REJECT.
	run(t, d, tcp("203.0.113.1", "198.51.100.50", 51000, 22, 0x04, 4*time.Second))
	got, _ = run(t, d, tcp("203.0.113.1", "198.51.100.50", 51000, 22, 0x10, 40*time.Second))
	if len(got) != 1 || got[0].Action != "REJECT" {
		t.Fatalf("late ingress after close: %+v", got)
	}
}

// TestUntrackedInterruptedByRuleRemoval: an untracked flow (0.0.0.0/0 both
// ways) stops at once when the rule goes (spec §8.3).
func TestUntrackedInterruptedByRuleRemoval(t *testing.T) {
	topo := load(t, "testdata/rules.yaml")
	d := newDP(t, topo)
	if got, _ := run(t, d, tcp("203.0.113.7", "198.51.100.50", 52000, 80, 0x02, 0)); len(got) != 1 || got[0].Action != "ACCEPT" {
		t.Fatalf("http syn: %+v", got)
	}
	if n := d.Conntrack().Len(); n != 0 {
		t.Errorf("untracked flow created %d conntrack entries", n)
	}
	if err := d.Mutate(func(t *vpc.Topology) error {
		return t.RevokeSecurityGroupIngress("sg-0c00000000000001", vpc.SGRule{Protocol: 6, Ports: vpc.PortRange{From: 80, To: 80}, ICMPType: -1, ICMPCode: -1,
			CIDR: netip.MustParsePrefix("0.0.0.0/0")})
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ := run(t, d, tcp("203.0.113.7", "198.51.100.50", 52000, 80, 0x10, time.Second)); len(got) != 1 || got[0].Action != "REJECT" {
		t.Fatalf("http after revoke: %+v", got)
	}
}

func TestNotLoggedAndNoRoute(t *testing.T) {
	topo := load(t, "testdata/rules.yaml")
	d := newDP(t, topo)
	for _, tc := range []struct {
		name   string
		p      Packet
		reason Reason
	}{
		{"metadata", tcp("10.1.1.10", "169.254.169.254", 40000, 80, 2, 0), ReasonNotLogged},
		{"time sync", Packet{Src: addr("10.1.1.10"), Dst: addr("169.254.169.123"), Protocol: 17, SrcPort: 123, DstPort: 123}, ReasonNotLogged},
		{"amazon dns", Packet{Src: addr("10.1.1.10"), Dst: addr("10.1.0.2"), Protocol: 17, SrcPort: 40000, DstPort: 53}, ReasonNotLogged},
		{"dhcp", Packet{Src: addr("10.1.1.10"), Dst: addr("10.1.1.1"), Protocol: 17, SrcPort: 68, DstPort: 67}, ReasonNotLogged},
		{"router", Packet{Src: addr("10.1.1.10"), Dst: addr("10.1.1.1"), Protocol: 1, ICMPType: 8}, ReasonNotLogged},
		{"router of another subnet", Packet{Src: addr("10.1.1.10"), Dst: addr("10.1.2.1"), Protocol: 1, ICMPType: 8}, ReasonNotLogged},
		{"from the router of another subnet", Packet{Src: addr("10.1.2.1"), Dst: addr("10.1.1.10"), Protocol: 1, ICMPType: 0}, ReasonNotLogged},
		// An unroutable packet leaves the interface first: the NACL of
		// subnet a denies it there; subnet b's lets it out, logged ACCEPT,
		// and the router drops it (TestNoRouteIsLoggedAccept).
		{"no route", tcp("10.1.1.10", "192.0.2.1", 40000, 443, 2, 0), ReasonRejected},
		{"blackhole", tcp("10.1.2.10", "192.0.2.77", 40000, 443, 2, 0), ReasonNoRoute},
		{"no public ip", tcp("10.1.2.11", "203.0.113.9", 40000, 443, 2, 0), ReasonNoPublicIP},
		{"unknown", tcp("192.0.2.1", "192.0.2.2", 1, 2, 2, 0), ReasonUnknownSource},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, res := run(t, d, tc.p)
			if res.Reason != tc.reason {
				t.Errorf("reason = %v (%s), want %v", res.Reason, res.Detail, tc.reason)
			}
			if tc.reason != ReasonNoPublicIP && tc.reason != ReasonNoRoute && tc.reason != ReasonRejected && len(got) != 0 {
				t.Errorf("observations = %+v, want none", got)
			}
		})
	}
}

func TestSecondaryAndPublicAddresses(t *testing.T) {
	topo := load(t, "testdata/rules.yaml")
	d := newDP(t, topo)
	// To a secondary private IP: dstaddr is the primary, pkt-dstaddr the secondary.
	got, _ := run(t, d, tcp("10.1.1.10", "10.1.1.12", 40000, 5432, 2, 0))
	if len(got) != 2 || got[1].Dst != "10.1.1.11" || got[1].PktDst != "10.1.1.12" {
		t.Errorf("secondary: %+v", got)
	}
	// To the public IP: dstaddr and pkt-dstaddr are the private IP; the S3
	// source address is labelled with its service.
	got, _ = run(t, d, tcp("10.1.2.10", "52.95.128.179", 34210, 80, 0x02, 0))
	if len(got) != 1 || got[0].DstSvc != "S3" || got[0].Path != 8 || got[0].Action != "ACCEPT" {
		t.Errorf("to S3: %+v", got)
	}
	got, _ = run(t, d, tcp("52.95.128.179", "198.51.100.50", 80, 34210, 0x12, time.Second))
	if len(got) != 1 || got[0].Dst != "10.1.2.10" || got[0].PktDst != "10.1.2.10" || got[0].SrcSvc != "S3" || got[0].Path != 0 || got[0].Action != "ACCEPT" {
		t.Errorf("public: %+v", got)
	}
}

func TestThreeTier(t *testing.T) {
	topo := load(t, "../vpc/testdata/three-tier.yaml")
	d := newDP(t, topo)
	if n := len(d.Interfaces()); n != 9 {
		t.Errorf("interfaces = %d", n)
	}
	for _, tc := range []struct {
		name string
		p    Packet
		want []string // action per observation
	}{
		{"internet to ALB https", tcp("203.0.113.40", "198.51.100.20", 50000, 443, 2, 0), []string{"ACCEPT"}},
		{"ALB to app 8080", tcp("10.0.0.10", "10.0.10.15", 30000, 8080, 2, 0), []string{"ACCEPT", "ACCEPT"}},
		{"app to RDS 5432", tcp("10.0.10.15", "10.0.20.25", 41000, 5432, 2, 0), []string{"ACCEPT", "ACCEPT"}},
		{"RDS reply", tcp("10.0.20.25", "10.0.10.15", 5432, 41000, 0x12, time.Second), []string{"ACCEPT", "ACCEPT"}},
		{"bastion to RDS (NACL)", tcp("10.0.0.30", "10.0.20.25", 41000, 5432, 2, 0), []string{"ACCEPT", "REJECT"}},
		{"app to internet via NAT", tcp("10.0.10.15", "203.0.113.80", 42000, 443, 2, 0), []string{"ACCEPT", "ACCEPT", "ACCEPT"}},
		{"internet reply via NAT", tcp("203.0.113.80", "198.51.100.10", 443, 42000, 0x12, time.Second), []string{"ACCEPT", "ACCEPT", "ACCEPT"}},
		{"app to S3 via endpoint", tcp("10.0.11.22", "52.216.10.1", 43000, 443, 2, 0), []string{"ACCEPT"}},
		{"office ping bastion", Packet{Time: t0, Src: addr("203.0.113.12"), Dst: addr("198.51.100.30"), Protocol: 1, ICMPType: 8, Size: 84}, []string{"ACCEPT"}},
		{"bastion ping reply (NACL)", Packet{Time: t0, Src: addr("10.0.0.30"), Dst: addr("203.0.113.12"), Protocol: 1, Size: 84}, []string{"REJECT"}},
		// The internet gateway forwards only to public IPs, and the
		// database subnets route nothing out: dropped before any
		// interface, no record.
		{"ssh from internet to a database address", tcp("203.0.113.12", "10.0.20.25", 40000, 22, 2, 0), nil},
		// The app subnets route the internet to a NAT gateway: a capture
		// on the instance shows its replies after translation.
		{"from internet to an app address", tcp("203.0.113.12", "10.0.10.15", 40000, 22, 2, 0), []string{"REJECT"}},
		{"ssh from internet to the load balancer", tcp("203.0.113.12", "198.51.100.20", 40000, 22, 2, 0), []string{"REJECT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := run(t, d, tc.p)
			var acts []string
			for _, o := range got {
				acts = append(acts, o.Action)
			}
			if diff := cmp.Diff(acts, tc.want); diff != "" {
				t.Errorf("actions (-got +want):\n%s\n%s", diff, fmt.Sprint(got))
			}
		})
	}
	// The S3 endpoint egress has traffic-path 7 (Nitro).
	got, _ := run(t, d, tcp("10.0.11.22", "52.216.10.1", 43000, 443, 0x10, time.Second))
	if len(got) != 1 || got[0].Path != 7 || got[0].DstSvc != "S3" {
		t.Errorf("endpoint: %+v", got)
	}
}

func TestBadPacket(t *testing.T) {
	d := newDP(t, load(t, "testdata/ping.yaml"))
	for _, p := range []Packet{
		{},
		{Src: addr("10.0.0.1"), Dst: addr("::1")},
		{Src: addr("10.0.0.1"), Dst: addr("10.0.0.2"), Size: -1},
		{Src: addr("10.0.0.1"), Dst: addr("10.0.0.2"), Size: 60, Count: 2, Bytes: -1},
		{Src: addr("10.0.0.1"), Dst: addr("10.0.0.2"), Size: 60, Span: -time.Second},
	} {
		if _, err := d.Process(p, nil); err == nil {
			t.Errorf("Process(%+v) = nil error", p)
		}
	}
}

func TestExplain(t *testing.T) {
	d := newDP(t, load(t, "../vpc/testdata/three-tier.yaml"))
	ex, err := d.Explain(tcp("10.0.10.15", "203.0.113.80", 42000, 443, 2, 0))
	if err != nil {
		t.Fatal(err)
	}
	got := ex.String()
	for _, want := range []string{
		"packet tcp 10.0.10.15:42000 -> 203.0.113.80:443",
		"eni-0a0a00000000000d1  egress  sg   ACCEPT  sg sg-0a990000000000a99 egress allows all to 0.0.0.0/0",
		"route rtb-0a1a0000000000001: 0.0.0.0/0 -> nat-0a1a1a1a1a1a1a1a1",
		"eni-0e0a00000000000c1  ingress nacl ACCEPT  nacl acl-0e00000000000000b ingress rule 100 allow",
		"nat nat-0a1a1a1a1a1a1a1a1: translate source 10.0.10.15:42000 -> 10.0.0.220:42000",
		"result: delivered (left the VPC)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("explanation lacks %q:\n%s", want, got)
		}
	}
	ex, err = d.Explain(tcp("10.0.0.30", "10.0.20.25", 41000, 5432, 2, 0))
	if err != nil {
		t.Fatal(err)
	}
	if ex.Result.Reason != ReasonRejected || ex.Result.Decision.String() != "nacl acl-0d00000000000000b ingress rule 200 deny" {
		t.Errorf("bastion to RDS: %+v\n%s", ex.Result, ex)
	}
}

func TestIPv6AndAlwaysTracked(t *testing.T) {
	topo, err := vpc.Load([]byte(`account: "123456789012"
region: us-east-1
vpcs: [{id: vpc-06, cidr: 10.6.0.0/16, ipv6_cidr: "2001:db8:6::/56"}]
subnets:
  - {id: subnet-06, vpc: vpc-06, cidr: 10.6.0.0/24, ipv6_cidr: "2001:db8:6::/64", az: us-east-1a, route_table: rtb-06}
internet_gateways: [{id: igw-06, vpc: vpc-06}]
route_tables:
  - {id: rtb-06, vpc: vpc-06, routes: [{destination: "::/0", target: igw-06}, {destination: 0.0.0.0/0, target: igw-06}]}
security_groups:
  - id: sg-06
    name: web
    vpc: vpc-06
    ingress: [{protocol: tcp, ports: 443, cidr: 0.0.0.0/0}]
    egress: [{protocol: all, cidr: 0.0.0.0/0}, {protocol: all, cidr: "::/0"}]
network_interfaces:
  - {id: eni-06a, subnet: subnet-06, instance_id: i-06a, private_ip: 10.6.0.10, ipv6_addresses: ["2001:db8:6::10"], public_ip: 198.51.100.6, security_groups: [sg-06]}
  - {id: eni-06b, subnet: subnet-06, interface_type: network_load_balancer, owner: elb, requester_managed: true, private_ip: 10.6.0.20, public_ip: 198.51.100.7, security_groups: [sg-06]}
`), "v6.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := newDP(t, topo)
	p := Packet{Time: t0, Src: addr("2001:db8:6::10"), Dst: addr("2001:db8:ffff::1"), Protocol: 6, SrcPort: 40000, DstPort: 443, Size: 80}
	got, res := run(t, d, p)
	if res.Reason != ReasonLeftVPC || len(got) != 1 || got[0].Src != "2001:db8:6::10" || got[0].Action != "ACCEPT" || got[0].Path != 8 {
		t.Errorf("IPv6 egress: %+v %+v", res, got)
	}
	// The path cache's key has no zone: an address that differs only by
	// its zone is another address (here no interface's), not a cache hit.
	zoned := p
	zoned.Src = zoned.Src.WithZone("eth0")
	if _, res := run(t, d, zoned); res.Reason == ReasonLeftVPC {
		t.Errorf("a zoned source took the cached path of the unzoned one: %+v", res)
	}
	if _, again := run(t, d, p); again != res {
		t.Errorf("after the zoned packet: %+v, want %+v", again, res)
	}
	// Nor does Explain of the zoned packet leave its path for the unzoned.
	d.Expire(t0.Add(time.Hour))
	if _, err := d.Explain(zoned); err != nil {
		t.Fatal(err)
	}
	if _, again := run(t, d, p); again != res {
		t.Errorf("after explaining the zoned packet: %+v, want %+v", again, res)
	}
	// 0.0.0.0/0 both ways would make the flow untracked, but an NLB
	// interface tracks every flow.
	run(t, d, tcp("203.0.113.9", "198.51.100.6", 40000, 443, 2, 0))
	run(t, d, tcp("203.0.113.9", "198.51.100.7", 40000, 443, 2, 0))
	// Two entries: the IPv6 flow (no ::/0 inbound rule, so tracked) and the
	// NLB's; the instance's IPv4 HTTPS flow is untracked.
	if n := d.Conntrack().Len(); n != 2 {
		t.Errorf("conntrack entries = %d, want 2", n)
	}
}

func TestPeeringAndGateways(t *testing.T) {
	topo, err := vpc.Load([]byte(`account: "123456789012"
region: us-east-1
vpcs:
  - {id: vpc-0aaa, cidr: 10.10.0.0/16}
  - {id: vpc-0bbb, cidr: 10.20.0.0/16}
vpc_peering_connections:
  - {id: pcx-0ab, requester_vpc: vpc-0aaa, accepter_vpc: vpc-0bbb}
gateways:
  - {id: vgw-0aaa, vpcs: [vpc-0aaa]}
subnets:
  - {id: subnet-0aaa, vpc: vpc-0aaa, cidr: 10.10.1.0/24, az: us-east-1a, route_table: rtb-0aaa}
  - {id: subnet-0bbb, vpc: vpc-0bbb, cidr: 10.20.1.0/24, az: us-east-1b, route_table: rtb-0bbb}
route_tables:
  - id: rtb-0aaa
    vpc: vpc-0aaa
    routes:
      - {destination: 10.20.0.0/16, target: pcx-0ab}
      - {destination: 172.16.0.0/12, target: vgw-0aaa}
  - id: rtb-0bbb
    vpc: vpc-0bbb
    routes:
      - {destination: 10.10.0.0/16, target: pcx-0ab}
security_groups:
  - {id: sg-0aaa, name: client, vpc: vpc-0aaa}
  - id: sg-0bbb
    name: server
    vpc: vpc-0bbb
    ingress:
      - {protocol: tcp, ports: 443, group: sg-0aaa, description: from the peer VPC's clients}
network_interfaces:
  - {id: eni-0aaa, subnet: subnet-0aaa, instance_id: i-0aaa, private_ip: 10.10.1.10, nitro: false, security_groups: [sg-0aaa]}
  - {id: eni-0bbb, subnet: subnet-0bbb, instance_id: i-0bbb, private_ip: 10.20.1.10, security_groups: [sg-0bbb]}
`), "peering.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := newDP(t, topo)
	got, res := run(t, d, tcp("10.10.1.10", "10.20.1.10", 40000, 443, 2, 0))
	if !res.Delivered || len(got) != 2 || got[0].Path != 4 || got[1].Action != "ACCEPT" ||
		got[1].Decision != "sg sg-0bbb ingress allows tcp 443 from sg-0aaa (from the peer VPC's clients)" {
		t.Errorf("peering: %+v %+v", res, got)
	}
	got, res = run(t, d, tcp("10.20.1.10", "10.10.1.10", 443, 40000, 0x12, time.Second))
	if !res.Delivered || len(got) != 2 || got[0].Action != "ACCEPT" || got[1].Action != "ACCEPT" {
		t.Errorf("peering reply: %+v %+v", res, got)
	}
	got, res = run(t, d, tcp("10.10.1.10", "172.16.5.5", 40001, 22, 2, 0))
	if res.Reason != ReasonLeftVPC || len(got) != 1 || got[0].Path != 3 {
		t.Errorf("vpn: %+v %+v", res, got)
	}
}

// TestInterfaceIndex: each interface's Index is its position in Interfaces
// plus one, what Interface(id) returns.
func TestInterfaceIndex(t *testing.T) {
	d := newDP(t, load(t, "testdata/nat.yaml"))
	ifs := d.Interfaces()
	if len(ifs) == 0 {
		t.Fatal("no interfaces")
	}
	for i, e := range ifs {
		if e.Index != i+1 || d.Interface(e.ID) != e {
			t.Errorf("interface %d (%s): Index %d, Interface(id) %p, want %d, %p", i, e.ID, e.Index, d.Interface(e.ID), i+1, e)
		}
	}
}
