package dataplane

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"vpcflow/internal/flow"
	"vpcflow/internal/policy"
	"vpcflow/internal/vpc"
)

// maxHops bounds a path: source egress, NAT ingress, NAT egress, destination
// ingress (plus one spare for hairpins).
const maxHops = 6

// flowKey identifies a directional flow in the path cache. It is 40 bytes
// of plain memory (addresses as 16 bytes, IPv4 mapped, no padding), so the
// map hashes and compares it with memhash/memequal instead of field by
// field (netip.Addr holds a pointer). The padding is a named field: a
// blank one would make the compiler generate field-wise hash and equality.
// It has no IPv6 zone (see resolve).
type flowKey struct {
	src, dst     [16]byte
	sport, dport uint16
	icmp         uint16
	proto        uint8
	pad          uint8 // always zero
}

// zoned reports whether an address of p has an IPv6 zone.
func zoned(p *Packet) bool { return p.Src.Zone() != "" || p.Dst.Zone() != "" }

func keyOf(p *Packet) flowKey {
	k := flowKey{src: p.Src.As16(), dst: p.Dst.As16(), sport: p.SrcPort, dport: p.DstPort, proto: p.Protocol}
	if p.Protocol == vpc.ProtoICMP || p.Protocol == vpc.ProtoICMPv6 {
		k.icmp = uint16(p.ICMPType)<<8 | uint16(p.ICMPCode)
	}
	return k
}

// hop is one interface and direction on a packet's path, with the checks
// compiled for the current topology generation. It is kept small (112
// bytes): a cached path is made for every flow and direction.
type hop struct {
	ifc              *iface
	dir              flow.Direction
	trafficPath      uint8
	naclCheck        bool
	ctSrcIsA         bool
	srcPort, dstPort uint16
	slot             uint32 // Observation.Slot
	pktSrc, pktDst   netip.Addr
	// svc names the AWS services of pktSrc and pktDst; nil when neither
	// is one (shared, see Dataplane.svcPair).
	svc *[2]string

	nacl    *policy.Decision // nil: not crossing a subnet boundary
	sg      *policy.SGResult // nil: no security groups (NAT gateway); sgPending: not evaluated yet
	tracked *policy.Decision // the decision for packets of a tracked connection
	conn    *policy.Conn

	// fixed, when set, is returned after the inbound NACL (a NAT gateway
	// with no translation for the packet).
	fixed *policy.Decision
}

// addrs returns srcaddr and dstaddr (spec §1.4): the interface side is
// the interface's primary private IPv4 (IPv6 packets keep their IPv6
// addresses).
func (h *hop) addrs() (src, dst netip.Addr) {
	src, dst = h.pktSrc, h.pktDst
	if src.Is4() {
		if h.dir == flow.Egress {
			src = h.ifc.eni.PrimaryIP
		} else {
			dst = h.ifc.eni.PrimaryIP
		}
	}
	return src, dst
}

// services returns pkt-src-aws-service and pkt-dst-aws-service ("" for
// none).
func (h *hop) services() (src, dst string) {
	if h.svc == nil {
		return "", ""
	}
	return h.svc[0], h.svc[1]
}

// flowEntry is the cached path of a directional flow.
type flowEntry struct {
	gen       uint64
	hops      []hop
	inline    [2]hop // backing of hops for the usual one or two hops
	result    *Result
	last      int64
	nat       *natMapping
	natIdle   int64
	cacheable bool
	// epoch changes when the entry leaves the path cache, so that a
	// FlowHint to it no longer matches (entries are reused).
	epoch uint32
	// notes say what happens after each hop (route, translation); set
	// only when tracing.
	notes *[maxHops]string
}

// note sets the note of the last hop added; call it only when tracing
// (its arguments cost).
func (d *Dataplane) note(fe *flowEntry, format string, args ...any) {
	if fe.notes == nil {
		fe.notes = new([maxHops]string)
	}
	fe.notes[len(fe.hops)-1] = fmt.Sprintf(format, args...)
}

func (fe *flowEntry) valid(now int64) bool {
	return fe.nat == nil || (!fe.nat.dead && now-fe.nat.last <= fe.natIdle)
}

// natKey identifies a NAT translation in one direction.
type natKey struct {
	zone  uint32
	proto uint8
	aPort uint16
	bPort uint16
	a, b  netip.Addr
}

type natMapping struct {
	inKey      natKey
	inside     netip.Addr
	insidePort uint16
	natPort    uint16
	last       int64
	dead       bool
}

