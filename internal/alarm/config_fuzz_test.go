package alarm

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"vpcflow/internal/logstore"
)

// FuzzParseConfig feeds arbitrary YAML to ParseConfig and an arbitrary log
// event to every engine built from an accepted configuration. It checks
// that
//   - a rejected configuration is a *ConfigError (errors.Is
//     ErrInvalidConfig), and the same input always gives the same
//     validation message (the first bad element, not a random one);
//   - an accepted configuration marshals back to YAML that parses to the
//     same configuration, and New accepts it;
//   - ingesting the event never panics.
func FuzzParseConfig(f *testing.F) {
	if b, err := os.ReadFile("testdata/ssh-rdp-reject.yaml"); err == nil {
		f.Add(b, "2 123456789012 eni-1 198.51.100.7 10.0.0.5 40000 22 6 1 40 1700000000 1700000060 REJECT OK")
	}
	f.Add([]byte("alarms:\n  - alarmName: a\n    nope: 1\n"), "")
	f.Add([]byte("topics: [{name: t}]\nalarms:\n  - {alarmName: a, namespace: n, metricName: m, statistic: Sum, period: 60, evaluationPeriods: 1, comparisonOperator: GreaterThanThreshold, alarmActions: [x], okActions: [y]}\n"), "")
	f.Add([]byte("metricFilters:\n  - filterName: j\n    filterPattern: '{ $.ok IS TRUE }'\n    metricTransformations: [{metricNamespace: n, metricName: m, metricValue: $.ms, dimensions: {A: $.a, B: $b}}]\n"), `{"ok": true, "ms": 12.5, "a": "x"}`)
	f.Fuzz(func(t *testing.T, data []byte, msg string) {
		cfg, err := ParseConfig(data)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error %v is %T, want *ConfigError", err, err)
			}
			// The YAML library picks one of several unknown keys at random;
			// validation errors (with a Path) must be stable.
			if _, err2 := ParseConfig(data); ce.Path != "" && (err2 == nil || err2.Error() != err.Error()) {
				t.Fatalf("same input, different errors:\n%v\n%v", err, err2)
			}
			return
		}
		out, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatalf("marshal accepted config: %v", err)
		}
		again, err := ParseConfig(out)
		if err != nil {
			t.Fatalf("marshalled config does not parse: %v\n%s", err, out)
		}
		if diff := cmp.Diff(cfg, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip changed the config (-first +again):\n%s\n%s", diff, out)
		}
		eng, err := New(cfg, Deps{Now: func() time.Time { return time.Unix(1700000000, 0) }})
		if err != nil {
			t.Fatalf("New rejects an accepted config: %v", err)
		}
		eng.SetNotify(false)
		eng.Ingest(&logstore.Event{LogGroup: "/vpc/flowlogs", LogStream: "eni-1-all", Timestamp: 1700000000000, Message: msg})
	})
}
