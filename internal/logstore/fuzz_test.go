package logstore

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// FuzzParsePattern checks FilterLogEvents' basic term patterns: no input
// panics, an error names an offset inside the pattern, an accepted pattern
// spelt back with quoted terms parses to the same terms, and a message made
// of the included terms matches a pattern without exclusions.
func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{`ERROR`, `"Failed login" -admin`, `REJECT 443 -"10.0.0.1"`, `-`, `- x`, `"unterminated`, `""`, `a"b -"c d"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePattern(s)
		if err != nil {
			i := strings.LastIndex(err.Error(), "offset ")
			off, aerr := strconv.Atoi(err.Error()[i+len("offset "):])
			if i < 0 || aerr != nil || off < 0 || off >= len(s) {
				t.Fatalf("error without an offset inside the pattern: %v", err)
			}
			return
		}
		var spelt []string
		for _, list := range []struct {
			terms  []string
			prefix string
		}{{p.include, ""}, {p.exclude, "-"}} {
			for _, term := range list.terms {
				if strings.Contains(term, `"`) {
					return // only an unquoted term can hold a quote
				}
				spelt = append(spelt, list.prefix+`"`+term+`"`)
			}
		}
		again, err := ParsePattern(strings.Join(spelt, " "))
		if err != nil || strings.Join(again.include, "\x00") != strings.Join(p.include, "\x00") || strings.Join(again.exclude, "\x00") != strings.Join(p.exclude, "\x00") {
			t.Fatalf("%q parses to %+v; spelt %q it parses to %+v, %v", s, p, strings.Join(spelt, " "), again, err)
		}
		if len(p.exclude) == 0 && !p.Match(strings.Join(p.include, " ")) {
			t.Fatalf("%q does not match its own terms", s)
		}
	})
}

// FuzzToken checks pagination tokens (sent back by clients): a bad token
// is ErrBadToken, a good one spells itself back.
func FuzzToken(f *testing.F) {
	for _, s := range []string{"f/1795600000000/0", "b/-1/3", "f/1/-1", "x/1/2", "f/1", "f/1/2/3", "f/99999999999999999999/0", "f/+1/02"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dir, p, err := parseToken(s)
		if err != nil {
			if !errors.Is(err, ErrBadToken) {
				t.Fatalf("error %v is not ErrBadToken", err)
			}
			return
		}
		dir2, p2, err := parseToken(p.token(dir))
		if err != nil || dir2 != dir || p2 != p || p.k < 0 {
			t.Fatalf("%q: token %q parses to %c %+v, %v", s, p.token(dir), dir2, p2, err)
		}
	})
}
