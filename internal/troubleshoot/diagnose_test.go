package troubleshoot

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"vpcflow/internal/flow"
)

func decodeLines(t *testing.T, f flow.Format, lines ...string) []flow.Record {
	t.Helper()
	var out []flow.Record
	for _, l := range lines {
		r, err := flow.DecodeLine(f, l)
		if err != nil {
			t.Fatalf("decode %q: %v", l, err)
		}
		out = append(out, r)
	}
	return out
}

// Spec §7.3: a ping from home is accepted in, its reply rejected out: the
// network ACL (stateless) drops the reply. Default format, no topology.
func TestDiagnosePingExampleNoTopology(t *testing.T) {
	recs := decodeLines(t, flow.DefaultFormat,
		"2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 0 1 4 336 1432917027 1432917142 ACCEPT OK",
		"2 123456789010 eni-1235b8ca123456789 172.31.16.139 203.0.113.12 0 0 1 4 336 1432917094 1432917142 REJECT OK",
	)
	rep := Diagnose(recs, Options{})
	if rep.Records != 2 || rep.Conversations != 1 {
		t.Fatalf("records %d conversations %d, want 2 and 1", rep.Records, rep.Conversations)
	}
	if len(rep.Blocked) != 1 {
		t.Fatalf("blocked = %d, want 1: %+v", len(rep.Blocked), rep.Blocked)
	}
	b := rep.Blocked[0]
	if b.Seed != 2 || b.Suspect != SuspectNACL || b.Direction != "egress" || !b.Response {
		t.Errorf("got seed %d suspect %s direction %s response %v; want seed 2, nacl, egress, response", b.Seed, b.Suspect, b.Direction, b.Response)
	}
	if b.Client.String() != "203.0.113.12" || b.Server.String() != "172.31.16.139" || b.Interface != "eni-1235b8ca123456789" {
		t.Errorf("got %s -> %s on %s", b.Client, b.Server, b.Interface)
	}
	if b.Records != 1 || b.First != 1432917094 || b.Last != 1432917142 {
		t.Errorf("records %d first %d last %d", b.Records, b.First, b.Last)
	}
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "network ACL (stateless)") {
		t.Errorf("text report does not blame the network ACL:\n%s", buf.String())
	}
	// The other half of the example: the security group denies inbound ICMP
	// — a single REJECT record, "NACL or SG".
	recs = decodeLines(t, flow.DefaultFormat,
		"2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 0 1 4 336 1432917027 1432917142 REJECT OK")
	rep = Diagnose(recs, Options{})
	if len(rep.Blocked) != 1 || rep.Blocked[0].Seed != 1 || rep.Blocked[0].Suspect != SuspectNACLOrSG {
		t.Errorf("single inbound REJECT: %+v", rep.Blocked)
	}
}

// Spec §7.5 records: tcp-flags tell the client; everything is accepted.
func TestDiagnoseTCPFlagsRoles(t *testing.T) {
	f, err := flow.ParseFormat("${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ${protocol} ${bytes} ${packets} ${start} ${end} ${action} ${tcp-flags} ${log-status}")
	if err != nil {
		t.Fatal(err)
	}
	recs := decodeLines(t, f,
		"3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43416 5001 52.213.180.42 10.0.0.62 6 568 8 1566848875 1566848933 ACCEPT 2 OK",
		"3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43416 10.0.0.62 52.213.180.42 6 376 7 1566848875 1566848933 ACCEPT 18 OK",
		"3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43418 5001 52.213.180.42 10.0.0.62 6 100701 70 1566848875 1566848933 ACCEPT 2 OK",
		"3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43418 10.0.0.62 52.213.180.42 6 632 12 1566848875 1566848933 ACCEPT 18 OK",
	)
	rep := Diagnose(recs, Options{})
	if rep.Conversations != 1 || len(rep.Blocked) != 0 || len(rep.Broken) != 0 {
		t.Fatalf("conversations %d blocked %v broken %v", rep.Conversations, rep.Blocked, rep.Broken)
	}
	if c := buildConversations(recs, []int{0, 1, 2, 3}, ownAddresses(recs, []int{0, 1, 2, 3}, nil))[0]; c.Client.String() != "52.213.180.42" || c.Port != 5001 || c.RoleBy != "tcp-flags" || c.ClientPorts != 2 {
		t.Errorf("conversation %s -> %s:%d by %s, %d client ports", c.Client, c.Server, c.Port, c.RoleBy, c.ClientPorts)
	}
}

