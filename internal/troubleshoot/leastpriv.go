package troubleshoot

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"

	"vpcflow/internal/flow"
	"vpcflow/internal/policy"
	"vpcflow/internal/vpc"
)

// maxHostPeers is how many distinct host addresses one rule lists before
// the suggestion widens: to the /24s (IPv4) or /64s (IPv6) of the hosts,
// or to the CIDRs of the current rules that allowed them, whichever is
// narrower, and to all addresses (a public service) when neither stays
// within maxHostPeers prefixes.
const maxHostPeers = 16

// GroupSuggestion is the least-privilege rule set of one security group
// (or, without a topology, of one interface), generated from the requests
// that were ACCEPTed. Responses need no rule: security groups are stateful.
type GroupSuggestion struct {
	// ID is the security group id, or the interface id when the topology
	// does not know the interface.
	ID         string          `yaml:"id" json:"id"`
	Interfaces []string        `yaml:"interfaces" json:"interfaces"`
	Ingress    []vpc.SGRuleDoc `yaml:"ingress" json:"ingress"`
	Egress     []vpc.SGRuleDoc `yaml:"egress" json:"egress"`
	// Unused lists the group's current rules that no accepted request
	// used: candidates for removal.
	Unused []string `yaml:"unused_rules,omitempty" json:"unused_rules,omitempty"`
	// LeftOut lists accepted requests that get no rule because they are
	// part of hostile activity (a port scan, brute force or flood).
	LeftOut []string `yaml:"left_out,omitempty" json:"left_out,omitempty"`
}

type lpKey struct {
	group, dir string
	proto      uint8
	port       uint16
}

