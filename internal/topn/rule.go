// Package topn evaluates CloudWatch Contributor Insights rules (AWS's JSON
// rule syntax, spec §9.3) over flow log events: the top-N contributors per
// period and overall.
package topn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// ErrInvalidRule is wrapped by every rule error.
var ErrInvalidRule = errors.New("invalid contributor insights rule")

// RuleError is a rule that does not parse or validate. Line and Column
// (1-based) are set for JSON syntax errors; Path names the offending rule
// element ("Contribution.Filters[1].In") for validation errors.
type RuleError struct {
	Line, Column int
	Path         string
	Msg          string
}

func (e *RuleError) Error() string {
	switch {
	case e.Line > 0:
		return fmt.Sprintf("rule: line %d, column %d: %s", e.Line, e.Column, e.Msg)
	case e.Path != "":
		return fmt.Sprintf("rule: %s: %s", e.Path, e.Msg)
	}
	return "rule: " + e.Msg
}

// Unwrap makes errors.Is(err, ErrInvalidRule) hold.
func (e *RuleError) Unwrap() error { return ErrInvalidRule }

// Rule is a Contributor Insights rule body, field for field.
type Rule struct {
	Schema        Schema            `json:"Schema"`
	LogGroupNames []string          `json:"LogGroupNames"`
	LogGroupARNs  []string          `json:"LogGroupARNs,omitempty"`
	LogFormat     string            `json:"LogFormat"`
	Fields        map[string]string `json:"Fields,omitempty"`
	Contribution  Contribution      `json:"Contribution"`
	AggregateOn   string            `json:"AggregateOn"`

	keys    []accessor
	value   *accessor
	filters []filter
	maxPos  int // highest CLF position used, 0-based
	// needAny lists, per In/StartsWith filter of a CLF rule, strings of
	// which one must occur in the raw event for the filter to match: a
	// cheap test that rejects most events before they are split into
	// fields.
	needAny [][]string
}

// Schema must be {"Name": "CloudWatchLogRule", "Version": 1}.
type Schema struct {
	Name    string `json:"Name"`
	Version int    `json:"Version"`
}

// Contribution says what a contributor is and what it contributes.
type Contribution struct {
	Keys    []string `json:"Keys"`
	ValueOf string   `json:"ValueOf,omitempty"`
	Filters []Filter `json:"Filters"`
}

// Filter is one condition on a field; the filters of a rule are AND-ed.
// Exactly one operator is set.
type Filter struct {
	Match       string            `json:"Match"`
	In          []json.RawMessage `json:"In,omitempty"`
	NotIn       []json.RawMessage `json:"NotIn,omitempty"`
	StartsWith  []json.RawMessage `json:"StartsWith,omitempty"`
	GreaterThan *float64          `json:"GreaterThan,omitempty"`
	LessThan    *float64          `json:"LessThan,omitempty"`
	EqualTo     *float64          `json:"EqualTo,omitempty"`
	NotEqualTo  *float64          `json:"NotEqualTo,omitempty"`
	IsPresent   *bool             `json:"IsPresent,omitempty"`
}

// Limits from the Contributor Insights rule syntax.
const (
	MaxKeys          = 4
	MaxFilters       = 4
	MaxFilterStrings = 10
)

// ParseRule decodes and validates a rule. Syntax errors name the line and
// column; unknown members and invalid values name the rule element.
func ParseRule(data []byte) (*Rule, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Rule
	if err := dec.Decode(&r); err != nil {
		return nil, jsonError(data, err)
	}
	if dec.More() {
		off := int(dec.InputOffset())
		line, col := lineCol(data, off)
		return nil, &RuleError{Line: line, Column: col, Msg: "unexpected data after the rule object"}
	}
	if err := r.compile(); err != nil {
		return nil, err
	}
	return &r, nil
}

