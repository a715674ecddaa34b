package dataplane

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"vpcflow/internal/flow"
	"vpcflow/internal/policy"
	"vpcflow/internal/vpc"
)

// benchTopology builds one VPC with 10 subnets of 100 interfaces each
// (1,000 ENIs), 10 security groups of 60 ingress + 60 egress rules, and a
// custom 60+60 rule NACL on every subnet; the rules that let the benchmark
// traffic through are the last ones, so a cold evaluation walks them all.
func benchTopology(tb testing.TB) *vpc.Topology {
	tb.Helper()
	const vpcID = "vpc-0bench0000000001"
	doc := &vpc.Document{Account: "123456789012", Region: "us-east-1",
		VPCs:             []vpc.VPCDoc{{ID: vpcID, CIDR: "10.0.0.0/16"}},
		InternetGateways: []vpc.IGWDoc{{ID: "igw-0bench000000001", VPC: vpcID}},
		RouteTables: []vpc.RouteTableDoc{{ID: "rtb-0bench000000001", VPC: vpcID, Main: true,
			Routes: []vpc.RouteDoc{{Destination: "0.0.0.0/0", Target: "igw-0bench000000001"}}}},
	}
	sixty := func(last vpc.SGRuleDoc) []vpc.SGRuleDoc {
		rules := make([]vpc.SGRuleDoc, 0, 60)
		for i := range 59 {
			rules = append(rules, vpc.SGRuleDoc{Protocol: "tcp", Ports: vpc.Scalar(fmt.Sprint(10000 + i)), CIDR: fmt.Sprintf("192.0.%d.0/24", i)})
		}
		return append(rules, last)
	}
	for g := range 10 {
		egress := sixty(vpc.SGRuleDoc{Protocol: "all", CIDR: "10.0.0.0/16"})
		doc.SecurityGroups = append(doc.SecurityGroups, vpc.SGDoc{
			ID: fmt.Sprintf("sg-0bench%012d", g), Name: fmt.Sprintf("bench-%d", g), VPC: vpcID,
			Ingress: sixty(vpc.SGRuleDoc{Protocol: "tcp", Ports: "443", CIDR: "10.0.0.0/16"}),
			Egress:  &egress,
		})
	}
	naclRules := func() []vpc.NACLEntryDoc {
		var es []vpc.NACLEntryDoc
		for i := range 59 {
			es = append(es, vpc.NACLEntryDoc{Rule: 100 + i, Protocol: "tcp", Ports: vpc.Scalar(fmt.Sprint(20000 + i)), CIDR: fmt.Sprintf("198.18.%d.0/24", i), Action: "deny"})
		}
		return append(es, vpc.NACLEntryDoc{Rule: 1000, Protocol: "all", CIDR: "10.0.0.0/16", Action: "allow"})
	}
	for s := range 10 {
		acl := fmt.Sprintf("acl-0bench%012d", s)
		doc.NetworkACLs = append(doc.NetworkACLs, vpc.NACLDoc{ID: acl, VPC: vpcID, Ingress: naclRules(), Egress: naclRules()})
		sub := fmt.Sprintf("subnet-0bench%09d", s)
		doc.Subnets = append(doc.Subnets, vpc.SubnetDoc{ID: sub, VPC: vpcID, CIDR: fmt.Sprintf("10.0.%d.0/24", s), AZ: "us-east-1a", NetworkACL: acl})
		for i := range 100 {
			n := s*100 + i
			doc.Interfaces = append(doc.Interfaces, vpc.InterfaceDoc{
				ID: fmt.Sprintf("eni-0bench%012d", n), Subnet: sub, InstanceID: fmt.Sprintf("i-0bench%012d", n),
				PrivateIP: fmt.Sprintf("10.0.%d.%d", s, 10+i), SecurityGroups: []string{fmt.Sprintf("sg-0bench%012d", n%10)},
			})
		}
	}
	topo, errs := vpc.FromDocument(doc)
	if len(errs) > 0 {
		tb.Fatal(errs)
	}
	return topo
}

// benchFlows returns n cross-subnet TCP flows between distinct ENIs.
func benchFlows(n int) []Packet {
	ps := make([]Packet, n)
	for i := range ps {
		src := i % 1000
		dst := (src + 100*(1+i%9)) % 1000 // always another subnet
		ps[i] = Packet{Time: t0, Src: benchIP(src), Dst: benchIP(dst), Protocol: 6,
			SrcPort: uint16(32768 + i%28000), DstPort: 443, Size: 1500, TCPFlags: 0x18}
	}
	return ps
}

func benchIP(n int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, 0, byte(n / 100), byte(10 + n%100)})
}

var sink int64

// reportCPU adds packets per CPU-second of the benchmark thread: on a shared
// machine wall-clock pkts/s understates what one core does.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	if cpu := threadCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "pkts/cpu-s")
	}
}

