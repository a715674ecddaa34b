package topn

import (
	"strings"
	"testing"
)

// Every rule validation error names the rule element (spec §9.3 limits).
func TestRuleErrors(t *testing.T) {
	const head = `"Schema": {"Name": "CloudWatchLogRule", "Version": 1}, "LogGroupNames": ["/g"], "LogFormat": "CLF",`
	const fields = `"Fields": {"3": "eni", "4": "src", "5": "dst", "7": "dport", "10": "bytes"},`
	tests := []struct {
		name, rule, want string
	}{
		{"schema", `{"Schema": {"Name": "CloudWatchLogRule", "Version": 2}, "LogGroupNames": ["/g"], "LogFormat": "CLF", ` + fields + ` "Contribution": {"Keys": ["src"]}, "AggregateOn": "Count"}`,
			`rule: Schema: must be {"Name": "CloudWatchLogRule", "Version": 1}, got {"Name": "CloudWatchLogRule", "Version": 2}`},
		{"no log group", `{"Schema": {"Name": "CloudWatchLogRule", "Version": 1}, "LogFormat": "CLF", ` + fields + ` "Contribution": {"Keys": ["src"]}, "AggregateOn": "Count"}`,
			"rule: LogGroupNames: at least one log group name is required"},
		{"log format", `{"Schema": {"Name": "CloudWatchLogRule", "Version": 1}, "LogGroupNames": ["/g"], "LogFormat": "TSV", ` + fields + ` "Contribution": {"Keys": ["src"]}, "AggregateOn": "Count"}`,
			`rule: LogFormat: must be "CLF" or "JSON", got "TSV"`},
		{"position", `{` + head + ` "Fields": {"0": "src"}, "Contribution": {"Keys": ["src"]}, "AggregateOn": "Count"}`,
			`rule: Fields.0: position must be an integer from 1, got "0"`},
		{"five keys", `{` + head + fields + ` "Contribution": {"Keys": ["eni", "src", "dst", "dport", "bytes"]}, "AggregateOn": "Count"}`,
			"rule: Contribution.Keys: needs 1 to 4 keys, got 5"},
		{"ValueOf with Count", `{` + head + fields + ` "Contribution": {"Keys": ["src"], "ValueOf": "bytes"}, "AggregateOn": "Count"}`,
			`rule: Contribution.ValueOf: applies only with "AggregateOn": "Sum"`},
		{"aggregation", `{` + head + fields + ` "Contribution": {"Keys": ["src"]}, "AggregateOn": "Max"}`,
			`rule: AggregateOn: must be "Count" or "Sum", got "Max"`},
		{"five filters", `{` + head + fields + ` "Contribution": {"Keys": ["src"], "Filters": [` +
			strings.Repeat(`{"Match": "dport", "EqualTo": 1},`, 4) + `{"Match": "dport", "EqualTo": 1}]}, "AggregateOn": "Count"}`,
			"rule: Contribution.Filters: at most 4 filters, got 5"},
		{"two operators", `{` + head + fields + ` "Contribution": {"Keys": ["src"], "Filters": [{"Match": "dport", "EqualTo": 22, "LessThan": 30}]}, "AggregateOn": "Count"}`,
			"rule: Contribution.Filters[0]: needs exactly one of In, NotIn, StartsWith, GreaterThan, LessThan, EqualTo, NotEqualTo, IsPresent; got 2"},
		{"eleven strings", `{` + head + fields + ` "Contribution": {"Keys": ["src"], "Filters": [{"Match": "src", "In": ["1","2","3","4","5","6","7","8","9","10","11"]}]}, "AggregateOn": "Count"}`,
			"rule: Contribution.Filters[0].In: needs 1 to 10 values, got 11"},
		{"JSON path", `{"Schema": {"Name": "CloudWatchLogRule", "Version": 1}, "LogGroupNames": ["/g"], "LogFormat": "JSON", "Contribution": {"Keys": ["srcaddr"]}, "AggregateOn": "Count"}`,
			`rule: Contribution.Keys[0]: JSON rules name fields as $.path, got "srcaddr"`},
		{"log group wildcard", `{"Schema": {"Name": "CloudWatchLogRule", "Version": 1}, "LogGroupNames": ["/g", "/aws/*/flowlogs"], "LogFormat": "CLF", ` + fields + ` "Contribution": {"Keys": ["src"]}, "AggregateOn": "Count"}`,
			`rule: LogGroupNames[1]: a * wildcard may only end a log group name, got "/aws/*/flowlogs"`},
		{"CLF position", `{` + head + fields + ` "Contribution": {"Keys": ["0"]}, "AggregateOn": "Count"}`,
			`rule: Contribution.Keys[0]: "0" is not one of the names in Fields`},
		{"JSON index", `{"Schema": {"Name": "CloudWatchLogRule", "Version": 1}, "LogGroupNames": ["/g"], "LogFormat": "JSON", "Contribution": {"Keys": ["$.a[x]"]}, "AggregateOn": "Count"}`,
			`rule: Contribution.Keys[0]: JSON rules name fields as $.path, got "$.a[x]"`},
		{"unknown member", `{` + head + fields + ` "Contribution": {"Keys": ["src"]}, "AggregateOn": "Count", "Extra": 1}`,
			`rule: unknown member "Extra"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRule([]byte(tc.rule))
			if err == nil || err.Error() != tc.want {
				t.Errorf("ParseRule error = %v\nwant %s", err, tc.want)
			}
		})
	}
}
