package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// runCmd executes a command with captured output.
func runCmd(t *testing.T, cmd *cobra.Command, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

// writeScenario writes a 20-minute scenario over the small test VPC with an
// S3 flow log (ALL) and a CloudWatch Logs flow log (REJECT).
func writeScenario(t *testing.T) string {
	t.Helper()
	topo, err := filepath.Abs("../../internal/traffic/testdata/small-vpc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "scenario.yaml")
	body := `name: cli
topology: ` + topo + `
start: 2026-11-20T10:00:00Z
duration: 20m
seed: 11
flow_logs:
  - {resource: vpc-0a1b2c3d4e5f60718, traffic_type: ALL, destination: s3, log_destination: "arn:aws:s3:::cli-bucket"}
  - {resource: vpc-0a1b2c3d4e5f60718, traffic_type: REJECT, destination: cloud-watch-logs, log_group: /cli/rejects, max_aggregation_interval: 60}
workloads:
  - {name: https, protocol: tcp, clients: ["internet:20"], servers: ["web-1:public"], port: 443, rate: 1/s}
incidents:
  - {pattern: ssh-brute-force, from: ["internet:5"], targets: ["web-1:public"], start: 5m, duration: 5m, rate: 1/s}
`
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func tree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		m[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSimulateCLI runs `vpcflow simulate` end to end twice: the summary
// names records, objects, bytes and rejects by layer; nothing is written to
// a non-terminal stderr (no progress bar); the same seed gives the same
// bytes; the objects are readable by `vpcflow logs read`.
func TestSimulateCLI(t *testing.T) {
	scenario := writeScenario(t)
	var trees []map[string][]byte
	var outs []string
	for range 2 {
		dir := filepath.Join(t.TempDir(), "out")
		out, stderr, err := runCmd(t, newSimulateCmd(), "--scenario", scenario, "--out", dir)
		if err != nil {
			t.Fatal(err)
		}
		if stderr != "" {
			t.Errorf("stderr is not a terminal, yet got %q", stderr)
		}
		for _, want := range []string{`Simulated 20m0s of "cli" (seed 11)`, "Written to " + dir, "S3 layout:", " objects, ", " records (", "CloudWatch Logs:  group /cli/rejects", "Rejected packets by layer: "} {
			if !strings.Contains(out, want) {
				t.Errorf("summary lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, " 0 records (") {
			t.Errorf("no records written:\n%s", out)
		}
		trees = append(trees, tree(t, dir))
		// Elapsed wall time is the only line allowed to differ.
		outs = append(outs, strings.Join(strings.Split(strings.ReplaceAll(out, dir, "DIR"), "\n")[1:], "\n"))
		read, _, err := runLogs(t, "read", "-O", "csv", filepath.Join(dir, "cli-bucket"))
		if err != nil || strings.Count(read, "\n") < 10 || !strings.Contains(read, ",REJECT,OK") {
			t.Errorf("logs read of the bucket: %v\n%.500s", err, read)
		}
	}
	a, b := trees[0], trees[1]
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("runs wrote %d and %d files", len(a), len(b))
	}
	for name, content := range a {
		if !bytes.Equal(content, b[name]) {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
	}
	if outs[0] != outs[1] {
		t.Errorf("summaries differ:\n%s\n---\n%s", outs[0], outs[1])
	}
	// A scenario that names no flow log gets one per VPC to S3 rather than
	// writing nothing.
	dir := filepath.Join(t.TempDir(), "out")
	out, _, err := runCmd(t, newSimulateCmd(), "--scenario", "../../internal/traffic/testdata/small-scenario.yaml", "--out", dir)
	if err != nil || !strings.Contains(out, "flow logs [fl-") || strings.Contains(out, " 0 records (") {
		t.Errorf("scenario without flow_logs: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "vpcflow-logs", "AWSLogs", "123456789012", "vpcflowlogs", "us-east-1")); err != nil {
		t.Errorf("default flow log wrote no S3 objects: %v", err)
	}
	// A run that fails on its flow logs leaves a directory the next run
	// reuses.
	badLog := filepath.Join(t.TempDir(), "bad-flow-log.yaml")
	body, _ := os.ReadFile(scenario)
	os.WriteFile(badLog, bytes.Replace(body, []byte("arn:aws:s3:::cli-bucket"), []byte("arn:aws:s3:::b1"), 1), 0o644)
	dir = filepath.Join(t.TempDir(), "out")
	if _, _, err := runCmd(t, newSimulateCmd(), "--scenario", badLog, "--out", dir); err == nil {
		t.Error("flow log to bucket b1 accepted")
	}
	if _, _, err := runCmd(t, newSimulateCmd(), "--scenario", scenario, "--out", dir); err != nil {
		t.Errorf("rerun into the directory of a failed run: %v", err)
	}
	// Bad input names the file and position.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("start: 2026-11-20T00:00:00Z\nduration: 1h\nworkloadz: []\n"), 0o644)
	if _, _, err := runCmd(t, newSimulateCmd(), "--scenario", bad, "--out", t.TempDir()); err == nil || !strings.Contains(err.Error(), "bad.yaml:3:1: unknown field \"workloadz\"") {
		t.Errorf("bad scenario: %v", err)
	}
	if _, _, err := runCmd(t, newSimulateCmd(), "--out", t.TempDir()); err == nil {
		t.Error("missing --scenario accepted")
	}
}

// TestReplayCLI runs `vpcflow replay` on a committed capture fixture: the
// report names packets, skipped frames with reasons and positions, the
// dataplane outcome and the records; stderr stays empty off a terminal.
func TestReplayCLI(t *testing.T) {
	topo := "../../internal/demo/testdata/bench-topology.yaml"
	// Bad flow log flags fail before --out is created.
	for _, bad := range [][]string{
		{"--max-aggregation-interval", "61"},
		{"--traffic-type", "FOO"},
		{"--log-format", "${nope}"},
		{"--destination", "ftp"},
	} {
		dir := filepath.Join(t.TempDir(), "out")
		args := append([]string{"--topology", topo, "--pcap", "../../internal/traffic/capture/testdata/vlan-ipv6-arp.pcapng", "--out", dir}, bad...)
		if _, _, err := runCmd(t, newReplayCmd(), args...); err == nil {
			t.Errorf("%v accepted", bad)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%v: --out created before the flags were checked", bad)
		}
	}
	// A 60-byte frame whose IP header claims 65,535 bytes: counted as the
	// 46 IP bytes the frame carries, and said so.
	frame := make([]byte, 60)
	copy(frame[12:], []byte{0x08, 0x00, 0x45, 0, 0xff, 0xff, 0, 0, 0x40, 0, 64, 6, 0, 0, 198, 18, 0, 1, 10, 0, 10, 10,
		0x9c, 0x40, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff})
	rec := []byte{0x00, 0x6f, 0x1d, 0x69, 0, 0, 0, 0, 60, 0, 0, 0, 60, 0, 0, 0} // 60 bytes captured of 60
	hdr := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}
	long := filepath.Join(t.TempDir(), "long-ip.pcap")
	os.WriteFile(long, append(append(hdr, rec...), frame...), 0o644)
	out, _, err := runCmd(t, newReplayCmd(), "--topology", topo, "--pcap", long, "--out", filepath.Join(t.TempDir(), "out"))
	if err != nil || !strings.Contains(out, "Replayed 1 packets (46 bytes)") || !strings.Contains(out, "1 packets claimed an IP length longer than their frame") {
		t.Errorf("IP length beyond the frame: %v\n%s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "out")
	out, stderr, err := runCmd(t, newReplayCmd(), "--topology", topo, "--pcap", "../../internal/traffic/capture/testdata/vlan-ipv6-arp.pcapng", "--out", dir)
	if err != nil {
		t.Fatal(err)
	}
	if stderr != "" {
		t.Errorf("stderr is not a terminal, yet got %q", stderr)
	}
	for _, want := range []string{
		"Replayed 300 packets (104,699 bytes) from 2026-11-20T09:30:00Z",
		"12 of 312 frames skipped:",
		"not IP (Ethernet payload such as ARP or LLDP)",
		"e.g. packet 25 at byte offset 5680",
		"90 not in the topology",
		"hint: packets whose addresses belong to no interface produce no records",
		"42 records delivered",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// --map moves the capture's server 10.0.11.22 onto the interface that
	// owns 10.0.10.10; the custom format shows it.
	dir2 := filepath.Join(t.TempDir(), "out")
	out, _, err = runCmd(t, newReplayCmd(), "--topology", topo, "--pcap", "../../internal/traffic/capture/testdata/small-ipv4.pcap",
		"--map", "10.0.11.22=eni-0be0c400000000000", "--out", dir2, "--log-format", "${interface-id} ${srcaddr} ${dstaddr} ${packets} ${bytes} ${action} ${flow-direction}")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "packets had an address rewritten by --map") {
		t.Errorf("map not reported:\n%s", out)
	}
	read, _, err := runLogs(t, "read", "-O", "csv", dir2)
	if err != nil || !strings.HasPrefix(read, "interface-id,srcaddr,dstaddr,packets,bytes,action,flow-direction\n") ||
		!strings.Contains(read, "eni-0be0c400000000000,10.0.10.10,") || !strings.Contains(read, ",ACCEPT,egress") || strings.Contains(read, "10.0.11.22") {
		t.Errorf("mapped replay output: %v\n%.600s", err, read)
	}
	// A map across IP versions is refused up front.
	if _, _, err := runCmd(t, newReplayCmd(), "--topology", topo, "--pcap", "../../internal/traffic/capture/testdata/small-ipv4.pcap",
		"--map", "10.0.11.22=2001:db8::1", "--out", filepath.Join(t.TempDir(), "o")); err == nil || !strings.Contains(err.Error(), "different IP versions") {
		t.Errorf("IPv4 mapped to IPv6: %v", err)
	}
	// A capture that is not pcap fails with a clear message.
	notPcap := filepath.Join(t.TempDir(), "x.pcap")
	os.WriteFile(notPcap, []byte("hello, world"), 0o644)
	if _, _, err := runCmd(t, newReplayCmd(), "--topology", topo, "--pcap", notPcap, "--out", filepath.Join(t.TempDir(), "o")); err == nil || !strings.Contains(err.Error(), "not a pcap or pcapng file") {
		t.Errorf("not a pcap: %v", err)
	}
	if _, _, err := runCmd(t, newReplayCmd(), "--topology", topo, "--pcap", notPcap, "--map", "nope", "--out", filepath.Join(t.TempDir(), "o")); err == nil || !strings.Contains(err.Error(), "--map") {
		t.Errorf("bad --map: %v", err)
	}
}

// TestDemoCLI runs `vpcflow demo` on a short slice of the bundled day: it
// prints records and rejects, top talkers, top rejected sources and the SQL
// to dig further, and no progress off a terminal.
func TestDemoCLI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vpcflow-data")
	out, stderr, err := runCmd(t, newDemoCmd(), "--out", dir, "--duration", "2h20m")
	if err != nil {
		t.Fatal(err)
	}
	if stderr != "" {
		t.Errorf("stderr is not a terminal, yet got %q", stderr)
	}
	for _, want := range []string{"vpcflow demo: three-tier-shop-day", "Written to " + dir, "S3 layout:", " REJECT, ",
		"Top 10 talkers by bytes", "Top rejected sources:", "185.220.101.77", "port-scan-from-internet",
		"Dig further:", "vpcflow query sql --data " + dir} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"topology.yaml", "scenario.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s not written next to the data: %v", f, err)
		}
	}
	// A directory that is not a vpcflow data directory is never emptied.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "precious.txt"), []byte("x"), 0o644)
	if _, _, err := runCmd(t, newDemoCmd(), "--out", other, "--duration", "1m"); err == nil || !strings.Contains(err.Error(), "not a vpcflow data directory") {
		t.Errorf("non-data directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(other, "precious.txt")); err != nil {
		t.Errorf("precious.txt removed: %v", err)
	}
	// Nor one whose only folder shares the log store's name.
	other = t.TempDir()
	os.MkdirAll(filepath.Join(other, "cloudwatch-logs"), 0o755)
	os.WriteFile(filepath.Join(other, "cloudwatch-logs", "exported.json"), []byte("x"), 0o644)
	if _, _, err := runCmd(t, newDemoCmd(), "--out", other, "--duration", "1m"); err == nil || !strings.Contains(err.Error(), "not a vpcflow data directory") {
		t.Errorf("directory with a cloudwatch-logs folder: %v", err)
	}
	if _, err := os.Stat(filepath.Join(other, "cloudwatch-logs", "exported.json")); err != nil {
		t.Errorf("exported.json removed: %v", err)
	}
}

// TestCustomFormatDelivery runs flow logs whose custom formats leave out
// ${interface-id}, ${start} and ${end}: AWS still writes one CloudWatch
// Logs stream per interface with events timestamped at the record's start
// (spec §5.2), and S3 files named by the 5-minute bucket of the records'
// end (§5.1), the same files as the default format's. The S3 prefixes
// also check that the summary counts objects under a prefix.
func TestCustomFormatDelivery(t *testing.T) {
	topo, err := filepath.Abs("../../internal/traffic/testdata/small-vpc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	scenario := filepath.Join(t.TempDir(), "scenario.yaml")
	body := `name: custom
topology: ` + topo + `
start: 2026-11-20T10:00:00Z
duration: 20m
seed: 11
flow_logs:
  - {resource: vpc-0a1b2c3d4e5f60718, traffic_type: ALL, destination: s3, log_destination: "arn:aws:s3:::bucket/a/", max_aggregation_interval: 60}
  - {resource: vpc-0a1b2c3d4e5f60718, traffic_type: ALL, destination: s3, log_destination: "arn:aws:s3:::bucket/b/c/", max_aggregation_interval: 60, log_format: "${srcaddr} ${dstaddr} ${srcport} ${dstport} ${action}"}
  - {resource: vpc-0a1b2c3d4e5f60718, traffic_type: ALL, destination: cloud-watch-logs, log_group: /custom, max_aggregation_interval: 60, log_format: "${srcaddr} ${dstaddr} ${dstport} ${action}"}
  - {resource: vpc-0a1b2c3d4e5f60718, traffic_type: REJECT, destination: cloud-watch-logs, log_group: /rejects, max_aggregation_interval: 60}
workloads:
  - {name: https, protocol: tcp, clients: ["internet:20"], servers: ["web-1:public"], port: 443, rate: 2/s}
  - {name: app, protocol: tcp, clients: ["web-1"], servers: ["app-1"], port: 8080, rate: 1/s}
`
	if err := os.WriteFile(scenario, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	out, _, err := runCmd(t, newSimulateCmd(), "--scenario", scenario, "--out", dir)
	if err != nil {
		t.Fatal(err)
	}
	// S3: the same 5-minute files under both prefixes.
	files := map[string][]string{}
	for name := range tree(t, filepath.Join(dir, "bucket")) {
		prefix, rest, _ := strings.Cut(name, "/AWSLogs/")
		parts := strings.Split(filepath.Base(rest), "_")
		if len(parts) < 5 {
			t.Fatalf("object name %s", name)
		}
		files[prefix] = append(files[prefix], parts[4]) // ..._<end bucket>_<hash>.log.gz
	}
	a, b := files["a"], files["b/c"]
	slices.Sort(a)
	slices.Sort(b)
	if len(a) < 4 || !slices.Equal(a, b) {
		t.Errorf("S3 files by bucket: default format %v, custom format without ${end} %v", a, b)
	}
	if want := fmt.Sprintf("S3 layout:        %d objects", len(a)+len(b)); !strings.Contains(out, want) {
		t.Errorf("summary lacks %q:\n%s", want, out)
	}
	// CloudWatch Logs: a stream per interface, events at the records' start.
	ins, _, err := runCmd(t, newQueryInsightsCmd(), "--data", dir, "--log-group", "/custom", "--output", "csv",
		"stats count(*) as n, min(@timestamp) as first by @logStream | sort @logStream")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(ins), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "eni-0000000000000app1-all,") || !strings.HasPrefix(lines[2], "eni-0000000000000web1-all,") ||
		!strings.Contains(ins, ",2026-11-20 10:00:") {
		t.Fatalf("streams of the custom-format log group:\n%s", ins)
	}
	// The summary counts each group's own events.
	events := 0
	for _, l := range lines[1:] {
		n, err := strconv.Atoi(strings.Split(l, ",")[1])
		if err != nil {
			t.Fatal(err)
		}
		events += n
	}
	if want := fmt.Sprintf("group /custom, 2 streams, %s events\n", fmtInt(int64(events))); !strings.Contains(out, want) {
		t.Errorf("summary lacks %q:\n%s", want, out)
	}
	if strings.Count(out, fmt.Sprintf(" %s events\n", fmtInt(int64(events)))) != 1 {
		t.Errorf("the REJECT group reports the ALL group's events:\n%s", out)
	}
}
