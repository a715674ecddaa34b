package dataplane

import (
	"fmt"
	"strings"

	"vpcflow/internal/flow"
	"vpcflow/internal/policy"
	"vpcflow/internal/vpc"
)

// Step is one check or forwarding decision on a packet's path.
type Step struct {
	Interface string // ENI id; "" for a forwarding step
	Direction flow.Direction
	Layer     string      // sg, nacl, nat, or "forward" for routing and translation
	Verdict   flow.Action // ActionNone for forwarding steps
	Detail    string
	Decision  policy.Decision
}

func stepOf(h *hop, d policy.Decision) Step {
	layer := d.Layer
	if layer == "" {
		layer = "-"
	}
	return Step{Interface: h.ifc.eni.ID, Direction: h.dir, Layer: layer, Verdict: d.Verdict, Detail: d.String(), Decision: d}
}

// Explanation is the hop-by-hop story of one packet.
type Explanation struct {
	Packet       Packet
	Steps        []Step
	Observations []Observation
	Result       Result
}

// Explain processes one packet like Process (connection tracking and NAT
// state are updated) and returns every check on its path with its verdict
// and rule, the observations, and the outcome.
func (d *Dataplane) Explain(p Packet) (*Explanation, error) {
	if !p.Src.IsValid() || !p.Dst.IsValid() {
		return nil, fmt.Errorf("%w: missing source or destination address", ErrBadPacket)
	}
	p.Src, p.Dst = p.Src.Unmap(), p.Dst.Unmap()
	if p.Src.Is4() != p.Dst.Is4() {
		return nil, fmt.Errorf("%w: mixed IPv4 and IPv6 addresses %s -> %s", ErrBadPacket, p.Src, p.Dst)
	}
	if p.Size < 0 || p.Count < 0 || p.Bytes < 0 {
		return nil, fmt.Errorf("%w: negative size, count or bytes", ErrBadPacket)
	}
	n, bytes := p.packets()
	d.mu.Lock()
	defer d.mu.Unlock()
	if g := d.topo.Generation(); g != d.gen {
		d.setGeneration(g)
	}
	d.tracing = true
	defer func() { d.tracing = false }()
	now := p.Time.UnixNano()
	fe := d.resolve(&p, nil, now)
	ex := &Explanation{Packet: p}
	for i := range fe.hops {
		h := &fe.hops[i]
		dec := d.check(h, &p, now, &ex.Steps)
		src, dst := h.addrs()
		srcSvc, dstSvc := h.services()
		ex.Observations = append(ex.Observations, Observation{
			Time: p.Time, Interface: h.ifc.pub, Direction: h.dir, Action: dec.Verdict, Protocol: p.Protocol,
			SrcPort: h.srcPort, DstPort: h.dstPort, SrcAddr: src, DstAddr: dst, PktSrcAddr: h.pktSrc, PktDstAddr: h.pktDst,
			Packets: n, Bytes: bytes, TCPFlags: p.TCPFlags, TrafficPath: h.trafficPath,
			PktSrcAWSService: srcSvc, PktDstAWSService: dstSvc, Decision: *dec,
		})
		if dec.Verdict == flow.ActionReject {
			ex.Result = Result{Reason: ReasonRejected, Decision: *dec, Detail: dec.String()}
			return ex, nil
		}
		if fe.notes != nil && fe.notes[i] != "" {
			ex.Steps = append(ex.Steps, Step{Layer: "forward", Detail: fe.notes[i]})
		}
	}
	ex.Result = *fe.result
	if fe.cacheable {
		k := keyOf(&p)
		if old := d.flows[k]; old != nil {
			old.epoch++ // replaced: hints to it are stale
		}
		d.flows[k] = fe
	}
	return ex, nil
}

// String renders the explanation for people.
func (e *Explanation) String() string {
	var b strings.Builder
	p := e.Packet
	proto := vpc.ProtocolName(int16(p.Protocol))
	switch p.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		fmt.Fprintf(&b, "packet %s %s:%d -> %s:%d\n", proto, p.Src, p.SrcPort, p.Dst, p.DstPort)
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		fmt.Fprintf(&b, "packet %s type %d code %d %s -> %s\n", proto, p.ICMPType, p.ICMPCode, p.Src, p.Dst)
	default:
		fmt.Fprintf(&b, "packet %s %s -> %s\n", proto, p.Src, p.Dst)
	}
	for i, s := range e.Steps {
		if s.Layer == "forward" {
			fmt.Fprintf(&b, "%3d. %-44s %s\n", i+1, "", s.Detail)
			continue
		}
		fmt.Fprintf(&b, "%3d. %-22s %-7s %-4s %-6s  %s\n", i+1, s.Interface, s.Direction, s.Layer, s.Verdict, s.Detail)
	}
	res := e.Result
	status := "delivered"
	if !res.Delivered {
		status = "dropped"
	}
	fmt.Fprintf(&b, "result: %s (%s)", status, res.Reason)
	if res.Detail != "" {
		fmt.Fprintf(&b, ": %s", res.Detail)
	}
	b.WriteByte('\n')
	if len(e.Observations) > 0 {
		b.WriteString("observations (flow log view):\n")
		for _, o := range e.Observations {
			tp := "-"
			if o.TrafficPath != 0 {
				tp = fmt.Sprint(o.TrafficPath)
			}
			fmt.Fprintf(&b, "  %s %-7s %s %s %d %d %s %s %s traffic-path=%s\n", o.Interface.ID, o.Direction,
				o.SrcAddr, o.DstAddr, o.SrcPort, o.DstPort, o.PktSrcAddr, o.PktDstAddr, o.Action, tp)
		}
	}
	return b.String()
}
