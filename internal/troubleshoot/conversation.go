package troubleshoot

import (
	"cmp"
	"net/netip"
	"slices"

	"vpcflow/internal/flow"
)

// Confidence grades a conclusion drawn from flow logs.
type Confidence string

// Confidence levels.
const (
	High   Confidence = "high"
	Medium Confidence = "medium"
	Low    Confidence = "low"
)

func (c Confidence) rank() int {
	switch c {
	case High:
		return 3
	case Medium:
		return 2
	case Low:
		return 1
	}
	return 0
}

func minConfidence(a, b Confidence) Confidence {
	if a.rank() <= b.rank() {
		return a
	}
	return b
}

// Leg sums the records of one direction of a conversation at one interface.
type Leg struct {
	Accept  int   `json:"accept_records,omitempty"`
	Reject  int   `json:"reject_records,omitempty"`
	Packets int64 `json:"packets,omitempty"`
	Bytes   int64 `json:"bytes,omitempty"`
	First   int64 `json:"first,omitempty"` // earliest start, Unix seconds
	Last    int64 `json:"last,omitempty"`  // latest end, Unix seconds
	// Flags is the OR of tcp-flags over the records that have the field;
	// HasFlags says whether any had it.
	Flags    int32 `json:"tcp_flags,omitempty"`
	HasFlags bool  `json:"-"`
	// RejectFirst and RejectLast bound the REJECT records only.
	RejectFirst int64 `json:"-"`
	RejectLast  int64 `json:"-"`
}

func (l *Leg) add(r *flow.Record) {
	if l.Accept+l.Reject == 0 || r.Start < l.First {
		l.First = r.Start
	}
	l.Last = max(l.Last, r.End)
	if r.Action == flow.ActionReject {
		if l.Reject == 0 || r.Start < l.RejectFirst {
			l.RejectFirst = r.Start
		}
		l.RejectLast = max(l.RejectLast, r.End)
		l.Reject++
	} else {
		l.Accept++
	}
	l.Packets += r.Packets
	l.Bytes += r.Bytes
	if r.Has(flow.FieldTCPFlags) {
		l.Flags |= r.TCPFlags
		l.HasFlags = true
	}
}

// Seen summarises the leg's actions.
func (l Leg) Seen() Seen {
	switch {
	case l.Accept > 0 && l.Reject > 0:
		return SeenMixed
	case l.Reject > 0:
		return SeenReject
	case l.Accept > 0:
		return SeenAccept
	}
	return NotSeen
}

func (l Leg) records() int { return l.Accept + l.Reject }

// View is what one network interface recorded of a conversation: the
// request and the response, each in (ingress) and out (egress).
type View struct {
	Interface string `json:"interface_id"`
	Subnet    string `json:"subnet_id,omitempty"`
	ReqIn     Leg    `json:"request_in"`
	ReqOut    Leg    `json:"request_out"`
	RespIn    Leg    `json:"response_in"`
	RespOut   Leg    `json:"response_out"`
}

// incoming reports whether the interface saw the conversation as an
// incoming request (it is the server, or a middle box receiving it).
func (v *View) incoming() bool { return v.ReqIn.records()+v.RespOut.records() > 0 }

// outgoing reports whether the interface saw it as an outgoing request.
func (v *View) outgoing() bool { return v.ReqOut.records()+v.RespIn.records() > 0 }

// Conversation is every record of the traffic between one client and one
// service (server address, port and protocol), whatever the client ports,
// on every interface that logged it.
type Conversation struct {
	Client   netip.Addr `json:"client"`
	Server   netip.Addr `json:"server"`
	Port     uint16     `json:"port"`
	Protocol uint8      `json:"protocol"`
	// ClientPorts counts distinct client ports (connection attempts, roughly).
	ClientPorts int `json:"client_ports"`
	// RoleBy says how the client was told from the server, RoleConfidence
	// how sure that is.
	RoleBy         string     `json:"role_by"`
	RoleConfidence Confidence `json:"role_confidence"`
	Views          []*View    `json:"views"`
	First          int64      `json:"first"`
	Last           int64      `json:"last"`

	clientPorts map[uint16]struct{}
	records     []int // indices into the analysed records
}

