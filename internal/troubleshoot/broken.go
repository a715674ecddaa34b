package troubleshoot

import (
	"fmt"
	"net/netip"
	"strings"

	"vpcflow/internal/flow"
	"vpcflow/internal/vpc"
)

// Expectation is a flow that should appear in the logs. Src may be invalid
// (any client); Proto 0 means any protocol, Port 0 any port.
type Expectation struct {
	Src   netip.Addr
	Dst   netip.Addr
	Port  uint16
	Proto uint8
}

func (x Expectation) String() string {
	src := "*"
	if x.Src.IsValid() {
		src = x.Src.String()
	}
	s := src + "->" + x.Dst.String()
	if x.Port != 0 {
		s = src + "->" + netip.AddrPortFrom(x.Dst, x.Port).String() // [v6]:port
	}
	if x.Proto != 0 {
		s += "/" + protoName(x.Proto)
	}
	return s
}

// ParseExpectation parses "SRC->DST[:PORT][/PROTO]", SRC being an address or
// "*", for example "10.0.10.15->10.0.20.25:5432/tcp".
func ParseExpectation(s string) (Expectation, error) {
	var x Expectation
	src, rest, ok := strings.Cut(s, "->")
	if !ok {
		return x, fmt.Errorf("expected flow %q: want SRC->DST[:PORT][/PROTO]", s)
	}
	if src = strings.TrimSpace(src); src != "*" && src != "" {
		a, err := netip.ParseAddr(src)
		if err != nil {
			return x, fmt.Errorf("expected flow %q: source: %v", s, err)
		}
		x.Src = a
	}
	rest, proto, hasProto := strings.Cut(strings.TrimSpace(rest), "/")
	if hasProto {
		p, err := vpc.ParseProtocol(proto)
		if err != nil || p < 0 {
			return x, fmt.Errorf("expected flow %q: protocol %q: want tcp, udp, icmp or a number", s, proto)
		}
		x.Proto = uint8(p)
	}
	if ap, err := netip.ParseAddrPort(rest); err == nil {
		x.Dst, x.Port = ap.Addr(), ap.Port()
	} else if a, err := netip.ParseAddr(rest); err == nil {
		x.Dst = a
	} else {
		return x, fmt.Errorf("expected flow %q: destination %q: want IP or IP:PORT ([IPv6]:PORT)", s, rest)
	}
	return x, nil
}

func (x Expectation) matches(r *flow.Record) bool {
	src, dst := endpoints(r)
	if x.Proto != 0 && uint8(r.Protocol) != x.Proto {
		return false
	}
	fwd := dst.addr == x.Dst && (x.Port == 0 || dst.port == x.Port) && (!x.Src.IsValid() || src.addr == x.Src)
	rev := src.addr == x.Dst && (x.Port == 0 || src.port == x.Port) && (!x.Src.IsValid() || dst.addr == x.Src)
	return fwd || rev
}

// broken runs the ACCEPT-but-broken checks.
func (a *analysis) broken() []Finding {
	var out []Finding
	seenRoute := map[string]bool{}
	for _, c := range a.convs {
		if _, blocked := classifyConversation(c); blocked {
			continue
		}
		answered := false
		for _, v := range c.Views {
			if v.RespOut.records() > 0 || v.RespIn.records() > 0 {
				answered = true
			}
		}
		for _, v := range c.Views {
			if a.opts.Interface != "" && v.Interface != a.opts.Interface {
				continue
			}
			out = append(out, a.serverSide(c, v)...)
			if f, ok := a.clientSide(c, v, answered); ok {
				out = append(out, f)
			}
			out = append(out, a.middleBox(c, v)...)
		}
		if a.opts.Topology != nil {
			out = append(out, a.routeChecks(c, answered, seenRoute)...)
		}
	}
	out = append(out, a.expectations()...)
	return mergeMiddleBox(out)
}

