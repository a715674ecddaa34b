package troubleshoot

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"vpcflow/internal/dataplane"
	"vpcflow/internal/flow"
)

// One scenario per blocking failure kind, each seeded into the dataplane:
// the diagnosis must name the seed rule, the layer, the resource and the
// rule, and its proposed fix, applied to the topology, must let the traffic
// through.
func TestBlockedIncidents(t *testing.T) {
	tests := []struct {
		name     string
		run      func(s *sim)
		client   string
		eni      string
		seed     SeedRule
		layer    string
		resource string
		dir      string
		rule     int    // NACL rule number
		ruleText string // substring of the decision's rule
		fix      string // substring of the fix summary
	}{
		{
			name:   "security group inbound rule missing",
			run:    func(s *sim) { s.tcp("10.0.10.15", "10.0.20.25", "10.0.20.25", 40001, 3306, answer) },
			client: "10.0.10.15", eni: "eni-00000000000000db1", seed: 1,
			layer: "sg", resource: "sg-000000000000000db", dir: "ingress",
			ruleText: "no ingress rule allows tcp/3306 from 10.0.10.15",
			fix:      "ingress rule allowing tcp/3306 from sg-00000000000000app",
		},
		{
			// Seed 001: "Internet → Subnet 접근 실패" (internet to subnet fails), the SG side.
			name:   "security group inbound rule missing for an internet client",
			run:    func(s *sim) { s.tcp("203.0.113.30", "198.51.100.20", "10.0.0.10", 40006, 8443, answer) },
			client: "203.0.113.30", eni: "eni-0000000000000web1", seed: 1,
			layer: "sg", resource: "sg-00000000000000web", dir: "ingress",
			ruleText: "no ingress rule allows tcp/8443 from 203.0.113.30",
			fix:      "ingress rule allowing tcp/8443 from 203.0.113.30/32",
		},
		{
			name:   "network ACL inbound explicit deny",
			run:    func(s *sim) { s.tcp("192.0.2.10", "198.51.100.20", "10.0.0.10", 40002, 443, answer) },
			client: "192.0.2.10", eni: "eni-0000000000000web1", seed: 1,
			layer: "nacl", resource: "acl-0000000000000pub", dir: "ingress", rule: 50,
			fix: "ingress rule 49 allowing tcp/443 from 192.0.2.10/32",
		},
		{
			name:   "network ACL outbound drops the response (spec §7.3 ping)",
			run:    func(s *sim) { s.ping("203.0.113.12", "198.51.100.20", "10.0.0.10", 4) },
			client: "203.0.113.12", eni: "eni-0000000000000web1", seed: 2,
			layer: "nacl", resource: "acl-0000000000000pub", dir: "egress", rule: DefaultRuleNumber,
			fix: "egress rule 130 allowing icmp type 0 to 203.0.113.12/32",
		},
		{
			name:   "security group outbound rule missing",
			run:    func(s *sim) { s.tcp("10.0.10.15", "203.0.113.25", "203.0.113.25", 40003, 25, answer) },
			client: "10.0.10.15", eni: "eni-0000000000000app1", seed: 3,
			layer: "sg", resource: "sg-00000000000000app", dir: "egress",
			ruleText: "no egress rule allows tcp/25 to 203.0.113.25",
			fix:      "egress rule allowing tcp/25 to 203.0.113.25/32",
		},
		{
			name:   "network ACL outbound explicit deny",
			run:    func(s *sim) { s.tcp("10.0.10.15", "203.0.113.40", "203.0.113.40", 40004, 3389, answer) },
			client: "10.0.10.15", eni: "eni-0000000000000app1", seed: 3,
			layer: "nacl", resource: "acl-0000000000000app", dir: "egress", rule: 100,
			fix: "egress rule 99 allowing tcp/3389 to 203.0.113.40/32",
		},
		{
			name:   "network ACL inbound drops the response (ephemeral ports)",
			run:    func(s *sim) { s.tcp("10.0.10.15", "10.0.20.25", "10.0.20.25", 40005, 5432, answer) },
			client: "10.0.10.15", eni: "eni-0000000000000app1", seed: 4,
			layer: "nacl", resource: "acl-0000000000000app", dir: "ingress", rule: DefaultRuleNumber,
			fix: "ingress rule 130 allowing tcp/1024-65535 (the ephemeral ports of responses) from 10.0.20.25/32",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, richFormat)
			tc.run(s)
			recs := s.records()
			rep := Diagnose(recs, Options{Topology: s.topo})
			if len(rep.Blocked) != 1 {
				t.Fatalf("blocked = %d, want 1: %+v", len(rep.Blocked), rep.Blocked)
			}
			b := rep.Blocked[0]
			if b.Client.String() != tc.client || b.Interface != tc.eni || b.Seed != tc.seed {
				t.Errorf("got client %s eni %s seed %d; want %s %s %d", b.Client, b.Interface, b.Seed, tc.client, tc.eni, tc.seed)
			}
			d := b.Decision
			if d == nil {
				t.Fatalf("no decision; reason: %s", b.Reason)
			}
			if d.Layer != tc.layer || d.ResourceID != tc.resource || d.Direction != tc.dir || d.RuleNumber != tc.rule {
				t.Errorf("decision %s (layer %s resource %s dir %s rule %d); want %s %s %s %d",
					d, d.Layer, d.ResourceID, d.Direction, d.RuleNumber, tc.layer, tc.resource, tc.dir, tc.rule)
			}
			if tc.ruleText != "" && !strings.Contains(d.Rule, tc.ruleText) {
				t.Errorf("rule %q does not contain %q", d.Rule, tc.ruleText)
			}
			if b.Confidence != High {
				t.Errorf("confidence %s, want high", b.Confidence)
			}
			if b.Fix == nil || b.Fix.Hostile {
				t.Fatalf("fix = %+v", b.Fix)
			}
			if !strings.Contains(b.Fix.Summary, tc.fix) {
				t.Errorf("fix %q does not contain %q", b.Fix.Summary, tc.fix)
			}
			// Without the topology, the seed rule alone must agree.
			plain := Diagnose(recs, Options{})
			if len(plain.Blocked) != 1 || plain.Blocked[0].Seed != tc.seed || plain.Blocked[0].Interface != tc.eni {
				t.Errorf("without topology: %+v", plain.Blocked)
			}
			// The fix works: replay the same traffic on the patched topology.
			s2 := newSim(t, richFormat)
			if err := b.Fix.Patch.Apply(s2.topo); err != nil {
				t.Fatalf("apply fix: %v", err)
			}
			tc.run(s2)
			// The whole conversation gets through on that interface: a fix
			// takes every layer that blocks it, its reply included.
			for _, nb := range s2.diagnose(Options{}).Blocked {
				if nb.Interface == b.Interface {
					t.Errorf("still blocked after the fix %s: %+v", b.Fix.Command, nb)
				}
			}
			var buf bytes.Buffer
			if err := rep.WriteText(&buf); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(buf.String(), tc.resource) || !strings.Contains(buf.String(), b.Fix.Command) {
				t.Errorf("text report lacks the resource or command:\n%s", buf.String())
			}
		})
	}
}

