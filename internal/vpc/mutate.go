package vpc

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
)

// Mutations mirror the EC2 API. Each one bumps Generation so that the
// dataplane recompiles rules and routes; tracked connections are kept (they
// live in the dataplane's conntrack, not here). A Topology is not safe for
// concurrent use: serialise mutations with packet processing (the dataplane
// does so when mutated through it).

// AuthorizeSecurityGroupIngress adds inbound rules to a security group.
func (t *Topology) AuthorizeSecurityGroupIngress(sgID string, rules ...SGRule) error {
	return t.authorize(sgID, false, rules)
}

// AuthorizeSecurityGroupEgress adds outbound rules to a security group.
func (t *Topology) AuthorizeSecurityGroupEgress(sgID string, rules ...SGRule) error {
	return t.authorize(sgID, true, rules)
}

// RevokeSecurityGroupIngress removes inbound rules (matched on everything but
// the description).
func (t *Topology) RevokeSecurityGroupIngress(sgID string, rules ...SGRule) error {
	return t.revoke(sgID, false, rules)
}

// RevokeSecurityGroupEgress removes outbound rules.
func (t *Topology) RevokeSecurityGroupEgress(sgID string, rules ...SGRule) error {
	return t.revoke(sgID, true, rules)
}

func (t *Topology) checkRule(sg *SecurityGroup, r SGRule) error {
	n := 0
	if r.CIDR.IsValid() {
		n++
	}
	if r.PrefixListID != "" {
		n++
		if t.plByID[r.PrefixListID] == nil {
			return fmt.Errorf("prefix list %s: %w", r.PrefixListID, ErrNotFound)
		}
	}
	if r.GroupID != "" {
		n++
		g := t.sgByID[r.GroupID]
		if g == nil {
			return fmt.Errorf("security group %s: %w", r.GroupID, ErrNotFound)
		}
		if g.VPCID != sg.VPCID && !t.peered(g.VPCID, sg.VPCID) {
			return fmt.Errorf("security group %s is in VPC %s, not %s or a peer: %w", g.ID, g.VPCID, sg.VPCID, ErrInvalid)
		}
	}
	if n != 1 {
		return fmt.Errorf("a rule needs exactly one of CIDR, prefix list or group: %w", ErrInvalid)
	}
	if r.Ports.From > r.Ports.To {
		return fmt.Errorf("port range %d-%d: %w", r.Ports.From, r.Ports.To, ErrInvalid)
	}
	return nil
}

func (t *Topology) authorize(sgID string, egress bool, rules []SGRule) error {
	sg := t.sgByID[sgID]
	if sg == nil {
		return fmt.Errorf("security group %s: %w", sgID, ErrNotFound)
	}
	list := &sg.Ingress
	if egress {
		list = &sg.Egress
	}
	for _, r := range rules {
		if err := t.checkRule(sg, r); err != nil {
			return err
		}
		if slices.ContainsFunc(*list, r.sameRule) {
			return fmt.Errorf("rule %s %s %s in %s: %w", ProtocolName(r.Protocol), r.Ports, r.Peer(), sgID, ErrDuplicate)
		}
	}
	for _, r := range rules {
		r.CIDR = r.CIDR.Masked()
		*list = append(*list, r)
	}
	t.generation++
	return nil
}

func (t *Topology) revoke(sgID string, egress bool, rules []SGRule) error {
	sg := t.sgByID[sgID]
	if sg == nil {
		return fmt.Errorf("security group %s: %w", sgID, ErrNotFound)
	}
	list := &sg.Ingress
	if egress {
		list = &sg.Egress
	}
	for _, r := range rules {
		r.CIDR = r.CIDR.Masked()
		i := slices.IndexFunc(*list, r.sameRule)
		if i < 0 {
			return fmt.Errorf("rule %s %s %s in %s: %w", ProtocolName(r.Protocol), r.Ports, r.Peer(), sgID, ErrNotFound)
		}
		*list = slices.Delete(*list, i, i+1)
	}
	t.generation++
	return nil
}

// CreateNetworkACLEntry adds a numbered rule; the number must be free.
func (t *Topology) CreateNetworkACLEntry(aclID string, egress bool, e NACLEntry) error {
	list, err := t.aclList(aclID, egress, e)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(*list, func(x NACLEntry) bool { return x.RuleNumber == e.RuleNumber }) {
		return fmt.Errorf("network ACL %s rule %d: %w", aclID, e.RuleNumber, ErrDuplicate)
	}
	e.CIDR = e.CIDR.Masked()
	*list = append(*list, e)
	slices.SortStableFunc(*list, func(a, b NACLEntry) int { return cmp.Compare(a.RuleNumber, b.RuleNumber) })
	t.generation++
	return nil
}

