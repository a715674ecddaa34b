package policy

import (
	"vpcflow/internal/flow"
	"vpcflow/internal/vpc"
)

// EvaluateNetworkACL evaluates a packet against one direction of a network
// ACL: rules in ascending number, the first match wins, and the implicit "*"
// rule denies. IPv4 rules never match IPv6 packets and vice versa. Inbound
// rules match the packet's source, outbound rules its destination; port
// ranges apply to the destination port.
//
// Call it only when the packet crosses the subnet boundary: NACLs do not see
// traffic between interfaces of one subnet.
func EvaluateNetworkACL(acl *vpc.NetworkACL, dir flow.Direction, p Packet) Decision {
	i := MatchNetworkACL(acl, dir, p)
	return NetworkACLDecision(acl, dir, i, p.Src.Is6())
}

// MatchNetworkACL returns the index, in acl's entries for dir, of the
// entry that decides p: the lowest-numbered one that matches, or -1 when
// none does (the default deny). Entries are kept sorted by rule number.
func MatchNetworkACL(acl *vpc.NetworkACL, dir flow.Direction, p Packet) int {
	entries, peer := acl.Ingress, p.Src
	if dir == flow.Egress {
		entries, peer = acl.Egress, p.Dst
	}
	for i := range entries {
		e := &entries[i]
		if e.CIDR.Addr().Is4() != peer.Is4() || !e.CIDR.Contains(peer) {
			continue
		}
		if matchProto(e.Protocol, e.Ports, e.ICMPType, e.ICMPCode, p) {
			return i
		}
	}
	return -1
}

// NetworkACLDecision is the decision of entry i of acl's entries for dir
// (as MatchNetworkACL returns it; -1 is the default deny of IPv4 or, with
// v6, IPv6 traffic).
func NetworkACLDecision(acl *vpc.NetworkACL, dir flow.Direction, i int, v6 bool) Decision {
	entries := acl.Ingress
	if dir == flow.Egress {
		entries = acl.Egress
	}
	if i >= 0 {
		e := &entries[i]
		d := Decision{Verdict: flow.ActionAccept, Layer: LayerNACL, ResourceID: acl.ID, Direction: dirName(dir),
			RuleNumber: e.RuleNumber, Rule: naclEntryTextCached(e)}
		if !e.Allow {
			d.Verdict = flow.ActionReject
		}
		return d
	}
	cidr := "0.0.0.0/0"
	if v6 {
		cidr = "::/0"
	}
	return Decision{Verdict: flow.ActionReject, Layer: LayerNACL, ResourceID: acl.ID, Direction: dirName(dir),
		RuleNumber: DefaultRuleNumber, Rule: "* all " + cidr + " deny"}
}

// NACLEntryText renders an entry as "100 tcp 443 0.0.0.0/0 allow".
func NACLEntryText(e vpc.NACLEntry) string {
	act := "deny"
	if e.Allow {
		act = "allow"
	}
	return itoa(e.RuleNumber) + " " + ruleText(e.Protocol, e.Ports, e.ICMPType, e.ICMPCode) + " " + e.CIDR.String() + " " + act
}

func itoa(n int) string {
	if n == DefaultRuleNumber {
		return "*"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
