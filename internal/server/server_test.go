package server

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vpcflow/internal/sigv4"
)

func TestConfig(t *testing.T) {
	cfg, err := LoadConfig("testdata/serve.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Speed != 60 || len(cfg.Credentials) != 1 || !cfg.UI.Open {
		t.Errorf("config = %+v", cfg)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("listen: 0.0.0.0:80\nui:\n  open: true\nspeeed: 2\n"), 0o644)
	if _, err := LoadConfig(bad); err == nil || !strings.Contains(err.Error(), "bad.yaml:4:1: ") || !strings.Contains(err.Error(), "speeed") {
		t.Errorf("unknown key: %v", err)
	}
	os.WriteFile(bad, []byte("listen: 0.0.0.0:80\nui:\n  open: true\n"), 0o644)
	if _, err := LoadConfig(bad); err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Errorf("open UI on a public address: %v", err)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"maxBodyBytes: -1\n", "maxBodyBytes -1: want 0"},
		{"sqlThreads: -2\n", "sqlThreads -2: want 0"},
	} {
		if _, err := ParseConfig([]byte(tc.yaml), "serve.yaml"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error containing %q", tc.yaml, err, tc.want)
		}
	}
}

// startServer runs the server with cfg until stop, which shuts it down
// and fails the test if Run returns an error. It returns the address the
// server listens on and its credentials.
func startServer(t *testing.T, cfg Config) (addr string, creds []sigv4.Credential, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg, Deps{Ready: func(addr string, c []sigv4.Credential) { creds = c; ready <- addr }})
	}()
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("server did not start")
	}
	stop = func() {
		t.Helper()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run returned %v", err)
			}
		case <-time.After(2 * time.Minute):
			t.Fatal("shutdown did not finish")
		}
	}
	return addr, creds, stop
}

// TestServe runs the server on loopback at 3600x, talks to it, stops it,
// and checks that shutdown published what was captured.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Listen, cfg.DataDir, cfg.Speed = "127.0.0.1:0", dir, 3600
	addr, creds, stop := startServer(t, cfg)
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	req, _ := http.NewRequest("POST", "http://"+addr+"/", strings.NewReader("Action=DescribeFlowLogs&Version=2016-11-15"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sigv4.Sign(req, creds[0], "us-east-1", "ec2", time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Count(string(body), "<flowLogId>") != 2 {
		t.Errorf("DescribeFlowLogs: %d %s", resp.StatusCode, body)
	}
	// The bundled alarms see the port scan at 02:10 simulated (2 s here)
	// and notify the file topic in the data directory.
	notes := filepath.Join(dir, "alarm-notifications.jsonl")
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		b, _ := os.ReadFile(notes)
		if strings.Contains(string(b), `\"AlarmName\":\"rejected-packets-high\"`) && strings.Contains(string(b), `\"NewStateValue\":\"ALARM\"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ALARM notification for the port scan in %s: %q", notes, b)
		}
	}
	if code, body := get("/ui/"); code != 200 || !strings.Contains(body, "rejected-packets-high") {
		t.Errorf("dashboard lacks the alarms: %d", code)
	}
	code, metrics := get("/metrics")
	for _, m := range []string{"vpcflow_traffic_packets_total", "vpcflow_aggregate_observations_total",
		"vpcflow_aggregate_records_total", `vpcflow_publish_records_total{destination="cwlogs"`} {
		if code != 200 || !strings.Contains(metrics, m) {
			t.Errorf("metrics: %d, no %s", code, m)
		}
	}
	if code, body := get("/ui/topology"); code != 200 || !strings.Contains(body, "vpc-0a1b2c3d4e5f60718") {
		t.Errorf("ui: %d", code)
	}
	stop()
	var objects int
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".log.gz") && strings.Contains(p, "AWSLogs") {
			objects++
		}
		return nil
	})
	if objects == 0 {
		t.Error("no S3 objects published by shutdown")
	}
	src := newObjectRecords(dir, "cloudwatch-logs")
	first, last, err := src.Span(context.Background())
	if err != nil || first.IsZero() || !last.After(first) {
		t.Errorf("records span %v..%v: %v", first, last, err)
	}
}

// TestInsightsRunnerChecksQueries: StartQuery refuses what the Logs
// Insights parser refuses (MalformedQueryException), limit bounds included.
func TestInsightsRunnerChecksQueries(t *testing.T) {
	var r insightsRunner
	for q, ok := range map[string]bool{"stats count(*) by srcAddr": true, "fieldz @message |||": false, "fields @message | limit 10001": false} {
		if err := r.CheckQuery(q); (err == nil) != ok {
			t.Errorf("%q: %v", q, err)
		}
	}
}
