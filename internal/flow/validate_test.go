package flow

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestDefaultFormatIsAWSv2 checks the default format against the LogFormat
// DescribeFlowLogs returns for it (spec §2.1) and its header line.
func TestDefaultFormatIsAWSv2(t *testing.T) {
	const want = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}"
	if got := DefaultFormat.String(); got != want {
		t.Errorf("DefaultFormat = %q, want %q", got, want)
	}
	if got := DefaultFormat.Header(); got != strings.NewReplacer("${", "", "}", "").Replace(want) {
		t.Errorf("header = %q", got)
	}
	if DefaultFormat.Version() != 2 {
		t.Errorf("default version = %d, want 2", DefaultFormat.Version())
	}
	for _, id := range DefaultFormat.Fields() {
		if v := id.Info().Version; v != 2 {
			t.Errorf("%s is a v%d field in the default format", id, v)
		}
	}
	// An empty LogFormat means the default, as in CreateFlowLogs.
	if f, err := ParseFormat(""); err != nil || !f.Equal(DefaultFormat) {
		t.Errorf("ParseFormat(\"\") = %q, %v", f.String(), err)
	}
}

// TestFormatVersionRule: the version is the highest version among the
// format's fields (spec §1.1, fact 1); there is no version 6 field.
func TestFormatVersionRule(t *testing.T) {
	for _, tc := range []struct {
		format string
		want   int32
	}{
		{"${srcaddr}", 2},
		{"${srcaddr} ${vpc-id}", 3},
		{"${vpc-id} ${srcaddr} ${region}", 4},
		{"${version} ${flow-direction}", 5},
		{"${ecs-task-id} ${version}", 7},
		{"${reject-reason}", 8},
		{"${resource-id} ${srcaddr}", 9},
		{"${encryption-status}", 10},
		{"${next-hop-vpc-id} ${version}", 11},
	} {
		if got := mustParseFormat(t, tc.format).Version(); got != tc.want {
			t.Errorf("Version(%q) = %d, want %d", tc.format, got, tc.want)
		}
	}
	for _, f := range Fields() {
		if f.Version == 6 {
			t.Errorf("%s has version 6, which belongs to transit gateway flow logs", f.Name)
		}
	}
}

// TestParseFormatErrors: a bad LogFormat names the byte offset and the
// offending field, as CreateFlowLogs validation needs.
func TestParseFormatErrors(t *testing.T) {
	for _, tc := range []struct {
		name, format string
		offset       int
		field, msg   string
	}{
		{"unknown field", "${version} ${srcadr}", 11, "srcadr", "unknown field"},
		{"duplicate", "${srcaddr} ${dstaddr} ${srcaddr}", 22, "srcaddr", "duplicate field"},
		{"comma separator", "${srcaddr},${dstaddr}", 10, "", "single space"},
		{"double space", "${srcaddr}  ${dstaddr}", 11, "", "expected ${field}"},
		{"tab separator", "${srcaddr}\t${dstaddr}", 10, "", "single space"},
		{"literal text", "${srcaddr} to ${dstaddr}", 11, "to", "expected ${field}"},
		{"bare name", "srcaddr dstaddr", 0, "srcaddr", "expected ${field}"},
		{"unterminated", "${srcaddr} ${dstaddr", 11, "${dstaddr", "unterminated"},
		{"trailing space", "${srcaddr} ", 10, "", "trailing space"},
		{"leading space", " ${srcaddr}", 0, "", "expected ${field}"},
		{"empty name", "${}", 0, "", "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFormat(tc.format)
			var fe *FormatError
			if !errors.As(err, &fe) || !errors.Is(err, ErrFormat) {
				t.Fatalf("err = %v, want a *FormatError", err)
			}
			if fe.Offset != tc.offset || fe.Field != tc.field || !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("got offset %d field %q msg %q; want offset %d field %q msg containing %q",
					fe.Offset, fe.Field, fe.Msg, tc.offset, tc.field, tc.msg)
			}
			if !strings.Contains(err.Error(), "offset ") {
				t.Errorf("message %q does not name the offset", err)
			}
		})
	}
	// Header lines (S3 objects) name the offset of a bad field too.
	for _, tc := range []struct {
		header string
		offset int
		field  string
	}{
		{"version account-id nope", 19, "nope"},
		{"srcaddr dstaddr srcaddr", 16, "srcaddr"},
	} {
		_, err := ParseHeader(tc.header)
		var fe *FormatError
		if !errors.As(err, &fe) || fe.Offset != tc.offset || fe.Field != tc.field {
			t.Errorf("ParseHeader(%q) = %v", tc.header, err)
		}
	}
}

