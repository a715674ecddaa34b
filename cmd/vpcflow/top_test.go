package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"vpcflow/internal/flow"
	"vpcflow/internal/logstore"
)

// analysisLines are default-format records: 12 SSH/RDP rejects from
// 203.0.113.9 within an hour, 2 from 198.51.100.7, and HTTPS traffic.
func analysisLines() []string {
	var out []string
	for i := range 12 {
		port := 22
		if i%2 == 1 {
			port = 3389
		}
		s := 1700000000 + i*60
		out = append(out, fmt.Sprintf("2 123456789010 eni-aaa 203.0.113.9 10.0.1.5 %d %d 6 1 40 %d %d REJECT OK", 40000+i, port, s, s+60))
	}
	for i := range 2 {
		s := 1700000000 + i*60
		out = append(out, fmt.Sprintf("2 123456789010 eni-bbb 198.51.100.7 10.0.1.6 %d 22 6 1 40 %d %d REJECT OK", 41000+i, s, s+60))
	}
	out = append(out, "2 123456789010 eni-aaa 10.0.1.5 10.0.2.9 40100 443 6 10 4000 1700000000 1700000060 ACCEPT OK")
	return out
}

// writeAnalysisData writes the lines as one S3 text object under dir.
func writeAnalysisData(t *testing.T, dir string) {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	fmt.Fprintln(zw, flow.DefaultFormat.Header())
	for _, l := range analysisLines() {
		fmt.Fprintln(zw, l)
	}
	zw.Close()
	p := filepath.Join(dir, "flowlogs", "AWSLogs", "123456789010", "vpcflowlogs", "us-east-1", "2023", "11", "14",
		"123456789010_vpcflowlogs_us-east-1_fl-0123456789abcdef0_20231114T2210Z_0badf00d.log.gz")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func runRoot(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	return out.String(), err
}

const rejectedRule = `{
  "Schema": {"Name": "CloudWatchLogRule", "Version": 1},
  "LogGroupNames": ["/vpc/*"],
  "LogFormat": "CLF",
  "Fields": {"4": "srcaddr", "8": "protocol", "13": "action"},
  "Contribution": {"Keys": ["srcaddr"], "Filters": [{"Match": "action", "In": ["REJECT"]}]},
  "AggregateOn": "Count"
}`

func TestTopCommand(t *testing.T) {
	data := t.TempDir()
	writeAnalysisData(t, data)
	rule := filepath.Join(t.TempDir(), "rule.json")
	os.WriteFile(rule, []byte(rejectedRule), 0o644)

	out, err := runRoot(t, "top", "--rule", rule, "--data", data, "--period", "1h", "-o", "text")
	if err != nil {
		t.Fatal(err)
	}
	want := `overall events=15 matched=14 unique=2
  1 srcaddr=203.0.113.9 value=12
  2 srcaddr=198.51.100.7 value=2
period 2023-11-14T22:00:00Z unique=2 total=14
  1 srcaddr=203.0.113.9 value=12
  2 srcaddr=198.51.100.7 value=2
`
	if out != want {
		t.Errorf("s3 objects:\n%s\nwant\n%s", out, want)
	}

	// The same over the log store, where the rule's wildcard picks the group.
	st, err := logstore.Open(logstore.Config{Dir: filepath.Join(data, "cloudwatch-logs"), NoSync: true, SegmentBytes: 1 << 20}, logstore.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	var evs []logstore.Event
	for _, l := range analysisLines() {
		r, err := flow.DecodeLine(flow.DefaultFormat, l)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, logstore.Event{LogGroup: "/vpc/flowlogs", LogStream: r.InterfaceID + "-all", Timestamp: r.Start * 1000, Message: l})
		evs = append(evs, logstore.Event{LogGroup: "/other", LogStream: "x", Timestamp: r.Start * 1000, Message: l})
	}
	if err := st.Append(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	st.Close()
	out, err = runRoot(t, "top", "--rule", rule, "--data", data, "--period", "1h", "-o", "text")
	if err != nil {
		t.Fatal(err)
	}
	if out != want {
		t.Errorf("log store:\n%s\nwant\n%s", out, want)
	}
	out, err = runRoot(t, "top", "--rule", rule, "--data", data, "--top", "1")
	if err != nil || !strings.Contains(out, "1     203.0.113.9  12") {
		t.Errorf("table: %v\n%s", err, out)
	}

	os.WriteFile(rule, []byte(`{"Schema": {"Name": "CloudWatchLogRule", "Version": 1},`), 0o644)
	if _, err := runRoot(t, "top", "--rule", rule, "--data", data); err == nil || !strings.Contains(err.Error(), "rule: line 1, column") {
		t.Errorf("bad rule: %v", err)
	}
}

func TestAlarmsCommand(t *testing.T) {
	data := t.TempDir()
	writeAnalysisData(t, data)
	notes := filepath.Join(t.TempDir(), "notes.jsonl")
	cfg, err := os.ReadFile("../../internal/alarm/testdata/ssh-rdp-reject.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := strings.ReplaceAll(string(cfg), "./alarm-notifications.jsonl", notes)
	// Keep only the file subscriber: no network in this test.
	c = strings.Replace(c, "      - protocol: http\n        endpoint: http://127.0.0.1:9000/sns\n", "", 1)
	path := filepath.Join(t.TempDir(), "alarms.yaml")
	os.WriteFile(path, []byte(c), 0o644)

	out, err := runRoot(t, "alarms", "check", path)
	if err != nil || !strings.Contains(out, "1 metric filters, 1 alarms, 1 topics: OK") {
		t.Fatalf("check: %v\n%s", err, out)
	}
	out, err = runRoot(t, "alarms", "evaluate", "--config", path, "--data", data, "--notify")
	if err != nil {
		t.Fatal(err)
	}
	// The evaluation runs on past the last event for as long as CloudWatch
	// would still look back at it, so the alarm is seen to clear.
	for _, want := range []string{
		"15 events, 14 metric filter matches, 3 state changes",
		"2023-11-14T22:14:00Z  ssh-rdp-reject  INSUFFICIENT_DATA  OK     1/1",
		"2023-11-14T23:00:00Z  ssh-rdp-reject  OK                 ALARM  1/1",
		"[14.0 (14/11/23 22:00:00)]",
		"2023-11-15T02:00:00Z  ssh-rdp-reject  ALARM              OK     1/1",
		"ssh-rdp-reject  OK     2023-11-15T02:00:00Z",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	b, _ := os.ReadFile(notes)
	if n := strings.Count(string(b), "\n"); n != 3 {
		t.Errorf("%d notifications, want 3 (OK, ALARM, OK):\n%s", n, b)
	}
	if _, err := runRoot(t, "alarms", "check", filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("missing config accepted")
	}
}
