package troubleshoot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vpcflow/internal/flow"
	"vpcflow/internal/flowfile"
)

func TestReadDir(t *testing.T) {
	dir := t.TempDir()
	day := filepath.Join(dir, "bucket", "AWSLogs", "123456789010", "vpcflowlogs", "us-east-1", "2015", "05", "29")
	if err := os.MkdirAll(day, 0o755); err != nil {
		t.Fatal(err)
	}
	// The spec §7.3 ping, as a text object with its header line ...
	text := flow.DefaultFormat.Header() + "\n" +
		"2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 0 1 4 336 1432917027 1432917142 ACCEPT OK\n"
	if err := os.WriteFile(filepath.Join(day, "a.log"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	// ... and its reply as a Parquet object.
	reply, err := flow.DecodeLine(flow.DefaultFormat, "2 123456789010 eni-1235b8ca123456789 172.31.16.139 203.0.113.12 0 0 1 4 336 1432917094 1432917142 REJECT OK")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(day, "b.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := flowfile.NewParquetWriter(f, flow.DefaultFormat)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&reply); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	d, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Files != 2 || len(d.Records) != 2 {
		t.Fatalf("files %d records %d", d.Files, len(d.Records))
	}
	rep := Diagnose(d.Records, Options{})
	if len(rep.Blocked) != 1 || rep.Blocked[0].Seed != 2 {
		t.Errorf("blocked %+v", rep.Blocked)
	}
	// A malformed line names its file and line.
	if err := os.WriteFile(filepath.Join(day, "c.log"), []byte("2 123456789010 eni-1 bad\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadDir(dir); err == nil || !strings.Contains(err.Error(), "c.log") || !strings.Contains(err.Error(), ":1") {
		t.Errorf("error = %v", err)
	}
}

// A whole data directory reads as its S3 objects: the log store's segments
// and the hidden spool are not flow log objects.
func TestReadDataDirectory(t *testing.T) {
	dir := t.TempDir()
	day := filepath.Join(dir, "vpcflow-logs", "AWSLogs", "123456789010", "vpcflowlogs", "us-east-1", "2015", "05", "29")
	for _, d := range []string{day, filepath.Join(dir, "cloudwatch-logs"), filepath.Join(dir, ".spool", "fl-1", "open")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		filepath.Join(day, "a.log"): flow.DefaultFormat.Header() + "\n" +
			"2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 0 1 4 336 1432917027 1432917142 ACCEPT OK\n",
		filepath.Join(day, ".b.log.gz.tmp"):                         "partial",
		filepath.Join(dir, "cloudwatch-logs", "seg-00000001.log"):   "VLB1\x00binary segment",
		filepath.Join(dir, ".spool", "fl-1", "open", "journal.log"): "not a flow log",
	}
	for p, body := range files {
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Files != 1 || len(d.Records) != 1 {
		t.Errorf("files %d records %d, want the one S3 object", d.Files, len(d.Records))
	}
	// A file named explicitly is read whatever its name.
	if d, err := ReadDir(filepath.Join(day, "a.log")); err != nil || len(d.Records) != 1 {
		t.Errorf("explicit file: %v", err)
	}
}
