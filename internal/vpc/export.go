package vpc

import (
	"net/netip"
	"slices"

	"github.com/goccy/go-yaml"
)

// Document returns the topology as a YAML document that loads back into an
// equivalent topology. Defaults that Load creates (main route table,
// default NACL and security group) are written explicitly; local routes and
// NAT gateway interfaces are not (Load derives them).
func (t *Topology) Document() *Document {
	doc := &Document{Account: t.AccountID, Region: t.Region}
	for _, v := range t.VPCs {
		d := VPCDoc{ID: v.ID, Name: v.Name}
		if len(v.CIDRs) > 0 {
			d.CIDR = v.CIDRs[0].String()
			for _, c := range v.CIDRs[1:] {
				d.SecondaryCIDRs = append(d.SecondaryCIDRs, c.String())
			}
		}
		if len(v.IPv6CIDRs) > 0 {
			d.IPv6CIDR = v.IPv6CIDRs[0].String()
		}
		doc.VPCs = append(doc.VPCs, d)
	}
	for _, s := range t.Subnets {
		d := SubnetDoc{ID: s.ID, Name: s.Name, VPC: s.VPCID, CIDR: s.CIDR.String(), AZ: s.AZ, AZID: s.AZID,
			RouteTable: s.RouteTableID, NetworkACL: s.NetworkACLID, SublocationType: s.SublocationType, SublocationID: s.SublocationID}
		if s.IPv6CIDR.IsValid() {
			d.IPv6CIDR = s.IPv6CIDR.String()
		}
		if v := t.vpcByID[s.VPCID]; v != nil {
			if d.RouteTable == v.MainRouteTableID {
				d.RouteTable = ""
			}
			if d.NetworkACL == v.DefaultNetworkACLID {
				d.NetworkACL = ""
			}
		}
		doc.Subnets = append(doc.Subnets, d)
	}
	for _, r := range t.RouteTables {
		d := RouteTableDoc{ID: r.ID, Name: r.Name, VPC: r.VPCID, Main: r.Main}
		for _, rt := range r.Routes {
			if rt.Kind == TargetLocal {
				continue
			}
			dest := rt.PrefixListID
			if dest == "" {
				dest = rt.Destination.String()
			}
			d.Routes = append(d.Routes, RouteDoc{Destination: dest, Target: rt.TargetID})
		}
		doc.RouteTables = append(doc.RouteTables, d)
	}
	for _, g := range t.InternetGateways {
		doc.InternetGateways = append(doc.InternetGateways, IGWDoc{ID: g.ID, VPC: g.VPCID})
	}
	for _, n := range t.NATGateways {
		d := NATGatewayDoc{ID: n.ID, Name: n.Name, Subnet: n.SubnetID, InterfaceID: n.InterfaceID, PrivateIP: addrText(n.PrivateIP), PublicIP: addrText(n.PublicIP)}
		if n.Connectivity != "public" {
			d.Connectivity = n.Connectivity
		}
		doc.NATGateways = append(doc.NATGateways, d)
	}
	for _, p := range t.Peerings {
		doc.Peerings = append(doc.Peerings, PeeringDoc{ID: p.ID, Requester: p.RequesterVPC, Accepter: p.AccepterVPC, CrossRegion: p.CrossRegion})
	}
	for _, g := range t.Gateways {
		doc.Gateways = append(doc.Gateways, GatewayDoc{ID: g.ID, VPCs: slices.Clone(g.VPCIDs), Service: g.Service})
	}
	for _, p := range t.PrefixLists {
		d := PrefixListDoc{ID: p.ID, Name: p.Name}
		for _, c := range p.CIDRs {
			d.CIDRs = append(d.CIDRs, c.String())
		}
		doc.PrefixLists = append(doc.PrefixLists, d)
	}
	for _, sg := range t.SecurityGroups {
		d := SGDoc{ID: sg.ID, Name: sg.Name, Description: sg.Description, VPC: sg.VPCID}
		for _, r := range sg.Ingress {
			d.Ingress = append(d.Ingress, sgRuleDoc(r))
		}
		egress := []SGRuleDoc{}
		for _, r := range sg.Egress {
			egress = append(egress, sgRuleDoc(r))
		}
		d.Egress = &egress
		doc.SecurityGroups = append(doc.SecurityGroups, d)
	}
	for _, a := range t.NetworkACLs {
		d := NACLDoc{ID: a.ID, Name: a.Name, VPC: a.VPCID, Default: a.Default}
		for _, e := range a.Ingress {
			d.Ingress = append(d.Ingress, naclEntryDoc(e))
		}
		for _, e := range a.Egress {
			d.Egress = append(d.Egress, naclEntryDoc(e))
		}
		doc.NetworkACLs = append(doc.NetworkACLs, d)
	}
	for _, e := range t.Interfaces {
		if t.natByENI[e.ID] != nil {
			continue
		}
		d := InterfaceDoc{ID: e.ID, Name: e.Name, Description: e.Description, Subnet: e.SubnetID, Account: e.AccountID,
			InterfaceType: e.Type, Owner: e.Owner, RequesterManaged: e.RequesterManaged, InstanceID: e.InstanceID, InstanceOwner: e.InstanceOwner,
			PrivateIP: addrText(e.PrimaryIP), SecurityGroups: slices.Clone(e.SecurityGroupIDs)}
		for _, a := range e.SecondaryIPs {
			d.SecondaryIPs = append(d.SecondaryIPs, a.String())
		}
		for _, a := range e.IPv6Addrs {
			d.IPv6Addrs = append(d.IPv6Addrs, a.String())
		}
		for _, p := range e.PublicIPs {
			if !p.Elastic && p.Private == e.PrimaryIP && d.PublicIP == "" {
				d.PublicIP = p.Public.String()
				continue
			}
			ed := ElasticDoc{Public: p.Public.String()}
			if p.Private != e.PrimaryIP {
				ed.Private = p.Private.String()
			}
			d.ElasticIPs = append(d.ElasticIPs, ed)
		}
		if !e.Nitro {
			f := false
			d.Nitro = &f
		}
		if !e.SourceDestCheck {
			f := false
			d.SourceDestCheck = &f
		}
		doc.Interfaces = append(doc.Interfaces, d)
	}
	return doc
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func protoPortsDoc(proto int16, ports PortRange, icmpType, icmpCode int16) (Scalar, Scalar, *int, *int) {
	p := Scalar(ProtocolName(proto))
	var portsText Scalar
	var t, c *int
	switch proto {
	case ProtoTCP, ProtoUDP:
		portsText = Scalar(ports.String()) // required: 0-65535 for all
	case ProtoICMP, ProtoICMPv6:
		if icmpType >= 0 {
			v := int(icmpType)
			t = &v
		}
		if icmpCode >= 0 {
			v := int(icmpCode)
			c = &v
		}
	}
	return p, portsText, t, c
}

func sgRuleDoc(r SGRule) SGRuleDoc {
	d := SGRuleDoc{PrefixList: r.PrefixListID, Group: r.GroupID, Description: r.Description}
	d.Protocol, d.Ports, d.ICMPType, d.ICMPCode = protoPortsDoc(r.Protocol, r.Ports, r.ICMPType, r.ICMPCode)
	if r.CIDR.IsValid() {
		d.CIDR = r.CIDR.String()
	}
	return d
}

func naclEntryDoc(e NACLEntry) NACLEntryDoc {
	d := NACLEntryDoc{Rule: e.RuleNumber, CIDR: e.CIDR.String(), Action: "deny"}
	if e.Allow {
		d.Action = "allow"
	}
	d.Protocol, d.Ports, d.ICMPType, d.ICMPCode = protoPortsDoc(e.Protocol, e.Ports, e.ICMPType, e.ICMPCode)
	return d
}

// YAML renders the document as YAML that Load accepts and that decodes to
// the same document. Multi-line strings are double-quoted: the YAML
// library drops trailing spaces of a literal block's lines when reading.
func (doc *Document) YAML() ([]byte, error) {
	return yaml.MarshalWithOptions(doc, yaml.IndentSequence(true))
}
