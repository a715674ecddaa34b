package topn

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

type filterOp uint8

const (
	opIn filterOp = iota
	opNotIn
	opStartsWith
	opGreater
	opLess
	opEqual
	opNotEqual
	opPresent
)

type filter struct {
	field   accessor
	op      filterOp
	strs    []string
	num     float64
	present bool
}

func compileFilter(where string, a accessor, f Filter) (filter, error) {
	cf := filter{field: a}
	n := 0
	set := func(op filterOp) { cf.op = op; n++ }
	strs := func(name string, raw []json.RawMessage) error {
		if len(raw) == 0 || len(raw) > MaxFilterStrings {
			return &RuleError{Path: where + "." + name, Msg: fmt.Sprintf("needs 1 to %d values, got %d", MaxFilterStrings, len(raw))}
		}
		for i, m := range raw {
			var s string
			if err := json.Unmarshal(m, &s); err == nil {
				cf.strs = append(cf.strs, s)
				continue
			}
			var x json.Number
			if err := json.Unmarshal(m, &x); err == nil {
				cf.strs = append(cf.strs, x.String())
				continue
			}
			return &RuleError{Path: fmt.Sprintf("%s.%s[%d]", where, name, i), Msg: "must be a string or a number, got " + string(m)}
		}
		return nil
	}
	if f.In != nil {
		set(opIn)
		if err := strs("In", f.In); err != nil {
			return cf, err
		}
	}
	if f.NotIn != nil {
		set(opNotIn)
		if err := strs("NotIn", f.NotIn); err != nil {
			return cf, err
		}
	}
	if f.StartsWith != nil {
		set(opStartsWith)
		if err := strs("StartsWith", f.StartsWith); err != nil {
			return cf, err
		}
	}
	for _, x := range []struct {
		v  *float64
		op filterOp
	}{{f.GreaterThan, opGreater}, {f.LessThan, opLess}, {f.EqualTo, opEqual}, {f.NotEqualTo, opNotEqual}} {
		if x.v != nil {
			set(x.op)
			cf.num = *x.v
		}
	}
	if f.IsPresent != nil {
		set(opPresent)
		cf.present = *f.IsPresent
	}
	if n != 1 {
		return cf, &RuleError{Path: where, Msg: fmt.Sprintf("needs exactly one of In, NotIn, StartsWith, GreaterThan, LessThan, EqualTo, NotEqualTo, IsPresent; got %d", n)}
	}
	return cf, nil
}

// match applies the filter to a field value; ok is false when the field
// is absent from the event. Matching is case-sensitive.
func (f *filter) match(v string, ok bool) bool {
	if f.op == opPresent {
		return ok == f.present
	}
	if !ok {
		return false
	}
	switch f.op {
	case opIn:
		for _, s := range f.strs {
			if v == s {
				return true
			}
		}
		return false
	case opNotIn:
		for _, s := range f.strs {
			if v == s {
				return false
			}
		}
		return true
	case opStartsWith:
		for _, s := range f.strs {
			if strings.HasPrefix(v, s) {
				return true
			}
		}
		return false
	}
	x, ok := parseNumber(v)
	if !ok {
		return false
	}
	switch f.op {
	case opGreater:
		return x > f.num
	case opLess:
		return x < f.num
	case opEqual:
		return x == f.num
	case opNotEqual:
		return x != f.num
	}
	return false
}

// parseNumber parses decimal integers without allocating and falls back to
// ParseFloat for anything else.
func parseNumber(s string) (float64, bool) {
	if s == "" {
		return 0, false
	}
	i, neg := 0, false
	if s[0] == '-' {
		if len(s) == 1 {
			return 0, false
		}
		neg, i = true, 1
	}
	var n int64
	for ; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' || n > (1<<53)/10 {
			f, err := strconv.ParseFloat(s, 64)
			return f, err == nil
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return float64(n), true
}