// mergeMiddleBox makes the asymmetric-path warnings of one interface,
// server and service one finding over all their clients: one return path
// gone astray is one problem, not one per client.
func mergeMiddleBox(fs []Finding) []Finding {
	type key struct {
		eni, server string
		port        uint16
		proto       uint8
	}
	at := map[key]int{}
	clients := map[key]map[netip.Addr]bool{}
	out := fs[:0]
	for _, f := range fs {
		if f.Kind != KindAsymmetric || f.Severity != "warning" {
			out = append(out, f)
			continue
		}
		k := key{f.Interface, f.Server.String(), f.Port, f.Protocol}
		i, ok := at[k]
		if !ok {
			at[k] = len(out)
			clients[k] = map[netip.Addr]bool{f.Client: true}
			f.Sources = 1
			out = append(out, f)
			continue
		}
		g := &out[i]
		g.Records += f.Records
		g.First, g.Last = min(g.First, f.First), max(g.Last, f.Last)
		if !clients[k][f.Client] {
			clients[k][f.Client] = true
			g.Sources++
			g.Summary = fmt.Sprintf("responses of %s from %s to %d clients pass through %s, which never saw the requests: asymmetric return path",
				service(g.Protocol, g.Port), g.Server, g.Sources, g.Interface)
		}
	}
	return out
}

// answerable: protocols where a request always gets a response.
func answerable(proto uint8) bool { return proto == 6 || isICMP(proto) }

func (a *analysis) serverSide(c *Conversation, v *View) []Finding {
	if v.ReqIn.Accept == 0 || !answerable(c.Protocol) {
		return nil
	}
	base := Finding{Interface: v.Interface, Client: c.Client, Server: c.Server, Port: c.Port, Protocol: c.Protocol,
		Records: v.ReqIn.Accept, First: v.ReqIn.First, Last: v.ReqIn.Last}
	svc := service(c.Protocol, c.Port)
	if v.RespOut.records() > 0 {
		f := v.RespOut.Flags
		if v.RespOut.HasFlags && f&flow.TCPRst != 0 && f&flow.TCPSynAck != flow.TCPSynAck {
			base.Kind, base.Severity, base.Confidence = KindConnectionRefused, "warning", High
			base.Summary = fmt.Sprintf("%s answered %s from %s with RST only: nothing listens on port %d (connection refused)", v.Interface, svc, c.Client, c.Port)
			base.Detail = "the network let the SYN in (ACCEPT); the host refused it. Start the service or fix the port it listens on."
			return []Finding{base}
		}
		return nil
	}
	if own := a.own[v.Interface]; own.IsValid() && own != c.Server {
		// a middle box (NAT gateway) that forwards requests: the server's
		// own interface, if logged, tells what happened.
		return nil
	}
	base.Severity, base.Confidence = "warning", Medium
	if c.Protocol == 6 && v.ReqIn.HasFlags && v.ReqIn.Flags&flow.TCPSyn != 0 && v.ReqIn.Flags&^flow.TCPFin&^flow.TCPSyn == 0 {
		base.Kind = KindSYNNoSYNACK
		base.Confidence = High
		base.Summary = fmt.Sprintf("%s from %s to %s: SYN accepted on %s, never a SYN-ACK back", svc, c.Client, c.Server, v.Interface)
	} else {
		base.Kind = KindNoResponse
		base.Summary = fmt.Sprintf("%s from %s to %s: requests accepted on %s, no response ever left it", svc, c.Client, c.Server, v.Interface)
	}
	base.Detail = "flow logs stop at the interface: the host dropped the packets itself (OS firewall such as iptables/ufw), nothing listens, or the application is hung. " +
		"If the flow log captures ACCEPT only, a response rejected by the network ACL would not appear either."
	return []Finding{base}
}

