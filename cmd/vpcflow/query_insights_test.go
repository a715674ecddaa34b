package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"vpcflow/internal/flowlog"
	"vpcflow/internal/logstore"
)

func TestQueryInsightsCmd(t *testing.T) {
	data := t.TempDir()
	st, err := logstore.Open(logstore.Config{Dir: filepath.Join(data, "cloudwatch-logs"), NoSync: true}, logstore.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	var evs []logstore.Event
	for i, m := range []string{
		"2 123456789010 eni-1 10.0.0.1 10.0.0.9 1000 22 6 1 40 1700000000 1700000060 REJECT OK",
		"2 123456789010 eni-1 10.0.0.2 10.0.0.9 1001 22 6 1 40 1700000060 1700000120 REJECT OK",
		"2 123456789010 eni-1 10.0.0.1 10.0.0.9 1002 22 6 1 40 1700000120 1700000180 REJECT OK",
		"2 123456789010 eni-1 10.0.0.3 10.0.0.9 1003 443 6 9 900 1700000180 1700000240 ACCEPT OK",
	} {
		evs = append(evs, logstore.Event{LogGroup: "/vpc/flowlogs", LogStream: "eni-1-all",
			Timestamp: (1700000000 + int64(i)*60) * 1000, IngestionTime: (1700000100 + int64(i)*60) * 1000, Message: m})
	}
	if err := st.Append(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	st.Close()

	run := func(args ...string) (string, string, error) {
		cmd := newQueryInsightsCmd()
		var out, errb bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&errb)
		cmd.SetArgs(args)
		err := cmd.ExecuteContext(t.Context())
		return out.String(), errb.String(), err
	}
	q := `filter action="REJECT" | stats count(*) as n by srcAddr | sort n desc | limit 10`
	out, stderr, err := run("--data", data, "--log-group", "/vpc/flowlogs", q)
	if err != nil {
		t.Fatal(err)
	}
	want := "srcAddr   n\n10.0.0.1  2\n10.0.0.2  1\n"
	if out != want {
		t.Errorf("table output:\n%s\nwant:\n%s", out, want)
	}
	if !strings.Contains(stderr, "records matched 3, scanned 4") {
		t.Errorf("stderr = %q", stderr)
	}

	out, _, err = run("--data", data, "--output", "csv", "--start", "2023-11-14T22:14:00Z", q)
	if err != nil {
		t.Fatal(err)
	}
	if want := "srcAddr,n\n10.0.0.2,1\n10.0.0.1,1\n"; out != want {
		t.Errorf("csv output:\n%s\nwant:\n%s", out, want)
	}

	out, _, err = run("--data", data, "-o", "json", "--stats=false", "stats sum(bytes) as b")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Status  string
		Results [][]struct{ Field, Value string }
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if res.Status != "Complete" || len(res.Results) != 1 || res.Results[0][0].Value != "1020" {
		t.Errorf("json output: %s", out)
	}

	_, _, err = run("--data", data, "filter action = | limit 1")
	if err == nil || !strings.Contains(err.Error(), "query:1:17:") || !strings.Contains(err.Error(), "\n                ^") {
		t.Errorf("parse error = %v", err)
	}
	if _, _, err = run("--data", t.TempDir(), "limit 1"); err == nil {
		t.Error("no error for a directory without a log store")
	}
}

// A custom-format flow log's fields are discovered when the data directory
// holds the flow log that publishes to the group.
func TestQueryInsightsCustomFormat(t *testing.T) {
	data := t.TempDir()
	fls, err := flowlog.OpenStore(flowlog.StoreConfig{DataDir: data, AccountID: "123456789012", Region: "us-east-1", Seed: 1}, flowlog.StoreDeps{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := fls.Create(flowlog.CreateInput{ResourceType: "VPC", ResourceIDs: []string{"vpc-0a1b2c3d4e5f60718"}, TrafficType: "REJECT",
		LogGroupName: "/vpc/rejects", DeliverLogsPermissionArn: "arn:aws:iam::123456789012:role/fl",
		LogFormat: "${interface-id} ${srcaddr} ${dstport} ${action}"})
	if err != nil || len(out.Unsuccessful) > 0 {
		t.Fatalf("create: %v %+v", err, out)
	}
	st, err := logstore.Open(logstore.Config{Dir: filepath.Join(data, "cloudwatch-logs"), NoSync: true}, logstore.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	var evs []logstore.Event
	for i, m := range []string{"eni-1 198.51.100.7 22 REJECT", "eni-1 198.51.100.7 3389 REJECT", "eni-1 198.51.100.8 22 REJECT"} {
		evs = append(evs, logstore.Event{LogGroup: "/vpc/rejects", LogStream: "eni-1-all", Timestamp: int64(1700000000+i) * 1000, Message: m})
	}
	if err := st.Append(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	st.Close()
	cmd := newQueryInsightsCmd()
	var buf bytes.Buffer
	cmd.SetOut(&buf)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs([]string{"--data", data, `filter dstPort = 22 | stats count(*) as n by srcAddr | sort srcAddr`})
	if err := cmd.ExecuteContext(t.Context()); err != nil {
		t.Fatal(err)
	}
	if want := "srcAddr       n\n198.51.100.7  1\n198.51.100.8  1\n"; buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}
