// Package policy evaluates AWS security groups (allow-only, stateful) and
// network ACLs (numbered, stateless), and tracks connections the way security
// groups do (spec §8). Every evaluation returns a Decision naming the layer
// and rule that decided, so that a REJECT can be explained.
package policy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"vpcflow/internal/flow"
	"vpcflow/internal/vpc"
)

// Layers of a Decision.
const (
	LayerSG    = "sg"
	LayerNACL  = "nacl"
	LayerRoute = "route"
	LayerNAT   = "nat"
)

// DefaultRuleNumber is the number AWS gives the implicit "*" NACL rule.
const DefaultRuleNumber = 32767

// Decision is the verdict of one check with the layer and rule that decided.
// The zero value is a plain ACCEPT with nothing to explain.
type Decision struct {
	Verdict     flow.Action
	Layer       string // "sg", "nacl", "route", "nat" or ""
	ResourceID  string // sg-..., acl-..., rtb-..., nat-...; several SGs are comma-joined
	Direction   string // "ingress" or "egress"
	RuleNumber  int    // NACL rule number; DefaultRuleNumber for "*"
	Rule        string // the deciding rule as text, e.g. "tcp 22 203.0.113.0/24 allow"
	Explanation string // the sentence behind a REJECT, or how an ACCEPT was reached
	// Tracked is true when a security group accepted the packet because it
	// belongs to a tracked connection, whatever the rules say now.
	Tracked bool
}

// Rejected reports whether the decision is a REJECT.
func (d Decision) Rejected() bool { return d.Verdict == flow.ActionReject }

// String renders the decision: "nacl acl-0abc egress rule 100 deny",
// "sg sg-0def: no ingress rule allows tcp/22 from 203.0.113.12".
func (d Decision) String() string {
	switch d.Layer {
	case LayerNACL:
		num := strconv.Itoa(d.RuleNumber)
		if d.RuleNumber == DefaultRuleNumber {
			num = "*"
		}
		act := "allow"
		if d.Rejected() {
			act = "deny"
		}
		return fmt.Sprintf("nacl %s %s rule %s %s", d.ResourceID, d.Direction, num, act)
	case LayerSG:
		if d.Explanation != "" {
			return fmt.Sprintf("sg %s: %s", d.ResourceID, d.Explanation)
		}
		return fmt.Sprintf("sg %s %s %s", d.ResourceID, d.Direction, d.Rule)
	case "":
		if d.Explanation != "" {
			return d.Explanation
		}
		return strings.ToLower(d.Verdict.String())
	}
	if d.Explanation != "" {
		return fmt.Sprintf("%s %s: %s", d.Layer, d.ResourceID, d.Explanation)
	}
	return fmt.Sprintf("%s %s", d.Layer, d.ResourceID)
}

// RuleToken renders the deciding rule as one space-free token, the value of
// the vpcflow-decision-rule record field (flow.FieldDecisionRule):
// "acl-0abc/egress/100" for a NACL ("*" for the final rule),
// "sg-0a,sg-0b/ingress/no-rule" for security groups (a REJECT there means no
// rule of any of them allowed the packet), the resource id (rtb-…, nat-…)
// for other layers, and "-" when there is nothing to name.
func (d Decision) RuleToken() string {
	id := strings.Join(strings.Fields(d.ResourceID), "")
	var tok string
	switch d.Layer {
	case LayerNACL:
		num := strconv.Itoa(d.RuleNumber)
		if d.RuleNumber == DefaultRuleNumber {
			num = "*"
		}
		tok = id + "/" + d.Direction + "/" + num
	case LayerSG:
		tok = id + "/" + d.Direction
		if d.Rejected() {
			tok += "/no-rule"
		}
	default:
		tok = id
	}
	if tok == "" {
		return "-"
	}
	return tok
}

// Packet is the policy view of a packet. For ICMP, ICMPType and ICMPCode
// carry the type and code (ports are 0).
type Packet struct {
	Src, Dst         netip.Addr
	Protocol         uint8
	SrcPort, DstPort uint16
	ICMPType         uint8
	ICMPCode         uint8
}

// Service renders the packet's protocol and destination port as in
// "tcp/22", "icmp/8" (type) or "proto 50".
func (p Packet) Service() string {
	switch p.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		return vpc.ProtocolName(int16(p.Protocol)) + "/" + strconv.Itoa(int(p.DstPort))
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		return fmt.Sprintf("%s/%d:%d", vpc.ProtocolName(int16(p.Protocol)), p.ICMPType, p.ICMPCode)
	}
	return "proto " + strconv.Itoa(int(p.Protocol))
}

func dirName(d flow.Direction) string { return d.String() }

// matchProto reports whether a rule's protocol, ports and ICMP type/code
// match the packet. Ports are the packet's destination port.
func matchProto(proto int16, ports vpc.PortRange, icmpType, icmpCode int16, p Packet) bool {
	if proto == vpc.AnyProtocol {
		return true
	}
	if uint8(proto) != p.Protocol {
		return false
	}
	switch p.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		return ports.Contains(p.DstPort)
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		return (icmpType < 0 || uint8(icmpType) == p.ICMPType) && (icmpCode < 0 || uint8(icmpCode) == p.ICMPCode)
	}
	return true
}

// ruleText renders protocol, ports or ICMP type/code of a rule.
func ruleText(proto int16, ports vpc.PortRange, icmpType, icmpCode int16) string {
	name := vpc.ProtocolName(proto)
	switch proto {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		if ports.IsAll() {
			return name + " all"
		}
		return name + " " + ports.String()
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		t, c := "all", "all"
		if icmpType >= 0 {
			t = strconv.Itoa(int(icmpType))
		}
		if icmpCode >= 0 {
			c = strconv.Itoa(int(icmpCode))
		}
		if t == "all" && c == "all" {
			return name + " all"
		}
		return fmt.Sprintf("%s type %s code %s", name, t, c)
	}
	return name
}
