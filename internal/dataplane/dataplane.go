// Package dataplane moves packets through a vpc.Topology the way the AWS
// network does: routing (longest prefix), security groups with connection
// tracking, network ACLs at subnet boundaries, NAT gateway translation and
// internet gateway address mapping. For every packet it emits one
// Observation per interface and direction that sees it, with the verdict and
// the rule that decided — the raw material of flow log records.
package dataplane

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"vpcflow/internal/flow"
	"vpcflow/internal/policy"
	"vpcflow/internal/vpc"
)

// Packet is one IP packet (or Count identical ones) offered to the dataplane.
type Packet struct {
	Time             time.Time
	Src, Dst         netip.Addr
	Protocol         uint8  // IANA number
	SrcPort, DstPort uint16 // 0 for ICMP (AWS logs ICMP as ports 0 0)
	Size             int    // IP total length in bytes (what AWS counts in `bytes`)
	TCPFlags         uint8  // raw TCP flags byte
	Count            int    // packets this stands for (0 means 1)
	// Bytes, when not zero, is the IP bytes of all Count packets, for a
	// train whose packets differ in size (full segments and a partial
	// one); zero means Count × Size.
	Bytes int64
	// ICMPType and ICMPCode are used for ICMP/ICMPv6 rule matching (for
	// example type 8 echo request, 0 echo reply); they are not logged.
	ICMPType, ICMPCode uint8
	// Hint, when not nil, remembers the flow's cached path between calls
	// (see FlowHint).
	Hint *FlowHint
	// Span, when not zero, says the Count packets were sent over
	// [Time-Span, Time] rather than all at Time: a sender that coalesced a
	// flow's packets (see Result.Steady). Time is the last packet's.
	Span time.Duration
}

// Packets returns Count, at least 1.
func (p *Packet) Packets() int { return max(p.Count, 1) }

// TotalBytes returns the IP bytes of all the packets.
func (p *Packet) TotalBytes() int64 {
	if p.Bytes != 0 {
		return p.Bytes
	}
	return int64(p.Packets()) * int64(p.Size)
}

// packets returns Count, at least 1, and the bytes of the train.
func (p *Packet) packets() (n, bytes int64) { return int64(p.Packets()), p.TotalBytes() }

// FlowHint lets a sender that keeps state per flow and direction (a
// simulated conversation) skip the path-cache lookup of every packet:
// Process stores the flow's cached path in it and takes it back on the
// next packet when it still is the cached path of the packet's key. A
// stale or foreign hint (another flow's, another dataplane's) only costs
// the lookup. The zero value is empty.
type FlowHint struct {
	key   flowKey
	dp    *Dataplane
	fe    *flowEntry
	epoch uint32
}

// Interface holds the record-facing facts of one ENI.
type Interface struct {
	ID, AccountID, VPCID, SubnetID, InstanceID, Region, AZID, SublocationType, SublocationID string // InstanceID "" renders as "-" (requester-managed)
	PrimaryIPv4                                                                              netip.Addr
	InterfaceType                                                                            string // "" or nat_gateway / network_load_balancer / vpc_endpoint / ...
	Nitro                                                                                    bool
	// Index is the interface's position in its dataplane's Interfaces plus
	// one (0: not made by a dataplane). Consumers may use it to keep
	// per-interface state in a slice rather than a map; it is only a hint:
	// interfaces of another dataplane (a reloaded topology) reuse the same
	// indexes, so a table indexed by it must check the pointer it finds.
	Index int
}

