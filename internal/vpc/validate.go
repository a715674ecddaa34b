package vpc

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// validate checks references and address plans. Built objects line up with
// the document entries by index (defaults come after).
func (b *builder) validate(doc *Document) {
	t := b.t
	ids := map[string]string{}
	dup := func(path, id string) {
		if id == "" {
			return
		}
		if prev, ok := ids[id]; ok {
			b.errf(path+".id", "duplicate id %s (first defined at %s)", id, prev)
			return
		}
		ids[id] = path
	}
	for i, d := range doc.VPCs {
		dup(fmt.Sprintf("$.vpcs[%d]", i), d.ID)
	}
	for i, d := range doc.Subnets {
		dup(fmt.Sprintf("$.subnets[%d]", i), d.ID)
	}
	for i, d := range doc.RouteTables {
		dup(fmt.Sprintf("$.route_tables[%d]", i), d.ID)
	}
	for i, d := range doc.InternetGateways {
		dup(fmt.Sprintf("$.internet_gateways[%d]", i), d.ID)
	}
	for i, d := range doc.NATGateways {
		dup(fmt.Sprintf("$.nat_gateways[%d]", i), d.ID)
		if d.InterfaceID != "" {
			p := fmt.Sprintf("$.nat_gateways[%d]", i)
			if prev, ok := ids[d.InterfaceID]; ok {
				b.errf(p+".interface_id", "duplicate id %s (first defined at %s)", d.InterfaceID, prev)
			} else {
				ids[d.InterfaceID] = p
			}
		}
	}
	for i, d := range doc.Peerings {
		dup(fmt.Sprintf("$.vpc_peering_connections[%d]", i), d.ID)
	}
	for i, d := range doc.Gateways {
		dup(fmt.Sprintf("$.gateways[%d]", i), d.ID)
	}
	for i, d := range doc.PrefixLists {
		dup(fmt.Sprintf("$.prefix_lists[%d]", i), d.ID)
	}
	for i, d := range doc.SecurityGroups {
		dup(fmt.Sprintf("$.security_groups[%d]", i), d.ID)
	}
	for i, d := range doc.NetworkACLs {
		dup(fmt.Sprintf("$.network_acls[%d]", i), d.ID)
	}
	for i, d := range doc.Interfaces {
		dup(fmt.Sprintf("$.network_interfaces[%d]", i), d.ID)
	}

	// VPC address plans must not overlap: the model indexes private
	// addresses globally.
	for i, v := range t.VPCs {
		for j := range i {
			for _, a := range v.CIDRs {
				for _, c := range t.VPCs[j].CIDRs {
					if a.Overlaps(c) {
						b.errf(fmt.Sprintf("$.vpcs[%d].cidr", i), "VPC %s CIDR %s overlaps %s of VPC %s", v.ID, a, c, t.VPCs[j].ID)
					}
				}
			}
		}
	}

	vpcRef := func(path, id string) *VPC {
		if id == "" {
			b.errf(path, "missing vpc")
			return nil
		}
		v := t.vpcByID[id]
		if v == nil {
			b.errf(path, "VPC %s is not defined", id)
		}
		return v
	}

	for i, s := range t.Subnets {
		p := fmt.Sprintf("$.subnets[%d]", i)
		v := vpcRef(p+".vpc", s.VPCID)
		if v != nil && s.CIDR.IsValid() && !slices.ContainsFunc(v.CIDRs, func(c netip.Prefix) bool { return c.Bits() <= s.CIDR.Bits() && c.Contains(s.CIDR.Addr()) }) {
			b.errf(p+".cidr", "subnet CIDR %s is outside VPC %s (%s)", s.CIDR, v.ID, joinPrefixes(v.CIDRs))
		}
		if v != nil && s.IPv6CIDR.IsValid() {
			if !slices.ContainsFunc(v.IPv6CIDRs, func(c netip.Prefix) bool { return c.Bits() <= s.IPv6CIDR.Bits() && c.Contains(s.IPv6CIDR.Addr()) }) {
				b.errf(p+".ipv6_cidr", "subnet IPv6 CIDR %s is outside the VPC's IPv6 CIDR", s.IPv6CIDR)
			} else if s.IPv6CIDR.Bits() != 64 {
				b.errf(p+".ipv6_cidr", "subnet IPv6 CIDR %s must be a /64", s.IPv6CIDR)
			}
		}
		for j := range i {
			o := t.Subnets[j]
			if o.VPCID == s.VPCID && s.CIDR.IsValid() && o.CIDR.IsValid() && s.CIDR.Overlaps(o.CIDR) {
				b.errf(p+".cidr", "subnet CIDR %s overlaps subnet %s (%s)", s.CIDR, o.ID, o.CIDR)
			}
		}
		if i < len(doc.Subnets) && doc.Subnets[i].RouteTable != "" {
			if rt := t.rtbByID[s.RouteTableID]; rt == nil {
				b.errf(p+".route_table", "route table %s is not defined", s.RouteTableID)
			} else if rt.VPCID != s.VPCID {
				b.errf(p+".route_table", "route table %s belongs to VPC %s, not %s", rt.ID, rt.VPCID, s.VPCID)
			}
		}
		if i < len(doc.Subnets) && doc.Subnets[i].NetworkACL != "" {
			if a := t.aclByID[s.NetworkACLID]; a == nil {
				b.errf(p+".network_acl", "network ACL %s is not defined", s.NetworkACLID)
			} else if a.VPCID != s.VPCID {
				b.errf(p+".network_acl", "network ACL %s belongs to VPC %s, not %s", a.ID, a.VPCID, s.VPCID)
			}
		}
	}

	igwPerVPC := map[string]string{}
	for i, g := range t.InternetGateways {
		p := fmt.Sprintf("$.internet_gateways[%d]", i)
		vpcRef(p+".vpc", g.VPCID)
		if prev, ok := igwPerVPC[g.VPCID]; ok && g.VPCID != "" {
			b.errf(p+".vpc", "VPC %s already has internet gateway %s attached", g.VPCID, prev)
		}
		igwPerVPC[g.VPCID] = g.ID
	}
	for i, pc := range t.Peerings {
		p := fmt.Sprintf("$.vpc_peering_connections[%d]", i)
		vpcRef(p+".requester_vpc", pc.RequesterVPC)
		vpcRef(p+".accepter_vpc", pc.AccepterVPC)
		if pc.RequesterVPC == pc.AccepterVPC && pc.RequesterVPC != "" {
			b.errf(p+".accepter_vpc", "a VPC cannot be peered with itself")
		}
	}
	for i, g := range t.Gateways {
		p := fmt.Sprintf("$.gateways[%d]", i)
		if len(g.VPCIDs) == 0 {
			b.errf(p, "gateway %s is attached to no VPC (vpcs)", g.ID)
		}
		for j, v := range g.VPCIDs {
			vpcRef(fmt.Sprintf("%s.vpcs[%d]", p, j), v)
		}
	}

	// Private addresses: inside the subnet, not reserved, unique.
	owner := map[netip.Addr]string{}
	public := map[netip.Addr]string{}
	checkPrivate := func(path string, s *Subnet, a netip.Addr, eni string) {
		if !a.IsValid() || s == nil {
			return
		}
		if a.Is4() {
			if !s.CIDR.Contains(a) {
				b.errf(path, "%s is outside subnet %s (%s)", a, s.ID, s.CIDR)
				return
			}
			if reserved(s.CIDR, a) {
				b.errf(path, "%s is reserved by AWS in subnet %s (first four and last address)", a, s.ID)
				return
			}
		} else if !s.IPv6CIDR.IsValid() || !s.IPv6CIDR.Contains(a) {
			b.errf(path, "%s is outside the IPv6 CIDR of subnet %s", a, s.ID)
			return
		}
		if prev, ok := owner[a]; ok {
			b.errf(path, "%s is already assigned to %s", a, prev)
			return
		}
		owner[a] = eni
	}
	checkPublic := func(path string, a netip.Addr, eni string) {
		if !a.IsValid() {
			return
		}
		if !a.Is4() || a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() {
			b.errf(path, "%s is not a public IPv4 address", a)
			return
		}
		if prev, ok := public[a]; ok {
			b.errf(path, "public IP %s is already assigned to %s", a, prev)
			return
		}
		public[a] = eni
	}
	for i, n := range t.NATGateways {
		p := fmt.Sprintf("$.nat_gateways[%d]", i)
		s := t.subnetByID[n.SubnetID]
		if n.SubnetID == "" {
			b.errf(p+".subnet", "missing subnet")
		} else if s == nil {
			b.errf(p+".subnet", "subnet %s is not defined", n.SubnetID)
		}
		checkPrivate(p+".private_ip", s, n.PrivateIP, n.InterfaceID)
		checkPublic(p+".public_ip", n.PublicIP, n.ID)
	}
	nNAT := len(doc.NATGateways)
	for i, d := range doc.Interfaces {
		p := fmt.Sprintf("$.network_interfaces[%d]", i)
		e := t.Interfaces[nNAT+i]
		s := t.subnetByID[e.SubnetID]
		if d.Subnet == "" {
			b.errf(p+".subnet", "missing subnet")
		} else if s == nil {
			b.errf(p+".subnet", "subnet %s is not defined", d.Subnet)
		}
		checkPrivate(p+".private_ip", s, e.PrimaryIP, e.ID)
		for j, a := range e.SecondaryIPs {
			checkPrivate(fmt.Sprintf("%s.secondary_private_ips[%d]", p, j), s, a, e.ID)
		}
		for j, a := range e.IPv6Addrs {
			checkPrivate(fmt.Sprintf("%s.ipv6_addresses[%d]", p, j), s, a, e.ID)
		}
		if a, err := netip.ParseAddr(d.PublicIP); err == nil {
			checkPublic(p+".public_ip", a, e.ID)
		}
		for j, eip := range d.ElasticIPs {
			if a, err := netip.ParseAddr(eip.Public); err == nil {
				checkPublic(fmt.Sprintf("%s.elastic_ips[%d].public", p, j), a, e.ID)
			}
		}
		if len(d.SecurityGroups) == 0 && !e.RequesterManaged {
			b.errf(p+".security_groups", "interface %s needs at least one security group", e.ID)
		}
		if len(d.SecurityGroups) > 16 {
			b.errf(p+".security_groups", "interface %s has %d security groups; AWS allows at most 16", e.ID, len(d.SecurityGroups))
		}
		for j, sg := range d.SecurityGroups {
			g := t.sgByID[sg]
			if g == nil {
				b.errf(fmt.Sprintf("%s.security_groups[%d]", p, j), "security group %s is not defined", sg)
			} else if s != nil && g.VPCID != s.VPCID {
				b.errf(fmt.Sprintf("%s.security_groups[%d]", p, j), "security group %s belongs to VPC %s, not %s", sg, g.VPCID, s.VPCID)
			}
		}
	}

	names := map[string]string{}
	for i, d := range doc.SecurityGroups {
		p := fmt.Sprintf("$.security_groups[%d]", i)
		sg := t.SecurityGroups[i]
		vpcRef(p+".vpc", sg.VPCID)
		key := sg.VPCID + "/" + sg.Name
		if prev, ok := names[key]; ok && sg.Name != "" {
			b.errf(p+".name", "security group name %q is already used in VPC %s by %s", sg.Name, sg.VPCID, prev)
		}
		names[key] = sg.ID
		check := func(dir string, rules []SGRule) {
			for j, r := range rules {
				rp := fmt.Sprintf("%s.%s[%d]", p, dir, j)
				if r.GroupID != "" {
					g := t.sgByID[r.GroupID]
					if g == nil {
						b.errf(rp+".group", "referenced security group %s is not defined", r.GroupID)
					} else if g.VPCID != sg.VPCID && !t.peered(g.VPCID, sg.VPCID) {
						b.errf(rp+".group", "referenced security group %s is in VPC %s, which is neither %s nor peered with it", g.ID, g.VPCID, sg.VPCID)
					}
				}
				if r.PrefixListID != "" && t.plByID[r.PrefixListID] == nil {
					b.errf(rp+".prefix_list", "prefix list %s is not defined", r.PrefixListID)
				}
			}
		}
		check("ingress", sg.Ingress)
		if d.Egress != nil {
			check("egress", sg.Egress)
		}
	}

	defaults := map[string]string{}
	for i := range doc.NetworkACLs {
		p := fmt.Sprintf("$.network_acls[%d]", i)
		a := t.NetworkACLs[i]
		vpcRef(p+".vpc", a.VPCID)
		if a.Default {
			if prev, ok := defaults[a.VPCID]; ok {
				b.errf(p+".default", "VPC %s already has default network ACL %s", a.VPCID, prev)
			}
			defaults[a.VPCID] = a.ID
		}
	}

	mains := map[string]string{}
	for i := range doc.RouteTables {
		p := fmt.Sprintf("$.route_tables[%d]", i)
		rt := t.RouteTables[i]
		v := vpcRef(p+".vpc", rt.VPCID)
		if rt.Main {
			if prev, ok := mains[rt.VPCID]; ok {
				b.errf(p+".main", "VPC %s already has main route table %s", rt.VPCID, prev)
			}
			mains[rt.VPCID] = rt.ID
		}
		if v == nil {
			continue
		}
		nLocal := len(rt.Routes) - len(doc.RouteTables[i].Routes)
		seen := map[string]int{}
		for j, r := range rt.Routes[nLocal:] {
			rp := fmt.Sprintf("%s.routes[%d]", p, j)
			dest := r.PrefixListID
			if dest == "" {
				dest = r.Destination.String()
			}
			if _, ok := seen[dest]; ok {
				b.errf(rp+".destination", "duplicate route for %s", dest)
			}
			seen[dest] = j
			if r.PrefixListID != "" && t.plByID[r.PrefixListID] == nil {
				b.errf(rp+".destination", "prefix list %s is not defined", r.PrefixListID)
			}
			if msg := t.checkTarget(v, r); msg != "" {
				b.errf(rp+".target", "%s", msg)
			}
		}
	}
}

