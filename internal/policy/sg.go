package policy

import (
	"net/netip"
	"strings"

	"vpcflow/internal/flow"
	"vpcflow/internal/vpc"
)

// Resolver answers the questions security group rules ask about other
// resources. *vpc.Topology implements it.
type Resolver interface {
	// IsGroupMember reports whether a is a private address of an interface
	// associated with the security group.
	IsGroupMember(sgID string, a netip.Addr) bool
	// PrefixListContains reports whether a is in the prefix list.
	PrefixListContains(plID string, a netip.Addr) bool
}

// SGResult is the outcome of evaluating security group rules.
type SGResult struct {
	Decision
	// Untracked is true when the allowing rule and its reverse both cover
	// all addresses (and the reverse all ports), so AWS does not track the
	// flow (spec §8.3). Only meaningful for an ACCEPT of TCP or UDP.
	Untracked bool
}

// EvaluateSecurityGroups evaluates a packet against the union of the rules
// of the groups in one direction. Inbound rules match the packet's source,
// outbound rules its destination; port ranges apply to the destination port.
// It does not consult connection tracking (see Conntrack).
func EvaluateSecurityGroups(groups []*vpc.SecurityGroup, dir flow.Direction, p Packet, r Resolver) SGResult {
	peer := p.Src
	if dir == flow.Egress {
		peer = p.Dst
	}
	var (
		allowedBy *vpc.SecurityGroup
		rule      vpc.SGRule
		wide      bool
	)
	for _, g := range groups {
		rules := g.Ingress
		if dir == flow.Egress {
			rules = g.Egress
		}
		for i := range rules {
			ru := &rules[i]
			if !matchProto(ru.Protocol, ru.Ports, ru.ICMPType, ru.ICMPCode, p) || !matchPeer(ru, peer, r) {
				continue
			}
			isWide := ru.CIDR.IsValid() && ru.CIDR.Bits() == 0
			if allowedBy == nil || (isWide && !wide) {
				allowedBy, rule, wide = g, *ru, isWide
			}
			if wide {
				break
			}
		}
		if wide {
			break
		}
	}
	ids := groupIDs(groups)
	if allowedBy == nil {
		what := "ingress"
		dirWord := " from "
		if dir == flow.Egress {
			what, dirWord = "egress", " to "
		}
		return SGResult{Decision: Decision{Verdict: flow.ActionReject, Layer: LayerSG, ResourceID: ids, Direction: dirName(dir),
			Explanation: "no " + what + " rule allows " + p.Service() + dirWord + peer.String()}}
	}
	res := SGResult{Decision: Decision{Verdict: flow.ActionAccept, Layer: LayerSG, ResourceID: allowedBy.ID, Direction: dirName(dir),
		Rule: sgRuleTextCached(dir, &rule)}}
	if wide && (p.Protocol == vpc.ProtoTCP || p.Protocol == vpc.ProtoUDP) {
		res.Untracked = reverseAllowsAll(groups, dir, p.Protocol, peer.Is4())
	}
	return res
}

func groupIDs(groups []*vpc.SecurityGroup) string {
	switch len(groups) {
	case 0:
		return "(none)"
	case 1:
		return groups[0].ID
	}
	ids := make([]string, len(groups))
	for i, g := range groups {
		ids[i] = g.ID
	}
	return strings.Join(ids, ",")
}

func matchPeer(ru *vpc.SGRule, peer netip.Addr, r Resolver) bool {
	switch {
	case ru.GroupID != "":
		return r != nil && r.IsGroupMember(ru.GroupID, peer)
	case ru.PrefixListID != "":
		return r != nil && r.PrefixListContains(ru.PrefixListID, peer)
	}
	return ru.CIDR.IsValid() && ru.CIDR.Addr().Is4() == peer.Is4() && ru.CIDR.Contains(peer)
}

// reverseAllowsAll reports whether the opposite direction has a rule for
// all addresses of the family and all ports of the protocol.
func reverseAllowsAll(groups []*vpc.SecurityGroup, dir flow.Direction, proto uint8, v4 bool) bool {
	for _, g := range groups {
		rules := g.Egress
		if dir == flow.Egress {
			rules = g.Ingress
		}
		for _, ru := range rules {
			if !ru.CIDR.IsValid() || ru.CIDR.Bits() != 0 || ru.CIDR.Addr().Is4() != v4 {
				continue
			}
			if ru.Protocol == vpc.AnyProtocol || (uint8(ru.Protocol) == proto && ru.Ports.IsAll()) {
				return true
			}
		}
	}
	return false
}

// SGRuleText renders a rule as "tcp 22 from 203.0.113.0/24" or
// "all to sg-0abc".
func SGRuleText(dir flow.Direction, r vpc.SGRule) string {
	w := " from "
	if dir == flow.Egress {
		w = " to "
	}
	s := "allows " + ruleText(r.Protocol, r.Ports, r.ICMPType, r.ICMPCode) + w + r.Peer()
	if r.Description != "" {
		s += " (" + r.Description + ")"
	}
	return s
}
