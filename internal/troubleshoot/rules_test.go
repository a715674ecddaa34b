package troubleshoot

import "testing"

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