func (t *Topology) peered(a, b string) bool {
	for _, p := range t.Peerings {
		if p.Peer(a) == b {
			return true
		}
	}
	return false
}

// checkTarget says what is wrong with a route's target for VPC v, or "".
func (t *Topology) checkTarget(v *VPC, r Route) string {
	switch r.Kind {
	case TargetLocal:
		if !slices.Contains(slices.Concat(v.CIDRs, v.IPv6CIDRs), r.Destination) {
			return fmt.Sprintf("a local route must be for a CIDR of VPC %s, not %s", v.ID, r.Destination)
		}
	case TargetInternetGateway:
		g := t.igwByID[r.TargetID]
		if g == nil {
			return fmt.Sprintf("internet gateway %s is not defined", r.TargetID)
		}
		if g.VPCID != v.ID {
			return fmt.Sprintf("internet gateway %s is attached to VPC %s, not %s", g.ID, g.VPCID, v.ID)
		}
	case TargetNATGateway:
		n := t.natByID[r.TargetID]
		if n == nil {
			return fmt.Sprintf("NAT gateway %s is not defined", r.TargetID)
		}
		if s := t.subnetByID[n.SubnetID]; s != nil && s.VPCID != v.ID {
			return fmt.Sprintf("NAT gateway %s is in VPC %s, not %s", n.ID, s.VPCID, v.ID)
		}
	case TargetPeering:
		p := t.pcxByID[r.TargetID]
		if p == nil {
			return fmt.Sprintf("VPC peering connection %s is not defined", r.TargetID)
		}
		if p.Peer(v.ID) == "" {
			return fmt.Sprintf("VPC peering connection %s does not involve VPC %s", p.ID, v.ID)
		}
	case TargetVPNGateway, TargetTransitGateway, TargetGatewayEndpoint:
		g := t.gwByID[r.TargetID]
		if g == nil {
			return fmt.Sprintf("gateway %s is not defined", r.TargetID)
		}
		if !slices.Contains(g.VPCIDs, v.ID) {
			return fmt.Sprintf("gateway %s is not attached to VPC %s", g.ID, v.ID)
		}
	case TargetInterface:
		e := t.eniByID[r.TargetID]
		if e == nil {
			return fmt.Sprintf("network interface %s is not defined", r.TargetID)
		}
		if e.VPCID != v.ID {
			return fmt.Sprintf("network interface %s is in VPC %s, not %s", e.ID, e.VPCID, v.ID)
		}
	}
	return ""
}

// reserved reports whether a is one of the five addresses AWS reserves in
// every subnet: network, +1 router, +2 DNS, +3 future, broadcast.
func reserved(p netip.Prefix, a netip.Addr) bool {
	base := p.Masked().Addr()
	if a == base || a == base.Next() || a == base.Next().Next() || a == base.Next().Next().Next() {
		return true
	}
	return a == lastAddr(p)
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	hostBits := 32 - p.Bits()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= (1<<hostBits - 1)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}
