package troubleshoot

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"

	"vpcflow/internal/flow"
	"vpcflow/internal/vpc"
	"vpcflow/internal/yamlerr"
)

// Patch is a proposed change to security groups and network ACLs, in YAML:
//
//	security_groups:
//	  - id: sg-0a990000000000a99
//	    authorize_ingress:
//	      - {protocol: tcp, ports: 22, cidr: 203.0.113.12/32}
//	    revoke_ingress:
//	      - {protocol: tcp, ports: 22, group: sg-0ba5000000000ba50}
//	network_acls:
//	  - id: acl-0e00000000000000b
//	    egress:        # create, or replace when the rule number exists
//	      - {rule: 170, protocol: icmp, icmp_type: 0, icmp_code: -1, cidr: 203.0.113.0/24, action: allow}
//	    delete_ingress: [120]
//
// Rules use the topology file's syntax (vpc.SGRuleDoc, vpc.NACLEntryDoc).
type Patch struct {
	SecurityGroups []SGChange   `yaml:"security_groups,omitempty" json:"security_groups,omitempty"`
	NetworkACLs    []NACLChange `yaml:"network_acls,omitempty" json:"network_acls,omitempty"`
}

// SGChange changes the rules of one security group.
type SGChange struct {
	ID               string          `yaml:"id" json:"id"`
	AuthorizeIngress []vpc.SGRuleDoc `yaml:"authorize_ingress,omitempty" json:"authorize_ingress,omitempty"`
	AuthorizeEgress  []vpc.SGRuleDoc `yaml:"authorize_egress,omitempty" json:"authorize_egress,omitempty"`
	RevokeIngress    []vpc.SGRuleDoc `yaml:"revoke_ingress,omitempty" json:"revoke_ingress,omitempty"`
	RevokeEgress     []vpc.SGRuleDoc `yaml:"revoke_egress,omitempty" json:"revoke_egress,omitempty"`
}

// NACLChange changes the entries of one network ACL.
type NACLChange struct {
	ID            string             `yaml:"id" json:"id"`
	Ingress       []vpc.NACLEntryDoc `yaml:"ingress,omitempty" json:"ingress,omitempty"`
	Egress        []vpc.NACLEntryDoc `yaml:"egress,omitempty" json:"egress,omitempty"`
	DeleteIngress []int              `yaml:"delete_ingress,omitempty" json:"delete_ingress,omitempty"`
	DeleteEgress  []int              `yaml:"delete_egress,omitempty" json:"delete_egress,omitempty"`
}

// ErrPatch marks an invalid patch.
var ErrPatch = errors.New("invalid patch")

// ParsePatch decodes a patch strictly: problems are yamlerr errors with
// their line and column, of kind ErrPatch.
func ParsePatch(data []byte, name string) (*Patch, error) {
	var p Patch
	if err := yamlerr.Decode(data, name, &p, ErrPatch); err != nil {
		return nil, err
	}
	return &p, nil
}

// LoadPatch reads and decodes a patch file.
func LoadPatch(path string) (*Patch, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read patch: %w", err)
	}
	return ParsePatch(data, path)
}

// Marshal renders the patch as YAML.
func (p *Patch) Marshal() ([]byte, error) { return yaml.Marshal(p) }

