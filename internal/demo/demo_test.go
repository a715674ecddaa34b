package demo

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"vpcflow/internal/flow"
	"vpcflow/internal/traffic"
	"vpcflow/internal/troubleshoot"
	"vpcflow/internal/vpc"
)

var update = flag.Bool("update", false, "rewrite golden files")

// shortScenario is the bundled scenario cut to [from, from+d) with only the
// named workloads and incidents (all when names is empty).
func shortScenario(t *testing.T, from, d time.Duration, names ...string) (*traffic.Scenario, *vpc.Topology) {
	t.Helper()
	topo, err := vpc.Load(TopologyYAML, "three-tier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := traffic.DecodeDocument(ScenarioYAML, "scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	keep := func(n string) bool {
		if len(names) == 0 {
			return true
		}
		for _, k := range names {
			if k == n {
				return true
			}
		}
		return false
	}
	var ws []traffic.WorkloadDoc
	for _, w := range doc.Workload {
		if keep(w.Name) {
			ws = append(ws, w)
		}
	}
	var is []traffic.IncidentDoc
	for _, in := range doc.Incident {
		st, _ := time.ParseDuration(in.Start)
		if keep(in.Name) && (len(names) > 0 || (st >= from && st < from+d)) {
			in.Start = (st - from).String()
			is = append(is, in)
		}
	}
	doc.Workload, doc.Incident = ws, is
	start, _ := time.Parse(time.RFC3339, doc.Start)
	doc.Start = start.Add(from).Format(time.RFC3339)
	doc.Duration = d.String()
	sc, err := traffic.Compile(doc, topo, nil, "scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return sc, topo
}

func runShort(t *testing.T, sc *traffic.Scenario, topo *vpc.Topology) (string, *RunResult) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if err := PrepareDataDir(dir); err != nil {
		t.Fatal(err)
	}
	res, err := RunScenario(context.Background(), sc, topo, RunOptions{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return dir, res
}

func records(t *testing.T, dir string) []flow.Record {
	t.Helper()
	d, err := troubleshoot.ReadDir(filepath.Join(dir, DefaultBucket))
	if err != nil {
		t.Fatal(err)
	}
	return d.Records
}

// TestIncidentRejects runs each incident alone and checks the records its
// rules imply (the verdicts come from the topology, never the scenario).
func TestIncidentRejects(t *testing.T) {
	type check func(t *testing.T, recs []flow.Record)
	a := netipMust
	cases := []struct {
		incident string
		from     time.Duration
		check    check
	}{
		{"port-scan-from-internet", 2*time.Hour + 9*time.Minute, func(t *testing.T, recs []flow.Record) {
			rej, acc := 0, 0
			for _, r := range recs {
				if r.SrcAddr != a("185.220.101.77") {
					continue
				}
				if r.Action == flow.ActionReject {
					rej++
					if r.DstPort == 80 || r.DstPort == 443 {
						if r.DstAddr != a("10.0.0.30") {
							t.Errorf("probe to the ALB's open port %d rejected: %v", r.DstPort, flow.Text(flow.DefaultFormat, &r))
						}
					}
				} else {
					acc++
				}
			}
			if rej < 1000 || acc == 0 {
				t.Errorf("scanner: %d REJECT records, %d ACCEPT (want most ports rejected by the public NACL, 80/443 on the ALB accepted)", rej, acc)
			}
		}},
		{"ssh-brute-force", 2*time.Hour + 59*time.Minute, func(t *testing.T, recs []flow.Record) {
			rej := 0
			for _, r := range recs {
				if r.DstPort == 22 && r.DstAddr == a("10.0.0.30") {
					if r.Action != flow.ActionReject {
						t.Errorf("brute force accepted: %s", flow.Text(flow.DefaultFormat, &r))
					}
					rej++
				}
			}
			if rej < 100 {
				t.Errorf("%d REJECT records to the bastion's port 22", rej)
			}
		}},
		{"app-b-reporting-to-db", 5*time.Hour + 59*time.Minute, func(t *testing.T, recs []flow.Record) {
			var in, out int
			for _, r := range recs {
				if r.InterfaceID != "eni-0d0a00000000000e1" {
					continue
				}
				switch {
				case r.SrcAddr == a("10.0.11.22") && r.DstPort == 5432 && r.Action == flow.ActionAccept:
					in++
				case r.DstAddr == a("10.0.11.22") && r.SrcPort == 5432 && r.Action == flow.ActionReject:
					out++
				case r.Action == flow.ActionReject:
					t.Errorf("unexpected REJECT on the RDS interface: %s", flow.Text(flow.DefaultFormat, &r))
				}
			}
			if in == 0 || out == 0 || in != out {
				t.Errorf("RDS interface: %d ACCEPT requests, %d REJECT responses (want them paired: stateless NACL blocks the return)", in, out)
			}
		}},
		{"alb-health-checks-8081", 8*time.Hour + 59*time.Minute, func(t *testing.T, recs []flow.Record) {
			var albAccept, appReject int
			for _, r := range recs {
				if r.DstPort != 8081 {
					continue
				}
				switch {
				case strings.HasPrefix(r.InterfaceID, "eni-0e1") && r.Action == flow.ActionAccept:
					albAccept++
				case strings.HasPrefix(r.InterfaceID, "eni-0a0") && r.Action == flow.ActionReject:
					appReject++
				default:
					t.Errorf("unexpected record: %s", flow.Text(flow.DefaultFormat, &r))
				}
			}
			if albAccept == 0 || appReject == 0 {
				t.Errorf("port 8081: %d ACCEPT on the ALB, %d REJECT on the app interfaces", albAccept, appReject)
			}
		}},
		{"dns-flood", 13*time.Hour + 59*time.Minute, func(t *testing.T, recs []flow.Record) {
			var q, ans int
			for _, r := range recs {
				if r.InterfaceID != "eni-0d45000000000d451" {
					continue
				}
				switch {
				case r.DstPort == 53 && r.Action == flow.ActionAccept:
					q++
				case r.SrcPort == 53 && r.Action == flow.ActionReject:
					ans++
				}
			}
			if q < 1000 || ans < 1000 {
				t.Errorf("resolver: %d accepted queries, %d rejected answers", q, ans)
			}
		}},
		{"exfiltration-burst", 18*time.Hour + 39*time.Minute, func(t *testing.T, recs []flow.Record) {
			var up int64
			for _, r := range recs {
				if r.InterfaceID == "eni-0ba5000000000b001" && r.DstAddr == a("45.137.21.9") {
					if r.Action != flow.ActionAccept {
						t.Errorf("exfiltration rejected: %s", flow.Text(flow.DefaultFormat, &r))
					}
					up += r.Bytes
				}
			}
			if up < 12e9 {
				t.Errorf("bastion uploaded %d bytes, want 12 GB", up)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.incident, func(t *testing.T) {
			d := 8 * time.Minute
			if tc.incident == "exfiltration-burst" {
				d = 25 * time.Minute
			}
			sc, topo := shortScenario(t, tc.from, d, tc.incident)
			dir, res := runShort(t, sc, topo)
			if len(res.Traffic.Workloads) != 1 || res.Traffic.Workloads[0].Packets == 0 {
				t.Fatalf("incident sent nothing: %+v", res.Traffic.Workloads)
			}
			tc.check(t, records(t, dir))
		})
	}
}

// TestDeterministicOutput: the same scenario and seed give byte-identical
// data directories.
func TestDeterministicOutput(t *testing.T) {
	var trees []map[string][]byte
	for range 2 {
		sc, topo := shortScenario(t, 2*time.Hour, 75*time.Minute)
		dir, _ := runShort(t, sc, topo)
		trees = append(trees, readTree(t, dir))
	}
	sameTrees(t, trees[0], trees[1])
}

// sameTrees checks that two runs wrote the same files with the same bytes,
// S3 objects among them.
func sameTrees(t *testing.T, a, b map[string][]byte) {
	t.Helper()
	if len(a) == 0 {
		t.Fatal("no files written")
	}
	objects := 0
	for name, content := range a {
		if strings.HasSuffix(name, ".log.gz") {
			objects++
		}
		other, ok := b[name]
		if !ok {
			t.Errorf("%s only in the first run", name)
			continue
		}
		if !bytes.Equal(content, other) {
			t.Errorf("%s differs between runs", name)
		}
	}
	for name := range b {
		if _, ok := a[name]; !ok {
			t.Errorf("%s only in the second run", name)
		}
	}
	if objects == 0 {
		t.Error("no S3 objects written")
	}
}

// TestCoalescingKeepsOutput: holding steady flows' packets back and handing
// them to the dataplane in trains (traffic/hold.go) writes the same bytes
// as handing over every packet when it is sent. The cuts hold the demo's
// incidents (NACL and security group rejects, a scan, a DNS flood), the
// 50-ENI day's peak (NAT, ALB, many exchanges per connection) and its
// 5 GB upload through NAT (one chunk a second: held trains released by
// their deadline rather than by the conversation).
func TestCoalescingKeepsOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("runs five simulated hours twice")
	}
	demoCut := func(t *testing.T) (*traffic.Scenario, *vpc.Topology) {
		return shortScenario(t, 2*time.Hour, 75*time.Minute)
	}
	for _, tc := range []struct {
		name string
		load func(t *testing.T) (*traffic.Scenario, *vpc.Topology)
	}{
		{"demo", demoCut},
		{"vpc50-peak", func(t *testing.T) (*traffic.Scenario, *vpc.Topology) {
			return vpc50Scenario(t, 50*time.Minute, 15*time.Minute)
		}},
		{"vpc50-exfiltration", func(t *testing.T) (*traffic.Scenario, *vpc.Topology) {
			return vpc50Scenario(t, 20*time.Hour+14*time.Minute, 20*time.Minute)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var trees []map[string][]byte
			var held [2]int64
			for i, noCoalesce := range []bool{true, false} {
				sc, topo := tc.load(t)
				dir := filepath.Join(t.TempDir(), "data")
				res, err := RunScenario(context.Background(), sc, topo, RunOptions{DataDir: dir, NoCoalesce: noCoalesce})
				if err != nil {
					t.Fatal(err)
				}
				if res.Traffic.HeldDropped != 0 {
					t.Errorf("noCoalesce=%v: %d held packets were not delivered when handed over", noCoalesce, res.Traffic.HeldDropped)
				}
				held[i] = res.Traffic.Held
				trees = append(trees, readTree(t, dir))
			}
			if held[0] != 0 || held[1] == 0 {
				t.Errorf("packets held: %d without coalescing, %d with; want 0 and some", held[0], held[1])
			}
			sameTrees(t, trees[0], trees[1])
		})
	}
}

var digits = regexp.MustCompile(`[0-9]+(?:[.,][0-9]+)*`)

// TestSummaryGolden checks the shape of the demo summary: its sections and
// lines, with numbers masked.
func TestSummaryGolden(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, err := Demo(context.Background(), DemoOptions{DataDir: dir, Duration: 3*time.Hour + 20*time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(strings.NewReader(strings.ReplaceAll(buf.String(), dir, "DATA")))
	for sc.Scan() {
		line := digits.ReplaceAllString(sc.Text(), "N")
		line = regexp.MustCompile(`fl-[0-9a-fN]+`).ReplaceAllString(line, "fl-X")
		out.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	got := out.String()
	golden := "testdata/summary.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("summary shape changed (-update to accept):\n%s", lineDiff(got, string(want)))
	}
	for _, section := range []string{"Top 10 talkers by bytes", "Top rejected sources", "Incidents injected", "Dig further", "vpcflow query sql --data"} {
		if !strings.Contains(buf.String(), section) {
			t.Errorf("summary lacks %q", section)
		}
	}
}

func lineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	var b strings.Builder
	for i := 0; i < max(len(g), len(w)); i++ {
		var x, y string
		if i < len(g) {
			x = g[i]
		}
		if i < len(w) {
			y = w[i]
		}
		if x != y {
			fmt.Fprintf(&b, "line %d\n  got:  %s\n  want: %s\n", i+1, x, y)
		}
	}
	return b.String()
}
