package troubleshoot

import (
	"fmt"
	"strings"
	"testing"

	"vpcflow/internal/flow"
)

func TestPortScanAndBruteForce(t *testing.T) {
	s := newSim(t, flow.DefaultFormat)
	// A legitimate client.
	s.tcp("203.0.113.5", "198.51.100.20", "10.0.0.10", 50000, 443, answer)
	// A vertical scan of ports 1-40 of the web server.
	for p := uint16(1); p <= 40; p++ {
		s.tcp("203.0.113.66", "198.51.100.20", "10.0.0.10", 61000, p, answer)
	}
	// SSH brute force: 25 connections, each from a new port.
	for i := range 25 {
		s.tcp("203.0.113.77", "198.51.100.20", "10.0.0.10", uint16(40000+i), 22, answer)
	}
	recs := s.records()
	rep := Diagnose(recs, Options{Topology: s.topo})

	scan := findKind(rep.Security, KindPortScan)
	if scan == nil || scan.Client.String() != "203.0.113.66" {
		t.Fatalf("port scan finding = %+v (all: %+v)", scan, rep.Security)
	}
	if scan.Severity != "high" { // port 22 answered
		t.Errorf("scan severity %s, want high (some probes accepted)", scan.Severity)
	}
	bf := findKind(rep.Security, KindBruteForce)
	if bf == nil || bf.Client.String() != "203.0.113.77" || bf.Port != 22 || bf.Severity != "high" {
		t.Fatalf("brute force finding = %+v", bf)
	}
	if !strings.Contains(bf.Summary, "25 connection attempts") {
		t.Errorf("summary %q", bf.Summary)
	}
	for _, f := range rep.Security {
		if f.Client.String() == "203.0.113.5" {
			t.Errorf("legitimate client flagged: %+v", f)
		}
	}
	if len(rep.TopRejectedSources) == 0 || rep.TopRejectedSources[0].Addr.String() != "203.0.113.66" {
		t.Errorf("top rejected = %+v", rep.TopRejectedSources)
	}
	// The scanner's blocked probes are hostile: keep them blocked.
	n := 0
	for _, b := range rep.Blocked {
		if b.Client.String() != "203.0.113.66" {
			continue
		}
		n++
		if b.Fix == nil || !b.Fix.Hostile {
			t.Errorf("probe of %s: fix %+v, want hostile", b.Service, b.Fix)
		}
	}
	if n != 39 { // port 22 is open
		t.Errorf("%d blocked probes, want 39", n)
	}
}

func TestUnusualEgress(t *testing.T) {
	var lines []string
	for i, bytes := range []int64{2_000_000, 3_000_000, 2_500_000, 5 << 30} {
		lines = append(lines, fmt.Sprintf("2 123456789012 eni-%017d 10.0.1.%d 198.51.100.%d 40000 443 6 1000 %d 1700000000 1700000060 ACCEPT OK",
			i, i+10, i+1, bytes))
	}
	rep := Diagnose(decodeLines(t, flow.DefaultFormat, lines...), Options{})
	f := findKind(rep.Security, KindEgressVolume)
	if f == nil || f.Interface != "eni-00000000000000003" || f.Server.String() != "198.51.100.4" {
		t.Fatalf("egress finding = %+v (all %+v)", f, rep.Security)
	}
	if len(rep.Security) != 1 {
		t.Errorf("findings %+v", rep.Security)
	}
}

// An open resolver used for a DNS flood, seeded into the simulator: the
// queries are accepted, the answers REJECTed by the public network ACL
// (no UDP to ephemeral ports). The flood is one finding, and its blocked
// answers are hostile traffic to keep blocked, not a rule to add.
func TestDNSFlood(t *testing.T) {
	s := newSim(t, richFormat)
	queries := func(client, dst string, n int) {
		for q := range n {
			s.udp(client, dst, "10.0.0.53", uint16(30000+q), 53, 1, true)
		}
	}
	queries("10.0.0.10", "10.0.0.53", 3) // a legitimate client inside the VPC
	for i := range 25 {
		queries(fmt.Sprintf("203.0.113.%d", 100+i), "198.51.100.53", 6)
	}
	rep := s.diagnose(Options{FloodRequests: 100})
	f := findKind(rep.Security, KindFlood)
	if f == nil {
		t.Fatalf("no flood finding in %+v", rep.Security)
	}
	if f.Server.String() != "10.0.0.53" || f.Port != 53 || f.Protocol != 17 || f.Sources != 26 || f.Records != 153 {
		t.Errorf("flood finding = %+v", f)
	}
	if !strings.Contains(f.Detail, "open DNS resolver") || !strings.Contains(f.Detail, "150 responses were REJECTed") {
		t.Errorf("detail %q", f.Detail)
	}
	hostile := 0
	for _, b := range rep.Blocked {
		if b.Client.String() == "10.0.0.10" {
			t.Errorf("the VPC's own client is blocked: %+v", b)
			continue
		}
		if b.Seed != 2 || b.Decision == nil || b.Decision.ResourceID != "acl-0000000000000pub" || b.Decision.Direction != "egress" {
			t.Errorf("answer to %s: seed %d decision %v", b.Client, b.Seed, b.Decision)
		}
		if b.Campaign == "" || b.Fix == nil || !b.Fix.Hostile {
			t.Errorf("answer to %s not treated as part of the flood: campaign %q fix %+v", b.Client, b.Campaign, b.Fix)
		}
		hostile++
	}
	if hostile != 25 {
		t.Errorf("%d blocked answers, want 25", hostile)
	}
	// Below the threshold it is ordinary traffic.
	s = newSim(t, richFormat)
	for i := range 25 {
		queries(fmt.Sprintf("203.0.113.%d", 100+i), "198.51.100.53", 2)
	}
	if f := findKind(s.diagnose(Options{FloodRequests: 100}).Security, KindFlood); f != nil {
		t.Errorf("50 queries flagged as a flood: %+v", f)
	}
}