func findKind(fs []Finding, kind string) *Finding {
	for i := range fs {
		if fs[i].Kind == kind {
			return &fs[i]
		}
	}
	return nil
}

func findOn(fs []Finding, kind, eni string) *Finding {
	for i := range fs {
		if fs[i].Kind == kind && fs[i].Interface == eni {
			return &fs[i]
		}
	}
	return nil
}

// One scenario per ACCEPT-but-broken kind.
func TestAcceptButBrokenIncidents(t *testing.T) {
	tests := []struct {
		name     string
		run      func(s *sim)
		expect   []string
		topology bool
		plain    bool // default format: no tcp-flags
		kind     string
		eni      string
		resource string
	}{
		{
			name:     "SYN accepted, no SYN-ACK (OS firewall or no listener)",
			run:      func(s *sim) { s.tcp("10.0.10.15", "10.0.11.22", "10.0.11.22", 40010, 8080, silent) },
			kind:     KindSYNNoSYNACK,
			eni:      "eni-0000000000000app2",
			topology: false,
		},
		{
			name:     "connection refused (RST)",
			run:      func(s *sim) { s.tcp("10.0.0.10", "10.0.11.22", "10.0.11.22", 40011, 8080, refuse) },
			kind:     KindConnectionRefused,
			eni:      "eni-0000000000000app2",
			topology: false,
		},
		{
			name:     "NAT gateway in another AZ",
			run:      func(s *sim) { s.tcp("10.0.11.22", "203.0.113.50", "203.0.113.50", 40012, 443, silent) },
			kind:     KindNATOtherAZ,
			eni:      "eni-0000000000000app2",
			resource: "nat-0aaaaaaaaaaaaaaa1",
			topology: true,
		},
		{
			name:     "asymmetric return path (public IP behind a NAT route)",
			run:      func(s *sim) { s.tcp("203.0.113.60", "198.51.100.30", "10.0.10.30", 40013, 443, answer) },
			kind:     KindAsymmetric,
			eni:      "eni-0000000000000app3",
			resource: "nat-0aaaaaaaaaaaaaaa1",
			topology: true,
		},
		{
			name:     "asymmetric return path from flow logs alone (the NAT interface carries only responses)",
			run:      func(s *sim) { s.tcp("203.0.113.60", "198.51.100.30", "10.0.10.30", 40013, 443, answer) },
			kind:     KindAsymmetric,
			eni:      "eni-00000000000000na1",
			topology: false,
		},
		{
			name:     "missing route (no records at all)",
			run:      func(s *sim) { s.tcp("10.0.30.5", "203.0.113.70", "203.0.113.70", 40014, 443, answer) },
			expect:   []string{"10.0.30.5->203.0.113.70:443/tcp"},
			kind:     KindMissingRoute,
			eni:      "eni-0000000000000iso1",
			resource: "rtb-000000000000iso",
			topology: true,
		},
		{
			name:     "blackhole route",
			run:      func(s *sim) { s.tcp("10.0.31.5", "203.0.113.71", "203.0.113.71", 40015, 443, answer) },
			expect:   []string{"10.0.31.5->203.0.113.71:443/tcp"},
			kind:     KindBlackhole,
			eni:      "eni-0000000000000blk1",
			resource: "rtb-000000000000blk",
			topology: true,
		},
		{
			name: "requests accepted, no response (no tcp-flags to tell SYN)",
			run: func(s *sim) {
				s.tcp("10.0.0.10", "10.0.11.22", "10.0.11.22", 40017, 8080, answer)
				s.tcp("10.0.10.15", "10.0.11.22", "10.0.11.22", 40018, 8080, silent)
			},
			kind:     KindNoResponse,
			eni:      "eni-0000000000000app2",
			plain:    true,
			topology: false,
		},
		{
			name:     "requests left, no reply came back (flow logs of the client only)",
			run:      func(s *sim) { s.tcp("10.0.10.15", "203.0.113.80", "203.0.113.80", 40019, 443, silent) },
			kind:     KindNoReply,
			eni:      "eni-0000000000000app1",
			plain:    true,
			topology: false,
		},
		{
			name:     "NAT gateway in a subnet without an internet gateway route",
			run:      func(s *sim) { s.tcp("10.0.12.40", "203.0.113.90", "203.0.113.90", 40020, 443, answer) },
			kind:     KindNATNoIGW,
			eni:      "eni-0000000000000app4",
			resource: "nat-0bbbbbbbbbbbbbbb2",
			topology: true,
		},
		{
			name:     "internet gateway route but no public IP",
			run:      func(s *sim) { s.tcp("10.0.0.11", "203.0.113.91", "203.0.113.91", 40021, 443, answer) },
			kind:     KindNoPublicIP,
			eni:      "eni-0000000000000web2",
			resource: "rtb-0000000000000pub",
			topology: true,
		},
		{
			name:     "expected flow never sent (DNS failure or client down)",
			run:      func(s *sim) { s.tcp("10.0.0.10", "10.0.11.22", "10.0.11.22", 40016, 8080, answer) },
			expect:   []string{"10.0.10.15->10.0.20.25:6379/tcp"},
			kind:     KindNoRecords,
			topology: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			format := richFormat
			if tc.plain {
				format = flow.DefaultFormat
			}
			s := newSim(t, format)
			tc.run(s)
			opts := Options{}
			if tc.topology {
				opts.Topology = s.topo
			}
			for _, e := range tc.expect {
				x, err := ParseExpectation(e)
				if err != nil {
					t.Fatal(err)
				}
				opts.Expect = append(opts.Expect, x)
			}
			rep := Diagnose(s.records(), opts)
			if len(rep.Blocked) != 0 {
				t.Errorf("unexpected blocked: %+v", rep.Blocked)
			}
			f := findOn(rep.Broken, tc.kind, tc.eni)
			if f == nil {
				t.Fatalf("no %s finding in %+v", tc.kind, rep.Broken)
			}
			if f.Interface != tc.eni || f.Resource != tc.resource {
				t.Errorf("finding on %q resource %q; want %q %q: %s", f.Interface, f.Resource, tc.eni, tc.resource, f.Summary)
			}
		})
	}
}