// addHop appends a hop; pkt-* are the packet's addresses at this point
// (see hop.addrs for srcaddr and dstaddr).
func (d *Dataplane) addHop(fe *flowEntry, p *Packet, s *iface, dir flow.Direction, src, dst netip.Addr, sport, dport uint16) *hop {
	fe.hops = append(fe.hops, hop{})
	h := &fe.hops[len(fe.hops)-1]
	*h = hop{ifc: s, dir: dir, pktSrc: src, pktDst: dst, srcPort: sport, dstPort: dport}
	if svc := d.topo.Services; svc != nil {
		h.svc = d.svcPair(svc.Lookup(src), svc.Lookup(dst))
	}
	if p.Protocol == vpc.ProtoICMP || p.Protocol == vpc.ProtoICMPv6 {
		h.srcPort, h.dstPort = 0, 0
	}
	return h
}

// ctPacket is the packet as this hop's connection tracking sees it.
func (h *hop) ctPacket(p *Packet) policy.Packet {
	return policy.Packet{Src: h.pktSrc, Dst: h.pktDst, Protocol: p.Protocol, SrcPort: h.srcPort, DstPort: h.dstPort,
		ICMPType: p.ICMPType, ICMPCode: p.ICMPCode}
}

// compile evaluates the hop's NACL and SG rules for the current generation.
func (d *Dataplane) compile(h *hop, p *Packet) {
	pp := h.ctPacket(p)
	if h.naclCheck {
		if acl := d.topo.NetworkACL(h.ifc.subnet.NetworkACLID); acl != nil {
			h.nacl = d.naclDecision(acl, h.dir, pp)
		}
	}
	if ids := h.ifc.eni.SecurityGroupIDs; len(ids) > 0 {
		// The rules are evaluated on the first packet no tracked
		// connection admits (evaluateSG): most reply directions never
		// need them.
		h.sg = sgPending
		h.tracked = h.ifc.trackedDecision(h.dir, ids)
	}
	_, h.ctSrcIsA = policy.KeyOf(h.ifc.zone, pp)
}

// naclKey identifies a network ACL decision: the deciding entry of one
// direction of an ACL (-1: the default deny) and the address family.
type naclKey struct {
	acl   *vpc.NetworkACL
	dir   flow.Direction
	entry int
	v6    bool
}

// naclDecision is the shared decision of acl for p in dir. Decisions are
// found by their deciding entry: interning them by value hashed their
// strings for every new path (2 % of a simulated day). The table is
// emptied when the topology changes (entries may change in place).
func (d *Dataplane) naclDecision(acl *vpc.NetworkACL, dir flow.Direction, p policy.Packet) *policy.Decision {
	k := naclKey{acl, dir, policy.MatchNetworkACL(acl, dir, p), p.Src.Is6()}
	if dec := d.naclDecs[k]; dec != nil {
		return dec
	}
	dec := d.internDecision(policy.NetworkACLDecision(acl, dir, k.entry, k.v6))
	if len(d.naclDecs) < maxInterned {
		d.naclDecs[k] = dec
	}
	return dec
}

// sgPending marks a hop whose security groups are not evaluated yet.
var sgPending = new(policy.SGResult)

// evaluateSG evaluates the hop's security groups for its flow. The result
// is the same whenever it is computed within a topology generation.
func (d *Dataplane) evaluateSG(h *hop, p *Packet) {
	ids := h.ifc.eni.SecurityGroupIDs
	var buf [5]*vpc.SecurityGroup // AWS's default limit of groups per ENI
	groups := buf[:0]
	for _, id := range ids {
		if g := d.topo.SecurityGroup(id); g != nil {
			groups = append(groups, g)
		}
	}
	h.sg = d.internSG(policy.EvaluateSecurityGroups(groups, h.dir, h.ctPacket(p), d.topo))
}

// maxInterned bounds the tables of shared decisions.
const maxInterned = 1 << 16

// intern returns m's shared copy of v, adding one while keep holds and m
// is below maxInterned. The copy is made only on a miss: taking &v would
// move v to the heap on every call, hits included.
func intern[T comparable](m map[T]*T, v T, keep bool) *T {
	if x := m[v]; x != nil {
		return x
	}
	x := new(T)
	*x = v
	if keep && len(m) < maxInterned {
		m[v] = x
	}
	return x
}

// internDecision shares equal decisions between flows: fewer bytes per flow
// and hot cache lines on the per-packet path. REJECTs of security groups
// name the peer, so they are mostly unique; they are not interned.
func (d *Dataplane) internDecision(dec policy.Decision) *policy.Decision {
	return intern(d.decisions, dec, true)
}