// LeastPrivilege generates security group rules from the ACCEPTed requests
// of the records: for each server interface an ingress rule per service and
// client, for each client an egress rule per service and server. A peer is
// the peer's security group when the topology has it in the same VPC, else
// its host address; more than 16 hosts for one service are widened (see
// maxHostPeers), never wider than 0.0.0.0/0 (or ::/0) and, when the
// current rules that allowed them are CIDRs, never wider than those.
// Requests that the diagnosis finds hostile (a port scanner's, brute force
// and floods) get no rule: they are listed as left out.
func LeastPrivilege(records []flow.Record, t *vpc.Topology) []GroupSuggestion {
	a := &analysis{opts: Options{Topology: t}, recs: records, hostile: map[netip.Addr][]*campaign{}}
	a.opts.defaults()
	for i := range records {
		if usable(&records[i]) {
			a.idx = append(a.idx, i)
		}
	}
	a.own = ownAddresses(records, a.idx, a.knownAddr)
	a.convs = buildConversations(records, a.idx, a.own)
	a.security() // marks the hostile sources
	peers := map[lpKey]map[string]bool{}
	hostAddrs := map[lpKey][]netip.Addr{}
	// allowedBy holds the CIDRs of the current rules that allowed each
	// key's host peers; opaque marks keys where some request was allowed
	// otherwise (a group or prefix list rule), so no CIDR bound is known.
	allowedBy := map[lpKey]map[netip.Prefix]bool{}
	opaque := map[lpKey]bool{}
	enis := map[string]map[string]bool{}
	type leftKey struct {
		group, what string // "tcp/80 to 10.0.0.10", "(port scan by …)"
		camp        *campaign
	}
	leftOut := map[leftKey]map[netip.Addr]bool{} // -> clients
	used := map[string]map[string]bool{}         // group -> rule text -> used
	var ev *evaluator
	if t != nil {
		ev = &evaluator{t: t}
	}
	groupsOf := func(eni string, self *vpc.Interface) ([]string, string) {
		if self != nil && len(self.SecurityGroupIDs) > 0 {
			return self.SecurityGroupIDs, self.VPCID
		}
		return []string{eni}, ""
	}
	add := func(eni string, dir string, proto uint8, port uint16, peer netip.Addr, self *vpc.Interface, allow *Decision) {
		groups, vpcID := groupsOf(eni, self)
		peerText := netip.PrefixFrom(peer, peer.BitLen()).String()
		isHost := true
		if t != nil && vpcID != "" {
			if g, _ := peerFor(t, peer, vpcID); g != "" {
				peerText, isHost = g, false
			}
		}
		for _, g := range groups {
			k := lpKey{g, dir, proto, port}
			if peers[k] == nil {
				peers[k] = map[string]bool{}
			}
			if !peers[k][peerText] && isHost {
				hostAddrs[k] = append(hostAddrs[k], peer)
				switch cidr, ok := allowingCIDR(t, allow, dir == "egress"); {
				case ok:
					if allowedBy[k] == nil {
						allowedBy[k] = map[netip.Prefix]bool{}
					}
					allowedBy[k][cidr] = true
				default:
					opaque[k] = true
				}
			}
			peers[k][peerText] = true
			if enis[g] == nil {
				enis[g] = map[string]bool{}
			}
			enis[g][eni] = true
		}
	}
	skip := func(eni string, self *vpc.Interface, c *Conversation, camp *campaign) {
		groups, _ := groupsOf(eni, self)
		for _, g := range groups {
			k := leftKey{g, fmt.Sprintf("%s to %s", service(c.Protocol, c.Port), c.Server), camp}
			if leftOut[k] == nil {
				leftOut[k] = map[netip.Addr]bool{}
			}
			leftOut[k][c.Client] = true
		}
	}
	for _, c := range a.convs {
		req := requestPacket(c)
		camp := a.campaignOf(c)
		for _, v := range c.Views {
			own := a.own[v.Interface]
			var self *vpc.Interface
			if t != nil {
				self = t.Interface(v.Interface)
			}
			if self != nil && ev.t.NATGatewayByInterface(self.ID) != nil {
				continue // NAT gateways have no security groups
			}
			if v.ReqIn.Accept > 0 && own == c.Server {
				if camp != nil {
					skip(v.Interface, self, c, camp)
					continue
				}
				var d *Decision
				if self != nil {
					dec := ev.sg(self, false, c.Client, req)
					markUsed(used, dec)
					d = &dec
				}
				add(v.Interface, "ingress", c.Protocol, c.Port, c.Client, self, d)
			}
			if v.ReqOut.Accept > 0 && own == c.Client {
				if camp != nil {
					skip(v.Interface, self, c, camp)
					continue
				}
				var d *Decision
				if self != nil {
					dec := ev.sg(self, true, c.Server, req)
					markUsed(used, dec)
					d = &dec
				}
				add(v.Interface, "egress", c.Protocol, c.Port, c.Server, self, d)
			}
		}
	}
	byGroup := map[string]*GroupSuggestion{}
	keys := make([]lpKey, 0, len(peers))
	for k := range peers {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y lpKey) int {
		return cmp.Or(cmp.Compare(x.group, y.group), cmp.Compare(x.dir, y.dir), cmp.Compare(x.proto, y.proto), cmp.Compare(x.port, y.port))
	})
	for _, k := range keys {
		gs := byGroup[k.group]
		if gs == nil {
			gs = &GroupSuggestion{ID: k.group, Ingress: []vpc.SGRuleDoc{}, Egress: []vpc.SGRuleDoc{}}
			for e := range enis[k.group] {
				gs.Interfaces = append(gs.Interfaces, e)
			}
			slices.Sort(gs.Interfaces)
			byGroup[k.group] = gs
		}
		list := make([]string, 0, len(peers[k]))
		for p := range peers[k] {
			list = append(list, p)
		}
		slices.Sort(list)
		if len(hostAddrs[k]) > maxHostPeers {
			var kept []string
			for _, p := range list {
				if _, err := netip.ParsePrefix(p); err != nil {
					kept = append(kept, p) // security groups stay
				}
			}
			var allow []netip.Prefix
			if !opaque[k] {
				for p := range allowedBy[k] {
					allow = append(allow, p)
				}
			}
			for _, p := range widen(hostAddrs[k], allow) {
				kept = append(kept, p.String())
			}
			list = kept
		}
		for _, p := range list {
			r := vpc.SGRuleDoc{Protocol: vpc.Scalar(protoName(k.proto))}
			switch {
			case hasPorts(k.proto):
				r.Ports = vpc.Scalar(fmt.Sprint(k.port))
			case isICMP(k.proto):
				typ, code := 8, -1
				if k.proto == 58 {
					typ = 128
				}
				r.ICMPType, r.ICMPCode = &typ, &code
			}
			if _, err := netip.ParsePrefix(p); err == nil {
				r.CIDR = p
			} else {
				r.Group = p
			}
			if k.dir == "ingress" {
				gs.Ingress = append(gs.Ingress, r)
			} else {
				gs.Egress = append(gs.Egress, r)
			}
		}
	}
	out := make([]GroupSuggestion, 0, len(byGroup))
	for _, gs := range byGroup {
		if t != nil {
			if g := t.SecurityGroup(gs.ID); g != nil {
				for _, r := range g.Ingress {
					if txt := policy.SGRuleText(flow.Ingress, r); !used[g.ID][txt] {
						gs.Unused = append(gs.Unused, "ingress "+strings.TrimPrefix(txt, "allows "))
					}
				}
				for _, r := range g.Egress {
					if txt := policy.SGRuleText(flow.Egress, r); !used[g.ID][txt] {
						gs.Unused = append(gs.Unused, "egress "+strings.TrimPrefix(txt, "allows "))
					}
				}
			}
		}
		out = append(out, *gs)
	}
	for k, clients := range leftOut {
		i := slices.IndexFunc(out, func(gs GroupSuggestion) bool { return gs.ID == k.group })
		if i < 0 {
			out = append(out, GroupSuggestion{ID: k.group, Ingress: []vpc.SGRuleDoc{}, Egress: []vpc.SGRuleDoc{}})
			i = len(out) - 1
		}
		from := fmt.Sprintf("%d sources", len(clients))
		if len(clients) == 1 {
			for c := range clients {
				from = c.String()
			}
		}
		out[i].LeftOut = append(out[i].LeftOut, fmt.Sprintf("%s from %s (%s)", k.what, from, k.camp.Label))
	}
	for i := range out {
		slices.Sort(out[i].LeftOut)
	}
	slices.SortFunc(out, func(x, y GroupSuggestion) int { return cmp.Compare(x.ID, y.ID) })
	return out
}