// Observation is one packet (batch) as seen at one ENI in one direction,
// with its verdict.
type Observation struct {
	Time                                     time.Time
	Interface                                *Interface
	Direction                                flow.Direction
	Action                                   flow.Action
	Protocol                                 uint8
	SrcPort, DstPort                         uint16
	SrcAddr, DstAddr, PktSrcAddr, PktDstAddr netip.Addr // spec §1.4: srcaddr/dstaddr = ENI primary private IPv4 on the ENI side
	Packets, Bytes                           int64
	TCPFlags                                 uint8           // raw OR of the batch's flags; the aggregator applies flow.TCPFlagsAWS
	TrafficPath                              uint8           // 1..8 for egress, 0 = "-"
	PktSrcAWSService, PktDstAWSService       string          // "" = "-"
	Decision                                 policy.Decision // deciding layer and rule (zero value for plain ACCEPT)
	// Span is the packet's: the first of the Packets was seen at Time-Span.
	Span time.Duration
	// Slot, when not nil, is a word kept with the flow's cached path at
	// this interface and direction, for the consumer's use: the aggregator
	// remembers there where the flow's entry is (a hint it checks). It is
	// valid only during the emit call.
	Slot *uint32
}

// Reason says what happened to a packet.
type Reason uint8

// Reasons.
const (
	// ReasonDelivered: the packet reached an interface of the topology.
	ReasonDelivered Reason = iota
	// ReasonLeftVPC: the packet left the modelled network (internet, VPN,
	// transit gateway, endpoint, peer outside the topology).
	ReasonLeftVPC
	// ReasonNotLogged: traffic AWS neither filters nor logs (spec §4).
	ReasonNotLogged
	// ReasonRejected: a security group, network ACL or NAT gateway dropped it.
	ReasonRejected
	// ReasonNoRoute: no route (or a blackhole route); no record, as AWS.
	ReasonNoRoute
	// ReasonNoPublicIP: sent to an internet gateway from an address with no
	// public IP.
	ReasonNoPublicIP
	// ReasonNoHost: routed locally but no interface owns the destination.
	ReasonNoHost
	// ReasonUnknownSource: neither source nor destination is in the topology.
	ReasonUnknownSource
)

var reasonNames = [...]string{"delivered", "left the VPC", "not logged", "rejected", "no route", "no public IP", "no such host", "unknown addresses"}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// Result says whether a packet was delivered and, if not, why.
type Result struct {
	Delivered bool
	Reason    Reason
	// Decision is the rejecting check when Reason is ReasonRejected.
	Decision policy.Decision
	// Detail is a short human explanation (route used, missing mapping...).
	Detail string
	// PublicSrc is the source address and port the packet had when it left
	// through an internet gateway (public or Elastic IP, NAT gateway port):
	// where the internet sends the reply.
	PublicSrc netip.AddrPort
	// Steady says the packet was delivered on a cached path: later packets
	// of the flow in this direction, other than SYNs, get the same verdicts
	// and observations as long as the topology does not change and none of
	// the flow's state (tracked connections, NAT translation, cached path)
	// goes idle for MinIdleTimeout. A sender may then hand such packets
	// over later, as one train with a Span, without changing what is
	// logged: records sum packets and bytes and OR flags, and a connection
	// closed by a held FIN or RST stays tracked for TCPClosed (at least
	// MinIdleTimeout) after its last packet either way.
	Steady bool
}

// Options tune the dataplane.
type Options struct {
	// Timeouts of connection tracking; zero fields take the AWS defaults.
	Timeouts policy.Timeouts
	// NATIdleTimeout is how long a NAT gateway keeps an idle translation.
	// Default 350 s (the AWS NAT gateway idle timeout).
	NATIdleTimeout time.Duration
	// FlowIdleTimeout is how long a cached packet path is kept idle before
	// Expire drops it. Default 10 minutes.
	FlowIdleTimeout time.Duration
}

// minSweep is the path-cache size below which Process never sweeps.
const minSweep = 1 << 16

// maxSpare bounds the dropped paths kept for reuse.
const maxSpare = 1 << 15

// ErrBadPacket marks a packet that cannot be processed.
var ErrBadPacket = errors.New("bad packet")

