package troubleshoot

import (
	"fmt"
	"net/netip"
	"strings"

	"vpcflow/internal/flow"
	"vpcflow/internal/policy"
	"vpcflow/internal/vpc"
)

// Decision is the outcome of one check made at one interface, with the layer
// and rule that decided it.
type Decision struct {
	Allowed    bool   `json:"allowed"`
	Layer      string `json:"layer"` // "sg", "nacl" or "route"
	ResourceID string `json:"resource_id,omitempty"`
	Direction  string `json:"direction,omitempty"` // "ingress" or "egress"
	// RuleNumber is the NACL rule number; 32767 is the final "*" rule.
	RuleNumber int    `json:"rule_number,omitempty"`
	Rule       string `json:"rule,omitempty"`
	// Tracked says an SG let the packet through as a tracked response.
	Tracked     bool   `json:"tracked,omitempty"`
	Explanation string `json:"explanation"`
}

// DefaultRuleNumber is the number AWS shows for a network ACL's final "*" rule.
const DefaultRuleNumber = 32767

func (d Decision) String() string {
	verdict := "deny"
	if d.Allowed {
		verdict = "allow"
	}
	switch d.Layer {
	case "nacl":
		n := fmt.Sprint(d.RuleNumber)
		if d.RuleNumber == DefaultRuleNumber {
			n = "*"
		}
		return fmt.Sprintf("nacl %s %s rule %s %s", d.ResourceID, d.Direction, n, verdict)
	case "sg":
		return fmt.Sprintf("sg %s %s %s: %s", d.ResourceID, d.Direction, verdict, d.Rule)
	}
	return fmt.Sprintf("%s %s %s: %s", d.Layer, d.ResourceID, verdict, d.Rule)
}

// sameCause is a key shared by the decisions that one change fixes: a
// security group's "no rule allows tcp/8443 from X" names its client, and
// the clients of one missing rule are one problem.
func (d Decision) sameCause() string {
	if d.Layer == "sg" && !d.Allowed {
		return fmt.Sprintf("sg %s %s deny", d.ResourceID, d.Direction)
	}
	return d.String()
}

// packet is what a check needs of a packet.
type packet struct {
	src, dst     netip.Addr
	sport, dport uint16
	proto        uint8
	icmpType     int16 // -1 unknown
}

func (p packet) reverse() packet {
	q := packet{src: p.dst, dst: p.src, sport: p.dport, dport: p.sport, proto: p.proto, icmpType: p.icmpType}
	switch p.icmpType {
	case 8:
		q.icmpType = 0
	case 128:
		q.icmpType = 129
	}
	return q
}

// protoName renders a packet's protocol as rules spell it.
func protoName(p uint8) string { return vpc.ProtocolName(int16(p)) }

func (p packet) service() string {
	if p.proto == 6 || p.proto == 17 {
		return fmt.Sprintf("%s/%d", protoName(p.proto), p.dport)
	}
	if p.icmpType >= 0 && (p.proto == 1 || p.proto == 58) {
		return fmt.Sprintf("%s type %d", protoName(p.proto), p.icmpType)
	}
	return protoName(p.proto)
}

func hasPorts(proto uint8) bool { return proto == 6 || proto == 17 }

func isICMP(proto uint8) bool { return proto == 1 || proto == 58 }

// evaluator replays SG and NACL checks of a topology, statelessly: the
// response of a conversation is "tracked" when the caller says so.
type evaluator struct {
	t *vpc.Topology
}

func (ev evaluator) subnetOf(e *vpc.Interface) *vpc.Subnet { return ev.t.Subnet(e.SubnetID) }

// crosses reports whether traffic between e and remote crosses e's subnet
// boundary (NACLs are only evaluated then, spec §8.1).
func (ev evaluator) crosses(e *vpc.Interface, remote netip.Addr) bool {
	s := ev.subnetOf(e)
	if s == nil {
		return true
	}
	return !(s.CIDR.Contains(remote) || (s.IPv6CIDR.IsValid() && s.IPv6CIDR.Contains(remote)))
}

func (ev evaluator) hasSG(e *vpc.Interface) bool {
	return len(e.SecurityGroupIDs) > 0 && ev.t.NATGatewayByInterface(e.ID) == nil
}

// policyPacket converts a packet for the policy engine. ICMP type unknown
// is taken as an echo request.
func (p packet) policyPacket() policy.Packet {
	q := policy.Packet{Src: p.src, Dst: p.dst, Protocol: p.proto, SrcPort: p.sport, DstPort: p.dport}
	if isICMP(p.proto) {
		q.SrcPort, q.DstPort = 0, 0
		if p.icmpType >= 0 {
			q.ICMPType = uint8(p.icmpType)
		} else if p.proto == 1 {
			q.ICMPType = 8
		} else {
			q.ICMPType = 128
		}
	}
	return q
}

func fromPolicy(d policy.Decision) Decision {
	return Decision{Allowed: !d.Rejected(), Layer: d.Layer, ResourceID: d.ResourceID, Direction: d.Direction,
		RuleNumber: d.RuleNumber, Rule: d.Rule, Tracked: d.Tracked, Explanation: d.Explanation}
}

