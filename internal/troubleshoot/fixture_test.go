package troubleshoot

import (
	"bytes"
	"compress/gzip"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"vpcflow/internal/flow"
)

var update = flag.Bool("update", false, "rewrite the CLI fixture under cmd/vpcflow/testdata")

// allIncidents seeds every incident of the test topology at once.
func allIncidents(s *sim) {
	s.tcp("10.0.10.15", "10.0.20.25", "10.0.20.25", 40001, 3306, answer)
	s.tcp("192.0.2.10", "198.51.100.20", "10.0.0.10", 40002, 443, answer)
	s.ping("203.0.113.12", "198.51.100.20", "10.0.0.10", 4)
	s.tcp("10.0.10.15", "203.0.113.25", "203.0.113.25", 40003, 25, answer)
	s.tcp("10.0.10.15", "203.0.113.40", "203.0.113.40", 40004, 3389, answer)
	s.tcp("10.0.10.15", "10.0.20.25", "10.0.20.25", 40005, 5432, answer)
	s.tcp("10.0.10.15", "10.0.11.22", "10.0.11.22", 40010, 8080, silent)
	s.tcp("10.0.0.10", "10.0.11.22", "10.0.11.22", 40011, 8080, refuse)
	s.tcp("10.0.11.22", "203.0.113.50", "203.0.113.50", 40012, 443, silent)
	s.tcp("203.0.113.60", "198.51.100.30", "10.0.10.30", 40013, 443, answer)
	s.tcp("203.0.113.5", "198.51.100.20", "10.0.0.10", 50000, 443, answer)
	for p := uint16(1); p <= 40; p++ {
		s.tcp("203.0.113.66", "198.51.100.20", "10.0.0.10", 61000, p, answer)
	}
	for i := range 25 {
		s.tcp("203.0.113.77", "198.51.100.20", "10.0.0.10", uint16(42000+i), 22, answer)
	}
}

// TestAllIncidents runs every incident together: each still gets its own
// diagnosis. With -update it also writes the records as an S3 object for
// the CLI tests.
func TestAllIncidents(t *testing.T) {
	s := newSim(t, richFormat)
	allIncidents(s)
	recs := s.records()
	rep := Diagnose(recs, Options{Topology: s.topo})
	want := map[string]bool{
		"eni-00000000000000db1 sg ingress":   false,
		"eni-0000000000000web1 nacl ingress": false,
		"eni-0000000000000web1 nacl egress":  false,
		"eni-0000000000000app1 sg egress":    false,
		"eni-0000000000000app1 nacl egress":  false,
		"eni-0000000000000app1 nacl ingress": false,
	}
	for _, b := range rep.Blocked {
		if b.Decision != nil {
			want[b.Interface+" "+b.Decision.Layer+" "+b.Decision.Direction] = true
		}
	}
	for k, ok := range want {
		if !ok {
			t.Errorf("no blocked conversation %s", k)
		}
	}
	for _, k := range []string{KindSYNNoSYNACK, KindConnectionRefused, KindNATOtherAZ, KindAsymmetric} {
		if findKind(rep.Broken, k) == nil {
			t.Errorf("no %s finding", k)
		}
	}
	for _, k := range []string{KindPortScan, KindBruteForce} {
		if findKind(rep.Security, k) == nil {
			t.Errorf("no %s finding", k)
		}
	}
	if !*update {
		return
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(richFormat.Header() + "\n"))
	for i := range recs {
		zw.Write(append(flow.AppendText(nil, richFormat, &recs[i]), '\n'))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	dir := "../../cmd/vpcflow/testdata/diagnose/flowlogs/AWSLogs/123456789012/vpcflowlogs/us-east-1/2023/11/14"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "123456789012_vpcflowlogs_us-east-1_fl-0incidents000001_20231114T2210Z_00000001.log.gz")
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	topo, err := os.ReadFile("testdata/incidents.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("../../cmd/vpcflow/testdata/diagnose/topology.yaml", topo, 0o644); err != nil {
		t.Fatal(err)
	}
}