func (a *analysis) clientSide(c *Conversation, v *View, answered bool) (Finding, bool) {
	if v.ReqOut.Accept == 0 || v.RespIn.records() > 0 || answered || !answerable(c.Protocol) {
		return Finding{}, false
	}
	for _, o := range c.Views {
		if o != v && o.ReqIn.records() > 0 && a.own[o.Interface] == c.Server {
			return Finding{}, false // the server's interface tells more
		}
	}
	f := Finding{Kind: KindNoReply, Severity: "warning", Interface: v.Interface, Client: c.Client, Server: c.Server,
		Port: c.Port, Protocol: c.Protocol, Records: v.ReqOut.Accept, First: v.ReqOut.First, Last: v.ReqOut.Last, Confidence: Medium}
	svc := service(c.Protocol, c.Port)
	f.Summary = fmt.Sprintf("%s from %s to %s: requests left %s (ACCEPT), no reply came back", svc, c.Client, c.Server, v.Interface)
	f.Detail = "ACCEPT only means the interface let the packets out. Past it: a missing or blackhole route, a NAT gateway that is missing, down or in another AZ, an internet gateway without a public IP, or a remote host that does not answer."
	if c.Protocol == 6 && v.ReqOut.HasFlags && v.ReqOut.Flags&^flow.TCPFin&^flow.TCPSyn == 0 && v.ReqOut.Flags&flow.TCPSyn != 0 {
		f.Kind = KindSYNNoSYNACK
		f.Summary = fmt.Sprintf("%s from %s to %s: SYN left %s, no SYN-ACK came back", svc, c.Client, c.Server, v.Interface)
	}
	return f, true
}

// middleBox finds interfaces that carry a conversation's responses but not
// its requests (pkt-* fields needed): the response takes another way back
// than the request came, and the client sees a different source.
func (a *analysis) middleBox(c *Conversation, v *View) []Finding {
	own := a.own[v.Interface]
	if !own.IsValid() || own == c.Client || own == c.Server {
		return nil
	}
	if v.ReqIn.records()+v.ReqOut.records() > 0 || v.RespIn.records() == 0 {
		return nil
	}
	res := ""
	if t := a.opts.Topology; t != nil {
		if nat := t.NATGatewayByInterface(v.Interface); nat != nil {
			res = nat.ID
		}
	}
	return []Finding{{Kind: KindAsymmetric, Severity: "warning", Interface: v.Interface, Resource: res, Client: c.Client, Server: c.Server,
		Port: c.Port, Protocol: c.Protocol, Records: v.RespIn.records(), First: v.RespIn.First, Last: v.RespIn.Last, Confidence: Medium,
		Summary: fmt.Sprintf("responses of %s from %s to %s pass through %s, which never saw the requests: asymmetric return path",
			service(c.Protocol, c.Port), c.Server, c.Client, v.Interface),
		Detail: "the reply leaves by another way than the request came in (for example through a NAT gateway): it gets another source address and the client drops it, even though every record is ACCEPT."}}
}

// routeChecks inspects, with the topology, the route a conversation takes
// out of the client's subnet and the route of the responses out of the
// server's subnet.
func (a *analysis) routeChecks(c *Conversation, answered bool, seen map[string]bool) []Finding {
	t := a.opts.Topology
	var out []Finding
	add := func(key string, f Finding) {
		if seen[key] {
			return
		}
		seen[key] = true
		f.Client, f.Server, f.Port, f.Protocol = c.Client, c.Server, c.Port, c.Protocol
		out = append(out, f)
	}
	// Client side: only when no reply came (else the route works).
	if ce := t.InterfaceByPrivateIP(c.Client); ce != nil && !answered {
		for _, f := range a.outboundRoute(ce, c.Server) {
			add(f.Kind+ce.SubnetID+f.Resource+c.Server.String(), f)
		}
	}
	// Client side, always: NAT gateway in another AZ (works until that AZ fails).
	if ce := t.InterfaceByPrivateIP(c.Client); ce != nil {
		if f, ok := a.natAZ(ce, c.Server); ok {
			add(f.Kind+ce.SubnetID+f.Resource, f)
		}
	}
	// Server side: a request from the internet whose response would leave
	// through a NAT gateway instead of the internet gateway.
	if se := t.InterfaceByPrivateIP(c.Server); se != nil && publicOutside(t, c.Client) && c.Port != 0 {
		s := t.Subnet(se.SubnetID)
		if s == nil {
			return out
		}
		rtb := t.RouteTable(s.RouteTableID)
		if rtb == nil {
			return out
		}
		r, ok := t.LookupRoute(rtb, c.Client)
		switch {
		case !ok:
			add(KindMissingRoute+s.ID+"resp", Finding{Kind: KindMissingRoute, Severity: "high", Interface: se.ID, Resource: rtb.ID, Confidence: High,
				Summary: fmt.Sprintf("responses from %s to %s have no route: route table %s of %s has no route covering %s", c.Server, c.Client, rtb.ID, s.ID, c.Client),
				Detail:  "the request arrived and was ACCEPTed, but the reply cannot leave the subnet."})
		case r.Kind == vpc.TargetNATGateway:
			add(KindAsymmetric+s.ID+r.TargetID, Finding{Kind: KindAsymmetric, Severity: "high", Interface: se.ID, Resource: r.TargetID, Confidence: High,
				Summary: fmt.Sprintf("%s receives %s from the internet (%s) but its subnet %s routes %s to NAT gateway %s: the reply leaves with the NAT's address and the client drops it",
					c.Server, service(c.Protocol, c.Port), c.Client, s.ID, r.Destination, r.TargetID),
				Detail: "serve internet clients from a public subnet (route to an internet gateway) or behind a load balancer; inbound and outbound records are both ACCEPT."})
		}
	}
	return out
}

