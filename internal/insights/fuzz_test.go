package insights

import (
	"context"
	"errors"
	"testing"

	"vpcflow/internal/logstore"
)

// FuzzParse checks that no input panics the parser or the executor, that
// errors are *ParseError, and that printing a parsed query gives text that
// parses to a query printing the same.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`stats sum(packets) as packetsTransferred by srcAddr, dstAddr | sort packetsTransferred desc | limit 15`,
		`filter isIpv4InSubnet(srcAddr, "192.0.2.0/24") | stats sum(bytes) as bytesTransferred by dstAddr`,
		`filter protocol=17 | stats count(*) by srcAddr`,
		`filter logStatus="SKIPDATA" | stats count(*) by bin(1h) as t | sort t`,
		`filter (dstAddr like 'x.x.x.x' and srcAddr not like 'y.y.') # comment`,
		`parse @message "* * *" as a, b, c | display a`,
		`parse @message /(?<x>\d+)/ | dedup x | limit 3`,
		"fields `a-b` as c, concat(a, \"\\\"\") | filter c =~ /x\\/y/ and c in [1, 2.5, \"z\"]",
		`fields -(-1) ^ 2 % 3 / 4.5e3`,
	} {
		f.Add(s)
	}
	events := Events{{LogGroup: "g", LogStream: "s", Timestamp: 1700000000000,
		Message: "2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 3 4 1700000000 1700000060 ACCEPT OK"}}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s)
		if err != nil {
			if _, ok := errors.AsType[*ParseError](err); !ok {
				t.Fatalf("Parse(%q): error %T %v is not a *ParseError", s, err, err)
			}
			return
		}
		s1 := q.String()
		q2, err := Parse(s1)
		if err != nil {
			t.Fatalf("Parse(%q) ok but its print %q does not parse: %v", s, s1, err)
		}
		if s2 := q2.String(); s2 != s1 {
			t.Fatalf("print round trip of %q:\n%s\n%s", s, s1, s2)
		}
		_, err = Run(context.Background(), events, q, Options{})
		if err != nil {
			if _, ok := errors.AsType[*ParseError](err); !ok {
				t.Fatalf("Run(%q): error %T %v is not a *ParseError", s, err, err)
			}
		}
	})
}

var _ logstore.Event
