package flow

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Format strings of spec §7.10.
const (
	fmt75 = "${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ${protocol} ${bytes} ${packets} ${start} ${end} ${action} ${tcp-flags} ${log-status}"
	fmt76 = "${instance-id} ${interface-id} ${srcaddr} ${dstaddr} ${pkt-srcaddr} ${pkt-dstaddr}"
	fmt77 = "${version} ${interface-id} ${account-id} ${vpc-id} ${subnet-id} ${instance-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${tcp-flags} ${type} ${pkt-srcaddr} ${pkt-dstaddr} ${action} ${log-status}"
	fmt78 = "${version} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${start} ${end} ${type} ${packets} ${bytes} ${account-id} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${region} ${az-id} ${sublocation-type} ${sublocation-id} ${action} ${tcp-flags} ${pkt-srcaddr} ${pkt-dstaddr} ${pkt-src-aws-service} ${pkt-dst-aws-service} ${traffic-path} ${flow-direction} ${log-status}"
	fmt79 = "${flow-direction} ${traffic-path} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${encryption-status}"
)

// goldenVector is one example record of spec §7, verbatim. want is the
// re-encoded line when it differs from the input: the §7.5 double space is
// normalised to one space, and the annotations of §7.6 and §7.9 (which need
// AllowComments) are dropped.
type goldenVector struct {
	section  string
	format   string // "" = default format
	line     string
	want     string
	comments bool
}