// Records is the number of records in the conversation.
func (c *Conversation) Records() int { return len(c.records) }

func (c *Conversation) view(eni string) *View {
	for _, v := range c.Views {
		if v.Interface == eni {
			return v
		}
	}
	v := &View{Interface: eni}
	c.Views = append(c.Views, v)
	return v
}

type endpoint struct {
	addr netip.Addr
	port uint16
}

func (e endpoint) less(o endpoint) bool {
	if c := e.addr.Compare(o.addr); c != 0 {
		return c < 0
	}
	return e.port < o.port
}

type pairKey struct {
	a, b  endpoint // a < b
	proto uint8
}

type convKey struct {
	client, server netip.Addr
	port           uint16
	proto          uint8
}

// usable reports whether a record describes traffic (not NODATA/SKIPDATA and
// with the fields a conversation needs).
func usable(r *flow.Record) bool {
	if r.Has(flow.FieldLogStatus) && r.LogStatus != flow.StatusOK {
		return false
	}
	return r.Has(flow.FieldSrcAddr) && r.Has(flow.FieldDstAddr) && r.Has(flow.FieldAction) &&
		r.Has(flow.FieldProtocol) && r.Action != flow.ActionNone
}

// endpoints returns the packet-level source and destination of a record:
// pkt-srcaddr/pkt-dstaddr when present (they survive NAT and secondary
// addresses, spec §1.4), else srcaddr/dstaddr.
func endpoints(r *flow.Record) (src, dst endpoint) {
	src = endpoint{r.SrcAddr, uint16(r.SrcPort)}
	dst = endpoint{r.DstAddr, uint16(r.DstPort)}
	if r.Has(flow.FieldPktSrcAddr) {
		src.addr = r.PktSrcAddr
	}
	if r.Has(flow.FieldPktDstAddr) {
		dst.addr = r.PktDstAddr
	}
	return src, dst
}

// ownAddresses infers the address of each interface: the one that appears in
// most of its records (the interface's side is always its primary private
// IPv4, spec §1.4); ties go to a private address. known overrides (from a
// topology).
func ownAddresses(recs []flow.Record, idx []int, known func(eni string) (netip.Addr, bool)) map[string]netip.Addr {
	counts := map[string]map[netip.Addr]int{}
	for _, i := range idx {
		r := &recs[i]
		m := counts[r.InterfaceID]
		if m == nil {
			m = map[netip.Addr]int{}
			counts[r.InterfaceID] = m
		}
		if r.Has(flow.FieldFlowDirection) {
			// flow-direction says which side is the interface's.
			if r.FlowDirection == flow.Egress {
				m[r.SrcAddr] += 1000
			} else {
				m[r.DstAddr] += 1000
			}
			continue
		}
		m[r.SrcAddr]++
		m[r.DstAddr]++
	}
	own := make(map[string]netip.Addr, len(counts))
	claimed := map[netip.Addr]bool{}
	// tied holds the interfaces whose records name two or more addresses
	// equally often (an interface that logged a single conversation).
	tied := map[string][]netip.Addr{}
	for eni, m := range counts {
		if known != nil {
			if a, ok := known(eni); ok {
				own[eni], claimed[a] = a, true
				continue
			}
		}
		bestN := -1
		var best []netip.Addr
		for a, n := range m {
			switch {
			case n > bestN:
				bestN, best = n, append(best[:0], a)
			case n == bestN:
				best = append(best, a)
			}
		}
		if len(best) == 1 {
			own[eni], claimed[best[0]] = best[0], true
			continue
		}
		tied[eni] = best
	}
	// An address is one interface's: a tie is broken first by leaving out
	// the addresses other interfaces own, then by preferring a private
	// address (the interface's side is its private IPv4, spec §1.4).
	enis := make([]string, 0, len(tied))
	for eni := range tied {
		enis = append(enis, eni)
	}
	slices.Sort(enis)
	for progress := true; progress; {
		progress = false
		for _, eni := range enis {
			if _, done := own[eni]; done {
				continue
			}
			free := slices.DeleteFunc(slices.Clone(tied[eni]), func(a netip.Addr) bool { return claimed[a] })
			if len(free) == 1 {
				own[eni], claimed[free[0]], progress = free[0], true, true
			}
		}
	}
	for _, eni := range enis {
		if _, done := own[eni]; done {
			continue
		}
		cands := slices.DeleteFunc(slices.Clone(tied[eni]), func(a netip.Addr) bool { return claimed[a] })
		if len(cands) == 0 {
			cands = tied[eni]
		}
		best := cands[0]
		for _, a := range cands[1:] {
			if betterOwn(a, best) {
				best = a
			}
		}
		own[eni], claimed[best] = best, true
	}
	return own
}