// Traffic AWS never logs is reported as such, not as a failure.
func TestExpectationNotLogged(t *testing.T) {
	s := newSim(t, flow.DefaultFormat)
	s.tcp("10.0.10.15", "10.0.11.22", "10.0.11.22", 40020, 8080, answer)
	x, err := ParseExpectation("10.0.10.15->10.0.0.2:53/udp")
	if err != nil {
		t.Fatal(err)
	}
	rep := s.diagnose(Options{Expect: []Expectation{x}})
	f := findKind(rep.Broken, KindNoRecords)
	if f == nil || f.Severity != "info" || !strings.Contains(f.Detail, "DNS") {
		t.Errorf("finding = %+v", f)
	}
	for _, bad := range []string{"", "10.0.0.1", "x->10.0.0.2", "*->nope:53", "*->10.0.0.2:53/zz"} {
		if _, err := ParseExpectation(bad); err == nil {
			t.Errorf("ParseExpectation(%q) succeeded", bad)
		}
	}
}

// Conversations that one change fixes are one problem; a host-CIDR fix is
// widened to cover every client of the problem.
func TestProblemsGroupAndWiden(t *testing.T) {
	s := newSim(t, richFormat)
	s.ping("203.0.113.12", "198.51.100.20", "10.0.0.10", 2)
	s.ping("203.0.113.40", "198.51.100.20", "10.0.0.10", 2)
	s.tcp("10.0.10.15", "10.0.20.25", "10.0.20.25", 40001, 3306, answer)
	s.tcp("10.0.11.22", "10.0.20.25", "10.0.20.25", 40002, 3306, answer)
	rep := s.diagnose(Options{})
	if len(rep.Blocked) != 4 || len(rep.Problems) != 2 {
		t.Fatalf("blocked %d problems %d: %+v", len(rep.Blocked), len(rep.Problems), rep.Problems)
	}
	for _, p := range rep.Problems {
		if p.ClientCount != 2 || p.Conversations != 2 {
			t.Errorf("problem %s: %d clients %d conversations", p.Service, p.ClientCount, p.Conversations)
		}
		switch p.Service {
		case "icmp":
			if !strings.Contains(p.Fix.Command, "--cidr-block 203.0.113.0/26") || p.Fix.Patch.NetworkACLs[0].Egress[0].CIDR != "203.0.113.0/26" {
				t.Errorf("icmp fix not widened: %s %+v", p.Fix.Command, p.Fix.Patch)
			}
		case "tcp/3306":
			if !strings.Contains(p.Fix.Command, "GroupId=sg-00000000000000app") {
				t.Errorf("mysql fix: %s", p.Fix.Command)
			}
		default:
			t.Errorf("unexpected problem %+v", p)
		}
	}
}