// TestEnumerationsValidated: every enumerated field accepts exactly AWS's
// values (spec §1.3), and rejects others with the field's name.
func TestEnumerationsValidated(t *testing.T) {
	for _, tc := range []struct {
		field string
		good  []string
		bad   []string
	}{
		{"action", []string{"ACCEPT", "REJECT", "-"}, []string{"accept", "ALLOW", "DENY", "0"}},
		{"log-status", []string{"OK", "NODATA", "SKIPDATA"}, []string{"ok", "-", "NO_DATA", "ERROR"}},
		{"flow-direction", []string{"ingress", "egress", "-"}, []string{"Ingress", "EGRESS", "in", "0"}},
		{"traffic-path", []string{"1", "2", "3", "4", "5", "6", "7", "8", "-"}, []string{"0", "9", "10", "x"}},
		{"type", []string{"IPv4", "IPv6", "EFA", "-"}, []string{"ipv4", "IPV6", "efa", "4"}},
		{"sublocation-type", []string{"wavelength", "outpost", "localzone", "-"}, []string{"Outpost", "local-zone", "region"}},
		{"pkt-src-aws-service", []string{"S3", "AMAZON", "EC2_INSTANCE_CONNECT", "ROUTE53_HEALTHCHECKS_PUBLISHING", "-"}, []string{"s3", "Amazon", "EC2-CONNECT", "S3!"}},
		{"pkt-dst-aws-service", []string{"DYNAMODB", "-"}, []string{"dynamodb"}},
		{"reject-reason", []string{"BPA", "EC", "-"}, []string{"bpa", "SG", "NACL"}},
		{"encryption-status", []string{"0", "1", "2", "3", "-"}, []string{"4", "x"}},
		{"tcp-flags", []string{"0", "1", "2", "18", "19", "255", "-"}, []string{"256", "-1", "SYN"}},
		{"protocol", []string{"0", "1", "6", "17", "255"}, []string{"256", "tcp"}},
		{"srcport", []string{"0", "65535"}, []string{"65536", "-1"}},
		{"version", []string{"2", "5"}, []string{"-", "v2"}},
	} {
		t.Run(tc.field, func(t *testing.T) {
			f := mustParseFormat(t, "${"+tc.field+"}")
			d := NewDecoder(f)
			var r Record
			for _, v := range tc.good {
				if err := d.Decode([]byte(v), &r); err != nil {
					t.Errorf("%q rejected: %v", v, err)
					continue
				}
				// A valid value re-encodes to the same token.
				if got := Text(f, &r); got != v {
					t.Errorf("%q re-encoded as %q", v, got)
				}
			}
			for _, v := range tc.bad {
				err := d.Decode([]byte(v), &r)
				var se *SyntaxError
				if !errors.As(err, &se) || se.Field != tc.field || se.Column != 1 || se.Token != v {
					t.Errorf("%q: err = %v, want a SyntaxError on field %s at column 1", v, err, tc.field)
				}
			}
		})
	}
}

// TestDashDistinctFromZero: "-" and 0 (or an empty value) are different
// values in every field that can hold both, and both round-trip.
func TestDashDistinctFromZero(t *testing.T) {
	f := mustParseFormat(t, "${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${tcp-flags} ${encryption-status}")
	zero, err := DecodeLine(f, "0 0 0 0 0 0 0")
	if err != nil {
		t.Fatal(err)
	}
	dash, err := DecodeLine(f, "- - - - - - -")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range f.Fields() {
		v, ok := zero.Int(id)
		if !ok || v != 0 {
			t.Errorf("%s: 0 decoded as %d, present %v", id, v, ok)
		}
		if _, ok := dash.Int(id); ok {
			t.Errorf("%s: '-' decoded as present", id)
		}
	}
	if Text(f, &zero) != "0 0 0 0 0 0 0" || Text(f, &dash) != "- - - - - - -" {
		t.Errorf("round trip: %q / %q", Text(f, &zero), Text(f, &dash))
	}
	if bytes.Equal(AppendJSON(nil, f, &zero), AppendJSON(nil, f, &dash)) {
		t.Error("JSON of 0 and '-' are equal")
	}
}