func betterOwn(a, b netip.Addr) bool {
	if a.IsPrivate() != b.IsPrivate() {
		return a.IsPrivate()
	}
	return a.Less(b)
}

// egress reports whether the record left its interface.
func egress(r *flow.Record, own netip.Addr) bool {
	if r.Has(flow.FieldFlowDirection) {
		return r.FlowDirection == flow.Egress
	}
	if r.SrcAddr == own {
		return true
	}
	return false
}

// servicePorts are well-known server ports at or above 1024.
var servicePorts = map[uint16]bool{
	1433: true, 1521: true, 2049: true, 2379: true, 3000: true, 3306: true, 3389: true,
	5000: true, 5001: true, 5432: true, 5601: true, 5672: true, 5984: true, 6379: true,
	6443: true, 7001: true, 8000: true, 8008: true, 8080: true, 8081: true, 8443: true,
	8888: true, 9000: true, 9042: true, 9090: true, 9092: true, 9200: true, 9300: true,
	9418: true, 11211: true, 15672: true, 27017: true,
}

// portScore says how much a port looks like a service port: 3 well-known
// (<1024), 2 a known service above 1023, 1 registered range, 0 ephemeral
// (32768 and up, the Linux and Windows client ranges, spec §8.4).
func portScore(p uint16) int {
	switch {
	case p == 0:
		return -1
	case p < 1024:
		return 3
	case servicePorts[p]:
		return 2
	case p < 32768:
		return 1
	}
	return 0
}

// pairRoles decides which end of a pair initiated: it returns the client,
// the server, how it was decided and how sure that is.
func pairRoles(recs []flow.Record, idx []int, k pairKey) (client, server endpoint, by string, conf Confidence) {
	a, b := k.a, k.b
	// 1. TCP flags: SYN alone comes from the client, SYN-ACK from the server.
	voteA := 0
	for _, i := range idx {
		r := &recs[i]
		if !r.Has(flow.FieldTCPFlags) || r.Protocol != 6 {
			continue
		}
		src, _ := endpoints(r)
		fromA := src == a
		switch {
		case r.TCPFlags&flow.TCPSynAck == flow.TCPSynAck:
			if fromA {
				voteA--
			} else {
				voteA++
			}
		case r.TCPFlags&flow.TCPSyn != 0:
			if fromA {
				voteA++
			} else {
				voteA--
			}
		}
	}
	if voteA > 0 {
		return a, b, "tcp-flags", High
	}
	if voteA < 0 {
		return b, a, "tcp-flags", High
	}
	// 2. A well-known or service port against an ephemeral one.
	sa, sb := portScore(a.port), portScore(b.port)
	if sa-sb >= 2 {
		return b, a, "ports", Medium
	}
	if sb-sa >= 2 {
		return a, b, "ports", Medium
	}
	// 3. Traffic in one direction only: the sender initiated.
	fromA, fromB := false, false
	var firstA, firstB int64
	var acceptA, acceptB bool
	for _, i := range idx {
		r := &recs[i]
		src, _ := endpoints(r)
		if src == a {
			if !fromA || r.Start < firstA {
				firstA = r.Start
			}
			fromA = true
			acceptA = acceptA || r.Action == flow.ActionAccept
		} else {
			if !fromB || r.Start < firstB {
				firstB = r.Start
			}
			fromB = true
			acceptB = acceptB || r.Action == flow.ActionAccept
		}
	}
	// 3a. Both directions, one only REJECTed: a rejected request never gets
	// a response, so the accepted direction is the request.
	if fromA && fromB && acceptA != acceptB {
		if acceptA {
			return a, b, "accepted direction", Medium
		}
		return b, a, "accepted direction", Medium
	}
	if fromA != fromB {
		if fromA {
			return a, b, "one direction only", Medium
		}
		return b, a, "one direction only", Medium
	}
	// 4. A weaker port hint.
	if sa > sb {
		return b, a, "ports", Low
	}
	if sb > sa {
		return a, b, "ports", Low
	}
	// 5. Who was seen first.
	if firstA < firstB {
		return a, b, "first seen", Low
	}
	if firstB < firstA {
		return b, a, "first seen", Low
	}
	// 6. Lower port serves.
	if b.port < a.port {
		return a, b, "lower port", Low
	}
	return b, a, "lower port", Low
}