// Dataplane evaluates packets against a topology. Process and the mutation
// methods may be called from several goroutines; they are serialised.
type Dataplane struct {
	mu    sync.Mutex
	topo  *vpc.Topology
	opts  Options
	ct    *policy.Conntrack
	ifs   []*Interface
	state map[string]*iface // by ENI id
	flows map[flowKey]*flowEntry
	nat   map[natKey]*natMapping
	natIn map[natKey]*natMapping
	obs   []Observation // the observations of the packet in process
	gen   uint64
	// spare holds cached paths dropped by sweep, reused by resolve: a
	// simulation makes a path per flow and direction, a few every
	// millisecond.
	spare []*flowEntry
	// tracing records route and translation notes (Explain).
	tracing   bool
	nextSweep int
	// Shared compiled decisions (see internDecision).
	decisions map[policy.Decision]*policy.Decision
	sgResults map[policy.SGResult]*policy.SGResult
	// outVia shares the results of flows that leave by a route target.
	outVia map[outViaKey]*Result
	igwIn  map[igwInKey]*Result
	igwOut map[igwOutKey]string
	// naclDecs holds the decisions of network ACL entries for this
	// topology generation (see naclDecision).
	naclDecs map[naclKey]*policy.Decision
	svcs     map[[2]string]*[2]string
}

// iface is the compiled per-ENI state.
type iface struct {
	pub    *Interface
	eni    *vpc.Interface
	zone   uint32
	subnet *vpc.Subnet
	nat    *vpc.NATGateway // non-nil for a NAT gateway interface
	// routers are the VPC router's addresses in the interface's VPC (+1
	// of every subnet), shared by the VPC's interfaces.
	routers map[netip.Addr]struct{}
	// alwaysTracked: AWS tracks every flow of NAT gateways, load balancers
	// and transit gateway attachments, whatever the rules (spec §8.3).
	alwaysTracked bool
	// tracked caches the "tracked connection" decision per direction.
	tracked [2]*policy.Decision
	// fromOutside is the result shared by the flows from outside the VPC
	// delivered here, built for the interface id fromOutsideID.
	fromOutside   *Result
	fromOutsideID string
	// delivered is the result shared by the flows delivered here from
	// inside the VPC, built for the interface id deliveredID.
	delivered   *Result
	deliveredID string
}

// New builds a dataplane over the topology. The topology must have been
// loaded or validated; interfaces added later are not seen.
func New(topo *vpc.Topology, opts Options) (*Dataplane, error) {
	if topo == nil {
		return nil, errors.New("dataplane: nil topology")
	}
	if opts.NATIdleTimeout <= 0 {
		opts.NATIdleTimeout = 350 * time.Second
	}
	if opts.FlowIdleTimeout <= 0 {
		opts.FlowIdleTimeout = 10 * time.Minute
	}
	d := &Dataplane{
		topo:  topo,
		opts:  opts,
		ct:    policy.NewConntrack(opts.Timeouts),
		state: map[string]*iface{},
		flows: map[flowKey]*flowEntry{},
		nat:   map[natKey]*natMapping{},
		natIn: map[natKey]*natMapping{},
		gen:   topo.Generation(),

		nextSweep: minSweep,
		decisions: map[policy.Decision]*policy.Decision{},
		sgResults: map[policy.SGResult]*policy.SGResult{},
		outVia:    map[outViaKey]*Result{},
		igwIn:     map[igwInKey]*Result{},
		igwOut:    map[igwOutKey]string{},
		naclDecs:  map[naclKey]*policy.Decision{},
		svcs:      map[[2]string]*[2]string{},
	}
	routers := map[string]map[netip.Addr]struct{}{}
	for _, s := range topo.Subnets {
		if routers[s.VPCID] == nil {
			routers[s.VPCID] = map[netip.Addr]struct{}{}
		}
		routers[s.VPCID][s.RouterAddr()] = struct{}{}
	}
	for i, e := range topo.Interfaces {
		s := topo.Subnet(e.SubnetID)
		if s == nil {
			return nil, fmt.Errorf("dataplane: interface %s: subnet %s: %w", e.ID, e.SubnetID, vpc.ErrNotFound)
		}
		pub := &Interface{
			ID: e.ID, AccountID: topo.AccountOf(e), VPCID: e.VPCID, SubnetID: e.SubnetID,
			Region: topo.Region, AZID: s.AZID, SublocationType: s.SublocationType, SublocationID: s.SublocationID,
			PrimaryIPv4: e.PrimaryIP, InterfaceType: e.Type, Nitro: e.Nitro, Index: i + 1,
			InstanceID: topo.ShownInstanceID(e),
		}
		if s.SublocationType != "" {
			pub.AZID = ""
		}
		d.ifs = append(d.ifs, pub)
		st := &iface{pub: pub, eni: e, zone: uint32(i + 1), subnet: s, nat: topo.NATGatewayByInterface(e.ID), routers: routers[e.VPCID]}
		switch e.Type {
		case "nat_gateway", "network_load_balancer", "gateway_load_balancer", "gateway_load_balancer_endpoint", "transit_gateway", "global_accelerator_managed":
			st.alwaysTracked = true
		}
		d.state[e.ID] = st
	}
	return d, nil
}