// BenchmarkProcess measures packets per second through the dataplane on
// 1,000 ENIs with 60-rule SGs and NACLs, conntrack included: each packet
// crosses a subnet boundary, so it is evaluated at two ENIs (SG + NACL each)
// and yields two Observations.
func BenchmarkProcess(b *testing.B) {
	topo := benchTopology(b)
	emit := func(o *Observation) { sink += o.Bytes }
	for _, nflows := range []int{1, 1000, 100000} {
		b.Run(fmt.Sprintf("case=established/flows=%d", nflows), func(b *testing.B) {
			d := newDP(b, topo)
			flows := benchFlows(nflows)
			for i := range flows {
				flows[i].TCPFlags = 0x02
				if _, err := d.Process(flows[i], emit); err != nil {
					b.Fatal(err)
				}
				flows[i].TCPFlags = 0x18
			}
			b.ReportAllocs()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu0 := threadCPU()
			i := 0
			for b.Loop() {
				p := &flows[i]
				p.Time = p.Time.Add(time.Millisecond)
				res, _ := d.Process(*p, emit)
				if !res.Delivered {
					b.Fatalf("not delivered: %+v", res)
				}
				i++
				if i == len(flows) {
					i = 0
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
			reportCPU(b, cpu0)
		})
	}
	b.Run("case=new-flow", func(b *testing.B) {
		d := newDP(b, topo)
		b.ReportAllocs()
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		cpu0 := threadCPU()
		i := 0
		for b.Loop() {
			p := Packet{Time: t0, Src: benchIP(i % 1000), Dst: benchIP((i + 500) % 1000), Protocol: 6,
				SrcPort: uint16(1024 + i%60000), DstPort: 443, Size: 60, TCPFlags: 0x02}
			if _, err := d.Process(p, emit); err != nil {
				b.Fatal(err)
			}
			i++
			if i%60000 == 0 {
				d.Expire(t0.Add(time.Hour)) // keep the caches bounded
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		reportCPU(b, cpu0)
	})
}

// TestProcessNoAllocs pins the zero-allocation promise on established flows.
func TestProcessNoAllocs(t *testing.T) {
	topo := benchTopology(t)
	d := newDP(t, topo)
	flows := benchFlows(100)
	emit := func(o *Observation) { sink += o.Bytes }
	for _, p := range flows {
		if _, err := d.Process(p, emit); err != nil {
			t.Fatal(err)
		}
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := d.Process(flows[i%len(flows)], emit); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("Process allocates %.1f times per packet on an established flow", allocs)
	}
}

// BenchmarkPolicy measures cold rule evaluation (first packet of a flow).
func BenchmarkPolicy(b *testing.B) {
	topo := benchTopology(b)
	acl := topo.NetworkACL("acl-0bench000000000000")
	sg := []*vpc.SecurityGroup{topo.SecurityGroup("sg-0bench000000000000")}
	match := policy.Packet{Src: netip.MustParseAddr("10.0.1.10"), Dst: netip.MustParseAddr("10.0.0.10"), Protocol: 6, SrcPort: 40000, DstPort: 443}
	nomatch := match
	nomatch.Src = netip.MustParseAddr("203.0.113.1")
	for _, c := range []struct {
		name string
		p    policy.Packet
	}{{"match-last", match}, {"no-match", nomatch}} {
		b.Run("case=nacl-60/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if d := policy.EvaluateNetworkACL(acl, flow.Ingress, c.p); d.RuleNumber == 0 {
					b.Fatal("no rule")
				}
			}
		})
		b.Run("case=sg-60/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = policy.EvaluateSecurityGroups(sg, flow.Ingress, c.p, topo)
			}
		})
	}
}

// BenchmarkConntrackMemory reports the heap bytes of one tracked connection
// and of one cached dataplane flow (path + its two connections).
func BenchmarkConntrackMemory(b *testing.B) {
	const n = 100000
	b.Run("case=conntrack", func(b *testing.B) {
		for b.Loop() {
			before := heap()
			ct := policy.NewConntrack(policy.Timeouts{})
			for i := range n {
				p := policy.Packet{Src: benchIP(i % 1000), Dst: netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}), Protocol: 6, SrcPort: uint16(i), DstPort: 443}
				ct.Track(uint32(i%1000+1), p, t0)
			}
			b.ReportMetric(float64(heap()-before)/n, "bytes/flow")
			runtime.KeepAlive(ct)
		}
	})
	b.Run("case=dataplane-flow", func(b *testing.B) {
		topo := benchTopology(b)
		flows := benchFlows(n)
		for b.Loop() {
			before := heap()
			d := newDP(b, topo)
			for _, p := range flows {
				if _, err := d.Process(p, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(heap()-before)/n, "bytes/flow")
			runtime.KeepAlive(d)
		}
	})
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
