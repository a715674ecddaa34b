package traffic

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// TestScenarioLimits: counts and sizes that would make a run panic,
// exhaust memory or never end are errors at their line and column.
func TestScenarioLimits(t *testing.T) {
	base, err := os.ReadFile("testdata/small-scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		old, new, at, want string
	}{
		// growslice: len out of range in newConv before.
		{"requests: uniform(1, 4)", "requests: 1e17", "1e17", `invalid distribution "1e17": at most 100000 request/response exchanges per connection`},
		// Out of memory before.
		{"requests: uniform(1, 4)", "requests: uniform(1e12, 1e12)", "uniform(1e12", `invalid distribution "uniform(1e12, 1e12)": at most 100000 request/response exchanges per connection`},
		{"requests: uniform(1, 4)", "requests: exp(1e6)", "exp(1e6)", `invalid distribution "exp(1e6)": the mean may be at most 100000 request/response exchanges per connection (draws above it are cut to it)`},
		{"requests: 4", "requests: 100001", "100001", `invalid distribution "100001": at most 100000 request/response exchanges per connection`},
		{"response: lognormal(20000, 1)", "response: 2e12", "2e12", `invalid distribution "2e12": at most 1e12 bytes (a terabyte) per response`},
		{"request: lognormal(800, 0.5)", "request: lognormal(1e12, 1)", "lognormal(1e12", `invalid distribution "lognormal(1e12, 1)": the mean may be at most 1e12 bytes (a terabyte) per request (draws above it are cut to it)`},
		// Ran without end before.
		{"rate: 2/s", "rate: 1e12/s", "1e12/s", `invalid rate "1e12/s": at most 10000/s (conversations a second)`},
		{"rate: 50/s", "rate: 20000/s", "20000/s", `invalid rate "20000/s": at most 10000/s (conversations a second)`},
		// Fell back to the default pool before.
		{"seed: 7\n", "seed: 7\ninternet:\n  hosts: -1\n", "-1", "invalid hosts -1: expected 1 to 100000 public hosts (default 5000)"},
		{"seed: 7\n", "seed: 7\ninternet: {hosts: 1000000}\n", "1000000", "invalid hosts 1000000: expected 1 to 100000 public hosts (default 5000)"},
		// 1e19 overflowed the int64 upload and indexed no requests.
		{"bytes: 500MB", "bytes: 1e19", "1e19", `invalid bytes "1e19": at most 1e15 (a petabyte)`},
	}
	for _, tc := range cases {
		if !strings.Contains(string(base), tc.old) {
			t.Fatalf("small-scenario.yaml has no %q", tc.old)
		}
		data := strings.Replace(string(base), tc.old, tc.new, 1)
		i := strings.Index(data, tc.new) + strings.Index(tc.new, tc.at)
		line := strings.Count(data[:i], "\n") + 1
		col := i - strings.LastIndex(data[:i], "\n")
		want := fmt.Sprintf("testdata/x.yaml:%d:%d: %s", line, col, tc.want)
		_, _, err := Load([]byte(data), "testdata/x.yaml", nil)
		if err == nil || !errors.Is(err, ErrInvalid) || err.Error() != want {
			t.Errorf("%s: error\n%v\nwant\n%s", tc.new, err, want)
		}
	}
	// The bounds themselves load.
	for _, ok := range [][2]string{
		{"requests: uniform(1, 4)", "requests: uniform(1, 100000)"},
		{"requests: uniform(1, 4)", "requests: exp(100000)"},
		{"rate: 2/s", "rate: 10000/s"},
		{"seed: 7\n", "seed: 7\ninternet: {hosts: 100000, cidrs: [23.0.0.0/8]}\n"},
		{"bytes: 500MB", "bytes: 1e15"},
	} {
		data := strings.Replace(string(base), ok[0], ok[1], 1)
		if _, _, err := Load([]byte(data), "testdata/x.yaml", nil); err != nil {
			t.Errorf("%s: %v", ok[1], err)
		}
	}
}

// TestDrawsAreCut: exp and lognormal draws, unbounded, are cut to the
// bounds a connection is built with.
func TestDrawsAreCut(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	w := &Workload{Requests: Dist{kind: distExp, a: maxRequests}}
	big := Dist{kind: distLogNormal, a: maxMessage, b: 3}
	most, largest := 0, 0
	for range 10000 {
		most = max(most, requests(w, r))
		largest = max(largest, sizeOf(big, r, 0))
	}
	if most != maxRequests || largest != int(maxMessage) {
		t.Errorf("most exchanges %d, largest message %d; want %d and %d", most, largest, maxRequests, int(maxMessage))
	}
}

// TestScenarioYAMLLimits: a scenario whose aliases expand to billions of
// nodes or that nests thousands of levels deep is rejected at the
// position that crosses the limit, before it is decoded.
func TestScenarioYAMLLimits(t *testing.T) {
	bomb := `start: 2026-11-20T00:00:00Z
duration: 1h
workloads:
  - name: w
    clients:
      - &a ["x","x","x","x","x","x","x","x","x","x"]
      - &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
      - &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
      - &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
      - &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
      - &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
      - &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
      - &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]
`
	for data, want := range map[string]string{
		bomb: "s.yaml:11:34: aliases expand to more than 1,000,000 nodes",
		"start: " + strings.Repeat("[", 50000) + strings.Repeat("]", 50000) + "\n": "s.yaml:1:263: nesting deeper than 256 levels",
	} {
		_, err := DecodeDocument([]byte(data), "s.yaml")
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%.40q: error %v, want %q", data, err, want)
		}
	}
}

// TestFlowLogFormatPositioned: a scenario flow log's bad log_format is an
// error at its line, not a run that fails later without one.
func TestFlowLogFormatPositioned(t *testing.T) {
	base, err := os.ReadFile("testdata/small-scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data := string(base) + "flow_logs:\n  - resource: vpc-0a1b2c3d4e5f60718\n    log_format: \"${srcaddr} ${tcp-flag}\"\n"
	line := strings.Count(data, "\n")
	_, _, err = Load([]byte(data), "testdata/x.yaml", nil)
	want := fmt.Sprintf("testdata/x.yaml:%d:17: invalid log_format: ", line)
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), `"tcp-flag"`) {
		t.Errorf("error %v, want %s...", err, want)
	}
}
