package vpc

import (
	"cmp"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"

	"vpcflow/internal/yamlerr"
)

// maxErrors bounds how many problems one Load reports.
const maxErrors = 50

// LoadFile reads and loads a YAML topology file.
func LoadFile(path string) (*Topology, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read topology: %w", err)
	}
	return Load(b, path)
}

// Load decodes a YAML topology strictly (unknown keys are errors), builds it,
// and validates it. Every problem is an *Error with line:column; several are
// returned together as Errors. name is used as the file name in messages.
func Load(data []byte, name string) (t *Topology, err error) {
	doc, err := DecodeDocument(data, name)
	if err != nil {
		return nil, err
	}
	t, errs := FromDocument(doc)
	if len(errs) > 0 {
		return nil, positionErrors(data, name, errs)
	}
	return t, nil
}

// DecodeDocument decodes YAML into a Document without building it.
func DecodeDocument(data []byte, name string) (*Document, error) {
	doc := &Document{}
	if err := yamlerr.Decode(data, name, doc, ErrInvalid); err != nil {
		return nil, err
	}
	return doc, nil
}

// positionErrors resolves the YAML path of each error to a line and column
// and keeps the first maxErrors.
func positionErrors(data []byte, name string, errs Errors) error {
	errs = yamlerr.Position(data, name, ErrInvalid, errs)
	if len(errs) > maxErrors {
		errs = errs[:maxErrors]
	}
	return errs
}

// builder converts a Document into a Topology, collecting errors by path.
type builder struct {
	t    *Topology
	errs Errors
}

func (b *builder) errf(path, format string, args ...any) {
	b.errs = append(b.errs, &Error{Path: path, Msg: fmt.Sprintf(format, args...), Kind: ErrInvalid})
}

func (b *builder) prefix(path, s string, required bool) netip.Prefix {
	if s == "" {
		if required {
			b.errf(path, "missing CIDR")
		}
		return netip.Prefix{}
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		b.errf(path, "invalid CIDR %q: expected address/bits such as 10.0.0.0/16", s)
		return netip.Prefix{}
	}
	// AWS canonicalises 100.68.0.18/18 to 100.68.0.0/18.
	return p.Masked()
}

func (b *builder) addr(path, s string, required bool) netip.Addr {
	if s == "" {
		if required {
			b.errf(path, "missing IP address")
		}
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		b.errf(path, "invalid IP address %q", s)
		return netip.Addr{}
	}
	return a.Unmap()
}

func (b *builder) id(path, s, prefix string) {
	if s == "" {
		b.errf(path, "missing id")
		return
	}
	if !strings.HasPrefix(s, prefix) || len(s) == len(prefix) {
		b.errf(path, "invalid id %q: expected %s...", s, prefix)
	}
}

func idSuffix(id string) string {
	if _, s, ok := strings.Cut(id, "-"); ok {
		return s
	}
	return id
}