// internSG shares the ACCEPT results of security group evaluations.
func (d *Dataplane) internSG(res policy.SGResult) *policy.SGResult {
	return intern(d.sgResults, res, res.Verdict == flow.ActionAccept)
}

// svcPair shares the service names of hops: nil when neither address is
// an AWS service's.
func (d *Dataplane) svcPair(src, dst string) *[2]string {
	if src == "" && dst == "" {
		return nil
	}
	return intern(d.svcs, [2]string{src, dst}, true)
}

// Results are never modified once set: flows with the same outcome share
// one, which saves building its Detail for every new flow.

type outViaKey struct {
	kind   vpc.TargetKind
	target string
}

func (d *Dataplane) leftVia(kind vpc.TargetKind, target string) *Result {
	k := outViaKey{kind, target}
	if r := d.outVia[k]; r != nil {
		return r
	}
	r := &Result{Delivered: true, Reason: ReasonLeftVPC, Detail: fmt.Sprintf("out via %s %s", kind, target)}
	if len(d.outVia) < maxInterned {
		d.outVia[k] = r
	}
	return r
}

// igwInKey identifies the result of flows the internet gateway maps from
// a public address to a private one of an interface.
type igwInKey struct {
	public, private netip.Addr
	eni             string
}

// mappedIn is the shared result of flows delivered through the internet
// gateway's one-to-one mapping (its Detail cost a Sprintf per new flow).
func (d *Dataplane) mappedIn(public, private netip.Addr, eni string) *Result {
	k := igwInKey{public, private, eni}
	if r := d.igwIn[k]; r != nil {
		return r
	}
	r := &Result{Delivered: true, Reason: ReasonDelivered, Detail: fmt.Sprintf("internet gateway maps %s to %s on %s", public, private, eni)}
	if len(d.igwIn) < maxInterned {
		d.igwIn[k] = r
	}
	return r
}

// deliveredTo is the result shared by the flows delivered to interface s
// (id) from inside the VPC.
func deliveredTo(s *iface, id string) *Result {
	if s != nil && s.delivered != nil && s.deliveredID == id {
		return s.delivered
	}
	r := &Result{Delivered: true, Reason: ReasonDelivered, Detail: "delivered to " + id}
	if s != nil {
		s.delivered, s.deliveredID = r, id
	}
	return r
}

// igwOutKey identifies the Detail of flows that leave through an internet
// gateway with a public address.
type igwOutKey struct {
	target string
	public netip.Addr
}

// leftAs returns the Detail of flows leaving by target as public, shared
// by them (a Sprintf per new flow was 1.5 % of a simulated day).
func (d *Dataplane) leftAs(target string, public netip.Addr) string {
	k := igwOutKey{target, public}
	if s, ok := d.igwOut[k]; ok {
		return s
	}
	s := "to the internet via " + target + " as " + public.String()
	if len(d.igwOut) < maxInterned {
		d.igwOut[k] = s
	}
	return s
}

func deliveredFromOutside(s *iface, id string) *Result {
	if s != nil && s.fromOutside != nil && s.fromOutsideID == id {
		return s.fromOutside
	}
	r := &Result{Delivered: true, Reason: ReasonDelivered, Detail: "delivered to " + id + " from outside the VPC"}
	if s != nil {
		s.fromOutside, s.fromOutsideID = r, id
	}
	return r
}

// trackedDecision is shared by all hops of an interface and direction.
func (s *iface) trackedDecision(dir flow.Direction, ids []string) *policy.Decision {
	key := strings.Join(ids, ",")
	if t := s.tracked[dir]; t != nil && t.ResourceID == key {
		return t
	}
	t := &policy.Decision{Verdict: flow.ActionAccept, Layer: policy.LayerSG, ResourceID: key,
		Direction: dir.String(), Tracked: true,
		Explanation: "tracked connection: " + dir.String() + " allowed as part of an existing connection"}
	s.tracked[dir] = t
	return t
}

func trafficPath(kind vpc.TargetKind, nitro, crossRegion bool) uint8 {
	switch kind {
	case vpc.TargetInternetGateway:
		if nitro {
			return 8
		}
		return 2
	case vpc.TargetGatewayEndpoint:
		if nitro {
			return 7
		}
		return 2
	case vpc.TargetVPNGateway:
		return 3
	case vpc.TargetPeering:
		if crossRegion {
			return 5
		}
		return 4
	}
	return 1
}