// Apply makes the patch's changes to t through its EC2-like mutations.
func (p *Patch) Apply(t *vpc.Topology) error {
	for i, ch := range p.SecurityGroups {
		where := fmt.Sprintf("security_groups[%d] (%s)", i, ch.ID)
		steps := []struct {
			name  string
			rules []vpc.SGRuleDoc
			do    func(string, ...vpc.SGRule) error
		}{
			{"authorize_ingress", ch.AuthorizeIngress, t.AuthorizeSecurityGroupIngress},
			{"authorize_egress", ch.AuthorizeEgress, t.AuthorizeSecurityGroupEgress},
			{"revoke_ingress", ch.RevokeIngress, t.RevokeSecurityGroupIngress},
			{"revoke_egress", ch.RevokeEgress, t.RevokeSecurityGroupEgress},
		}
		for _, s := range steps {
			for j, d := range s.rules {
				r, err := sgRule(d)
				if err != nil {
					return fmt.Errorf("%s.%s[%d]: %w: %v", where, s.name, j, ErrPatch, err)
				}
				if err := s.do(ch.ID, r); err != nil {
					return fmt.Errorf("%s.%s[%d]: %w", where, s.name, j, err)
				}
			}
		}
	}
	for i, ch := range p.NetworkACLs {
		where := fmt.Sprintf("network_acls[%d] (%s)", i, ch.ID)
		acl := t.NetworkACL(ch.ID)
		if acl == nil {
			return fmt.Errorf("%s: network ACL not in the topology: %w", where, vpc.ErrNotFound)
		}
		for _, dir := range []struct {
			egress bool
			name   string
			set    []vpc.NACLEntryDoc
			del    []int
		}{{false, "ingress", ch.Ingress, ch.DeleteIngress}, {true, "egress", ch.Egress, ch.DeleteEgress}} {
			for j, n := range dir.del {
				if err := t.DeleteNetworkACLEntry(ch.ID, dir.egress, n); err != nil {
					return fmt.Errorf("%s.delete_%s[%d]: %w", where, dir.name, j, err)
				}
			}
			for j, d := range dir.set {
				e, err := naclEntry(d)
				if err != nil {
					return fmt.Errorf("%s.%s[%d]: %w: %v", where, dir.name, j, ErrPatch, err)
				}
				existing := acl.Ingress
				if dir.egress {
					existing = acl.Egress
				}
				do := t.CreateNetworkACLEntry
				if slices.ContainsFunc(existing, func(x vpc.NACLEntry) bool { return x.RuleNumber == e.RuleNumber }) {
					do = t.ReplaceNetworkACLEntry
				}
				if err := do(ch.ID, dir.egress, e); err != nil {
					return fmt.Errorf("%s.%s[%d]: %w", where, dir.name, j, err)
				}
			}
		}
	}
	return nil
}

func icmpValue(v *int) int16 {
	if v == nil {
		return -1
	}
	return int16(*v)
}

func protoPorts(proto, ports vpc.Scalar) (int16, vpc.PortRange, error) {
	p, err := vpc.ParseProtocol(string(proto))
	if err != nil {
		return 0, vpc.PortRange{}, err
	}
	pr := vpc.AllPorts
	if p == vpc.ProtoTCP || p == vpc.ProtoUDP {
		if pr, err = vpc.ParsePorts(string(ports)); err != nil {
			return 0, vpc.PortRange{}, err
		}
	}
	return p, pr, nil
}

func sgRule(d vpc.SGRuleDoc) (vpc.SGRule, error) {
	p, pr, err := protoPorts(d.Protocol, d.Ports)
	if err != nil {
		return vpc.SGRule{}, err
	}
	r := vpc.SGRule{Protocol: p, Ports: pr, ICMPType: icmpValue(d.ICMPType), ICMPCode: icmpValue(d.ICMPCode),
		PrefixListID: d.PrefixList, GroupID: d.Group, Description: d.Description}
	if d.CIDR != "" {
		c, err := netip.ParsePrefix(d.CIDR)
		if err != nil {
			return vpc.SGRule{}, fmt.Errorf("invalid cidr %q: %v", d.CIDR, err)
		}
		r.CIDR = c.Masked()
	}
	return r, nil
}

func naclEntry(d vpc.NACLEntryDoc) (vpc.NACLEntry, error) {
	p, pr, err := protoPorts(d.Protocol, d.Ports)
	if err != nil {
		return vpc.NACLEntry{}, err
	}
	if d.Rule < 1 || d.Rule > 32766 {
		return vpc.NACLEntry{}, fmt.Errorf("rule number %d: expected 1-32766", d.Rule)
	}
	c, err := netip.ParsePrefix(d.CIDR)
	if err != nil {
		return vpc.NACLEntry{}, fmt.Errorf("invalid cidr %q: %v", d.CIDR, err)
	}
	e := vpc.NACLEntry{RuleNumber: d.Rule, Protocol: p, Ports: pr, ICMPType: icmpValue(d.ICMPType),
		ICMPCode: icmpValue(d.ICMPCode), CIDR: c.Masked()}
	switch strings.ToLower(d.Action) {
	case "allow":
		e.Allow = true
	case "deny":
	default:
		return vpc.NACLEntry{}, fmt.Errorf("action %q: expected allow or deny", d.Action)
	}
	return e, nil
}