// FromDocument builds and validates a Topology. Errors carry YAML paths but
// no positions (Load adds them).
func FromDocument(doc *Document) (*Topology, Errors) {
	b := &builder{t: &Topology{AccountID: doc.Account, Region: doc.Region}}
	t := b.t
	if doc.Account == "" {
		b.errf("$.account", "missing account (12-digit AWS account id)")
	} else if !isAccountID(doc.Account) {
		b.errf("$.account", "invalid account %q: expected 12 digits", doc.Account)
	}
	if doc.Region == "" {
		b.errf("$.region", "missing region")
	} else if !regionName.MatchString(doc.Region) {
		b.errf("$.region", "invalid region %q: expected a region code such as us-east-1", doc.Region)
	}
	if len(doc.VPCs) == 0 {
		b.errf("$", "no vpcs defined")
	}
	for i, d := range doc.VPCs {
		p := fmt.Sprintf("$.vpcs[%d]", i)
		b.id(p+".id", d.ID, "vpc-")
		v := &VPC{ID: d.ID, Name: d.Name}
		if c := b.prefix(p+".cidr", d.CIDR, true); c.IsValid() {
			if !c.Addr().Is4() || c.Bits() < 16 || c.Bits() > 28 {
				b.errf(p+".cidr", "VPC CIDR %s must be IPv4 with a /16 to /28 mask", c)
			}
			v.CIDRs = append(v.CIDRs, c)
		}
		for j, s := range d.SecondaryCIDRs {
			if c := b.prefix(fmt.Sprintf("%s.secondary_cidrs[%d]", p, j), s, true); c.IsValid() {
				v.CIDRs = append(v.CIDRs, c)
			}
		}
		if c := b.prefix(p+".ipv6_cidr", d.IPv6CIDR, false); c.IsValid() {
			if !c.Addr().Is6() {
				b.errf(p+".ipv6_cidr", "ipv6_cidr %s is not IPv6", c)
			}
			v.IPv6CIDRs = append(v.IPv6CIDRs, c)
		}
		v.DefaultSecurityGroupID = d.DefaultSecurityGroup
		t.VPCs = append(t.VPCs, v)
	}
	for i, d := range doc.PrefixLists {
		p := fmt.Sprintf("$.prefix_lists[%d]", i)
		b.id(p+".id", d.ID, "pl-")
		pl := &PrefixList{ID: d.ID, Name: d.Name}
		for j, s := range d.CIDRs {
			if c := b.prefix(fmt.Sprintf("%s.cidrs[%d]", p, j), s, true); c.IsValid() {
				pl.CIDRs = append(pl.CIDRs, c)
			}
		}
		t.PrefixLists = append(t.PrefixLists, pl)
	}
	for i, d := range doc.Subnets {
		p := fmt.Sprintf("$.subnets[%d]", i)
		b.id(p+".id", d.ID, "subnet-")
		s := &Subnet{ID: d.ID, Name: d.Name, VPCID: d.VPC, AZ: d.AZ, AZID: d.AZID,
			RouteTableID: d.RouteTable, NetworkACLID: d.NetworkACL,
			SublocationType: d.SublocationType, SublocationID: d.SublocationID}
		s.CIDR = b.prefix(p+".cidr", d.CIDR, true)
		if s.CIDR.IsValid() && (!s.CIDR.Addr().Is4() || s.CIDR.Bits() < 16 || s.CIDR.Bits() > 28) {
			b.errf(p+".cidr", "subnet CIDR %s must be IPv4 with a /16 to /28 mask", s.CIDR)
		}
		s.IPv6CIDR = b.prefix(p+".ipv6_cidr", d.IPv6CIDR, false)
		if d.AZ == "" {
			b.errf(p+".az", "missing az (Availability Zone name such as %sa)", cmp.Or(doc.Region, "us-east-1"))
		} else if regionName.MatchString(doc.Region) && !strings.HasPrefix(d.AZ, doc.Region) {
			// Local Zones (us-west-2-lax-1a) and Wavelength Zones also
			// start with their region's code.
			b.errf(p+".az", "Availability Zone %s is not in region %s", d.AZ, doc.Region)
		}
		if s.AZID == "" && d.AZ != "" && s.SublocationType == "" {
			s.AZID = defaultAZID(d.AZ)
		}
		switch d.SublocationType {
		case "", "wavelength", "outpost", "localzone":
		default:
			b.errf(p+".sublocation_type", "invalid sublocation_type %q: expected wavelength, outpost or localzone", d.SublocationType)
		}
		t.Subnets = append(t.Subnets, s)
	}
	for i, d := range doc.InternetGateways {
		p := fmt.Sprintf("$.internet_gateways[%d]", i)
		b.id(p+".id", d.ID, "igw-")
		t.InternetGateways = append(t.InternetGateways, &InternetGateway{ID: d.ID, VPCID: d.VPC})
	}
	for i, d := range doc.Peerings {
		p := fmt.Sprintf("$.vpc_peering_connections[%d]", i)
		b.id(p+".id", d.ID, "pcx-")
		t.Peerings = append(t.Peerings, &PeeringConnection{ID: d.ID, RequesterVPC: d.Requester, AccepterVPC: d.Accepter, CrossRegion: d.CrossRegion})
	}
	for i, d := range doc.Gateways {
		p := fmt.Sprintf("$.gateways[%d]", i)
		g := &Gateway{ID: d.ID, VPCIDs: d.VPCs, Service: d.Service}
		switch {
		case strings.HasPrefix(d.ID, "vgw-"):
			g.Kind = TargetVPNGateway
		case strings.HasPrefix(d.ID, "tgw-"):
			g.Kind = TargetTransitGateway
		case strings.HasPrefix(d.ID, "vpce-"):
			g.Kind = TargetGatewayEndpoint
		default:
			b.errf(p+".id", "invalid gateway id %q: expected vgw-..., tgw-... or vpce-...", d.ID)
		}
		t.Gateways = append(t.Gateways, g)
	}
	for i, d := range doc.NATGateways {
		p := fmt.Sprintf("$.nat_gateways[%d]", i)
		b.id(p+".id", d.ID, "nat-")
		b.id(p+".interface_id", d.InterfaceID, "eni-")
		n := &NATGateway{ID: d.ID, Name: d.Name, SubnetID: d.Subnet, InterfaceID: d.InterfaceID,
			Connectivity: cmp.Or(d.Connectivity, "public")}
		n.PrivateIP = b.addr(p+".private_ip", d.PrivateIP, true)
		n.PublicIP = b.addr(p+".public_ip", d.PublicIP, false)
		switch n.Connectivity {
		case "public":
			if d.PublicIP == "" {
				b.errf(p, "public NAT gateway %s needs a public_ip (its Elastic IP)", d.ID)
			}
		case "private":
			if d.PublicIP != "" {
				b.errf(p+".public_ip", "private NAT gateway %s cannot have a public_ip", d.ID)
			}
		default:
			b.errf(p+".connectivity", "invalid connectivity %q: expected public or private", d.Connectivity)
		}
		t.NATGateways = append(t.NATGateways, n)
		e := &Interface{ID: d.InterfaceID, SubnetID: d.Subnet, Type: "nat_gateway", Owner: "nat_gateway",
			RequesterManaged: true, PrimaryIP: n.PrivateIP, Nitro: true, Description: "Interface for NAT Gateway " + d.ID}
		if n.PublicIP.IsValid() {
			e.PublicIPs = []PublicAddress{{Public: n.PublicIP, Private: n.PrivateIP, Elastic: true}}
		}
		t.Interfaces = append(t.Interfaces, e)
	}
	for i, d := range doc.SecurityGroups {
		p := fmt.Sprintf("$.security_groups[%d]", i)
		b.id(p+".id", d.ID, "sg-")
		sg := &SecurityGroup{ID: d.ID, Name: d.Name, Description: d.Description, VPCID: d.VPC}
		if d.Name == "" {
			b.errf(p+".name", "missing name")
		} else if strings.HasPrefix(d.Name, "sg-") {
			b.errf(p+".name", "security group name %q cannot start with sg-", d.Name)
		}
		for j, r := range d.Ingress {
			sg.Ingress = append(sg.Ingress, b.sgRule(fmt.Sprintf("%s.ingress[%d]", p, j), r))
		}
		if d.Egress == nil {
			sg.Egress = defaultEgress()
		} else {
			for j, r := range *d.Egress {
				sg.Egress = append(sg.Egress, b.sgRule(fmt.Sprintf("%s.egress[%d]", p, j), r))
			}
		}
		t.SecurityGroups = append(t.SecurityGroups, sg)
	}
	for i, d := range doc.NetworkACLs {
		p := fmt.Sprintf("$.network_acls[%d]", i)
		b.id(p+".id", d.ID, "acl-")
		acl := &NetworkACL{ID: d.ID, Name: d.Name, VPCID: d.VPC, Default: d.Default}
		acl.Ingress = b.naclEntries(p+".ingress", d.Ingress)
		acl.Egress = b.naclEntries(p+".egress", d.Egress)
		t.NetworkACLs = append(t.NetworkACLs, acl)
	}
	for i, d := range doc.RouteTables {
		p := fmt.Sprintf("$.route_tables[%d]", i)
		b.id(p+".id", d.ID, "rtb-")
		rt := &RouteTable{ID: d.ID, Name: d.Name, VPCID: d.VPC, Main: d.Main}
		for j, r := range d.Routes {
			rp := fmt.Sprintf("%s.routes[%d]", p, j)
			var route Route
			if strings.HasPrefix(r.Destination, "pl-") {
				route.PrefixListID = r.Destination
			} else {
				route.Destination = b.prefix(rp+".destination", r.Destination, true)
			}
			route.TargetID = r.Target
			route.Kind = targetKind(r.Target)
			if route.Kind == 0 {
				b.errf(rp+".target", "invalid route target %q: expected local, blackhole or an igw-, nat-, pcx-, vgw-, tgw-, vpce- or eni- id", r.Target)
			}
			rt.Routes = append(rt.Routes, route)
		}
		t.RouteTables = append(t.RouteTables, rt)
	}
	for i, d := range doc.Interfaces {
		p := fmt.Sprintf("$.network_interfaces[%d]", i)
		b.id(p+".id", d.ID, "eni-")
		e := &Interface{ID: d.ID, Name: d.Name, Description: d.Description, SubnetID: d.Subnet,
			AccountID: d.Account, Type: d.InterfaceType, Owner: d.Owner, RequesterManaged: d.RequesterManaged,
			InstanceID: d.InstanceID, InstanceOwner: d.InstanceOwner, SecurityGroupIDs: d.SecurityGroups, Nitro: true, SourceDestCheck: true}
		if d.Account != "" && d.Account != "unknown" && !isAccountID(d.Account) {
			b.errf(p+".account", "invalid account %q: expected 12 digits or unknown", d.Account)
		}
		if d.InstanceOwner != "" && !isAccountID(d.InstanceOwner) {
			b.errf(p+".instance_owner", "invalid instance_owner %q: expected 12 digits", d.InstanceOwner)
		}
		if d.InstanceOwner != "" && d.InstanceID == "" {
			b.errf(p+".instance_owner", "instance_owner without instance_id")
		}
		if d.Nitro != nil {
			e.Nitro = *d.Nitro
		}
		if d.SourceDestCheck != nil {
			e.SourceDestCheck = *d.SourceDestCheck
		}
		if d.InstanceID != "" && !strings.HasPrefix(d.InstanceID, "i-") {
			b.errf(p+".instance_id", "invalid instance id %q: expected i-...", d.InstanceID)
		}
		if d.InstanceID != "" && d.RequesterManaged {
			b.errf(p+".instance_id", "requester-managed interface %s cannot have an instance_id (flow logs show -)", d.ID)
		}
		e.PrimaryIP = b.addr(p+".private_ip", d.PrivateIP, true)
		if e.PrimaryIP.IsValid() && !e.PrimaryIP.Is4() {
			b.errf(p+".private_ip", "primary private IP %s must be IPv4", e.PrimaryIP)
		}
		for j, s := range d.SecondaryIPs {
			if a := b.addr(fmt.Sprintf("%s.secondary_private_ips[%d]", p, j), s, true); a.IsValid() {
				e.SecondaryIPs = append(e.SecondaryIPs, a)
			}
		}
		for j, s := range d.IPv6Addrs {
			if a := b.addr(fmt.Sprintf("%s.ipv6_addresses[%d]", p, j), s, true); a.IsValid() {
				e.IPv6Addrs = append(e.IPv6Addrs, a)
			}
		}
		if a := b.addr(p+".public_ip", d.PublicIP, false); a.IsValid() {
			e.PublicIPs = append(e.PublicIPs, PublicAddress{Public: a, Private: e.PrimaryIP})
		}
		for j, eip := range d.ElasticIPs {
			ep := fmt.Sprintf("%s.elastic_ips[%d]", p, j)
			pub := b.addr(ep+".public", eip.Public, true)
			priv := e.PrimaryIP
			if eip.Private != "" {
				priv = b.addr(ep+".private", eip.Private, true)
				if priv.IsValid() && !e.HasPrivateIP(priv) {
					b.errf(ep+".private", "%s is not a private IP of interface %s", priv, d.ID)
				}
			}
			if pub.IsValid() {
				e.PublicIPs = append(e.PublicIPs, PublicAddress{Public: pub, Private: priv, Elastic: true})
			}
		}
		t.Interfaces = append(t.Interfaces, e)
	}
	if len(doc.ServiceRanges) > 0 {
		var extra []ServiceRange
		for i, d := range doc.ServiceRanges {
			p := fmt.Sprintf("$.aws_service_ranges[%d]", i)
			c := b.prefix(p+".prefix", d.Prefix, true)
			if d.Service == "" {
				b.errf(p+".service", "missing service code (for example S3)")
			}
			if c.IsValid() {
				extra = append(extra, ServiceRange{Prefix: c, Service: d.Service})
			}
		}
		t.Services = NewServiceRanges(append(SampleServiceRanges(), extra...))
	}
	if t.Services == nil {
		t.Services = DefaultServiceRanges()
	}
	b.addDefaults(doc)
	t.build()
	b.validate(doc)
	if len(b.errs) > 0 {
		return nil, b.errs
	}
	return t, nil
}