// exempt are the link-local service addresses whose traffic AWS neither
// filters nor logs: instance metadata, Time Sync, Amazon DNS, Windows
// license activation (spec §4).
var exempt = map[netip.Addr]bool{
	netip.MustParseAddr("169.254.169.254"): true,
	netip.MustParseAddr("169.254.169.123"): true,
	netip.MustParseAddr("169.254.169.253"): true,
	netip.MustParseAddr("169.254.169.250"): true,
	netip.MustParseAddr("169.254.169.251"): true,
	netip.MustParseAddr("fd00:ec2::254"):   true,
	netip.MustParseAddr("fd00:ec2::123"):   true,
	netip.MustParseAddr("fd00:ec2::253"):   true,
}

// notLogged reports traffic AWS does not capture (spec §4).
func (d *Dataplane) notLogged(p *Packet, src, dst *vpc.Interface) string {
	if exempt[p.Src] || exempt[p.Dst] {
		return "link-local AWS service (metadata, time sync, DNS or license activation)"
	}
	if p.Protocol == vpc.ProtoUDP && (p.DstPort == 67 || p.DstPort == 68) && (p.SrcPort == 67 || p.SrcPort == 68) {
		return "DHCP"
	}
	for _, e := range [2]*vpc.Interface{src, dst} {
		if e == nil {
			continue
		}
		if v := d.topo.VPC(e.VPCID); v != nil {
			if dns := v.DNSAddr(); p.Dst == dns || p.Src == dns {
				return "Amazon DNS server (VPC+2)"
			}
		}
		// Every subnet's +1 address is the VPC router, not only the
		// interface's own subnet's.
		if s := d.state[e.ID]; s != nil {
			_, toRouter := s.routers[p.Dst]
			_, fromRouter := s.routers[p.Src]
			if toRouter || fromRouter {
				return "reserved VPC router address"
			}
		}
	}
	if src != nil && dst != nil {
		if (src.Type == "vpc_endpoint" && dst.Type == "network_load_balancer") || (src.Type == "network_load_balancer" && dst.Type == "vpc_endpoint") {
			return "between an endpoint interface and a Network Load Balancer interface"
		}
	}
	return ""
}

// resolve computes the path of a new flow (or of a flow whose topology
// generation changed). It may allocate.
func (d *Dataplane) resolve(p *Packet, fe *flowEntry, now int64) *flowEntry {
	if fe == nil {
		if n := len(d.spare); n > 0 {
			fe, d.spare[n-1] = d.spare[n-1], nil
			d.spare = d.spare[:n-1]
		} else {
			fe = &flowEntry{}
		}
	}
	// The cache's key has no room for IPv6 zones: a path of a packet with
	// a zoned address (never in a capture; typed by hand at most) is not
	// kept, and such packets are resolved every time.
	*fe = flowEntry{gen: d.gen, cacheable: !zoned(p), natIdle: int64(d.opts.NATIdleTimeout), last: now, epoch: fe.epoch}
	fe.hops = fe.inline[:0:2]
	src := d.topo.InterfaceByPrivateIP(p.Src)
	dst := d.topo.InterfaceByPrivateIP(p.Dst)
	if why := d.notLogged(p, src, dst); why != "" {
		fe.result = &Result{Delivered: true, Reason: ReasonNotLogged, Detail: why}
		return fe
	}
	if src != nil {
		d.fromInterface(fe, p, d.state[src.ID], now)
	} else {
		d.fromOutside(fe, p, now)
	}
	for i := range fe.hops {
		d.compile(&fe.hops[i], p)
	}
	return fe
}