// Change is one recorded leg of a conversation whose verdict a patch would
// flip.
type Change struct {
	Client    netip.Addr `json:"client"`
	Server    netip.Addr `json:"server"`
	Service   string     `json:"service"`
	Interface string     `json:"interface_id"`
	Leg       string     `json:"leg"` // request-in, request-out, response-in, response-out
	Recorded  string     `json:"recorded"`
	Records   int        `json:"records"`
	Packets   int64      `json:"packets"`
	Before    Decision   `json:"before"`
	After     Decision   `json:"after"`
}

// WhatIfResult is the effect of a patch on recorded flows.
type WhatIfResult struct {
	Legs          int      `json:"legs_evaluated"`
	Unmodelled    int      `json:"legs_unmodelled"` // interface not in the topology
	NowRejected   []Change `json:"accepted_would_be_rejected"`
	NowAccepted   []Change `json:"rejected_would_be_accepted"`
	Disagreements int      `json:"legs_model_disagrees_with_records"`
}

// WhatIf replays every recorded conversation leg through the topology before
// and after a patch and lists those whose verdict changes. A leg counts as
// "accepted would be rejected" when the model allowed it before the patch
// and denies it after (and the reverse); legs where the model before the
// patch disagrees with the recorded action are counted in Disagreements.
func WhatIf(records []flow.Record, before, after *vpc.Topology, opts Options) WhatIfResult {
	opts.Topology = before
	a := &analysis{opts: opts, recs: records}
	for i := range records {
		if r := &records[i]; a.inTime(r) && usable(r) {
			a.idx = append(a.idx, i)
		}
	}
	a.own = ownAddresses(records, a.idx, a.knownAddr)
	a.convs = buildConversations(records, a.idx, a.own)
	evB, evA := evaluator{t: before}, evaluator{t: after}
	var res WhatIfResult
	for _, c := range a.convs {
		req := requestPacket(c)
		for _, v := range c.Views {
			if opts.Interface != "" && v.Interface != opts.Interface {
				continue
			}
			eb, ea := before.Interface(v.Interface), after.Interface(v.Interface)
			legs := []struct {
				name string
				leg  Leg
				eval func(ev evaluator, e *vpc.Interface) []Decision
			}{
				{"request-in", v.ReqIn, func(ev evaluator, e *vpc.Interface) []Decision { return ev.inbound(e, req, false) }},
				{"request-out", v.ReqOut, func(ev evaluator, e *vpc.Interface) []Decision { return ev.outbound(e, req, false) }},
				{"response-in", v.RespIn, func(ev evaluator, e *vpc.Interface) []Decision { return ev.inbound(e, req.reverse(), true) }},
				{"response-out", v.RespOut, func(ev evaluator, e *vpc.Interface) []Decision { return ev.outbound(e, req.reverse(), true) }},
			}
			for _, l := range legs {
				if l.leg.records() == 0 {
					continue
				}
				res.Legs++
				if eb == nil || ea == nil {
					res.Unmodelled++
					continue
				}
				db, da := l.eval(evB, eb), l.eval(evA, ea)
				okB, okA := allowed(db), allowed(da)
				seen := l.leg.Seen()
				if (okB && seen == SeenReject) || (!okB && seen == SeenAccept) {
					res.Disagreements++
				}
				if okB == okA {
					continue
				}
				vb, _ := verdict(db)
				va, _ := verdict(da)
				ch := Change{Client: c.Client, Server: c.Server, Service: service(c.Protocol, c.Port), Interface: v.Interface,
					Leg: l.name, Recorded: seen.String(), Records: l.leg.records(), Packets: l.leg.Packets, Before: vb, After: va}
				if okB {
					res.NowRejected = append(res.NowRejected, ch)
				} else {
					res.NowAccepted = append(res.NowAccepted, ch)
				}
			}
		}
	}
	return res
}
