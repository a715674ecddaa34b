// Package vpc models a virtual AWS VPC: VPCs, subnets, route tables,
// gateways, network interfaces, security groups, network ACLs and prefix
// lists. A Topology is loaded from YAML (Load), imported from the JSON of
// `aws ec2 describe-*` (Import), validated, and mutated through methods that
// mirror the EC2 API (AuthorizeSecurityGroupIngress, CreateNetworkACLEntry, ...).
//
// The package is a pure model: evaluation of rules lives in internal/policy
// and the packet path in internal/dataplane.
package vpc

import (
	"net/netip"
	"slices"
)

// AnyProtocol is the protocol number used for "all protocols" (-1 in the EC2 API).
const AnyProtocol int16 = -1

// Common IANA protocol numbers.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// PortRange is an inclusive range of TCP/UDP ports.
type PortRange struct {
	From, To uint16
}

// AllPorts is the range 0-65535.
var AllPorts = PortRange{0, 65535}

// Contains reports whether p is within the range.
func (r PortRange) Contains(p uint16) bool { return p >= r.From && p <= r.To }

// IsAll reports whether the range covers every port.
func (r PortRange) IsAll() bool { return r.From == 0 && r.To == 65535 }

// Topology is a whole modelled network: one owning account and region, one or
// more VPCs and everything in them. Lookups are O(1) through indexes built by
// Build; use the mutation methods (not direct field writes) once a Topology is
// in use so that indexes and Generation stay right.
type Topology struct {
	AccountID string
	Region    string

	VPCs             []*VPC
	Subnets          []*Subnet
	RouteTables      []*RouteTable
	InternetGateways []*InternetGateway
	NATGateways      []*NATGateway
	Peerings         []*PeeringConnection
	Gateways         []*Gateway // virtual private gateways, transit gateways, gateway endpoints
	SecurityGroups   []*SecurityGroup
	NetworkACLs      []*NetworkACL
	PrefixLists      []*PrefixList
	Interfaces       []*Interface

	// Services maps public addresses to ip-ranges.json service codes for
	// pkt-src-aws-service / pkt-dst-aws-service.
	Services *ServiceRanges

	generation uint64

	vpcByID     map[string]*VPC
	subnetByID  map[string]*Subnet
	rtbByID     map[string]*RouteTable
	igwByID     map[string]*InternetGateway
	natByID     map[string]*NATGateway
	pcxByID     map[string]*PeeringConnection
	gwByID      map[string]*Gateway
	sgByID      map[string]*SecurityGroup
	aclByID     map[string]*NetworkACL
	plByID      map[string]*PrefixList
	eniByID     map[string]*Interface
	eniByIP     map[netip.Addr]*Interface // private IPv4 and IPv6 addresses
	publicByIP  map[netip.Addr]PublicAddress
	sgMembers   map[string][]*Interface
	natByENI    map[string]*NATGateway
	igwByVPC    map[string]*InternetGateway
	subnetsByVP map[string][]*Subnet
}

// PublicAddress is a public IPv4 (auto-assigned or Elastic) mapped by the
// internet gateway onto a private address of an interface.
type PublicAddress struct {
	Public    netip.Addr
	Private   netip.Addr
	Interface *Interface
	Elastic   bool
}

// VPC is one virtual private cloud.
type VPC struct {
	ID        string
	Name      string
	CIDRs     []netip.Prefix // IPv4; the first is the primary CIDR
	IPv6CIDRs []netip.Prefix

	MainRouteTableID       string
	DefaultNetworkACLID    string
	DefaultSecurityGroupID string
}