// conversations groups the usable records into conversations.
func buildConversations(recs []flow.Record, idx []int, own map[string]netip.Addr) []*Conversation {
	pairs := map[pairKey][]int{}
	var order []pairKey
	for _, i := range idx {
		r := &recs[i]
		src, dst := endpoints(r)
		k := pairKey{a: src, b: dst, proto: uint8(r.Protocol)}
		if dst.less(src) {
			k.a, k.b = dst, src
		}
		if _, ok := pairs[k]; !ok {
			order = append(order, k)
		}
		pairs[k] = append(pairs[k], i)
	}
	convs := map[convKey]*Conversation{}
	var out []*Conversation
	for _, k := range order {
		pidx := pairs[k]
		client, server, by, conf := pairRoles(recs, pidx, k)
		ck := convKey{client.addr, server.addr, server.port, k.proto}
		c := convs[ck]
		if c == nil {
			c = &Conversation{Client: client.addr, Server: server.addr, Port: server.port, Protocol: k.proto,
				RoleBy: by, RoleConfidence: conf, clientPorts: map[uint16]struct{}{}}
			convs[ck] = c
			out = append(out, c)
		} else if conf.rank() > c.RoleConfidence.rank() {
			c.RoleBy, c.RoleConfidence = by, conf
		}
		c.clientPorts[client.port] = struct{}{}
		for _, i := range pidx {
			r := &recs[i]
			if len(c.records) == 0 || r.Start < c.First {
				c.First = r.Start
			}
			c.Last = max(c.Last, r.End)
			c.records = append(c.records, i)
			src, _ := endpoints(r)
			request := src == client
			out := egress(r, own[r.InterfaceID])
			v := c.view(r.InterfaceID)
			if v.Subnet == "" && r.Has(flow.FieldSubnetID) {
				v.Subnet = r.SubnetID
			}
			switch {
			case request && out:
				v.ReqOut.add(r)
			case request:
				v.ReqIn.add(r)
			case out:
				v.RespOut.add(r)
			default:
				v.RespIn.add(r)
			}
		}
	}
	for _, c := range out {
		c.ClientPorts = len(c.clientPorts)
		slices.SortFunc(c.Views, func(x, y *View) int { return cmp.Compare(x.Interface, y.Interface) })
	}
	slices.SortStableFunc(out, func(x, y *Conversation) int {
		if c := x.Server.Compare(y.Server); c != 0 {
			return c
		}
		if c := cmp.Compare(x.Port, y.Port); c != 0 {
			return c
		}
		if c := cmp.Compare(x.Protocol, y.Protocol); c != 0 {
			return c
		}
		return x.Client.Compare(y.Client)
	})
	return out
}