func (a *analysis) outboundRoute(ce *vpc.Interface, dst netip.Addr) []Finding {
	t := a.opts.Topology
	s := t.Subnet(ce.SubnetID)
	if s == nil {
		return nil
	}
	rtb := t.RouteTable(s.RouteTableID)
	if rtb == nil {
		return nil
	}
	r, ok := t.LookupRoute(rtb, dst)
	base := Finding{Severity: "high", Interface: ce.ID, Resource: rtb.ID, Confidence: High}
	if !ok {
		base.Kind = KindMissingRoute
		base.Summary = fmt.Sprintf("route table %s of subnet %s has no route to %s", rtb.ID, s.ID, dst)
		base.Detail = "the interface ACCEPTs the packets (flow logs do not check routes) but they have nowhere to go. Add a route (0.0.0.0/0 to a NAT or internet gateway)."
		return []Finding{base}
	}
	switch r.Kind {
	case vpc.TargetBlackhole:
		base.Kind = KindBlackhole
		base.Summary = fmt.Sprintf("route table %s of subnet %s sends %s to a blackhole (%s): its target was deleted", rtb.ID, s.ID, dst, r.Destination)
		base.Detail = "replace the route with a live target."
		return []Finding{base}
	case vpc.TargetNATGateway:
		nat := t.NATGateway(r.TargetID)
		if nat == nil {
			base.Kind, base.Resource = KindNATMissing, r.TargetID
			base.Summary = fmt.Sprintf("route table %s sends %s to NAT gateway %s, which does not exist", rtb.ID, r.Destination, r.TargetID)
			base.Detail = "flow logs show ACCEPT on the instance; nothing after it. Create the NAT gateway or fix the route."
			return []Finding{base}
		}
		ns := t.Subnet(nat.SubnetID)
		if ns != nil && nat.Connectivity != "private" {
			if nrt := t.RouteTable(ns.RouteTableID); nrt != nil {
				if nr, ok := t.LookupRoute(nrt, dst); !ok || nr.Kind != vpc.TargetInternetGateway {
					base.Kind, base.Resource = KindNATNoIGW, nat.ID
					base.Summary = fmt.Sprintf("NAT gateway %s sits in subnet %s whose route table %s has no internet gateway route to %s", nat.ID, ns.ID, nrt.ID, dst)
					base.Detail = "a public NAT gateway must live in a public subnet (0.0.0.0/0 to an internet gateway)."
					return []Finding{base}
				}
			}
		}
	case vpc.TargetInternetGateway:
		if t.InternetGateway(r.TargetID) == nil {
			base.Kind, base.Resource = KindMissingRoute, r.TargetID
			base.Summary = fmt.Sprintf("route table %s sends %s to internet gateway %s, which does not exist", rtb.ID, r.Destination, r.TargetID)
			return []Finding{base}
		}
		if len(ce.PublicIPs) == 0 && publicOutside(t, dst) {
			base.Kind = KindNoPublicIP
			base.Summary = fmt.Sprintf("%s reaches the internet through %s but has no public or Elastic IP: the internet gateway cannot translate its address", ce.ID, r.TargetID)
			base.Detail = "give the interface a public/Elastic IP, or route through a NAT gateway."
			return []Finding{base}
		}
	}
	return nil
}