// Without a topology, "NACL or SG" narrows to the security group when
// another interface of the same subnet accepted the same traffic: a NACL
// rule only sees the remote address, protocol and port.
func TestSiblingNarrowsToSecurityGroup(t *testing.T) {
	f, err := flow.ParseFormat("${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${subnet-id}")
	if err != nil {
		t.Fatal(err)
	}
	recs := decodeLines(t, f,
		"3 123456789012 eni-aaaaaaaaaaaaaaaaa 203.0.113.9 10.0.0.11 50000 22 6 3 180 1700000000 1700000060 ACCEPT OK subnet-0123",
		"3 123456789012 eni-aaaaaaaaaaaaaaaaa 10.0.0.11 203.0.113.9 22 50000 6 3 180 1700000000 1700000060 ACCEPT OK subnet-0123",
		"3 123456789012 eni-bbbbbbbbbbbbbbbbb 203.0.113.9 10.0.0.12 50001 22 6 3 180 1700000000 1700000060 REJECT OK subnet-0123",
	)
	rep := Diagnose(recs, Options{})
	if len(rep.Blocked) != 1 {
		t.Fatalf("blocked %+v", rep.Blocked)
	}
	if b := rep.Blocked[0]; b.Interface != "eni-bbbbbbbbbbbbbbbbb" || b.Suspect != SuspectSG || !strings.Contains(b.Reason, "eni-aaaaaaaaaaaaaaaaa") {
		t.Errorf("blocked = %+v", b)
	}
}

// Without flow-direction or a topology an interface's address is the one
// its records share; an interface that logged a single conversation names
// both ends equally often, and the tie goes to the address no other
// interface owns.
func TestOwnAddressTieBrokenByOtherInterfaces(t *testing.T) {
	recs := decodeLines(t, flow.DefaultFormat,
		// eni-b (10.0.0.5) serves two clients; 10.0.0.9's request was logged
		// on both ends, and eni-a logged nothing else.
		"2 123456789012 eni-bbbbbbbbbbbbbbbbb 10.0.0.7 10.0.0.5 40000 443 6 3 180 1700000000 1700000060 ACCEPT OK",
		"2 123456789012 eni-bbbbbbbbbbbbbbbbb 10.0.0.5 10.0.0.7 443 40000 6 3 180 1700000000 1700000060 ACCEPT OK",
		"2 123456789012 eni-bbbbbbbbbbbbbbbbb 10.0.0.9 10.0.0.5 40001 443 6 1 60 1700000000 1700000060 ACCEPT OK",
		"2 123456789012 eni-aaaaaaaaaaaaaaaaa 10.0.0.9 10.0.0.5 40001 443 6 1 60 1700000000 1700000060 ACCEPT OK",
	)
	idx := []int{0, 1, 2, 3}
	own := ownAddresses(recs, idx, nil)
	if own["eni-bbbbbbbbbbbbbbbbb"] != addr("10.0.0.5") || own["eni-aaaaaaaaaaaaaaaaa"] != addr("10.0.0.9") {
		t.Errorf("own addresses %v; want eni-b 10.0.0.5, eni-a 10.0.0.9", own)
	}
	// Two interfaces that logged only the same one-way conversation get
	// different addresses.
	recs = decodeLines(t, flow.DefaultFormat,
		"2 123456789012 eni-aaaaaaaaaaaaaaaaa 10.0.0.9 10.0.0.5 40001 443 6 1 60 1700000000 1700000060 ACCEPT OK",
		"2 123456789012 eni-bbbbbbbbbbbbbbbbb 10.0.0.9 10.0.0.5 40001 443 6 1 60 1700000000 1700000060 ACCEPT OK",
	)
	own = ownAddresses(recs, []int{0, 1}, nil)
	if own["eni-aaaaaaaaaaaaaaaaa"] == own["eni-bbbbbbbbbbbbbbbbb"] {
		t.Errorf("both interfaces own %s", own["eni-aaaaaaaaaaaaaaaaa"])
	}
}