// Contains reports whether a is inside one of the VPC's CIDR blocks.
func (v *VPC) Contains(a netip.Addr) bool {
	for _, p := range v.CIDRs {
		if p.Contains(a) {
			return true
		}
	}
	for _, p := range v.IPv6CIDRs {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// DNSAddr is the Amazon-provided DNS server address (primary CIDR base + 2).
func (v *VPC) DNSAddr() netip.Addr {
	if len(v.CIDRs) == 0 {
		return netip.Addr{}
	}
	return v.CIDRs[0].Masked().Addr().Next().Next()
}

// Subnet is one subnet of a VPC, in one Availability Zone.
type Subnet struct {
	ID              string
	Name            string
	VPCID           string
	CIDR            netip.Prefix
	IPv6CIDR        netip.Prefix
	AZ              string // e.g. us-east-1a
	AZID            string // e.g. use1-az6
	SublocationType string // "" | wavelength | outpost | localzone
	SublocationID   string

	// RouteTableID and NetworkACLID are the effective associations (explicit
	// or the VPC's main table / default ACL).
	RouteTableID string
	NetworkACLID string
}

// RouterAddr is the reserved VPC router address of the subnet (base + 1).
func (s *Subnet) RouterAddr() netip.Addr { return s.CIDR.Masked().Addr().Next() }

// TargetKind says where a route sends traffic.
type TargetKind uint8

// Route target kinds.
const (
	TargetLocal TargetKind = iota + 1
	TargetInternetGateway
	TargetNATGateway
	TargetPeering
	TargetVPNGateway
	TargetTransitGateway
	TargetGatewayEndpoint
	TargetInterface
	TargetBlackhole
)

var targetKindNames = [...]string{"", "local", "internet-gateway", "nat-gateway", "vpc-peering", "vpn-gateway", "transit-gateway", "gateway-endpoint", "network-interface", "blackhole"}

func (k TargetKind) String() string {
	if int(k) < len(targetKindNames) {
		return targetKindNames[k]
	}
	return "unknown"
}

// Route is one route of a route table.
type Route struct {
	Destination  netip.Prefix // zero when DestinationPrefixList is set
	PrefixListID string       // destination prefix list (gateway endpoints)
	Kind         TargetKind
	TargetID     string // "local" for local routes
}

// RouteTable is a route table; Main marks the VPC's main table.
type RouteTable struct {
	ID     string
	Name   string
	VPCID  string
	Main   bool
	Routes []Route
}

// InternetGateway is an internet gateway attached to one VPC.
type InternetGateway struct {
	ID    string
	VPCID string
}

// NATGateway is a NAT gateway with its own requester-managed interface.
type NATGateway struct {
	ID           string
	Name         string
	SubnetID     string
	InterfaceID  string
	PrivateIP    netip.Addr
	PublicIP     netip.Addr // Elastic IP; invalid for private NAT gateways
	Connectivity string     // "public" or "private"
}

// PeeringConnection is a VPC peering connection between two VPCs.
type PeeringConnection struct {
	ID           string
	RequesterVPC string
	AccepterVPC  string
	// CrossRegion marks an inter-region peering (traffic-path 5 rather than 4).
	CrossRegion bool
}

// Peer returns the VPC at the other end from vpcID, or "".
func (p *PeeringConnection) Peer(vpcID string) string {
	switch vpcID {
	case p.RequesterVPC:
		return p.AccepterVPC
	case p.AccepterVPC:
		return p.RequesterVPC
	}
	return ""
}

// Gateway is a route target that leaves the modelled network: a virtual
// private gateway (vgw-), a transit gateway (tgw-) or a gateway VPC endpoint
// (vpce-).
type Gateway struct {
	ID      string
	Kind    TargetKind // TargetVPNGateway, TargetTransitGateway or TargetGatewayEndpoint
	VPCIDs  []string
	Service string // gateway endpoints: com.amazonaws.<region>.s3 / dynamodb
}

// Interface is an elastic network interface (ENI).
type Interface struct {
	ID          string
	Name        string
	Description string
	SubnetID    string
	VPCID       string
	AccountID   string // owner; "" means the topology account; may be "unknown"

	// Type is the interface type as flow logs report it: "" for an ordinary
	// interface, or nat_gateway, network_load_balancer, vpc_endpoint,
	// transit_gateway, ...
	Type string
	// Owner says what the interface belongs to: instance, elb, rds, lambda,
	// nat_gateway, vpc_endpoint, ... (informational).
	Owner            string
	RequesterManaged bool
	InstanceID       string // "" for requester-managed interfaces
	// InstanceOwner is the account that owns the attached instance; ""
	// means the interface's own account.
	InstanceOwner string

	PrimaryIP    netip.Addr
	SecondaryIPs []netip.Addr
	IPv6Addrs    []netip.Addr
	// PublicIPs are auto-assigned and Elastic IPs mapped to private addresses.
	PublicIPs []PublicAddress

	SecurityGroupIDs []string
	Nitro            bool
	SourceDestCheck  bool
}

// HasPrivateIP reports whether a is one of the interface's private addresses.
func (e *Interface) HasPrivateIP(a netip.Addr) bool {
	return a == e.PrimaryIP || slices.Contains(e.SecondaryIPs, a) || slices.Contains(e.IPv6Addrs, a)
}

// HasSecurityGroup reports whether the interface is associated with sg.
func (e *Interface) HasSecurityGroup(sg string) bool { return slices.Contains(e.SecurityGroupIDs, sg) }

// SecurityGroup is a security group: allow-only rules in two directions.
type SecurityGroup struct {
	ID          string
	Name        string
	Description string
	VPCID       string
	Ingress     []SGRule
	Egress      []SGRule
}

// SGRule is one security group rule with exactly one peer: a CIDR, a prefix
// list or a referenced security group.
type SGRule struct {
	Protocol int16     // IANA number or AnyProtocol
	Ports    PortRange // TCP/UDP only
	ICMPType int16     // ICMP/ICMPv6 only; -1 = any
	ICMPCode int16     // -1 = any

	CIDR         netip.Prefix
	PrefixListID string
	GroupID      string

	Description string
}

// Peer returns the rule's peer as text: a CIDR, pl-... or sg-....
func (r SGRule) Peer() string {
	switch {
	case r.GroupID != "":
		return r.GroupID
	case r.PrefixListID != "":
		return r.PrefixListID
	}
	return r.CIDR.String()
}

// sameRule compares the matching parts of two rules (description ignored), as
// RevokeSecurityGroup* does.
func (r SGRule) sameRule(o SGRule) bool {
	r.Description, o.Description = "", ""
	return r == o
}

// NetworkACL is a network ACL: numbered stateless rules in two directions.
// Entries are kept sorted by rule number; the implicit "*" deny is not stored.
type NetworkACL struct {
	ID      string
	Name    string
	VPCID   string
	Default bool
	Ingress []NACLEntry
	Egress  []NACLEntry
}

// NACLEntry is one numbered network ACL rule.
type NACLEntry struct {
	RuleNumber int
	Protocol   int16
	Ports      PortRange // TCP/UDP only
	ICMPType   int16     // -1 = any
	ICMPCode   int16     // -1 = any
	CIDR       netip.Prefix
	Allow      bool
}

// PrefixList is a managed prefix list (pl-...).
type PrefixList struct {
	ID    string
	Name  string
	CIDRs []netip.Prefix
}

// Contains reports whether a is in one of the list's CIDRs.
func (p *PrefixList) Contains(a netip.Addr) bool {
	for _, c := range p.CIDRs {
		if c.Contains(a) {
			return true
		}
	}
	return false
}

// Generation increases on every mutation; caches compare it to know when
// compiled rules or routes are stale.
func (t *Topology) Generation() uint64 { return t.generation }

// VPC returns the VPC with the id, or nil.
func (t *Topology) VPC(id string) *VPC { return t.vpcByID[id] }

// Subnet returns the subnet with the id, or nil.
func (t *Topology) Subnet(id string) *Subnet { return t.subnetByID[id] }

// RouteTable returns the route table with the id, or nil.
func (t *Topology) RouteTable(id string) *RouteTable { return t.rtbByID[id] }

// SecurityGroup returns the security group with the id, or nil.
func (t *Topology) SecurityGroup(id string) *SecurityGroup { return t.sgByID[id] }

// NetworkACL returns the network ACL with the id, or nil.
func (t *Topology) NetworkACL(id string) *NetworkACL { return t.aclByID[id] }

// PrefixList returns the prefix list with the id, or nil.
func (t *Topology) PrefixList(id string) *PrefixList { return t.plByID[id] }

// NATGateway returns the NAT gateway with the id, or nil.
func (t *Topology) NATGateway(id string) *NATGateway { return t.natByID[id] }

// NATGatewayByInterface returns the NAT gateway that owns the interface, or nil.
func (t *Topology) NATGatewayByInterface(eniID string) *NATGateway { return t.natByENI[eniID] }

// InternetGateway returns the internet gateway with the id, or nil.
func (t *Topology) InternetGateway(id string) *InternetGateway { return t.igwByID[id] }

// InternetGatewayOf returns the internet gateway attached to the VPC, or nil.
func (t *Topology) InternetGatewayOf(vpcID string) *InternetGateway { return t.igwByVPC[vpcID] }

// Peering returns the peering connection with the id, or nil.
func (t *Topology) Peering(id string) *PeeringConnection { return t.pcxByID[id] }

// Gateway returns the vgw/tgw/vpce gateway with the id, or nil.
func (t *Topology) Gateway(id string) *Gateway { return t.gwByID[id] }

// Interface returns the network interface with the id, or nil.
func (t *Topology) Interface(id string) *Interface { return t.eniByID[id] }

// InterfaceByPrivateIP returns the interface owning the private (primary,
// secondary or IPv6) address, or nil.
func (t *Topology) InterfaceByPrivateIP(a netip.Addr) *Interface { return t.eniByIP[a.Unmap()] }

// PublicAddress returns the mapping of a public or Elastic IP, if any.
func (t *Topology) PublicAddress(a netip.Addr) (PublicAddress, bool) {
	p, ok := t.publicByIP[a.Unmap()]
	return p, ok
}

// InterfaceByIP returns the interface owning a, whether a is private, public
// or Elastic.
func (t *Topology) InterfaceByIP(a netip.Addr) *Interface {
	if e := t.InterfaceByPrivateIP(a); e != nil {
		return e
	}
	if p, ok := t.PublicAddress(a); ok {
		return p.Interface
	}
	return nil
}

// InterfacesInVPC lists the interfaces of a VPC, in topology order.
func (t *Topology) InterfacesInVPC(vpcID string) []*Interface {
	var out []*Interface
	for _, e := range t.Interfaces {
		if e.VPCID == vpcID {
			out = append(out, e)
		}
	}
	return out
}

// InterfacesInSubnet lists the interfaces of a subnet, in topology order.
func (t *Topology) InterfacesInSubnet(subnetID string) []*Interface {
	var out []*Interface
	for _, e := range t.Interfaces {
		if e.SubnetID == subnetID {
			out = append(out, e)
		}
	}
	return out
}

// SubnetsInVPC lists the subnets of a VPC.
func (t *Topology) SubnetsInVPC(vpcID string) []*Subnet { return t.subnetsByVP[vpcID] }

// SecurityGroupMembers lists the interfaces associated with the group.
func (t *Topology) SecurityGroupMembers(sgID string) []*Interface { return t.sgMembers[sgID] }

// IsGroupMember reports whether a is a private address of an interface that
// has the security group. Public addresses never match a group reference.
func (t *Topology) IsGroupMember(sgID string, a netip.Addr) bool {
	e := t.eniByIP[a.Unmap()]
	return e != nil && e.HasSecurityGroup(sgID)
}

// PrefixListContains reports whether a is in the prefix list.
func (t *Topology) PrefixListContains(plID string, a netip.Addr) bool {
	pl := t.plByID[plID]
	return pl != nil && pl.Contains(a)
}

// AccountOf returns the account that owns the interface.
func (t *Topology) AccountOf(e *Interface) string {
	if e.AccountID != "" {
		return e.AccountID
	}
	return t.AccountID
}

// ShownInstanceID is the instance-id flow logs of the topology's account
// show for e: "" (rendered "-") for a requester-managed interface or an
// instance another account owns, since AWS gives the instance id only "if
// the instance is owned by you" (spec §1.2, instance-id). Flow logs are
// created in the topology's account, so "you" is that account.
func (t *Topology) ShownInstanceID(e *Interface) string {
	owner := e.InstanceOwner
	if owner == "" {
		owner = t.AccountOf(e)
	}
	if e.RequesterManaged || owner != t.AccountID {
		return ""
	}
	return e.InstanceID
}

// SubnetOf returns the subnet of an address inside a VPC of the topology.
func (t *Topology) SubnetOf(a netip.Addr) *Subnet {
	for _, s := range t.Subnets {
		if s.CIDR.Contains(a) || (s.IPv6CIDR.IsValid() && s.IPv6CIDR.Contains(a)) {
			return s
		}
	}
	return nil
}

// VPCOf returns the VPC whose CIDRs contain a, or nil.
func (t *Topology) VPCOf(a netip.Addr) *VPC {
	for _, v := range t.VPCs {
		if v.Contains(a) {
			return v
		}
	}
	return nil
}

// LookupRoute does a longest-prefix match of dst in the route table.
// Prefix-list routes match when dst is in the list; a CIDR route of the same
// length wins over a prefix-list route.
func (t *Topology) LookupRoute(rtb *RouteTable, dst netip.Addr) (Route, bool) {
	best, bestBits, found := Route{}, -1, false
	for _, r := range rtb.Routes {
		bits := -1
		if r.PrefixListID != "" {
			pl := t.plByID[r.PrefixListID]
			if pl == nil {
				continue
			}
			for _, c := range pl.CIDRs {
				if c.Contains(dst) && c.Bits() > bits {
					bits = c.Bits()
				}
			}
			if bits < 0 || bits <= bestBits {
				continue
			}
		} else {
			if !r.Destination.Contains(dst) {
				continue
			}
			bits = r.Destination.Bits()
			if bits < bestBits || (bits == bestBits && best.PrefixListID == "") {
				continue
			}
		}
		best, bestBits, found = r, bits, true
	}
	return best, found
}

// build (re)creates every index. It does not validate.
func (t *Topology) build() {
	t.vpcByID = map[string]*VPC{}
	t.subnetByID = map[string]*Subnet{}
	t.rtbByID = map[string]*RouteTable{}
	t.igwByID = map[string]*InternetGateway{}
	t.natByID = map[string]*NATGateway{}
	t.pcxByID = map[string]*PeeringConnection{}
	t.gwByID = map[string]*Gateway{}
	t.sgByID = map[string]*SecurityGroup{}
	t.aclByID = map[string]*NetworkACL{}
	t.plByID = map[string]*PrefixList{}
	t.eniByID = map[string]*Interface{}
	t.eniByIP = map[netip.Addr]*Interface{}
	t.publicByIP = map[netip.Addr]PublicAddress{}
	t.natByENI = map[string]*NATGateway{}
	t.igwByVPC = map[string]*InternetGateway{}
	t.subnetsByVP = map[string][]*Subnet{}
	for _, v := range t.VPCs {
		t.vpcByID[v.ID] = v
	}
	for _, s := range t.Subnets {
		t.subnetByID[s.ID] = s
		t.subnetsByVP[s.VPCID] = append(t.subnetsByVP[s.VPCID], s)
	}
	for _, r := range t.RouteTables {
		t.rtbByID[r.ID] = r
	}
	for _, g := range t.InternetGateways {
		t.igwByID[g.ID] = g
		t.igwByVPC[g.VPCID] = g
	}
	for _, n := range t.NATGateways {
		t.natByID[n.ID] = n
		t.natByENI[n.InterfaceID] = n
	}
	for _, p := range t.Peerings {
		t.pcxByID[p.ID] = p
	}
	for _, g := range t.Gateways {
		t.gwByID[g.ID] = g
	}
	for _, s := range t.SecurityGroups {
		t.sgByID[s.ID] = s
	}
	for _, a := range t.NetworkACLs {
		t.aclByID[a.ID] = a
	}
	for _, p := range t.PrefixLists {
		t.plByID[p.ID] = p
	}
	for _, e := range t.Interfaces {
		t.eniByID[e.ID] = e
		t.indexInterfaceIPs(e)
	}
	t.rebuildMembers()
}

func (t *Topology) indexInterfaceIPs(e *Interface) {
	if e.PrimaryIP.IsValid() {
		t.eniByIP[e.PrimaryIP] = e
	}
	for _, a := range e.SecondaryIPs {
		t.eniByIP[a] = e
	}
	for _, a := range e.IPv6Addrs {
		t.eniByIP[a] = e
	}
	for _, p := range e.PublicIPs {
		p.Interface = e
		t.publicByIP[p.Public] = p
	}
}

func (t *Topology) rebuildMembers() {
	t.sgMembers = map[string][]*Interface{}
	for _, e := range t.Interfaces {
		for _, sg := range e.SecurityGroupIDs {
			t.sgMembers[sg] = append(t.sgMembers[sg], e)
		}
	}
}
