package topn

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"vpcflow/internal/logstore"
)

// FuzzParseRule feeds arbitrary bytes to ParseRule, and an arbitrary event
// to every rule it accepts. It checks that
//   - a rejected rule is a *RuleError (errors.Is ErrInvalidRule) whose
//     line and column, when set, lie inside the input;
//   - an accepted rule marshals back to JSON that parses to the same rule;
//   - evaluating the event gives the same report with and without the
//     cheap raw-text prefilter (needAny), which must never drop an event
//     that the filters would match.
func FuzzParseRule(f *testing.F) {
	files, _ := filepath.Glob("testdata/rules/*.json")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b, "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 REJECT OK")
		}
	}
	f.Add([]byte(`{"Schema":{"Name":"CloudWatchLogRule","Version":1},"LogGroupNames":["/app/*"],"LogFormat":"JSON",`+
		`"Contribution":{"Keys":["$.src.ip"],"ValueOf":"$.bytes","Filters":[{"Match":"$.action","In":["REJECT"]},{"Match":"$.port","StartsWith":["44"]}]},"AggregateOn":"Sum"}`),
		`{"src":{"ip":"10.0.0.1"},"action":"REJ\u0045CT","bytes":40,"port":443}`)
	f.Add([]byte("{\n  \"Schema\": {\"Name\": \"CloudWatchLogRule\", \"Version\": 1},\n  \"LogFormat\": 7\n}"), "")
	f.Add([]byte(`{"Schema":{"Name":"CloudWatchLogRule","Version":1}} {}`), "")
	f.Fuzz(func(t *testing.T, data []byte, msg string) {
		r, err := ParseRule(data)
		if err != nil {
			var re *RuleError
			if !errors.As(err, &re) || !errors.Is(err, ErrInvalidRule) {
				t.Fatalf("error %v is %T, want *RuleError", err, err)
			}
			if re.Line != 0 && (re.Line < 1 || re.Line > bytes.Count(data, []byte("\n"))+1 || re.Column < 1) {
				t.Fatalf("position %d:%d outside the input: %v", re.Line, re.Column, err)
			}
			return
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("marshal accepted rule: %v", err)
		}
		again, err := ParseRule(out)
		if err != nil {
			t.Fatalf("marshalled rule %s does not parse: %v", out, err)
		}
		if out2, _ := json.Marshal(again); !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed the rule:\n%s\n%s", out, out2)
		}
		ev := &logstore.Event{LogGroup: "", Timestamp: 1620000000000, Message: msg}
		with := NewEvaluator(r, Options{})
		with.Add(ev)
		plain := *r
		plain.needAny = nil
		without := NewEvaluator(&plain, Options{})
		without.Add(ev)
		if diff := cmp.Diff(without.Report(), with.Report()); diff != "" {
			t.Fatalf("prefilter changes the result for %q (-without +with):\n%s", msg, diff)
		}
	})
}
