package api

import (
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"

	"vpcflow/internal/vpc"
)

// VPCActions answers the EC2 describe calls for the modelled VPC and applies
// security group and network ACL changes to it, so that a user can change
// rules live and watch the flow logs change.
type VPCActions struct {
	// With runs fn on the topology, serialised with the dataplane that
	// reads it (dataplane.Dataplane.Mutate).
	With func(fn func(t *vpc.Topology) error) error
	// Changed is called after a successful mutation; may be nil.
	Changed func()
}

// LockedTopology serialises access to a topology with a mutex, for a
// VPCActions without a dataplane.
func LockedTopology(t *vpc.Topology) func(fn func(*vpc.Topology) error) error {
	var mu sync.Mutex
	return func(fn func(*vpc.Topology) error) error {
		mu.Lock()
		defer mu.Unlock()
		return fn(t)
	}
}

// Actions lists the EC2 actions VPCActions handles.
func (a *VPCActions) Actions() []string {
	return []string{"DescribeVpcs", "DescribeSubnets", "DescribeSecurityGroups", "DescribeNetworkAcls",
		"DescribeNetworkInterfaces", "DescribeRouteTables",
		"AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress",
		"CreateNetworkAclEntry", "ReplaceNetworkAclEntry", "DeleteNetworkAclEntry"}
}

// EC2Action implements EC2Backend.
func (a *VPCActions) EC2Action(r *http.Request, account, action string, p Params) (out any, err error) {
	err = a.With(func(t *vpc.Topology) error {
		out, err = a.action(t, RequestID(r), account, action, p)
		return err
	})
	if err == nil && a.Changed != nil && isMutation(action) {
		a.Changed()
	}
	return out, err
}

// isMutation reports whether an action changes rules.
func isMutation(action string) bool {
	return strings.HasPrefix(action, "Authorize") || strings.HasPrefix(action, "Revoke") || strings.HasSuffix(action, "NetworkAclEntry")
}

func (a *VPCActions) action(t *vpc.Topology, rid, account, action string, p Params) (any, error) {
	// A key of another account sees an empty network.
	visible := account == t.AccountID
	switch action {
	case "DescribeVpcs":
		return a.describeVpcs(t, rid, visible, p)
	case "DescribeSubnets":
		return a.describeSubnets(t, rid, visible, p)
	case "DescribeSecurityGroups":
		return a.describeSecurityGroups(t, rid, visible, p)
	case "DescribeNetworkAcls":
		return a.describeNetworkAcls(t, rid, visible, p)
	case "DescribeNetworkInterfaces":
		return a.describeNetworkInterfaces(t, rid, visible, p)
	case "DescribeRouteTables":
		return a.describeRouteTables(t, rid, visible, p)
	case "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress":
		return a.changeSecurityGroup(t, rid, visible, action, p)
	case "CreateNetworkAclEntry", "ReplaceNetworkAclEntry", "DeleteNetworkAclEntry":
		return a.changeNetworkACL(t, rid, visible, action, p)
	}
	return nil, errInvalidAction(action)
}

func notFound(code, what, id string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf("The %s '%s' does not exist", what, id)}
}

// selectIDs checks that every requested id exists (AWS fails the whole call
// for one unknown id) and returns the requested set, or nil for "all".
func selectIDs(p Params, param, code, what string, exists func(string) bool, visible bool) (map[string]bool, error) {
	ids := p.List(param)
	if len(ids) == 0 {
		return nil, nil
	}
	set := map[string]bool{}
	for _, id := range ids {
		if !visible || !exists(id) {
			return nil, notFound(code, what, id)
		}
		set[id] = true
	}
	return set, nil
}

