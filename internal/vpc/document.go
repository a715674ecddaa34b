package vpc

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
)

// Document is the YAML form of a topology (see testdata/three-tier.yaml).
// Addresses, CIDRs, protocols and ports are kept as text here so that every
// value error can be reported with its line and column.
type Document struct {
	Account          string            `yaml:"account"`
	Region           string            `yaml:"region"`
	VPCs             []VPCDoc          `yaml:"vpcs"`
	Subnets          []SubnetDoc       `yaml:"subnets,omitempty"`
	RouteTables      []RouteTableDoc   `yaml:"route_tables,omitempty"`
	InternetGateways []IGWDoc          `yaml:"internet_gateways,omitempty"`
	NATGateways      []NATGatewayDoc   `yaml:"nat_gateways,omitempty"`
	Peerings         []PeeringDoc      `yaml:"vpc_peering_connections,omitempty"`
	Gateways         []GatewayDoc      `yaml:"gateways,omitempty"`
	PrefixLists      []PrefixListDoc   `yaml:"prefix_lists,omitempty"`
	SecurityGroups   []SGDoc           `yaml:"security_groups,omitempty"`
	NetworkACLs      []NACLDoc         `yaml:"network_acls,omitempty"`
	Interfaces       []InterfaceDoc    `yaml:"network_interfaces,omitempty"`
	ServiceRanges    []ServiceRangeDoc `yaml:"aws_service_ranges,omitempty"`
}

// VPCDoc is a VPC.
type VPCDoc struct {
	ID             string   `yaml:"id"`
	Name           string   `yaml:"name,omitempty"`
	CIDR           string   `yaml:"cidr"`
	SecondaryCIDRs []string `yaml:"secondary_cidrs,omitempty"`
	IPv6CIDR       string   `yaml:"ipv6_cidr,omitempty"`
	// DefaultSecurityGroup names the id given to the default security group
	// created when the document declares none named "default" for this VPC.
	DefaultSecurityGroup string `yaml:"default_security_group,omitempty"`
}

// SubnetDoc is a subnet. RouteTable and NetworkACL default to the VPC's main
// route table and default network ACL.
type SubnetDoc struct {
	ID              string `yaml:"id"`
	Name            string `yaml:"name,omitempty"`
	VPC             string `yaml:"vpc"`
	CIDR            string `yaml:"cidr"`
	IPv6CIDR        string `yaml:"ipv6_cidr,omitempty"`
	AZ              string `yaml:"az"`
	AZID            string `yaml:"az_id,omitempty"`
	RouteTable      string `yaml:"route_table,omitempty"`
	NetworkACL      string `yaml:"network_acl,omitempty"`
	SublocationType string `yaml:"sublocation_type,omitempty"`
	SublocationID   string `yaml:"sublocation_id,omitempty"`
}

// RouteTableDoc is a route table. Local routes for the VPC CIDRs are added
// when absent.
type RouteTableDoc struct {
	ID     string     `yaml:"id"`
	Name   string     `yaml:"name,omitempty"`
	VPC    string     `yaml:"vpc"`
	Main   bool       `yaml:"main,omitempty"`
	Routes []RouteDoc `yaml:"routes,omitempty"`
}

// RouteDoc is one route: Destination is a CIDR or a prefix list id (pl-...);
// Target is local, blackhole, or the id of an igw-, nat-, pcx-, vgw-, tgw-,
// vpce- or eni- resource.
type RouteDoc struct {
	Destination string `yaml:"destination"`
	Target      string `yaml:"target"`
}

// IGWDoc is an internet gateway attached to a VPC.
type IGWDoc struct {
	ID  string `yaml:"id"`
	VPC string `yaml:"vpc"`
}

// NATGatewayDoc is a NAT gateway. Its requester-managed interface is created
// from InterfaceID and PrivateIP.
type NATGatewayDoc struct {
	ID           string `yaml:"id"`
	Name         string `yaml:"name,omitempty"`
	Subnet       string `yaml:"subnet"`
	InterfaceID  string `yaml:"interface_id"`
	PrivateIP    string `yaml:"private_ip"`
	PublicIP     string `yaml:"public_ip,omitempty"`
	Connectivity string `yaml:"connectivity,omitempty"` // public (default) | private
}