func (a *analysis) natAZ(ce *vpc.Interface, dst netip.Addr) (Finding, bool) {
	t := a.opts.Topology
	s := t.Subnet(ce.SubnetID)
	if s == nil {
		return Finding{}, false
	}
	rtb := t.RouteTable(s.RouteTableID)
	if rtb == nil {
		return Finding{}, false
	}
	r, ok := t.LookupRoute(rtb, dst)
	if !ok || r.Kind != vpc.TargetNATGateway {
		return Finding{}, false
	}
	nat := t.NATGateway(r.TargetID)
	if nat == nil {
		return Finding{}, false
	}
	ns := t.Subnet(nat.SubnetID)
	if ns == nil || ns.AZ == s.AZ {
		return Finding{}, false
	}
	return Finding{Kind: KindNATOtherAZ, Severity: "warning", Interface: ce.ID, Resource: nat.ID, Confidence: High,
		Summary: fmt.Sprintf("subnet %s (%s) reaches %s through NAT gateway %s in %s", s.ID, s.AZ, r.Destination, nat.ID, ns.AZ),
		Detail:  "traffic crosses AZs (cost) and times out when that AZ is impaired, while the instance's records stay ACCEPT. Use a NAT gateway in each AZ."}, true
}

// exemptDst says why traffic to dst is not logged by AWS at all (spec §4).
func (a *analysis) exemptDst(dst netip.Addr) string {
	switch dst {
	case netip.MustParseAddr("169.254.169.254"):
		return "instance metadata (169.254.169.254) is never logged"
	case netip.MustParseAddr("169.254.169.123"):
		return "the Amazon Time Sync Service (169.254.169.123) is never logged"
	}
	if t := a.opts.Topology; t != nil {
		if v := t.VPCOf(dst); v != nil && v.DNSAddr() == dst {
			return "the Amazon-provided DNS server (VPC base + 2) is never logged"
		}
	}
	return ""
}

func (a *analysis) expectations() []Finding {
	var out []Finding
	for _, x := range a.opts.Expect {
		n, rejects := 0, 0
		for _, i := range a.idx {
			r := &a.recs[i]
			if x.matches(r) {
				n++
				if r.Action == flow.ActionReject {
					rejects++
				}
			}
		}
		if n > 0 {
			continue
		}
		f := Finding{Kind: KindNoRecords, Severity: "warning", Client: x.Src, Server: x.Dst, Port: x.Port, Protocol: x.Proto, Confidence: Medium,
			Summary: fmt.Sprintf("no records at all for the expected flow %s", x)}
		if why := a.exemptDst(x.Dst); why != "" {
			f.Severity, f.Confidence = "info", High
			f.Detail = "AWS does not log this traffic: " + why + " (spec §4)."
		} else {
			f.Detail = "the client never sent anything: a DNS failure (flow logs only see IPs and never record a failed lookup), a wrong address, or the application is not running; or no flow log covers these interfaces."
			if t := a.opts.Topology; t != nil && x.Src.IsValid() {
				if ce := t.InterfaceByPrivateIP(x.Src); ce != nil {
					for _, rf := range a.outboundRoute(ce, x.Dst) {
						f.Detail += " And: " + rf.Summary + "."
						rf.Client, rf.Server, rf.Port, rf.Protocol = x.Src, x.Dst, x.Port, x.Proto
						out = append(out, rf)
					}
				} else if t.InterfaceByPrivateIP(x.Dst) == nil {
					f.Detail += " Neither end is an interface of the topology."
				}
			}
		}
		out = append(out, f)
	}
	return out
}
