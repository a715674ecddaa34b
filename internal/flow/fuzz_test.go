package flow

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fuzzFormats are the formats FuzzDecodeLine picks from (its first input).
var fuzzFormats = []string{"", fmt75, fmt76, fmt77, fmt78, fmt79,
	"${version} ${account-id} ${interface-id} ${ecs-cluster-arn} ${reject-reason} ${resource-id} ${instance-tag} ${next-hop-interface-type} ${sublocation-type} ${region}",
	extFormat}

// FuzzDecodeLine checks that decoding never panics and that a decoded
// record round-trips: encode → decode gives the same record and the same
// text, and the JSON rendering is valid JSON.
func FuzzDecodeLine(f *testing.F) {
	for _, v := range goldenVectors {
		for i, s := range fuzzFormats {
			if s == v.format && !v.comments {
				f.Add(uint8(i), v.line)
			}
		}
	}
	f.Add(uint8(0), "2 unknown eni-1 10.0.0.1 10.0.0.2 007 5000 6 1 40 1 2 ACCEPT OK\r")
	ext := uint8(len(fuzzFormats) - 1) // extFormat
	f.Add(ext, "2 eni-0a 10.0.0.10 203.0.113.12 REJECT nacl acl-0d00000000000000b/egress/* OK")
	f.Add(ext, "2 eni-0a 203.0.113.12 10.0.0.10 ACCEPT - - OK")
	f.Fuzz(func(t *testing.T, which uint8, line string) {
		format, err := ParseFormat(fuzzFormats[int(which)%len(fuzzFormats)])
		if err != nil {
			t.Fatal(err)
		}
		var r1, r2 Record
		if err := NewDecoder(format).Decode([]byte(line), &r1); err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("error %v is %T, want *SyntaxError", err, err)
			}
			return
		}
		text := AppendText(nil, format, &r1)
		if err := NewDecoder(format).Decode(text, &r2); err != nil {
			t.Fatalf("re-decode %q (from %q): %v", text, line, err)
		}
		if diff := cmp.Diff(r1, r2, recordCmp...); diff != "" {
			t.Fatalf("round trip of %q via %q (-first +second):\n%s", line, text, diff)
		}
		if again := AppendText(nil, format, &r2); string(again) != string(text) {
			t.Fatalf("encoding not stable: %q then %q", text, again)
		}
		if js := AppendJSON(nil, format, &r1); !json.Valid(js) {
			t.Fatalf("invalid JSON %s", js)
		}
	})
}

// FuzzParseFormat checks that ParseFormat never panics, returns a
// *FormatError on failure, and that a parsed format spells itself back
// (String, Header) to the same format.
func FuzzParseFormat(f *testing.F) {
	for _, s := range fuzzFormats {
		f.Add(s)
	}
	f.Add("${srcaddr}  ${dstaddr}")
	f.Add("${srcaddr} ${srcaddr}")
	f.Add("${srcaddr},${dstaddr}")
	f.Add("${nope}")
	f.Add("${srcaddr")
	f.Add("srcaddr dstaddr")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseFormat(s)
		if err != nil {
			fe, ok := err.(*FormatError)
			if !ok {
				t.Fatalf("error %v is %T, want *FormatError", err, err)
			}
			if fe.Offset < 0 || fe.Offset > len(s) {
				t.Fatalf("offset %d outside %q", fe.Offset, s)
			}
			return
		}
		again, err := ParseFormat(got.String())
		if err != nil || !again.Equal(got) {
			t.Fatalf("String() %q does not parse back: %v", got.String(), err)
		}
		hdr, err := ParseHeader(got.Header())
		if err != nil || !hdr.Equal(got) || hdr.Version() != got.Version() {
			t.Fatalf("Header() %q does not parse back: %v", got.Header(), err)
		}
	})
}
