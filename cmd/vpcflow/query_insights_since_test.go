package main

import (
	"bytes"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"vpcflow/internal/logstore"
)

// --since counts back from now; several --log-group flags query several
// groups, and @log tells their events apart.
func TestQueryInsightsSinceAndGroups(t *testing.T) {
	data := t.TempDir()
	st, err := logstore.Open(logstore.Config{Dir: filepath.Join(data, "cloudwatch-logs"), NoSync: true}, logstore.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	msg := func(at time.Time, action string) string {
		s := at.Unix()
		return "2 123456789012 eni-1 10.0.0.1 10.0.0.9 40000 22 6 1 40 " + strconv.FormatInt(s, 10) + " " + strconv.FormatInt(s+60, 10) + " " + action + " OK"
	}
	var evs []logstore.Event
	for _, e := range []struct {
		group string
		at    time.Time
	}{{"/a", now.Add(-10 * time.Minute)}, {"/a", now.Add(-3 * time.Hour)}, {"/b", now.Add(-20 * time.Minute)}, {"/c", now.Add(-5 * time.Minute)}} {
		evs = append(evs, logstore.Event{LogGroup: e.group, LogStream: "eni-1-all", Timestamp: e.at.UnixMilli(), Message: msg(e.at, "REJECT")})
	}
	if err := st.Append(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	st.Close()
	cmd := newQueryInsightsCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs([]string{"--data", data, "--since", "1h", "--log-group", "/a", "--log-group", "/b", "-o", "csv",
		`stats count(*) as n by @log | sort @log`})
	if err := cmd.ExecuteContext(t.Context()); err != nil {
		t.Fatal(err)
	}
	if want := "@log,n\n123456789012:/a,1\n123456789012:/b,1\n"; out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	if !strings.Contains(errb.String(), "records matched 2, scanned 2") {
		t.Errorf("stats: %q", errb.String())
	}
	cmd = newQueryInsightsCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs([]string{"--data", data, "--since", "1h", "--start", "2026-01-01T00:00:00Z", "limit 1"})
	if err := cmd.ExecuteContext(t.Context()); err == nil || !strings.Contains(err.Error(), "either --since or --start/--end") {
		t.Errorf("--since with --start: %v", err)
	}
	cmd = newQueryInsightsCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs([]string{"--data", data, "--log-group", "/a", "--log-group", "/nope", "limit 1"})
	if err := cmd.ExecuteContext(t.Context()); err == nil || !strings.Contains(err.Error(), "log group /nope does not exist") || !strings.Contains(err.Error(), "(groups: /a, /b, /c)") {
		t.Errorf("unknown group: %v", err)
	}
}
