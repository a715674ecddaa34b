package insights

import (
	"errors"
	"testing"

	"vpcflow/internal/flow"
)

func TestParseErrorPosition(t *testing.T) {
	for _, tc := range []struct {
		query     string
		line, col int
	}{
		{"filter x = ", 1, 12},
		{"stats count(*) by srcAddr\n  | sort n sideways", 2, 12},
		{"fields a,\n\tb +", 2, 5},
		{"filter é = \"x\" | bogus", 1, 18},
	} {
		_, err := Parse(tc.query)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("Parse(%q) = %v, want *ParseError", tc.query, err)
		}
		if !errors.Is(err, ErrQuery) {
			t.Errorf("Parse(%q): errors.Is(err, ErrQuery) = false", tc.query)
		}
		if pe.Line != tc.line || pe.Column != tc.col {
			t.Errorf("Parse(%q) error at %d:%d, want %d:%d (%v)", tc.query, pe.Line, pe.Column, tc.line, tc.col, err)
		}
	}
}

func TestParseErrorExcerpt(t *testing.T) {
	q := "fields a\n| sort n sideways"
	_, err := Parse(q)
	pe, ok := errors.AsType[*ParseError](err)
	if !ok {
		t.Fatal(err)
	}
	want := "| sort n sideways\n         ^"
	if got := pe.Excerpt(q); got != want {
		t.Errorf("Excerpt:\n%s\nwant:\n%s", got, want)
	}
}

func TestPrintRoundTrip(t *testing.T) {
	for _, q := range []string{
		`stats sum(packets) as packetsTransferred by srcAddr, dstAddr | sort packetsTransferred  desc | limit 15`,
		`filter (dstAddr like 'x.x.x.x' and srcAddr like 'y.y.') or (srcAddr like 'xxx.xx.xx.xx' and dstAddr like 'y.y.')`,
		`filter logStatus="SKIPDATA" | stats count(*) by bin(1h) as t | sort t`,
		`parse @message /(?<a>\d+)\/(?<b>x)/ | filter a =~ /^1/ and b not in ["1", 2, 3.5] | dedup a, b`,
		"fields `foo-bar`, abs(f3-f4), -x ^ 2 ^ 3, \"q\\\"uote\\\\\" as `and` | display `foo-bar`",
		`parse "user=*, id=*" as user, id | stats pct(id, 99.5), count_distinct(user) by datefloor(@timestamp, 1mo)`,
		`filter not not ispresent(x) and x != 1 % 2 | sort x asc, y desc | limit 1`,
	} {
		p1, err := Parse(q)
		if err != nil {
			t.Fatalf("Parse(%q): %v", q, err)
		}
		s1 := p1.String()
		p2, err := Parse(s1)
		if err != nil {
			t.Fatalf("Parse(String(%q)) = Parse(%q): %v", q, s1, err)
		}
		if s2 := p2.String(); s2 != s1 {
			t.Errorf("round trip of %q:\n%s\n%s", q, s1, s2)
		}
	}
}

func TestDiscoveredNames(t *testing.T) {
	want := []string{"version", "accountId", "interfaceId", "srcAddr", "dstAddr", "srcPort", "dstPort",
		"protocol", "packets", "bytes", "startTime", "endTime", "action", "logStatus"}
	c := newCompiler(flow.DefaultFormat)
	for _, n := range want {
		if _, ok := c.discovered[n]; !ok {
			t.Errorf("field %s is not discovered", n)
		}
	}
}