// Interfaces lists all ENIs, for NODATA and flow-log scoping.
func (d *Dataplane) Interfaces() []*Interface { return d.ifs }

// Interface returns the record-facing facts of one ENI, or nil.
func (d *Dataplane) Interface(id string) *Interface {
	if s := d.state[id]; s != nil {
		return s.pub
	}
	return nil
}

// Topology returns the topology the dataplane evaluates.
func (d *Dataplane) Topology() *vpc.Topology { return d.topo }

// Conntrack gives access to connection tracking. Hold no reference across
// calls to Process from other goroutines.
func (d *Dataplane) Conntrack() *policy.Conntrack { return d.ct }

// Zone returns the conntrack zone of an interface (0 if unknown).
func (d *Dataplane) Zone(eniID string) uint32 {
	if s := d.state[eniID]; s != nil {
		return s.zone
	}
	return 0
}

// Connection returns the live tracked connection of a packet on an
// interface (either direction).
func (d *Dataplane) Connection(eniID string, p policy.Packet, now time.Time) (policy.Conn, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.state[eniID]
	if s == nil {
		return policy.Conn{}, false
	}
	c, ok := d.ct.Lookup(s.zone, p, now)
	if !ok {
		return policy.Conn{}, false
	}
	return *c, true
}

// setGeneration notes a new topology generation: cached paths and the
// decisions of network ACL entries are rebuilt as they are needed.
func (d *Dataplane) setGeneration(g uint64) {
	d.gen = g
	clear(d.naclDecs)
}

// MinIdleTimeout is the shortest time any of a flow's state (tracked
// connection in any state, NAT translation, cached path) is kept idle:
// how long a sender may hold back the packets of a steady flow (see
// Result.Steady) without any of that state expiring earlier than it would
// have with the packets handed over one by one.
func (d *Dataplane) MinIdleTimeout() time.Duration {
	t := d.ct.Timeouts()
	return min(t.TCPEstablished, t.TCPNew, t.TCPClosed, t.UDP, t.UDPStream, t.ICMP, t.Other,
		d.opts.NATIdleTimeout, d.opts.FlowIdleTimeout)
}

// Mutate runs fn on the topology under the dataplane's lock, so that rule
// changes never race with Process. Tracked connections are kept; compiled
// paths are rebuilt on the next packet.
func (d *Dataplane) Mutate(fn func(t *vpc.Topology) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return fn(d.topo)
}

// Expire drops idle cached paths, NAT translations and connections. Process
// also does it by itself whenever the path cache has doubled since the last
// sweep, so memory stays bounded without it.
func (d *Dataplane) Expire(now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sweep(now.UnixNano())
}

