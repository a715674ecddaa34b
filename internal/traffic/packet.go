// Package traffic produces the packets that flow through the virtual VPC:
// scenarios on a simulated clock (workloads and named incident patterns) and,
// in the capture subpackage, pcap/pcapng replay.
//
// The package never decides a verdict. Every packet is handed to a Network
// (the dataplane in production, a fake in tests) and conversations react to
// what was delivered: a SYN that the dataplane drops is retransmitted and
// then given up on, a SYN-ACK that a stateless NACL drops makes the client
// retry, exactly as hosts behave.
package traffic

import (
	"net/netip"

	"vpcflow/internal/dataplane"
)

// IANA protocol numbers used by the generators.
const (
	ProtoICMP   uint8 = 1
	ProtoTCP    uint8 = 6
	ProtoUDP    uint8 = 17
	ProtoICMPv6 uint8 = 58
)

// Raw TCP flag bits as they appear in the TCP header.
const (
	FlagFIN uint8 = 0x01
	FlagSYN uint8 = 0x02
	FlagRST uint8 = 0x04
	FlagPSH uint8 = 0x08
	FlagACK uint8 = 0x10
)

// Packet is one IP packet, or Count identical packets sent back to back, as
// it leaves its sender: the dataplane's packet, so that it goes through
// without a copy field by field.
type Packet = dataplane.Packet

// Delivery is what happened to a packet in the network.
type Delivery struct {
	// Delivered is true when the packet reached its destination host (every
	// security group, network ACL and route on its way let it through).
	Delivered bool
	// Seen is the packet's addressing as the receiver sees it, after any
	// NAT. A reply is addressed to Seen.Src:Seen.SrcPort. Valid only when
	// Delivered.
	Seen Addressing
	// Until, when not zero, is the time (Unix ns) before which later
	// packets of the flow in this direction, other than SYNs, would be
	// delivered and logged as this one (dataplane.Result.Steady): the
	// engine may hold them back and send them as one train (Packet.Span)
	// by then.
	Until int64
}

// Addressing is a packet's addresses and ports: all that one side of a
// conversation knows of it, and all a delivery reports (a whole Packet,
// copied back up the call chain of every send, cost more than the rest of
// the engine's bookkeeping).
type Addressing struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
}

// AddressingOf is p's addressing.
func AddressingOf(p *Packet) Addressing {
	return Addressing{Src: p.Src, Dst: p.Dst, SrcPort: p.SrcPort, DstPort: p.DstPort}
}

// Network carries packets. Send runs p through the VPC and reports whether it
// was delivered. Implementations record what they observe (flow logs); an
// error aborts the run.
type Network interface {
	Send(p Packet) (Delivery, error)
}

// NetworkFunc adapts a function to Network.
type NetworkFunc func(p Packet) (Delivery, error)

// Send calls f(p).
func (f NetworkFunc) Send(p Packet) (Delivery, error) { return f(p) }