// TestJSONTypedValues: JSON keys are the AWS field names in format order,
// integers are numbers with the exact value (int64 included), addresses
// and ids are strings, "-" is null.
func TestJSONTypedValues(t *testing.T) {
	f := mustParseFormat(t, fmt78)
	r := decodeGolden(t, fmt78, goldenVectors[26].line, false)
	dec := json.NewDecoder(bytes.NewReader(AppendJSON(nil, f, &r)))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		t.Fatal(err)
	}
	if len(obj) != f.Len() {
		t.Errorf("%d keys, want %d", len(obj), f.Len())
	}
	tokens := strings.Fields(goldenVectors[26].line)
	for i, id := range f.Fields() {
		v, ok := obj[id.String()]
		if !ok {
			t.Errorf("key %q missing", id)
			continue
		}
		switch kind := id.Info().Kind; {
		case tokens[i] == "-":
			if v != nil {
				t.Errorf("%s = %v, want null", id, v)
			}
		case kind == KindInt32 || kind == KindInt64:
			if n, ok := v.(json.Number); !ok || n.String() != tokens[i] {
				t.Errorf("%s = %#v, want the number %s", id, v, tokens[i])
			}
		default:
			if s, ok := v.(string); !ok || s != tokens[i] {
				t.Errorf("%s = %#v, want the string %q", id, v, tokens[i])
			}
		}
	}
	// Keys appear in format order.
	js := string(AppendJSON(nil, f, &r))
	last := -1
	for _, id := range f.Fields() {
		at := strings.Index(js, `"`+id.String()+`":`)
		if at < last {
			t.Errorf("key %s out of format order in %s", id, js)
		}
		last = at
	}
	// Large int64 values keep every digit.
	big := mustParseFormat(t, "${bytes}")
	rb, err := DecodeLine(big, "9223372036854775807")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(AppendJSON(nil, big, &rb)); got != `{"bytes":9223372036854775807}` {
		t.Errorf("JSON = %s", got)
	}
}

// TestV9toV11Fields: the newer optional fields (resource-id, encryption-
// status, tag and next-hop fields) decode, keep "-" and re-encode, in text,
// JSON and CSV.
func TestV9toV11Fields(t *testing.T) {
	f := mustParseFormat(t, "${version} ${interface-id} ${resource-id} ${encryption-status} ${instance-tag} ${instance-tag-2} ${interface-tag} ${interface-tag-2} ${asg-tag} ${asg-tag-2} ${interface-type} ${next-hop-interface-id} ${next-hop-subnet-id} ${next-hop-az-id} ${next-hop-vpc-id} ${next-hop-interface-type}")
	if f.Version() != 11 {
		t.Errorf("version = %d, want 11", f.Version())
	}
	for _, line := range []string{
		"11 - nat-0123456789abcdef0 1 web%20server prod - team-a web-asg - regional_nat_gateway eni-0aaa subnet-0bbb use1-az1 vpc-0ccc regional_nat_gateway",
		"11 eni-0123 - - - - - - - - - - - - - -",
	} {
		r, err := DecodeLine(f, line)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if got := Text(f, &r); got != line {
			t.Errorf("re-encoded %q, want %q", got, line)
		}
		var obj map[string]any
		if err := json.Unmarshal(AppendJSON(nil, f, &r), &obj); err != nil {
			t.Fatal(err)
		}
		for i, tok := range strings.Fields(line) {
			id := f.Fields()[i]
			if (tok == "-") != (obj[id.String()] == nil) {
				t.Errorf("%s: token %q, JSON %v", id, tok, obj[id.String()])
			}
		}
	}
	r, _ := DecodeLine(f, "11 - nat-0123456789abcdef0 1 web%20server prod - team-a web-asg - regional_nat_gateway eni-0aaa subnet-0bbb use1-az1 vpc-0ccc regional_nat_gateway")
	if r.Has(FieldInterfaceID) || r.String(FieldResourceID) != "nat-0123456789abcdef0" || r.EncryptionStatus != 1 ||
		r.String(FieldInstanceTag) != "web%20server" || r.Has(FieldInterfaceTag) || r.String(FieldNextHopAZID) != "use1-az1" {
		t.Errorf("decoded %+v %+v", r, r.Other)
	}
}