func flowDir(egress bool) flow.Direction {
	if egress {
		return flow.Egress
	}
	return flow.Ingress
}

// nacl evaluates the network ACL of e's subnet in one direction with the
// policy engine: lowest rule number first, first match wins, "*" denies.
func (ev evaluator) nacl(e *vpc.Interface, egress bool, remote netip.Addr, p packet) Decision {
	dir := direction(egress)
	s := ev.subnetOf(e)
	if s == nil {
		return Decision{Allowed: true, Layer: "nacl", Direction: dir, Explanation: "subnet not in topology"}
	}
	acl := ev.t.NetworkACL(s.NetworkACLID)
	if acl == nil {
		return Decision{Allowed: true, Layer: "nacl", Direction: dir, Explanation: "network ACL not in topology"}
	}
	d := fromPolicy(policy.EvaluateNetworkACL(acl, flowDir(egress), p.policyPacket()))
	peer := "from"
	if egress {
		peer = "to"
	}
	switch {
	case d.RuleNumber == DefaultRuleNumber:
		d.Explanation = fmt.Sprintf("network ACL %s %s: no numbered rule matches %s %s %s, so the final * rule denies it",
			acl.ID, dir, p.service(), peer, remote)
	case d.Allowed:
		d.Explanation = fmt.Sprintf("network ACL %s %s rule %d allows %s %s %s (%s)", acl.ID, dir, d.RuleNumber, p.service(), peer, remote, d.Rule)
	default:
		d.Explanation = fmt.Sprintf("network ACL %s %s rule %d denies %s %s %s (%s)", acl.ID, dir, d.RuleNumber, p.service(), peer, remote, d.Rule)
	}
	return d
}

// sg evaluates the security groups of e in one direction (union of the
// rules of every group; allow-only) with the policy engine.
func (ev evaluator) sg(e *vpc.Interface, egress bool, remote netip.Addr, p packet) Decision {
	var groups []*vpc.SecurityGroup
	for _, id := range e.SecurityGroupIDs {
		if g := ev.t.SecurityGroup(id); g != nil {
			groups = append(groups, g)
		}
	}
	res := policy.EvaluateSecurityGroups(groups, flowDir(egress), p.policyPacket(), ev.t)
	d := fromPolicy(res.Decision)
	if d.Allowed {
		d.Explanation = fmt.Sprintf("security group %s %s rule %s allows %s", d.ResourceID, d.Direction, d.Rule, p.service())
		return d
	}
	d.Rule = res.Explanation // "no ingress rule allows tcp/22 from 203.0.113.12"
	d.Explanation = fmt.Sprintf("security group %s of %s: %s (security groups only allow; what no rule allows is rejected)",
		d.ResourceID, e.ID, res.Explanation)
	return d
}

func direction(egress bool) string {
	if egress {
		return "egress"
	}
	return "ingress"
}

// inbound replays the checks of a packet arriving at e: NACL inbound when it
// crosses the subnet boundary, then the security groups unless the packet
// is a tracked response. It returns every check made, the deciding one last.
func (ev evaluator) inbound(e *vpc.Interface, p packet, tracked bool) []Decision {
	var ds []Decision
	if ev.crosses(e, p.src) {
		d := ev.nacl(e, false, p.src, p)
		ds = append(ds, d)
		if !d.Allowed {
			return ds
		}
	}
	if ev.hasSG(e) {
		if tracked {
			ds = append(ds, Decision{Allowed: true, Layer: "sg", ResourceID: strings.Join(e.SecurityGroupIDs, ", "),
				Direction: "ingress", Tracked: true,
				Explanation: "security groups are stateful: the response of an allowed request is let in regardless of rules"})
		} else {
			ds = append(ds, ev.sg(e, false, p.src, p))
		}
	}
	return ds
}

// outbound replays the checks of a packet leaving e: the security groups
// unless it is a tracked response, then the NACL outbound when it crosses
// the subnet boundary.
func (ev evaluator) outbound(e *vpc.Interface, p packet, tracked bool) []Decision {
	var ds []Decision
	if ev.hasSG(e) {
		if tracked {
			ds = append(ds, Decision{Allowed: true, Layer: "sg", ResourceID: strings.Join(e.SecurityGroupIDs, ", "),
				Direction: "egress", Tracked: true,
				Explanation: "security groups are stateful: the response of an allowed request is let out regardless of rules"})
		} else {
			d := ev.sg(e, true, p.dst, p)
			ds = append(ds, d)
			if !d.Allowed {
				return ds
			}
		}
	}
	if ev.crosses(e, p.dst) {
		ds = append(ds, ev.nacl(e, true, p.dst, p))
	}
	return ds
}

// verdict returns the deciding decision of a list of checks: the first
// denial, or the last check (allowed), or ok=false when there was none.
func verdict(ds []Decision) (Decision, bool) {
	for _, d := range ds {
		if !d.Allowed {
			return d, true
		}
	}
	if len(ds) == 0 {
		return Decision{Allowed: true}, false
	}
	return ds[len(ds)-1], true
}

func allowed(ds []Decision) bool {
	for _, d := range ds {
		if !d.Allowed {
			return false
		}
	}
	return true
}
