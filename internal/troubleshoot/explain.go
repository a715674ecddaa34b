package troubleshoot

import (
	"fmt"
	"net/netip"
	"strings"

	"vpcflow/internal/vpc"
)

// Fix is the smallest change that would let a blocked conversation through,
// or the advice to keep it blocked.
type Fix struct {
	// Hostile means the traffic looks like an attack and should stay blocked.
	Hostile bool `json:"hostile,omitempty"`
	// Campaign names the hostile activity (port scan, brute force, flood).
	Campaign string `json:"campaign,omitempty"`
	Summary  string `json:"summary"`
	// Command is the AWS CLI call that makes the change.
	Command string `json:"command,omitempty"`
	// Patch is the change as a what-if patch (vpcflow whatif --patch).
	Patch *Patch `json:"patch,omitempty"`
	// Caution notes a risk of applying the change.
	Caution string `json:"caution,omitempty"`

	// hostCIDR is the host CIDR the change allows, when it names a single
	// address (so that a group of clients can widen it).
	hostCIDR string
}

// adminPorts are remote administration and database ports that should not be
// opened to the internet lightly.
var adminPorts = map[uint16]bool{22: true, 23: true, 135: true, 139: true, 445: true, 1433: true,
	3306: true, 3389: true, 5432: true, 5900: true, 6379: true, 9200: true, 11211: true, 27017: true}

// explain replays the rejected leg of b through the topology and proposes a
// fix.
func (a *analysis) explain(b *Blocked) {
	t := a.opts.Topology
	e := t.Interface(b.Interface)
	if e == nil {
		b.Reason += fmt.Sprintf("; %s is not in the topology, so the rule cannot be named", b.Interface)
		return
	}
	req := requestPacket(b.conv)
	var checks []Decision
	switch b.Seed {
	case 1:
		checks = a.ev.inbound(e, req, false)
	case 2:
		checks = a.ev.outbound(e, req.reverse(), true)
	case 3:
		checks = a.ev.outbound(e, req, false)
	case 4:
		checks = a.ev.inbound(e, req.reverse(), true)
	}
	b.Checks = checks
	d, ok := verdict(checks)
	if !ok {
		b.Reason += "; the topology makes no check here (no security group, same subnet): it cannot explain the REJECT"
		return
	}
	if d.Allowed && (b.Seed == 2 || b.Seed == 4) {
		// A response is let through as tracked; judged on its own, the
		// security group refuses it: the connection had been forgotten
		// (idle past its tracking timeout, spec §8.3) when it came.
		var own []Decision
		if b.Seed == 2 {
			own = a.ev.outbound(e, req.reverse(), false)
		} else {
			own = a.ev.inbound(e, req.reverse(), false)
		}
		if od, ok := verdict(own); ok && !od.Allowed && od.Layer == "sg" {
			b.Checks, d = own, od
			b.Reason += "; but not here: the security group lets a response through only while it tracks the connection, and no rule allows this one on its own: it came after the connection was forgotten (idle past the tracking timeout, spec §8.3)"
			b.Decision = &d
			b.Suspect = Suspect(d.Layer)
			b.Confidence = Medium
			b.Fix = a.fix(b, e, d)
			return
		}
	}
	if d.Allowed {
		b.Reason += "; the topology allows this traffic now: the configuration changed since, the topology is not the one that produced the records, or the packets arrived after the connection was closed (spec §1.3.1)"
		b.Confidence = Low
		return
	}
	b.Decision = &d
	b.Suspect = Suspect(d.Layer)
	b.Confidence = High
	b.Fix = a.fix(b, e, d)
	a.completeFix(b, e)
}

// leg is one direction of a conversation as the interface sees it.
type leg struct {
	p         packet
	inbound   bool // into the interface
	response  bool
	direction string // "ingress" or "egress"
}

// legs are the legs of b's conversation that must pass for it to work:
// the rejected one, and after a rejected request the response (network
// ACLs are stateless: the reply needs its own rule, spec §8.4).
func legs(b *Blocked) []leg {
	req := requestPacket(b.conv)
	switch b.Seed {
	case 1:
		return []leg{{req, true, false, "ingress"}, {req.reverse(), false, true, "egress"}}
	case 2:
		return []leg{{req.reverse(), false, true, "egress"}}
	case 3:
		return []leg{{req, false, false, "egress"}, {req.reverse(), true, true, "ingress"}}
	case 4:
		return []leg{{req.reverse(), true, true, "ingress"}}
	}
	return nil
}