var goldenVectors = []goldenVector{
	// 7.1 Accepted and rejected traffic
	{section: "7.1", line: "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"},
	{section: "7.1", line: "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK"},
	// 7.2 No data and skipped records
	{section: "7.2", line: "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA"},
	{section: "7.2", line: "2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA"},
	// 7.3 Security group and network ACL rules (ICMP, ports 0 0)
	{section: "7.3", line: "2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 0 1 4 336 1432917027 1432917142 ACCEPT OK"},
	{section: "7.3", line: "2 123456789010 eni-1235b8ca123456789 172.31.16.139 203.0.113.12 0 0 1 4 336 1432917094 1432917142 REJECT OK"},
	// 7.4 IPv6 traffic
	{section: "7.4", line: "2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK"},
	// 7.5 TCP flag sequence
	{section: "7.5", format: fmt75, line: "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43416 5001 52.213.180.42 10.0.0.62 6 568 8 1566848875 1566848933 ACCEPT 2 OK"},
	{section: "7.5", format: fmt75, line: "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43416 10.0.0.62 52.213.180.42 6 376 7 1566848875 1566848933 ACCEPT 18 OK"},
	{section: "7.5", format: fmt75, line: "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43418 5001 52.213.180.42 10.0.0.62 6 100701 70 1566848875 1566848933 ACCEPT 2 OK"},
	{section: "7.5", format: fmt75, line: "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43418 10.0.0.62 52.213.180.42 6 632 12 1566848875 1566848933 ACCEPT 18 OK"},
	{section: "7.5", format: fmt75, line: "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43418 10.0.0.62 52.213.180.42 6 63388 1219 1566848933 1566849113 ACCEPT 1 OK"},
	{section: "7.5", format: fmt75, line: "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43418 5001 52.213.180.42 10.0.0.62 6 23294588 15774 1566848933 1566849113 ACCEPT 1 OK"},
	{section: "7.5", format: fmt75, line: "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43638 5001 52.213.180.42 10.0.0.62 6 1260 17 1566933133 1566933193 ACCEPT 3 OK"},
	{section: "7.5", format: fmt75,
		line: "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43638  10.0.0.62 52.213.180.42 6 967 14 1566933133 1566933193 ACCEPT 19 OK",
		want: "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43638 10.0.0.62 52.213.180.42 6 967 14 1566933133 1566933193 ACCEPT 19 OK"},
	// 7.6 Traffic through a NAT gateway
	{section: "7.6", format: fmt76, line: "- eni-1235b8ca123456789 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5"},
	{section: "7.6", format: fmt76, line: "- eni-1235b8ca123456789 10.0.0.220 203.0.113.5 10.0.0.220 203.0.113.5"},
	{section: "7.6", format: fmt76, line: "- eni-1235b8ca123456789 203.0.113.5 10.0.0.220 203.0.113.5 10.0.0.220"},
	{section: "7.6", format: fmt76, line: "- eni-1235b8ca123456789 10.0.0.220 10.0.1.5 203.0.113.5 10.0.1.5"},
	{section: "7.6", format: fmt76, comments: true,
		line: "i-01234567890123456 eni-1111aaaa2222bbbb3 10.0.1.5 203.0.113.5 10.0.1.5 203.0.113.5 #Traffic from the source instance to host on the internet",
		want: "i-01234567890123456 eni-1111aaaa2222bbbb3 10.0.1.5 203.0.113.5 10.0.1.5 203.0.113.5"},
	{section: "7.6", format: fmt76, comments: true,
		line: "i-01234567890123456 eni-1111aaaa2222bbbb3 203.0.113.5 10.0.1.5 203.0.113.5 10.0.1.5 #Response traffic from host on the internet to the source instance",
		want: "i-01234567890123456 eni-1111aaaa2222bbbb3 203.0.113.5 10.0.1.5 203.0.113.5 10.0.1.5"},
	// 7.7 Traffic through a transit gateway
	{section: "7.7", format: fmt77, line: "3 eni-33333333333333333 123456789010 vpc-abcdefab012345678 subnet-22222222bbbbbbbbb i-01234567890123456 10.20.33.164 10.40.2.236 39812 80 6 3 IPv4 10.20.33.164 10.40.2.236 ACCEPT OK"},
	{section: "7.7", format: fmt77, line: "3 eni-33333333333333333 123456789010 vpc-abcdefab012345678 subnet-22222222bbbbbbbbb i-01234567890123456 10.40.2.236 10.20.33.164 80 39812 6 19 IPv4 10.40.2.236 10.20.33.164 ACCEPT OK"},
	{section: "7.7", format: fmt77, line: "3 eni-11111111111111111 123456789010 vpc-abcdefab012345678 subnet-11111111aaaaaaaaa - 10.40.1.175 10.40.2.236 39812 80 6 3 IPv4 10.20.33.164 10.40.2.236 ACCEPT OK"},
	{section: "7.7", format: fmt77, line: "3 eni-22222222222222222 123456789010 vpc-abcdefab012345678 subnet-22222222bbbbbbbbb - 10.40.2.236 10.40.2.31 80 39812 6 19 IPv4 10.40.2.236 10.20.33.164 ACCEPT OK"},
	// 7.8 Service name, traffic path, and flow direction
	{section: "7.8", format: fmt78, line: "5 52.95.128.179 10.0.0.71 80 34210 6 1616729292 1616729349 IPv4 14 15044 123456789012 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 19 52.95.128.179 10.0.0.71 S3 - - ingress OK"},
	{section: "7.8", format: fmt78, line: "5 10.0.0.71 52.95.128.179 34210 80 6 1616729292 1616729349 IPv4 7 471 123456789012 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 3 10.0.0.71 52.95.128.179 - S3 8 egress OK"},
	// 7.9 Encryption status (blog annotations are comments)
	{section: "7.9", format: fmt79, comments: true,
		line: "ingress - 10.0.133.8 10.0.128.55 43236 80 1 # <-- HTTP between web client and server. Encrypted at hardware-level",
		want: "ingress - 10.0.133.8 10.0.128.55 43236 80 1"},
	{section: "7.9", format: fmt79, line: "egress 1 10.0.128.55 10.0.133.8 80 43236 1"},
	{section: "7.9", format: fmt79, line: "ingress - 10.0.133.8 10.0.128.55 36902 80 1"},
	{section: "7.9", format: fmt79, line: "egress 1 10.0.128.55 10.0.133.8 80 36902 1"},
	{section: "7.9", format: fmt79, comments: true,
		line: "ingress - 10.0.130.104 10.0.128.55 55016 80 0 # <-- HTTP between web client and server. Not encrypted at hardware-level",
		want: "ingress - 10.0.130.104 10.0.128.55 55016 80 0"},
	{section: "7.9", format: fmt79, line: "egress 1 10.0.128.55 10.0.130.104 80 55016 0"},
	{section: "7.9", format: fmt79, line: "ingress - 10.0.130.104 10.0.128.55 60276 80 0"},
	{section: "7.9", format: fmt79, line: "egress 1 10.0.128.55 10.0.130.104 80 60276 0"},
	// 7.9 default-format S3 file (after its header line)
	{section: "7.9", line: "2 12345678910 eni-0eb1e4178af74336c - - - - - - - 1742570089 1742570142 - NODATA"},
}

