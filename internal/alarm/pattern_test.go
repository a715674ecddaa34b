package alarm

import (
	"os"
	"strings"
	"testing"
)

func TestPatternScript(t *testing.T) {
	data, err := os.ReadFile("testdata/patterns.txt")
	if err != nil {
		t.Fatal(err)
	}
	var p *Pattern
	var last Extracted
	var lastErr error
	for i, line := range strings.Split(string(data), "\n") {
		at := func(format string, args ...any) {
			t.Helper()
			t.Errorf("patterns.txt:%d: "+format, append([]any{i + 1}, args...)...)
		}
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "pattern "):
			src := strings.TrimPrefix(line, "pattern ")
			p, err = ParsePattern(src)
			if err != nil {
				at("%v", err)
				p = nil
			}
		case strings.HasPrefix(line, "+ ") || line == "+" || strings.HasPrefix(line, "- "):
			if p == nil {
				continue
			}
			msg := line[min(2, len(line)):]
			ok, x := p.MatchExtract(msg, nil)
			if want := line[0] == '+'; ok != want {
				at("match(%q) = %v, want %v", msg, ok, want)
			}
			if ok {
				last = x
			}
		case strings.HasPrefix(line, "= "):
			ref, want, _ := strings.Cut(strings.TrimPrefix(line, "= "), " ")
			got, ok := last.Get(ref)
			if !ok || got != want {
				at("%s = %q (%v), want %q", ref, got, ok, want)
			}
		case strings.HasPrefix(line, "error "):
			_, lastErr = ParsePattern(strings.TrimPrefix(line, "error "))
			if lastErr == nil {
				at("no error")
			}
		case strings.HasPrefix(line, "! "):
			if lastErr != nil && lastErr.Error() != strings.TrimPrefix(line, "! ") {
				at("error %q, want %q", lastErr.Error(), strings.TrimPrefix(line, "! "))
			}
		default:
			at("bad script line %q", line)
		}
	}
}

func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{
		"", `" "`, "REJECT", `"REJECT" -"NODATA"`, "?A ?B",
		"[version, account, eni, source, destination, srcport, destport=\"22\", protocol=\"6\", packets, bytes, windowstart, windowend, action=\"REJECT\", flowlogstatus]",
		"[..., request =*.html*, status_code = 4*, bytes]",
		"[a, b = 80 || b = 8080 && c > 1, c]",
		`{ $.a = "x" && ($.b[0] > 1 || $.c IS NULL) }`,
		`{ $.a NOT EXISTS }`,
	} {
		f.Add(s, "2 1 eni-a 10.0.0.1 10.0.0.2 1 22 6 1 40 1 2 REJECT OK")
	}
	f.Fuzz(func(t *testing.T, pattern, msg string) {
		p, err := ParsePattern(pattern)
		if err != nil {
			var pe *PatternError
			if !strings.HasPrefix(err.Error(), "filter pattern: column ") {
				t.Fatalf("error without position: %v", err)
			}
			_ = pe
			return
		}
		ok, x := p.MatchExtract(msg, nil)
		if ok {
			for _, name := range p.Fields() {
				x.Get("$" + name)
			}
		}
		// Parsing is deterministic: the same text gives the same verdict.
		p2, err := ParsePattern(p.String())
		if err != nil {
			t.Fatalf("reparse %q: %v", p.String(), err)
		}
		if p2.Match(msg) != ok {
			t.Fatalf("reparsed pattern disagrees on %q", msg)
		}
	})
}