// From flow logs alone: a horizontal scan (one port, many hosts) and an
// RDP brute force, on records of several interfaces.
func TestHorizontalScanAndRDPBruteForce(t *testing.T) {
	var lines []string
	for i := range 12 {
		lines = append(lines, fmt.Sprintf("2 123456789012 eni-%017d 198.51.100.66 10.0.1.%d 51000 445 6 1 40 1700000000 1700000060 REJECT OK", i, 10+i))
	}
	for i := range 30 {
		lines = append(lines, fmt.Sprintf("2 123456789012 eni-%017d 203.0.113.99 10.0.1.10 %d 3389 6 2 120 1700000000 1700000060 REJECT OK", 0, 50000+i))
	}
	rep := Diagnose(decodeLines(t, flow.DefaultFormat, lines...), Options{})
	scan := findKind(rep.Security, KindPortScan)
	if scan == nil || scan.Client.String() != "198.51.100.66" || !strings.Contains(scan.Summary, "12 hosts on port 445") || scan.Severity != "warning" {
		t.Errorf("scan finding = %+v", scan)
	}
	bf := findKind(rep.Security, KindBruteForce)
	if bf == nil || bf.Client.String() != "203.0.113.99" || bf.Port != 3389 || !strings.HasPrefix(bf.Summary, "RDP brute force: 203.0.113.99 made 30 connection attempts") {
		t.Errorf("brute force finding = %+v", bf)
	}
	if len(rep.Security) != 2 {
		t.Errorf("findings %+v", rep.Security)
	}
	if len(rep.TopRejectedSources) != 2 || rep.TopRejectedSources[0].Addr.String() != "203.0.113.99" || rep.TopRejectedSources[0].Records != 30 ||
		rep.TopRejectedSources[1].Hosts != 12 {
		t.Errorf("top rejected sources %+v", rep.TopRejectedSources)
	}
	for _, p := range rep.Problems {
		if p.Campaign == "" {
			t.Errorf("problem outside the campaigns: %+v", p)
		}
	}
}

// SKIPDATA records say some flows were not logged: the report says so
// instead of taking missing records as proof of no traffic.
func TestSkipDataReported(t *testing.T) {
	rep := Diagnose(decodeLines(t, flow.DefaultFormat,
		"2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA",
		"2 123456789010 eni-11111111aaaaaaaaa 10.0.0.5 10.0.0.9 40000 443 6 1 60 1431280876 1431280934 ACCEPT OK",
	), Options{})
	f := findKind(rep.Broken, KindSkipData)
	if rep.SkipData != 1 || rep.Records != 1 || f == nil || f.Records != 1 || !strings.Contains(f.Detail, "not proof") {
		t.Errorf("skipdata %d records %d finding %+v", rep.SkipData, rep.Records, f)
	}
}

// A brute-force source's other traffic is not part of the attack: its
// blocked SMTP connection gets an ordinary fix.
func TestCampaignIsPerService(t *testing.T) {
	s := newSim(t, richFormat)
	for i := range 25 {
		s.tcp("203.0.113.77", "198.51.100.20", "10.0.0.10", uint16(40000+i), 22, answer)
	}
	s.tcp("203.0.113.77", "198.51.100.20", "10.0.0.10", 39999, 25, answer)
	rep := s.diagnose(Options{})
	if findKind(rep.Security, KindBruteForce) == nil {
		t.Fatalf("no brute force finding: %+v", rep.Security)
	}
	if len(rep.Blocked) != 1 {
		t.Fatalf("blocked %+v", rep.Blocked)
	}
	b := rep.Blocked[0]
	if b.Service != "tcp/25" || b.Campaign != "" || b.Fix == nil || b.Fix.Hostile || !strings.Contains(b.Fix.Summary, "allowing tcp/25 from 203.0.113.77/32") {
		t.Errorf("SMTP of the brute-force source: campaign %q fix %+v", b.Campaign, b.Fix)
	}
}

// Top rejected sources are the clients whose traffic is rejected: a
// server whose responses are rejected is not listed as probing its
// clients' ephemeral ports.
func TestTopRejectedSourcesAreClients(t *testing.T) {
	s := newSim(t, richFormat)
	s.tcp("10.0.10.15", "10.0.20.25", "10.0.20.25", 40005, 5432, answer) // response rejected into app-a
	for i := range 3 {
		s.udp(fmt.Sprintf("203.0.113.%d", 100+i), "198.51.100.53", "10.0.0.53", uint16(30000+i), 53, 1, true) // answers rejected
	}
	rep := s.diagnose(Options{})
	got := map[string]Source{}
	for _, src := range rep.TopRejectedSources {
		got[src.Addr.String()] = src
	}
	for _, server := range []string{"10.0.20.25", "10.0.0.53"} {
		if _, ok := got[server]; ok {
			t.Errorf("server %s listed as a rejected source: %+v", server, rep.TopRejectedSources)
		}
	}
	if c := got["10.0.10.15"]; c.Records != 1 || c.Responses != 1 || c.Ports != 1 || c.Hosts != 1 {
		t.Errorf("client 10.0.10.15: %+v", c)
	}
	if c := got["203.0.113.100"]; c.Records != 1 || c.Responses != 1 {
		t.Errorf("DNS client: %+v", c)
	}
	var buf strings.Builder
	if err := rep.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "source                                    records responses    packets  ports  hosts") {
		t.Errorf("report:\n%s", buf.String())
	}
}
