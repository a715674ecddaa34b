package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vpcflow/internal/logstore"
)

// A metric filter whose log group is not in the store is named in a
// warning rather than silently counting nothing.
func TestAlarmsEvaluateWarnsOfUnknownGroup(t *testing.T) {
	data := t.TempDir()
	st, err := logstore.Open(logstore.Config{Dir: filepath.Join(data, "cloudwatch-logs"), NoSync: true}, logstore.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Append(t.Context(), []logstore.Event{{LogGroup: "/vpcflow/rejects", LogStream: "eni-1-all", Timestamp: 1700000000000,
		Message: "2 123456789012 eni-1 198.51.100.7 10.0.0.5 40000 22 6 1 40 1700000000 1700000060 REJECT OK"}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	cfg := filepath.Join(t.TempDir(), "alarms.yaml")
	if err := os.WriteFile(cfg, []byte(`
metricFilters:
  - filterName: typo
    logGroupName: /vpcflow/reject
    filterPattern: REJECT
    metricTransformations: [{metricNamespace: NS, metricName: Rejects, metricValue: "1"}]
  - filterName: wildcard
    logGroupName: /vpcflow/*
    filterPattern: REJECT
    metricTransformations: [{metricNamespace: NS, metricName: All, metricValue: "1"}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runRoot(t, "alarms", "evaluate", "--config", cfg, "--data", data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `warning: metric filter typo: no log group in the store matches "/vpcflow/reject" (groups: /vpcflow/rejects)`) ||
		strings.Contains(out, "metric filter wildcard") || !strings.Contains(out, "1 events, 1 metric filter matches") {
		t.Errorf("output:\n%s", out)
	}
}
