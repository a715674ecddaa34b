package aggregate

import (
	"net/netip"
	"time"

	"vpcflow/internal/flow"
)

// Interface is what the aggregator reads of the network interface that
// observed a packet. It mirrors the dataplane's interface description; the
// aggregator keeps the pointer, so it must not change while in use.
type Interface struct {
	ID              string
	AccountID       string // owner of the interface: the record's account-id
	VPCID           string
	SubnetID        string
	InstanceID      string // "" renders as "-" (requester-managed interfaces)
	Region          string
	AZID            string
	SublocationType string // "" | wavelength | outpost | localzone
	SublocationID   string
	PrimaryIPv4     netip.Addr
	InterfaceType   string
	Nitro           bool // Nitro interfaces aggregate over at most 60 s
}

// Observation is one packet, or a batch of identical packets, seen at one
// interface in one direction, with its verdict. It mirrors the dataplane's
// Observation.
type Observation struct {
	Time      time.Time
	Interface *Interface
	Direction flow.Direction
	Action    flow.Action
	Protocol  uint8
	SrcPort   uint16
	DstPort   uint16
	// SrcAddr and DstAddr are the interface-level addresses (srcaddr,
	// dstaddr); PktSrcAddr and PktDstAddr the packet-level ones. An invalid
	// packet-level address falls back to the interface-level one.
	SrcAddr    netip.Addr
	DstAddr    netip.Addr
	PktSrcAddr netip.Addr
	PktDstAddr netip.Addr
	Packets    int64
	Bytes      int64
	TCPFlags   uint8 // raw TCP flags byte; mapped with flow.TCPFlagsAWS
	// TrafficPath is the egress traffic-path code, 0 for "-".
	TrafficPath      uint8
	PktSrcAWSService string
	PktDstAWSService string
}
