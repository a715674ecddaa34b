package vpc

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// The JSON shapes printed by `aws ec2 describe-*` (only the fields we use).
type (
	awsTag  struct{ Key, Value string }
	awsTags []awsTag

	awsVPC struct {
		VpcId, OwnerId, CidrBlock string
		CidrBlockAssociationSet   []struct {
			CidrBlock      string
			CidrBlockState struct{ State string }
		}
		Ipv6CidrBlockAssociationSet []struct{ Ipv6CidrBlock string }
		Tags                        awsTags
	}
	awsSubnet struct {
		SubnetId, VpcId, CidrBlock, AvailabilityZone, AvailabilityZoneId, OutpostArn string
		Ipv6CidrBlockAssociationSet                                                  []struct{ Ipv6CidrBlock string }
		Tags                                                                         awsTags
	}
	awsIGW struct {
		InternetGatewayId string
		Attachments       []struct{ VpcId, State string }
	}
	awsNAT struct {
		NatGatewayId, SubnetId, VpcId, State, ConnectivityType string
		NatGatewayAddresses                                    []struct {
			NetworkInterfaceId, PrivateIp, PublicIp string
			IsPrimary                               *bool
		}
		Tags awsTags
	}
	awsRoute struct {
		DestinationCidrBlock, DestinationIpv6CidrBlock, DestinationPrefixListId                  string
		GatewayId, NatGatewayId, VpcPeeringConnectionId, TransitGatewayId, NetworkInterfaceId    string
		EgressOnlyInternetGatewayId, LocalGatewayId, CarrierGatewayId, InstanceId, State, Origin string
	}
	awsRouteTable struct {
		RouteTableId, VpcId string
		Associations        []struct {
			Main     bool
			SubnetId string
		}
		Routes []awsRoute
		Tags   awsTags
	}
	awsPerm struct {
		IpProtocol       string
		FromPort, ToPort *int
		IpRanges         []struct{ CidrIp, Description string }
		Ipv6Ranges       []struct{ CidrIpv6, Description string }
		PrefixListIds    []struct{ PrefixListId, Description string }
		UserIdGroupPairs []struct{ GroupId, UserId, Description string }
	}
	awsSG struct {
		GroupId, GroupName, Description, VpcId string
		IpPermissions, IpPermissionsEgress     []awsPerm
		Tags                                   awsTags
	}
	awsACL struct {
		NetworkAclId, VpcId string
		IsDefault           bool
		Associations        []struct{ SubnetId string }
		Entries             []struct {
			CidrBlock, Ipv6CidrBlock, Protocol, RuleAction string
			Egress                                         bool
			RuleNumber                                     int
			PortRange                                      *struct{ From, To int }
			IcmpTypeCode                                   *struct{ Type, Code int }
		}
		Tags awsTags
	}
	awsENI struct {
		NetworkInterfaceId, SubnetId, VpcId, OwnerId, Description, InterfaceType, RequesterId string
		RequesterManaged                                                                      bool
		SourceDestCheck                                                                       *bool
		PrivateIpAddress                                                                      string
		Attachment                                                                            *struct{ InstanceId, InstanceOwnerId string }
		Association                                                                           *struct{ IpOwnerId, PublicIp string }
		PrivateIpAddresses                                                                    []struct {
			Primary          bool
			PrivateIpAddress string
			Association      *struct{ IpOwnerId, PublicIp string }
		}
		Ipv6Addresses []struct{ Ipv6Address string }
		Groups        []struct{ GroupId, GroupName string }
		TagSet        awsTags
	}
	awsPrefixList struct {
		PrefixListId, PrefixListName string
		Cidrs                        []string
		Entries                      []struct{ Cidr string }
	}
	awsPeering struct {
		VpcPeeringConnectionId            string
		AccepterVpcInfo, RequesterVpcInfo struct{ VpcId, Region string }
		Status                            struct{ Code string }
	}
	awsEndpoint struct {
		VpcEndpointId, VpcEndpointType, VpcId, ServiceName string
	}
	awsDump struct {
		Vpcs                  []awsVPC
		Subnets               []awsSubnet
		InternetGateways      []awsIGW
		NatGateways           []awsNAT
		RouteTables           []awsRouteTable
		SecurityGroups        []awsSG
		NetworkAcls           []awsACL
		NetworkInterfaces     []awsENI
		PrefixLists           []awsPrefixList
		VpcPeeringConnections []awsPeering
		VpcEndpoints          []awsEndpoint
	}
)

