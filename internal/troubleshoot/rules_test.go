package troubleshoot

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"vpcflow/internal/flow"
)

// The four troubleshooting rules of the study notes (seeds 000 and 003).
func TestClassifySeedRules(t *testing.T) {
	tests := []struct {
		name              string
		origin            Origin
		request, response Seen
		want              SeedRule
		suspect           Suspect
		blocked           string
		isResponse        bool
	}{
		{"incoming: inbound REJECT → NACL or SG", Incoming, SeenReject, NotSeen, 1, SuspectNACLOrSG, "ingress", false},
		{"incoming: inbound ACCEPT, outbound REJECT → NACL", Incoming, SeenAccept, SeenReject, 2, SuspectNACL, "egress", true},
		{"outgoing: outbound REJECT → NACL or SG", Outgoing, SeenReject, NotSeen, 3, SuspectNACLOrSG, "egress", false},
		{"outgoing: outbound ACCEPT, inbound REJECT → NACL", Outgoing, SeenAccept, SeenReject, 4, SuspectNACL, "ingress", true},
		{"incoming: both ACCEPT → nothing blocked", Incoming, SeenAccept, SeenAccept, 0, SuspectNone, "", false},
		{"outgoing: both ACCEPT → nothing blocked", Outgoing, SeenAccept, SeenAccept, 0, SuspectNone, "", false},
		{"incoming: ACCEPT, no response → not a SG/NACL verdict", Incoming, SeenAccept, NotSeen, 0, SuspectNone, "", false},
		{"incoming: request not logged, response REJECT → NACL", Incoming, NotSeen, SeenReject, 2, SuspectNACL, "egress", true},
		{"outgoing: request not logged, response REJECT → NACL", Outgoing, NotSeen, SeenReject, 4, SuspectNACL, "ingress", true},
		{"incoming: request partly rejected → rule 1", Incoming, SeenMixed, SeenAccept, 1, SuspectNACLOrSG, "ingress", false},
		{"outgoing: response partly rejected → rule 4", Outgoing, SeenAccept, SeenMixed, 4, SuspectNACL, "ingress", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Classify(tc.origin, tc.request, tc.response)
			if got.Seed != tc.want || got.Suspect != tc.suspect || got.Blocked != tc.blocked || got.Response != tc.isResponse {
				t.Errorf("Classify(%s, %s, %s) = seed %d suspect %q blocked %q response %v; want seed %d suspect %q blocked %q response %v",
					tc.origin, tc.request, tc.response, got.Seed, got.Suspect, got.Blocked, got.Response,
					tc.want, tc.suspect, tc.blocked, tc.isResponse)
			}
			if tc.want != 0 && got.Text == "" {
				t.Error("no explanation text")
			}
		})
	}
}

// The same four rules end to end, from default-format records of one
// interface (10.0.0.11) and no topology: Diagnose pairs request and
// response and names the rule, the suspect layer and the blocked leg.
func TestSeedRulesFromRecords(t *testing.T) {
	const eni = "eni-0123456789abcdef0"
	rec := func(src, dst string, sport, dport int, action string) string {
		return fmt.Sprintf("2 123456789012 %s %s %s %d %d 6 3 180 1700000000 1700000060 %s OK", eni, src, dst, sport, dport, action)
	}
	tests := []struct {
		name     string
		lines    []string
		seed     SeedRule
		suspect  Suspect
		dir      string
		response bool
		client   string
		text     string
	}{
		{"incoming: inbound REJECT → NACL or SG",
			[]string{rec("203.0.113.9", "10.0.0.11", 50000, 22, "REJECT")},
			1, SuspectNACLOrSG, "ingress", false, "203.0.113.9", "network ACL or security group"},
		{"incoming: inbound ACCEPT, outbound REJECT → NACL",
			[]string{rec("203.0.113.9", "10.0.0.11", 50000, 22, "ACCEPT"), rec("10.0.0.11", "203.0.113.9", 22, 50000, "REJECT")},
			2, SuspectNACL, "egress", true, "203.0.113.9", "network ACL (stateless)"},
		{"outgoing: outbound REJECT → NACL or SG",
			[]string{rec("10.0.0.11", "198.51.100.7", 40000, 443, "REJECT")},
			3, SuspectNACLOrSG, "egress", false, "10.0.0.11", "network ACL or security group"},
		{"outgoing: outbound ACCEPT, inbound REJECT → NACL",
			[]string{rec("10.0.0.11", "198.51.100.7", 40000, 443, "ACCEPT"), rec("198.51.100.7", "10.0.0.11", 443, 40000, "REJECT")},
			4, SuspectNACL, "ingress", true, "10.0.0.11", "network ACL (stateless)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := Diagnose(decodeLines(t, flow.DefaultFormat, tc.lines...), Options{})
			if len(rep.Blocked) != 1 {
				t.Fatalf("blocked %+v", rep.Blocked)
			}
			b := rep.Blocked[0]
			if b.Seed != tc.seed || b.Suspect != tc.suspect || b.Direction != tc.dir || b.Response != tc.response ||
				b.Interface != eni || b.Client.String() != tc.client || b.Decision != nil {
				t.Errorf("got seed %d suspect %s %s response %v on %s, client %s; want seed %d %s %s response %v, client %s",
					b.Seed, b.Suspect, b.Direction, b.Response, b.Interface, b.Client, tc.seed, tc.suspect, tc.dir, tc.response, tc.client)
			}
			var buf bytes.Buffer
			if err := rep.WriteText(&buf); err != nil {
				t.Fatal(err)
			}
			if out := buf.String(); !strings.Contains(out, fmt.Sprintf("seed rule %d:", tc.seed)) || !strings.Contains(out, tc.text) {
				t.Errorf("report does not give seed rule %d and %q:\n%s", tc.seed, tc.text, out)
			}
		})
	}
}
