package flow

import (
	"errors"
	"net/netip"
	"testing"
)

func TestRoundTripBasics(t *testing.T) {
	tcpFmt, err := ParseFormat("${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ${protocol} ${bytes} ${packets} ${start} ${end} ${action} ${tcp-flags} ${log-status}")
	if err != nil {
		t.Fatal(err)
	}
	if tcpFmt.Version() != 3 {
		t.Errorf("version = %d, want 3", tcpFmt.Version())
	}
	cases := []struct {
		f    Format
		line string
	}{
		{DefaultFormat, "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"},
		{DefaultFormat, "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA"},
		{DefaultFormat, "2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK"},
		{tcpFmt, "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43638 10.0.0.62 52.213.180.42 6 967 14 1566933133 1566933193 ACCEPT 19 OK"},
	}
	d := NewDecoder(DefaultFormat)
	for _, tc := range cases {
		d = NewDecoder(tc.f)
		var r Record
		if err := d.Decode([]byte(tc.line), &r); err != nil {
			t.Fatalf("%q: %v", tc.line, err)
		}
		if got := Text(tc.f, &r); got != tc.line {
			t.Errorf("round trip\n got %s\nwant %s", got, tc.line)
		}
	}
	var r Record
	err = NewDecoder(DefaultFormat).Decode([]byte("2 123 eni-1 1.2.3.4 5.6.7.8 x 22 6 1 1 1 1 ACCEPT OK"), &r)
	var se *SyntaxError
	if !errors.As(err, &se) || se.Column != 29 || se.Field != "srcport" {
		t.Errorf("err = %v", err)
	}
	if _, err := ParseFormat("${srcaddr} ${nope}"); err == nil || !errors.Is(err, ErrFormat) {
		t.Errorf("unknown field err = %v", err)
	}
	if TCPFlagsAWS(0x12) != 18 || TCPFlagsAWS(0x10) != 0 || TCPFlagsAWS(0x42) != 2 || TCPFlagsAWS(0x11) != 1 {
		t.Error("tcp flags rule")
	}
}

func TestParseAddrMatchesNetip(t *testing.T) {
	for _, s := range []string{"1.2.3.4", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5",
		"1..2.3", ".1.2.3", "1.2.3.", "1.2.3.04", "10.0.0.220", "::", "::1", "2001:db8::1", "::ffff:10.0.0.1",
		"fe80::1%eth0", "2001:db8:1234:a100:8d6e:3477:df66:f105", "1:2:3:4:5:6:7:8:9", "abc", "", "1.2.3.4a", "1.2.3.-"} {
		got, ok := parseAddr([]byte(s))
		want, err := netip.ParseAddr(s)
		wantOK := err == nil && want.Zone() == ""
		if ok != wantOK || (ok && got != want) {
			t.Errorf("parseAddr(%q) = %v, %v; netip says %v, %v", s, got, ok, want, err)
		}
	}
}