// allowingCIDR returns the CIDR of the security group rule that allowed a
// request, when it is a CIDR rule of the topology.
func allowingCIDR(t *vpc.Topology, d *Decision, egress bool) (netip.Prefix, bool) {
	if t == nil || d == nil || !d.Allowed || d.Layer != "sg" || d.Tracked {
		return netip.Prefix{}, false
	}
	g := t.SecurityGroup(d.ResourceID)
	if g == nil {
		return netip.Prefix{}, false
	}
	rules, dir := g.Ingress, flow.Ingress
	if egress {
		rules, dir = g.Egress, flow.Egress
	}
	for _, r := range rules {
		if r.CIDR.IsValid() && policy.SGRuleText(dir, r) == d.Rule {
			return r.CIDR, true
		}
	}
	return netip.Prefix{}, false
}

// widen covers many host addresses with few prefixes, per address family:
// the narrower (fewest addresses) of their /24s (IPv4) or /64s (IPv6) and
// the CIDRs of the rules that allowed them, each considered only within
// maxHostPeers prefixes; else all addresses of the family.
func widen(hosts []netip.Addr, allow []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, v4 := range []bool{true, false} {
		var fam []netip.Addr
		for _, h := range hosts {
			if h.Is4() == v4 {
				fam = append(fam, h)
			}
		}
		if len(fam) == 0 {
			continue
		}
		all := netip.MustParsePrefix("0.0.0.0/0")
		bits := 24
		if !v4 {
			all, bits = netip.MustParsePrefix("::/0"), 64
		}
		best := []netip.Prefix{all}
		consider := func(c []netip.Prefix) {
			if len(c) > 0 && len(c) <= maxHostPeers && size(c) < size(best) {
				best = c
			}
		}
		nets := map[netip.Prefix]bool{}
		for _, h := range fam {
			p, _ := h.Prefix(bits)
			nets[p] = true
		}
		consider(sortedPrefixes(nets))
		rules := map[netip.Prefix]bool{}
		covered := true
		for _, p := range allow {
			if p.Addr().Is4() == v4 {
				rules[p.Masked()] = true
			}
		}
		for _, h := range fam {
			if !slices.ContainsFunc(sortedPrefixes(rules), func(p netip.Prefix) bool { return p.Contains(h) }) {
				covered = false
				break
			}
		}
		if covered {
			consider(sortedPrefixes(rules))
		}
		out = append(out, best...)
	}
	return out
}

func sortedPrefixes(m map[netip.Prefix]bool) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	slices.SortFunc(out, func(x, y netip.Prefix) int {
		return cmp.Or(x.Addr().Compare(y.Addr()), cmp.Compare(x.Bits(), y.Bits()))
	})
	return out
}

// size is the number of addresses the prefixes cover (overlaps counted
// twice; only used to compare candidates).
func size(ps []netip.Prefix) float64 {
	var n float64
	for _, p := range ps {
		n += math.Ldexp(1, p.Addr().BitLen()-p.Bits())
	}
	return n
}

// markUsed records which rule allowed a request (policy's rule text is
// matched against the group's rules by protocol, ports and peer).
func markUsed(used map[string]map[string]bool, d Decision) {
	if !d.Allowed || d.Layer != "sg" {
		return
	}
	if used[d.ResourceID] == nil {
		used[d.ResourceID] = map[string]bool{}
	}
	used[d.ResourceID][d.Rule] = true
}

// MarshalSuggestions renders suggestions as YAML.
func MarshalSuggestions(gs []GroupSuggestion) ([]byte, error) {
	return yaml.Marshal(struct {
		SecurityGroups []GroupSuggestion `yaml:"least_privilege_security_groups"`
	}{gs})
}
