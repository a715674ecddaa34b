package traffic

import (
	"math"
	"net/netip"
	"time"

	"vpcflow/internal/dataplane"
	"vpcflow/internal/flow"
	"vpcflow/internal/vpc"
)

// Dataplane carries packets through a *dataplane.Dataplane: it is the
// Network of real runs. The observations of every packet go to Observe
// (the flow log service) in one call; Counts tallies what happened.
type Dataplane struct {
	DP *dataplane.Dataplane
	// Observe receives a packet's observations in path order, during the
	// dataplane's call (dataplane.Dataplane.ProcessPath): copy what you keep.
	// It returns the earliest end (Unix ns) of the capture windows that
	// counted them (math.MaxInt64 if none did), or 0 when it cannot tell:
	// then Send never lets the engine coalesce packets (Delivery.Until).
	Observe func([]dataplane.Observation) (windowEnd int64)
	// ExpireEvery is how often (packet time) idle connections and NAT
	// translations are expired; default one minute.
	ExpireEvery time.Duration

	Counts Counts
	// last is the last observation of the packet in process, in the
	// dataplane's buffer: valid until its next packet, long enough for
	// Send (nil when the packet was observed nowhere).
	last       *dataplane.Observation
	nextExpire time.Time
	emit       func([]dataplane.Observation)
	// windowEnd is what Observe returned for the packet in process.
	windowEnd int64
	// holdFor is how long a steady flow's packets may be held back
	// (dataplane.Dataplane.MinIdleTimeout).
	holdFor time.Duration
}

// Counts tallies packets by outcome and REJECT observations by deciding
// layer (sg, nacl, nat, route).
type Counts struct {
	Packets        int64
	Delivered      int64
	LeftVPC        int64
	NotLogged      int64
	Unrouted       int64 // no route, no public IP, no such host
	Unknown        int64 // neither address is in the topology
	Observations   int64
	RejectsByLayer map[string]int64 // packets
}

// NewDataplane wraps dp; observe may be nil.
func NewDataplane(dp *dataplane.Dataplane, observe func([]dataplane.Observation) int64) *Dataplane {
	d := &Dataplane{DP: dp, Observe: observe, ExpireEvery: time.Minute, holdFor: dp.MinIdleTimeout()}
	d.Counts.RejectsByLayer = map[string]int64{}
	d.emit = func(obs []dataplane.Observation) {
		d.Counts.Observations += int64(len(obs))
		o := &obs[len(obs)-1] // only the last hop can reject
		if o.Action == flow.ActionReject {
			d.Counts.RejectsByLayer[o.Decision.Layer] += o.Packets
		}
		d.last = o
		if d.Observe != nil {
			d.windowEnd = d.Observe(obs)
		} else {
			d.windowEnd = math.MaxInt64
		}
	}
	return d
}

// Process runs p through the dataplane and reports the outcome.
func (d *Dataplane) Process(p *Packet) (dataplane.Result, error) {
	if d.nextExpire.IsZero() {
		d.nextExpire = p.Time.Add(d.ExpireEvery)
	} else if !p.Time.Before(d.nextExpire) {
		d.DP.Expire(p.Time)
		d.nextExpire = p.Time.Add(d.ExpireEvery)
	}
	d.last, d.windowEnd = nil, math.MaxInt64
	res, err := d.DP.ProcessPath(*p, d.emit)
	if err != nil {
		return res, err
	}
	n := int64(p.Packets())
	d.Counts.Packets += n
	switch res.Reason {
	case dataplane.ReasonDelivered:
		d.Counts.Delivered += n
	case dataplane.ReasonLeftVPC:
		d.Counts.LeftVPC += n
	case dataplane.ReasonNotLogged:
		d.Counts.NotLogged += n
	case dataplane.ReasonNoRoute, dataplane.ReasonNoPublicIP, dataplane.ReasonNoHost:
		d.Counts.Unrouted += n
	case dataplane.ReasonUnknownSource:
		d.Counts.Unknown += n
	}
	return res, nil
}

// Send implements Network: the receiver's view of a delivered packet comes
// from the last observation on its path (after NAT), or, for packets that
// left the VPC, from the public address they left with.
func (d *Dataplane) Send(p Packet) (Delivery, error) {
	res, err := d.Process(&p)
	if err != nil || !res.Delivered {
		return Delivery{}, err
	}
	var until int64
	if res.Steady && d.windowEnd > 0 && d.holdFor > 0 {
		until = min(d.windowEnd, p.Time.UnixNano()+int64(d.holdFor))
	}
	seen := AddressingOf(&p)
	if o := d.last; o != nil {
		switch {
		case o.Direction == flow.Ingress:
			seen.Src, seen.Dst = o.PktSrcAddr, o.PktDstAddr
			if p.Protocol == ProtoTCP || p.Protocol == ProtoUDP {
				seen.SrcPort, seen.DstPort = o.SrcPort, o.DstPort
			}
		case res.Reason == dataplane.ReasonLeftVPC:
			seen.Src = d.publicSource(o, &p)
			if p.Protocol == ProtoTCP || p.Protocol == ProtoUDP {
				seen.SrcPort = o.SrcPort
			}
		}
	}
	return Delivery{Delivered: true, Seen: seen, Until: until}, nil
}

// publicSource is the address a packet leaving through the internet
// gateway carries: the NAT gateway's Elastic IP, or the sender's public IP.
func (d *Dataplane) publicSource(o *dataplane.Observation, p *Packet) netip.Addr {
	topo := d.DP.Topology()
	if nat := topo.NATGatewayByInterface(o.Interface.ID); nat != nil && nat.PublicIP.IsValid() {
		return nat.PublicIP
	}
	if e := topo.InterfaceByPrivateIP(p.Src); e != nil {
		for _, pa := range e.PublicIPs {
			if pa.Private == p.Src {
				return pa.Public
			}
		}
	}
	return p.Src
}

// Topology is the dataplane's topology.
func (d *Dataplane) Topology() *vpc.Topology { return d.DP.Topology() }