// maxFixSteps bounds the changes one fix joins (both layers of the
// request, the reply's network ACL).
const maxFixSteps = 3

// completeFix checks b's fix on a copy of the topology: when another layer
// still blocks the rejected leg (a packet must pass the network ACL and
// the security group, spec §8.1) or the reply (§8.4), the change that
// clears it joins the fix, so that the fix lets the traffic through.
func (a *analysis) completeFix(b *Blocked, e *vpc.Interface) {
	f := b.Fix
	if f == nil || f.Hostile || f.Patch == nil {
		return
	}
	t, errs := vpc.FromDocument(a.opts.Topology.Document())
	if len(errs) > 0 || f.Patch.Apply(t) != nil {
		return
	}
	te := t.Interface(e.ID)
	for range maxFixSteps - 1 {
		ev := evaluator{t: t}
		var next *Fix
		for _, l := range legs(b) {
			var checks []Decision
			if l.inbound {
				checks = ev.inbound(te, l.p, l.response)
			} else {
				checks = ev.outbound(te, l.p, l.response)
			}
			d, ok := verdict(checks)
			if !ok || d.Allowed {
				continue
			}
			lb := *b
			lb.Direction, lb.Response = l.direction, l.response
			switch d.Layer {
			case "sg":
				next = sgFix(t, &lb, te, l.p)
			case "nacl":
				next = naclFix(t, &lb, d, l.p)
			}
			break
		}
		if next == nil || next.Patch == nil || next.Patch.Apply(t) != nil {
			return
		}
		f.join(next)
	}
}

// join adds g's change to f: both are needed.
func (f *Fix) join(g *Fix) {
	f.Summary += "; and " + g.Summary
	f.Command += " && " + g.Command
	f.Patch.SecurityGroups = append(f.Patch.SecurityGroups, g.Patch.SecurityGroups...)
	f.Patch.NetworkACLs = append(f.Patch.NetworkACLs, g.Patch.NetworkACLs...)
	if g.Caution != "" {
		f.Caution = strings.TrimPrefix(f.Caution+"; "+g.Caution, "; ")
	}
	if f.hostCIDR != g.hostCIDR {
		f.hostCIDR = "" // two different host CIDRs: widen neither
	}
}

func (a *analysis) fix(b *Blocked, e *vpc.Interface, d Decision) *Fix {
	if c := a.campaignOf(b.conv); c != nil && (!b.Response || c.Responses) {
		return &Fix{Hostile: true, Campaign: c.Label, Summary: c.Advice}
	}
	t := a.opts.Topology
	req := requestPacket(b.conv)
	p := req
	if b.Response {
		p = req.reverse()
	}
	switch d.Layer {
	case "sg":
		return sgFix(t, b, e, p)
	case "nacl":
		return naclFix(t, b, d, p)
	}
	return &Fix{Summary: d.Explanation}
}

// peerFor returns the smallest SG rule peer for addr: the first security
// group of its interface when it is in the same VPC, else a host CIDR.
func peerFor(t *vpc.Topology, addr netip.Addr, vpcID string) (group string, cidr netip.Prefix) {
	if o := t.InterfaceByPrivateIP(addr); o != nil && o.VPCID == vpcID && len(o.SecurityGroupIDs) > 0 {
		return o.SecurityGroupIDs[0], netip.Prefix{}
	}
	return "", netip.PrefixFrom(addr, addr.BitLen())
}

