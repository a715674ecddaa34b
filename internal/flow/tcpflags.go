package flow

import "strings"

// AWS tcp-flags bits (spec §1.3.3).
const (
	TCPFin    = 0x01
	TCPSyn    = 0x02
	TCPRst    = 0x04
	TCPAck    = 0x10
	TCPSynAck = TCPSyn | TCPAck // 18
)

// TCPFlagsAWS maps a raw TCP flags byte to the value AWS reports for one
// packet: FIN, SYN and RST as they are, ACK only together with SYN (SYN-ACK =
// 18), every other flag dropped. A record's tcp-flags is the OR of this over
// the packets of the window.
func TCPFlagsAWS(raw uint8) uint8 {
	v := raw & (TCPFin | TCPSyn | TCPRst)
	if raw&TCPSynAck == TCPSynAck {
		v |= TCPAck
	}
	return v
}

// TCPFlagNames decodes an AWS tcp-flags value into names, for example 19 →
// "SYN-ACK|FIN" and 3 → "SYN|FIN". Zero is "none".
func TCPFlagNames(v int32) string {
	if v == 0 {
		return "none"
	}
	var names []string
	if v&TCPSynAck == TCPSynAck {
		names = append(names, "SYN-ACK")
	} else if v&TCPSyn != 0 {
		names = append(names, "SYN")
	}
	if v&TCPFin != 0 {
		names = append(names, "FIN")
	}
	if v&TCPRst != 0 {
		names = append(names, "RST")
	}
	if v&TCPAck != 0 && v&TCPSyn == 0 {
		names = append(names, "ACK")
	}
	if rest := v &^ (TCPFin | TCPSyn | TCPRst | TCPAck); rest != 0 {
		names = append(names, "INVALID")
	}
	return strings.Join(names, "|")
}