func (d *Dataplane) fromInterface(fe *flowEntry, p *Packet, s *iface, now int64) {
	rt := d.topo.RouteTable(s.subnet.RouteTableID)
	if rt == nil {
		d.noRoute(fe, p, s, "subnet "+s.subnet.ID+" has no route table")
		return
	}
	route, ok := d.topo.LookupRoute(rt, p.Dst)
	if !ok || route.Kind == vpc.TargetBlackhole {
		detail := fmt.Sprintf("no route to %s in %s", p.Dst, rt.ID)
		if ok {
			detail = fmt.Sprintf("blackhole route %s in %s", routeDest(route), rt.ID)
		}
		d.noRoute(fe, p, s, detail)
		return
	}
	eg := d.addHop(fe, p, s, flow.Egress, p.Src, p.Dst, p.SrcPort, p.DstPort)
	if d.tracing {
		d.note(fe, "route %s: %s -> %s", rt.ID, routeDest(route), route.TargetID)
	}
	crossRegion := false
	if route.Kind == vpc.TargetPeering {
		if pc := d.topo.Peering(route.TargetID); pc != nil {
			crossRegion = pc.CrossRegion
		}
	}
	eg.trafficPath = trafficPath(route.Kind, s.eni.Nitro, crossRegion)
	eg.naclCheck = true

	switch route.Kind {
	case vpc.TargetLocal:
		dst := d.topo.InterfaceByPrivateIP(p.Dst)
		if dst == nil {
			eg.naclCheck = d.topo.SubnetOf(p.Dst) != s.subnet
			fe.result = &Result{Reason: ReasonNoHost, Detail: fmt.Sprintf("no interface has address %s", p.Dst)}
			return
		}
		ds := d.state[dst.ID]
		eg.naclCheck = ds.subnet != s.subnet
		in := d.addHop(fe, p, ds, flow.Ingress, p.Src, p.Dst, p.SrcPort, p.DstPort)
		in.naclCheck = eg.naclCheck
		fe.result = deliveredTo(ds, dst.ID)
	case vpc.TargetInterface:
		ts := d.state[route.TargetID]
		if ts == nil {
			fe.result = &Result{Reason: ReasonNoRoute, Detail: "route target " + route.TargetID + " is not an interface"}
			return
		}
		eg.naclCheck = ts.subnet != s.subnet
		in := d.addHop(fe, p, ts, flow.Ingress, p.Src, p.Dst, p.SrcPort, p.DstPort)
		in.naclCheck = eg.naclCheck
		fe.result = &Result{Delivered: true, Reason: ReasonDelivered, Detail: "delivered to middlebox " + ts.eni.ID}
	case vpc.TargetNATGateway:
		nat := d.topo.NATGateway(route.TargetID)
		ns := d.state[nat.InterfaceID]
		eg.naclCheck = ns.subnet != s.subnet
		d.viaNAT(fe, p, ns, nat, eg.naclCheck, now)
	case vpc.TargetInternetGateway:
		pub, ok := publicOf(s.eni, p.Src)
		if p.Src.Is6() {
			pub, ok = p.Src, true // IPv6 addresses are public as they are
		}
		if !ok {
			fe.result = &Result{Reason: ReasonNoPublicIP, Detail: fmt.Sprintf("%s has no public IP; the internet gateway drops it", p.Src)}
			return
		}
		if _, inTopo := d.topo.PublicAddress(p.Dst); inTopo && len(fe.hops) < maxHops-3 {
			q := *p
			q.Src = pub
			d.fromOutside(fe, &q, now)
			return
		}
		fe.result = &Result{Delivered: true, Reason: ReasonLeftVPC, Detail: d.leftAs(route.TargetID, pub),
			PublicSrc: netip.AddrPortFrom(pub, p.SrcPort)}
	case vpc.TargetPeering:
		pc := d.topo.Peering(route.TargetID)
		peer := ""
		if pc != nil {
			peer = pc.Peer(s.eni.VPCID)
		}
		if dst := d.topo.InterfaceByPrivateIP(p.Dst); dst != nil && dst.VPCID == peer {
			in := d.addHop(fe, p, d.state[dst.ID], flow.Ingress, p.Src, p.Dst, p.SrcPort, p.DstPort)
			in.naclCheck = true
			fe.result = &Result{Delivered: true, Reason: ReasonDelivered, Detail: "delivered to " + dst.ID + " via " + route.TargetID}
			return
		}
		fe.result = &Result{Delivered: true, Reason: ReasonLeftVPC, Detail: "to peer VPC via " + route.TargetID}
	default:
		fe.result = d.leftVia(route.Kind, route.TargetID)
	}
}

func routeDest(r vpc.Route) string {
	if r.PrefixListID != "" {
		return r.PrefixListID
	}
	return r.Destination.String()
}

func publicOf(e *vpc.Interface, private netip.Addr) (netip.Addr, bool) {
	for _, pa := range e.PublicIPs {
		if pa.Private == private {
			return pa.Public, true
		}
	}
	return netip.Addr{}, false
}

