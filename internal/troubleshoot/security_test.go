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