// Both ends of one flow, each logged on its own interface, are one
// conversation with a view per interface; the response rejected on the
// way back into the client is seed rule 4 on the client's interface, and
// the server's interface shows that the server did answer.
func TestConversationAcrossInterfaces(t *testing.T) {
	recs := decodeLines(t, flow.DefaultFormat,
		"2 123456789012 eni-0c0000000000000c1 10.0.1.5 10.0.2.9 40000 5432 6 3 180 1700000000 1700000060 ACCEPT OK",
		"2 123456789012 eni-0c0000000000000c1 10.0.2.9 10.0.1.5 5432 40000 6 3 180 1700000000 1700000060 REJECT OK",
		"2 123456789012 eni-0d0000000000000d2 10.0.1.5 10.0.2.9 40000 5432 6 3 180 1700000000 1700000060 ACCEPT OK",
		"2 123456789012 eni-0d0000000000000d2 10.0.2.9 10.0.1.5 5432 40000 6 3 180 1700000000 1700000060 ACCEPT OK",
		"2 123456789012 eni-0d0000000000000d2 10.0.3.7 10.0.2.9 40001 5432 6 3 180 1700000000 1700000060 ACCEPT OK",
		"2 123456789012 eni-0d0000000000000d2 10.0.2.9 10.0.3.7 5432 40001 6 3 180 1700000000 1700000060 ACCEPT OK",
	)
	idx := []int{0, 1, 2, 3, 4, 5}
	convs := buildConversations(recs, idx, ownAddresses(recs, idx, nil))
	if len(convs) != 2 {
		t.Fatalf("%d conversations, want 2", len(convs))
	}
	c := convs[0]
	if c.Client.String() != "10.0.1.5" || c.Server.String() != "10.0.2.9" || len(c.Views) != 2 {
		t.Fatalf("conversation %s -> %s with %d views", c.Client, c.Server, len(c.Views))
	}
	cl, sv := c.Views[0], c.Views[1]
	if cl.Interface != "eni-0c0000000000000c1" || cl.ReqOut.Accept != 1 || cl.RespIn.Reject != 1 || cl.ReqIn.records()+cl.RespOut.records() != 0 {
		t.Errorf("client view %+v", cl)
	}
	if sv.Interface != "eni-0d0000000000000d2" || sv.ReqIn.Accept != 1 || sv.RespOut.Accept != 1 || sv.ReqOut.records()+sv.RespIn.records() != 0 {
		t.Errorf("server view %+v", sv)
	}
	rep := Diagnose(recs, Options{})
	if len(rep.Blocked) != 1 || rep.Blocked[0].Seed != 4 || rep.Blocked[0].Interface != "eni-0c0000000000000c1" || rep.Blocked[0].Suspect != SuspectNACL {
		t.Errorf("blocked %+v", rep.Blocked)
	}
}

// TestSecurityGroupProblemGroupsClients: one missing security group rule
// met by several clients is one problem with one (widened) fix, as for a
// network ACL: the denial's text names a client and must not split it.
func TestSecurityGroupProblemGroupsClients(t *testing.T) {
	s := newSim(t, richFormat)
	for i := range 5 {
		s.tcp(fmt.Sprintf("203.0.113.%d", 100+i), "198.51.100.20", "10.0.0.10", uint16(41000+i), 8443, answer)
	}
	rep := s.diagnose(Options{Topology: s.topo})
	if len(rep.Problems) != 1 {
		t.Fatalf("%d problems, want 1: %+v", len(rep.Problems), rep.Problems)
	}
	p := rep.Problems[0]
	if p.ClientCount != 5 || p.Decision == nil || p.Decision.Layer != "sg" || p.Fix == nil || !strings.Contains(p.Fix.Summary, "from 203.0.113.96/28") {
		t.Errorf("problem %+v, fix %+v", p, p.Fix)
	}
}