func jsonError(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := lineCol(data, int(se.Offset)-1)
		return &RuleError{Line: line, Column: col, Msg: "invalid JSON: " + se.Error()}
	case errors.As(err, &te):
		line, col := lineCol(data, int(te.Offset)-1)
		return &RuleError{Line: line, Column: col, Path: te.Field,
			Msg: fmt.Sprintf("%s must be %s, not a JSON %s", te.Field, te.Type, te.Value)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := lineCol(data, len(data))
		return &RuleError{Line: line, Column: col, Msg: "invalid JSON: unexpected end of input"}
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "json: unknown field ") {
		return &RuleError{Msg: "unknown member " + strings.TrimPrefix(msg, "json: unknown field ")}
	}
	return &RuleError{Msg: msg}
}

// lineCol turns a byte offset into a 1-based line and column.
func lineCol(data []byte, off int) (int, int) {
	if off < 0 {
		off = 0
	}
	if off > len(data) {
		off = len(data)
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

// accessor reads one field of an event: a CLF position or a JSON path.
type accessor struct {
	name string
	pos  int        // CLF: 0-based position
	path []pathStep // JSON: the steps after "$"
}

// pathStep is one step of a JSON property path: a member or an array
// element.
type pathStep struct {
	key   string
	index int // -1 for a member
}

// parseJSONPath parses JSON property format notation: $.a.b, $.a[0],
// $.a[1].b, $.a[0][2].
func parseJSONPath(name string) ([]pathStep, bool) {
	if !strings.HasPrefix(name, "$.") {
		return nil, false
	}
	var steps []pathStep
	s := name[1:]
	for s != "" {
		switch s[0] {
		case '.':
			s = s[1:]
			n := strings.IndexAny(s, ".[")
			if n < 0 {
				n = len(s)
			}
			if n == 0 {
				return nil, false
			}
			steps = append(steps, pathStep{key: s[:n], index: -1})
			s = s[n:]
		case '[':
			end := strings.IndexByte(s, ']')
			if end < 2 || len(steps) == 0 {
				return nil, false
			}
			i, err := strconv.Atoi(s[1:end])
			if err != nil || i < 0 || s[1] == '+' {
				return nil, false
			}
			steps = append(steps, pathStep{index: i})
			s = s[end+1:]
		default:
			return nil, false
		}
	}
	return steps, len(steps) > 0
}

func (r *Rule) verr(path, format string, args ...any) error {
	return &RuleError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

func (r *Rule) compile() error {
	if r.Schema.Name != "CloudWatchLogRule" || r.Schema.Version != 1 {
		return r.verr("Schema", `must be {"Name": "CloudWatchLogRule", "Version": 1}, got {"Name": %q, "Version": %d}`, r.Schema.Name, r.Schema.Version)
	}
	if len(r.LogGroupNames) == 0 && len(r.LogGroupARNs) == 0 {
		return r.verr("LogGroupNames", "at least one log group name is required")
	}
	for i, g := range r.LogGroupNames {
		if g == "" {
			return r.verr(fmt.Sprintf("LogGroupNames[%d]", i), "empty log group name")
		}
		if star := strings.IndexByte(g, '*'); star >= 0 && star != len(g)-1 {
			return r.verr(fmt.Sprintf("LogGroupNames[%d]", i), "a * wildcard may only end a log group name, got %q", g)
		}
	}
	byName := map[string]accessor{}
	switch r.LogFormat {
	case "CLF":
		// Fields is optional: without an alias, a CLF field is named by
		// its position ("1" is the first).
		for k, name := range r.Fields {
			pos, err := strconv.Atoi(k)
			if err != nil || pos < 1 {
				return r.verr("Fields."+k, "position must be an integer from 1, got %q", k)
			}
			if name == "" {
				return r.verr("Fields."+k, "empty field name")
			}
			if _, dup := byName[name]; dup {
				return r.verr("Fields."+k, "field name %q is used twice", name)
			}
			byName[name] = accessor{name: name, pos: pos - 1}
		}
	case "JSON":
		if len(r.Fields) > 0 {
			return r.verr("Fields", "Fields applies to CLF rules only")
		}
	default:
		return r.verr("LogFormat", `must be "CLF" or "JSON", got %q`, r.LogFormat)
	}
	resolve := func(where, name string) (accessor, error) {
		if r.LogFormat == "JSON" {
			steps, ok := parseJSONPath(name)
			if !ok {
				return accessor{}, r.verr(where, "JSON rules name fields as $.path, got %q", name)
			}
			return accessor{name: name, path: steps}, nil
		}
		a, ok := byName[name]
		if !ok {
			pos, err := strconv.Atoi(name)
			if err != nil || pos < 1 || name[0] == '+' {
				return accessor{}, r.verr(where, "%q is not one of the names in Fields", name)
			}
			a = accessor{name: name, pos: pos - 1}
		}
		if a.pos > r.maxPos {
			r.maxPos = a.pos
		}
		return a, nil
	}
	c := &r.Contribution
	if len(c.Keys) == 0 || len(c.Keys) > MaxKeys {
		return r.verr("Contribution.Keys", "needs 1 to %d keys, got %d", MaxKeys, len(c.Keys))
	}
	r.keys = nil
	for i, k := range c.Keys {
		a, err := resolve(fmt.Sprintf("Contribution.Keys[%d]", i), k)
		if err != nil {
			return err
		}
		r.keys = append(r.keys, a)
	}
	switch r.AggregateOn {
	case "Count":
		if c.ValueOf != "" {
			return r.verr("Contribution.ValueOf", `applies only with "AggregateOn": "Sum"`)
		}
	case "Sum":
		// AWS's own "Rejected TCP connections" sample sums without ValueOf:
		// each matching event then contributes 1.
		if c.ValueOf != "" {
			a, err := resolve("Contribution.ValueOf", c.ValueOf)
			if err != nil {
				return err
			}
			r.value = &a
		}
	default:
		return r.verr("AggregateOn", `must be "Count" or "Sum", got %q`, r.AggregateOn)
	}
	if len(c.Filters) > MaxFilters {
		return r.verr("Contribution.Filters", "at most %d filters, got %d", MaxFilters, len(c.Filters))
	}
	r.filters = nil
	for i, f := range c.Filters {
		where := fmt.Sprintf("Contribution.Filters[%d]", i)
		a, err := resolve(where+".Match", f.Match)
		if err != nil {
			return err
		}
		cf, err := compileFilter(where, a, f)
		if err != nil {
			return err
		}
		r.filters = append(r.filters, cf)
		// Only CLF fields are substrings of the raw event: a JSON value
		// may be escaped ("\u0041") or a number spelt otherwise (5e-1).
		if r.LogFormat == "CLF" && (cf.op == opIn || cf.op == opStartsWith) {
			ok := true
			for _, s := range cf.strs {
				ok = ok && s != ""
			}
			if ok {
				r.needAny = append(r.needAny, cf.strs)
			}
		}
	}
	return nil
}

// MatchesLogGroup reports whether the rule applies to log group name: one
// of LogGroupNames equals it or, ending with "*", is a prefix of it.
func (r *Rule) MatchesLogGroup(name string) bool {
	for _, g := range r.LogGroupNames {
		if prefix, ok := strings.CutSuffix(g, "*"); ok {
			if strings.HasPrefix(name, prefix) {
				return true
			}
		} else if g == name {
			return true
		}
	}
	return false
}

// ResolveLogGroups returns the names of groups that the rule applies to.
func (r *Rule) ResolveLogGroups(groups []string) []string {
	var out []string
	for _, g := range groups {
		if r.MatchesLogGroup(g) {
			out = append(out, g)
		}
	}
	sort.Strings(out)
	return out
}

// KeyNames returns the contribution key names.
func (r *Rule) KeyNames() []string { return r.Contribution.Keys }
