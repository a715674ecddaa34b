package dataplane

import (
	"strings"
	"testing"
	"time"

	"vpcflow/internal/vpc"
)

// TestSharedResults: flows with the same outcome share a result, and each
// result still names its own interface and route target, also when flows
// to different interfaces interleave.
func TestSharedResults(t *testing.T) {
	topo, err := vpc.Load([]byte(`account: "123456789012"
region: us-east-1
vpcs:
  - {id: vpc-0aaa, cidr: 10.10.0.0/16}
gateways:
  - {id: vgw-0aaa, vpcs: [vpc-0aaa]}
subnets:
  - {id: subnet-0aaa, vpc: vpc-0aaa, cidr: 10.10.1.0/24, az: us-east-1a, route_table: rtb-0aaa}
route_tables:
  - id: rtb-0aaa
    vpc: vpc-0aaa
    routes:
      - {destination: 172.16.0.0/12, target: vgw-0aaa}
security_groups:
  - id: sg-0aaa
    name: server
    vpc: vpc-0aaa
    ingress:
      - {protocol: tcp, ports: 443, cidr: 172.16.0.0/12}
network_interfaces:
  - {id: eni-0aaa, subnet: subnet-0aaa, instance_id: i-0aaa, private_ip: 10.10.1.10, security_groups: [sg-0aaa]}
  - {id: eni-0bbb, subnet: subnet-0aaa, instance_id: i-0bbb, private_ip: 10.10.1.11, security_groups: [sg-0aaa]}
`), "shared.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := newDP(t, topo)
	var out []string
	for i := range 4 {
		port := uint16(40000 + i)
		at := time.Duration(i) * time.Second
		_, res := run(t, d, tcp("10.10.1.10", "172.16.5.5", port, 22, 2, at))
		out = append(out, res.Detail)
		for _, dst := range []string{"10.10.1.10", "10.10.1.11"} {
			_, res := run(t, d, tcp("172.16.5.5", dst, port, 443, 2, at))
			eni := topo.InterfaceByPrivateIP(addr(dst)).ID
			if want := "delivered to " + eni + " from outside the VPC"; !res.Delivered || res.Detail != want {
				t.Errorf("flow %d to %s: %+v, want detail %q", i, dst, res, want)
			}
		}
	}
	for i, s := range out {
		if s != out[0] || !strings.HasPrefix(s, "out via ") || !strings.HasSuffix(s, " vgw-0aaa") {
			t.Errorf("flow %d out: detail %q (first flow: %q)", i, s, out[0])
		}
	}
}