// viaNAT sends a packet from a private subnet through a NAT gateway: the
// NAT interface sees it inbound (dstaddr = NAT private IP, pkt-dstaddr = the
// real destination), translates the source, and sends it out.
func (d *Dataplane) viaNAT(fe *flowEntry, p *Packet, ns *iface, nat *vpc.NATGateway, crossed bool, now int64) {
	in := d.addHop(fe, p, ns, flow.Ingress, p.Src, p.Dst, p.SrcPort, p.DstPort)
	in.naclCheck = crossed
	m := d.natOut(ns, nat, p, now)
	fe.nat = m
	route, ok := d.subnetRoute(ns, p.Dst)
	if !ok || route.Kind == vpc.TargetBlackhole || route.Kind == vpc.TargetNATGateway {
		fe.result = &Result{Reason: ReasonNoRoute, Detail: fmt.Sprintf("NAT gateway %s has no route to %s", nat.ID, p.Dst)}
		return
	}
	if d.tracing {
		d.note(fe, "nat %s: translate source %s:%d -> %s:%d; route %s: %s -> %s", nat.ID, p.Src, p.SrcPort, nat.PrivateIP, m.natPort, ns.subnet.RouteTableID, routeDest(route), route.TargetID)
	}
	out := d.addHop(fe, p, ns, flow.Egress, nat.PrivateIP, p.Dst, m.natPort, p.DstPort)
	out.trafficPath = trafficPath(route.Kind, ns.eni.Nitro, false)
	out.naclCheck = true
	switch route.Kind {
	case vpc.TargetInternetGateway:
		if nat.Connectivity == "private" || !nat.PublicIP.IsValid() {
			fe.result = &Result{Reason: ReasonNoPublicIP, Detail: "private NAT gateway " + nat.ID + " cannot reach the internet"}
			return
		}
		// To a public address of the topology itself: the internet
		// gateway hands it back in, from the NAT gateway's Elastic IP
		// (which no security group reference matches, spec §8.2).
		if _, inTopo := d.topo.PublicAddress(p.Dst); inTopo && len(fe.hops)+3 <= maxHops { // coming in takes up to 3 hops
			q := *p
			q.Src, q.SrcPort = nat.PublicIP, m.natPort
			if p.Protocol != vpc.ProtoTCP && p.Protocol != vpc.ProtoUDP {
				q.SrcPort = p.SrcPort
			}
			d.fromOutside(fe, &q, now)
			return
		}
		fe.result = &Result{Delivered: true, Reason: ReasonLeftVPC, Detail: fmt.Sprintf("to the internet via %s as %s:%d", route.TargetID, nat.PublicIP, m.natPort),
			PublicSrc: netip.AddrPortFrom(nat.PublicIP, m.natPort)}
	case vpc.TargetLocal:
		dst := d.topo.InterfaceByPrivateIP(p.Dst)
		if dst == nil {
			fe.result = &Result{Reason: ReasonNoHost, Detail: fmt.Sprintf("no interface has address %s", p.Dst)}
			return
		}
		ds := d.state[dst.ID]
		out.naclCheck = ds.subnet != ns.subnet
		h := d.addHop(fe, p, ds, flow.Ingress, nat.PrivateIP, p.Dst, m.natPort, p.DstPort)
		h.naclCheck = out.naclCheck
		fe.result = deliveredTo(ds, dst.ID)
	default:
		fe.result = d.leftVia(route.Kind, route.TargetID)
	}
}

// natOut returns (creating) the translation of an outbound flow.
func (d *Dataplane) natOut(ns *iface, nat *vpc.NATGateway, p *Packet, now int64) *natMapping {
	sport, dport := p.SrcPort, p.DstPort
	if p.Protocol != vpc.ProtoTCP && p.Protocol != vpc.ProtoUDP {
		sport, dport = 0, 0
	}
	ok := natKey{zone: ns.zone, proto: p.Protocol, a: p.Src, aPort: sport, b: p.Dst, bPort: dport}
	if m := d.nat[ok]; m != nil && !m.dead && now-m.last <= int64(d.opts.NATIdleTimeout) {
		return m
	} else if m != nil {
		m.dead = true
		delete(d.natIn, m.inKey)
	}
	ik := natKey{zone: ns.zone, proto: p.Protocol, a: p.Dst, aPort: dport, b: nat.PrivateIP}
	port := sport
	if sport != 0 {
		// Keep the source port when free, else take the next free one in
		// 1024-65535 (the NAT gateway's ephemeral range).
		for tries := 0; tries < 64512; tries++ {
			ik.bPort = port
			if m := d.natIn[ik]; m == nil || m.dead || now-m.last > int64(d.opts.NATIdleTimeout) {
				break
			}
			port++
			if port < 1024 {
				port = 1024
			}
		}
	}
	ik.bPort = port
	m := &natMapping{inKey: ik, inside: p.Src, insidePort: sport, natPort: port, last: now}
	d.nat[ok] = m
	d.natIn[ik] = m
	return m
}

