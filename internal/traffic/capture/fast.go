package capture

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket/layers"

	"vpcflow/internal/traffic"
)

// fastDecode decodes the common frames by hand: Ethernet (with at most
// one 802.1Q tag) or raw IP, IPv4 without options and not fragmented or
// IPv6 without extension headers, then TCP, UDP or ICMP (ICMPv6 in IPv6)
// with a complete header. It reports false for anything else, and the
// caller decodes the frame with gopacket (decode), which also says why a
// frame is skipped: for every frame it accepts, fastDecode gives the packet
// decode gives (TestFastDecodeMatchesGopacket, FuzzDecode). wire is the
// frame's length on the wire; an IP length beyond it is left to decode.
func fastDecode(lt layers.LinkType, data []byte, wire int, p *traffic.Packet) bool {
	switch lt {
	case layers.LinkTypeEthernet:
		if len(data) < 14 {
			return false
		}
		et := binary.BigEndian.Uint16(data[12:14])
		data, wire = data[14:], wire-14
		if et == 0x8100 {
			if len(data) < 4 {
				return false
			}
			et = binary.BigEndian.Uint16(data[2:4])
			data, wire = data[4:], wire-4
		}
		switch et {
		case 0x0800:
			return fastIPv4(data, wire, p)
		case 0x86dd:
			return fastIPv6(data, wire, p)
		}
		return false
	case layers.LinkTypeRaw, 12, 14:
		if rawIsIPv6(lt, data) {
			return fastIPv6(data, wire, p)
		}
		return fastIPv4(data, wire, p)
	case layers.LinkTypeIPv4:
		return fastIPv4(data, wire, p)
	case layers.LinkTypeIPv6:
		return fastIPv6(data, wire, p)
	}
	return false
}

func fastIPv4(data []byte, wire int, p *traffic.Packet) bool {
	if len(data) < 20 || data[0] != 0x45 { // version 4, no options
		return false
	}
	length := int(binary.BigEndian.Uint16(data[2:4]))
	if length < 20 || length > wire || binary.BigEndian.Uint16(data[6:8])&0x3fff != 0 { // length 0 (TSO), fragments
		return false
	}
	proto := data[9]
	if proto != traffic.ProtoTCP && proto != traffic.ProtoUDP && proto != traffic.ProtoICMP {
		return false
	}
	l4 := data[20:min(length, len(data))]
	*p = traffic.Packet{
		Src:      netip.AddrFrom4([4]byte(data[12:16])),
		Dst:      netip.AddrFrom4([4]byte(data[16:20])),
		Protocol: proto,
		Size:     length,
	}
	return fastL4(l4, p)
}

func fastIPv6(data []byte, wire int, p *traffic.Packet) bool {
	if len(data) < 40 || data[0]>>4 != 6 {
		return false
	}
	length := int(binary.BigEndian.Uint16(data[4:6]))
	proto := data[6]
	if length == 0 || length+40 > wire || (proto != traffic.ProtoTCP && proto != traffic.ProtoUDP && proto != traffic.ProtoICMPv6) {
		return false // jumbogram, extension headers, other protocols
	}
	l4 := data[40:min(40+length, len(data))]
	*p = traffic.Packet{
		Src:      netip.AddrFrom16([16]byte(data[8:24])),
		Dst:      netip.AddrFrom16([16]byte(data[24:40])),
		Protocol: proto,
		Size:     length + 40,
	}
	return fastL4(l4, p)
}

// fastL4 fills the transport fields; p.Protocol is TCP, UDP or ICMP.
func fastL4(data []byte, p *traffic.Packet) bool {
	switch p.Protocol {
	case traffic.ProtoTCP:
		if len(data) < 20 {
			return false
		}
		off := int(data[12]>>4) * 4
		if off < 20 || off > len(data) {
			return false
		}
		p.SrcPort, p.DstPort = binary.BigEndian.Uint16(data[0:2]), binary.BigEndian.Uint16(data[2:4])
		p.TCPFlags = data[13]
	case traffic.ProtoUDP:
		if len(data) < 8 {
			return false
		}
		if n := binary.BigEndian.Uint16(data[4:6]); n != 0 && n < 8 {
			return false
		}
		p.SrcPort, p.DstPort = binary.BigEndian.Uint16(data[0:2]), binary.BigEndian.Uint16(data[2:4])
	case traffic.ProtoICMP:
		if len(data) < 8 {
			return false
		}
		p.ICMPType, p.ICMPCode = data[0], data[1]
	default: // ICMPv6
		if len(data) < 4 {
			return false
		}
		p.ICMPType, p.ICMPCode = data[0], data[1]
	}
	return true
}
