package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// runLogsIn runs `vpcflow logs ...` with stdin as its standard input.
func runLogsIn(t *testing.T, stdin io.Reader, args ...string) (string, string, error) {
	t.Helper()
	cmd := newLogsCmd()
	var out, errOut bytes.Buffer
	cmd.SetIn(stdin)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

// s3Object is an S3-style text object: the header line, an OK record with
// ICMP "0 0" ports, a NODATA record and an `unknown` account.
const s3Object = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n" +
	"2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 0 1 4 336 1432917027 1432917142 ACCEPT OK\n" +
	"2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA\n" +
	"2 unknown eni-11111111aaaaaaaaa 10.0.0.1 10.0.0.2 443 50000 6 3 180 1431280876 1431280934 REJECT OK\n"

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	io.WriteString(zw, s)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestLogsReadStdinJSON: `logs read --output json -` reads standard input
// (plain or gzip), keys are the AWS field names, integers are numbers,
// strings stay strings (account-id "unknown") and "-" is null.
func TestLogsReadStdinJSON(t *testing.T) {
	for name, in := range map[string][]byte{"plain": []byte(s3Object), "gzip": gzipped(t, s3Object)} {
		t.Run(name, func(t *testing.T) {
			out, _, err := runLogsIn(t, bytes.NewReader(in), "read", "--output", "json", "-")
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != 3 {
				t.Fatalf("%d JSON lines, want 3:\n%s", len(lines), out)
			}
			want := []string{
				`{"version":2,"account-id":"123456789010","interface-id":"eni-1235b8ca123456789","srcaddr":"203.0.113.12","dstaddr":"172.31.16.139","srcport":0,"dstport":0,"protocol":1,"packets":4,"bytes":336,"start":1432917027,"end":1432917142,"action":"ACCEPT","log-status":"OK"}`,
				`{"version":2,"account-id":"123456789010","interface-id":"eni-1235b8ca123456789","srcaddr":null,"dstaddr":null,"srcport":null,"dstport":null,"protocol":null,"packets":null,"bytes":null,"start":1431280876,"end":1431280934,"action":null,"log-status":"NODATA"}`,
				`{"version":2,"account-id":"unknown","interface-id":"eni-11111111aaaaaaaaa","srcaddr":"10.0.0.1","dstaddr":"10.0.0.2","srcport":443,"dstport":50000,"protocol":6,"packets":3,"bytes":180,"start":1431280876,"end":1431280934,"action":"REJECT","log-status":"OK"}`,
			}
			for i := range want {
				if lines[i] != want[i] {
					t.Errorf("line %d:\n got %s\nwant %s", i+1, lines[i], want[i])
				}
				var m map[string]any
				if err := json.Unmarshal([]byte(lines[i]), &m); err != nil {
					t.Errorf("line %d is not JSON: %v", i+1, err)
				}
			}
		})
	}
	// No argument at all also means standard input.
	out, _, err := runLogsIn(t, strings.NewReader(s3Object), "read")
	if err != nil || strings.Count(out, "\n") != 3 || strings.HasPrefix(out, "version ") {
		t.Errorf("read without FILE: %v\n%s", err, out)
	}
	// The table output reads standard input too.
	out, _, err = runLogsIn(t, strings.NewReader(s3Object), "read", "-O", "table", "-")
	if err != nil || !strings.Contains(out, "NODATA") || !strings.HasPrefix(out, "version  account-id") {
		t.Errorf("table from stdin: %v\n%s", err, out)
	}
}

// TestLogsReadStdinErrors: a malformed line on standard input is reported
// as stdin:line:column; --lenient skips it and reports the count.
func TestLogsReadStdinErrors(t *testing.T) {
	bad := s3Object + "2 123456789010 eni-1 10.0.0.1 10.0.0.2 http 80 6 1 40 1 2 ACCEPT OK\n"
	_, _, err := runLogsIn(t, strings.NewReader(bad), "read", "-")
	if err == nil || !strings.HasPrefix(err.Error(), "stdin:5:40: field srcport: expected a non-negative integer") {
		t.Errorf("strict: %v", err)
	}
	out, stderr, err := runLogsIn(t, strings.NewReader(bad), "read", "--lenient", "-O", "csv", "-")
	if err != nil || strings.Count(out, "\n") != 4 {
		t.Errorf("lenient: %v\n%s", err, out)
	}
	if !strings.Contains(stderr, "vpcflow: stdin: skipped 1 malformed line(s) of 5") || !strings.Contains(stderr, "stdin:5:40:") {
		t.Errorf("lenient report: %q", stderr)
	}
}

// TestLogsConvertTargets: convert from standard input to json, to an S3
// text object (header kept, --no-header drops it) and to gzip text; a
// lenient convert reports what it skipped.
func TestLogsConvertTargets(t *testing.T) {
	js, _, err := runLogsIn(t, strings.NewReader(s3Object), "convert", "--to", "json", "-")
	if err != nil || strings.Count(js, "\n") != 3 || !strings.Contains(js, `"srcaddr":null`) || !strings.Contains(js, `"packets":4`) {
		t.Errorf("--to json: %v\n%s", err, js)
	}
	text, _, err := runLogsIn(t, strings.NewReader(s3Object), "convert", "--to", "text", "-")
	if err != nil || text != s3Object {
		t.Errorf("--to text: %v\n got %q\nwant %q", err, text, s3Object)
	}
	text, _, err = runLogsIn(t, strings.NewReader(s3Object), "convert", "--to", "text", "--no-header", "-")
	if err != nil || text != s3Object[strings.IndexByte(s3Object, '\n')+1:] {
		t.Errorf("--no-header: %v\n%q", err, text)
	}
	// A headerless input still gets the header line in the S3-style object.
	body := s3Object[strings.IndexByte(s3Object, '\n')+1:]
	dir := t.TempDir()
	gz := filepath.Join(dir, "obj.log.gz")
	if _, _, err := runLogsIn(t, strings.NewReader(body), "convert", "--to", "text", "-o", gz, "-"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(gz)
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("output is not gzip: %v", err)
	}
	plain, _ := io.ReadAll(zr)
	if string(plain) != s3Object {
		t.Errorf("gzip object:\n got %q\nwant %q", plain, s3Object)
	}
	// Parquet from standard input and back.
	pq := filepath.Join(dir, "obj.log.parquet")
	if _, _, err := runLogsIn(t, strings.NewReader(s3Object), "convert", "--to", "parquet", "-o", pq, "-"); err != nil {
		t.Fatal(err)
	}
	text, _, err = runLogsIn(t, nil, "convert", "--to", "text", pq)
	if err != nil || text != s3Object {
		t.Errorf("parquet → text: %v\n%q", err, text)
	}
	// Lenient convert: the bad line is skipped and counted.
	_, stderr, err := runLogsIn(t, strings.NewReader(s3Object+"garbage\n"), "convert", "--to", "json", "--lenient", "-")
	if err != nil || !strings.Contains(stderr, "skipped 1 malformed line(s) of 5") {
		t.Errorf("lenient convert: %v %q", err, stderr)
	}
	// Strict convert fails and leaves no partial object behind.
	bad := filepath.Join(dir, "bad.log.gz")
	_, _, err = runLogsIn(t, strings.NewReader(s3Object+"garbage\n"), "convert", "--to", "text", "-o", bad, "-")
	if err == nil || !strings.HasPrefix(err.Error(), "stdin:5:1:") {
		t.Errorf("strict convert: %v", err)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("partial object left behind: %v", err)
	}
}
