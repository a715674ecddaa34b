//go:build cgo

package main

import (
	"strings"
	"testing"
)

func TestQuerySQLCommand(t *testing.T) {
	data := t.TempDir()
	writeAnalysisData(t, data)
	out, err := runRoot(t, "query", "sql", "--data", data, "-o", "csv",
		"SELECT srcaddr, count(*) AS n FROM vpc_flow_logs WHERE action = 'REJECT' GROUP BY srcaddr ORDER BY n DESC")
	if err != nil {
		t.Fatal(err)
	}
	if want := "srcaddr,n\n203.0.113.9,12\n198.51.100.7,2\n"; out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	out, err = runRoot(t, "query", "sql", "--data", data, "-o", "json", "SELECT date, day_of_week(date) AS dow FROM vpc_flow_logs LIMIT 1")
	if err != nil || out != "[\n  {\"date\": \"2023-11-14\", \"dow\": 2}\n]\n" {
		t.Errorf("json: %v\n%q", err, out)
	}
	if _, err := runRoot(t, "query", "sql", "--data", data, "SELECT * FROM read_csv('/etc/passwd')"); err == nil ||
		!strings.Contains(err.Error(), "Permission Error") {
		t.Errorf("sandbox: %v", err)
	}
	if _, err := runRoot(t, "query", "sql", "--data", data, "-o", "xml", "SELECT 1"); err == nil {
		t.Error("bad output accepted")
	}
}
