package topn

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"vpcflow/internal/logstore"
)

var update = flag.Bool("update", false, "rewrite the expect sections of testdata/*.txt")

// script is one testdata/*.txt file:
//
//	rule FILE            (a rule under testdata/rules) or
//	rule                 followed by the rule JSON
//	options period=5m top=3 workers=2
//	events group=NAME    followed by messages; "@SECONDS " sets a timestamp,
//	                     otherwise it is the start field of a default-format
//	                     record (position 11)
//	expect               followed by Report.WriteText output, or
//	expect error         followed by the error message
type script struct {
	rule      []byte
	opts      Options
	events    Events
	expect    string
	wantError bool
	head      string // everything before the expect section
}

func parseScript(t *testing.T, path string) script {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s script
	var section, group string
	var rule, expect []string
	lines := strings.Split(string(data), "\n")
	for i, line := range lines {
		fields := strings.Fields(line)
		switch {
		case section != "expect" && strings.HasPrefix(line, "#"):
			continue
		case len(fields) > 0 && fields[0] == "rule" && section != "expect":
			section = "rule"
			if len(fields) == 2 {
				b, err := os.ReadFile(filepath.Join("testdata", "rules", fields[1]))
				if err != nil {
					t.Fatalf("%s:%d: %v", path, i+1, err)
				}
				s.rule = b
				section = ""
			}
			continue
		case len(fields) > 0 && fields[0] == "options" && section != "expect":
			for _, kv := range fields[1:] {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "period":
					d, err := time.ParseDuration(v)
					if err != nil {
						t.Fatalf("%s:%d: %v", path, i+1, err)
					}
					s.opts.Period = d
				case "top":
					s.opts.Top, _ = strconv.Atoi(v)
				case "workers":
					s.opts.Workers, _ = strconv.Atoi(v)
				default:
					t.Fatalf("%s:%d: unknown option %s", path, i+1, k)
				}
			}
			continue
		case len(fields) > 0 && fields[0] == "events" && section != "expect":
			section, group = "events", ""
			for _, kv := range fields[1:] {
				if v, ok := strings.CutPrefix(kv, "group="); ok {
					group = v
				}
			}
			continue
		case len(fields) > 0 && fields[0] == "expect" && section != "expect":
			s.head = strings.Join(lines[:i], "\n") + "\n"
			section = "expect"
			s.wantError = len(fields) == 2 && fields[1] == "error"
			continue
		}
		switch section {
		case "rule":
			rule = append(rule, line)
		case "events":
			if strings.TrimSpace(line) == "" {
				continue
			}
			ev := logstore.Event{LogGroup: group, Message: line}
			if rest, ok := strings.CutPrefix(line, "@"); ok {
				ts, msg, _ := strings.Cut(rest, " ")
				sec, err := strconv.ParseInt(ts, 10, 64)
				if err != nil {
					t.Fatalf("%s:%d: bad timestamp: %v", path, i+1, err)
				}
				ev.Timestamp, ev.Message = sec*1000, msg
			} else if f := strings.Fields(line); len(f) > 10 {
				sec, _ := strconv.ParseInt(f[10], 10, 64)
				ev.Timestamp = sec * 1000
			}
			s.events = append(s.events, ev)
		case "expect":
			expect = append(expect, line)
		}
	}
	if rule != nil {
		s.rule = []byte(strings.Join(rule, "\n"))
	}
	s.expect = strings.TrimRight(strings.Join(expect, "\n"), "\n") + "\n"
	return s
}

func TestScripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	if len(files) == 0 {
		t.Fatal("no scripts")
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			s := parseScript(t, path)
			var got string
			r, err := ParseRule(s.rule)
			if err != nil {
				got = err.Error() + "\n"
			} else {
				rep, err := Evaluate(t.Context(), s.events, r, s.opts)
				if err != nil {
					t.Fatal(err)
				}
				var b bytes.Buffer
				rep.WriteText(&b)
				got = b.String()
			}
			if *update {
				kind := "expect\n"
				if err != nil {
					kind = "expect error\n"
				}
				if err := os.WriteFile(path, []byte(s.head+kind+got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff := cmp.Diff(got, s.expect); diff != "" {
				t.Errorf("(-got +want)\n%s", diff)
			}
			if s.wantError != (err != nil) {
				t.Errorf("error = %v, want error: %v", err, s.wantError)
			}
		})
	}
}