// PeeringDoc is a VPC peering connection.
type PeeringDoc struct {
	ID          string `yaml:"id"`
	Requester   string `yaml:"requester_vpc"`
	Accepter    string `yaml:"accepter_vpc"`
	CrossRegion bool   `yaml:"cross_region,omitempty"`
}

// GatewayDoc is a virtual private gateway (vgw-), transit gateway (tgw-) or
// gateway VPC endpoint (vpce-); the kind follows the id prefix.
type GatewayDoc struct {
	ID      string   `yaml:"id"`
	VPCs    []string `yaml:"vpcs"`
	Service string   `yaml:"service,omitempty"`
}

// PrefixListDoc is a managed prefix list.
type PrefixListDoc struct {
	ID    string   `yaml:"id"`
	Name  string   `yaml:"name,omitempty"`
	CIDRs []string `yaml:"cidrs"`
}

// SGDoc is a security group. When Egress is absent the group gets the
// allow-all egress rule AWS creates; an explicit empty list means none.
type SGDoc struct {
	ID          string       `yaml:"id"`
	Name        string       `yaml:"name"`
	Description string       `yaml:"description,omitempty"`
	VPC         string       `yaml:"vpc"`
	Ingress     []SGRuleDoc  `yaml:"ingress,omitempty"`
	Egress      *[]SGRuleDoc `yaml:"egress,omitempty"`
}