func (ts awsTags) name() string {
	for _, t := range ts {
		if t.Key == "Name" {
			return t.Value
		}
	}
	return ""
}

// ImportFiles reads the JSON printed by `aws ec2 describe-vpcs`,
// `describe-subnets`, `describe-internet-gateways`, `describe-nat-gateways`,
// `describe-route-tables`, `describe-security-groups`,
// `describe-network-acls`, `describe-network-interfaces`, and optionally
// `describe-prefix-lists`, `describe-managed-prefix-lists` (with an Entries
// array per list), `describe-vpc-peering-connections` and
// `describe-vpc-endpoints`. Directories are expanded to their *.json files;
// each file is recognised by its top-level key, whatever its name.
// It returns a Document (to write as YAML) and warnings about what could not
// be modelled.
func ImportFiles(paths []string) (*Document, []string, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, nil, fmt.Errorf("import: %w", err)
		}
		if st.IsDir() {
			m, err := filepath.Glob(filepath.Join(p, "*.json"))
			if err != nil {
				return nil, nil, fmt.Errorf("import: %w", err)
			}
			sort.Strings(m)
			files = append(files, m...)
		} else {
			files = append(files, p)
		}
	}
	if len(files) == 0 {
		return nil, nil, errors.New("import: no JSON files given")
	}
	inputs := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, fmt.Errorf("import: %w", err)
		}
		inputs[f] = b
	}
	return Import(files, inputs)
}

// Import builds a Document from describe-* JSON documents, given in order
// as names and their contents.
func Import(names []string, inputs map[string][]byte) (*Document, []string, error) {
	var all awsDump
	for _, n := range names {
		var d awsDump
		dec := json.NewDecoder(bytes.NewReader(inputs[n]))
		if err := dec.Decode(&d); err != nil {
			return nil, nil, jsonError(n, inputs[n], err)
		}
		all.Vpcs = append(all.Vpcs, d.Vpcs...)
		all.Subnets = append(all.Subnets, d.Subnets...)
		all.InternetGateways = append(all.InternetGateways, d.InternetGateways...)
		all.NatGateways = append(all.NatGateways, d.NatGateways...)
		all.RouteTables = append(all.RouteTables, d.RouteTables...)
		all.SecurityGroups = append(all.SecurityGroups, d.SecurityGroups...)
		all.NetworkAcls = append(all.NetworkAcls, d.NetworkAcls...)
		all.NetworkInterfaces = append(all.NetworkInterfaces, d.NetworkInterfaces...)
		all.PrefixLists = append(all.PrefixLists, d.PrefixLists...)
		all.VpcPeeringConnections = append(all.VpcPeeringConnections, d.VpcPeeringConnections...)
		all.VpcEndpoints = append(all.VpcEndpoints, d.VpcEndpoints...)
	}
	if len(all.Vpcs) == 0 {
		return nil, nil, Errors{{Msg: "import: no VPCs found (include the output of aws ec2 describe-vpcs)", Kind: ErrInvalid}}
	}
	im := &importer{d: &all, doc: &Document{}}
	im.run()
	return im.doc, im.warnings, nil
}

// jsonError gives a JSON syntax error a line and column.
func jsonError(name string, data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	off := int64(-1)
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	e := &Error{File: name, Msg: err.Error(), Kind: ErrInvalid}
	if off >= 0 {
		before := data[:min(int(off), len(data))]
		e.Line = bytes.Count(before, []byte("\n")) + 1
		e.Column = len(before) - bytes.LastIndexByte(before, '\n')
	}
	return Errors{e}
}

type importer struct {
	d        *awsDump
	doc      *Document
	warnings []string
}