func (d *Dataplane) sweep(ns int64) {
	defer func() { d.nextSweep = max(2*len(d.flows), minSweep) }()
	d.ct.Expire(time.Unix(0, ns))
	for k, m := range d.nat {
		if ns-m.last > int64(d.opts.NATIdleTimeout) {
			delete(d.nat, k)
			delete(d.natIn, m.inKey)
			m.dead = true
		}
	}
	for k, fe := range d.flows {
		if ns-fe.last > int64(d.opts.FlowIdleTimeout) {
			delete(d.flows, k)
			fe.epoch++ // hints to it are stale
			if len(d.spare) < maxSpare {
				d.spare = append(d.spare, fe)
			}
		}
	}
}

// Process evaluates one packet (batch) and calls emit once per interface
// and direction that observes it, in path order. emit receives a pointer to
// an Observation that is reused by the next call: copy what you keep.
// Process does not allocate on an established flow.
func (d *Dataplane) Process(p Packet, emit func(*Observation)) (Result, error) {
	if emit == nil {
		return d.process(&p, nil)
	}
	return d.process(&p, func(obs []Observation) {
		for i := range obs {
			emit(&obs[i])
		}
	})
}

// ProcessPath is Process that hands the packet's observations, in path
// order, to one call of emit after the path is evaluated (one lock for a
// consumer, instead of one per hop); emit is not called for a packet no
// interface observes. The slice and the observations are reused by the
// next call.
func (d *Dataplane) ProcessPath(p Packet, emit func([]Observation)) (Result, error) {
	return d.process(&p, emit)
}

// process is ProcessPath; emit may be nil.
func (d *Dataplane) process(p *Packet, emit func([]Observation)) (Result, error) {
	if !p.Src.IsValid() || !p.Dst.IsValid() {
		return Result{}, fmt.Errorf("%w: missing source or destination address", ErrBadPacket)
	}
	p.Src, p.Dst = p.Src.Unmap(), p.Dst.Unmap()
	if p.Src.Is4() != p.Dst.Is4() {
		return Result{}, fmt.Errorf("%w: mixed IPv4 and IPv6 addresses %s -> %s", ErrBadPacket, p.Src, p.Dst)
	}
	if p.Size < 0 || p.Count < 0 || p.Bytes < 0 || p.Span < 0 {
		return Result{}, fmt.Errorf("%w: negative size, count, bytes or span", ErrBadPacket)
	}
	n, bytes := p.packets()
	d.mu.Lock()
	defer d.mu.Unlock()
	if g := d.topo.Generation(); g != d.gen {
		d.setGeneration(g)
	}
	now := p.Time.UnixNano()
	key := keyOf(p)
	var fe *flowEntry
	hinted := false
	switch h := p.Hint; {
	case zoned(p): // not in the cache (see resolve)
	case h != nil && h.dp == d && h.fe != nil && h.fe.epoch == h.epoch && h.key == key:
		fe, hinted = h.fe, true
	default:
		fe = d.flows[key]
	}
	if fe == nil || fe.gen != d.gen || !fe.cacheable || !fe.valid(now) {
		fe = d.resolve(p, fe, now)
		if fe.cacheable {
			d.flows[key] = fe
			if len(d.flows) >= d.nextSweep {
				d.sweep(now)
			}
		}
	}
	if h := p.Hint; h != nil && !hinted && fe.cacheable {
		*h = FlowHint{key: key, dp: d, fe: fe, epoch: fe.epoch} // a path resolved again in place keeps its hints
	}
	fe.last = now
	if fe.nat != nil {
		fe.nat.last = now
	}
	obs := d.obs[:0]
	for i := range fe.hops {
		h := &fe.hops[i]
		dec := d.check(h, p, now, nil)
		if emit != nil {
			if len(obs) == cap(obs) {
				obs = append(obs, Observation{})
			} else {
				obs = obs[:len(obs)+1]
			}
			o := &obs[len(obs)-1]
			o.Time, o.Span = p.Time, p.Span
			o.Interface = h.ifc.pub
			o.Direction = h.dir
			o.Action = dec.Verdict
			o.Protocol = p.Protocol
			o.SrcPort, o.DstPort = h.srcPort, h.dstPort
			o.SrcAddr, o.DstAddr = h.addrs()
			o.PktSrcAddr, o.PktDstAddr = h.pktSrc, h.pktDst
			o.Packets, o.Bytes = n, bytes
			o.TCPFlags = p.TCPFlags
			o.TrafficPath = h.trafficPath
			o.PktSrcAWSService, o.PktDstAWSService = h.services()
			o.Decision = *dec
			o.Slot = &h.slot
		}
		if dec.Verdict == flow.ActionReject {
			d.emitPath(obs, emit)
			return Result{Reason: ReasonRejected, Decision: *dec, Detail: dec.String()}, nil
		}
	}
	d.emitPath(obs, emit)
	res := *fe.result
	res.Steady = res.Delivered && fe.cacheable
	return res, nil
}