// SGRuleDoc is one security group rule. Exactly one of CIDR, PrefixList and
// Group is set.
type SGRuleDoc struct {
	Protocol    Scalar `yaml:"protocol" json:"protocol"`
	Ports       Scalar `yaml:"ports,omitempty" json:"ports,omitempty"`
	ICMPType    *int   `yaml:"icmp_type,omitempty" json:"icmp_type,omitempty"`
	ICMPCode    *int   `yaml:"icmp_code,omitempty" json:"icmp_code,omitempty"`
	CIDR        string `yaml:"cidr,omitempty" json:"cidr,omitempty"`
	PrefixList  string `yaml:"prefix_list,omitempty" json:"prefix_list,omitempty"`
	Group       string `yaml:"group,omitempty" json:"group,omitempty"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
}

// NACLDoc is a network ACL. A VPC without a Default ACL gets the allow-all
// default ACL AWS creates.
type NACLDoc struct {
	ID      string         `yaml:"id"`
	Name    string         `yaml:"name,omitempty"`
	VPC     string         `yaml:"vpc"`
	Default bool           `yaml:"default,omitempty"`
	Ingress []NACLEntryDoc `yaml:"ingress,omitempty"`
	Egress  []NACLEntryDoc `yaml:"egress,omitempty"`
}

// NACLEntryDoc is one numbered network ACL rule.
type NACLEntryDoc struct {
	Rule     int    `yaml:"rule" json:"rule"`
	Protocol Scalar `yaml:"protocol" json:"protocol"`
	Ports    Scalar `yaml:"ports,omitempty" json:"ports,omitempty"`
	ICMPType *int   `yaml:"icmp_type,omitempty" json:"icmp_type,omitempty"`
	ICMPCode *int   `yaml:"icmp_code,omitempty" json:"icmp_code,omitempty"`
	CIDR     string `yaml:"cidr" json:"cidr"`
	Action   string `yaml:"action" json:"action"` // allow | deny
}

// InterfaceDoc is a network interface. PrivateIP is the primary private IPv4.
type InterfaceDoc struct {
	ID               string       `yaml:"id"`
	Name             string       `yaml:"name,omitempty"`
	Description      string       `yaml:"description,omitempty"`
	Subnet           string       `yaml:"subnet"`
	Account          string       `yaml:"account,omitempty"`
	InterfaceType    string       `yaml:"interface_type,omitempty"`
	Owner            string       `yaml:"owner,omitempty"`
	RequesterManaged bool         `yaml:"requester_managed,omitempty"`
	InstanceID       string       `yaml:"instance_id,omitempty"`
	InstanceOwner    string       `yaml:"instance_owner,omitempty"` // account of the instance; default the interface's
	PrivateIP        string       `yaml:"private_ip"`
	SecondaryIPs     []string     `yaml:"secondary_private_ips,omitempty"`
	IPv6Addrs        []string     `yaml:"ipv6_addresses,omitempty"`
	PublicIP         string       `yaml:"public_ip,omitempty"`
	ElasticIPs       []ElasticDoc `yaml:"elastic_ips,omitempty"`
	SecurityGroups   []string     `yaml:"security_groups,omitempty"`
	Nitro            *bool        `yaml:"nitro,omitempty"`
	SourceDestCheck  *bool        `yaml:"source_dest_check,omitempty"`
}

// ElasticDoc associates an Elastic IP with one private address of the
// interface (the primary when Private is empty).
type ElasticDoc struct {
	Public  string `yaml:"public"`
	Private string `yaml:"private,omitempty"`
}

// ServiceRangeDoc adds an ip-ranges.json style prefix to the AWS service table.
type ServiceRangeDoc struct {
	Prefix  string `yaml:"prefix"`
	Service string `yaml:"service"`
}

// Scalar is a YAML scalar kept as text, so that `ports: 443`, `ports: "443"`
// and `ports: 1024-65535` all decode.
type Scalar string

// UnmarshalYAML implements yaml.BytesUnmarshaler.
func (s *Scalar) UnmarshalYAML(b []byte) error {
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case nil:
		*s = ""
	case string:
		*s = Scalar(x)
	case int, int64, uint64, float64, bool:
		*s = Scalar(fmt.Sprint(x))
	default:
		return fmt.Errorf("expected a scalar, got %T", v)
	}
	return nil
}

// MarshalYAML writes numbers unquoted.
func (s Scalar) MarshalYAML() (any, error) {
	if n, err := strconv.Atoi(string(s)); err == nil {
		return n, nil
	}
	return string(s), nil
}

// ParseProtocol parses a protocol as rules spell it: tcp, udp, icmp,
// icmpv6 (icmp6), all (-1, any, *) or an IANA number 0-255, in any case,
// surrounding space ignored. all is AnyProtocol. It is the one protocol
// parser of topologies, what-if patches, the EC2 API and the CLI; callers
// that accept fewer spellings check the text before calling it.
func ParseProtocol(s string) (int16, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "all", "-1", "any", "*":
		return AnyProtocol, nil
	case "tcp":
		return ProtoTCP, nil
	case "udp":
		return ProtoUDP, nil
	case "icmp":
		return ProtoICMP, nil
	case "icmpv6", "icmp6":
		return ProtoICMPv6, nil
	case "":
		return 0, fmt.Errorf("protocol is required (tcp, udp, icmp, icmpv6, all or a number 0-255)")
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > 255 {
		return 0, fmt.Errorf("invalid protocol %q: expected tcp, udp, icmp, icmpv6, all or a number 0-255", s)
	}
	return int16(n), nil
}

// ProtocolName renders a protocol number as the rule text uses it.
func ProtocolName(p int16) string {
	switch p {
	case AnyProtocol:
		return "all"
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMP:
		return "icmp"
	case ProtoICMPv6:
		return "icmpv6"
	}
	return strconv.Itoa(int(p))
}

// ParsePorts parses a port range: "443", "1024-65535", or all ports for
// "all", "-1" or "".
func ParsePorts(s string) (PortRange, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "all" || s == "-1" {
		return AllPorts, nil
	}
	lo, hi, found := strings.Cut(s, "-")
	a, err := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
	if err != nil {
		return PortRange{}, fmt.Errorf("invalid port range %q: expected N or N-M with ports 0-65535", s)
	}
	b := a
	if found {
		b, err = strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
		if err != nil {
			return PortRange{}, fmt.Errorf("invalid port range %q: expected N or N-M with ports 0-65535", s)
		}
	}
	if a > b {
		return PortRange{}, fmt.Errorf("invalid port range %q: start is after end", s)
	}
	return PortRange{uint16(a), uint16(b)}, nil
}

// String renders the range as N or N-M.
func (r PortRange) String() string {
	if r.From == r.To {
		return strconv.Itoa(int(r.From))
	}
	return fmt.Sprintf("%d-%d", r.From, r.To)
}