func mustParseFormat(t testing.TB, s string) Format {
	t.Helper()
	f, err := ParseFormat(s)
	if err != nil {
		t.Fatalf("ParseFormat(%q): %v", s, err)
	}
	return f
}

// TestGoldenVectors decodes every example record of spec §7 with its format
// and re-encodes it byte for byte, in text, and checks that the JSON and
// CSV renderings are well formed and agree with the text.
func TestGoldenVectors(t *testing.T) {
	for i, v := range goldenVectors {
		f := mustParseFormat(t, v.format)
		d := NewDecoder(f)
		d.AllowComments(v.comments)
		var r Record
		if err := d.Decode([]byte(v.line), &r); err != nil {
			t.Errorf("§%s #%d: decode: %v", v.section, i, err)
			continue
		}
		want := v.line
		if v.want != "" {
			want = v.want
		}
		if got := Text(f, &r); got != want {
			t.Errorf("§%s #%d: re-encode (-got +want):\n%s", v.section, i, cmp.Diff(got, want))
		}
		js := AppendJSON(nil, f, &r)
		var obj map[string]any
		if err := json.Unmarshal(js, &obj); err != nil {
			t.Errorf("§%s #%d: JSON %s: %v", v.section, i, js, err)
		}
		tokens := strings.Fields(want)
		cells := strings.Split(string(AppendCSV(nil, f, &r)), ",")
		if len(cells) != len(tokens) {
			t.Fatalf("§%s #%d: CSV has %d cells, want %d", v.section, i, len(cells), len(tokens))
		}
		for j, id := range f.Fields() {
			tok := tokens[j]
			if tok == "-" {
				if obj[id.String()] != nil || cells[j] != "" {
					t.Errorf("§%s #%d: %s: want null/empty for '-', got %v / %q", v.section, i, id, obj[id.String()], cells[j])
				}
				continue
			}
			if cells[j] != tok {
				t.Errorf("§%s #%d: CSV %s = %q, want %q", v.section, i, id, cells[j], tok)
			}
			switch val := obj[id.String()].(type) {
			case float64:
				if id.Info().Kind != KindInt32 && id.Info().Kind != KindInt64 {
					t.Errorf("§%s #%d: JSON %s is a number, want a string", v.section, i, id)
				}
			case string:
				if val != tok {
					t.Errorf("§%s #%d: JSON %s = %q, want %q", v.section, i, id, val, tok)
				}
			default:
				t.Errorf("§%s #%d: JSON %s = %v (%T)", v.section, i, id, val, val)
			}
		}
	}
}

func TestGoldenVersions(t *testing.T) {
	for _, tc := range []struct {
		format string
		want   int32
	}{{"", 2}, {fmt75, 3}, {fmt76, 3}, {fmt77, 3}, {fmt78, 5}, {fmt79, 10}} {
		if got := mustParseFormat(t, tc.format).Version(); got != tc.want {
			t.Errorf("Version(%q) = %d, want %d", tc.format, got, tc.want)
		}
	}
}

var recordCmp = []cmp.Option{cmpopts.EquateComparable(netip.Addr{})}

