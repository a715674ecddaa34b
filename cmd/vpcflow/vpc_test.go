package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func runVPC(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := newVPCCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

const threeTier = "../../internal/vpc/testdata/three-tier.yaml"

func TestVPCValidate(t *testing.T) {
	out, _, err := runVPC(t, "validate", threeTier)
	if err != nil || !strings.Contains(out, "three-tier.yaml: ok (1 VPC, 6 subnets, 4 route tables, 2 NAT gateways, 5 security groups, 3 network ACLs, 9 network interfaces)") {
		t.Errorf("validate: %v\n%s", err, out)
	}
	_, errOut, err := runVPC(t, "validate", "../../internal/vpc/testdata/bad/bad-cidr.yaml")
	if err == nil || !strings.Contains(errOut, "bad-cidr.yaml:6:40: invalid CIDR \"10.0.300.0/24\"") {
		t.Errorf("validate bad: %v\n%s", err, errOut)
	}
}

func TestVPCShow(t *testing.T) {
	out, _, err := runVPC(t, "show", threeTier)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"VPC vpc-0a1b2c3d4e5f60718 (shop-prod) 10.0.0.0/16",
		"eni-0e0a00000000000c1  10.0.0.220  eip 198.51.100.10->10.0.0.220  nat_gateway  requester-managed  of nat-0a1a1a1a1a1a1a1a1",
		"0.0.0.0/0          -> nat-0a1a1a1a1a1a1a1a1",
		"ingress allows tcp 8080 from sg-0a1b000000000a1b0 (from the ALB)",
		"egress  130 tcp 1024-65535 0.0.0.0/0 allow",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	out, _, err = runVPC(t, "show", "-o", "yaml", threeTier)
	if err != nil || !strings.Contains(out, "account: \"123456789012\"") {
		t.Errorf("show yaml: %v\n%s", err, out)
	}
}

func TestVPCImport(t *testing.T) {
	out, errOut, err := runVPC(t, "import", "../../internal/vpc/testdata/import")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../internal/vpc/testdata/import/expected.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Errorf("import output differs from expected.yaml:\n%s", out)
	}
	if !strings.Contains(errOut, "warning: route table rtb-0f2a1b3c4dEXAMPLE: route to ::/0 via eigw-") {
		t.Errorf("warnings: %s", errOut)
	}
}

func TestVPCExplain(t *testing.T) {
	// Spec §7.3: the echo request is accepted, the reply is denied by the NACL.
	out, _, err := runVPC(t, "explain", "--topology", "../../internal/dataplane/testdata/ping.yaml",
		"--src", "203.0.113.12", "--dst", "198.51.100.139", "--proto", "icmp", "--with-reply")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"eni-1235b8ca123456789  ingress sg   ACCEPT  sg sg-0ping000000001 ingress allows icmp all from 0.0.0.0/0",
		"reply:",
		"eni-1235b8ca123456789  egress  nacl REJECT  nacl acl-0ping000000001 egress rule * deny",
		"result: dropped (rejected): nacl acl-0ping000000001 egress rule * deny",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %q:\n%s", want, out)
		}
	}
	// Through the NAT gateway and back.
	out, _, err = runVPC(t, "explain", "-t", threeTier, "--src", "10.0.10.15:42000", "--dst", "203.0.113.80:443", "--with-reply")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"result: delivered (left the VPC): to the internet via igw-0f1e2d3c4b5a69788 as 198.51.100.10:42000",
		"packet tcp 203.0.113.80:443 -> 198.51.100.10:42000",
		"result: delivered (delivered): NAT reply delivered to eni-0a0a00000000000d1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %q:\n%s", want, out)
		}
	}
	if _, _, err := runVPC(t, "explain", "-t", threeTier, "--src", "nope", "--dst", "10.0.0.1:80"); err == nil {
		t.Error("bad --src accepted")
	}
}

func TestParseProto(t *testing.T) {
	for in, want := range map[string]uint8{"tcp": 6, "UDP": 17, "icmp": 1, "icmpv6": 58, "icmp6": 58, "47": 47, "0": 0} {
		if got, err := parseProto(in); err != nil || got != want {
			t.Errorf("parseProto(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "all", "-1", "any", "256", "gre"} {
		if _, err := parseProto(in); err == nil {
			t.Errorf("parseProto(%q) accepted", in)
		}
	}
}
