package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"vpcflow/internal/dataplane"
	"vpcflow/internal/flow"
	"vpcflow/internal/policy"
	"vpcflow/internal/vpc"
)

// newVPCCmd builds `vpcflow vpc validate|show|import|explain`.
func newVPCCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vpc",
		Short: "Model a VPC: validate, show, import from AWS, explain a packet's path",
	}
	cmd.AddCommand(newVPCValidateCmd(), newVPCShowCmd(), newVPCImportCmd(), newVPCExplainCmd())
	return cmd
}

func newVPCValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check topology files; errors name file:line:column",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var failed []string
			for _, f := range args {
				topo, err := vpc.LoadFile(f)
				if err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), err)
					failed = append(failed, f)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%s)\n", f, summary(topo))
			}
			if len(failed) > 0 {
				return fmt.Errorf("invalid topology: %s", strings.Join(failed, ", "))
			}
			return nil
		},
	}
}

func plural(n int, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %ss", n, one)
}

func summary(t *vpc.Topology) string {
	return strings.Join([]string{
		plural(len(t.VPCs), "VPC"), plural(len(t.Subnets), "subnet"), plural(len(t.RouteTables), "route table"),
		plural(len(t.NATGateways), "NAT gateway"), plural(len(t.SecurityGroups), "security group"),
		plural(len(t.NetworkACLs), "network ACL"), plural(len(t.Interfaces), "network interface"),
	}, ", ")
}

func newVPCShowCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "show FILE",
		Short: "Print a topology: text (default), yaml (canonical, defaults made explicit) or json",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			topo, err := vpc.LoadFile(args[0])
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			switch output {
			case "text", "table":
				showText(w, topo)
				return nil
			case "yaml":
				b, err := topo.Document().YAML()
				if err != nil {
					return err
				}
				_, err = w.Write(b)
				return err
			case "json":
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(topo.Document())
			}
			return fmt.Errorf("unknown --output %q (want text, yaml or json)", output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, yaml or json")
	return cmd
}

func showText(w io.Writer, t *vpc.Topology) {
	fmt.Fprintf(w, "account %s  region %s  (%s)\n", t.AccountID, t.Region, summary(t))
	for _, v := range t.VPCs {
		var cidrs []string
		for _, c := range append(v.CIDRs, v.IPv6CIDRs...) {
			cidrs = append(cidrs, c.String())
		}
		fmt.Fprintf(w, "\nVPC %s%s %s\n", v.ID, nameOf(v.Name), strings.Join(cidrs, " "))
		if g := t.InternetGatewayOf(v.ID); g != nil {
			fmt.Fprintf(w, "  internet gateway %s\n", g.ID)
		}
		for _, s := range t.SubnetsInVPC(v.ID) {
			fmt.Fprintf(w, "  subnet %s%s %s %s (%s)  route table %s  network ACL %s\n", s.ID, nameOf(s.Name), s.CIDR, s.AZ, s.AZID, s.RouteTableID, s.NetworkACLID)
			for _, e := range t.InterfacesInSubnet(s.ID) {
				fmt.Fprintf(w, "    %s\n", interfaceLine(t, e))
			}
		}
		for _, r := range t.RouteTables {
			if r.VPCID != v.ID {
				continue
			}
			main := ""
			if r.Main {
				main = " [main]"
			}
			fmt.Fprintf(w, "  route table %s%s%s\n", r.ID, nameOf(r.Name), main)
			for _, rt := range r.Routes {
				dest := rt.PrefixListID
				if dest == "" {
					dest = rt.Destination.String()
				}
				fmt.Fprintf(w, "    %-18s -> %s\n", dest, rt.TargetID)
			}
		}
		for _, sg := range t.SecurityGroups {
			if sg.VPCID != v.ID {
				continue
			}
			fmt.Fprintf(w, "  security group %s (%s)\n", sg.ID, sg.Name)
			for _, r := range sg.Ingress {
				fmt.Fprintf(w, "    ingress %s\n", policy.SGRuleText(flow.Ingress, r))
			}
			for _, r := range sg.Egress {
				fmt.Fprintf(w, "    egress  %s\n", policy.SGRuleText(flow.Egress, r))
			}
			if len(sg.Egress) == 0 {
				fmt.Fprintf(w, "    egress  (no rules: only responses to tracked connections leave)\n")
			}
		}
		for _, a := range t.NetworkACLs {
			if a.VPCID != v.ID {
				continue
			}
			def := ""
			if a.Default {
				def = " [default]"
			}
			fmt.Fprintf(w, "  network ACL %s%s%s\n", a.ID, nameOf(a.Name), def)
			for _, dir := range []struct {
				name    string
				entries []vpc.NACLEntry
			}{{"ingress", a.Ingress}, {"egress ", a.Egress}} {
				for _, e := range dir.entries {
					fmt.Fprintf(w, "    %s %s\n", dir.name, policy.NACLEntryText(e))
				}
				fmt.Fprintf(w, "    %s * all 0.0.0.0/0 deny\n", dir.name)
			}
		}
	}
}

