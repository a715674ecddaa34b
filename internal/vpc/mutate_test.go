package vpc

import (
	"errors"
	"net/netip"
	"testing"
)

func TestMutations(t *testing.T) {
	topo, err := LoadFile("testdata/three-tier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	g0 := topo.Generation()
	rule := SGRule{Protocol: ProtoTCP, Ports: PortRange{8443, 8443}, ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix("10.0.0.0/16"), Description: "admin"}
	if err := topo.AuthorizeSecurityGroupIngress("sg-0a990000000000a99", rule); err != nil {
		t.Fatal(err)
	}
	if err := topo.AuthorizeSecurityGroupIngress("sg-0a990000000000a99", rule); !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate authorize = %v, want ErrDuplicate", err)
	}
	rule.Description = "" // revoke matches regardless of description
	if err := topo.RevokeSecurityGroupIngress("sg-0a990000000000a99", rule); err != nil {
		t.Fatal(err)
	}
	if err := topo.RevokeSecurityGroupIngress("sg-0a990000000000a99", rule); !errors.Is(err, ErrNotFound) {
		t.Errorf("second revoke = %v, want ErrNotFound", err)
	}
	if err := topo.AuthorizeSecurityGroupEgress("sg-0nope", rule); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown group = %v", err)
	}
	if err := topo.AuthorizeSecurityGroupEgress("sg-0a990000000000a99", SGRule{Protocol: -1, GroupID: "sg-0missing"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing referenced group = %v", err)
	}
	e := NACLEntry{RuleNumber: 90, Protocol: ProtoTCP, Ports: PortRange{22, 22}, ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix("0.0.0.0/0")}
	acl := "acl-0e00000000000000b"
	if err := topo.CreateNetworkACLEntry(acl, false, e); err != nil {
		t.Fatal(err)
	}
	if got := topo.NetworkACL(acl).Ingress[0].RuleNumber; got != 90 {
		t.Errorf("entries not sorted: first is %d", got)
	}
	if err := topo.CreateNetworkACLEntry(acl, false, e); !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate entry = %v", err)
	}
	e.Allow = true
	if err := topo.ReplaceNetworkACLEntry(acl, false, e); err != nil || !topo.NetworkACL(acl).Ingress[0].Allow {
		t.Errorf("replace = %v", err)
	}
	if err := topo.DeleteNetworkACLEntry(acl, false, 90); err != nil {
		t.Fatal(err)
	}
	if err := topo.DeleteNetworkACLEntry(acl, false, 90); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete twice = %v", err)
	}
	if err := topo.CreateNetworkACLEntry(acl, true, NACLEntry{RuleNumber: 0, CIDR: e.CIDR}); !errors.Is(err, ErrInvalid) {
		t.Errorf("rule 0 = %v", err)
	}
	if err := topo.ReplaceNetworkACLAssociation("subnet-0a1a00000000000a3", acl); err != nil || topo.Subnet("subnet-0a1a00000000000a3").NetworkACLID != acl {
		t.Errorf("association = %v", err)
	}
	if err := topo.ModifyInterfaceSecurityGroups("eni-0a0b00000000000d2", []string{"sg-0db0000000000db00"}); err != nil {
		t.Fatal(err)
	}
	if !topo.IsGroupMember("sg-0db0000000000db00", netip.MustParseAddr("10.0.11.22")) || topo.IsGroupMember("sg-0a990000000000a99", netip.MustParseAddr("10.0.11.22")) {
		t.Error("membership not rebuilt")
	}
	if err := topo.ReplaceRoute("rtb-0a1a0000000000001", netip.MustParsePrefix("0.0.0.0/0"), "nat-0b2b2b2b2b2b2b2b2"); err != nil {
		t.Fatal(err)
	}
	if err := topo.ReplaceRoute("rtb-0a1a0000000000001", netip.MustParsePrefix("0.0.0.0/0"), "igw-0nope"); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad target = %v", err)
	}
	if topo.Generation() <= g0 {
		t.Error("generation did not move")
	}
}
