package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// simulate --alarms evaluates metric filters and alarms over the run's
// CloudWatch Logs events: the scenario's SSH brute force (minutes 5-10)
// fires the alarm, and --notify writes the notification to a file topic.
func TestSimulateAlarms(t *testing.T) {
	scenario := writeScenario(t)
	notes := filepath.Join(t.TempDir(), "notes.jsonl")
	cfg := filepath.Join(t.TempDir(), "alarms.yaml")
	if err := os.WriteFile(cfg, []byte(`
metricFilters:
  - filterName: ssh-rejects
    logGroupName: /cli/rejects
    filterPattern: '[version, account, eni, source, destination, srcport, destport="22", protocol="6", packets, bytes, windowstart, windowend, action="REJECT", flowlogstatus]'
    metricTransformations:
      - {metricNamespace: VPCFlowLogs, metricName: SshRejects, metricValue: "1", defaultValue: 0}
alarms:
  - alarmName: ssh-brute-force
    namespace: VPCFlowLogs
    metricName: SshRejects
    statistic: Sum
    period: 300
    evaluationPeriods: 1
    threshold: 10
    comparisonOperator: GreaterThanOrEqualToThreshold
    treatMissingData: notBreaching
    alarmActions: [security]
topics:
  - name: security
    subscriptions: [{protocol: file, endpoint: `+notes+`}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	out, _, err := runCmd(t, newSimulateCmd(), "--scenario", scenario, "--out", dir, "--alarms", cfg, "--notify")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Alarms (evaluated live, once per simulated minute):") {
		t.Fatalf("no alarm report:\n%s", out)
	}
	var alarmLine string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[1] == "ssh-brute-force" && f[3] == "ALARM" {
			alarmLine = l
		}
	}
	if !strings.HasPrefix(alarmLine, "2026-11-20T10:10:00Z  ssh-brute-force  OK ") || !strings.Contains(alarmLine, " 1/1 ") ||
		!strings.Contains(alarmLine, "(20/11/26 10:05:00)") {
		t.Errorf("ALARM transition %q; want at 10:10 (the period 10:05-10:10), notified 1/1:\n%s", alarmLine, out)
	}
	b, err := os.ReadFile(notes)
	if err != nil || !strings.Contains(string(b), `\"NewStateValue\":\"ALARM\"`) {
		t.Errorf("notification file: %v %.300s", err, b)
	}
	if _, _, err := runCmd(t, newSimulateCmd(), "--scenario", scenario, "--out", filepath.Join(t.TempDir(), "x"), "--notify"); err == nil {
		t.Error("--notify without --alarms accepted")
	}
	if _, _, err := runCmd(t, newSimulateCmd(), "--scenario", scenario, "--out", filepath.Join(t.TempDir(), "x"), "--alarms", filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("missing --alarms file accepted")
	}
}