func nameOf(n string) string {
	if n == "" {
		return ""
	}
	return " (" + n + ")"
}

func interfaceLine(t *vpc.Topology, e *vpc.Interface) string {
	parts := []string{e.ID, e.PrimaryIP.String()}
	for _, a := range e.SecondaryIPs {
		parts = append(parts, "+"+a.String())
	}
	for _, p := range e.PublicIPs {
		kind := "public"
		if p.Elastic {
			kind = "eip"
		}
		parts = append(parts, fmt.Sprintf("%s %s->%s", kind, p.Public, p.Private))
	}
	if e.InstanceID != "" {
		parts = append(parts, e.InstanceID)
	}
	if e.Type != "" {
		parts = append(parts, e.Type)
	} else if e.Owner != "" {
		parts = append(parts, e.Owner)
	}
	if e.RequesterManaged {
		parts = append(parts, "requester-managed")
	}
	if len(e.SecurityGroupIDs) > 0 {
		parts = append(parts, "sg "+strings.Join(e.SecurityGroupIDs, ","))
	}
	if n := t.NATGatewayByInterface(e.ID); n != nil {
		parts = append(parts, "of "+n.ID)
	}
	return strings.Join(parts, "  ")
}

func newVPCImportCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "import DIR_OR_FILE...",
		Short: "Convert `aws ec2 describe-*` JSON into a topology YAML",
		Long: `Reads the JSON printed by aws ec2 describe-vpcs, describe-subnets,
describe-internet-gateways, describe-nat-gateways, describe-route-tables,
describe-security-groups, describe-network-acls, describe-network-interfaces
(and optionally describe-prefix-lists, describe-vpc-peering-connections,
describe-vpc-endpoints) and writes a topology YAML. Files are recognised by
content; a directory means all its *.json files.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			doc, warnings, err := vpc.ImportFiles(args)
			if err != nil {
				return err
			}
			for _, w := range warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			b, err := doc.YAML()
			if err != nil {
				return err
			}
			if _, err := vpc.Load(b, "imported topology"); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: the imported topology does not validate:\n%v\n", err)
			}
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(b)
				return err
			}
			return os.WriteFile(out, b, 0o644)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the YAML to this file instead of standard output")
	return cmd
}

type explainOptions struct {
	topology  string
	src, dst  string
	proto     string
	flags     string
	icmpType  int
	icmpCode  int
	size      int
	withReply bool
}

func newVPCExplainCmd() *cobra.Command {
	var o explainOptions
	cmd := &cobra.Command{
		Use:   "explain --topology FILE --src IP[:PORT] --dst IP[:PORT] --proto tcp",
		Short: "Show a packet's path hop by hop: every route, NAT, NACL and security group check with its rule",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runExplain(cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.topology, "topology", "t", "", "topology YAML file (required)")
	f.StringVar(&o.src, "src", "", "source IP[:PORT] (required)")
	f.StringVar(&o.dst, "dst", "", "destination IP[:PORT] (required)")
	f.StringVarP(&o.proto, "proto", "p", "tcp", "protocol: tcp, udp, icmp, icmpv6 or a number")
	f.StringVar(&o.flags, "flags", "", "TCP flags: SYN (default), SYN-ACK, ACK, FIN, RST, comma-joined names or a number")
	f.IntVar(&o.icmpType, "icmp-type", 8, "ICMP type (8 echo request, 0 echo reply)")
	f.IntVar(&o.icmpCode, "icmp-code", 0, "ICMP code")
	f.IntVar(&o.size, "size", 60, "packet size in bytes")
	f.BoolVar(&o.withReply, "with-reply", false, "also send the response and explain it (shows stateful vs stateless rules)")
	for _, name := range []string{"topology", "src", "dst"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func runExplain(w io.Writer, o explainOptions) error {
	topo, err := vpc.LoadFile(o.topology)
	if err != nil {
		return err
	}
	src, sport, err := parseEndpoint("--src", o.src)
	if err != nil {
		return err
	}
	dst, dport, err := parseEndpoint("--dst", o.dst)
	if err != nil {
		return err
	}
	proto, err := parseProto(o.proto)
	if err != nil {
		return err
	}
	p := dataplane.Packet{Time: time.Unix(1700000000, 0).UTC(), Src: src, Dst: dst, Protocol: proto, SrcPort: sport, DstPort: dport, Size: o.size}
	switch proto {
	case vpc.ProtoTCP:
		if p.TCPFlags, err = parseTCPFlags(o.flags); err != nil {
			return err
		}
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		if o.icmpType < 0 || o.icmpType > 255 || o.icmpCode < 0 || o.icmpCode > 255 {
			return errors.New("--icmp-type and --icmp-code must be 0-255")
		}
		p.SrcPort, p.DstPort = 0, 0
		p.ICMPType, p.ICMPCode = uint8(o.icmpType), uint8(o.icmpCode)
	}
	if proto == vpc.ProtoTCP || proto == vpc.ProtoUDP {
		if p.SrcPort == 0 {
			p.SrcPort = 49152
		}
		if p.DstPort == 0 {
			return fmt.Errorf("--dst needs a port for %s (IP:PORT)", o.proto)
		}
	}
	d, err := dataplane.New(topo, dataplane.Options{})
	if err != nil {
		return err
	}
	ex, err := d.Explain(p)
	if err != nil {
		return err
	}
	fmt.Fprint(w, ex)
	if !o.withReply || !ex.Result.Delivered {
		return nil
	}
	r := reply(p, ex)
	ex, err = d.Explain(r)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "\nreply:")
	fmt.Fprint(w, ex)
	return nil
}

// reply builds the response to p as the receiver sends it: to the address
// the packet came from (after NAT), from the address it was sent to.
func reply(p dataplane.Packet, ex *dataplane.Explanation) dataplane.Packet {
	r := p
	r.Time = p.Time.Add(time.Millisecond)
	r.Src, r.Dst = p.Dst, p.Src
	r.SrcPort, r.DstPort = p.DstPort, p.SrcPort
	if ps := ex.Result.PublicSrc; ps.IsValid() {
		// Left through an internet gateway: the host answers the public
		// address (and NAT port) it saw.
		r.Dst, r.DstPort = ps.Addr(), ps.Port()
	} else if n := len(ex.Observations); n > 0 {
		last := ex.Observations[n-1]
		if last.Direction == flow.Ingress {
			// The receiver answers from the address it received on (its
			// private IP behind the internet gateway) to the packet source.
			r.Src, r.Dst = last.PktDstAddr, last.PktSrcAddr
			r.SrcPort, r.DstPort = last.DstPort, last.SrcPort
		}
	}
	switch p.Protocol {
	case vpc.ProtoTCP:
		r.TCPFlags = flow.TCPSynAck
		if p.TCPFlags&flow.TCPSyn == 0 {
			r.TCPFlags = flow.TCPAck
		}
	case vpc.ProtoICMP:
		if p.ICMPType == 8 {
			r.ICMPType = 0
		}
	case vpc.ProtoICMPv6:
		if p.ICMPType == 128 {
			r.ICMPType = 129
		}
	}
	return r
}

func parseEndpoint(flag, s string) (netip.Addr, uint16, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), ap.Port(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, 0, fmt.Errorf("%s %q: expected IP or IP:PORT ([IPv6]:PORT)", flag, s)
	}
	return a.Unmap(), 0, nil
}

// parseProto parses --proto: a packet has one protocol, so "all" and its
// aliases are refused.
func parseProto(s string) (uint8, error) {
	p, err := vpc.ParseProtocol(s)
	if err != nil || p == vpc.AnyProtocol {
		return 0, fmt.Errorf("--proto %q: expected tcp, udp, icmp, icmpv6 or a number 0-255", s)
	}
	return uint8(p), nil
}

func parseTCPFlags(s string) (uint8, error) {
	if s == "" {
		return flow.TCPSyn, nil
	}
	if n, err := strconv.ParseUint(s, 0, 8); err == nil {
		return uint8(n), nil
	}
	names := map[string]uint8{"FIN": 0x01, "SYN": 0x02, "RST": 0x04, "PSH": 0x08, "ACK": 0x10, "URG": 0x20, "SYN-ACK": 0x12, "SYNACK": 0x12}
	var v uint8
	for _, part := range strings.FieldsFunc(strings.ToUpper(s), func(r rune) bool { return r == ',' || r == '|' || r == '+' }) {
		f, ok := names[strings.TrimSpace(part)]
		if !ok {
			return 0, fmt.Errorf("--flags %q: unknown flag %q (want SYN, ACK, FIN, RST, PSH, URG, SYN-ACK or a number)", s, part)
		}
		v |= f
	}
	return v, nil
}
