package aggregate

import "vpcflow/internal/dataplane"

// Interface is the dataplane's description of a network interface. The
// aggregator keeps the pointer, so it must not change while in use; a new
// pointer for the same interface id replaces the old one.
type Interface = dataplane.Interface

// Observation is one packet, or a batch of identical packets, seen at one
// interface in one direction, with its verdict (from the dataplane).
// SrcAddr/DstAddr are the interface-level addresses (srcaddr, dstaddr),
// PktSrcAddr/PktDstAddr the packet-level ones; an invalid packet-level
// address falls back to the interface-level one. TCPFlags is the raw byte,
// mapped with flow.TCPFlagsAWS.
type Observation = dataplane.Observation