func decodeGolden(t *testing.T, format, line string, comments bool) Record {
	t.Helper()
	d := NewDecoder(mustParseFormat(t, format))
	d.AllowComments(comments)
	var r Record
	if err := d.Decode([]byte(line), &r); err != nil {
		t.Fatalf("decode %q: %v", line, err)
	}
	return r
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func present(ids ...FieldID) uint64 {
	var p uint64
	for _, id := range ids {
		p |= 1 << id
	}
	return p
}

func TestGoldenNATGateway(t *testing.T) {
	natPresent := present(FieldInterfaceID, FieldSrcAddr, FieldDstAddr, FieldPktSrcAddr, FieldPktDstAddr)
	cases := []struct {
		line     string
		comments bool
		want     Record
	}{
		{line: goldenVectors[15].line, want: Record{Present: natPresent, InterfaceID: "eni-1235b8ca123456789",
			SrcAddr: addr("10.0.1.5"), DstAddr: addr("10.0.0.220"), PktSrcAddr: addr("10.0.1.5"), PktDstAddr: addr("203.0.113.5")}},
		{line: goldenVectors[18].line, want: Record{Present: natPresent, InterfaceID: "eni-1235b8ca123456789",
			SrcAddr: addr("10.0.0.220"), DstAddr: addr("10.0.1.5"), PktSrcAddr: addr("203.0.113.5"), PktDstAddr: addr("10.0.1.5")}},
		{line: goldenVectors[19].line, comments: true, want: Record{Present: natPresent | present(FieldInstanceID),
			InstanceID: "i-01234567890123456", InterfaceID: "eni-1111aaaa2222bbbb3",
			SrcAddr: addr("10.0.1.5"), DstAddr: addr("203.0.113.5"), PktSrcAddr: addr("10.0.1.5"), PktDstAddr: addr("203.0.113.5")}},
	}
	for _, tc := range cases {
		got := decodeGolden(t, fmt76, tc.line, tc.comments)
		if diff := cmp.Diff(got, tc.want, recordCmp...); diff != "" {
			t.Errorf("%s (-got +want):\n%s", tc.line, diff)
		}
		// requester-managed NAT ENI: instance-id is "-", not empty or zero.
		if strings.HasPrefix(tc.line, "- ") && got.Has(FieldInstanceID) {
			t.Errorf("%s: instance-id must be absent", tc.line)
		}
	}
}

func TestGoldenTransitGateway(t *testing.T) {
	base := present(FieldVersion, FieldInterfaceID, FieldAccountID, FieldVPCID, FieldSubnetID,
		FieldSrcAddr, FieldDstAddr, FieldSrcPort, FieldDstPort, FieldProtocol, FieldTCPFlags, FieldType,
		FieldPktSrcAddr, FieldPktDstAddr, FieldAction, FieldLogStatus)
	got := decodeGolden(t, fmt77, goldenVectors[23].line, false)
	want := Record{Present: base, Version: 3, InterfaceID: "eni-11111111111111111", AccountID: "123456789010",
		VPCID: "vpc-abcdefab012345678", SubnetID: "subnet-11111111aaaaaaaaa",
		SrcAddr: addr("10.40.1.175"), DstAddr: addr("10.40.2.236"), SrcPort: 39812, DstPort: 80, Protocol: 6,
		TCPFlags: 3, Type: "IPv4", PktSrcAddr: addr("10.20.33.164"), PktDstAddr: addr("10.40.2.236"),
		Action: ActionAccept, LogStatus: StatusOK}
	if diff := cmp.Diff(got, want, recordCmp...); diff != "" {
		t.Errorf("TGW request (-got +want):\n%s", diff)
	}
	got = decodeGolden(t, fmt77, goldenVectors[24].line, false)
	want = Record{Present: base, Version: 3, InterfaceID: "eni-22222222222222222", AccountID: "123456789010",
		VPCID: "vpc-abcdefab012345678", SubnetID: "subnet-22222222bbbbbbbbb",
		SrcAddr: addr("10.40.2.236"), DstAddr: addr("10.40.2.31"), SrcPort: 80, DstPort: 39812, Protocol: 6,
		TCPFlags: 19, Type: "IPv4", PktSrcAddr: addr("10.40.2.236"), PktDstAddr: addr("10.20.33.164"),
		Action: ActionAccept, LogStatus: StatusOK}
	if diff := cmp.Diff(got, want, recordCmp...); diff != "" {
		t.Errorf("TGW response (-got +want):\n%s", diff)
	}
}

func TestGoldenTCPFlagSequence(t *testing.T) {
	// §7.5 lines in order and the flags AWS documents for them.
	wantFlags := []int32{2, 18, 2, 18, 1, 1, 3, 19}
	wantNames := []string{"SYN", "SYN-ACK", "SYN", "SYN-ACK", "FIN", "FIN", "SYN|FIN", "SYN-ACK|FIN"}
	var got []int32
	var names []string
	for _, v := range goldenVectors {
		if v.section != "7.5" {
			continue
		}
		r := decodeGolden(t, fmt75, v.line, false)
		got = append(got, r.TCPFlags)
		names = append(names, TCPFlagNames(r.TCPFlags))
		if r.Version != 3 || r.Protocol != 6 || r.Type != "IPv4" || !r.Has(FieldTCPFlags) {
			t.Errorf("%s: version/protocol/type = %d/%d/%q", v.line, r.Version, r.Protocol, r.Type)
		}
	}
	if diff := cmp.Diff(got, wantFlags); diff != "" {
		t.Errorf("tcp-flags (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(names, wantNames); diff != "" {
		t.Errorf("tcp-flag names (-got +want):\n%s", diff)
	}
	// The OR rule over one window: SYN then FIN from the client is 3,
	// SYN-ACK then FIN (pure ACKs in between) from the server is 19.
	var client, server uint8
	for _, raw := range []uint8{0x02, 0x10, 0x18, 0x11} {
		client |= TCPFlagsAWS(raw)
	}
	for _, raw := range []uint8{0x12, 0x10, 0x18, 0x11} {
		server |= TCPFlagsAWS(raw)
	}
	if client != 3 || server != 19 {
		t.Errorf("OR-ed flags = %d, %d; want 3, 19", client, server)
	}
	// bytes before packets in this format: check the first line.
	r := decodeGolden(t, fmt75, goldenVectors[7].line, false)
	if r.Bytes != 568 || r.Packets != 8 || r.Start != 1566848875 || r.End != 1566848933 {
		t.Errorf("bytes/packets/start/end = %d/%d/%d/%d", r.Bytes, r.Packets, r.Start, r.End)
	}
}

func TestGoldenNoDataSkipData(t *testing.T) {
	kept := present(FieldVersion, FieldAccountID, FieldInterfaceID, FieldStart, FieldEnd, FieldLogStatus)
	for _, tc := range []struct {
		line string
		want Record
	}{
		{goldenVectors[2].line, Record{Present: kept, Version: 2, AccountID: "123456789010",
			InterfaceID: "eni-1235b8ca123456789", Start: 1431280876, End: 1431280934, LogStatus: StatusNoData}},
		{goldenVectors[3].line, Record{Present: kept, Version: 2, AccountID: "123456789010",
			InterfaceID: "eni-11111111aaaaaaaaa", Start: 1431280876, End: 1431280934, LogStatus: StatusSkipData}},
	} {
		got := decodeGolden(t, "", tc.line, false)
		if diff := cmp.Diff(got, tc.want, recordCmp...); diff != "" {
			t.Errorf("%s (-got +want):\n%s", tc.line, diff)
		}
		js := string(AppendJSON(nil, DefaultFormat, &got))
		if !strings.Contains(js, `"srcaddr":null,"dstaddr":null,"srcport":null`) || !strings.Contains(js, `"action":null`) {
			t.Errorf("JSON: %s", js)
		}
	}
}

func TestGoldenServiceAndDirection(t *testing.T) {
	in := decodeGolden(t, fmt78, goldenVectors[25].line, false)
	out := decodeGolden(t, fmt78, goldenVectors[26].line, false)
	if in.Version != 5 || in.FlowDirection != Ingress || in.Has(FieldTrafficPath) || in.PktSrcAWSService != "S3" || in.Has(FieldPktDstAWSService) {
		t.Errorf("ingress record: %+v", in)
	}
	if out.FlowDirection != Egress || out.TrafficPath != 8 || out.PktDstAWSService != "S3" || out.Has(FieldSublocationType) || out.AZID != "apse2-az3" {
		t.Errorf("egress record: %+v", out)
	}
}

func TestAccountIDUnknownAndLeadingZeros(t *testing.T) {
	r := decodeGolden(t, "", "2 unknown eni-1 10.0.0.1 10.0.0.2 443 5000 6 1 40 1 2 ACCEPT OK", false)
	if r.AccountID != "unknown" {
		t.Errorf("account-id = %q", r.AccountID)
	}
	r = decodeGolden(t, "", "2 012345678901 eni-1 10.0.0.1 10.0.0.2 443 5000 6 1 40 1 2 ACCEPT OK", false)
	if got := string(AppendJSON(nil, DefaultFormat, &r)); !strings.Contains(got, `"account-id":"012345678901"`) {
		t.Errorf("JSON = %s", got)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		line   string
		column int
		field  string
		msg    string
	}{
		{"2 123 eni-1 1.2.3.4 5.6.7.8 22 22 6 1 1 1 1 ACCEPT OK extra", 55, "", "found more"},
		{"2 123 eni-1 1.2.3.4 5.6.7.8 22 22 6 1 1 1 1 ACCEPT OK #comment", 55, "", "comment"},
		{"2 123 eni-1 1.2.3.4 5.6.7.8 22 22 6 1 1 1 1 ACCEPT", 51, "log-status", "expected 14 fields, found 13"},
		{"2 123 eni-1 1.2.3.400 5.6.7.8 22 22 6 1 1 1 1 ACCEPT OK", 13, "srcaddr", "address"},
		{"2 123 eni-1 1.2.3.4 5.6.7.8 22 70000 6 1 1 1 1 ACCEPT OK", 32, "dstport", "range"},
		{"2 123 eni-1 1.2.3.4 5.6.7.8 22 22 6 1 1 1 1 ALLOW OK", 45, "action", "ACCEPT"},
		{"2 123 eni-1 1.2.3.4 5.6.7.8 22 22 6 1 1 1 1 ACCEPT -", 52, "log-status", "required"},
		{"2 123 eni-1 fe80::1%eth0 5.6.7.8 22 22 6 1 1 1 1 ACCEPT OK", 13, "srcaddr", "address"},
		{"2 12\x013 eni-1 1.2.3.4 5.6.7.8 22 22 6 1 1 1 1 ACCEPT OK", 3, "account-id", "control"},
	} {
		var r Record
		err := NewDecoder(DefaultFormat).Decode([]byte(tc.line), &r)
		se, ok := err.(*SyntaxError)
		if !ok {
			t.Errorf("%q: err = %v, want *SyntaxError", tc.line, err)
			continue
		}
		if se.Column != tc.column || se.Field != tc.field || !strings.Contains(se.Error(), tc.msg) {
			t.Errorf("%q: got column %d field %q %q; want column %d field %q containing %q",
				tc.line, se.Column, se.Field, se.Error(), tc.column, tc.field, tc.msg)
		}
	}
}

func TestDecodeOddities(t *testing.T) {
	want := goldenVectors[0].line
	for _, line := range []string{
		want + "\r",
		"2  123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
		"2\t123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK  ",
		"  " + want,
	} {
		r := decodeGolden(t, "", line, false)
		if got := Text(DefaultFormat, &r); got != want {
			t.Errorf("%q re-encoded as %q", line, got)
		}
	}
}
