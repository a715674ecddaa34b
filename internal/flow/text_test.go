package flow

import (
	"errors"
	"net/netip"
	"strings"
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

// An integer too large for its field is out of range, however many digits
// it has (20 digits and more used to read as "not an integer").
func TestIntegerOutOfRange(t *testing.T) {
	f, err := ParseFormat("${bytes} ${srcport}")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ line, want string }{
		{"18446744073709551615 1", `column 1: field bytes: value out of range 0-9223372036854775807 (got "18446744073709551615")`},
		{"9223372036854775808 1", `column 1: field bytes: value out of range 0-9223372036854775807 (got "9223372036854775808")`},
		{"99999999999999999999999 1", `column 1: field bytes: value out of range 0-9223372036854775807 (got "99999999999999999999999")`},
		{"1 000000000000000000065536", `column 3: field srcport: value out of range 0-65535 (got "000000000000000000065536")`},
		{"1 -1", `column 3: field srcport: expected a non-negative integer (got "-1")`},
		{"1 1234567890123456789012x", `column 3: field srcport: expected a non-negative integer (got "1234567890123456789012x")`},
	} {
		var r Record
		if err := NewDecoder(f).Decode([]byte(tc.line), &r); err == nil || err.Error() != tc.want {
			t.Errorf("%q: %v\nwant %s", tc.line, err, tc.want)
		}
	}
	// Leading zeros do not count, at any length.
	r, err := DecodeLine(f, "00000000000000000000009223372036854775807 0000000000000000000000080")
	if err != nil || r.Bytes != 1<<63-1 || r.SrcPort != 80 {
		t.Errorf("leading zeros: %+v %v", r, err)
	}
}

func TestQuoteTokenCutsLongInput(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"abc", `"abc"`},
		{strings.Repeat("x", 64), `"` + strings.Repeat("x", 64) + `"`},
		{strings.Repeat("x", 65), `"` + strings.Repeat("x", 64) + `"… (65 bytes)`},
		// Cut at a rune boundary: 63 x then a 2-byte rune.
		{strings.Repeat("x", 63) + "é" + "yy", `"` + strings.Repeat("x", 63) + `"… (67 bytes)`},
		{"\x00\xff", `"\x00\xff"`},
	} {
		if got := QuoteToken(tc.in); got != tc.want {
			t.Errorf("QuoteToken(%.20q…) = %s, want %s", tc.in, got, tc.want)
		}
	}
	long := strings.Repeat("y", 5<<20)
	_, err := DecodeLine(DefaultFormat, "2 123 eni-1 1.2.3.4 5.6.7.8 1 22 6 1 1 1 1 ACCEPT OK "+long)
	if err == nil || len(err.Error()) > 160 {
		t.Errorf("extra token error is %d bytes", len(errString(err)))
	}
	_, err = DecodeLine(DefaultFormat, long)
	if err == nil || len(err.Error()) > 160 {
		t.Errorf("bad field error is %d bytes", len(errString(err)))
	}
	_, err = ParseHeader("srcaddr " + long)
	if err == nil || len(err.Error()) > 160 {
		t.Errorf("header error is %d bytes", len(errString(err)))
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