// fromOutside handles packets from outside the modelled VPCs: the internet
// (to a public or Elastic IP, through the internet gateway), or a private
// address reached over VPN / peering / transit gateway.
func (d *Dataplane) fromOutside(fe *flowEntry, p *Packet, now int64) {
	if pub, ok := d.topo.PublicAddress(p.Dst); ok {
		s := d.state[pub.Interface.ID]
		if d.topo.InternetGatewayOf(s.eni.VPCID) == nil {
			fe.result = &Result{Reason: ReasonNoRoute, Detail: "VPC " + s.eni.VPCID + " has no internet gateway"}
			return
		}
		if s.nat != nil {
			d.intoNAT(fe, p, s, now)
			return
		}
		in := d.addHop(fe, p, s, flow.Ingress, p.Src, pub.Private, p.SrcPort, p.DstPort)
		in.naclCheck = true
		fe.result = d.mappedIn(p.Dst, pub.Private, s.eni.ID)
		return
	}
	if dst := d.topo.InterfaceByPrivateIP(p.Dst); dst != nil {
		if why := d.noWayIn(p.Src, dst); why != "" {
			fe.result = &Result{Reason: ReasonNoRoute, Detail: why}
			return
		}
		if d.replyViaNAT(fe, p, dst, now) {
			return
		}
		in := d.addHop(fe, p, d.state[dst.ID], flow.Ingress, p.Src, p.Dst, p.SrcPort, p.DstPort)
		in.naclCheck = true
		fe.result = deliveredFromOutside(in.ifc, dst.ID)
		return
	}
	fe.result = &Result{Reason: ReasonUnknownSource, Detail: fmt.Sprintf("neither %s nor %s belongs to the topology", p.Src, p.Dst)}
}

// subnetRoute looks a up in the route table of s's subnet: false when
// the subnet has no table or no route matches.
func (d *Dataplane) subnetRoute(s *iface, a netip.Addr) (vpc.Route, bool) {
	rt := d.topo.RouteTable(s.subnet.RouteTableID)
	if rt == nil {
		return vpc.Route{}, false
	}
	return d.topo.LookupRoute(rt, a)
}

// noRoute handles a packet its subnet cannot route: it leaves the
// interface (the security group and network ACL judge it, and the
// interface logs it, ACCEPT when they allow it) and the VPC router drops
// it after. Flow logs do not look at route tables: "ACCEPT, yet nothing
// gets through" is how a missing route shows (seed 001, example 3).
func (d *Dataplane) noRoute(fe *flowEntry, p *Packet, s *iface, detail string) {
	eg := d.addHop(fe, p, s, flow.Egress, p.Src, p.Dst, p.SrcPort, p.DstPort)
	eg.naclCheck = true
	fe.result = &Result{Reason: ReasonNoRoute, Detail: detail}
}

// replyViaNAT handles a packet from outside to a private address that is
// the reply of a flow a NAT gateway translated, as a capture taken on the
// instance shows it (after the translation back): it is replayed as the
// NAT gateway received it, to its Elastic IP and translated port, so that
// the NAT interface's records are there as AWS writes them. It reports
// false when dst's subnet does not route the source to a NAT gateway or
// no live translation matches (the packet then goes straight to dst).
func (d *Dataplane) replyViaNAT(fe *flowEntry, p *Packet, dst *vpc.Interface, now int64) bool {
	s := d.state[dst.ID]
	if s == nil {
		return false
	}
	r, ok := d.subnetRoute(s, p.Src)
	if !ok || r.Kind != vpc.TargetNATGateway {
		return false
	}
	nat := d.topo.NATGateway(r.TargetID)
	if nat == nil || !nat.PublicIP.IsValid() {
		return false
	}
	ns := d.state[nat.InterfaceID]
	if ns == nil {
		return false
	}
	sport, dport := p.SrcPort, p.DstPort
	if p.Protocol != vpc.ProtoTCP && p.Protocol != vpc.ProtoUDP {
		sport, dport = 0, 0
	}
	m := d.nat[natKey{zone: ns.zone, proto: p.Protocol, a: p.Dst, aPort: dport, b: p.Src, bPort: sport}]
	if m == nil || m.dead || now-m.last > int64(d.opts.NATIdleTimeout) {
		return false
	}
	seen := *p
	seen.Dst = nat.PublicIP
	if p.Protocol == vpc.ProtoTCP || p.Protocol == vpc.ProtoUDP {
		seen.DstPort = m.natPort
	}
	if d.tracing {
		d.note(fe, "reply of a flow %s translated: replayed as it reached %s:%d", nat.ID, seen.Dst, seen.DstPort)
	}
	d.intoNAT(fe, &seen, ns, now)
	return true
}