// ReplaceNetworkACLEntry replaces the rule with the same number.
func (t *Topology) ReplaceNetworkACLEntry(aclID string, egress bool, e NACLEntry) error {
	list, err := t.aclList(aclID, egress, e)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(*list, func(x NACLEntry) bool { return x.RuleNumber == e.RuleNumber })
	if i < 0 {
		return fmt.Errorf("network ACL %s rule %d: %w", aclID, e.RuleNumber, ErrNotFound)
	}
	e.CIDR = e.CIDR.Masked()
	(*list)[i] = e
	t.generation++
	return nil
}

// DeleteNetworkACLEntry removes the numbered rule.
func (t *Topology) DeleteNetworkACLEntry(aclID string, egress bool, ruleNumber int) error {
	list, err := t.aclList(aclID, egress, NACLEntry{RuleNumber: ruleNumber, CIDR: netip.PrefixFrom(netip.IPv4Unspecified(), 0)})
	if err != nil {
		return err
	}
	i := slices.IndexFunc(*list, func(x NACLEntry) bool { return x.RuleNumber == ruleNumber })
	if i < 0 {
		return fmt.Errorf("network ACL %s rule %d: %w", aclID, ruleNumber, ErrNotFound)
	}
	*list = slices.Delete(*list, i, i+1)
	t.generation++
	return nil
}

func (t *Topology) aclList(aclID string, egress bool, e NACLEntry) (*[]NACLEntry, error) {
	a := t.aclByID[aclID]
	if a == nil {
		return nil, fmt.Errorf("network ACL %s: %w", aclID, ErrNotFound)
	}
	if e.RuleNumber < 1 || e.RuleNumber > 32766 {
		return nil, fmt.Errorf("rule number %d out of range 1..32766: %w", e.RuleNumber, ErrInvalid)
	}
	if !e.CIDR.IsValid() {
		return nil, fmt.Errorf("network ACL entry needs a CIDR: %w", ErrInvalid)
	}
	if egress {
		return &a.Egress, nil
	}
	return &a.Ingress, nil
}

// ReplaceNetworkACLAssociation associates a subnet with another network ACL.
func (t *Topology) ReplaceNetworkACLAssociation(subnetID, aclID string) error {
	s, a := t.subnetByID[subnetID], t.aclByID[aclID]
	if s == nil {
		return fmt.Errorf("subnet %s: %w", subnetID, ErrNotFound)
	}
	if a == nil {
		return fmt.Errorf("network ACL %s: %w", aclID, ErrNotFound)
	}
	if a.VPCID != s.VPCID {
		return fmt.Errorf("network ACL %s is in VPC %s, subnet %s in %s: %w", aclID, a.VPCID, subnetID, s.VPCID, ErrInvalid)
	}
	s.NetworkACLID = aclID
	t.generation++
	return nil
}

// ModifyInterfaceSecurityGroups replaces the security groups of an interface.
func (t *Topology) ModifyInterfaceSecurityGroups(eniID string, sgIDs []string) error {
	e := t.eniByID[eniID]
	if e == nil {
		return fmt.Errorf("network interface %s: %w", eniID, ErrNotFound)
	}
	for _, id := range sgIDs {
		g := t.sgByID[id]
		if g == nil {
			return fmt.Errorf("security group %s: %w", id, ErrNotFound)
		}
		if g.VPCID != e.VPCID {
			return fmt.Errorf("security group %s is in VPC %s, interface %s in %s: %w", id, g.VPCID, eniID, e.VPCID, ErrInvalid)
		}
	}
	e.SecurityGroupIDs = slices.Clone(sgIDs)
	t.rebuildMembers()
	t.generation++
	return nil
}

// ReplaceRoute sets (adds or replaces) the route for a destination CIDR.
func (t *Topology) ReplaceRoute(rtbID string, dst netip.Prefix, target string) error {
	rt := t.rtbByID[rtbID]
	if rt == nil {
		return fmt.Errorf("route table %s: %w", rtbID, ErrNotFound)
	}
	v := t.vpcByID[rt.VPCID]
	r := Route{Destination: dst.Masked(), Kind: targetKind(target), TargetID: target}
	if r.Kind == 0 || v == nil {
		return fmt.Errorf("route target %q: %w", target, ErrInvalid)
	}
	if msg := t.checkTarget(v, r); msg != "" {
		return fmt.Errorf("%s: %w", msg, ErrInvalid)
	}
	if i := slices.IndexFunc(rt.Routes, func(x Route) bool { return x.Destination == r.Destination && x.PrefixListID == "" }); i >= 0 {
		rt.Routes[i] = r
	} else {
		rt.Routes = append(rt.Routes, r)
	}
	t.generation++
	return nil
}