func sgFix(t *vpc.Topology, b *Blocked, e *vpc.Interface, p packet) *Fix {
	egress := b.Direction == "egress"
	remote := p.src
	if egress {
		remote = p.dst
	}
	sg := e.SecurityGroupIDs[0]
	group, cidr := peerFor(t, remote, e.VPCID)
	rule := vpc.SGRuleDoc{Protocol: vpc.Scalar(protoName(p.proto)), CIDR: cidr.String(), Group: group,
		Description: "vpcflow diagnose: " + service(p.proto, p.dport)}
	if !cidr.IsValid() {
		rule.CIDR = ""
	}
	perm := "IpProtocol=" + protoName(p.proto)
	what := p.service()
	switch {
	case hasPorts(p.proto) && b.Response:
		// A response the group no longer tracks goes to the client's
		// ephemeral port, which changes with every connection.
		ports := vpc.PortRange{From: 1024, To: 65535}
		rule.Ports = vpc.Scalar(ports.String())
		perm += fmt.Sprintf(",FromPort=%d,ToPort=%d", ports.From, ports.To)
		what = fmt.Sprintf("%s/%s (the ephemeral ports of responses)", protoName(p.proto), ports)
	case hasPorts(p.proto):
		rule.Ports = vpc.Scalar(fmt.Sprint(p.dport))
		perm += fmt.Sprintf(",FromPort=%d,ToPort=%d", p.dport, p.dport)
	case isICMP(p.proto):
		typ, code := int(p.icmpType), -1
		rule.ICMPType, rule.ICMPCode = &typ, &code
		perm += fmt.Sprintf(",FromPort=%d,ToPort=-1", typ)
	default:
		perm = fmt.Sprintf("IpProtocol=%d", p.proto)
	}
	if group != "" {
		perm += ",UserIdGroupPairs=[{GroupId=" + group + "}]"
	} else if cidr.Addr().Is4() {
		perm += ",IpRanges=[{CidrIp=" + cidr.String() + "}]"
	} else {
		perm += ",Ipv6Ranges=[{CidrIpv6=" + cidr.String() + "}]"
	}
	ch := SGChange{ID: sg}
	verb := "authorize-security-group-ingress"
	peerWord := "from"
	if egress {
		ch.AuthorizeEgress = []vpc.SGRuleDoc{rule}
		verb = "authorize-security-group-egress"
		peerWord = "to"
	} else {
		ch.AuthorizeIngress = []vpc.SGRuleDoc{rule}
	}
	peer := rule.CIDR
	if group != "" {
		peer = group
	}
	f := &Fix{
		Summary: fmt.Sprintf("add to security group %s an %s rule allowing %s %s %s", sg, b.Direction, what, peerWord, peer),
		Command: fmt.Sprintf("aws ec2 %s --group-id %s --ip-permissions '%s'", verb, sg, perm),
		Patch:   &Patch{SecurityGroups: []SGChange{ch}},
	}
	if group == "" {
		f.hostCIDR = rule.CIDR
	}
	if !egress && !remote.IsPrivate() && adminPorts[p.dport] && hasPorts(p.proto) {
		f.Caution = fmt.Sprintf("this opens %s to an internet address; keep it to this /32, or prefer a bastion or Session Manager", p.service())
	}
	return f
}

