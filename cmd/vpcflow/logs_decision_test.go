package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An S3 text object of a flow log with the vpcflow extension fields (as the
// simulator writes it): the ping of spec §7.3 with the deciding NACL rule.
const decisionObject = `version interface-id srcaddr dstaddr protocol packets action log-status vpcflow-decision-layer vpcflow-decision-rule
2 eni-0ba5000000000b001 203.0.113.12 10.0.0.30 1 2 ACCEPT OK - -
2 eni-0ba5000000000b001 10.0.0.30 203.0.113.12 1 2 REJECT OK nacl acl-0e00000000000000b/egress/*
2 eni-0ba5000000000b001 - - - - - NODATA - -
`

// TestLogsReadDecisionFields: `logs read` takes the extension fields from
// the header, prints them back unchanged (text, via Parquet too), and JSON
// keys them by name; `diagnose -o annotated` keeps the values the records
// carry instead of guessing without a topology.
func TestLogsReadDecisionFields(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "decisions.log")
	if err := os.WriteFile(src, []byte(decisionObject), 0o644); err != nil {
		t.Fatal(err)
	}
	got, _, err := runLogs(t, "read", "--header", src)
	if err != nil || got != decisionObject {
		t.Errorf("read --header: %v\n got %q\nwant %q", err, got, decisionObject)
	}
	pq := filepath.Join(dir, "decisions.log.parquet")
	if _, _, err := runLogs(t, "convert", "--to", "parquet", "-o", pq, src); err != nil {
		t.Fatal(err)
	}
	if got, _, err := runLogs(t, "read", "--header", pq); err != nil || got != decisionObject {
		t.Errorf("via Parquet: %v\n got %q\nwant %q", err, got, decisionObject)
	}
	js, _, err := runLogs(t, "read", "-O", "json", src)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(js, "\n"), "\n")
	var reject, accept map[string]any
	if len(lines) != 3 || json.Unmarshal([]byte(lines[1]), &reject) != nil || json.Unmarshal([]byte(lines[0]), &accept) != nil {
		t.Fatalf("json: %q", js)
	}
	if reject["vpcflow-decision-layer"] != "nacl" || reject["vpcflow-decision-rule"] != "acl-0e00000000000000b/egress/*" ||
		accept["vpcflow-decision-layer"] != nil || accept["vpcflow-decision-rule"] != nil {
		t.Errorf("json: %v / %v", reject, accept)
	}
	out, err := runCLI(t, "diagnose", "--data", src, "-o", "annotated")
	if err != nil {
		t.Fatal(err)
	}
	if out != decisionObject {
		t.Errorf("diagnose -o annotated:\n got %q\nwant %q", out, decisionObject)
	}
}
