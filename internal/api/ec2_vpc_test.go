package api

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"vpcflow/internal/sigv4"
	"vpcflow/internal/vpc"
)

func newVPCServer(t *testing.T) (*httptest.Server, *vpc.Topology, *int) {
	t.Helper()
	topo, err := vpc.LoadFile("../vpc/testdata/three-tier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	changes := 0
	owner := sigv4.Credential{AccessKeyID: "AKIAOWNER", SecretAccessKey: "s", AccountID: topo.AccountID}
	srv, err := New(Config{Credentials: []sigv4.Credential{owner, keyB}},
		Deps{Now: func() time.Time { return testNow }, EC2: &VPCActions{With: LockedTopology(topo), Changed: func() { changes++ }}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts, topo, &changes
}

func ec2Call(t *testing.T, ts *httptest.Server, account string, params url.Values) (int, string) {
	t.Helper()
	params.Set("Version", "2016-11-15")
	cred := sigv4.Credential{AccessKeyID: "AKIAOWNER", SecretAccessKey: "s"}
	if account == "other" {
		cred = keyB
	}
	code, _, body := do(t, "POST", ts.URL+"/", params.Encode(), &cred, "ec2", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	return code, body
}

func TestVPCDescribe(t *testing.T) {
	ts, topo, _ := newVPCServer(t)
	code, body := ec2Call(t, ts, "", url.Values{"Action": {"DescribeVpcs"}})
	if code != 200 || !strings.Contains(body, "<vpcId>"+topo.VPCs[0].ID+"</vpcId>") || !strings.Contains(body, `xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"`) {
		t.Fatalf("DescribeVpcs: %d %s", code, body)
	}
	code, body = ec2Call(t, ts, "", url.Values{"Action": {"DescribeSubnets"}, "Filter.1.Name": {"availability-zone-id"}, "Filter.1.Value.1": {"use1-az2"}})
	if code != 200 || strings.Count(body, "<subnetId>") != 3 || strings.Contains(body, "use1-az1") {
		t.Errorf("DescribeSubnets by AZ: %d %s", code, body)
	}
	code, body = ec2Call(t, ts, "", url.Values{"Action": {"DescribeSecurityGroups"}, "GroupId.1": {"sg-0db0000000000db00"}})
	if code != 200 || strings.Count(body, "<groupId>sg-0db0000000000db00</groupId>") < 1 || !strings.Contains(body, "<ipPermissions>") {
		t.Errorf("DescribeSecurityGroups: %d %s", code, body)
	}
	code, body = ec2Call(t, ts, "", url.Values{"Action": {"DescribeNetworkAcls"}, "NetworkAclId.1": {"acl-0d00000000000000b"}})
	if code != 200 || !strings.Contains(body, "<ruleNumber>32767</ruleNumber>") || !strings.Contains(body, "<associationSet>") {
		t.Errorf("DescribeNetworkAcls: %d %s", code, body)
	}
	code, body = ec2Call(t, ts, "", url.Values{"Action": {"DescribeRouteTables"}, "Filter.1.Name": {"association.main"}, "Filter.1.Value.1": {"true"}})
	if code != 200 || strings.Count(body, "<routeTableId>") < 2 || !strings.Contains(body, "<gatewayId>local</gatewayId>") {
		t.Errorf("DescribeRouteTables main: %d %s", code, body)
	}
	code, body = ec2Call(t, ts, "", url.Values{"Action": {"DescribeNetworkInterfaces"}, "NetworkInterfaceId.1": {"eni-0e0a00000000000c1"}})
	if code != 200 || !strings.Contains(body, "<requesterManaged>true</requesterManaged>") || !strings.Contains(body, "<interfaceType>nat_gateway</interfaceType>") {
		t.Errorf("DescribeNetworkInterfaces NAT ENI: %d %s", code, body)
	}
	code, body = ec2Call(t, ts, "", url.Values{"Action": {"DescribeVpcs"}, "VpcId.1": {"vpc-00000000000000bad"}})
	if code != 400 || !strings.Contains(body, "<Code>InvalidVpcID.NotFound</Code>") {
		t.Errorf("unknown VPC: %d %s", code, body)
	}
	code, body = ec2Call(t, ts, "", url.Values{"Action": {"DescribeVpcs"}, "Filter.1.Name": {"bogus"}, "Filter.1.Value.1": {"x"}})
	if code != 400 || !strings.Contains(body, "InvalidParameterValue") {
		t.Errorf("bad filter: %d %s", code, body)
	}
	// Another account sees nothing of this network.
	code, body = ec2Call(t, ts, "other", url.Values{"Action": {"DescribeVpcs"}})
	if code != 200 || strings.Contains(body, "<vpcId>") {
		t.Errorf("cross-account DescribeVpcs: %d %s", code, body)
	}
	code, body = ec2Call(t, ts, "other", url.Values{"Action": {"DescribeSecurityGroups"}, "GroupId.1": {"sg-0db0000000000db00"}})
	if code != 400 || !strings.Contains(body, "InvalidGroup.NotFound") {
		t.Errorf("cross-account SG: %d %s", code, body)
	}
}

func TestVPCMutations(t *testing.T) {
	ts, topo, changes := newVPCServer(t)
	sg := topo.SecurityGroup("sg-0db0000000000db00")
	before := len(sg.Ingress)
	add := url.Values{"Action": {"AuthorizeSecurityGroupIngress"}, "GroupId": {sg.ID},
		"IpPermissions.1.IpProtocol": {"tcp"}, "IpPermissions.1.FromPort": {"5439"}, "IpPermissions.1.ToPort": {"5439"},
		"IpPermissions.1.IpRanges.1.CidrIp": {"10.0.0.0/16"}, "IpPermissions.1.IpRanges.1.Description": {"redshift"}}
	code, body := ec2Call(t, ts, "", add)
	if code != 200 || !strings.Contains(body, "<return>true</return>") || len(sg.Ingress) != before+1 {
		t.Fatalf("authorize: %d %s (rules %d)", code, body, len(sg.Ingress))
	}
	code, body = ec2Call(t, ts, "", add)
	if code != 400 || !strings.Contains(body, "InvalidPermission.Duplicate") {
		t.Errorf("duplicate authorize: %d %s", code, body)
	}
	add.Set("Action", "RevokeSecurityGroupIngress")
	code, body = ec2Call(t, ts, "", add)
	if code != 200 || len(sg.Ingress) != before {
		t.Errorf("revoke: %d %s", code, body)
	}
	acl := topo.NetworkACL("acl-0d00000000000000b")
	n := len(acl.Egress)
	entry := url.Values{"Action": {"CreateNetworkAclEntry"}, "NetworkAclId": {acl.ID}, "RuleNumber": {"90"}, "Protocol": {"6"},
		"RuleAction": {"deny"}, "Egress": {"true"}, "CidrBlock": {"0.0.0.0/0"}, "PortRange.From": {"1024"}, "PortRange.To": {"65535"}}
	code, body = ec2Call(t, ts, "", entry)
	if code != 200 || len(acl.Egress) != n+1 || acl.Egress[0].RuleNumber != 90 || acl.Egress[0].Allow {
		t.Fatalf("create entry: %d %s %+v", code, body, acl.Egress)
	}
	code, body = ec2Call(t, ts, "", entry)
	if code != 400 || !strings.Contains(body, "NetworkAclEntryAlreadyExists") {
		t.Errorf("duplicate entry: %d %s", code, body)
	}
	entry.Set("Action", "ReplaceNetworkAclEntry")
	entry.Set("RuleAction", "allow")
	code, body = ec2Call(t, ts, "", entry)
	if code != 200 || !acl.Egress[0].Allow {
		t.Errorf("replace entry: %d %s", code, body)
	}
	code, body = ec2Call(t, ts, "", url.Values{"Action": {"DeleteNetworkAclEntry"}, "NetworkAclId": {acl.ID}, "RuleNumber": {"90"}, "Egress": {"true"}})
	if code != 200 || len(acl.Egress) != n {
		t.Errorf("delete entry: %d %s", code, body)
	}
	code, body = ec2Call(t, ts, "", url.Values{"Action": {"CreateNetworkAclEntry"}, "NetworkAclId": {acl.ID}, "RuleNumber": {"40000"},
		"Protocol": {"-1"}, "RuleAction": {"allow"}, "CidrBlock": {"0.0.0.0/0"}})
	if code != 400 || !strings.Contains(body, "InvalidParameterValue") {
		t.Errorf("bad rule number: %d %s", code, body)
	}
	if *changes != 5 {
		t.Errorf("Changed called %d times, want 5", *changes)
	}
}

// TestAPIProtocolSpellings pins what IpProtocol accepts: vpc.ParseProtocol
// less the rule-file aliases and padding.
func TestAPIProtocolSpellings(t *testing.T) {
	for in, want := range map[string]int16{"tcp": 6, "TCP": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "-1": -1, "all": -1, "47": 47, "0": 0, "255": 255} {
		if got, err := parseAPIProtocol(in); err != nil || got != want {
			t.Errorf("parseAPIProtocol(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "any", "*", "icmp6", " tcp", "6 ", "256", "-2", "gre"} {
		if _, err := parseAPIProtocol(in); err == nil || !strings.Contains(err.Error(), "InvalidParameterValue") {
			t.Errorf("parseAPIProtocol(%q) = %v, want InvalidParameterValue", in, err)
		}
	}
}