func naclFix(t *vpc.Topology, b *Blocked, d Decision, p packet) *Fix {
	acl := t.NetworkACL(d.ResourceID)
	if acl == nil {
		return &Fix{Summary: d.Explanation}
	}
	egress := d.Direction == "egress"
	entries := acl.Ingress
	if egress {
		entries = acl.Egress
	}
	remote := p.src
	if egress {
		remote = p.dst
	}
	num := freeRuleNumber(entries, d.RuleNumber)
	peer := netip.PrefixFrom(remote, remote.BitLen())
	everyone := b.Response && hasPorts(p.proto) && publicOutside(t, remote)
	if everyone {
		// A public-facing server answers clients anywhere, each from its own
		// ephemeral port: "to cover the different types of clients ...
		// you can open ephemeral ports 1024-65535" (spec §8.4).
		peer = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		if remote.Is6() {
			peer = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
	}
	entry := vpc.NACLEntryDoc{Rule: num, Protocol: vpc.Scalar(protoName(p.proto)),
		CIDR: peer.String(), Action: "allow"}
	args := fmt.Sprintf("--protocol %s", protoName(p.proto))
	what := p.service()
	switch {
	case hasPorts(p.proto):
		ports := vpc.PortRange{From: p.dport, To: p.dport}
		if b.Response {
			// The response goes to the client's ephemeral port, which changes
			// with every connection: open the range (spec §8.4).
			ports = vpc.PortRange{From: 1024, To: 65535}
			what = fmt.Sprintf("%s/%s (the ephemeral ports of responses)", protoName(p.proto), ports)
		}
		entry.Ports = vpc.Scalar(ports.String())
		args += fmt.Sprintf(" --port-range From=%d,To=%d", ports.From, ports.To)
	case isICMP(p.proto):
		typ, code := int(p.icmpType), -1
		entry.ICMPType, entry.ICMPCode = &typ, &code
		args += fmt.Sprintf(" --icmp-type-code Type=%d,Code=-1", typ)
	default:
		args = fmt.Sprintf("--protocol %d", p.proto)
	}
	ch := NACLChange{ID: acl.ID}
	flag := "--ingress"
	peerWord := "from"
	if egress {
		ch.Egress = []vpc.NACLEntryDoc{entry}
		flag = "--egress"
		peerWord = "to"
	} else {
		ch.Ingress = []vpc.NACLEntryDoc{entry}
	}
	block := "cidr-block"
	if !remote.Is4() {
		block = "ipv6-cidr-block"
	}
	f := &Fix{
		Summary: fmt.Sprintf("add to network ACL %s an %s rule %d allowing %s %s %s", acl.ID, d.Direction, num, what, peerWord, entry.CIDR),
		Command: fmt.Sprintf("aws ec2 create-network-acl-entry --network-acl-id %s %s --rule-number %d %s --%s %s --rule-action allow",
			acl.ID, flag, num, args, block, entry.CIDR),
		Patch: &Patch{NetworkACLs: []NACLChange{ch}},
	}
	if !everyone {
		f.hostCIDR = entry.CIDR
	}
	if d.RuleNumber != DefaultRuleNumber {
		f.Caution = fmt.Sprintf("rule %d denies this explicitly; make sure that is not intended (a block list) before allowing it", d.RuleNumber)
		if num == d.RuleNumber {
			f.Summary = fmt.Sprintf("replace rule %d of network ACL %s (%s) by an allow rule for %s %s %s; no free rule number below it",
				d.RuleNumber, acl.ID, d.Direction, what, peerWord, entry.CIDR)
			f.Command = strings.Replace(f.Command, "create-network-acl-entry", "replace-network-acl-entry", 1)
		}
	}
	return f
}

// freeRuleNumber picks a rule number for a new allow rule that is evaluated
// before the deciding rule: the largest free number below an explicit deny,
// or the next multiple of 10 after the last rule when the "*" rule decided.
// It returns deny itself when no number below it is free.
func freeRuleNumber(entries []vpc.NACLEntry, deny int) int {
	used := map[int]bool{}
	last := 0
	for _, e := range entries {
		used[e.RuleNumber] = true
		last = max(last, e.RuleNumber)
	}
	if deny == DefaultRuleNumber {
		n := (last/10 + 1) * 10
		if n > 32766 {
			for n = 32766; n > 0 && used[n]; n-- {
			}
		}
		return n
	}
	for n := deny - 1; n >= 1; n-- {
		if !used[n] {
			return n
		}
	}
	return deny
}

// publicOutside reports whether addr is outside every VPC of the topology
// and not a private address.
func publicOutside(t *vpc.Topology, addr netip.Addr) bool {
	if t != nil && t.VPCOf(addr) != nil {
		return false
	}
	return !addr.IsPrivate() && !addr.IsLoopback() && !addr.IsLinkLocalUnicast()
}

// widen rewrites a fix that allows one host so that it allows prefix.
func (f *Fix) widen(prefix netip.Prefix) *Fix {
	old, nw := f.hostCIDR, prefix.String()
	g := *f
	g.Summary = strings.ReplaceAll(f.Summary, old, nw)
	g.Command = strings.ReplaceAll(f.Command, old, nw)
	g.hostCIDR = ""
	if f.Patch != nil {
		b, err := f.Patch.Marshal()
		if err == nil {
			if p, err := ParsePatch([]byte(strings.ReplaceAll(string(b), old, nw)), "fix"); err == nil {
				g.Patch = p
			}
		}
	}
	return &g
}

// covering returns the smallest prefix that contains every address.
func covering(addrs []netip.Addr) (netip.Prefix, bool) {
	if len(addrs) == 0 {
		return netip.Prefix{}, false
	}
	first := addrs[0]
	bits := first.BitLen()
	for _, a := range addrs[1:] {
		if a.BitLen() != first.BitLen() {
			return netip.Prefix{}, false
		}
		for bits > 0 {
			p, _ := first.Prefix(bits)
			if p.Contains(a) {
				break
			}
			bits--
		}
	}
	p, err := first.Prefix(bits)
	return p, err == nil
}
