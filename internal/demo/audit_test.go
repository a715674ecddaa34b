package demo

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"vpcflow/internal/flow"
	"vpcflow/internal/traffic"
	"vpcflow/internal/vpc"
)

// TestRDPBruteForceRejected: the one incident pattern the bundled scenario
// does not use. RDP attempts on the bastion's Elastic IP pass the public
// subnet's NACL (rule 130 admits TCP 1024-65535, which covers 3389) and
// are rejected by the bastion's security group (SSH from the office only),
// on the bastion's interface.
func TestRDPBruteForceRejected(t *testing.T) {
	topo, err := vpc.Load(TopologyYAML, "three-tier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := traffic.DecodeDocument(ScenarioYAML, "scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc.Workload = nil
	doc.Duration = "10m"
	doc.Incident = []traffic.IncidentDoc{{
		Name: "rdp", Pattern: traffic.PatternRDPBruteForce, From: []string{"internet:15"},
		Targets: []string{"bastion:public"}, Start: "1m", Duration: "5m", Rate: "2/s",
	}}
	sc, err := traffic.Compile(doc, topo, nil, "scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir, res := runShort(t, sc, topo)
	ws := res.Traffic.Workloads
	if len(ws) != 1 || ws[0].Pattern != traffic.PatternRDPBruteForce || ws[0].Packets == 0 || ws[0].Delivered != 0 {
		t.Fatalf("rdp incident: %+v", ws)
	}
	if res.Network.RejectsByLayer["sg"] != ws[0].Packets || res.Network.RejectsByLayer["nacl"] != 0 {
		t.Errorf("rejects by layer %v, want all %d packets by the security group", res.Network.RejectsByLayer, ws[0].Packets)
	}
	var rej, sources = 0, map[string]bool{}
	var pkts int64
	for _, r := range records(t, dir) {
		if r.LogStatus != flow.StatusOK {
			continue
		}
		if r.DstPort != 3389 {
			t.Errorf("unexpected record: %s", flow.Text(flow.DefaultFormat, &r))
			continue
		}
		if r.Action != flow.ActionReject || r.InterfaceID != "eni-0ba5000000000b001" || r.DstAddr != netipMust("10.0.0.30") {
			t.Errorf("RDP record not a REJECT on the bastion: %s", flow.Text(flow.DefaultFormat, &r))
		}
		rej++
		pkts += r.Packets
		sources[r.SrcAddr.String()] = true
	}
	if rej == 0 || pkts != ws[0].Packets || len(sources) < 10 {
		t.Errorf("%d REJECT records, %d packets (sent %d), %d sources", rej, pkts, ws[0].Packets, len(sources))
	}
}

// replayTopology owns the servers of the committed capture fixtures
// (internal/traffic/capture/testdata): IPv4 clients arrive over a VPN, IPv6
// clients from the internet.
const replayTopology = `account: "123456789012"
region: us-east-1
vpcs: [{id: vpc-0f1x000000000001, cidr: 10.0.0.0/16, ipv6_cidr: "2600:1f18:a::/56"}]
gateways: [{id: vgw-0f1x000000000001, vpcs: [vpc-0f1x000000000001]}]
internet_gateways: [{id: igw-0f1x000000000001, vpc: vpc-0f1x000000000001}]
route_tables:
  - id: rtb-0f1x000000000001
    vpc: vpc-0f1x000000000001
    main: true
    routes:
      - {destination: 0.0.0.0/0, target: vgw-0f1x000000000001}
      - {destination: "::/0", target: igw-0f1x000000000001}
subnets:
  - {id: subnet-0f1x00000000010, vpc: vpc-0f1x000000000001, cidr: 10.0.10.0/24, ipv6_cidr: "2600:1f18:a:b::/64", az: us-east-1a}
  - {id: subnet-0f1x00000000011, vpc: vpc-0f1x000000000001, cidr: 10.0.11.0/24, az: us-east-1b}
security_groups:
  - id: sg-0f1x000000000001
    name: servers
    vpc: vpc-0f1x000000000001
    ingress:
      - {protocol: all, cidr: 0.0.0.0/0}
      - {protocol: all, cidr: "::/0"}
network_interfaces:
  - {id: eni-0f1x000000000015, subnet: subnet-0f1x00000000010, instance_id: i-0f1x000000000015, private_ip: 10.0.10.15, ipv6_addresses: ["2600:1f18:a:b::15"], security_groups: [sg-0f1x000000000001]}
  - {id: eni-0f1x000000000022, subnet: subnet-0f1x00000000011, instance_id: i-0f1x000000000022, private_ip: 10.0.11.22, security_groups: [sg-0f1x000000000001]}
`

const replayFormat = "${version} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${flow-direction} ${pkt-srcaddr} ${pkt-dstaddr}"

// TestReplayFixturesPerDirection replays each committed capture through the
// dataplane and the flow log service and checks, from the flow log
// records, the per-direction packet and byte counts of the fixture's
// .expected file: client→server on the server's interface as ingress,
// server→client as egress, every packet ACCEPT. Non-IP frames (ARP) are
// reported as skipped; a second replay writes the same bytes.
func TestReplayFixturesPerDirection(t *testing.T) {
	topo, err := vpc.Load([]byte(replayTopology), "replay.yaml")
	if err != nil {
		t.Fatal(err)
	}
	replayFmt, err := flow.ParseFormat(replayFormat)
	if err != nil {
		t.Fatal(err)
	}
	servers := map[string]string{"10.0.10.15": "eni-0f1x000000000015", "10.0.11.22": "eni-0f1x000000000022", "2600:1f18:a:b::15": "eni-0f1x000000000015"}
	for _, name := range []string{"small-ipv4.pcap", "vlan-ipv6-arp.pcapng"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("..", "traffic", "capture", "testdata", name)
			want, frames := readExpected(t, path+".expected")
			var trees [2]map[string][]byte
			var got map[string][2]int64
			for i := range trees {
				dir := filepath.Join(t.TempDir(), "data")
				if err := PrepareDataDir(dir); err != nil {
					t.Fatal(err)
				}
				res, err := ReplayCapture(context.Background(), topo, path, ReplayOptions{DataDir: dir,
					FlowLogs: []traffic.FlowLogDoc{{Resource: "vpc-0f1x000000000001", TrafficType: "ALL", Destination: "s3", LogFormat: replayFormat}}})
				if err != nil {
					t.Fatal(err)
				}
				cs := res.Replay.Capture
				if cs.Frames != frames || res.Network.Unknown != 0 || res.Network.Unrouted != 0 {
					t.Errorf("frames %d (want %d), network %+v", cs.Frames, frames, res.Network)
				}
				if strings.Contains(name, "arp") && cs.Skipped["not IP (Ethernet payload such as ARP or LLDP)"] == 0 {
					t.Errorf("ARP frames not reported: %v", cs.Skipped)
				}
				trees[i] = readTree(t, dir)
				if i > 0 {
					continue
				}
				got = map[string][2]int64{}
				for _, r := range records(t, dir) {
					if r.LogStatus != flow.StatusOK {
						continue
					}
					src, dst := r.PktSrcAddr.String(), r.PktDstAddr.String()
					eni, dir := servers[dst], flow.Ingress
					if e, ok := servers[src]; ok {
						eni, dir = e, flow.Egress
					}
					// The capture's own clock: every record lies within it.
					if r.Start < res.Replay.First.Unix() || r.End > res.Replay.Last.Unix() || r.Start > r.End {
						t.Errorf("record %d-%d outside the capture's %s..%s", r.Start, r.End, res.Replay.First, res.Replay.Last)
					}
					if r.InterfaceID != eni || r.FlowDirection != dir || r.Action != flow.ActionAccept {
						t.Errorf("record on the wrong interface/direction or rejected: %s", flow.Text(replayFmt, &r))
					}
					k := fmt.Sprintf("%s %d %s %d %d", src, r.SrcPort, dst, r.DstPort, r.Protocol)
					c := got[k]
					got[k] = [2]int64{c[0] + r.Packets, c[1] + r.Bytes}
				}
			}
			for k, w := range want {
				if g := got[k]; g != w {
					t.Errorf("%s: flow logs show %d packets %d bytes, capture has %d packets %d bytes", k, g[0], g[1], w[0], w[1])
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("%s: in the flow logs, not in the capture", k)
				}
			}
			if len(trees[0]) == 0 || !equalTrees(trees[0], trees[1]) {
				t.Error("two replays of one capture wrote different data")
			}
		})
	}
}

