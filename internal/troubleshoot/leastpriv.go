package troubleshoot

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"

	"vpcflow/internal/flow"
	"vpcflow/internal/policy"
	"vpcflow/internal/vpc"
)

// maxHostPeers is how many distinct host addresses one rule lists before
// the suggestion widens to all addresses (a public service).
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
// its host address; more than 16 hosts for one service widen to 0.0.0.0/0
// (or ::/0).
func LeastPrivilege(records []flow.Record, t *vpc.Topology) []GroupSuggestion {
	a := &analysis{opts: Options{Topology: t}, recs: records}
	for i := range records {
		if usable(&records[i]) {
			a.idx = append(a.idx, i)
		}
	}
	a.own = ownAddresses(records, a.idx, a.knownAddr)
	a.convs = buildConversations(records, a.idx, a.own)
	peers := map[lpKey]map[string]bool{}
	hosts := map[lpKey]int{}
	enis := map[string]map[string]bool{}
	used := map[string]map[string]bool{} // group -> rule text -> used
	var ev *evaluator
	if t != nil {
		ev = &evaluator{t: t}
	}
	add := func(eni string, dir string, proto uint8, port uint16, peer netip.Addr, self *vpc.Interface) {
		groups := []string{eni}
		vpcID := ""
		if self != nil && len(self.SecurityGroupIDs) > 0 {
			groups, vpcID = self.SecurityGroupIDs, self.VPCID
		}
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
				hosts[k]++
			}
			peers[k][peerText] = true
			if enis[g] == nil {
				enis[g] = map[string]bool{}
			}
			enis[g][eni] = true
		}
	}
	for _, c := range a.convs {
		req := requestPacket(c)
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
				add(v.Interface, "ingress", c.Protocol, c.Port, c.Client, self)
				if self != nil {
					markUsed(used, ev.sg(self, false, c.Client, req))
				}
			}
			if v.ReqOut.Accept > 0 && own == c.Client {
				add(v.Interface, "egress", c.Protocol, c.Port, c.Server, self)
				if self != nil {
					markUsed(used, ev.sg(self, true, c.Server, req))
				}
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
		if hosts[k] > maxHostPeers {
			var kept []string
			v4, v6 := false, false
			for _, p := range list {
				if pf, err := netip.ParsePrefix(p); err == nil {
					if pf.Addr().Is4() {
						v4 = true
					} else {
						v6 = true
					}
					continue
				}
				kept = append(kept, p)
			}
			if v4 {
				kept = append(kept, "0.0.0.0/0")
			}
			if v6 {
				kept = append(kept, "::/0")
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
	slices.SortFunc(out, func(x, y GroupSuggestion) int { return cmp.Compare(x.ID, y.ID) })
	return out
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
