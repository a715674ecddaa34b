package policy

import (
	"net/netip"
	"testing"

	"vpcflow/internal/flow"
	"vpcflow/internal/vpc"
)

// TestRuleTextsFollowEdits: the memoized rule texts are those of the rule
// as it is now; a rule edited in place (same ACL, same slot) gets its new
// text, and a repeated evaluation does not build the text again.
func TestRuleTextsFollowEdits(t *testing.T) {
	p := Packet{Src: netip.MustParseAddr("203.0.113.9"), Dst: netip.MustParseAddr("10.0.0.5"),
		Protocol: vpc.ProtoTCP, SrcPort: 40000, DstPort: 443}
	acl := &vpc.NetworkACL{ID: "acl-1", Ingress: []vpc.NACLEntry{{RuleNumber: 100, Protocol: int16(vpc.ProtoTCP),
		Ports: vpc.PortRange{From: 443, To: 443}, CIDR: netip.MustParsePrefix("0.0.0.0/0"), Allow: true}}}
	sg := &vpc.SecurityGroup{ID: "sg-1", Ingress: []vpc.SGRule{{Protocol: int16(vpc.ProtoTCP),
		Ports: vpc.PortRange{From: 443, To: 443}, CIDR: netip.MustParsePrefix("203.0.113.0/24"), Description: "web"}}}
	for round, edit := range []func(){
		func() {},
		func() { acl.Ingress[0].RuleNumber, sg.Ingress[0].Description = 110, "edited" },
	} {
		edit()
		for range 2 {
			d := EvaluateNetworkACL(acl, flow.Ingress, p)
			if want := NACLEntryText(acl.Ingress[0]); d.Rule != want {
				t.Errorf("round %d: NACL rule text %q, want %q", round, d.Rule, want)
			}
			r := EvaluateSecurityGroups([]*vpc.SecurityGroup{sg}, flow.Ingress, p, nil)
			if want := SGRuleText(flow.Ingress, sg.Ingress[0]); r.Rule != want {
				t.Errorf("round %d: SG rule text %q, want %q", round, r.Rule, want)
			}
		}
	}
	if n := testing.AllocsPerRun(100, func() { EvaluateNetworkACL(acl, flow.Ingress, p) }); n != 0 {
		t.Errorf("EvaluateNetworkACL allocates %v times for a rule it has seen", n)
	}
}