// TestFixClearsEveryLayer: when the network ACL and then the security
// group both refuse a request, and the network ACL would drop the reply
// too, the fix takes all three changes (spec §8.1: a packet must pass
// both; §8.4: the ACL is stateless), and the conversation then works.
func TestFixClearsEveryLayer(t *testing.T) {
	run := func(s *sim) { s.tcp("203.0.113.90", "198.51.100.20", "10.0.0.10", 40100, 25, answer) }
	s := newSim(t, richFormat)
	run(s)
	rep := s.diagnose(Options{Topology: s.topo})
	if len(rep.Blocked) != 1 || rep.Blocked[0].Fix == nil || rep.Blocked[0].Fix.Patch == nil {
		t.Fatalf("blocked %+v", rep.Blocked)
	}
	f := rep.Blocked[0].Fix
	if n := len(f.Patch.SecurityGroups) + len(f.Patch.NetworkACLs); n < 2 || strings.Count(f.Summary, "; and ") != n-1 {
		t.Errorf("fix of %d changes: %s", n, f.Summary)
	}
	s2 := newSim(t, richFormat)
	if err := f.Patch.Apply(s2.topo); err != nil {
		t.Fatal(err)
	}
	run(s2)
	if still := s2.diagnose(Options{}).Blocked; len(still) != 0 {
		t.Errorf("still blocked after %s: %+v", f.Command, still)
	}
}