// regionName is the shape of an AWS region code: us-east-1,
// us-gov-west-1, cn-north-1, eu-central-2, us-isob-east-1.
var regionName = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+$`)

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// defaultAZID derives an AZ id such as use1-az1 from us-east-1a. Real AZ ids
// are mapped per account; set az_id explicitly to match a real account.
func defaultAZID(az string) string {
	if len(az) < 2 {
		return ""
	}
	letter := az[len(az)-1]
	region := az[:len(az)-1]
	parts := strings.Split(region, "-")
	if letter < 'a' || letter > 'z' || len(parts) < 3 {
		return ""
	}
	compass := map[string]string{"north": "n", "south": "s", "east": "e", "west": "w", "central": "c",
		"northeast": "ne", "southeast": "se", "northwest": "nw", "southwest": "sw"}
	var short strings.Builder
	short.WriteString(parts[0])
	for _, p := range parts[1 : len(parts)-1] {
		if c, ok := compass[p]; ok {
			short.WriteString(c)
		} else if p != "" {
			short.WriteByte(p[0])
		}
	}
	short.WriteString(parts[len(parts)-1])
	return fmt.Sprintf("%s-az%d", short.String(), letter-'a'+1)
}

func targetKind(s string) TargetKind {
	switch {
	case s == "local":
		return TargetLocal
	case s == "blackhole":
		return TargetBlackhole
	case strings.HasPrefix(s, "igw-"):
		return TargetInternetGateway
	case strings.HasPrefix(s, "nat-"):
		return TargetNATGateway
	case strings.HasPrefix(s, "pcx-"):
		return TargetPeering
	case strings.HasPrefix(s, "vgw-"):
		return TargetVPNGateway
	case strings.HasPrefix(s, "tgw-"):
		return TargetTransitGateway
	case strings.HasPrefix(s, "vpce-"):
		return TargetGatewayEndpoint
	case strings.HasPrefix(s, "eni-"):
		return TargetInterface
	}
	return 0
}

func defaultEgress() []SGRule {
	return []SGRule{{Protocol: AnyProtocol, Ports: AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix("0.0.0.0/0")}}
}

func icmpField(v *int) int16 {
	if v == nil {
		return -1
	}
	return int16(*v)
}

func (b *builder) protoPorts(path string, proto, ports Scalar, icmpType, icmpCode *int) (int16, PortRange, int16, int16) {
	pr, err := ParseProtocol(string(proto))
	if err != nil {
		b.errf(path+".protocol", "%v", err)
	}
	r := AllPorts
	if pr == ProtoTCP || pr == ProtoUDP {
		// AWS refuses a TCP or UDP rule without a port range: a
		// forgotten ports: must not open every port.
		switch strings.TrimSpace(string(ports)) {
		case "":
			b.errf(path+".ports", "%s rule needs ports: N, N-M, or 0-65535 (or all) for every port", proto)
		case "-1":
			b.errf(path+".ports", "ports -1 is not a port range for %s: use 0-65535 (or all) for every port", proto)
		default:
			if r, err = ParsePorts(string(ports)); err != nil {
				b.errf(path+".ports", "%v", err)
			}
		}
	} else if ports != "" && ports != "all" {
		b.errf(path+".ports", "ports apply only to tcp and udp, not protocol %s", proto)
	}
	if pr != ProtoICMP && pr != ProtoICMPv6 && (icmpType != nil || icmpCode != nil) {
		b.errf(path+".protocol", "icmp_type and icmp_code apply only to icmp and icmpv6")
	}
	for _, f := range []struct {
		name string
		v    *int
	}{{"icmp_type", icmpType}, {"icmp_code", icmpCode}} {
		if f.v != nil && (*f.v < -1 || *f.v > 255) {
			b.errf(path+"."+f.name, "%s %d out of range -1..255", f.name, *f.v)
		}
	}
	return pr, r, icmpField(icmpType), icmpField(icmpCode)
}

func (b *builder) sgRule(path string, d SGRuleDoc) SGRule {
	var r SGRule
	r.Protocol, r.Ports, r.ICMPType, r.ICMPCode = b.protoPorts(path, d.Protocol, d.Ports, d.ICMPType, d.ICMPCode)
	r.Description = d.Description
	n := 0
	if d.CIDR != "" {
		n++
		r.CIDR = b.prefix(path+".cidr", d.CIDR, true)
	}
	if d.PrefixList != "" {
		n++
		r.PrefixListID = d.PrefixList
	}
	if d.Group != "" {
		n++
		r.GroupID = d.Group
	}
	if n != 1 {
		b.errf(path, "a security group rule needs exactly one of cidr, prefix_list or group (has %d)", n)
	}
	return r
}

func (b *builder) naclEntries(path string, ds []NACLEntryDoc) []NACLEntry {
	var out []NACLEntry
	seen := map[int]bool{}
	for i, d := range ds {
		p := fmt.Sprintf("%s[%d]", path, i)
		var e NACLEntry
		e.RuleNumber = d.Rule
		if d.Rule < 1 || d.Rule > 32766 {
			b.errf(p+".rule", "rule number %d out of range 1..32766", d.Rule)
		} else if seen[d.Rule] {
			b.errf(p+".rule", "duplicate rule number %d", d.Rule)
		}
		seen[d.Rule] = true
		e.Protocol, e.Ports, e.ICMPType, e.ICMPCode = b.protoPorts(p, d.Protocol, d.Ports, d.ICMPType, d.ICMPCode)
		e.CIDR = b.prefix(p+".cidr", d.CIDR, true)
		switch strings.ToLower(d.Action) {
		case "allow":
			e.Allow = true
		case "deny":
		default:
			b.errf(p+".action", "invalid action %q: expected allow or deny", d.Action)
		}
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b NACLEntry) int { return cmp.Compare(a.RuleNumber, b.RuleNumber) })
	return out
}

// addDefaults creates what AWS creates with every VPC: the main route table,
// the default network ACL, the default security group; and the local routes.
func (b *builder) addDefaults(doc *Document) {
	t := b.t
	taken := map[string]bool{}
	for _, r := range t.RouteTables {
		taken[r.ID] = true
	}
	for _, a := range t.NetworkACLs {
		taken[a.ID] = true
	}
	for _, sg := range t.SecurityGroups {
		taken[sg.ID] = true
	}
	// freeID derives an id for a created default that no resource uses.
	freeID := func(prefix, vpcID, alt string) string {
		id := prefix + idSuffix(vpcID)
		for taken[id] {
			id += alt
		}
		taken[id] = true
		return id
	}
	for _, v := range t.VPCs {
		if v.ID == "" {
			continue
		}
		for _, rt := range t.RouteTables {
			if rt.VPCID == v.ID && rt.Main && v.MainRouteTableID == "" {
				v.MainRouteTableID = rt.ID
			}
		}
		if v.MainRouteTableID == "" {
			rt := &RouteTable{ID: freeID("rtb-", v.ID, "m"), VPCID: v.ID, Main: true, Name: "main"}
			t.RouteTables = append(t.RouteTables, rt)
			v.MainRouteTableID = rt.ID
		}
		for _, a := range t.NetworkACLs {
			if a.VPCID == v.ID && a.Default && v.DefaultNetworkACLID == "" {
				v.DefaultNetworkACLID = a.ID
			}
		}
		if v.DefaultNetworkACLID == "" {
			a := DefaultNetworkACL(freeID("acl-", v.ID, "d"), v)
			t.NetworkACLs = append(t.NetworkACLs, a)
			v.DefaultNetworkACLID = a.ID
		}
		for _, sg := range t.SecurityGroups {
			if sg.VPCID == v.ID && sg.Name == "default" {
				v.DefaultSecurityGroupID = sg.ID
			}
		}
		if !slices.ContainsFunc(t.SecurityGroups, func(sg *SecurityGroup) bool { return sg.ID == v.DefaultSecurityGroupID }) {
			id := v.DefaultSecurityGroupID
			if id == "" {
				id = freeID("sg-", v.ID, "d")
			}
			t.SecurityGroups = append(t.SecurityGroups, DefaultSecurityGroup(id, v))
			v.DefaultSecurityGroupID = t.SecurityGroups[len(t.SecurityGroups)-1].ID
		}
	}
	for _, rt := range t.RouteTables {
		v := vpcIn(t.VPCs, rt.VPCID)
		if v == nil {
			continue
		}
		var local []Route
		for _, c := range slices.Concat(v.CIDRs, v.IPv6CIDRs) {
			if !slices.ContainsFunc(rt.Routes, func(r Route) bool { return r.Destination == c }) {
				local = append(local, Route{Destination: c, Kind: TargetLocal, TargetID: "local"})
			}
		}
		rt.Routes = append(local, rt.Routes...)
	}
	for _, s := range t.Subnets {
		v := vpcIn(t.VPCs, s.VPCID)
		if v == nil {
			continue
		}
		if s.RouteTableID == "" {
			s.RouteTableID = v.MainRouteTableID
		}
		if s.NetworkACLID == "" {
			s.NetworkACLID = v.DefaultNetworkACLID
		}
	}
	for _, e := range t.Interfaces {
		if s := subnetIn(t.Subnets, e.SubnetID); s != nil {
			e.VPCID = s.VPCID
		}
	}
	_ = doc
}

func vpcIn(vs []*VPC, id string) *VPC {
	for _, v := range vs {
		if v.ID == id {
			return v
		}
	}
	return nil
}

func subnetIn(ss []*Subnet, id string) *Subnet {
	for _, s := range ss {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// DefaultNetworkACL returns the default network ACL AWS creates for a VPC:
// allow all in both directions (rule 100, and 101 for IPv6).
func DefaultNetworkACL(id string, v *VPC) *NetworkACL {
	a := &NetworkACL{ID: id, VPCID: v.ID, Default: true}
	all := NACLEntry{RuleNumber: 100, Protocol: AnyProtocol, Ports: AllPorts, ICMPType: -1, ICMPCode: -1,
		CIDR: netip.MustParsePrefix("0.0.0.0/0"), Allow: true}
	a.Ingress = append(a.Ingress, all)
	a.Egress = append(a.Egress, all)
	if len(v.IPv6CIDRs) > 0 {
		all.RuleNumber, all.CIDR = 101, netip.MustParsePrefix("::/0")
		a.Ingress = append(a.Ingress, all)
		a.Egress = append(a.Egress, all)
	}
	return a
}

// DefaultSecurityGroup returns the default security group AWS creates for a
// VPC: inbound from its own members, outbound to everywhere.
func DefaultSecurityGroup(id string, v *VPC) *SecurityGroup {
	sg := &SecurityGroup{ID: id, Name: "default", Description: "default VPC security group", VPCID: v.ID}
	sg.Ingress = []SGRule{{Protocol: AnyProtocol, Ports: AllPorts, ICMPType: -1, ICMPCode: -1, GroupID: id}}
	sg.Egress = defaultEgress()
	if len(v.IPv6CIDRs) > 0 {
		sg.Egress = append(sg.Egress, SGRule{Protocol: AnyProtocol, Ports: AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix("::/0")})
	}
	return sg
}
