package policy

import (
	"net/netip"
	"testing"
	"time"

	"vpcflow/internal/flow"
	"vpcflow/internal/vpc"
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func ip(s string) netip.Addr    { return netip.MustParseAddr(s) }

// members is a Resolver for tests: group id -> addresses, prefix lists.
type members struct {
	groups map[string][]netip.Addr
	lists  map[string][]netip.Prefix
}

func (m members) IsGroupMember(sg string, a netip.Addr) bool {
	for _, x := range m.groups[sg] {
		if x == a {
			return true
		}
	}
	return false
}

func (m members) PrefixListContains(pl string, a netip.Addr) bool {
	for _, p := range m.lists[pl] {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func tcpRule(ports vpc.PortRange, cidr string) vpc.SGRule {
	return vpc.SGRule{Protocol: vpc.ProtoTCP, Ports: ports, ICMPType: -1, ICMPCode: -1, CIDR: pfx(cidr)}
}

func TestNetworkACL(t *testing.T) {
	acl := &vpc.NetworkACL{ID: "acl-0abc",
		Ingress: []vpc.NACLEntry{
			{RuleNumber: 100, Protocol: vpc.ProtoTCP, Ports: pr(443, 443), CIDR: pfx("0.0.0.0/0"), Allow: true},
			{RuleNumber: 110, Protocol: vpc.ProtoTCP, Ports: pr(22, 22), CIDR: pfx("203.0.113.0/24"), Allow: false},
			{RuleNumber: 120, Protocol: vpc.ProtoTCP, Ports: vpc.AllPorts, CIDR: pfx("203.0.113.0/24"), Allow: true},
			{RuleNumber: 130, Protocol: vpc.ProtoICMP, ICMPType: 3, ICMPCode: 4, CIDR: pfx("0.0.0.0/0"), Allow: true},
			{RuleNumber: 140, Protocol: vpc.AnyProtocol, CIDR: pfx("::/0"), Allow: true},
		},
		Egress: []vpc.NACLEntry{
			{RuleNumber: 100, Protocol: vpc.ProtoTCP, Ports: pr(1024, 65535), CIDR: pfx("0.0.0.0/0"), Allow: true},
		},
	}
	for _, tc := range []struct {
		name string
		dir  flow.Direction
		p    Packet
		want string
	}{
		{"https allowed by 100", flow.Ingress, Packet{Src: ip("198.51.100.1"), Dst: ip("10.0.0.5"), Protocol: 6, SrcPort: 50000, DstPort: 443}, "nacl acl-0abc ingress rule 100 allow"},
		{"first match wins: 110 denies before 120 allows", flow.Ingress, Packet{Src: ip("203.0.113.9"), Dst: ip("10.0.0.5"), Protocol: 6, DstPort: 22}, "nacl acl-0abc ingress rule 110 deny"},
		{"120 allows other ports", flow.Ingress, Packet{Src: ip("203.0.113.9"), Dst: ip("10.0.0.5"), Protocol: 6, DstPort: 8080}, "nacl acl-0abc ingress rule 120 allow"},
		{"no match: * deny", flow.Ingress, Packet{Src: ip("198.51.100.1"), Dst: ip("10.0.0.5"), Protocol: 6, DstPort: 139}, "nacl acl-0abc ingress rule * deny"},
		{"udp does not match tcp rules", flow.Ingress, Packet{Src: ip("203.0.113.9"), Dst: ip("10.0.0.5"), Protocol: 17, DstPort: 53}, "nacl acl-0abc ingress rule * deny"},
		{"icmp type/code match", flow.Ingress, Packet{Src: ip("198.51.100.1"), Dst: ip("10.0.0.5"), Protocol: 1, ICMPType: 3, ICMPCode: 4}, "nacl acl-0abc ingress rule 130 allow"},
		{"icmp other type", flow.Ingress, Packet{Src: ip("198.51.100.1"), Dst: ip("10.0.0.5"), Protocol: 1, ICMPType: 8}, "nacl acl-0abc ingress rule * deny"},
		{"IPv4 rules ignore IPv6", flow.Ingress, Packet{Src: ip("2001:db8::1"), Dst: ip("2001:db8::2"), Protocol: 6, DstPort: 443}, "nacl acl-0abc ingress rule 140 allow"},
		{"egress matches destination and its port", flow.Egress, Packet{Src: ip("10.0.0.5"), Dst: ip("198.51.100.1"), Protocol: 6, SrcPort: 443, DstPort: 50000}, "nacl acl-0abc egress rule 100 allow"},
		{"stateless: reply to a low port denied", flow.Egress, Packet{Src: ip("10.0.0.5"), Dst: ip("198.51.100.1"), Protocol: 6, SrcPort: 50000, DstPort: 443}, "nacl acl-0abc egress rule * deny"},
		{"IPv6 * rule", flow.Egress, Packet{Src: ip("2001:db8::1"), Dst: ip("2001:db8::2"), Protocol: 6, DstPort: 2000}, "nacl acl-0abc egress rule * deny"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := EvaluateNetworkACL(acl, tc.dir, tc.p).String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSecurityGroups(t *testing.T) {
	web := &vpc.SecurityGroup{ID: "sg-0web",
		Ingress: []vpc.SGRule{
			tcpRule(pr(22, 22), "203.0.113.1/32"),
			tcpRule(pr(443, 443), "0.0.0.0/0"),
			{Protocol: vpc.ProtoTCP, Ports: pr(8080, 8080), ICMPType: -1, ICMPCode: -1, GroupID: "sg-0alb"},
			{Protocol: vpc.ProtoTCP, Ports: pr(9000, 9100), ICMPType: -1, ICMPCode: -1, PrefixListID: "pl-0office"},
			{Protocol: vpc.ProtoICMP, ICMPType: 8, ICMPCode: -1, CIDR: pfx("10.0.0.0/8")},
		},
		Egress: []vpc.SGRule{{Protocol: vpc.AnyProtocol, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: pfx("0.0.0.0/0")}},
	}
	extra := &vpc.SecurityGroup{ID: "sg-0extra", Ingress: []vpc.SGRule{tcpRule(pr(22, 22), "0.0.0.0/0")}}
	r := members{groups: map[string][]netip.Addr{"sg-0alb": {ip("10.0.0.10")}}, lists: map[string][]netip.Prefix{"pl-0office": {pfx("192.0.2.0/24")}}}
	for _, tc := range []struct {
		name      string
		groups    []*vpc.SecurityGroup
		dir       flow.Direction
		p         Packet
		want      string
		untracked bool
	}{
		{"cidr rule", []*vpc.SecurityGroup{web}, flow.Ingress, Packet{Src: ip("203.0.113.1"), Dst: ip("10.0.1.5"), Protocol: 6, DstPort: 22}, "sg sg-0web ingress allows tcp 22 from 203.0.113.1/32", false},
		{"no rule", []*vpc.SecurityGroup{web}, flow.Ingress, Packet{Src: ip("203.0.113.12"), Dst: ip("10.0.1.5"), Protocol: 6, DstPort: 22}, "sg sg-0web: no ingress rule allows tcp/22 from 203.0.113.12", false},
		{"union of groups, most permissive wins", []*vpc.SecurityGroup{web, extra}, flow.Ingress, Packet{Src: ip("203.0.113.1"), Dst: ip("10.0.1.5"), Protocol: 6, DstPort: 22}, "sg sg-0extra ingress allows tcp 22 from 0.0.0.0/0", true},
		{"reject names all groups", []*vpc.SecurityGroup{web, extra}, flow.Ingress, Packet{Src: ip("203.0.113.1"), Dst: ip("10.0.1.5"), Protocol: 17, DstPort: 22}, "sg sg-0web,sg-0extra: no ingress rule allows udp/22 from 203.0.113.1", false},
		{"group reference matches member private IP", []*vpc.SecurityGroup{web}, flow.Ingress, Packet{Src: ip("10.0.0.10"), Dst: ip("10.0.1.5"), Protocol: 6, DstPort: 8080}, "sg sg-0web ingress allows tcp 8080 from sg-0alb", false},
		{"group reference: non-member", []*vpc.SecurityGroup{web}, flow.Ingress, Packet{Src: ip("10.0.0.11"), Dst: ip("10.0.1.5"), Protocol: 6, DstPort: 8080}, "sg sg-0web: no ingress rule allows tcp/8080 from 10.0.0.11", false},
		{"prefix list", []*vpc.SecurityGroup{web}, flow.Ingress, Packet{Src: ip("192.0.2.7"), Dst: ip("10.0.1.5"), Protocol: 6, DstPort: 9050}, "sg sg-0web ingress allows tcp 9000-9100 from pl-0office", false},
		{"icmp echo request", []*vpc.SecurityGroup{web}, flow.Ingress, Packet{Src: ip("10.9.9.9"), Dst: ip("10.0.1.5"), Protocol: 1, ICMPType: 8}, "sg sg-0web ingress allows icmp type 8 code all from 10.0.0.0/8", false},
		{"icmp echo reply not allowed by type 8", []*vpc.SecurityGroup{web}, flow.Ingress, Packet{Src: ip("10.9.9.9"), Dst: ip("10.0.1.5"), Protocol: 1, ICMPType: 0}, "sg sg-0web: no ingress rule allows icmp/0:0 from 10.9.9.9", false},
		{"0.0.0.0/0 both ways: untracked", []*vpc.SecurityGroup{web}, flow.Ingress, Packet{Src: ip("198.51.100.7"), Dst: ip("10.0.1.5"), Protocol: 6, DstPort: 443}, "sg sg-0web ingress allows tcp 443 from 0.0.0.0/0", true},
		{"egress all but ingress not all ports: tracked", []*vpc.SecurityGroup{web}, flow.Egress, Packet{Src: ip("10.0.1.5"), Dst: ip("198.51.100.7"), Protocol: 6, DstPort: 443}, "sg sg-0web egress allows all to 0.0.0.0/0", false},
		{"no groups", nil, flow.Egress, Packet{Src: ip("10.0.1.5"), Dst: ip("198.51.100.7"), Protocol: 6, DstPort: 443}, "sg (none): no egress rule allows tcp/443 to 198.51.100.7", false},
		{"IPv4 rule does not match IPv6", []*vpc.SecurityGroup{web}, flow.Egress, Packet{Src: ip("2001:db8::5"), Dst: ip("2001:db8::7"), Protocol: 6, DstPort: 443}, "sg sg-0web: no egress rule allows tcp/443 to 2001:db8::7", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := EvaluateSecurityGroups(tc.groups, tc.dir, tc.p, r)
			if got := res.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if res.Untracked != tc.untracked {
				t.Errorf("untracked = %v, want %v", res.Untracked, tc.untracked)
			}
		})
	}
}

func TestConntrack(t *testing.T) {
	ct := NewConntrack(Timeouts{})
	t0 := time.Unix(1700000000, 0)
	syn := Packet{Src: ip("10.0.0.5"), Dst: ip("203.0.113.5"), Protocol: 6, SrcPort: 40000, DstPort: 443}
	reply := Packet{Src: syn.Dst, Dst: syn.Src, Protocol: 6, SrcPort: 443, DstPort: 40000}
	c := ct.Track(1, syn, t0)
	ct.Update(c, c.OrigIsA, 0x02, t0.UnixNano())
	if got, ok := ct.Lookup(1, reply, t0.Add(time.Second)); !ok || got != c {
		t.Fatal("reply does not find the connection")
	}
	if _, ok := ct.Lookup(2, reply, t0); ok {
		t.Fatal("zones are separate")
	}
	// New TCP connection: 120 s without a reply.
	if _, ok := ct.Lookup(1, reply, t0.Add(121*time.Second)); ok {
		t.Error("unanswered SYN should expire after 120 s")
	}
	_, srcIsA := KeyOf(1, reply)
	ct.Update(c, srcIsA, 0x12, t0.Add(time.Second).UnixNano())
	if c.State != StateEstablished {
		t.Errorf("state = %v", c.State)
	}
	if _, ok := ct.Lookup(1, syn, t0.Add(400000*time.Second)); !ok {
		t.Error("established TCP should live 432000 s")
	}
	ct.Update(c, c.OrigIsA, 0x01, t0.Add(2*time.Second).UnixNano())
	ct.Update(c, srcIsA, 0x11, t0.Add(3*time.Second).UnixNano())
	if c.State != StateClosed {
		t.Errorf("after FINs state = %v", c.State)
	}
	if _, ok := ct.Lookup(1, syn, t0.Add(9*time.Second)); ok {
		t.Error("closed connection should expire after 5 s")
	}
	// UDP: 30 s, or 180 s once it is a stream.
	dns := Packet{Src: ip("10.0.0.5"), Dst: ip("198.51.100.53"), Protocol: 17, SrcPort: 5353, DstPort: 53}
	u := ct.Track(1, dns, t0)
	ct.Update(u, u.OrigIsA, 0, t0.UnixNano())
	if _, ok := ct.Lookup(1, dns, t0.Add(31*time.Second)); ok {
		t.Error("UDP should expire after 30 s")
	}
	u = ct.Track(1, dns, t0.Add(40*time.Second))
	for i := range 2 {
		at := t0.Add(time.Duration(41+i) * time.Second).UnixNano()
		ct.Update(u, u.OrigIsA, 0, at)
		ct.Update(u, !u.OrigIsA, 0, at)
	}
	if _, ok := ct.Lookup(1, dns, t0.Add(200*time.Second)); !ok {
		t.Error("UDP stream should live 180 s")
	}
	// Other protocols: addresses and protocol only, 600 s.
	gre := Packet{Src: ip("10.0.0.5"), Dst: ip("198.51.100.9"), Protocol: 47}
	g := ct.Track(1, gre, t0)
	if k, _ := KeyOf(1, Packet{Src: gre.Dst, Dst: gre.Src, Protocol: 47, SrcPort: 9, DstPort: 9}); k != g.Key {
		t.Error("ports must not be part of a GRE key")
	}
	if _, ok := ct.Lookup(1, gre, t0.Add(599*time.Second)); !ok {
		t.Error("GRE should live 600 s")
	}
	if n := ct.Expire(t0.Add(1000 * time.Second)); n == 0 || ct.Len() != 0 && ct.Len() > 1 {
		t.Errorf("Expire removed %d, %d left", n, ct.Len())
	}
}

// TestConntrackKeys: the table's packed keys keep apart what ConnKey keeps
// apart (IPv4 and IPv4-mapped IPv6 addresses, IPv6 zones), and a
// connection with a zoned address is tracked, found, expired and flushed
// like any other.
func TestConntrackKeys(t *testing.T) {
	ct := NewConntrack(Timeouts{})
	t0 := time.Unix(1700000000, 0)
	pkts := []Packet{
		{Src: ip("10.0.0.5"), Dst: ip("10.0.0.6"), Protocol: 17, SrcPort: 1000, DstPort: 53},
		{Src: ip("::ffff:10.0.0.5"), Dst: ip("::ffff:10.0.0.6"), Protocol: 17, SrcPort: 1000, DstPort: 53},
		{Src: ip("10.0.0.5"), Dst: ip("::ffff:10.0.0.6"), Protocol: 17, SrcPort: 1000, DstPort: 53},
		{Src: ip("fe80::1"), Dst: ip("fe80::2"), Protocol: 17, SrcPort: 1000, DstPort: 53},
		{Src: ip("fe80::1%eth0"), Dst: ip("fe80::2"), Protocol: 17, SrcPort: 1000, DstPort: 53},
		{Src: ip("fe80::1%eth1"), Dst: ip("fe80::2"), Protocol: 17, SrcPort: 1000, DstPort: 53},
	}
	var conns []*Conn
	for _, p := range pkts {
		conns = append(conns, ct.Track(1, p, t0))
	}
	if ct.Len() != len(pkts) {
		t.Fatalf("%d entries for %d distinct connections", ct.Len(), len(pkts))
	}
	for i, p := range pkts {
		reply := Packet{Src: p.Dst, Dst: p.Src, Protocol: p.Protocol, SrcPort: p.DstPort, DstPort: p.SrcPort}
		if got, ok := ct.Lookup(1, reply, t0); !ok || got != conns[i] {
			t.Errorf("%v: the reply does not find its connection", p)
		}
		if got := ct.Get(1, p); got != conns[i] {
			t.Errorf("%v: Get finds another entry", p)
		}
	}
	n := 0
	ct.Each(func(*Conn) { n++ })
	if n != len(pkts) {
		t.Errorf("Each saw %d entries", n)
	}
	ct.FlushZone(1)
	if ct.Len() != 0 || !conns[4].dead || !conns[0].dead {
		t.Errorf("FlushZone left %d entries", ct.Len())
	}
	for _, p := range pkts {
		ct.Track(2, p, t0)
	}
	if n := ct.Expire(t0.Add(time.Hour)); n != len(pkts) || ct.Len() != 0 {
		t.Errorf("Expire removed %d, %d left", n, ct.Len())
	}
}

func TestDecisionString(t *testing.T) {
	for _, tc := range []struct {
		d    Decision
		want string
	}{
		{Decision{}, "-"},
		{Decision{Verdict: flow.ActionAccept}, "accept"},
		{Decision{Verdict: flow.ActionReject, Layer: LayerNACL, ResourceID: "acl-0abc", Direction: "egress", RuleNumber: 100}, "nacl acl-0abc egress rule 100 deny"},
		{Decision{Verdict: flow.ActionReject, Layer: LayerNAT, ResourceID: "nat-0a", Explanation: "no translation"}, "nat nat-0a: no translation"},
	} {
		if got := tc.d.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// TestDecisionRuleToken: the vpcflow-decision-rule value is one token
// (record lines are space-separated) naming resource, direction and rule.
func TestDecisionRuleToken(t *testing.T) {
	for _, tc := range []struct {
		d    Decision
		want string
	}{
		{Decision{}, "-"},
		{Decision{Verdict: flow.ActionReject, Layer: LayerNACL, ResourceID: "acl-0abc", Direction: "egress", RuleNumber: 100}, "acl-0abc/egress/100"},
		{Decision{Verdict: flow.ActionReject, Layer: LayerNACL, ResourceID: "acl-0abc", Direction: "ingress", RuleNumber: DefaultRuleNumber}, "acl-0abc/ingress/*"},
		{Decision{Verdict: flow.ActionReject, Layer: LayerSG, ResourceID: "sg-0a, sg-0b", Direction: "ingress", Rule: "tcp 22 0.0.0.0/0"}, "sg-0a,sg-0b/ingress/no-rule"},
		{Decision{Verdict: flow.ActionAccept, Layer: LayerSG, ResourceID: "sg-0a", Direction: "ingress", Rule: "tcp 22 0.0.0.0/0"}, "sg-0a/ingress"},
		{Decision{Verdict: flow.ActionReject, Layer: LayerNAT, ResourceID: "nat-0a", Explanation: "no translation"}, "nat-0a"},
	} {
		if got := tc.d.RuleToken(); got != tc.want {
			t.Errorf("%+v.RuleToken() = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func pr(from, to uint16) vpc.PortRange { return vpc.PortRange{From: from, To: to} }
