package insights

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"vpcflow/internal/logstore"
)

var update = flag.Bool("update", false, "rewrite the expected rows of testdata/*.txt scripts")

// Script files (testdata/*.txt), in the promqltest style:
//
//	# comment
//	load group=/vpc/flows stream=eni-1-all
//	<one flow log message per line; timestamp = start×1000, or prefix ts=<ms>>
//	                                    (a blank line ends the block)
//	eval [start=RFC3339] [end=RFC3339] [group=G]
//	<query, one or more lines>
//	----
//	<expected rows, one per line: field=value pairs, values quoted when needed>
//	stats matched=N scanned=N          (optional)
//	                                    (a blank line ends the case)
//	eval …
//	----
//	error query:L:C: message            (expected parse or run error)
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { runScript(t, f) })
	}
}

type scriptCase struct {
	line     int
	opts     Options
	query    string
	want     []string
	wantStat string
	outStart int // index in lines of the first expected line
	outEnd   int
}

func runScript(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	var events Events
	var cases []*scriptCase
	for i := 0; i < len(lines); {
		l := strings.TrimSpace(lines[i])
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
			i++
		case strings.HasPrefix(l, "load"):
			kv := parseKV(t, path, i, strings.TrimPrefix(l, "load"))
			i++
			for ; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
				ev, err := scriptEvent(lines[i], kv)
				if err != nil {
					t.Fatalf("%s:%d: %v", path, i+1, err)
				}
				events = append(events, ev)
			}
		case strings.HasPrefix(l, "eval"):
			c := &scriptCase{line: i + 1}
			kv := parseKV(t, path, i, strings.TrimPrefix(l, "eval"))
			for k, v := range kv {
				switch k {
				case "start", "end":
					ts, err := time.Parse(time.RFC3339, v)
					if err != nil {
						t.Fatalf("%s:%d: %v", path, i+1, err)
					}
					if k == "start" {
						c.opts.Start = ts
					} else {
						c.opts.End = ts
					}
				case "group":
					c.opts.LogGroups = append(c.opts.LogGroups, v)
				default:
					t.Fatalf("%s:%d: unknown eval option %q", path, i+1, k)
				}
			}
			i++
			var q []string
			for ; i < len(lines) && strings.TrimSpace(lines[i]) != "----"; i++ {
				q = append(q, lines[i])
			}
			if i == len(lines) {
				t.Fatalf("%s:%d: eval without ----", path, c.line)
			}
			c.query = strings.Join(q, "\n")
			i++
			c.outStart = i
			for ; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
				if s, ok := strings.CutPrefix(lines[i], "stats "); ok {
					c.wantStat = s
					continue
				}
				c.want = append(c.want, lines[i])
			}
			c.outEnd = i
			cases = append(cases, c)
		default:
			t.Fatalf("%s:%d: unexpected line %q", path, i+1, l)
		}
	}
	var rewritten []string
	last := 0
	for _, c := range cases {
		got, stat := evalCase(t, events, c)
		if *update {
			rewritten = append(rewritten, lines[last:c.outStart]...)
			rewritten = append(rewritten, got...)
			if c.wantStat != "" {
				rewritten = append(rewritten, "stats "+stat)
			}
			last = c.outEnd
			continue
		}
		if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("%s:%d: query\n%s\ngot:\n%s\nwant:\n%s", path, c.line, c.query, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
		}
		if c.wantStat != "" && stat != c.wantStat {
			t.Errorf("%s:%d: statistics: got %s, want %s", path, c.line, stat, c.wantStat)
		}
	}
	if *update {
		rewritten = append(rewritten, lines[last:]...)
		if err := os.WriteFile(path, []byte(strings.Join(rewritten, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func evalCase(t *testing.T, events Events, c *scriptCase) ([]string, string) {
	t.Helper()
	res, err := Execute(t.Context(), events, c.query, c.opts)
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("line %d: error %v is not a *ParseError", c.line, err)
		}
		return []string{"error " + err.Error()}, ""
	}
	var out []string
	for _, row := range res.Rows {
		var parts []string
		for _, f := range row {
			parts = append(parts, quoteIfNeeded(f.Field)+"="+quoteIfNeeded(f.Value))
		}
		out = append(out, strings.Join(parts, " "))
	}
	st := res.Statistics
	return out, fmt.Sprintf("matched=%d scanned=%d", st.RecordsMatched, st.RecordsScanned)
}

func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\"=") {
		return strconv.Quote(s)
	}
	return s
}

func parseKV(t *testing.T, path string, i int, s string) map[string]string {
	kv := map[string]string{}
	for _, f := range strings.Fields(s) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			t.Fatalf("%s:%d: want key=value, found %q", path, i+1, f)
		}
		kv[k] = v
	}
	return kv
}

// scriptEvent builds a log event from a message: the timestamp is the
// record's start ×1000 (spec §5.2) unless the line starts with ts=<ms>.
func scriptEvent(line string, kv map[string]string) (logstore.Event, error) {
	ev := logstore.Event{LogGroup: kv["group"], LogStream: kv["stream"]}
	if ev.LogGroup == "" {
		ev.LogGroup = "/vpc/flowlogs"
	}
	if rest, ok := strings.CutPrefix(line, "ts="); ok {
		n, msg, _ := strings.Cut(rest, " ")
		ms, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			return ev, err
		}
		ev.Timestamp, ev.Message = ms, msg
	} else {
		ev.Message = line
		f := strings.Fields(line)
		if len(f) < 12 {
			return ev, fmt.Errorf("cannot take the timestamp from %q; prefix ts=<ms>", line)
		}
		s, err := strconv.ParseInt(f[10], 10, 64)
		if err != nil {
			return ev, fmt.Errorf("start %q: %v", f[10], err)
		}
		ev.Timestamp = s * 1000
		if e, err := strconv.ParseInt(f[11], 10, 64); err == nil {
			ev.IngestionTime = e*1000 + 5000
		}
	}
	if ev.LogStream == "" {
		if f := strings.Fields(ev.Message); len(f) > 2 {
			ev.LogStream = f[2] + "-all"
		}
	}
	return ev, nil
}