// TestResponseAfterTrackingExpired: a response the security group no
// longer tracks (its connection idle past the timeout, spec §8.3) is
// refused by the group, whose rules do not allow it on their own: the
// diagnosis names the security group, not the stateless network ACL the
// seed rule suspects, and opens the ephemeral ports.
func TestResponseAfterTrackingExpired(t *testing.T) {
	s := newSim(t, richFormat)
	s.send(dataplane.Packet{Src: addr("10.0.10.15"), Dst: addr("10.0.20.25"), Protocol: 6, SrcPort: 40100, DstPort: 5432, TCPFlags: flow.TCPSyn})
	s.send(dataplane.Packet{Src: addr("10.0.20.25"), Dst: addr("10.0.10.15"), Protocol: 6, SrcPort: 5432, DstPort: 40100, TCPFlags: flow.TCPSynAck})
	s.now = s.now.Add(6 * 24 * time.Hour) // past the established timeout (5 days)
	res := s.send(dataplane.Packet{Src: addr("10.0.20.25"), Dst: addr("10.0.10.15"), Protocol: 6, SrcPort: 5432, DstPort: 40100, TCPFlags: flow.TCPAck, Size: 400})
	if res.Delivered {
		t.Fatalf("the late response got through: %+v", res)
	}
	rep := s.diagnose(Options{Topology: s.topo})
	if len(rep.Blocked) != 1 {
		t.Fatalf("blocked %+v", rep.Blocked)
	}
	b := rep.Blocked[0]
	if b.Decision == nil || b.Decision.Layer != "sg" || b.Suspect != "sg" || b.Confidence != Medium ||
		!strings.Contains(b.Reason, "forgotten") || b.Fix == nil || !strings.Contains(b.Fix.Summary, "tcp/1024-65535") {
		t.Errorf("blocked %+v decision %+v fix %+v", b, b.Decision, b.Fix)
	}
}

// TestPublicServerReturnPorts: a public-facing server whose network ACL
// drops its answers to an internet client gets the egress rule AWS
// recommends, the ephemeral ports 1024-65535 to any client (spec §8.4),
// not a rule for one client.
func TestPublicServerReturnPorts(t *testing.T) {
	s := newSim(t, richFormat)
	s.udp("203.0.113.70", "198.51.100.53", "10.0.0.53", 40000, 53, 1, true)
	rep := s.diagnose(Options{Topology: s.topo})
	if len(rep.Blocked) != 1 || rep.Blocked[0].Fix == nil {
		t.Fatalf("blocked %+v", rep.Blocked)
	}
	f := rep.Blocked[0].Fix
	if !strings.Contains(f.Summary, "egress rule") || !strings.Contains(f.Summary, "udp/1024-65535") || !strings.Contains(f.Summary, "to 0.0.0.0/0") {
		t.Errorf("fix %s", f.Summary)
	}
}

// TestAsymmetricPathOneFinding: a return path gone astray through a NAT
// gateway is one warning over all the clients it hits, not one per client.
func TestAsymmetricPathOneFinding(t *testing.T) {
	s := newSim(t, richFormat)
	for i := range 3 {
		s.tcp(fmt.Sprintf("203.0.113.%d", 61+i), "198.51.100.30", "10.0.10.30", uint16(40200+i), 443, answer)
	}
	var warnings []Finding
	for _, f := range s.diagnose(Options{Topology: s.topo}).Broken {
		if f.Kind == KindAsymmetric && f.Severity == "warning" {
			warnings = append(warnings, f)
		}
	}
	if len(warnings) != 1 || warnings[0].Sources != 3 || !strings.Contains(warnings[0].Summary, "to 3 clients") {
		t.Errorf("asymmetric-path warnings: %+v", warnings)
	}
}