// noWayIn says why a packet from src, an address of no interface, cannot
// reach dst's private address, or "" when something could carry it in: a
// virtual private gateway or transit gateway attached to the VPC, a
// gateway endpoint or NAT gateway the subnet routes src to (the replies
// of what went out through it, as a capture taken on the instance shows
// them, after translation), a source inside a modelled VPC (a host the
// topology does not list), an internet gateway when dst has a public IP
// (translated too), or a Network Load Balancer in the VPC (it keeps the
// client's address). An internet gateway forwards nothing else: AWS drops
// such a packet before any interface, so it gets no record (spec §4).
func (d *Dataplane) noWayIn(src netip.Addr, dst *vpc.Interface) string {
	if d.topo.VPCOf(src) != nil {
		return ""
	}
	for _, g := range d.topo.Gateways {
		if (g.Kind == vpc.TargetVPNGateway || g.Kind == vpc.TargetTransitGateway) && slices.Contains(g.VPCIDs, dst.VPCID) {
			return ""
		}
	}
	if s := d.state[dst.ID]; s != nil {
		if r, ok := d.subnetRoute(s, src); ok && (r.Kind == vpc.TargetGatewayEndpoint || r.Kind == vpc.TargetNATGateway) {
			return ""
		}
	}
	if len(dst.PublicIPs) > 0 && d.topo.InternetGatewayOf(dst.VPCID) != nil {
		return ""
	}
	for _, e := range d.topo.InterfacesInVPC(dst.VPCID) {
		if e.Type == "network_load_balancer" {
			return ""
		}
	}
	return fmt.Sprintf("nothing carries %s to the private address %s: no VPN or transit gateway is attached to %s, and an internet gateway forwards only to public IPs",
		src, dst.PrimaryIP, dst.VPCID)
}

// intoNAT handles a packet from the internet to a NAT gateway's Elastic IP:
// the reply of a translated flow goes back to the inside host; anything
// else is dropped by the NAT gateway.
func (d *Dataplane) intoNAT(fe *flowEntry, p *Packet, ns *iface, now int64) {
	nat := ns.nat
	in := d.addHop(fe, p, ns, flow.Ingress, p.Src, nat.PrivateIP, p.SrcPort, p.DstPort)
	in.naclCheck = true
	sport, dport := p.SrcPort, p.DstPort
	if p.Protocol != vpc.ProtoTCP && p.Protocol != vpc.ProtoUDP {
		sport, dport = 0, 0
	}
	m := d.natIn[natKey{zone: ns.zone, proto: p.Protocol, a: p.Src, aPort: sport, b: nat.PrivateIP, bPort: dport}]
	if m == nil || m.dead || now-m.last > int64(d.opts.NATIdleTimeout) {
		in.fixed = &policy.Decision{Verdict: flow.ActionReject, Layer: policy.LayerNAT, ResourceID: nat.ID, Direction: "ingress",
			Explanation: fmt.Sprintf("no translation for %s from %s to %s:%d (unsolicited inbound traffic is dropped)",
				vpc.ProtocolName(int16(p.Protocol)), p.Src, p.Dst, p.DstPort)}
		fe.cacheable = false
		fe.result = &Result{Reason: ReasonRejected, Decision: *in.fixed, Detail: in.fixed.String()}
		return
	}
	fe.nat = m
	insidePort := m.insidePort
	if p.Protocol != vpc.ProtoTCP && p.Protocol != vpc.ProtoUDP {
		insidePort = p.DstPort
	}
	if d.tracing {
		d.note(fe, "nat %s: translate destination %s:%d -> %s:%d", nat.ID, nat.PublicIP, p.DstPort, m.inside, insidePort)
	}
	dst := d.topo.InterfaceByPrivateIP(m.inside)
	out := d.addHop(fe, p, ns, flow.Egress, p.Src, m.inside, p.SrcPort, insidePort)
	out.trafficPath = 1
	out.naclCheck = dst == nil || d.state[dst.ID].subnet != ns.subnet
	if dst == nil {
		fe.result = &Result{Reason: ReasonNoHost, Detail: fmt.Sprintf("no interface has address %s", m.inside)}
		return
	}
	h := d.addHop(fe, p, d.state[dst.ID], flow.Ingress, p.Src, m.inside, p.SrcPort, insidePort)
	h.naclCheck = out.naclCheck
	fe.result = &Result{Delivered: true, Reason: ReasonDelivered, Detail: "NAT reply delivered to " + dst.ID}
}