func (im *importer) warnf(format string, args ...any) {
	im.warnings = append(im.warnings, fmt.Sprintf(format, args...))
}

func (im *importer) run() {
	d, doc := im.d, im.doc
	vpcs := map[string]bool{}
	for _, v := range d.Vpcs {
		vpcs[v.VpcId] = true
		if doc.Account == "" {
			doc.Account = v.OwnerId
		}
		vd := VPCDoc{ID: v.VpcId, Name: v.Tags.name(), CIDR: v.CidrBlock}
		for _, a := range v.CidrBlockAssociationSet {
			if a.CidrBlock != v.CidrBlock && (a.CidrBlockState.State == "" || a.CidrBlockState.State == "associated") {
				vd.SecondaryCIDRs = append(vd.SecondaryCIDRs, a.CidrBlock)
			}
		}
		if len(v.Ipv6CidrBlockAssociationSet) > 0 {
			vd.IPv6CIDR = v.Ipv6CidrBlockAssociationSet[0].Ipv6CidrBlock
		}
		doc.VPCs = append(doc.VPCs, vd)
	}
	// Associations live on route tables and NACLs; subnets carry them here.
	subnetRT, subnetACL := map[string]string{}, map[string]string{}
	for _, rt := range d.RouteTables {
		for _, a := range rt.Associations {
			if a.SubnetId != "" {
				subnetRT[a.SubnetId] = rt.RouteTableId
			}
		}
	}
	for _, a := range d.NetworkAcls {
		for _, as := range a.Associations {
			subnetACL[as.SubnetId] = a.NetworkAclId
		}
	}
	for _, s := range d.Subnets {
		if !vpcs[s.VpcId] {
			im.warnf("subnet %s: VPC %s not in the input; skipped", s.SubnetId, s.VpcId)
			continue
		}
		if doc.Region == "" && len(s.AvailabilityZone) > 1 {
			doc.Region = s.AvailabilityZone[:len(s.AvailabilityZone)-1]
		}
		sd := SubnetDoc{ID: s.SubnetId, Name: s.Tags.name(), VPC: s.VpcId, CIDR: s.CidrBlock, AZ: s.AvailabilityZone,
			AZID: s.AvailabilityZoneId, RouteTable: subnetRT[s.SubnetId], NetworkACL: subnetACL[s.SubnetId]}
		if len(s.Ipv6CidrBlockAssociationSet) > 0 {
			sd.IPv6CIDR = s.Ipv6CidrBlockAssociationSet[0].Ipv6CidrBlock
		}
		if s.OutpostArn != "" {
			sd.SublocationType = "outpost"
			sd.SublocationID = s.OutpostArn[strings.LastIndexByte(s.OutpostArn, '/')+1:]
			sd.AZID = ""
		}
		doc.Subnets = append(doc.Subnets, sd)
	}
	if doc.Region == "" {
		doc.Region = "us-east-1"
		im.warnf("region unknown (no subnets); using us-east-1")
	}
	for _, g := range d.InternetGateways {
		for _, a := range g.Attachments {
			if vpcs[a.VpcId] {
				doc.InternetGateways = append(doc.InternetGateways, IGWDoc{ID: g.InternetGatewayId, VPC: a.VpcId})
			}
		}
	}
	natENIs := map[string]bool{}
	nats := map[string]bool{}
	for _, n := range d.NatGateways {
		if n.State == "deleted" || n.State == "deleting" || n.State == "failed" {
			continue
		}
		var addr *struct {
			NetworkInterfaceId, PrivateIp, PublicIp string
			IsPrimary                               *bool
		}
		for i := range n.NatGatewayAddresses {
			a := &n.NatGatewayAddresses[i]
			if addr == nil || (a.IsPrimary != nil && *a.IsPrimary) {
				addr = a
			}
		}
		if addr == nil {
			im.warnf("NAT gateway %s has no address; skipped", n.NatGatewayId)
			continue
		}
		nd := NATGatewayDoc{ID: n.NatGatewayId, Name: n.Tags.name(), Subnet: n.SubnetId, InterfaceID: addr.NetworkInterfaceId,
			PrivateIP: addr.PrivateIp, PublicIP: addr.PublicIp}
		if n.ConnectivityType == "private" {
			nd.Connectivity = "private"
			nd.PublicIP = ""
		}
		natENIs[addr.NetworkInterfaceId] = true
		nats[n.NatGatewayId] = true
		doc.NATGateways = append(doc.NATGateways, nd)
	}
	peerings := map[string]bool{}
	for _, p := range d.VpcPeeringConnections {
		if p.Status.Code != "" && p.Status.Code != "active" {
			continue
		}
		if !vpcs[p.RequesterVpcInfo.VpcId] || !vpcs[p.AccepterVpcInfo.VpcId] {
			im.warnf("peering %s: the peer VPC is not in the input; routes to it leave the model", p.VpcPeeringConnectionId)
			continue
		}
		peerings[p.VpcPeeringConnectionId] = true
		doc.Peerings = append(doc.Peerings, PeeringDoc{ID: p.VpcPeeringConnectionId, Requester: p.RequesterVpcInfo.VpcId,
			Accepter: p.AccepterVpcInfo.VpcId, CrossRegion: p.RequesterVpcInfo.Region != p.AccepterVpcInfo.Region})
	}
	gateways := map[string]*GatewayDoc{}
	var gatewayOrder []string
	addGateway := func(id, vpc, service string) {
		g := gateways[id]
		if g == nil {
			g = &GatewayDoc{ID: id}
			gateways[id] = g
			gatewayOrder = append(gatewayOrder, id)
		}
		if !slices.Contains(g.VPCs, vpc) {
			g.VPCs = append(g.VPCs, vpc)
		}
		if service != "" {
			g.Service = service
		}
	}
	for _, e := range d.VpcEndpoints {
		if strings.EqualFold(e.VpcEndpointType, "Gateway") && vpcs[e.VpcId] {
			addGateway(e.VpcEndpointId, e.VpcId, e.ServiceName)
		}
	}
	lists := map[string]bool{}
	for _, p := range d.PrefixLists {
		pd := PrefixListDoc{ID: p.PrefixListId, Name: p.PrefixListName, CIDRs: slices.Clone(p.Cidrs)}
		for _, e := range p.Entries {
			pd.CIDRs = append(pd.CIDRs, e.Cidr)
		}
		lists[p.PrefixListId] = true
		doc.PrefixLists = append(doc.PrefixLists, pd)
	}
	for _, rt := range d.RouteTables {
		if !vpcs[rt.VpcId] {
			continue
		}
		rd := RouteTableDoc{ID: rt.RouteTableId, Name: rt.Tags.name(), VPC: rt.VpcId}
		for _, a := range rt.Associations {
			if a.Main {
				rd.Main = true
			}
		}
		for _, r := range rt.Routes {
			dest := cmpOr(r.DestinationCidrBlock, r.DestinationIpv6CidrBlock, r.DestinationPrefixListId)
			target := cmpOr(r.GatewayId, r.NatGatewayId, r.VpcPeeringConnectionId, r.TransitGatewayId, r.NetworkInterfaceId)
			if target == "local" {
				continue
			}
			if r.State == "blackhole" {
				target = "blackhole"
			}
			switch {
			case target == "":
				im.warnf("route table %s: route to %s via %s is not modelled; skipped", rt.RouteTableId, dest,
					cmpOr(r.EgressOnlyInternetGatewayId, r.LocalGatewayId, r.CarrierGatewayId, r.InstanceId, "an unknown target"))
				continue
			case strings.HasPrefix(target, "vgw-"), strings.HasPrefix(target, "tgw-"), strings.HasPrefix(target, "vpce-"):
				addGateway(target, rt.VpcId, "")
			case strings.HasPrefix(target, "nat-") && !nats[target]:
				im.warnf("route table %s: NAT gateway %s is not in the input; route to %s becomes a blackhole", rt.RouteTableId, target, dest)
				target = "blackhole"
			case strings.HasPrefix(target, "pcx-") && !peerings[target]:
				addGateway("tgw-"+strings.TrimPrefix(target, "pcx-"), rt.VpcId, "")
				im.warnf("route table %s: peering %s leaves the model; modelled as gateway tgw-%s", rt.RouteTableId, target, strings.TrimPrefix(target, "pcx-"))
				target = "tgw-" + strings.TrimPrefix(target, "pcx-")
			}
			if strings.HasPrefix(dest, "pl-") && !lists[dest] {
				im.warnf("route table %s: prefix list %s is not in the input (add describe-prefix-lists); route skipped", rt.RouteTableId, dest)
				continue
			}
			rd.Routes = append(rd.Routes, RouteDoc{Destination: dest, Target: target})
		}
		doc.RouteTables = append(doc.RouteTables, rd)
	}
	for _, id := range gatewayOrder {
		doc.Gateways = append(doc.Gateways, *gateways[id])
	}
	for _, sg := range d.SecurityGroups {
		if !vpcs[sg.VpcId] {
			continue
		}
		sd := SGDoc{ID: sg.GroupId, Name: sg.GroupName, Description: sg.Description, VPC: sg.VpcId}
		sd.Ingress = im.perms(sg.GroupId, sg.IpPermissions, lists)
		egress := im.perms(sg.GroupId, sg.IpPermissionsEgress, lists)
		if egress == nil {
			egress = []SGRuleDoc{}
		}
		sd.Egress = &egress
		doc.SecurityGroups = append(doc.SecurityGroups, sd)
	}
	for _, a := range d.NetworkAcls {
		if !vpcs[a.VpcId] {
			continue
		}
		ad := NACLDoc{ID: a.NetworkAclId, Name: a.Tags.name(), VPC: a.VpcId, Default: a.IsDefault}
		for _, e := range a.Entries {
			if e.RuleNumber >= 32767 {
				continue // the "*" rules
			}
			ed := NACLEntryDoc{Rule: e.RuleNumber, CIDR: cmpOr(e.CidrBlock, e.Ipv6CidrBlock), Action: e.RuleAction}
			ed.Protocol = Scalar(protoText(e.Protocol))
			if e.PortRange != nil && (ed.Protocol == "tcp" || ed.Protocol == "udp") {
				ed.Ports = Scalar(PortRange{uint16(e.PortRange.From), uint16(e.PortRange.To)}.String())
			}
			if e.IcmpTypeCode != nil && (ed.Protocol == "icmp" || ed.Protocol == "icmpv6") {
				t, c := e.IcmpTypeCode.Type, e.IcmpTypeCode.Code
				ed.ICMPType, ed.ICMPCode = &t, &c
			}
			if e.Egress {
				ad.Egress = append(ad.Egress, ed)
			} else {
				ad.Ingress = append(ad.Ingress, ed)
			}
		}
		doc.NetworkACLs = append(doc.NetworkACLs, ad)
	}
	for _, e := range d.NetworkInterfaces {
		if natENIs[e.NetworkInterfaceId] {
			continue // created from its NAT gateway
		}
		if !vpcs[e.VpcId] {
			continue
		}
		ed := InterfaceDoc{ID: e.NetworkInterfaceId, Name: e.TagSet.name(), Description: e.Description, Subnet: e.SubnetId,
			RequesterManaged: e.RequesterManaged, PrivateIP: e.PrivateIpAddress}
		if e.OwnerId != "" && e.OwnerId != doc.Account {
			ed.Account = e.OwnerId
		}
		if e.InterfaceType != "" && e.InterfaceType != "interface" {
			ed.InterfaceType = e.InterfaceType
		}
		switch {
		case e.Attachment != nil && e.Attachment.InstanceId != "":
			ed.Owner = "instance"
			if !e.RequesterManaged {
				ed.InstanceID = e.Attachment.InstanceId
				// Only an owner other than the interface's own account
				// is written (an interface's instance is its account's).
				if o := e.Attachment.InstanceOwnerId; o != "" && o != cmp.Or(ed.Account, doc.Account) {
					ed.InstanceOwner = o
				}
			}
		case e.RequesterId == "amazon-elb" || strings.HasPrefix(e.Description, "ELB "):
			ed.Owner = "elb"
		case e.RequesterId == "amazon-rds" || strings.HasPrefix(e.Description, "RDSNetworkInterface"):
			ed.Owner = "rds"
		case e.InterfaceType == "lambda" || strings.HasPrefix(e.Description, "AWS Lambda"):
			ed.Owner = "lambda"
		case e.InterfaceType != "" && e.InterfaceType != "interface":
			ed.Owner = e.InterfaceType
		}
		for _, p := range e.PrivateIpAddresses {
			if !p.Primary {
				ed.SecondaryIPs = append(ed.SecondaryIPs, p.PrivateIpAddress)
			}
			if p.Association == nil || p.Association.PublicIp == "" {
				continue
			}
			if p.Association.IpOwnerId == "amazon" && p.Primary {
				ed.PublicIP = p.Association.PublicIp
				continue
			}
			eip := ElasticDoc{Public: p.Association.PublicIp}
			if !p.Primary {
				eip.Private = p.PrivateIpAddress
			}
			ed.ElasticIPs = append(ed.ElasticIPs, eip)
		}
		if len(e.PrivateIpAddresses) == 0 && e.Association != nil && e.Association.PublicIp != "" {
			ed.PublicIP = e.Association.PublicIp
		}
		for _, a := range e.Ipv6Addresses {
			ed.IPv6Addrs = append(ed.IPv6Addrs, a.Ipv6Address)
		}
		for _, g := range e.Groups {
			ed.SecurityGroups = append(ed.SecurityGroups, g.GroupId)
		}
		if e.SourceDestCheck != nil && !*e.SourceDestCheck {
			f := false
			ed.SourceDestCheck = &f
		}
		doc.Interfaces = append(doc.Interfaces, ed)
	}
}

