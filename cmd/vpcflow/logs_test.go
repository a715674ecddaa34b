package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const sampleFile = "../../internal/flow/testdata/sample.log.gz"

func runLogs(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := newLogsCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestLogsReadOutputs(t *testing.T) {
	text, _, err := runLogs(t, "read", sampleFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) != 400 || !strings.HasPrefix(lines[0], "2 ") {
		t.Fatalf("text: %d lines, first %q", len(lines), lines[0])
	}
	csv, _, err := runLogs(t, "read", "--output", "csv", sampleFile, sampleFile)
	if err != nil {
		t.Fatal(err)
	}
	csvLines := strings.Split(strings.TrimSuffix(csv, "\n"), "\n")
	if len(csvLines) != 801 || csvLines[0] != "version,account-id,interface-id,srcaddr,dstaddr,srcport,dstport,protocol,packets,bytes,start,end,action,log-status" {
		t.Errorf("csv: %d lines, header %q (one header for two files of one format)", len(csvLines), csvLines[0])
	}
	js, _, err := runLogs(t, "read", "-O", "json", sampleFile)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(strings.TrimSuffix(js, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || len(m) != 14 {
			t.Fatalf("json line %d %q: %v", i+1, l, err)
		}
	}
	table, _, err := runLogs(t, "read", "-O", "table", sampleFile)
	if err != nil || !strings.HasPrefix(table, "version  account-id") {
		t.Errorf("table: %v %.80q", err, table)
	}
}

func TestLogsConvertRoundTrip(t *testing.T) {
	dir := t.TempDir()
	pq := filepath.Join(dir, "x.log.parquet")
	gz := filepath.Join(dir, "y.log.gz")
	if _, _, err := runLogs(t, "convert", "--to", "parquet", "-o", pq, sampleFile); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runLogs(t, "convert", "--to", "text", "-o", gz, pq); err != nil {
		t.Fatal(err)
	}
	want, _, _ := runLogs(t, "read", "--header", sampleFile)
	got, _, err := runLogs(t, "read", "--header", gz)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("text → parquet → text (-got +want):\n%.2000s", diff)
	}
	// the S3-style object starts with the header line
	plain, _, _ := runLogs(t, "convert", "--to", "text", pq)
	if !strings.HasPrefix(plain, "version account-id interface-id srcaddr") {
		t.Errorf("text object: %.100q", plain)
	}
}

func TestLogsReadErrorsAndLenient(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.log")
	os.WriteFile(bad, []byte("2 123 eni-1 1.2.3.4 5.6.7.8 22 22 6 1 1 1 1 ACCEPT OK\n2 123 eni-1 1.2.3.4 5.6.7.8 22 22 6 1 1 1 1 ACCEPTED OK\n"), 0o644)
	_, _, err := runLogs(t, "read", bad)
	if err == nil || !strings.HasPrefix(err.Error(), bad+":2:45: field action:") {
		t.Errorf("strict err = %v", err)
	}
	out, stderr, err := runLogs(t, "read", "--lenient", bad)
	if err != nil || strings.Count(out, "\n") != 1 || !strings.Contains(stderr, "skipped 1 malformed line(s)") {
		t.Errorf("lenient: %v %q %q", err, out, stderr)
	}
	_, _, err = runLogs(t, "read", "--format", "${srcaddr} ${nope}", bad)
	if err == nil || !strings.Contains(err.Error(), `offset 11: unknown field: "nope"`) {
		t.Errorf("format err = %v", err)
	}
	out, _, err = runLogs(t, "read", "--format", "srcaddr dstaddr", "--output", "csv", writeTemp(t, dir, "1.1.1.1 ::1\n"))
	if err != nil || out != "srcaddr,dstaddr\n1.1.1.1,::1\n" {
		t.Errorf("header-style --format: %v %q", err, out)
	}
	// A newline after the last gzip member: every record, and a warning
	// on stderr, in each output path.
	gz, err := os.ReadFile(sampleFile)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := runLogs(t, "read", sampleFile)
	if err != nil {
		t.Fatal(err)
	}
	trailing := filepath.Join(dir, "trailing.log.gz")
	os.WriteFile(trailing, append(gz, '\n'), 0o644)
	for _, output := range []string{"text", "table"} {
		got, stderr, err := runLogs(t, "read", "--output", output, trailing)
		if err != nil || !strings.Contains(stderr, "vpcflow: warning: ") || !strings.Contains(stderr, "trailing data") {
			t.Errorf("--output %s, trailing newline: %v, stderr %q", output, err, stderr)
		}
		if output == "text" && got != want {
			t.Errorf("trailing newline: %d bytes of records, want %d", len(got), len(want))
		}
	}
}

func writeTemp(t *testing.T, dir, content string) string {
	t.Helper()
	p := filepath.Join(dir, "t.log")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLogsReadDirectory(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "AWSLogs", "123456789012", "vpcflowlogs", "us-east-1", "2026", "11", "23")
	os.MkdirAll(sub, 0o755)
	data, _ := os.ReadFile(sampleFile)
	os.WriteFile(filepath.Join(sub, "a.log.gz"), data, 0o644)
	os.WriteFile(filepath.Join(sub, "b.log.gz"), data, 0o644)
	os.WriteFile(filepath.Join(sub, "notes.txt"), []byte("x"), 0o644)
	out, _, err := runLogs(t, "read", dir)
	if err != nil || strings.Count(out, "\n") != 800 {
		t.Errorf("directory read: %v, %d lines", err, strings.Count(out, "\n"))
	}
	if _, _, err := runLogs(t, "read", t.TempDir()); err == nil {
		t.Error("empty directory: no error")
	}
}
