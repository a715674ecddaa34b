package flow

import (
	"encoding/json"
	"strings"
	"testing"
)

const extFormat = "${version} ${interface-id} ${srcaddr} ${dstaddr} ${action} ${vpcflow-decision-layer} ${vpcflow-decision-rule} ${log-status}"

// TestExtensionFieldsRegistry: the two vpcflow fields are opt-in string
// fields with '_' column names, no version, never in the default format.
func TestExtensionFieldsRegistry(t *testing.T) {
	for _, tc := range []struct {
		id           FieldID
		name, column string
	}{
		{FieldDecisionLayer, "vpcflow-decision-layer", "vpcflow_decision_layer"},
		{FieldDecisionRule, "vpcflow-decision-rule", "vpcflow_decision_rule"},
	} {
		f := tc.id.Info()
		if f.Name != tc.name || f.Column != tc.column || f.Parquet != "STRING" || f.Kind != KindString || !f.Extension || f.Version != 0 {
			t.Errorf("%d: %+v", tc.id, f)
		}
		if id, ok := LookupField(tc.name); !ok || id != tc.id {
			t.Errorf("LookupField(%q) = %v, %v", tc.name, id, ok)
		}
		if id, ok := LookupColumn(tc.column); !ok || id != tc.id {
			t.Errorf("LookupColumn(%q) = %v, %v", tc.column, id, ok)
		}
		if DefaultFormat.Contains(tc.id) {
			t.Errorf("%s is in the default format", tc.name)
		}
	}
	for _, f := range Fields() {
		if f.Extension != strings.HasPrefix(f.Name, "vpcflow-") {
			t.Errorf("%s: Extension = %v; extensions, and only they, are named vpcflow-*", f.Name, f.Extension)
		}
	}
}

// TestExtensionFieldsVersionRule: extension fields do not count towards
// the version; a format of AWS fields plus extensions has the AWS version.
func TestExtensionFieldsVersionRule(t *testing.T) {
	for _, tc := range []struct {
		format string
		want   int32
	}{
		{extFormat, 2},
		{"${vpcflow-decision-rule} ${vpc-id}", 3},
		{"${flow-direction} ${vpcflow-decision-layer}", 5},
	} {
		if got := mustParseFormat(t, tc.format).Version(); got != tc.want {
			t.Errorf("Version(%q) = %d, want %d", tc.format, got, tc.want)
		}
	}
}

// TestExtensionFieldsCodec: the fields decode, keep "-" and re-encode in
// text, JSON and CSV; the header names them and parses back.
func TestExtensionFieldsCodec(t *testing.T) {
	f := mustParseFormat(t, extFormat)
	if got := f.String(); got != extFormat {
		t.Errorf("String() = %q", got)
	}
	const header = "version interface-id srcaddr dstaddr action vpcflow-decision-layer vpcflow-decision-rule log-status"
	if got := f.Header(); got != header {
		t.Errorf("Header() = %q", got)
	}
	if h, err := ParseHeader(header); err != nil || !h.Equal(f) || h.Version() != 2 {
		t.Errorf("ParseHeader = %q, %v", h.String(), err)
	}
	for _, tc := range []struct {
		line, layer, rule string
	}{
		{"2 eni-0a 10.0.0.10 203.0.113.12 REJECT nacl acl-0d00000000000000b/egress/* OK", "nacl", "acl-0d00000000000000b/egress/*"},
		{"2 eni-0a 10.0.0.10 203.0.113.12 REJECT sg sg-0a,sg-0b/ingress/no-rule OK", "sg", "sg-0a,sg-0b/ingress/no-rule"},
		{"2 eni-0a 203.0.113.12 10.0.0.10 ACCEPT - - OK", "", ""},
		{"2 eni-0a - - - - - NODATA", "", ""},
	} {
		r, err := DecodeLine(f, tc.line)
		if err != nil {
			t.Fatalf("%q: %v", tc.line, err)
		}
		if r.String(FieldDecisionLayer) != tc.layer || r.String(FieldDecisionRule) != tc.rule {
			t.Errorf("%q: layer %q rule %q", tc.line, r.String(FieldDecisionLayer), r.String(FieldDecisionRule))
		}
		if got := Text(f, &r); got != tc.line {
			t.Errorf("re-encoded %q, want %q", got, tc.line)
		}
		var obj map[string]any
		if err := json.Unmarshal(AppendJSON(nil, f, &r), &obj); err != nil {
			t.Fatal(err)
		}
		if tc.rule == "" && (obj["vpcflow-decision-layer"] != nil || obj["vpcflow-decision-rule"] != nil) ||
			tc.rule != "" && (obj["vpcflow-decision-layer"] != tc.layer || obj["vpcflow-decision-rule"] != tc.rule) {
			t.Errorf("%q: JSON %v", tc.line, obj)
		}
		csv := string(AppendCSV(nil, f, &r))
		if tc.rule != "" && !strings.Contains(csv, ","+tc.layer+",") {
			t.Errorf("%q: CSV %s", tc.line, csv)
		}
	}
	if got := CSVHeader(f); !strings.Contains(got, ",vpcflow-decision-layer,vpcflow-decision-rule,") {
		t.Errorf("CSV header %q", got)
	}
}

// TestDecodeEncodeAllocs: the default format decodes and encodes without
// allocating once the decoder has seen the values; so does a format with
// the extension fields once the record holds its extras array.
func TestDecodeEncodeAllocs(t *testing.T) {
	ext := mustParseFormat(t, extFormat)
	for _, tc := range []struct {
		f     Format
		lines [][]byte
	}{
		{DefaultFormat, benchLines},
		{ext, [][]byte{
			[]byte("2 eni-0a 10.0.0.10 203.0.113.12 REJECT nacl acl-0d00000000000000b/egress/* OK"),
			[]byte("2 eni-0a 203.0.113.12 10.0.0.10 ACCEPT - - OK"),
		}},
	} {
		d := NewDecoder(tc.f)
		var r Record
		buf := make([]byte, 0, 512)
		for _, l := range tc.lines { // warm the intern table
			if err := d.Decode(l, &r); err != nil {
				t.Fatal(err)
			}
		}
		i := 0
		allocs := testing.AllocsPerRun(100, func() {
			if err := d.Decode(tc.lines[i%len(tc.lines)], &r); err != nil {
				t.Fatal(err)
			}
			buf = AppendText(buf[:0], tc.f, &r)
			buf = AppendCSV(buf[:0], tc.f, &r)
			buf = AppendJSON(buf[:0], tc.f, &r)
			i++
		})
		if allocs != 0 {
			t.Errorf("%q: %v allocs per decode+encode, want 0", tc.f.Header(), allocs)
		}
	}
}