// filterMatch applies Describe filters: every filter must match; within a
// filter any value may match; values support the * wildcard.
func filterMatch(filters []Filter, get func(name string) ([]string, bool)) (bool, error) {
	for _, f := range filters {
		have, known := get(f.Name)
		if !known {
			if strings.HasPrefix(f.Name, "tag:") || f.Name == "tag-key" {
				have = nil
			} else {
				return false, errInvalidParameter(fmt.Sprintf("The filter '%s' is invalid", f.Name))
			}
		}
		ok := false
		for _, want := range f.Values {
			for _, h := range have {
				if wildcard(want, h) {
					ok = true
				}
			}
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

func wildcard(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == s
	}
	// Simple glob: * any run, ? one character.
	var match func(p, s string) bool
	match = func(p, s string) bool {
		for len(p) > 0 {
			switch p[0] {
			case '*':
				for i := 0; i <= len(s); i++ {
					if match(p[1:], s[i:]) {
						return true
					}
				}
				return false
			case '?':
				if s == "" {
					return false
				}
			default:
				if s == "" || s[0] != p[0] {
					return false
				}
			}
			p, s = p[1:], s[1:]
		}
		return s == ""
	}
	return match(pattern, s)
}

type tagXML struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

func nameTags(name string) []tagXML {
	if name == "" {
		return nil
	}
	return []tagXML{{"Name", name}}
}

func one(s string) []string { return []string{s} }

// ---- DescribeVpcs ----

type cidrAssocXML struct {
	CIDR          string `xml:"cidrBlock,omitempty"`
	IPv6CIDR      string `xml:"ipv6CidrBlock,omitempty"`
	AssociationID string `xml:"associationId"`
	State         string `xml:"cidrBlockState>state,omitempty"`
	IPv6State     string `xml:"ipv6CidrBlockState>state,omitempty"`
}

type vpcXML struct {
	VpcID       string         `xml:"vpcId"`
	OwnerID     string         `xml:"ownerId"`
	State       string         `xml:"state"`
	CIDR        string         `xml:"cidrBlock"`
	CIDRAssoc   []cidrAssocXML `xml:"cidrBlockAssociationSet>item"`
	IPv6Assoc   []cidrAssocXML `xml:"ipv6CidrBlockAssociationSet>item,omitempty"`
	DHCPOptions string         `xml:"dhcpOptionsId"`
	Tags        []tagXML       `xml:"tagSet>item,omitempty"`
	Tenancy     string         `xml:"instanceTenancy"`
	IsDefault   bool           `xml:"isDefault"`
}

func assocID(kind, id string, i int) string {
	suffix := strings.TrimPrefix(id[strings.IndexByte(id, '-')+1:], "")
	return fmt.Sprintf("%s-%s%d", kind, suffix, i)
}

func (a *VPCActions) describeVpcs(t *vpc.Topology, rid string, visible bool, p Params) (any, error) {
	ids, err := selectIDs(p, "VpcId", "InvalidVpcID.NotFound", "vpc ID", func(id string) bool { return t.VPC(id) != nil }, visible)
	if err != nil {
		return nil, err
	}
	var items []vpcXML
	for _, v := range t.VPCs {
		if !visible || ids != nil && !ids[v.ID] {
			continue
		}
		ok, err := filterMatch(p.Filters(), func(name string) ([]string, bool) {
			switch name {
			case "vpc-id":
				return one(v.ID), true
			case "cidr", "cidr-block-association.cidr-block":
				return prefixStrings(v.CIDRs), true
			case "owner-id":
				return one(t.AccountID), true
			case "state":
				return one("available"), true
			case "tag:Name":
				return one(v.Name), true
			case "is-default":
				return one("false"), true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		x := vpcXML{VpcID: v.ID, OwnerID: t.AccountID, State: "available", DHCPOptions: "default", Tenancy: "default", Tags: nameTags(v.Name)}
		if len(v.CIDRs) > 0 {
			x.CIDR = v.CIDRs[0].String()
		}
		for i, c := range v.CIDRs {
			x.CIDRAssoc = append(x.CIDRAssoc, cidrAssocXML{CIDR: c.String(), AssociationID: assocID("vpc-cidr-assoc", v.ID, i), State: "associated"})
		}
		for i, c := range v.IPv6CIDRs {
			x.IPv6Assoc = append(x.IPv6Assoc, cidrAssocXML{IPv6CIDR: c.String(), AssociationID: assocID("vpc-cidr-assoc", v.ID, 100+i), IPv6State: "associated"})
		}
		items = append(items, x)
	}
	return struct {
		XMLName   xml.Name `xml:"DescribeVpcsResponse"`
		NS        string   `xml:"xmlns,attr"`
		RequestID string   `xml:"requestId"`
		Items     []vpcXML `xml:"vpcSet>item"`
	}{NS: EC2Namespace, RequestID: rid, Items: items}, nil
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// ---- DescribeSubnets ----

type subnetXML struct {
	SubnetID     string         `xml:"subnetId"`
	SubnetArn    string         `xml:"subnetArn"`
	State        string         `xml:"state"`
	OwnerID      string         `xml:"ownerId"`
	VpcID        string         `xml:"vpcId"`
	CIDR         string         `xml:"cidrBlock"`
	IPv6Assoc    []cidrAssocXML `xml:"ipv6CidrBlockAssociationSet>item,omitempty"`
	AvailableIPs int            `xml:"availableIpAddressCount"`
	AZ           string         `xml:"availabilityZone"`
	AZID         string         `xml:"availabilityZoneId"`
	DefaultForAz bool           `xml:"defaultForAz"`
	MapPublicIP  bool           `xml:"mapPublicIpOnLaunch"`
	AssignIPv6   bool           `xml:"assignIpv6AddressOnCreation"`
	Tags         []tagXML       `xml:"tagSet>item,omitempty"`
}

func (a *VPCActions) describeSubnets(t *vpc.Topology, rid string, visible bool, p Params) (any, error) {
	ids, err := selectIDs(p, "SubnetId", "InvalidSubnetID.NotFound", "subnet ID", func(id string) bool { return t.Subnet(id) != nil }, visible)
	if err != nil {
		return nil, err
	}
	var items []subnetXML
	for _, s := range t.Subnets {
		if !visible || ids != nil && !ids[s.ID] {
			continue
		}
		ok, err := filterMatch(p.Filters(), func(name string) ([]string, bool) {
			switch name {
			case "subnet-id":
				return one(s.ID), true
			case "vpc-id":
				return one(s.VPCID), true
			case "availability-zone":
				return one(s.AZ), true
			case "availability-zone-id":
				return one(s.AZID), true
			case "cidr-block", "cidr":
				return one(s.CIDR.String()), true
			case "state":
				return one("available"), true
			case "owner-id":
				return one(t.AccountID), true
			case "tag:Name":
				return one(s.Name), true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		used := len(t.InterfacesInSubnet(s.ID))
		x := subnetXML{SubnetID: s.ID, SubnetArn: fmt.Sprintf("arn:aws:ec2:%s:%s:subnet/%s", t.Region, t.AccountID, s.ID),
			State: "available", OwnerID: t.AccountID, VpcID: s.VPCID, CIDR: s.CIDR.String(),
			AvailableIPs: max(0, 1<<(32-s.CIDR.Bits())-5-used), AZ: s.AZ, AZID: s.AZID, Tags: nameTags(s.Name)}
		if s.IPv6CIDR.IsValid() {
			x.IPv6Assoc = []cidrAssocXML{{IPv6CIDR: s.IPv6CIDR.String(), AssociationID: assocID("subnet-cidr-assoc", s.ID, 0), IPv6State: "associated"}}
		}
		items = append(items, x)
	}
	return struct {
		XMLName   xml.Name    `xml:"DescribeSubnetsResponse"`
		NS        string      `xml:"xmlns,attr"`
		RequestID string      `xml:"requestId"`
		Items     []subnetXML `xml:"subnetSet>item"`
	}{NS: EC2Namespace, RequestID: rid, Items: items}, nil
}

// ---- DescribeSecurityGroups ----

type ipPermXML struct {
	Protocol   string         `xml:"ipProtocol"`
	FromPort   *int           `xml:"fromPort,omitempty"`
	ToPort     *int           `xml:"toPort,omitempty"`
	Groups     []groupPairXML `xml:"groups>item"`
	IPRanges   []ipRangeXML   `xml:"ipRanges>item"`
	IPv6Ranges []ipRangeXML   `xml:"ipv6Ranges>item"`
	PrefixIDs  []prefixIDXML  `xml:"prefixListIds>item"`
}

type groupPairXML struct {
	UserID      string `xml:"userId"`
	GroupID     string `xml:"groupId"`
	Description string `xml:"description,omitempty"`
}

type ipRangeXML struct {
	CIDR        string `xml:"cidrIp,omitempty"`
	CIDRv6      string `xml:"cidrIpv6,omitempty"`
	Description string `xml:"description,omitempty"`
}

type prefixIDXML struct {
	ID          string `xml:"prefixListId"`
	Description string `xml:"description,omitempty"`
}

type sgXML struct {
	OwnerID     string      `xml:"ownerId"`
	GroupID     string      `xml:"groupId"`
	GroupName   string      `xml:"groupName"`
	Description string      `xml:"groupDescription"`
	VpcID       string      `xml:"vpcId"`
	Ingress     []ipPermXML `xml:"ipPermissions>item"`
	Egress      []ipPermXML `xml:"ipPermissionsEgress>item"`
}

func protoString(p int16) string {
	switch p {
	case vpc.AnyProtocol:
		return "-1"
	case vpc.ProtoTCP:
		return "tcp"
	case vpc.ProtoUDP:
		return "udp"
	case vpc.ProtoICMP:
		return "icmp"
	case vpc.ProtoICMPv6:
		return "icmpv6"
	}
	return strconv.Itoa(int(p))
}

func permXML(account string, r vpc.SGRule) ipPermXML {
	x := ipPermXML{Protocol: protoString(r.Protocol)}
	switch r.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		from, to := int(r.Ports.From), int(r.Ports.To)
		x.FromPort, x.ToPort = &from, &to
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		from, to := int(r.ICMPType), int(r.ICMPCode)
		x.FromPort, x.ToPort = &from, &to
	}
	switch {
	case r.GroupID != "":
		x.Groups = []groupPairXML{{account, r.GroupID, r.Description}}
	case r.PrefixListID != "":
		x.PrefixIDs = []prefixIDXML{{r.PrefixListID, r.Description}}
	case r.CIDR.Addr().Is6():
		x.IPv6Ranges = []ipRangeXML{{CIDRv6: r.CIDR.String(), Description: r.Description}}
	default:
		x.IPRanges = []ipRangeXML{{CIDR: r.CIDR.String(), Description: r.Description}}
	}
	return x
}

func (a *VPCActions) describeSecurityGroups(t *vpc.Topology, rid string, visible bool, p Params) (any, error) {
	ids, err := selectIDs(p, "GroupId", "InvalidGroup.NotFound", "security group", func(id string) bool { return t.SecurityGroup(id) != nil }, visible)
	if err != nil {
		return nil, err
	}
	names := p.List("GroupName")
	var items []sgXML
	for _, g := range t.SecurityGroups {
		if !visible || ids != nil && !ids[g.ID] || len(names) > 0 && !slices.Contains(names, g.Name) {
			continue
		}
		ok, err := filterMatch(p.Filters(), func(name string) ([]string, bool) {
			switch name {
			case "group-id":
				return one(g.ID), true
			case "group-name":
				return one(g.Name), true
			case "vpc-id":
				return one(g.VPCID), true
			case "description":
				return one(g.Description), true
			case "owner-id":
				return one(t.AccountID), true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		x := sgXML{OwnerID: t.AccountID, GroupID: g.ID, GroupName: g.Name, Description: g.Description, VpcID: g.VPCID}
		for _, r := range g.Ingress {
			x.Ingress = append(x.Ingress, permXML(t.AccountID, r))
		}
		for _, r := range g.Egress {
			x.Egress = append(x.Egress, permXML(t.AccountID, r))
		}
		items = append(items, x)
	}
	return struct {
		XMLName   xml.Name `xml:"DescribeSecurityGroupsResponse"`
		NS        string   `xml:"xmlns,attr"`
		RequestID string   `xml:"requestId"`
		Items     []sgXML  `xml:"securityGroupInfo>item"`
	}{NS: EC2Namespace, RequestID: rid, Items: items}, nil
}

// ---- DescribeNetworkAcls ----

type aclEntryXML struct {
	RuleNumber int       `xml:"ruleNumber"`
	Protocol   string    `xml:"protocol"`
	RuleAction string    `xml:"ruleAction"`
	Egress     bool      `xml:"egress"`
	CIDR       string    `xml:"cidrBlock,omitempty"`
	CIDRv6     string    `xml:"ipv6CidrBlock,omitempty"`
	ICMP       *icmpXML  `xml:"icmpTypeCode,omitempty"`
	Ports      *portsXML `xml:"portRange,omitempty"`
}

type icmpXML struct {
	Code int `xml:"code"`
	Type int `xml:"type"`
}

type portsXML struct {
	From int `xml:"from"`
	To   int `xml:"to"`
}

type aclAssocXML struct {
	ID       string `xml:"networkAclAssociationId"`
	ACLID    string `xml:"networkAclId"`
	SubnetID string `xml:"subnetId"`
}

type aclXML struct {
	ID      string        `xml:"networkAclId"`
	VpcID   string        `xml:"vpcId"`
	Default bool          `xml:"default"`
	Entries []aclEntryXML `xml:"entrySet>item"`
	Assoc   []aclAssocXML `xml:"associationSet>item"`
	Tags    []tagXML      `xml:"tagSet>item,omitempty"`
	OwnerID string        `xml:"ownerId"`
}

func aclEntry(e vpc.NACLEntry, egress bool) aclEntryXML {
	x := aclEntryXML{RuleNumber: e.RuleNumber, Protocol: strconv.Itoa(int(e.Protocol)), RuleAction: "deny", Egress: egress}
	if e.Allow {
		x.RuleAction = "allow"
	}
	if e.CIDR.Addr().Is6() {
		x.CIDRv6 = e.CIDR.String()
	} else {
		x.CIDR = e.CIDR.String()
	}
	switch e.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		x.Ports = &portsXML{int(e.Ports.From), int(e.Ports.To)}
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		x.ICMP = &icmpXML{int(e.ICMPCode), int(e.ICMPType)}
	}
	return x
}

// starEntries are the implicit "*" deny rules (rule number 32767), which
// DescribeNetworkAcls lists.
func starEntries(hasIPv6 bool, egress bool) []aclEntryXML {
	out := []aclEntryXML{{RuleNumber: 32767, Protocol: "-1", RuleAction: "deny", Egress: egress, CIDR: "0.0.0.0/0"}}
	if hasIPv6 {
		out = append(out, aclEntryXML{RuleNumber: 32768, Protocol: "-1", RuleAction: "deny", Egress: egress, CIDRv6: "::/0"})
	}
	return out
}

func (a *VPCActions) describeNetworkAcls(t *vpc.Topology, rid string, visible bool, p Params) (any, error) {
	ids, err := selectIDs(p, "NetworkAclId", "InvalidNetworkAclID.NotFound", "network ACL", func(id string) bool { return t.NetworkACL(id) != nil }, visible)
	if err != nil {
		return nil, err
	}
	var items []aclXML
	for _, acl := range t.NetworkACLs {
		if !visible || ids != nil && !ids[acl.ID] {
			continue
		}
		var subnets []string
		for _, s := range t.Subnets {
			if s.NetworkACLID == acl.ID {
				subnets = append(subnets, s.ID)
			}
		}
		ok, err := filterMatch(p.Filters(), func(name string) ([]string, bool) {
			switch name {
			case "network-acl-id":
				return one(acl.ID), true
			case "vpc-id":
				return one(acl.VPCID), true
			case "default":
				return one(strconv.FormatBool(acl.Default)), true
			case "association.subnet-id":
				return subnets, true
			case "owner-id":
				return one(t.AccountID), true
			case "tag:Name":
				return one(acl.Name), true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		x := aclXML{ID: acl.ID, VpcID: acl.VPCID, Default: acl.Default, OwnerID: t.AccountID, Tags: nameTags(acl.Name)}
		v := t.VPC(acl.VPCID)
		hasV6 := v != nil && len(v.IPv6CIDRs) > 0
		for _, e := range acl.Egress {
			x.Entries = append(x.Entries, aclEntry(e, true))
		}
		x.Entries = append(x.Entries, starEntries(hasV6, true)...)
		for _, e := range acl.Ingress {
			x.Entries = append(x.Entries, aclEntry(e, false))
		}
		x.Entries = append(x.Entries, starEntries(hasV6, false)...)
		for i, s := range subnets {
			x.Assoc = append(x.Assoc, aclAssocXML{assocID("aclassoc", acl.ID, i), acl.ID, s})
		}
		items = append(items, x)
	}
	return struct {
		XMLName   xml.Name `xml:"DescribeNetworkAclsResponse"`
		NS        string   `xml:"xmlns,attr"`
		RequestID string   `xml:"requestId"`
		Items     []aclXML `xml:"networkAclSet>item"`
	}{NS: EC2Namespace, RequestID: rid, Items: items}, nil
}

// ---- DescribeRouteTables ----

type routeXML struct {
	Destination   string `xml:"destinationCidrBlock,omitempty"`
	DestinationV6 string `xml:"destinationIpv6CidrBlock,omitempty"`
	PrefixList    string `xml:"destinationPrefixListId,omitempty"`
	GatewayID     string `xml:"gatewayId,omitempty"`
	NatGatewayID  string `xml:"natGatewayId,omitempty"`
	PeeringID     string `xml:"vpcPeeringConnectionId,omitempty"`
	TransitGWID   string `xml:"transitGatewayId,omitempty"`
	InterfaceID   string `xml:"networkInterfaceId,omitempty"`
	State         string `xml:"state"`
	Origin        string `xml:"origin"`
}

type rtbAssocXML struct {
	Main     bool   `xml:"main"`
	ID       string `xml:"routeTableAssociationId"`
	RTBID    string `xml:"routeTableId"`
	SubnetID string `xml:"subnetId,omitempty"`
	State    string `xml:"associationState>state"`
}

type rtbXML struct {
	ID      string        `xml:"routeTableId"`
	VpcID   string        `xml:"vpcId"`
	OwnerID string        `xml:"ownerId"`
	Routes  []routeXML    `xml:"routeSet>item"`
	Assoc   []rtbAssocXML `xml:"associationSet>item"`
	Tags    []tagXML      `xml:"tagSet>item,omitempty"`
}

func (a *VPCActions) describeRouteTables(t *vpc.Topology, rid string, visible bool, p Params) (any, error) {
	ids, err := selectIDs(p, "RouteTableId", "InvalidRouteTableID.NotFound", "route table ID", func(id string) bool { return t.RouteTable(id) != nil }, visible)
	if err != nil {
		return nil, err
	}
	var items []rtbXML
	for _, rt := range t.RouteTables {
		if !visible || ids != nil && !ids[rt.ID] {
			continue
		}
		var subnets []string
		for _, s := range t.Subnets {
			if s.RouteTableID == rt.ID && !(rt.Main && isImplicit(t, s)) {
				subnets = append(subnets, s.ID)
			}
		}
		ok, err := filterMatch(p.Filters(), func(name string) ([]string, bool) {
			switch name {
			case "route-table-id":
				return one(rt.ID), true
			case "vpc-id":
				return one(rt.VPCID), true
			case "association.main":
				return one(strconv.FormatBool(rt.Main)), true
			case "association.subnet-id":
				return subnets, true
			case "tag:Name":
				return one(rt.Name), true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		x := rtbXML{ID: rt.ID, VpcID: rt.VPCID, OwnerID: t.AccountID, Tags: nameTags(rt.Name)}
		for _, r := range rt.Routes {
			rx := routeXML{State: "active", Origin: "CreateRoute", PrefixList: r.PrefixListID}
			if r.Destination.IsValid() {
				if r.Destination.Addr().Is6() {
					rx.DestinationV6 = r.Destination.String()
				} else {
					rx.Destination = r.Destination.String()
				}
			}
			switch r.Kind {
			case vpc.TargetLocal:
				rx.GatewayID, rx.Origin = "local", "CreateRouteTable"
			case vpc.TargetInternetGateway, vpc.TargetVPNGateway, vpc.TargetGatewayEndpoint:
				rx.GatewayID = r.TargetID
			case vpc.TargetNATGateway:
				rx.NatGatewayID = r.TargetID
			case vpc.TargetPeering:
				rx.PeeringID = r.TargetID
			case vpc.TargetTransitGateway:
				rx.TransitGWID = r.TargetID
			case vpc.TargetInterface:
				rx.InterfaceID = r.TargetID
			case vpc.TargetBlackhole:
				rx.State = "blackhole"
				rx.GatewayID = r.TargetID
			}
			x.Routes = append(x.Routes, rx)
		}
		if rt.Main {
			x.Assoc = append(x.Assoc, rtbAssocXML{Main: true, ID: assocID("rtbassoc", rt.ID, 0), RTBID: rt.ID, State: "associated"})
		}
		for i, s := range subnets {
			x.Assoc = append(x.Assoc, rtbAssocXML{ID: assocID("rtbassoc", rt.ID, i+1), RTBID: rt.ID, SubnetID: s, State: "associated"})
		}
		items = append(items, x)
	}
	return struct {
		XMLName   xml.Name `xml:"DescribeRouteTablesResponse"`
		NS        string   `xml:"xmlns,attr"`
		RequestID string   `xml:"requestId"`
		Items     []rtbXML `xml:"routeTableSet>item"`
	}{NS: EC2Namespace, RequestID: rid, Items: items}, nil
}

// isImplicit reports whether s uses its VPC's main route table without an
// explicit association. The model keeps only the effective table, so a
// subnet on the main table is shown as implicitly associated.
func isImplicit(t *vpc.Topology, s *vpc.Subnet) bool {
	v := t.VPC(s.VPCID)
	return v != nil && v.MainRouteTableID == s.RouteTableID
}

// ---- DescribeNetworkInterfaces ----

type eniGroupXML struct {
	GroupID   string `xml:"groupId"`
	GroupName string `xml:"groupName"`
}

type eniPrivIPXML struct {
	Address     string       `xml:"privateIpAddress"`
	Primary     bool         `xml:"primary"`
	Association *eniAssocXML `xml:"association,omitempty"`
}

type eniAssocXML struct {
	PublicIP  string `xml:"publicIp"`
	IPOwnerID string `xml:"ipOwnerId"`
}

type eniIPv6XML struct {
	Address string `xml:"ipv6Address"`
}

type eniXML struct {
	ID               string         `xml:"networkInterfaceId"`
	SubnetID         string         `xml:"subnetId"`
	VpcID            string         `xml:"vpcId"`
	AZ               string         `xml:"availabilityZone"`
	Description      string         `xml:"description"`
	OwnerID          string         `xml:"ownerId"`
	RequesterManaged bool           `xml:"requesterManaged"`
	Status           string         `xml:"status"`
	PrivateIP        string         `xml:"privateIpAddress"`
	SourceDestCheck  bool           `xml:"sourceDestCheck"`
	InterfaceType    string         `xml:"interfaceType"`
	Groups           []eniGroupXML  `xml:"groupSet>item"`
	InstanceID       string         `xml:"attachment>instanceId,omitempty"`
	InstanceOwnerID  string         `xml:"attachment>instanceOwnerId,omitempty"`
	Association      *eniAssocXML   `xml:"association,omitempty"`
	PrivateIPs       []eniPrivIPXML `xml:"privateIpAddressesSet>item"`
	IPv6             []eniIPv6XML   `xml:"ipv6AddressesSet>item,omitempty"`
	Tags             []tagXML       `xml:"tagSet>item,omitempty"`
}

func (a *VPCActions) describeNetworkInterfaces(t *vpc.Topology, rid string, visible bool, p Params) (any, error) {
	ids, err := selectIDs(p, "NetworkInterfaceId", "InvalidNetworkInterfaceID.NotFound", "network interface", func(id string) bool { return t.Interface(id) != nil }, visible)
	if err != nil {
		return nil, err
	}
	var items []eniXML
	for _, e := range t.Interfaces {
		if !visible || ids != nil && !ids[e.ID] {
			continue
		}
		s := t.Subnet(e.SubnetID)
		az := ""
		if s != nil {
			az = s.AZ
		}
		var addrs []string
		addrs = append(addrs, e.PrimaryIP.String())
		for _, a := range e.SecondaryIPs {
			addrs = append(addrs, a.String())
		}
		ok, err := filterMatch(p.Filters(), func(name string) ([]string, bool) {
			switch name {
			case "network-interface-id":
				return one(e.ID), true
			case "subnet-id":
				return one(e.SubnetID), true
			case "vpc-id":
				return one(e.VPCID), true
			case "availability-zone":
				return one(az), true
			case "group-id":
				return e.SecurityGroupIDs, true
			case "private-ip-address", "addresses.private-ip-address":
				return addrs, true
			case "attachment.instance-id":
				return one(e.InstanceID), true
			case "interface-type":
				return one(eniType(e)), true
			case "requester-managed":
				return one(strconv.FormatBool(e.RequesterManaged)), true
			case "description":
				return one(e.Description), true
			case "owner-id":
				return one(t.AccountOf(e)), true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		x := eniXML{ID: e.ID, SubnetID: e.SubnetID, VpcID: e.VPCID, AZ: az, Description: e.Description, OwnerID: t.AccountOf(e),
			RequesterManaged: e.RequesterManaged, Status: "in-use", PrivateIP: e.PrimaryIP.String(), SourceDestCheck: e.SourceDestCheck,
			InterfaceType: eniType(e), InstanceID: e.InstanceID, Tags: nameTags(e.Name)}
		if e.InstanceID != "" {
			x.InstanceOwnerID = cmp.Or(e.InstanceOwner, t.AccountOf(e))
		}
		for _, g := range e.SecurityGroupIDs {
			name := ""
			if sg := t.SecurityGroup(g); sg != nil {
				name = sg.Name
			}
			x.Groups = append(x.Groups, eniGroupXML{g, name})
		}
		public := func(priv netip.Addr) *eniAssocXML {
			for _, pa := range e.PublicIPs {
				if pa.Private == priv {
					owner := "amazon"
					if pa.Elastic {
						owner = t.AccountID
					}
					return &eniAssocXML{pa.Public.String(), owner}
				}
			}
			return nil
		}
		x.Association = public(e.PrimaryIP)
		x.PrivateIPs = append(x.PrivateIPs, eniPrivIPXML{e.PrimaryIP.String(), true, x.Association})
		for _, a := range e.SecondaryIPs {
			x.PrivateIPs = append(x.PrivateIPs, eniPrivIPXML{a.String(), false, public(a)})
		}
		for _, a := range e.IPv6Addrs {
			x.IPv6 = append(x.IPv6, eniIPv6XML{a.String()})
		}
		items = append(items, x)
	}
	return struct {
		XMLName   xml.Name `xml:"DescribeNetworkInterfacesResponse"`
		NS        string   `xml:"xmlns,attr"`
		RequestID string   `xml:"requestId"`
		Items     []eniXML `xml:"networkInterfaceSet>item"`
	}{NS: EC2Namespace, RequestID: rid, Items: items}, nil
}

// eniType is the EC2 API's interfaceType (flow logs spell some differently).
func eniType(e *vpc.Interface) string {
	if e.Type == "" {
		return "interface"
	}
	return e.Type
}

// ---- Security group and network ACL changes ----

type returnXML struct {
	XMLName   xml.Name
	NS        string `xml:"xmlns,attr"`
	RequestID string `xml:"requestId"`
	Return    bool   `xml:"return"`
}

func okResponse(action, rid string) any {
	return returnXML{XMLName: xml.Name{Local: action + "Response"}, NS: EC2Namespace, RequestID: rid, Return: true}
}

// parsePermissions reads IpPermissions.N.* into model rules.
func parsePermissions(p Params) ([]vpc.SGRule, error) {
	var rules []vpc.SGRule
	for _, i := range p.Indexes("IpPermissions") {
		base := fmt.Sprintf("IpPermissions.%d", i)
		proto, err := parseAPIProtocol(p.Get(base + ".IpProtocol"))
		if err != nil {
			return nil, err
		}
		from, err := p.Int(base+".FromPort", -1)
		if err != nil {
			return nil, err
		}
		to, err := p.Int(base+".ToPort", -1)
		if err != nil {
			return nil, err
		}
		tmpl := vpc.SGRule{Protocol: proto, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1}
		switch proto {
		case vpc.ProtoTCP, vpc.ProtoUDP:
			if from < 0 || to < from || to > 65535 {
				return nil, errInvalidParameter(fmt.Sprintf("Invalid port range %d-%d for %s.", from, to, protoString(proto)))
			}
			tmpl.Ports = vpc.PortRange{From: uint16(from), To: uint16(to)}
		case vpc.ProtoICMP, vpc.ProtoICMPv6:
			tmpl.ICMPType, tmpl.ICMPCode = int16(from), int16(to)
		}
		n := 0
		add := func(r vpc.SGRule) { rules = append(rules, r); n++ }
		for _, j := range p.Indexes(base + ".IpRanges") {
			rb := fmt.Sprintf("%s.IpRanges.%d", base, j)
			pfx, err := netip.ParsePrefix(p.Get(rb + ".CidrIp"))
			if err != nil || !pfx.Addr().Is4() {
				return nil, errInvalidParameter(fmt.Sprintf("CIDR block %s is malformed", p.Get(rb+".CidrIp")))
			}
			r := tmpl
			r.CIDR, r.Description = pfx.Masked(), p.Get(rb+".Description")
			add(r)
		}
		for _, j := range p.Indexes(base + ".Ipv6Ranges") {
			rb := fmt.Sprintf("%s.Ipv6Ranges.%d", base, j)
			pfx, err := netip.ParsePrefix(p.Get(rb + ".CidrIpv6"))
			if err != nil || !pfx.Addr().Is6() {
				return nil, errInvalidParameter(fmt.Sprintf("CIDR block %s is malformed", p.Get(rb+".CidrIpv6")))
			}
			r := tmpl
			r.CIDR, r.Description = pfx.Masked(), p.Get(rb+".Description")
			add(r)
		}
		for _, j := range p.Indexes(base + ".Groups") {
			rb := fmt.Sprintf("%s.Groups.%d", base, j)
			r := tmpl
			r.GroupID, r.Description = p.Get(rb+".GroupId"), p.Get(rb+".Description")
			add(r)
		}
		for _, j := range p.Indexes(base + ".PrefixListIds") {
			rb := fmt.Sprintf("%s.PrefixListIds.%d", base, j)
			r := tmpl
			r.PrefixListID, r.Description = p.Get(rb+".PrefixListId"), p.Get(rb+".Description")
			add(r)
		}
		if n == 0 {
			return nil, &Error{Status: http.StatusBadRequest, Code: "MissingParameter", Message: "The request must contain a CIDR, a prefix list or a security group for each permission."}
		}
	}
	// The simple form: IpProtocol/FromPort/ToPort/CidrIp at top level.
	if len(rules) == 0 && p.Has("CidrIp") {
		proto, err := parseAPIProtocol(p.Get("IpProtocol"))
		if err != nil {
			return nil, err
		}
		pfx, err := netip.ParsePrefix(p.Get("CidrIp"))
		if err != nil {
			return nil, errInvalidParameter(fmt.Sprintf("CIDR block %s is malformed", p.Get("CidrIp")))
		}
		r := vpc.SGRule{Protocol: proto, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: pfx.Masked()}
		from, _ := p.Int("FromPort", 0)
		to, _ := p.Int("ToPort", 65535)
		if proto == vpc.ProtoTCP || proto == vpc.ProtoUDP {
			r.Ports = vpc.PortRange{From: uint16(from), To: uint16(to)}
		}
		rules = append(rules, r)
	}
	if len(rules) == 0 {
		return nil, &Error{Status: http.StatusBadRequest, Code: "MissingParameter", Message: "The request must contain the parameter IpPermissions."}
	}
	return rules, nil
}

// parseAPIProtocol parses IpProtocol / Protocol: the spellings of
// vpc.ParseProtocol but for the rule-file aliases (any, *, icmp6) and
// padding, which the EC2 API does not accept.
func parseAPIProtocol(s string) (int16, error) {
	p, err := vpc.ParseProtocol(s)
	switch strings.ToLower(s) {
	case "any", "*", "icmp6":
		err = errors.New("not an EC2 API spelling")
	}
	if err != nil || strings.TrimSpace(s) != s {
		return 0, errInvalidParameter(fmt.Sprintf("Invalid value '%s' for IP protocol. Unknown protocol.", s))
	}
	return p, nil
}

func (a *VPCActions) changeSecurityGroup(t *vpc.Topology, rid string, visible bool, action string, p Params) (any, error) {
	id := p.Get("GroupId")
	if id == "" {
		return nil, &Error{Status: http.StatusBadRequest, Code: "MissingParameter", Message: "The request must contain the parameter GroupId."}
	}
	if !visible || t.SecurityGroup(id) == nil {
		return nil, notFound("InvalidGroup.NotFound", "security group", id)
	}
	rules, err := parsePermissions(p)
	if err != nil {
		return nil, err
	}
	switch action {
	case "AuthorizeSecurityGroupIngress":
		err = t.AuthorizeSecurityGroupIngress(id, rules...)
	case "AuthorizeSecurityGroupEgress":
		err = t.AuthorizeSecurityGroupEgress(id, rules...)
	case "RevokeSecurityGroupIngress":
		err = t.RevokeSecurityGroupIngress(id, rules...)
	default:
		err = t.RevokeSecurityGroupEgress(id, rules...)
	}
	if err != nil {
		return nil, mutationError(err, action)
	}
	return okResponse(action, rid), nil
}

func (a *VPCActions) changeNetworkACL(t *vpc.Topology, rid string, visible bool, action string, p Params) (any, error) {
	id := p.Get("NetworkAclId")
	if !visible || id == "" || t.NetworkACL(id) == nil {
		return nil, notFound("InvalidNetworkAclID.NotFound", "network ACL", id)
	}
	num, err := p.Int("RuleNumber", -1)
	if err != nil {
		return nil, err
	}
	if num < 1 || num > 32766 {
		return nil, errInvalidParameter(fmt.Sprintf("Invalid rule number %d: must be between 1 and 32766.", num))
	}
	egress := strings.EqualFold(p.Get("Egress"), "true")
	if action == "DeleteNetworkAclEntry" {
		if err := t.DeleteNetworkACLEntry(id, egress, num); err != nil {
			return nil, mutationError(err, action)
		}
		return okResponse(action, rid), nil
	}
	proto, err := parseAPIProtocol(p.Get("Protocol"))
	if err != nil {
		return nil, err
	}
	e := vpc.NACLEntry{RuleNumber: num, Protocol: proto, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1}
	switch strings.ToLower(p.Get("RuleAction")) {
	case "allow":
		e.Allow = true
	case "deny":
	default:
		return nil, errInvalidParameter(fmt.Sprintf("Invalid value '%s' for ruleAction: expected allow or deny.", p.Get("RuleAction")))
	}
	cidr := p.Get("CidrBlock")
	if cidr == "" {
		cidr = p.Get("Ipv6CidrBlock")
	}
	pfx, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, errInvalidParameter(fmt.Sprintf("CIDR block %s is malformed", cidr))
	}
	e.CIDR = pfx.Masked()
	switch proto {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		from, err1 := p.Int("PortRange.From", -1)
		to, err2 := p.Int("PortRange.To", -1)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		if from < 0 || to < from || to > 65535 {
			return nil, &Error{Status: http.StatusBadRequest, Code: "InvalidParameterValue", Message: "TCP and UDP entries need a valid PortRange.From and PortRange.To."}
		}
		e.Ports = vpc.PortRange{From: uint16(from), To: uint16(to)}
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		typ, _ := p.Int("Icmp.Type", -1)
		code, _ := p.Int("Icmp.Code", -1)
		e.ICMPType, e.ICMPCode = int16(typ), int16(code)
	}
	if action == "CreateNetworkAclEntry" {
		err = t.CreateNetworkACLEntry(id, egress, e)
	} else {
		err = t.ReplaceNetworkACLEntry(id, egress, e)
	}
	if err != nil {
		return nil, mutationError(err, action)
	}
	return okResponse(action, rid), nil
}

// mutationError maps the model's errors to EC2 codes.
func mutationError(err error, action string) error {
	switch {
	case errors.Is(err, vpc.ErrDuplicate):
		code := "InvalidPermission.Duplicate"
		if strings.Contains(action, "NetworkAcl") {
			code = "NetworkAclEntryAlreadyExists"
		}
		return &Error{Status: http.StatusBadRequest, Code: code, Message: err.Error()}
	case errors.Is(err, vpc.ErrNotFound):
		code := "InvalidPermission.NotFound"
		if strings.Contains(action, "NetworkAcl") {
			code = "InvalidNetworkAclEntry.NotFound"
		}
		return &Error{Status: http.StatusBadRequest, Code: code, Message: err.Error()}
	}
	return errInvalidParameter(err.Error())
}