// readExpected parses a fixture's .expected file: "src sport dst dport
// proto packets bytes" lines after a comment giving the frame count.
func readExpected(t *testing.T, path string) (map[string][2]int64, int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]int64{}
	frames := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			fmt.Sscanf(line[strings.Index(line, "(frames"):], "(frames %d", &frames)
			continue
		}
		f := strings.Fields(line)
		if len(f) != 7 {
			t.Fatalf("%s: bad line %q", path, line)
		}
		var p, b int64
		fmt.Sscan(f[5], &p)
		fmt.Sscan(f[6], &b)
		want[strings.Join(f[:5], " ")] = [2]int64{p, b}
	}
	if len(want) == 0 || frames == 0 {
		t.Fatalf("%s: no expectations", path)
	}
	return want, frames
}

func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	tree := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		tree[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func equalTrees(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	names := make([]string, 0, len(a))
	for n := range a {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !bytes.Equal(a[n], b[n]) {
			return false
		}
	}
	return true
}

// TestWorkloadPaths: steady workloads take the paths the topology gives
// them. Shoppers reach the ALB's public addresses (records on the ALB
// interfaces with their private IPs as dstaddr); app servers reach partner
// APIs through their AZ's NAT gateway (records on the instance and on the
// NAT interface, whose legs show the NAT's private IP as dstaddr/srcaddr).
func TestWorkloadPaths(t *testing.T) {
	sc, topo := shortScenario(t, 5*time.Hour, 10*time.Minute, "shoppers-https", "app-to-partner-apis")
	dir, _ := runShort(t, sc, topo)
	var alb, appOut, natIn, natOut, natBack int
	for _, r := range records(t, dir) {
		if r.LogStatus != flow.StatusOK {
			continue
		}
		internet := func(a netip.Addr) bool { return !netip.MustParsePrefix("10.0.0.0/16").Contains(a) }
		switch {
		case strings.HasPrefix(r.InterfaceID, "eni-0e1") && r.DstPort == 443 && internet(r.SrcAddr) &&
			(r.DstAddr == netipMust("10.0.0.10") || r.DstAddr == netipMust("10.0.1.10")):
			alb++
		case r.InterfaceID == "eni-0a0a00000000000d1" && r.SrcAddr == netipMust("10.0.10.15") && r.DstPort == 443 && internet(r.DstAddr):
			appOut++
		case r.InterfaceID == "eni-0e0a00000000000c1" && r.SrcAddr == netipMust("10.0.10.15") && r.DstAddr == netipMust("10.0.0.220"):
			natIn++
		case r.InterfaceID == "eni-0e0a00000000000c1" && r.SrcAddr == netipMust("10.0.0.220") && internet(r.DstAddr) && r.DstPort == 443:
			natOut++
		case r.InterfaceID == "eni-0e0a00000000000c1" && r.SrcAddr == netipMust("10.0.0.220") && r.DstAddr == netipMust("10.0.10.15"):
			natBack++
		}
		if r.Action != flow.ActionAccept {
			t.Errorf("steady traffic rejected: %s", flow.Text(flow.DefaultFormat, &r))
		}
	}
	if alb == 0 || appOut == 0 || natIn == 0 || natOut == 0 || natBack == 0 {
		t.Errorf("records: ALB %d, app out %d, NAT in %d, NAT out %d, NAT back %d (want all > 0)", alb, appOut, natIn, natOut, natBack)
	}
}