// emitPath hands a packet's observations to emit and keeps their memory
// for the next packet.
func (d *Dataplane) emitPath(obs []Observation, emit func([]Observation)) {
	d.obs = obs
	if emit != nil && len(obs) > 0 {
		emit(obs)
	}
}

// check applies the hop's security group and network ACL checks in the
// order AWS does: NACL then SG inbound, SG then NACL outbound. The
// decision is shared (compiled or interned): copy, never change it.
// tr, when not nil, receives one Step per check (Explain).
func (d *Dataplane) check(h *hop, p *Packet, now int64, tr *[]Step) *policy.Decision {
	if h.dir == flow.Ingress && h.nacl != nil {
		if tr != nil {
			*tr = append(*tr, stepOf(h, *h.nacl))
		}
		if h.nacl.Verdict == flow.ActionReject {
			return h.nacl
		}
	}
	if h.fixed != nil {
		if tr != nil {
			*tr = append(*tr, stepOf(h, *h.fixed))
		}
		return h.fixed
	}
	out := accept
	if h.sg != nil {
		dec, ok := d.checkSG(h, p, now)
		if tr != nil {
			*tr = append(*tr, stepOf(h, *dec))
		}
		if !ok {
			return dec
		}
		out = dec
	}
	if h.dir == flow.Egress && h.nacl != nil {
		if tr != nil {
			*tr = append(*tr, stepOf(h, *h.nacl))
		}
		if h.nacl.Verdict == flow.ActionReject {
			return h.nacl
		}
	}
	if h.sg == nil && h.nacl != nil {
		return h.nacl // no security groups (NAT gateway): the NACL decided
	}
	return out
}

var accept = &policy.Decision{Verdict: flow.ActionAccept}

// checkSG evaluates the security group layer with connection tracking.
func (d *Dataplane) checkSG(h *hop, p *Packet, now int64) (*policy.Decision, bool) {
	conn := h.conn
	var found *policy.Conn // the table's entry, live or not, when looked up
	if conn == nil || !d.ct.Alive(conn, now) {
		found = d.ct.Get(h.ifc.zone, h.ctPacket(p))
		conn = found
		if conn != nil && !d.ct.Alive(conn, now) {
			conn = nil
		}
		h.conn = conn
	}
	if conn != nil {
		d.ct.Update(conn, h.ctSrcIsA, p.TCPFlags, now)
		return h.tracked, true
	}
	if h.sg == sgPending {
		d.evaluateSG(h, p)
	}
	if h.sg.Verdict != flow.ActionAccept {
		return &h.sg.Decision, false
	}
	if !h.sg.Untracked || h.ifc.alwaysTracked {
		conn = d.ct.Begin(found, h.ifc.zone, h.ctPacket(p), time.Unix(0, now))
		d.ct.Update(conn, conn.OrigIsA, p.TCPFlags, now)
		h.conn = conn
	}
	return &h.sg.Decision, true
}