func cmpOr(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// protoText maps the EC2 API protocol ("-1", "6", "tcp", ...) to ours.
func protoText(p string) string {
	switch p {
	case "-1", "":
		return "all"
	case "6":
		return "tcp"
	case "17":
		return "udp"
	case "1":
		return "icmp"
	case "58":
		return "icmpv6"
	}
	return strings.ToLower(p)
}

// perms flattens IpPermissions into one rule per peer.
func (im *importer) perms(sgID string, ps []awsPerm, lists map[string]bool) []SGRuleDoc {
	var out []SGRuleDoc
	for _, p := range ps {
		base := SGRuleDoc{Protocol: Scalar(protoText(p.IpProtocol))}
		switch base.Protocol {
		case "tcp", "udp":
			if p.FromPort != nil && p.ToPort != nil && !(*p.FromPort == 0 && *p.ToPort == 65535) && *p.FromPort >= 0 {
				base.Ports = Scalar(PortRange{uint16(*p.FromPort), uint16(*p.ToPort)}.String())
			}
		case "icmp", "icmpv6":
			if p.FromPort != nil && *p.FromPort >= 0 {
				v := *p.FromPort
				base.ICMPType = &v
			}
			if p.ToPort != nil && *p.ToPort >= 0 {
				v := *p.ToPort
				base.ICMPCode = &v
			}
		}
		for _, r := range p.IpRanges {
			x := base
			x.CIDR, x.Description = r.CidrIp, r.Description
			out = append(out, x)
		}
		for _, r := range p.Ipv6Ranges {
			x := base
			x.CIDR, x.Description = r.CidrIpv6, r.Description
			out = append(out, x)
		}
		for _, r := range p.PrefixListIds {
			if !lists[r.PrefixListId] {
				im.warnf("security group %s: prefix list %s is not in the input; rule skipped", sgID, r.PrefixListId)
				continue
			}
			x := base
			x.PrefixList, x.Description = r.PrefixListId, r.Description
			out = append(out, x)
		}
		for _, r := range p.UserIdGroupPairs {
			x := base
			x.Group, x.Description = r.GroupId, r.Description
			out = append(out, x)
		}
	}
	return out
}
